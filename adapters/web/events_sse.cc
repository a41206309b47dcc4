#include "events_sse.h"

#include <algorithm>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <deque>
#include <mutex>
#include <optional>
#include <thread>

#include "grpc_json.h"
#include "adapters/common/log.h"

namespace treaty::web {

using adapters::Log;
namespace {

namespace pb = ::treaty::v1;

// Events read from the node but not yet written to the client: beyond
// this many the reader waits, so a slow client slows its own stream
// instead of growing the daemon's memory.
constexpr size_t kMaxQueued = 4096;

constexpr std::chrono::milliseconds kPoll{250};

// One subscription: the gRPC stream, its reader thread and the queue
// between that thread and the HTTP thread writing to the client.
class Subscription {
 public:
  Subscription(std::shared_ptr<grpc::Channel> channel, pb::SubscribeRequest req)
      : stub_(pb::Events::NewStub(channel)), req_(std::move(req)) {
    reader_ = std::thread([this] { Read(); });
  }

  ~Subscription() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      stopping_ = true;
    }
    cv_.notify_all();
    ctx_.TryCancel();  // ends a Read() that waits for the next event
    reader_.join();
  }

  // The next event, or nothing after `wait` (heartbeat time) or at the
  // stream's end (then `ended` is set and `status` says why).
  std::optional<pb::Event> Next(std::chrono::milliseconds wait, bool* ended, grpc::Status* status) {
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait_for(lock, wait, [this] { return !queue_.empty() || finished_; });
    if (!queue_.empty()) {
      pb::Event e = std::move(queue_.front());
      queue_.pop_front();
      cv_.notify_all();
      return e;
    }
    if (finished_) {
      *ended = true;
      *status = status_;
    }
    return std::nullopt;
  }

 private:
  void Read() {
    auto stream = stub_->Subscribe(&ctx_, req_);
    pb::Event e;
    while (stream->Read(&e)) {
      std::unique_lock<std::mutex> lock(mu_);
      cv_.wait(lock, [this] { return queue_.size() < kMaxQueued || stopping_; });
      if (stopping_) break;
      queue_.push_back(e);
      cv_.notify_all();
    }
    if (stopping_) ctx_.TryCancel();
    grpc::Status st = stream->Finish();
    std::lock_guard<std::mutex> lock(mu_);
    finished_ = true;
    status_ = st;
    cv_.notify_all();
  }

  std::unique_ptr<pb::Events::Stub> stub_;
  pb::SubscribeRequest req_;
  grpc::ClientContext ctx_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<pb::Event> queue_;
  bool stopping_ = false;
  bool finished_ = false;
  grpc::Status status_;
  std::thread reader_;
};

// SSE fields are lines: a value never holds a line break (the JSON has
// none; a type from the node is kept to its first line).
std::string OneLine(const std::string& s) { return s.substr(0, s.find_first_of("\r\n")); }

}  // namespace

void ServeEvents(std::shared_ptr<grpc::Channel> channel, pb::SubscribeRequest req, const std::string& last_event_id,
                 std::chrono::milliseconds heartbeat, const std::atomic<bool>* stopping, httplib::Response& res) {
  if (!last_event_id.empty() && req.from_offset() == 0 && !req.from_now()) {
    char* end = nullptr;
    unsigned long long id = std::strtoull(last_event_id.c_str(), &end, 10);
    if (end != last_event_id.c_str() && *end == '\0') req.set_from_offset(id + 1);
  }
  std::string what = "events stream (instance '" + req.instance_id() + "', definition '" + req.definition() + "')";
  // The subscription starts when the client's first chunk is asked for and
  // lives until the response is released, whatever ended it.
  auto sub = std::make_shared<std::unique_ptr<Subscription>>();
  res.set_header("Cache-Control", "no-cache");
  res.set_header("X-Accel-Buffering", "no");  // proxies: pass events on at once
  res.set_chunked_content_provider(
      "text/event-stream",
      [channel, req, heartbeat, stopping, sub, what](size_t, httplib::DataSink& sink) {
        if (!*sub) {
          Log("treaty-web: " + what + " opened");
          *sub = std::make_unique<Subscription>(channel, req);
          // A first comment: the client sees the stream open at once.
          if (!sink.write(": subscribed\n\n", 14)) return false;
        }
        auto quiet_since = std::chrono::steady_clock::now();
        for (;;) {
          if (stopping->load()) {
            sink.done();
            return true;
          }
          bool ended = false;
          grpc::Status st;
          // Short waits, so a stopping daemon is noticed within one.
          std::optional<pb::Event> e = (*sub)->Next(std::min(heartbeat, kPoll), &ended, &st);
          if (!e && !ended && std::chrono::steady_clock::now() - quiet_since < heartbeat) continue;
          quiet_since = std::chrono::steady_clock::now();
          std::string block;
          if (e) {
            block = "event: " + OneLine(e->type()) + "\nid: " + std::to_string(e->offset()) + "\ndata: " + ToJson(*e) +
                    "\n\n";
          } else if (ended) {
            if (!st.ok()) block = "event: error\ndata: " + ErrorBody(FromGrpc(st)) + "\n\n";
            if (!block.empty()) sink.write(block.data(), block.size());
            Log("treaty-web: " + what + " ended by the node: " + (st.ok() ? "OK" : st.error_message()));
            sink.done();
            return true;
          } else {
            block = ": heartbeat\n\n";
          }
          if (!sink.write(block.data(), block.size())) {
            Log("treaty-web: " + what + " closed: the client went away");
            return false;  // the releaser cancels the subscription
          }
        }
      },
      [sub](bool) { sub->reset(); });
}

}  // namespace treaty::web
