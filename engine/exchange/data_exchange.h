// DataExchange: private, authenticated delivery between members over
// ZeroMQ with CURVE. Every node binds a ROUTER on its endpoint as a CURVE
// server; a ZAP handler admits only clients whose CURVE key the network
// file lists, and names each message with the member it came from. Outgoing
// messages are rows of the persistent outbox (NodeStore table `outbox`),
// written in the same transaction as the state change that caused them and
// handed over from memory right after it commits (Send); a
// message is resent with backoff until the peer returns a receipt signed
// with its secp256k1 key, so a peer that is down for minutes gets all of it
// once back. Receivers dedupe (by proposal pin, attestation key), so a
// resent message never reaches state twice. Wire format: docs/protocol.md,
// "Data exchange".
//
// Thread-safety: one background thread owns the sockets; Send and Wake may
// be called from any thread. The handler runs on that thread.
#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "chain/network.h"
#include "definitions/value.h"
#include "definitions/base/identity_file.h"
#include "engine/metrics/node_metrics.h"
#include "engine/store/node_store.h"

namespace treaty::engine {

class DataExchange {
 public:
  struct Message {
    std::string from, kind;
    Value body;  // parsed exactly (numbers never through double)
  };
  // Takes what one poll received, or several polls' attestations held up
  // to 10 ms (data_exchange.cc), handled in one transaction, and returns
  // a status per message: OK once handled for good (applied, stored, or
  // refused and recorded), and a receipt goes back; anything else means
  // "try again later": no receipt, the sender resends.
  // `generation` is set to the commit that stored what was handled; its
  // receipts go out once that commit is durable (see Durability).
  // The handler may move the bodies out.
  using Handler = std::function<std::vector<Status>(std::vector<Message>& messages, uint64_t* generation)>;
  // The handler may commit without waiting for the disk: receipts wait
  // until `durable()` reaches the handler's generation, and `sync()` forces
  // that when none came along within a few milliseconds. Without these,
  // receipts go at once.
  struct Durability {
    std::function<uint64_t()> durable;
    std::function<void()> sync;
  };

  DataExchange(const crypto::Identity* self, const chain::Network* network, NodeStore* store, Handler handler,
               Durability durability = {});
  ~DataExchange();

  // The largest message sent or accepted (docs/limits.md). A message over
  // it is never sent (logged; its outbox row waits for a larger limit) and
  // one received is refused before parsing (logged, no receipt); libzmq
  // closes a connection carrying a frame over twice the limit, so memory
  // stays bounded. Before Start.
  static constexpr size_t kDefaultMaxMessageBytes = 4 << 20;
  void set_max_message_bytes(size_t n);

  // Binds this member's endpoint (from the network file) and starts.
  Status Start();
  void Stop();
  // Sends messages just committed to the outbox, at once and from memory;
  // their rows bring resends (attempts counted from 1) until receipted.
  void Send(std::vector<OutboxMessage> messages);
  // Wakes the loop (stop, new work).
  void Wake();

  uint64_t refused_connections() const { return refused_.load(); }
  // Where refused connections and messages are counted (before Start).
  void SetMetrics(NodeMetrics* metrics);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
  std::atomic<uint64_t> refused_{0};
};

// Digest a receipt signs: fields "treaty.receipt.v1", message id, receiver, sender.
Digest ReceiptDigest(const std::string& id, const std::string& receiver, const std::string& sender);

}  // namespace treaty::engine
