#include "chain/sequencer/sequencer_ledger.h"

#include <nlohmann/json.hpp>
#include <zmq.hpp>

#include <cstdio>
#include <thread>

#include "chain/block_codec.h"
#include "chain/sequencer/sequencer_wire.h"
#include "definitions/base/env.h"

namespace treaty::chain {

using json = nlohmann::json;

// One DEALER socket and its request counter. Replies carry the request id,
// so a late reply to a request that timed out is recognised and dropped.
struct SequencerLedger::Conn {
  std::mutex mu;
  zmq::context_t* ctx;
  std::unique_ptr<zmq::socket_t> sock;
  std::string endpoint;
  uint64_t next_req = 1;

  void Open() {
    sock = std::make_unique<zmq::socket_t>(*ctx, zmq::socket_type::dealer);
    sock->set(zmq::sockopt::linger, 0);
    sock->set(zmq::sockopt::maxmsgsize, static_cast<int64_t>(16 << 20));
    sock->connect(endpoint);
  }

  Result<json> Call(json req, std::chrono::milliseconds timeout) {
    std::lock_guard<std::mutex> lock(mu);
    uint64_t id = next_req++;
    req["req"] = id;
    std::string text = req.dump();
    if (!sock->send(zmq::buffer(text), zmq::send_flags::dontwait))
      return Status::Unavailable("the sequencer at " + endpoint + " is not reachable");
    auto deadline = std::chrono::steady_clock::now() + timeout;
    while (true) {
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0) {
        // A fresh socket: whatever the old one still queues is dropped.
        Open();
        return Status::Unavailable("no answer from the sequencer at " + endpoint + " in " +
                                   std::to_string(timeout.count()) + " ms");
      }
      zmq::pollitem_t items[] = {{sock->handle(), 0, ZMQ_POLLIN, 0}};
      zmq::poll(items, 1, left);
      if (!(items[0].revents & ZMQ_POLLIN)) continue;
      zmq::message_t msg;
      if (!sock->recv(msg, zmq::recv_flags::dontwait)) continue;
      auto r = DecodeSequencerReply(msg.to_string_view(), id);
      if (!r.ok() && r.status().code() == StatusCode::kNotFound) continue;  // unreadable, or a late answer
      return r;
    }
  }
};

namespace {
zmq::context_t& Context() {
  static zmq::context_t ctx(1);
  return ctx;
}
}  // namespace

Result<std::unique_ptr<SequencerLedger>> SequencerLedger::Connect(const std::string& endpoint, Network network,
                                                                  const crypto::SigningKey* signer) {
  if (!network.sequencer)
    return Status::FailedPrecondition("the network file has no sequencer entry (its signing key checks every block)");
  std::unique_ptr<SequencerLedger> l(new SequencerLedger());
  l->endpoint_ = endpoint;
  l->network_ = std::move(network);
  l->signer_ = signer;
  for (auto* c : {&l->submit_, &l->read_, &l->control_}) {
    *c = std::make_unique<Conn>();
    (*c)->ctx = &Context();
    (*c)->endpoint = endpoint;
    try {
      (*c)->Open();
    } catch (const zmq::error_t& e) {
      return Status::InvalidArgument("cannot connect to " + endpoint + ": " + e.what());
    }
  }
  return l;
}

SequencerLedger::~SequencerLedger() = default;

void SequencerLedger::TrustFrom(uint64_t height, const Digest& hash) {
  std::lock_guard<std::mutex> lock(cache_mu_);
  hashes_[height] = hash;
}

Status SequencerLedger::Submit(const Batch& batch) {
  Batch b = batch;
  if (b.signature.empty() && signer_ != nullptr) b.signature = crypto::Hex(signer_->Sign(BatchDigest(b)));
  // Short: a request lost with a restarting sequencer is simply resent
  // (the sequencer dedupes by batch id).
  auto r = submit_->Call(json{{"op", "submit"}, {"batch", BatchToJson(b)}}, std::chrono::milliseconds(2000));
  return r.status();
}

