// Node: one party's execution of processes — a thin facade that makes and
// wires the node's parts and is the API its services, daemon and tests
// use. The parts, each in its own file (docs/node.md, "Inside the node"):
//
//   Proposer        API calls -> proposals (validation, idempotency, preflight)
//   Waiters         callers waiting for outcomes, events and attestations
//   Batcher         seals proposals into batches, has them ordered
//   Applier         the only code that applies pins, in ledger order
//   PinTracker      expected pins, pins queued behind missing data
//   MemberProtocol  send, receive, attest, resend (multi-party)
//   UniqueClaims    unique business keys; StateHash: the attested hash
//   TaskBook        human tasks: opened and closed as steps apply
//   JobBook         jobs for machines: opened and closed as steps apply; leases, retries, incidents
//   DeadlineWatcher proposes deadline steps once ledger time has passed them
//   NodeStore       the SQLite store, the only code with SQL
//
// Only the Applier moves a state machine (DESIGN.md, "The one rule").
//
// Thread-safety: every public method may be called concurrently, after
// Start and until Stop.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "chain/ledger.h"
#include "definitions/runtime/registry.h"
#include "engine/applier.h"
#include "engine/batcher.h"
#include "engine/deadline_watcher.h"
#include "engine/instance_cache.h"
#include "engine/instance_keys.h"
#include "engine/job_book.h"
#include "engine/member_protocol.h"
#include "engine/node_context.h"
#include "engine/pin_tracker.h"
#include "engine/proposer.h"
#include "engine/state_hash.h"
#include "engine/task_book.h"
#include "engine/unique_claims.h"
#include "engine/waiters.h"

namespace treaty::engine {

class Node {
 public:
  Node(NodeOptions opts, NodeStore* store, chain::Ledger* ledger, runtime::Registry* registry);
  ~Node();

  Status Start();
  void Stop();

  // Proposing (Proposer): the proposal as it stands when the call returns.
  Result<ProposalRow> StartProcess(const StartArgs& args) { return proposer_.StartProcess(args); }
  Result<ProposalRow> TriggerStep(const StepArgs& args) { return proposer_.TriggerStep(args); }
  Result<AttestationWait> WaitAttested(const ProposalRow& p, std::chrono::steady_clock::time_point deadline) {
    return proposer_.WaitAttested(p, deadline);
  }
  // Without blocking the caller's thread (Proposer::Done: called once).
  void StartProcessAsync(const StartArgs& args, Proposer::Done done) { proposer_.StartProcessAsync(args, std::move(done)); }
  void TriggerStepAsync(const StepArgs& args, Proposer::Done done) { proposer_.TriggerStepAsync(args, std::move(done)); }

  // Reading (the store's reader: never waits for the writer).
  Result<std::optional<InstanceRow>> GetInstance(const std::string& id) { return ctx_.store->GetInstance(id); }
  Result<std::vector<InstanceRow>> ListInstances(const std::string& definition, const std::string& state,
                                                 const std::string& where, const std::string& order_by,
                                                 int64_t limit, int64_t offset);
  Result<std::vector<HistoryRow>> History(const std::string& id) { return ctx_.store->History(id); }
  Result<std::vector<AttestationRow>> Attestations(const std::string& id) { return ctx_.store->Attestations(id); }
  Result<std::vector<EventRow>> Events(int64_t after, size_t max) { return ctx_.store->Events(after, max); }
  Result<int64_t> LastEventOffset() { return ctx_.store->LastEventOffset(); }
  Result<int64_t> Acked(const std::string& subscription) { return ctx_.store->Acked(subscription); }
  Status Ack(const std::string& subscription, int64_t offset) { return ctx_.store->Ack(subscription, offset); }
  // Human tasks (TaskBook): reads from the store's readers; the local
  // operations (claim, assign, update) through tasks().
  Result<std::optional<TaskRow>> GetTask(const std::string& id) { return tasks_.Get(id); }
  Result<std::vector<TaskRow>> SearchTasks(const TaskQuery& q, int64_t* matched = nullptr) {
    return tasks_.Search(q, matched);
  }
  TaskBook* tasks() { return &tasks_; }
  // Jobs (JobBook): activation, failures, incidents through jobs().
  JobBook* jobs() { return &jobs_; }
  Result<std::vector<JobRow>> Incidents(const std::string& type, const std::string& instance, int64_t limit,
                                        int64_t offset) {
    return ctx_.store->Incidents(type, instance, limit, offset);
  }
  Result<std::optional<ProposalRow>> GetProposal(const std::string& id) { return ctx_.store->GetProposal(id); }
  Result<std::optional<NodeStore::KnownKey>> IdempotencyKey(const std::string& key) {
    return ctx_.store->IdempotencyKey(key);
  }
  // Waits until an event after `offset` may exist or the timeout passes.
  void WaitForEvents(int64_t offset, std::chrono::milliseconds timeout);

