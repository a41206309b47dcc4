// DeadlineWatcher: proposes the deadline steps of this node's instances
// once ledger time has passed them (DESIGN.md, "Tasks, jobs and time";
// docs/node.md, "Deadlines"). It never moves a machine: it proposes, like
// any caller, and the applier decides in ledger order — the runtime accepts
// a deadline step from any party only once the block's time is past the
// state's entry time plus `after` (definitions/runtime/step_rules.h).
//
// What it knows: the pending deadlines of active instances — (instance,
// state, entered at, due, step) from each machine snapshot's timers —
// learned from every row the applier commits (Learn, called from
// Applier::Committed) and rebuilt from the store at Start, so a node that
// was down when a deadline passed proposes it after its restart.
//
// Who proposes: a party holding one of the deadline step's `by` roles in
// the instance proposes once ledger time reaches the due time; every other
// member once it reaches due + NodeOptions::deadline_grace, so a deadline
// still fires when the role holders are down. Each proposal carries the
// idempotency key "treaty.deadline:" instance / state / entered ms / step,
// so neither a retry nor a restart makes a second proposal from this node.
// Proposals of several parties are ordered by the ledger: the first
// applies, the others are rejected at every party with the same code and
// reason (NOT_FROM_STATE: the state is no longer active).
//
// Heartbeat: ledger time only moves when a block is made. While a deadline
// is pending that this node would propose, the node's clock says its time
// (due, or due + grace) has come and ledger time has not reached it, the
// watcher asks the batcher for a block with no pins (Batcher::Tick), at
// most once a second. The node's clock only decides when to ask for a
// block, never whether a deadline has passed.
//
// Thread-safety: Learn and LedgerAdvanced from the writer (Applier::
// Committed, writer lock held: they only copy a few values and notify);
// Load, Start and Stop from the owner (Node), Load before the applier runs.
// The watcher's own thread proposes and asks for ticks.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <set>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "engine/node_context.h"
#include "engine/types.h"

namespace treaty::engine {

class Proposer;
class Batcher;

class DeadlineWatcher {
 public:
  // One pending deadline of an instance.
  struct Pending {
    std::string state, step;
    int64_t entered_ms = 0;  // ledger time the state was entered
    int64_t due_ms = 0;      // entered + after
    bool by_role = false;    // this party holds one of the step's `by` roles
  };

  // `ledger_time` reads the time of the last applied block (Node::LedgerTimeMs).
  DeadlineWatcher(const NodeContext* ctx, Proposer* proposer, Batcher* batcher, std::function<int64_t()> ledger_time)
      : ctx_(ctx), proposer_(proposer), batcher_(batcher), ledger_time_(std::move(ledger_time)) {}
  ~DeadlineWatcher() { Stop(); }

  // The deadlines of the active instances the store holds (before the
  // applier and batcher start).
  Status Load();
  void Start();
  void Stop();

  // A committed instance row: its deadlines replace what was known of it.
  void Learn(const InstanceRow& row);
  // A commit applied blocks: ledger time may have moved.
  void LedgerAdvanced();
  // Something else waits for ledger time to reach `ms` (a human task's due
  // date): heartbeats as for a deadline once the node's clock is past it.
  void WantLedgerTime(int64_t ms);

  // The deadlines of an instance as a row states them (empty when final,
  // when its definition is not loaded, or when no timed state is active).
  static std::vector<Pending> DeadlinesOf(const NodeContext& ctx, const InstanceRow& row);
  // The idempotency key of a deadline's proposal.
  static std::string KeyOf(const std::string& instance, const Pending& p);

  // For tests and Status: deadlines known, and proposals made by this process.
  size_t PendingCount() const;
  uint64_t Proposed() const;

 private:
  struct Entry {
    Pending p;
    bool proposed = false;                             // by this process
    std::chrono::steady_clock::time_point retry_at{};  // after a failed attempt
    std::chrono::milliseconds backoff{0};
  };
  void Loop();
  // When this node acts on a deadline: due, or due + grace.
  int64_t ActAt(const Pending& p) const;
  void Propose(const std::string& instance, const Pending& p, Entry* e);

  const NodeContext* ctx_;
  Proposer* proposer_;
  Batcher* batcher_;
  std::function<int64_t()> ledger_time_;

  mutable std::mutex mu_;
  std::condition_variable wake_;
  std::map<std::string, std::vector<Entry>> pending_;  // by instance; mu_
  std::set<int64_t> wanted_;                           // mu_: WantLedgerTime
  bool changed_ = false;                               // mu_: something to look at
  bool stop_ = true;                                   // mu_
  uint64_t proposed_ = 0;                              // mu_
  std::thread thread_;
};

}  // namespace treaty::engine
