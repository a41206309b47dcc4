// Batcher: seals proposals into batches and gets them ordered (DESIGN.md,
// protocol steps 2 and 4). Callers' proposals queue here (Submit); the
// batcher's thread stores a round of them in one transaction — their
// idempotency keys, their nonces spent, their pins made, each unique-key
// claim placed right after its step's pin, the batch kept until a block
// holds it — and then submits the batch to the ledger, retrying until the
// ledger has it, never re-sealing it with new pins. A round gathers while
// a batch of ours is still in flight (at most batch_latency), so batches
// grow with the load.
//
// With an inline ledger (the embedded `local` one) the round seals, orders
// and applies in that one transaction: the block is cut and applied by the
// Applier before the commit, and proposals are never stored in flight.
//
// Thread-safety: Submit from any thread; Start/Stop from the owner.
#pragma once

#include <atomic>
#include <functional>
#include <future>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "chain/ledger.h"
#include "engine/applier.h"
#include "engine/instance_keys.h"
#include "engine/node_context.h"
#include "engine/waiters.h"

namespace treaty::engine {

class MemberProtocol;

class Batcher {
 public:
  // A proposal on its way to the store, with whoever waits for it.
  struct Intake {
    ProposalRow proposal;
    std::string key, request;  // idempotency key and the request it stands for
    Status result;             // per item: e.g. a reused idempotency key
    std::promise<Status> done;
    std::string submitted_id;                // proposal.id when submitted
    std::shared_ptr<Waiters::Waiter> waiter;  // the submitting caller's, if it waits
    // Called with `done`'s value too, for a caller that does not block
    // (on the batcher's thread).
    std::function<void(Status)> on_persisted;
  };

  Batcher(const NodeContext* ctx, chain::Ledger* ledger, Waiters* waiters, Applier* applier, NonceBook* nonces,
          InstanceKeys* keys)
      : ctx_(ctx), ledger_(ledger), waiters_(waiters), applier_(applier), nonces_(nonces), keys_(keys) {}
  ~Batcher() { Stop(); }
  void SetMembers(MemberProtocol* members) { members_ = members; }

  void Start();
  void Stop();
  // Queues a proposal; UNAVAILABLE once stopping.
  Status Submit(std::shared_ptr<Intake> item);
  // Asks for a block even if no proposal waits, so ledger time moves on
  // while deadlines are pending (deadline_watcher.h): the next round makes
  // a batch with no pins if it has nothing else to seal. Not stored and
  // not retried: the watcher asks again.
  void Tick();

 private:
  void Loop();
  // One round: stores and seals (and, inline, orders and applies) in one
  // transaction; *sealed gets the batch to submit (no pins: none). With
  // `tick` and nothing to seal, inline, a block with an empty batch is
  // made and applied all the same.
  Status Seal(std::vector<std::shared_ptr<Intake>>* intake, chain::Batch* sealed, bool tick);
  // A batch with no pins: it only makes the ledger cut a block.
  chain::Batch TickBatch() const;
  // Idempotency keys of the intake; *fresh gets the proposals to store.
  Status PersistIntake(WriteTxn& txn, std::vector<std::shared_ptr<Intake>>* intake, std::vector<ProposalRow*>* fresh);
  // Forgets idempotency keys over the limits (docs/limits.md), when due.
  Status PruneKeys(WriteTxn& txn);
  // Submits the batches sealed but not yet on the ledger; after a restart,
  // first those the store holds.
  Status SubmitUnsent();

  const NodeContext* ctx_;
  chain::Ledger* ledger_;
  Waiters* waiters_;
  Applier* applier_;
  NonceBook* nonces_;
  InstanceKeys* keys_;
  MemberProtocol* members_ = nullptr;

  std::thread thread_;
  std::mutex mu_;  // guards the intake and the flags below
  std::condition_variable proposed_;
  std::vector<std::shared_ptr<Intake>> intake_;
  bool proposal_waiting_ = false;
  bool tick_ = false;  // Tick asked for a block
  bool stop_ = false;
  // The batcher thread's own: sealed batches the ledger has not
  // acknowledged (the store keeps each until a block holds it), whether
  // they were loaded after a restart, and whether the store may hold
  // proposals not yet sealed.
  std::vector<chain::Batch> unsent_;
  bool unsent_loaded_ = false;
  bool pending_in_store_ = true;
  // The sealing thread's: when keys were last pruned, and added since.
  int64_t keys_pruned_ms_ = 0;
  int64_t keys_since_prune_ = 0;
};

}  // namespace treaty::engine
