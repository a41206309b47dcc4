#include "engine/exchange/data_exchange.h"

#include <sys/eventfd.h>
#include <unistd.h>

#include <zmq.hpp>

#include <algorithm>
#include <cstdio>
#include <iterator>
#include <map>
#include <mutex>
#include <vector>

#include "engine/member_messages.h"

namespace treaty::engine {
namespace {

using json = nlohmann::json;

int64_t NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// Through the process's logger: its timestamp and format (docs/operations.md).
void Log(const std::string& line) { Env::Default()->Log("exchange", line); }

std::string Z85(const uint8_t* key32) {
  char out[41] = {};
  zmq_z85_encode(out, key32, 32);
  return out;
}

}  // namespace

Digest ReceiptDigest(const std::string& id, const std::string& receiver, const std::string& sender) {
  Sha256 h;
  h.UpdateField("treaty.receipt.v1");
  h.UpdateField(id);
  h.UpdateField(receiver);
  h.UpdateField(sender);
  return h.Finish();
}

struct DataExchange::Impl {
  const crypto::Identity* self;
  const chain::Network* network;
  NodeStore* store;
  Handler handler;
  Durability durability;
  std::atomic<uint64_t>* refused;
  size_t max_message_bytes = kDefaultMaxMessageBytes;
  NodeMetrics* metrics = NoMetrics();
  std::atomic<bool> stop{false};
  int wake_fd = -1;
  zmq::context_t ctx{1};
  std::unique_ptr<zmq::socket_t> zap, server;
  std::map<std::string, std::unique_ptr<zmq::socket_t>> peers;
  std::thread zap_thread, thread;

  // ZAP (RFC 27): admits a CURVE client only if the network file lists its key.
  void ZapLoop() {
    while (!stop) {
      zmq::pollitem_t items[] = {{zap->handle(), 0, ZMQ_POLLIN, 0}};
      zmq::poll(items, 1, std::chrono::milliseconds(100));
      if (!(items[0].revents & ZMQ_POLLIN)) continue;
      std::vector<zmq::message_t> frames;
      while (true) {
        zmq::message_t f;
        if (!zap->recv(f)) break;
        bool more = f.more();
        frames.push_back(std::move(f));
        if (!more) break;
      }
      if (frames.size() < 6) continue;
      std::string version = frames[0].to_string(), request_id = frames[1].to_string();
      std::string address = frames[3].to_string(), mechanism = frames[5].to_string();
      std::string user, code = "400", text = "unknown peer";
      if (mechanism == "CURVE" && frames.size() >= 7 && frames[6].size() == 32) {
        std::string key = Z85(static_cast<const uint8_t*>(frames[6].data()));
        for (const auto& m : network->members)
          if (m.curve_key == key && m.name != self->party) {
            user = m.name;
            code = "200";
            text = "OK";
          }
        if (code != "200") Refuse(address, key, "its CURVE key is not a member's");
      } else {
        Refuse(address, "", "it does not use CURVE");
      }
      std::vector<std::string> reply = {version, request_id, code, text, user, ""};
      for (size_t i = 0; i < reply.size(); ++i)
        zap->send(zmq::buffer(reply[i]), i + 1 < reply.size() ? zmq::send_flags::sndmore : zmq::send_flags::none);
    }
  }

  // A refused connection is counted, logged and recorded as an event.
  void Refuse(const std::string& address, const std::string& key, const std::string& why) {
    refused->fetch_add(1);
    metrics->PeerRefused(PeerRefusal::kNotAMember);
    Log("refused a connection from " + address + ": " + why);
    EventRow ev;
    ev.type = "connection_refused";
    ev.time_ms = NowMs();
    ev.payload_json = json{{"address", address}, {"curve_key", key}, {"reason", why}}.dump();
    Status st;
    {
      auto txn = store->Begin("refusal", NodeStore::Durability::kRelaxed);
      st = txn.ok() ? (*txn)->AppendEvent(ev) : txn.status();
      if (st.ok()) st = (*txn)->Commit();
    }
    if (!st.ok()) Log("could not record the refusal: " + st.ToString());
  }

