// Node: one party's execution of processes. API calls become proposals
// (after a preflight against the current state), the Batcher seals pending
// proposals into batches of pins (size or latency, whichever first) and
// submits them to the Ledger, and the Applier follows the ledger's blocks in
// order and applies every pin it recognises, one SQLite transaction per
// block with the ledger cursor inside it. Only the Applier moves a state
// machine (DESIGN.md, "The one rule").
//
// Pins: pin = sha256(instance salt, author, nonce) with length-prefixed
// fields; the nonce is spent when the proposal is sealed into a batch, in
// the same transaction that persists the batch (docs/node.md).
//
// Thread-safety: all public methods may be called concurrently.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <future>
#include <memory>
#include <map>
#include <mutex>
#include <string>
#include <thread>

#include "chain/ledger.h"
#include "definitions/runtime/registry.h"
#include "engine/node_store.h"

namespace treaty::engine {

struct NodeOptions {
  std::string party = "node";
  size_t batch_max = 256;                         // pins per batch
  std::chrono::milliseconds batch_latency{2};     // a batch lingers this long for company
  std::chrono::milliseconds wait_timeout{30000};  // TriggerStep with wait
  size_t max_input_bytes = 1 << 20;
};

struct StartArgs {
  std::string definition;
  int64_t version = 0;
  std::string instance_id;
  std::map<std::string, std::string> roles;  // role -> party
  std::string input_json;
  std::string idempotency_key;
  bool wait = true;
};

struct StepArgs {
  std::string instance_id;
  std::string step;
  std::string input_json;
  std::string idempotency_key;
  bool wait = true;
};

class Node {
 public:
  Node(NodeOptions opts, NodeStore* store, chain::Ledger* ledger, runtime::Registry* registry);
  ~Node();

  void Start();
  void Stop();

  // Both return the proposal as it stands when the call returns: applied
  // (confirmed or rejected) when waited for, else pending. Preflight
  // failures return their Status and change nothing.
  Result<ProposalRow> StartProcess(const StartArgs& args);
  Result<ProposalRow> TriggerStep(const StepArgs& args);

  const NodeOptions& options() const { return opts_; }
  runtime::Registry* registry() { return registry_; }
  NodeStore* store() { return store_; }
  chain::Ledger* ledger() { return ledger_; }
  uint64_t AppliedHeight() { return static_cast<uint64_t>(store_->Cursor()); }

  // Waits until an event after `offset` may exist or the timeout passes.
  void WaitForEvents(int64_t offset, std::chrono::milliseconds timeout);

 private:
  Result<ProposalRow> Submit(ProposalRow p, const std::string& key, const std::string& request, bool wait);
  Result<ProposalRow> WaitApplied(const std::string& id, bool wait);
  void BatcherLoop();
  void ApplierLoop();
  // A proposal on its way to the store, with whoever waits for it.
  struct Intake {
    ProposalRow proposal;
    std::string key, request;
    Status result;  // per item: e.g. a reused idempotency key
    std::promise<Status> done;
  };
  Status PersistIntake(std::vector<std::shared_ptr<Intake>>* intake);
  Status SealPending(std::vector<std::shared_ptr<Intake>>* intake, bool* sealed_any);
  Status SubmitUnsent();
  Status ApplyBlock(const chain::Block& b, std::vector<ProposalRow>* applied);
  Status ApplyStart(ProposalRow* p, const chain::Block& b);
  Status ApplyStep(ProposalRow* p, const chain::Block& b);
  void Reject(ProposalRow* p, const std::string& code, const std::string& reason);

  NodeOptions opts_;
  NodeStore* store_;
  chain::Ledger* ledger_;
  runtime::Registry* registry_;

  std::atomic<bool> stop_{false};
  std::thread batcher_, applier_;
  std::mutex mu_;  // guards the wake-ups and waiters below, never held with the store's
  std::condition_variable proposed_, applied_;
  uint64_t applied_generation_ = 0;
  bool proposal_waiting_ = false;
  // Callers waiting for a proposal's outcome: the applier hands the applied
  // row straight to them instead of every waiter re-reading the store.
  std::map<std::string, int> waiting_;
  std::map<std::string, ProposalRow> finished_;
  std::vector<std::shared_ptr<Intake>> intake_;
};

// Maps a rejection code (runtime::RejectCodeName or the node's own) to a
// gRPC-style status code.
StatusCode StatusForReject(const std::string& code);
Digest Pin(const std::string& salt_hex, const std::string& author, int64_t nonce);

}  // namespace treaty::engine
