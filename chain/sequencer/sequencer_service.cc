#include "chain/sequencer/sequencer_service.h"

#include <nlohmann/json.hpp>
#include <zmq.hpp>

#include <cstdio>
#include <deque>
#include <map>

#include "chain/block_codec.h"
#include "chain/sequencer/sequencer_wire.h"
#include "definitions/base/env.h"

namespace treaty::chain {
namespace {

using json = nlohmann::json;
using Clock = std::chrono::steady_clock;

int64_t NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// Through the process's logger: its timestamp and format (docs/operations.md).
void Log(const std::string& line) { Env::Default()->Log("node", line); }

}  // namespace

struct SequencerService::Impl {
  SequencerOptions opts;
  Network network;
  crypto::SigningKey key;
  Db db;
  Checkpointer checkpointer;
  SequencerStats stats;
  uint64_t height = 0;
  int64_t last_time_ms = 0;
  Digest last_hash{};

  // A submitter waiting for its batch's block.
  struct Waiter {
    std::string peer;
    json req;
  };
  struct Queued {
    Batch batch;
    std::vector<Waiter> waiters;
  };
  std::deque<Queued> queue;
  size_t queued_pins = 0;
  Clock::time_point oldest{};
  // Readers waiting for a block past their height.
  struct Parked {
    std::string peer;
    json req;
    uint64_t from;
    size_t max;
    Clock::time_point deadline;
  };
  std::vector<Parked> parked;

  Status Load() {
    TREATY_RETURN_IF_ERROR(db.Open(opts.db_path, opts.full_sync, /*background_checkpoint=*/true));
    TREATY_RETURN_IF_ERROR(checkpointer.Start(opts.db_path));
    TREATY_RETURN_IF_ERROR(db.Exec(
        "CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);"
        "CREATE TABLE IF NOT EXISTS blocks (height INTEGER PRIMARY KEY, time_ms INTEGER NOT NULL, "
        "prev_hash TEXT NOT NULL, hash TEXT NOT NULL, signature TEXT NOT NULL, body TEXT NOT NULL);"
        "CREATE TABLE IF NOT EXISTS batch_ids (id TEXT PRIMARY KEY, height INTEGER NOT NULL);"));
    // The key that signed the chain signs its continuation: a restart with
    // another identity would fork it.
    std::string pub = crypto::Hex(key.public_key());
    Stmt m = db.Prepare("SELECT value FROM meta WHERE key = 'signing_key'");
    if (m.Step()) {
      if (m.Text(0) != pub)
        return Status::FailedPrecondition(opts.db_path + " holds a chain signed by " + m.Text(0) +
                                          ", not by this sequencer's key " + pub);
    } else {
      Stmt put = db.Prepare("INSERT INTO meta (key, value) VALUES ('signing_key', ?)");
      put.Bind(1, pub);
      TREATY_RETURN_IF_ERROR(put.Run());
    }
    Stmt s = db.Prepare("SELECT height, time_ms, hash FROM blocks ORDER BY height DESC LIMIT 1");
    if (s.Step()) {
      height = static_cast<uint64_t>(s.Int(0));
      last_time_ms = s.Int(1);
      DigestFromHex(s.Text(2), &last_hash);
    }
    return s.status();
  }

  static void Send(zmq::socket_t& sock, const std::string& peer, const json& body) {
    std::string text = body.dump();
    sock.send(zmq::buffer(peer), zmq::send_flags::sndmore);
    sock.send(zmq::buffer(text), zmq::send_flags::dontwait);
  }

  static json Reply(const json& req) {
    json r = json::object();
    if (req.is_object() && req.contains("req")) r["req"] = req["req"];
    return r;
  }

  static void Error(zmq::socket_t& sock, const std::string& peer, const json& req, const char* code,
                    const std::string& message) {
    json r = Reply(req);
    r["error"] = message;
    r["code"] = code;
    Send(sock, peer, r);
  }

  void Handle(zmq::socket_t& sock, const std::string& peer, std::string_view text) {
    SequencerRequest r;
    Status st = DecodeSequencerRequest(text, opts.max_message_bytes, &r);
    if (!st.ok()) {
      Log("refused a request from a peer: " + st.ToString());
      stats.refused_malformed.fetch_add(1);
      return Error(sock, peer, r.req, StatusCodeName(st.code()), st.message());
    }
    const json& req = r.req;
    switch (r.op) {
      case SequencerRequest::Op::kSubmit: return Submit(sock, peer, req, std::move(r.batch));
      case SequencerRequest::Op::kRead: return Read(sock, peer, req, r.from, r.max, r.wait_ms);
      case SequencerRequest::Op::kHeight: {
        json reply = Reply(req);
        reply["height"] = height;
        return Send(sock, peer, reply);
      }
    }
  }

