// InProcessNetwork: Treaty nodes in one process, for tests that need to
// control what real processes do not let a test control: the order in
// which each member receives messages and blocks, the clock, and the
// store's commits and writes (the seams: Env, DbFaults, the in-memory
// ledger). Each node is a real engine::Node with its own NodeStore in a
// temp folder. Members share a chain::MemoryLedger (each with its own
// reader, so one member's deliveries can be faulted); a lone node may use
// the embedded ledger instead, exactly as treatyd does. The data exchange
// is replaced by a router: messages a node's commits hand over wait in it
// until the test delivers them, in the order it chooses, through
// Node::Receive.
//
// Thread-safety: the test's thread drives it; the nodes' own threads run
// underneath (the router's queue has its own lock).
#pragma once

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "chain/local/local_ledger.h"
#include "chain/memory/memory_ledger.h"
#include "chain/network.h"
#include "definitions/base/env.h"
#include "definitions/base/identity_file.h"
#include "definitions/runtime/registry.h"
#include "engine/node.h"

namespace treaty::testing {

// A message a node's commit handed to the data exchange.
struct Sent {
  std::string from;
  engine::OutboxMessage message;  // message.peer: the receiver
};

class InProcessNetwork {
 public:
  // `parties` share a MemoryLedger; a single party given `embedded` runs
  // on the embedded ledger instead (no network: a single node).
  InProcessNetwork(std::string dir, std::vector<std::string> parties, bool embedded = false);
  ~InProcessNetwork();

  // Starts (or, after Crash, restarts) every node that is not running.
  Status Start();
  engine::Node& node(const std::string& party) { return *members_.at(party).node; }
  engine::NodeStore& store(const std::string& party) { return *members_.at(party).store; }
  chain::MemoryLedger& ledger() { return ledger_; }
  ManualClock& clock() { return clock_; }
  CapturingLogger& log() { return logger_; }
  const std::vector<std::string>& parties() const { return parties_; }
  std::string data_dir(const std::string& party) const { return dir_ + "/" + party; }

  // Stops a node as a crash would: its threads end and everything it did
  // not commit is gone (the test makes its store fail from the crash
  // point on, DbFaults); Start brings it back from its files.
  void Crash(const std::string& party);
  // Faults on a node's store writer (null: none). Kept across restarts.
  void SetFaults(const std::string& party, DbFaults* faults);

  // Messages matching `held` stay in the router until released.
  void Hold(std::function<bool(const Sent&)> held);
  void ReleaseHeld();
  // Delivers every message not held, and what their handling sends in
  // turn, until none is left (or `rounds` passes); returns how many were
  // handled for good. A message a node answers "not yet" stays queued.
  int Deliver(int rounds = 50);
  std::vector<Sent> Queued();

  // Waits until every running node has applied `height` (false at the timeout).
  bool AllApplied(uint64_t height, std::chrono::milliseconds timeout = std::chrono::seconds(10));
  // Delivers and waits until every node has applied the ledger's height
  // and nothing is left to deliver.
  bool Settle(std::chrono::milliseconds timeout = std::chrono::seconds(10));

 private:
  struct Member {
    crypto::Identity identity;
    std::unique_ptr<engine::NodeStore> store;
    std::unique_ptr<engine::StoreBlockLog> block_log;
    std::unique_ptr<chain::LocalLedger> local;  // the embedded ledger, if used
    std::unique_ptr<engine::Node> node;
    DbFaults* faults = nullptr;
  };
  Status StartMember(const std::string& party);

  std::string dir_;
  std::vector<std::string> parties_;
  bool embedded_;
  ManualClock clock_;
  CapturingLogger logger_;
  Env env_;
  chain::MemoryLedger ledger_;
  chain::Network network_;
  runtime::Registry registry_;
  Status definitions_;  // loading the purchase order into registry_
  std::map<std::string, Member> members_;
  std::mutex mu_;  // the router
  std::vector<Sent> queue_;
  std::function<bool(const Sent&)> held_;
};

// The purchase-order definition of examples/, on the reference runtime.
Status AddPurchaseOrder(runtime::Registry* registry);

// po_number is unique network-wide: each order gets its own.
std::string SubmitInput(const std::string& po_number);

}  // namespace treaty::testing
