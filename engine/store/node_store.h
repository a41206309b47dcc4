// NodeStore: the node's SQLite database (WAL, one file) and the only code
// of the node that speaks SQL. It keeps instances, the journal (every
// applied proposal — the history — and every event, in one append-only
// log whose sequence numbers are the event offsets), proposals in flight,
// the pin protocol's rows, the outbox and what members sent, unique-key
// claims, idempotency keys, subscriptions, the embedded ledger's blocks
// and the ledger cursor. docs/node.md, "Store", gives the layout and why.
//
// Two connections. Every change goes through a WriteTxn, which holds the
// writer connection and its lock for its whole life: the batcher, the
// applier and the member protocol each write in their own transactions,
// one at a time. The read methods of NodeStore use the reader connection
// and its own lock, so API reads never queue behind a block's transaction;
// WAL lets them run side by side and a reader sees every committed
// transaction.
//
// Thread-safety: the read methods may be called from any thread. A
// WriteTxn belongs to the thread that began it; Begin blocks while another
// transaction is open. Observers are called with the writer lock held.
#pragma once

#include <atomic>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "chain/ledger.h"
#include "definitions/base/env.h"
#include "definitions/base/sqlite_db.h"
#include "definitions/base/status.h"
#include "engine/store/claim_index.h"
#include "engine/store/instance_query.h"
#include "engine/types.h"

namespace treaty::engine {

inline constexpr int kSchemaVersion = 5;

class WriteTxn;

// In-memory state that follows what the store holds (caches, messages a
// transaction produced): told when the transaction that changed it
// commits or is abandoned (rolled back, or failed), so it never runs ahead
// of the store. Called with the writer lock held.
class TxnObserver {
 public:
  virtual ~TxnObserver() = default;
  virtual void Committed() {}
  virtual void Abandoned() {}
};

class NodeStore {
 public:
  NodeStore() = default;
  ~NodeStore();
  NodeStore(const NodeStore&) = delete;
  NodeStore& operator=(const NodeStore&) = delete;

  // Creates the schema, or checks that an existing file has this version
  // and belongs to `party`.
  Status Open(const std::string& path, const std::string& party, bool full_sync = true, Env* env = Env::Default());
  void Close();
  const std::string& path() const { return path_; }
  // The schema an existing file was upgraded from by Open (3 or 4), or 0.
  int migrated_from() const { return migrated_from_; }

  // Durable: its commit reaches the disk before Commit returns. Relaxed:
  // it does not wait (its commit number becomes durable with the next
  // durable commit, or MakeDurable).
  enum class Durability { kDurable, kRelaxed };
  // `kind` names it for the fault seam and for errors ("seal", "apply", ...).
  Result<std::unique_ptr<WriteTxn>> Begin(const char* kind, Durability d = Durability::kDurable);

  // Told of every transaction's end; registered once, before Start.
  void AddObserver(TxnObserver* o) { observers_.push_back(o); }
  // Tests: faults on the writer connection (null: none).
  void SetFaults(DbFaults* faults);

  // Commit numbers: every committed transaction takes the next; a durable
  // one makes all before it durable too (WAL order).
  uint64_t DurableGeneration() const { return durable_gen_.load(); }
  // Pages the writer's commits have written to the WAL so far, and how
  // many transactions committed (docs/performance.md: pages per step).
  uint64_t PagesWritten() const {
    std::lock_guard<std::mutex> lock(mu_);  // the writer's connection is not shared without it
    return db_.pages_written();
  }
  uint64_t Commits() const { return commits_.load(); }
  // Makes every commit so far durable (a tiny durable transaction).
  Status MakeDurable();

