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
#include "routes.h"
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

// How long the node may take to start a subscription before the request
// fails (504): it only reads its last event offset.
constexpr std::chrono::milliseconds kStartWait{10000};

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

  // Waits until the node has fixed where the stream starts (its initial
  // metadata) or the stream ended; false with the node's status if it ended
  // first (an unknown subscription, the node down, ...).
  bool WaitStarted(std::chrono::milliseconds wait, grpc::Status* status) {
    std::unique_lock<std::mutex> lock(mu_);
    if (!cv_.wait_for(lock, wait, [this] { return started_ || finished_; })) {
      *status = grpc::Status(grpc::StatusCode::DEADLINE_EXCEEDED, "the node did not start the event stream in time");
      return false;
    }
    if (started_) return true;
    *status = status_;
    return false;
  }

 private:
  void Read() {
    auto stream = stub_->Subscribe(&ctx_, req_);
    stream->WaitForInitialMetadata();
    // A stream the node refused ends without its metadata (the status
    // comes with Finish below).
    if (ctx_.GetServerInitialMetadata().count("treaty-after-offset") > 0) {
      std::lock_guard<std::mutex> lock(mu_);
      started_ = true;
    }
    cv_.notify_all();
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
  bool started_ = false;
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
  // Subscribed before the answer starts: once the client sees the stream
  // open, the node has fixed where it starts, so state the client reads
  // after that cannot miss an event (the console refreshes on open). A
  // refused subscription is an HTTP error, not an empty stream.
  auto sub = std::make_shared<std::unique_ptr<Subscription>>(std::make_unique<Subscription>(channel, req));
  grpc::Status refused;
  if (!(*sub)->WaitStarted(kStartWait, &refused)) {
    SendError(res, FromGrpc(refused));
    return;
  }
  Log("treaty-web: " + what + " opened");
  res.set_header("Cache-Control", "no-cache");
  res.set_header("X-Accel-Buffering", "no");  // proxies: pass events on at once
  auto greeted = std::make_shared<bool>(false);
  res.set_chunked_content_provider(
      "text/event-stream",
      [heartbeat, stopping, sub, greeted, what](size_t, httplib::DataSink& sink) {
        if (!*greeted) {
          *greeted = true;
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