  zmq::socket_t* Peer(const std::string& name) {
    auto it = peers.find(name);
    if (it != peers.end()) return it->second.get();
    const chain::Member* m = network->Find(name);
    if (m == nullptr) return nullptr;
    auto s = std::make_unique<zmq::socket_t>(ctx, zmq::socket_type::dealer);
    s->set(zmq::sockopt::curve_serverkey, m->curve_key);
    s->set(zmq::sockopt::curve_publickey, self->curve.public_z85);
    s->set(zmq::sockopt::curve_secretkey, self->curve.secret_z85);
    s->set(zmq::sockopt::immediate, 1);  // no queueing for a peer that is not there: the outbox retries
    s->set(zmq::sockopt::linger, 0);
    s->set(zmq::sockopt::sndhwm, 10000);
    s->set(zmq::sockopt::maxmsgsize, static_cast<int64_t>(2 * max_message_bytes));
    s->connect(m->endpoint);
    return (peers[name] = std::move(s)).get();
  }

  void HandleInbound() {
    std::vector<Message> batch;
    std::vector<std::pair<std::string, std::string>> reply_to;  // routing id, message id
    for (int n = 0; n < 512; ++n) {
      zmq::message_t rid, body;
      if (!server->recv(rid, zmq::recv_flags::dontwait)) break;
      if (!rid.more()) continue;
      (void)server->recv(body, zmq::recv_flags::none);
      while (body.more()) {  // messages are one frame; drop the rest
        zmq::message_t rest;
        (void)server->recv(rest, zmq::recv_flags::none);
        if (!rest.more()) break;
      }
      const char* user = body.gets("User-Id");
      std::string from = user ? user : "";
      auto frame = DecodeExchangeFrame(std::string_view(static_cast<const char*>(body.data()), body.size()),
                                       max_message_bytes);
      if (from.empty() || !frame.ok()) {
        Log("refused a message from '" + from + "': " + (frame.ok() ? "no authenticated sender" : frame.status().ToString()));
        metrics->PeerRefused(body.size() > max_message_bytes ? PeerRefusal::kOversized : PeerRefusal::kMalformed);
        continue;
      }
      if (frame->from != from) {
        Log("dropped a message claiming to be from '" + frame->from + "' on " + from + "'s connection");
        metrics->PeerRefused(PeerRefusal::kBadSignature);
        continue;
      }
      reply_to.emplace_back(rid.to_string(), frame->id);
      batch.push_back({from, std::move(frame->kind), std::move(frame->body)});
    }
    if (batch.empty()) return;
    bool urgent = false;
    for (const auto& m : batch) urgent = urgent || m.kind != "attestations";
    if (held.empty()) held_since = NowMs();
    std::move(batch.begin(), batch.end(), std::back_inserter(held));
    std::move(reply_to.begin(), reply_to.end(), std::back_inserter(held_reply_to));
    if (urgent || held.size() >= kHeldMax || NowMs() >= held_since + kHoldAttestationsMs) HandleHeld();
  }

  // Attestations are held up to kHoldAttestationsMs so that those of
  // several blocks and members share one transaction (each poll brought
  // about one, a transaction per attestation message at every member:
  // docs/performance.md). Nothing waits on them; anything else that
  // arrives (proposals, resend requests) is handled at once, with whatever
  // is held. Held messages are not receipted, so a node that stops with
  // some held has them resent.
  static constexpr int64_t kHoldAttestationsMs = 10;
  static constexpr size_t kHeldMax = 256;
  std::vector<Message> held;
  std::vector<std::pair<std::string, std::string>> held_reply_to;  // routing id, message id
  int64_t held_since = 0;

  void HandleHeld() {
    if (held.empty()) return;
    std::vector<Message> batch;
    std::vector<std::pair<std::string, std::string>> reply_to;
    batch.swap(held);
    reply_to.swap(held_reply_to);
    uint64_t generation = 0;
    std::vector<Status> handled = handler(batch, &generation);
    auto now = std::chrono::steady_clock::now();
    for (size_t i = 0; i < batch.size(); ++i) {
      if (i >= handled.size() || !handled[i].ok()) continue;  // not handled for good: the sender resends
      receipts.push_back({reply_to[i].first, reply_to[i].second, batch[i].from, generation, now});
    }
    SendReceipts(false);
  }