  // What the Node service reports.
  struct Health {
    uint64_t ledger_height = 0, applied_height = 0;
    int64_t in_flight = 0, outbox = 0;
    std::vector<BlockedRow> blocked;
    uint64_t store_pages_written = 0, store_commits = 0;
    int64_t ledger_time_ms = 0;
    uint64_t pending_deadlines = 0;
    int64_t open_tasks = 0, overdue_tasks = 0;
    int64_t open_jobs = 0, activated_jobs = 0, incidents = 0;
  };
  Result<Health> Check();
  uint64_t AppliedHeight();
  // Ledger time: the timestamp (ms) of the last block this node applied —
  // the only time that decides anything (deadlines, due dates). 0 until
  // the first block after start, except on the embedded ledger, where it
  // is the stored tip's. A cheap atomic read, from any thread.
  int64_t LedgerTimeMs() const { return applier_.LedgerTimeMs(); }
  // Deadlines this node knows to be pending (tests, Status).
  size_t PendingDeadlines() const { return deadlines_.PendingCount(); }

  const NodeOptions& options() const { return ctx_.opts; }
  runtime::Registry* registry() { return ctx_.registry; }
  chain::Ledger* ledger() { return ledger_; }
  bool multi_party() const { return ctx_.multi_party(); }

  // Multi-party (MemberProtocol). Receive takes what members sent over the
  // data exchange (DataExchange::Handler contract: OK = handled for good);
  // its transaction does not wait for the disk: *generation is that
  // commit's number, durable once DurableGeneration() reaches it.
  using Inbound = MemberProtocol::Inbound;
  std::vector<Status> Receive(const std::vector<Inbound>& messages, uint64_t* generation = nullptr);
  uint64_t DurableGeneration() const { return ctx_.store->DurableGeneration(); }
  // Makes every commit so far durable (a small synchronous commit).
  void MakeDurable();
  // Called, writer lock held, with the messages a transaction put in the
  // outbox once it has committed (set before Start).
  void SetOutboxListener(std::function<void(std::vector<OutboxMessage>)> send);
  // Transport connections refused so far (unknown CURVE keys), for Status.
  void SetRefusedCounter(std::function<uint64_t()> f) { refused_connections_ = std::move(f); }
  uint64_t RefusedConnections() const { return refused_connections_ ? refused_connections_() : 0; }

 private:
  NodeContext ctx_;
  chain::Ledger* ledger_;
  // Committed instance rows for the preflight (instance_cache.h): 64 MiB
  // of row text at most (~90,000 purchase orders); a row over 256 KiB is
  // read from the store each time.
  InstanceCache cache_{64u << 20, 256u << 10};
  Waiters waiters_;
  InstanceKeys keys_;
  NonceBook nonces_;
  PinTracker pins_;
  UniqueClaims claims_;
  StateHash state_hash_;
  TaskBook tasks_;
  JobBook jobs_;
  Applier applier_;
  std::unique_ptr<MemberProtocol> members_;
  Batcher batcher_;
  Proposer proposer_;
  DeadlineWatcher deadlines_;
  std::function<uint64_t()> refused_connections_;
  bool started_ = false;
};

}  // namespace treaty::engine