  // ---- reads (the reader connection)
  Result<std::optional<InstanceRow>> GetInstance(const std::string& id);
  // The rows of a compiled ListInstances query, `limit` of them from `offset`.
  Result<std::vector<InstanceRow>> ListInstances(const InstanceQuery& q, int64_t limit, int64_t offset);
  // Active instances whose machine tracks the entry time of a timed state
  // (deadlines), `limit` of them numbered after `after_no`, in order of `no`.
  Result<std::vector<InstanceRow>> InstancesWithTimers(int64_t after_no, int64_t limit);
  Result<std::vector<HistoryRow>> History(const std::string& instance);
  Result<std::vector<AttestationRow>> Attestations(const std::string& instance);
  Result<std::vector<AttestationRow>> AttestationsAt(const std::string& instance, int64_t seq);
  // The history entry a proposal made, with the instance's roles; nullopt
  // if it made none (not applied yet, or a rejected start).
  struct AppliedEntry {
    int64_t seq = 0;
    AttestedOutcome outcome;
    std::map<std::string, std::string> roles;
  };
  Result<std::optional<AppliedEntry>> HistoryEntryOf(const std::string& instance, const std::string& proposal);
  // A proposal in flight, or applied (from the journal).
  Result<std::optional<ProposalRow>> GetProposal(const std::string& id);
  struct KnownKey {
    std::string proposal, request;
  };
  Result<std::optional<KnownKey>> IdempotencyKey(const std::string& key);
  Result<std::vector<EventRow>> Events(int64_t after, size_t max);
  Result<int64_t> LastEventOffset();
  Result<int64_t> Cursor();
  // The last applied block's height and hash, if any.
  Result<std::optional<std::pair<int64_t, Digest>>> LedgerTip();
  Result<int64_t> Acked(const std::string& subscription);
  Result<int64_t> ProposalsInFlight();  // ours, pending or sealed
  Result<bool> StartInFlight(const std::string& instance);
  Result<std::vector<BlockedRow>> Blocked();
  Result<int64_t> OutboxSize();
  // Unique keys, for the preflight: who holds a claim, or where it was first
  // sequenced without a winner (see WriteTxn::ClaimOwner).
  struct ClaimHolder {
    std::string instance;  // empty: sequenced, not won
    int64_t height = 0;
  };
  Result<std::optional<ClaimHolder>> ClaimSeen(const Digest& claim);
  // The embedded ledger's blocks (chain::BlockLog, below).
  Result<std::vector<chain::Block>> ReadBlocks(uint64_t from, size_t max);
  Result<std::optional<chain::Block>> LastBlock();

  // ---- human tasks
  Result<std::optional<TaskRow>> GetTask(const std::string& id);
  // `q.limit` of the tasks `q` selects, from `q.offset`, in its order.
  Result<std::vector<TaskRow>> SearchTasks(const TaskQuery& q);
  // The same search's task numbers alone (rows come from OpenTasks).
  Result<std::vector<int64_t>> SearchTaskNumbers(const TaskQuery& q);
  Result<std::optional<TaskRow>> GetTaskByNo(int64_t no);
  // Whether an upgraded store still waits for the tasks of its instances.
  Result<bool> TaskBackfillPending();
  // The earliest due date of an open task not yet overdue, if any.
  Result<std::optional<int64_t>> NextTaskDue();
  // Open (or claimed) tasks, and how many of them are overdue.
  Result<std::pair<int64_t, int64_t>> TaskCounts();

  // ---- jobs (job_book.h)
  Result<std::optional<JobRow>> GetJob(const std::string& id);
  // Jobs in creation order (closed ones too, as the query says).
  Result<std::vector<JobRow>> SearchJobs(const JobQuery& q);
  // Open incidents (jobs in state incident) in creation order.
  Result<std::vector<JobRow>> Incidents(const std::string& type, const std::string& instance, int64_t limit,
                                        int64_t offset);
  struct JobCounts {
    int64_t open = 0, activated = 0, incidents = 0;
  };
  Result<JobCounts> CountJobs();
  Result<bool> JobBackfillPending();
  // Instances not final, for tasks opened on an upgraded store.
  Result<std::vector<InstanceRow>> ActiveInstances(int64_t after_no, size_t max);

  // ---- subscriptions: their own small transaction
  Status Ack(const std::string& subscription, int64_t offset);

 private:
  friend class WriteTxn;
  Status DateIdempotencyKeys();
  // One of the reader connections, held for one read: reads from many
  // request threads run side by side (WAL) instead of queueing on one.
  class ReaderLease {
   public:
    ReaderLease(NodeStore* store, Db* db) : store_(store), db_(db) {}
    ~ReaderLease() { store_->ReturnReader(db_); }
    ReaderLease(const ReaderLease&) = delete;
    ReaderLease& operator=(const ReaderLease&) = delete;
    Db& db() { return *db_; }

   private:
    NodeStore* store_;
    Db* db_;
  };
  ReaderLease LeaseReader();
  void ReturnReader(Db* db);
  static constexpr int kReaders = 4;

  std::string path_;
  int migrated_from_ = 0;
  Env* env_ = nullptr;
  bool full_sync_ = true;
  mutable std::mutex mu_;  // the writer connection, held by an open WriteTxn
  Db db_;
  std::mutex readers_mu_;
  std::condition_variable reader_free_;
  std::vector<std::unique_ptr<Db>> readers_;
  std::vector<Db*> free_readers_;  // readers_mu_
  Checkpointer checkpointer_;
  std::vector<TxnObserver*> observers_;
  ClaimIndex claims_;  // the claims table, in memory (claim_index.h)
  uint64_t commit_gen_ = 0;  // mu_
  std::atomic<uint64_t> durable_gen_{0};
  std::atomic<uint64_t> commits_{0};
};

// The embedded ledger's blocks (chain::LocalLedger) live in the node's
// store: the node writes them in its own transactions (WriteTxn::
// AppendBlock); this is the ledger's view of them.
class StoreBlockLog final : public chain::BlockLog {
 public:
  explicit StoreBlockLog(NodeStore* store) : store_(store) {}
  Result<std::vector<chain::Block>> ReadBlocks(uint64_t from, size_t max) override {
    return store_->ReadBlocks(from, max);
  }
  Result<std::optional<chain::Block>> LastBlock() override { return store_->LastBlock(); }
  Status Append(const chain::Block& b) override;