  void Submit(zmq::socket_t& sock, const std::string& peer, const json& req, Batch b) {
    Result<Batch> batch(std::move(b));
    const Member* author = network.Find(batch->author);
    if (author == nullptr) {
      Log("refused batch " + batch->id + ": '" + batch->author + "' is not a member");
      stats.refused_not_a_member.fetch_add(1);
      return Error(sock, peer, req, "PERMISSION_DENIED", "'" + batch->author + "' is not a member of the network");
    }
    auto sig = crypto::SignatureFromHex(batch->signature);
    if (!sig.ok() || !crypto::Verify(author->signing_key, BatchDigest(*batch), *sig)) {
      Log("refused batch " + batch->id + ": bad signature for '" + batch->author + "'");
      stats.refused_bad_signature.fetch_add(1);
      return Error(sock, peer, req, "PERMISSION_DENIED",
                   "the batch signature is not " + batch->author + "'s");
    }
    // Idempotent by id: a retried batch is answered, never ordered twice.
    Stmt dup = db.Prepare("SELECT height FROM batch_ids WHERE id = ?");
    dup.Bind(1, batch->id);
    if (dup.Step()) {
      json r = Reply(req);
      r["height"] = dup.Int(0);
      return Send(sock, peer, r);
    }
    for (auto& q : queue)
      if (q.batch.id == batch->id) {
        q.waiters.push_back({peer, req});
        return;
      }
    if (queue.empty()) oldest = Clock::now();
    queued_pins += batch->pins.size();
    queue.push_back(Queued{std::move(batch).value(), {{peer, req}}});
  }

  // Blocks from `from`, at most `max`, bounded in bytes.
  Result<json> BlocksFrom(uint64_t from, size_t max) {
    json blocks = json::array();
    size_t bytes = 0;
    Stmt s = db.Prepare(
        "SELECT height, time_ms, prev_hash, hash, signature, body FROM blocks WHERE height >= ? ORDER BY height "
        "LIMIT ?");
    s.Bind(1, static_cast<int64_t>(from)).Bind(2, static_cast<int64_t>(max));
    while (s.Step()) {
      json b = json::parse(s.Text(5), nullptr, false);
      if (b.is_discarded()) return Status::DataLoss("corrupt block " + std::to_string(s.Int(0)));
      b["height"] = static_cast<uint64_t>(s.Int(0));
      b["time_ms"] = s.Int(1);
      b["prev_hash"] = s.Text(2);
      b["hash"] = s.Text(3);
      b["signature"] = s.Text(4);
      bytes += s.Text(5).size() + 300;
      blocks.push_back(std::move(b));
      if (bytes > kMaxReadBytes) break;
    }
    TREATY_RETURN_IF_ERROR(s.status());
    return blocks;
  }

  void AnswerRead(zmq::socket_t& sock, const std::string& peer, const json& req, uint64_t from, size_t max) {
    auto blocks = BlocksFrom(from, max);
    if (!blocks.ok()) return Error(sock, peer, req, "INTERNAL", blocks.status().message());
    json r = Reply(req);
    r["height"] = height;
    r["blocks"] = std::move(blocks).value();
    Send(sock, peer, r);
  }

  void Read(zmq::socket_t& sock, const std::string& peer, const json& req, uint64_t from, size_t max,
            int64_t wait_ms) {
    if (from <= height || wait_ms == 0) return AnswerRead(sock, peer, req, from, std::max<size_t>(max, 1));
    parked.push_back({peer, req, from, std::max<size_t>(max, 1), Clock::now() + std::chrono::milliseconds(wait_ms)});
  }

  bool CutDue() const {
    if (queue.empty()) return false;
    return queued_pins >= opts.block_max_pins || Clock::now() - oldest >= opts.block_latency;
  }

  // Orders the queued batches into the next block: stored before anyone is told.
  void Cut(zmq::socket_t& sock) {
    Block b;
    b.height = height + 1;
    b.time_ms = std::max(NowMs(), last_time_ms);
    b.prev_hash = last_hash;
    std::vector<Queued> taken;
    size_t pins = 0;
    while (!queue.empty() && (taken.empty() || pins + queue.front().batch.pins.size() <= opts.block_max_pins)) {
      pins += queue.front().batch.pins.size();
      taken.push_back(std::move(queue.front()));
      queue.pop_front();
    }
    queued_pins -= pins;
    oldest = Clock::now();
    for (const auto& q : taken) b.batches.push_back(q.batch);
    b.hash = BlockHash(b);
    b.signature = crypto::Hex(key.Sign(b.hash));
    Status st = db.Begin();
    if (st.ok()) {
      Stmt ins = db.Prepare(
          "INSERT INTO blocks (height, time_ms, prev_hash, hash, signature, body) VALUES (?, ?, ?, ?, ?, ?)");
      ins.Bind(1, static_cast<int64_t>(b.height)).Bind(2, b.time_ms).Bind(3, ToHex(b.prev_hash));
      ins.Bind(4, ToHex(b.hash)).Bind(5, b.signature).Bind(6, BatchesToJson(b.batches).dump());
      st = ins.Run();
      for (const auto& batch : b.batches) {
        if (!st.ok()) break;
        Stmt id = db.Prepare("INSERT INTO batch_ids (id, height) VALUES (?, ?)");
        id.Bind(1, batch.id).Bind(2, static_cast<int64_t>(b.height));
        st = id.Run();
      }
      if (st.ok()) st = db.Commit();
    }
    if (!st.ok()) {
      db.Rollback();
      Log("storing block " + std::to_string(b.height) + " failed: " + st.ToString());
      for (auto& q : taken)
        for (auto& w : q.waiters) Error(sock, w.peer, w.req, "UNAVAILABLE", "the sequencer could not store the block");
      return;
    }
    height = b.height;
    last_time_ms = b.time_ms;
    last_hash = b.hash;
    stats.height.store(height);
    stats.blocks.fetch_add(1);
    stats.batches.fetch_add(b.batches.size());
    stats.pins.fetch_add(pins);
    for (auto& q : taken)
      for (auto& w : q.waiters) {
        json r = Reply(w.req);
        r["height"] = height;
        Send(sock, w.peer, r);
      }
    std::vector<Parked> still;
    for (auto& p : parked) {
      if (p.from <= height) AnswerRead(sock, p.peer, p.req, p.from, p.max);
      else still.push_back(std::move(p));
    }
    parked.swap(still);
  }