Status SequencerLedger::Check(Block* b) {
  if (BlockHash(*b) != b->hash) return Status::DataLoss("block " + std::to_string(b->height) + " has a wrong hash");
  auto sig = crypto::SignatureFromHex(b->signature);
  if (!sig.ok() || !crypto::Verify(network_.sequencer->signing_key, b->hash, *sig))
    return Status::DataLoss("block " + std::to_string(b->height) + " is not signed by the network's sequencer");
  if (b->height == 1 && b->prev_hash != Digest{})
    return Status::DataLoss("block 1 does not start the chain");
  auto prev = hashes_.find(b->height - 1);
  if (prev != hashes_.end() && prev->second != b->prev_hash)
    return Status::DataLoss("block " + std::to_string(b->height) + " does not link to block " +
                            std::to_string(b->height - 1));
  for (auto& batch : b->batches) {
    const Member* author = network_.Find(batch.author);
    auto bs = crypto::SignatureFromHex(batch.signature);
    if (author == nullptr || !bs.ok() || !crypto::Verify(author->signing_key, BatchDigest(batch), *bs)) {
      Env::Default()->Log("sequencer", "block " + std::to_string(b->height) + ": batch " + batch.id +
                                           " is not signed by member '" + batch.author + "'; its pins are ignored",
                          LogLevel::kWarning);
      batch.pins.clear();
    }
  }
  hashes_[b->height] = b->hash;
  while (hashes_.size() > 1024) hashes_.erase(hashes_.begin());
  return Status::Ok();
}

Result<std::vector<Block>> SequencerLedger::Fetch(uint64_t from, size_t max, std::chrono::milliseconds wait) {
  TREATY_ASSIGN_OR_RETURN(json r, read_->Call(json{{"op", "read"}, {"from", from}, {"max", max},
                                                   {"wait_ms", wait.count()}},
                                              wait + std::chrono::milliseconds(1000)));
  TREATY_ASSIGN_OR_RETURN(std::vector<Block> out, DecodeReadReply(r, from));
  std::lock_guard<std::mutex> lock(cache_mu_);
  height_ = std::max(height_, ReplyHeight(r));
  for (auto& b : out) {
    TREATY_RETURN_IF_ERROR(Check(&b));
  }
  return out;
}

Result<std::vector<Block>> SequencerLedger::Read(uint64_t from, size_t max) {
  {
    std::lock_guard<std::mutex> lock(cache_mu_);
    std::vector<Block> out;
    for (auto it = cache_.find(from); it != cache_.end() && out.size() < max && it->first == from + out.size();
         ++it)
      out.push_back(it->second);
    cache_.erase(cache_.begin(), cache_.lower_bound(from));
    if (!out.empty()) return out;
  }
  return Fetch(from, max, std::chrono::milliseconds(0));
}

uint64_t SequencerLedger::Height() {
  // Status calls come often; a sequencer that is down answers no one.
  auto r = control_->Call(json{{"op", "height"}}, std::chrono::milliseconds(500));
  std::lock_guard<std::mutex> lock(cache_mu_);
  if (r.ok()) height_ = std::max(height_, ReplyHeight(*r));
  last_error_ = r.ok() ? std::string() : r.status().message();
  return height_;
}

LedgerHealth SequencerLedger::Health() {
  Height();
  std::lock_guard<std::mutex> lock(cache_mu_);
  LedgerHealth h;
  h.reachable = last_error_.empty();
  h.error = last_error_;
  return h;
}

uint64_t SequencerLedger::WaitForHeight(uint64_t after, std::chrono::milliseconds timeout) {
  auto blocks = Fetch(after + 1, 256, timeout);
  if (!blocks.ok()) {
    Env::Default()->Log("sequencer", "reading the sequencer: " + blocks.status().ToString(), LogLevel::kWarning);
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    return after;  // the caller retries; nothing unchecked reaches it
  }
  std::lock_guard<std::mutex> lock(cache_mu_);
  for (auto& b : *blocks) cache_[b.height] = std::move(b);
  while (cache_.size() > 4096) cache_.erase(std::prev(cache_.end()));
  uint64_t top = after;
  while (cache_.count(top + 1)) ++top;
  return top;
}

}  // namespace treaty::chain