 private:
  NodeStore* store_;
};

// One write transaction on the node's store: every write method the node
// has. Rolled back unless committed; either way the store's observers are
// told. Reads through it see the transaction's own writes.
class WriteTxn {
 public:
  ~WriteTxn();
  WriteTxn(const WriteTxn&) = delete;
  WriteTxn& operator=(const WriteTxn&) = delete;

  // Commits; on failure the transaction is rolled back and the status
  // returned. *generation (if given) gets the commit's number.
  Status Commit(uint64_t* generation = nullptr);
  const char* kind() const { return kind_; }

  // ---- instances
  Result<std::optional<InstanceRow>> GetInstance(const std::string& id);
  Status InsertInstance(InstanceRow* row);  // sets row->no
  // The columns a step changes.
  Status UpdateInstance(const InstanceRow& row);

  // ---- the journal: history entries and events
  // A history entry of `inst` (its seq is the next in the instance), with
  // its event (type step_confirmed, step_rejected or instance_started).
  Result<int64_t> AppendHistory(const InstanceRow& inst, const HistoryRow& h, const std::string& event_type,
                                const std::string& payload_json = "");
  // A rejected proposal with no instance to attach a history entry to (a
  // start, or a step for an unknown instance): its event, which is also
  // its outcome's record.
  Status AppendUnattached(const ProposalRow& p, const std::string& event_type, const std::string& definition,
                          int64_t height, int64_t time_ms);
  Status AppendEvent(const EventRow& e);
  Result<std::optional<AttestedOutcome>> HistoryOutcomeAt(const std::string& instance, int64_t seq);
  // The highest nonce of `author` in the instance, applied or in flight.
  Result<std::optional<int64_t>> LastNonce(const std::string& instance, const std::string& author);
  // The history entry of the instance proposed by `author` with `nonce`, if applied.
  Result<std::optional<std::string>> AppliedProposal(const std::string& instance, const std::string& author,
                                                     int64_t nonce);
  // Whether a proposal id is taken, in flight or applied.
  Result<bool> ProposalIdUsed(const std::string& id);

  // ---- proposals in flight (pending, sealed, received)
  Status InsertProposal(const ProposalRow& p);
  // Status, nonce, pin, batch and extra of a stored proposal.
  Status UpdateProposal(const ProposalRow& p);
  Status DeleteProposal(const std::string& id);
  Result<std::optional<ProposalRow>> GetProposal(const std::string& id);
  Result<std::optional<ProposalRow>> GetProposalByPin(const std::string& pin_hex);
  Result<std::vector<ProposalRow>> PendingProposals(size_t max);  // oldest first
  Result<bool> StartInFlight(const std::string& instance);
  // The start proposal of an instance not yet applied here (its terms).
  Result<std::optional<ProposalRow>> StartProposal(const std::string& instance);

  // ---- idempotency keys
  Result<std::optional<NodeStore::KnownKey>> IdempotencyKey(const std::string& key);
  // `now_ms` (wall time) dates the key for pruning.
  Status InsertIdempotencyKey(const std::string& key, const std::string& proposal, const std::string& request,
                              int64_t now_ms);
  // Forgets keys dated before `before_ms`, then the oldest beyond
  // `keep_max` (docs/limits.md); returns how many went.
  Result<int64_t> PruneIdempotencyKeys(int64_t before_ms, int64_t keep_max);

  // ---- our sealed batches until a block holds them
  Status InsertBatch(const chain::Batch& b);
  Status ForgetBatch(const std::string& id);
  Result<std::vector<chain::Batch>> UnorderedBatches(const std::string& author);

  // ---- pins (docs/protocol.md)
  Status ExpectPin(const std::string& pin_hex, const std::string& instance, const std::string& author,
                   int64_t nonce);
  // Removes and returns an expected pin; nullopt if the pin is not expected.
  Result<std::optional<ExpectedPin>> TakeExpectedPin(const std::string& pin_hex);
  Status QueuePin(const std::string& instance, const std::string& author, const std::string& pin_hex,
                  const LedgerPosition& at, int64_t since_ms);
  struct QueuedPin {
    std::string pin, author;
    LedgerPosition at;
    int64_t since_ms = 0;
    bool noted = false;
  };
  Result<std::optional<QueuedPin>> FirstQueuedPin(const std::string& instance);
  Status NoteQueuedPin(const std::string& instance, const LedgerPosition& at);
  Status DeleteQueuedPin(const std::string& instance, const LedgerPosition& at);
  Result<std::vector<std::string>> InstancesWithQueuedPins();
  // A pin nobody here recognised (yet): its first place in ledger order.
  Status RecordUnmatchedPin(const std::string& pin_hex, const LedgerPosition& at);
  Result<std::optional<LedgerPosition>> UnmatchedPin(const std::string& pin_hex);
  Status DeleteUnmatchedPin(const std::string& pin_hex);