  void ExpireReads(zmq::socket_t& sock) {
    auto now = Clock::now();
    std::vector<Parked> still;
    for (auto& p : parked) {
      if (p.deadline <= now) AnswerRead(sock, p.peer, p.req, p.from, p.max);
      else still.push_back(std::move(p));
    }
    parked.swap(still);
  }
};

Result<std::unique_ptr<SequencerService>> SequencerService::Open(SequencerOptions opts, Network network,
                                                                 crypto::SigningKey key) {
  std::unique_ptr<SequencerService> s(new SequencerService());
  s->impl_ = std::make_unique<Impl>();
  s->impl_->opts = std::move(opts);
  s->impl_->network = std::move(network);
  s->impl_->key = std::move(key);
  TREATY_RETURN_IF_ERROR(s->impl_->Load());
  s->height_ = s->impl_->height;
  s->impl_->stats.height.store(s->impl_->height);
  return s;
}

const SequencerStats& SequencerService::stats() const { return impl_->stats; }

SequencerService::~SequencerService() = default;

Status SequencerService::Run(const std::atomic<bool>* stop) {
  Impl& im = *impl_;
  zmq::context_t ctx(1);
  zmq::socket_t sock(ctx, zmq::socket_type::router);
  // libzmq closes a connection carrying a frame over twice the limit
  // (memory stays bounded); one between the limit and that is read and
  // refused with RESOURCE_EXHAUSTED (DecodeSequencerRequest), and logged.
  sock.set(zmq::sockopt::maxmsgsize, static_cast<int64_t>(2 * im.opts.max_message_bytes));
  sock.set(zmq::sockopt::linger, 0);
  sock.set(zmq::sockopt::router_mandatory, 0);
  try {
    sock.bind(im.opts.listen);
  } catch (const zmq::error_t& e) {
    return Status::Unavailable("cannot listen on " + im.opts.listen + ": " + e.what());
  }
  Log("serving " + im.opts.listen + " at height " + std::to_string(im.height) + " for " +
      std::to_string(im.network.members.size()) + " members");
  while (!stop->load()) {
    auto wait = std::chrono::milliseconds(100);
    if (!im.queue.empty()) {
      auto due = im.oldest + im.opts.block_latency - Clock::now();
      wait = std::clamp(std::chrono::duration_cast<std::chrono::milliseconds>(due), std::chrono::milliseconds(0), wait);
    }
    for (const auto& p : im.parked) {
      auto due = std::chrono::duration_cast<std::chrono::milliseconds>(p.deadline - Clock::now());
      wait = std::clamp(due, std::chrono::milliseconds(0), wait);
    }
    zmq::pollitem_t items[] = {{sock.handle(), 0, ZMQ_POLLIN, 0}};
    try {
      zmq::poll(items, 1, wait);
    } catch (const zmq::error_t& e) {
      if (e.num() == EINTR) continue;
      return Status::Internal(std::string("poll: ") + e.what());
    }
    // Drain what arrived, then cut: a burst of submissions shares a block.
    for (int n = 0; n < 1000; ++n) {
      zmq::message_t peer, body;
      auto got = sock.recv(peer, zmq::recv_flags::dontwait);
      if (!got) break;
      if (!peer.more()) continue;
      (void)sock.recv(body, zmq::recv_flags::none);
      bool extra = false;
      while (body.more()) {  // requests are one frame; anything else is refused
        zmq::message_t rest;
        (void)sock.recv(rest, zmq::recv_flags::none);
        extra = true;
        if (!rest.more()) break;
      }
      if (extra) {
        Impl::Error(sock, peer.to_string(), nlohmann::json(), "INVALID_ARGUMENT", "a request is one frame");
        continue;
      }
      im.Handle(sock, peer.to_string(), body.to_string_view());
    }
    while (im.CutDue()) im.Cut(sock);
    im.ExpireReads(sock);
    height_ = im.height;
  }
  Log("stopped at height " + std::to_string(im.height));
  return Status::Ok();
}

}  // namespace treaty::chain