  // A receipt promises the message is stored for good: it waits until the
  // commit that stored it is durable, forcing that after a few ms.
  struct Receipt {
    std::string rid, id, to;
    uint64_t generation;
    std::chrono::steady_clock::time_point since;
  };
  std::vector<Receipt> receipts;

  void SendReceipts(bool force) {
    if (receipts.empty()) return;
    uint64_t durable = durability.durable ? durability.durable() : UINT64_MAX;
    bool overdue = std::chrono::steady_clock::now() - receipts.front().since > std::chrono::milliseconds(5);
    if ((force || overdue) && durability.sync && receipts.back().generation > durable) {
      durability.sync();
      durable = durability.durable();
    }
    std::vector<Receipt> later;
    for (auto& r : receipts) {
      if (r.generation > durable) {
        later.push_back(std::move(r));
        continue;
      }
      std::string text = EncodeReceipt(r.id, self->party, self->key.Sign(ReceiptDigest(r.id, self->party, r.to)));
      server->send(zmq::buffer(r.rid), zmq::send_flags::sndmore);
      server->send(zmq::buffer(text), zmq::send_flags::dontwait);
    }
    receipts.swap(later);
  }

  void HandleReceipts(const std::string& peer, zmq::socket_t* s, std::vector<std::string>* delivered) {
    const chain::Member* m = network->Find(peer);
    for (int n = 0; n < 1024; ++n) {
      zmq::message_t msg;
      if (!s->recv(msg, zmq::recv_flags::dontwait)) return;
      auto receipt = DecodeReceipt(msg.to_string());
      if (!receipt.ok()) {
        Log("ignored a malformed receipt from " + peer + ": " + receipt.status().message());
        continue;
      }
      const std::string& id = receipt->id;
      if (m == nullptr || !crypto::Verify(m->signing_key, ReceiptDigest(id, peer, self->party), receipt->signature)) {
        Log("ignored a receipt for " + id + " not signed by " + peer);
        metrics->PeerRefused(PeerRefusal::kBadSignature);
        continue;
      }
      delivered->push_back(id);
    }
  }

  // Sends what is due; a receipt deletes the row, no receipt brings a resend.
  int64_t SendDue() {
    struct Row {
      std::string id, peer, kind, body;
      int64_t attempts;
    };
    std::vector<Row> due;
    int64_t now = NowMs(), next = now + 1000;
    {
      // Retry times need no fsync: lost in a power cut, they only make
      // the next start resend at once (receivers dedupe). On failure the
      // rows stay due: they are resent sooner, never lost.
      auto txn = store->Begin("outbox", NodeStore::Durability::kRelaxed);
      Status st = txn.status();
      if (st.ok()) {
        auto taken = (*txn)->TakeDueOutbox(now, 512);
        st = taken.status();
        if (st.ok())
          for (auto& d : *taken)
            due.push_back({d.message.id, d.message.peer, d.message.kind, std::move(d.message.body), d.attempts});
        auto next_due = st.ok() ? (*txn)->NextOutboxDue() : Result<std::optional<int64_t>>(st);
        st = next_due.status();
        if (st.ok() && *next_due) next = std::min(next, **next_due);
        if (st.ok()) st = (*txn)->Commit();
      }
      if (!st.ok()) Log("outbox retry times not saved: " + st.ToString());
    }
    for (const auto& r : due) Transmit(r.peer, r.id, r.kind, r.body);
    return next;
  }