  // ---- unique-key claims
  Result<std::optional<NodeStore::ClaimHolder>> ClaimOwner(const Digest& claim);
  Status InsertClaim(const Digest& claim, const std::string& instance, const std::string& field, int64_t height);

  // ---- multi-party rows
  Result<std::optional<std::string>> Commitment(const std::string& instance, const std::string& field,
                                                const std::string& content_hex);
  // Keeps (or replaces) a restricted field's commitment; no write when unchanged.
  Status PutCommitment(const std::string& instance, const std::string& field, const std::string& commitment_hex,
                       const std::string& content_hex);
  // A proposal's envelope as sent or received, by its pin: what a member
  // blocked on that pin is sent again, long after it was applied here.
  Status PutEnvelope(const std::string& pin_hex, const std::string& proposal, const std::string& body,
                     std::optional<int64_t> set_id);
  struct KeptEnvelope {
    std::string proposal, body, set_json;  // set_json: the set that covered it here, if any
  };
  Result<std::optional<KeptEnvelope>> Envelope(const std::string& pin_hex);
  Result<int64_t> InsertProposalSet(const std::string& author, const std::string& body);
  Result<int64_t> InsertAttestationSet(const std::string& party, const std::string& body);
  // Keeps the first attestation of (instance, seq, party).
  Status InsertAttestation(const AttestationRow& a);
  Result<std::vector<AttestationRow>> AttestationsAt(const std::string& instance, int64_t seq);

  // ---- the outbox
  // A message for a member, counted as sent once: the caller hands it to
  // the data exchange after the commit, and the row brings a resend at
  // `resend_ms` (OutboxBackoffMs) until the member's receipt deletes it.
  Status EnqueueOutbox(const OutboxMessage& m, int64_t now_ms, int64_t resend_ms);
  struct DueMessage {
    OutboxMessage message;
    int64_t attempts = 0;
  };
  // Messages due at `now_ms`, oldest first, each rescheduled by its backoff.
  Result<std::vector<DueMessage>> TakeDueOutbox(int64_t now_ms, size_t max);
  Result<std::optional<int64_t>> NextOutboxDue();
  Status DeleteOutbox(const std::vector<std::string>& ids);

  // ---- human tasks (task_book.h)
  Result<std::optional<TaskRow>> GetTask(const std::string& id);
  Status InsertTask(TaskRow* t);  // sets t->no
  // The open or claimed tasks of an instance, in creation order.
  Result<std::vector<TaskRow>> ActiveTasksOf(const std::string& instance);
  // Writes what changed of a stored task from `before` (as read in this
  // transaction) to `t`: state, assignee, candidates, priority, dates,
  // overdue, attempts, closing.
  Status UpdateTask(const TaskRow& before, const TaskRow& t);
  Status ClearTaskBackfill();
  // The earliest due date of an open task not yet overdue, if any.
  Result<std::optional<int64_t>> NextTaskDue();
  // Open or claimed tasks due at `now_ms` not yet marked overdue.
  Result<std::vector<TaskRow>> TasksFallenDue(int64_t now_ms, size_t max);

  // ---- jobs (job_book.h)
  Result<std::optional<JobRow>> GetJob(const std::string& id);
  Status InsertJob(JobRow* j);  // sets j->no
  // Writes the job's changeable columns (state, lease, retries, errors,
  // incident, attempts, closing).
  Status UpdateJob(const JobRow& j);
  // The open jobs of an instance, in creation order.
  Result<std::vector<JobRow>> OpenJobsOf(const std::string& instance);
  Status ClearJobBackfill();

  // ---- the ledger: the embedded ledger's blocks, and the cursor
  Status AppendBlock(const chain::Block& b);
  Status SetCursor(int64_t height, const Digest& block_hash);

 private:
  friend class NodeStore;
  WriteTxn(NodeStore* store, const char* kind, bool relaxed) : store_(store), kind_(kind), relaxed_(relaxed) {}
  Db& db() { return store_->db_; }

  NodeStore* store_;
  std::unique_lock<std::mutex> lock_;
  const char* kind_;
  bool relaxed_;
  bool open_ = false;
  // Claims this transaction added: the index gets them when it commits.
  std::vector<std::pair<Digest, ClaimOwnerRow>> new_claims_;
};

}  // namespace treaty::engine
