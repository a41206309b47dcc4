// Applier: the only code that applies pins (DESIGN.md, "The one rule"). It
// follows the ledger's blocks in order and, in one store transaction per
// block with the ledger cursor inside it, applies every pin it recognises:
// it runs the definition's machine, decides the outcome (confirmed, or
// rejected with a code and reason that depend only on the ledger order
// and the data), writes the instance and its history, and has the member
// protocol attest it. A recognised pin whose data has not arrived is
// queued (PinTracker); when the data comes, whoever received it calls
// Drain here, in their transaction. With an inline ledger the batcher
// calls ApplyBlock in its own seal transaction instead of this thread.
//
// Thread-safety: Start/Stop from the owner. ApplyBlock and Drain run with
// a WriteTxn open (the store's writer lock held); Published from any thread.
#pragma once

#include <atomic>
#include <map>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "chain/ledger.h"
#include "engine/instance_cache.h"
#include "engine/instance_keys.h"
#include "engine/node_context.h"
#include "engine/pin_tracker.h"
#include "engine/state_hash.h"
#include "engine/job_book.h"
#include "engine/task_book.h"
#include "engine/unique_claims.h"
#include "engine/waiters.h"

namespace treaty::engine {

class MemberProtocol;
class DeadlineWatcher;

class Applier final : public TxnObserver {
 public:
  struct Parts {
    PinTracker* pins;
    UniqueClaims* claims;
    StateHash* state_hash;
    InstanceKeys* keys;
    NonceBook* nonces;
    InstanceCache* cache;
    Waiters* waiters;
    TaskBook* tasks;  // null: no human tasks
    JobBook* jobs;    // null: no jobs
  };
  Applier(const NodeContext* ctx, chain::Ledger* ledger, Parts parts) : ctx_(ctx), ledger_(ledger), p_(parts) {}
  ~Applier() { Stop(); }
  // Multi-party: the protocol that attests what is applied (null: none).
  void SetMembers(MemberProtocol* members) { members_ = members; }
  // Learns every committed instance row and each advance of ledger time
  // (null: none). Set before Start.
  void SetDeadlines(DeadlineWatcher* deadlines) { deadlines_ = deadlines; }

  // Ledger time: the timestamp of the last block this node applied, as its
  // transaction committed (0 before the first one; on the embedded ledger
  // the stored tip's from Start on). Any thread; an atomic read.
  int64_t LedgerTimeMs() const { return ledger_time_ms_.load(std::memory_order_acquire); }

  // Follows the ledger from the stored cursor (not for an inline ledger,
  // whose blocks the batcher applies).
  Status Start();
  void Stop();

  // A proposal of ours sealed into the block being applied in the same
  // transaction (inline ledger): `stored` if it was persisted earlier.
  struct Own {
    ProposalRow* proposal;
    bool stored;
  };
  // Applies `b` in `txn`, with the cursor (what it queues for members is
  // the caller's to Flush before the commit). `own`: our proposals by pin when
  // sealed in the same transaction, else null (looked up in the store).
  // Appends what was applied to *applied; *our_batches counts our batches.
  Status ApplyBlock(WriteTxn& txn, const chain::Block& b, const std::map<std::string, Own>* own,
                    std::vector<ProposalRow>* applied, int* our_batches);
  // Applies the instance's queued pins as far as their data allows.
  Status Drain(WriteTxn& txn, const std::string& instance, std::vector<ProposalRow>* applied);
  // A member's proposal arrived: what of its instance waited for it goes on.
  Status DrainIfQueued(WriteTxn& txn, const std::string& instance, std::vector<ProposalRow>* applied);
  // A member's start arrived: its pin is expected from now on (or, if the
  // ledger had it already, queued at its place).
  Status ExpectStart(WriteTxn& txn, const ProposalRow& start);
  // After the commit that applied `applied`: the waiting callers get their
  // rows (moved out).
  void Published(std::vector<ProposalRow>* applied, int our_batches);

  // The instances a transaction changed reach the cache as it commits,
  // while the writer lock is still held: so under that lock the cache is
  // never behind the store, and the applier reads instances from it.
  void Committed() override;
  void Abandoned() override {
    changed_.clear();
    block_time_ms_ = 0;
  }

 private:
  void Loop();
  Status ApplyPin(WriteTxn& txn, ProposalRow* p, bool stored, const LedgerPosition& at,
                  const std::vector<Digest>* batch, size_t pos);
  Status ApplyStart(WriteTxn& txn, ProposalRow* p, const LedgerPosition& at, const std::vector<Digest>* batch,
                    size_t pos);
  Status ApplyStep(WriteTxn& txn, ProposalRow* p, const LedgerPosition& at, const std::vector<Digest>* batch,
                   size_t pos);
  // The instance as the open transaction sees it: changed by it, cached,
  // or stored; null if none.
  Result<std::shared_ptr<const InstanceRow>> Instance(WriteTxn& txn, const std::string& id);
  // After a pin of `author` with `nonce` in the instance: the author's
  // next pin is expected (others'; ours are recognised by their batch).
  Status ExpectNext(WriteTxn& txn, const std::string& instance, const std::string& author, int64_t nonce);

  const NodeContext* ctx_;
  chain::Ledger* ledger_;
  Parts p_;
  MemberProtocol* members_ = nullptr;
  // Instance rows the open transaction wrote; the writer's.
  std::unordered_map<std::string, std::shared_ptr<const InstanceRow>> changed_;
  DeadlineWatcher* deadlines_ = nullptr;
  int64_t block_time_ms_ = 0;  // the writer's: the last block the open transaction applied
  std::atomic<int64_t> ledger_time_ms_{0};
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

}  // namespace treaty::engine