  // The body is JSON text already: spliced in, not re-parsed.
  void Transmit(const std::string& peer, const std::string& id, const std::string& kind, const std::string& body) {
    zmq::socket_t* s = Peer(peer);
    if (s == nullptr) return;
    std::string text = EncodeExchangeFrame(id, kind, self->party, body);
    if (text.size() > max_message_bytes) {
      // Every member would refuse it: kept in the outbox (resent with
      // backoff, logged each time) until the limit is raised network-wide.
      Log("not sending message " + id + " (" + kind + ") to " + peer + ": " + std::to_string(text.size()) +
          " bytes is over member_max_message_bytes = " + std::to_string(max_message_bytes));
      return;
    }
    (void)s->send(zmq::buffer(text), zmq::send_flags::dontwait);  // not connected: the backoff brings it back
  }

  // Messages just committed, handed over by the node (Send).
  std::mutex fresh_mu;
  std::vector<OutboxMessage> fresh;

  bool SendFresh() {
    std::vector<OutboxMessage> now;
    {
      std::lock_guard<std::mutex> lock(fresh_mu);
      now.swap(fresh);
    }
    for (const auto& m : now) Transmit(m.peer, m.id, m.kind, m.body);
    return !now.empty();
  }

  void Loop() {
    int64_t next_send = 0;
    while (!stop) {
      std::vector<zmq::pollitem_t> items;
      items.push_back({server->handle(), 0, ZMQ_POLLIN, 0});
      items.push_back({nullptr, wake_fd, ZMQ_POLLIN, 0});
      std::vector<std::pair<std::string, zmq::socket_t*>> order;
      for (auto& [name, s] : peers) {
        items.push_back({s->handle(), 0, ZMQ_POLLIN, 0});
        order.emplace_back(name, s.get());
      }
      int64_t wait = std::clamp<int64_t>(next_send - NowMs(), 0, receipts.empty() ? 200 : 2);
      if (!receipted.empty()) wait = std::clamp<int64_t>(receipted_since + kReceiptedGatherMs - NowMs(), 0, wait);
      if (!held.empty()) wait = std::clamp<int64_t>(held_since + kHoldAttestationsMs - NowMs(), 0, wait);
      try {
        zmq::poll(items.data(), items.size(), std::chrono::milliseconds(wait));
      } catch (const zmq::error_t& e) {
        if (e.num() != EINTR) Log(std::string("poll: ") + e.what());
        continue;
      }
      if (items[1].revents & ZMQ_POLLIN) {
        uint64_t v;
        (void)!read(wake_fd, &v, sizeof v);
        // Their rows come due for a resend then, unless receipted first.
        if (SendFresh()) next_send = std::min(next_send, NowMs() + OutboxBackoffMs(0));
      }
      if (items[0].revents & ZMQ_POLLIN) HandleInbound();
      if (!held.empty() && NowMs() >= held_since + kHoldAttestationsMs) HandleHeld();
      SendReceipts(false);
      for (size_t i = 0; i < order.size(); ++i)
        if (items[i + 2].revents & ZMQ_POLLIN) HandleReceipts(order[i].first, order[i].second, &receipted);
      if (!receipted.empty() && receipted_since == 0) receipted_since = NowMs();
      bool send_due = NowMs() >= next_send;
      // Before SendDue looks, so a receipted row is never resent.
      if (!receipted.empty() && (send_due || receipted.size() >= kReceiptedMax ||
                                 NowMs() >= receipted_since + kReceiptedGatherMs))
        ForgetReceipted();
      if (send_due) next_send = SendDue();
    }
    ForgetReceipted();
  }

  // Receipted outbox rows are deleted in one transaction per
  // kReceiptedGatherMs instead of one per poll: with a receipt for nearly
  // every message, that was a transaction per message at every member
  // (docs/performance.md). A row is not due again before
  // OutboxBackoffMs(0) = 250 ms, and the rows are deleted before SendDue
  // runs, so the wait never causes a resend; receipts held in memory when
  // the process dies only mean one resend, which receivers dedupe.
  static constexpr int64_t kReceiptedGatherMs = 50;
  static constexpr size_t kReceiptedMax = 512;
  std::vector<std::string> receipted;
  int64_t receipted_since = 0;

  void ForgetReceipted() {
    if (receipted.empty()) return;
    // Likewise relaxed: a receipt lost in a power cut means one resend.
    // On failure the messages are resent and receipted again.
    Status st;
    {
      auto txn = store->Begin("receipted", NodeStore::Durability::kRelaxed);
      st = txn.ok() ? (*txn)->DeleteOutbox(receipted) : txn.status();
      if (st.ok()) st = (*txn)->Commit();
    }
    if (!st.ok()) Log("receipted messages not removed from the outbox (they will be resent): " + st.ToString());
    receipted.clear();
    receipted_since = 0;
  }
};

DataExchange::DataExchange(const crypto::Identity* self, const chain::Network* network, NodeStore* store,
                           Handler handler, Durability durability)
    : impl_(std::make_unique<Impl>()) {
  impl_->durability = std::move(durability);
  impl_->self = self;
  impl_->network = network;
  impl_->store = store;
  impl_->handler = std::move(handler);
  impl_->refused = &refused_;
}

DataExchange::~DataExchange() { Stop(); }

void DataExchange::set_max_message_bytes(size_t n) { impl_->max_message_bytes = n; }
void DataExchange::SetMetrics(NodeMetrics* metrics) { impl_->metrics = metrics != nullptr ? metrics : NoMetrics(); }

Status DataExchange::Start() {
  Impl& im = *impl_;
  const chain::Member* me = im.network->Find(im.self->party);
  if (me == nullptr) return Status::FailedPrecondition("party '" + im.self->party + "' is not in the network file");
  if (me->curve_key != im.self->curve.public_z85)
    return Status::FailedPrecondition("the network file's curve_key for '" + im.self->party +
                                      "' is not this node's (identity.json)");
  im.wake_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (im.wake_fd < 0) return Status::Internal("eventfd failed");
  try {
    im.zap = std::make_unique<zmq::socket_t>(im.ctx, zmq::socket_type::rep);
    im.zap->bind("inproc://zeromq.zap.01");
    im.server = std::make_unique<zmq::socket_t>(im.ctx, zmq::socket_type::router);
    im.server->set(zmq::sockopt::curve_server, 1);
    im.server->set(zmq::sockopt::curve_secretkey, im.self->curve.secret_z85);
    im.server->set(zmq::sockopt::zap_domain, "treaty");
    im.server->set(zmq::sockopt::maxmsgsize, static_cast<int64_t>(2 * im.max_message_bytes));
    im.server->set(zmq::sockopt::linger, 0);
    im.server->bind(me->endpoint);
  } catch (const zmq::error_t& e) {
    return Status::Unavailable("data exchange cannot listen on " + me->endpoint + ": " + e.what());
  }
  im.zap_thread = std::thread([this] { impl_->ZapLoop(); });
  // The sockets belong to the loop's thread from here on.
  im.thread = std::thread([this] {
    for (const auto& m : impl_->network->members)
      if (m.name != impl_->self->party) impl_->Peer(m.name);
    impl_->Loop();
  });
  Log("listening on " + me->endpoint + " (CURVE), " + std::to_string(im.network->members.size() - 1) + " peers");
  return Status::Ok();
}

void DataExchange::Stop() {
  if (!impl_ || impl_->stop.exchange(true)) return;
  Wake();
  if (impl_->thread.joinable()) impl_->thread.join();
  if (impl_->zap_thread.joinable()) impl_->zap_thread.join();
  impl_->peers.clear();
  impl_->server.reset();
  impl_->zap.reset();
  if (impl_->wake_fd >= 0) close(impl_->wake_fd);
}

void DataExchange::Send(std::vector<OutboxMessage> messages) {
  {
    std::lock_guard<std::mutex> lock(impl_->fresh_mu);
    if (impl_->fresh.empty()) {
      impl_->fresh = std::move(messages);
    } else {
      for (auto& m : messages) impl_->fresh.push_back(std::move(m));
    }
  }
  Wake();
}

void DataExchange::Wake() {
  if (impl_->wake_fd < 0) return;
  uint64_t one = 1;
  (void)!write(impl_->wake_fd, &one, sizeof one);
}

}  // namespace treaty::engine
