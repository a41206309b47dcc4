// NodeStore: opening the file, transactions, durability, the ledger's
// blocks and cursor, subscriptions. Schema and layout: docs/node.md, "Store".
#include "engine/store/node_store.h"

#include <cstring>

#include "chain/block_codec.h"
#include "engine/store/rows.h"

namespace treaty::engine {

namespace {

// The background checkpoint's period. Every 50 ms, three nodes on one
// machine ran 60 checkpoints a second, each copying pages that the next
// block rewrites again and syncing the file; every 200 ms cost the
// three-party network 3-13 % less CPU per step in three paired runs.
constexpr std::chrono::milliseconds kCheckpointEvery{200};

// Every table and index. Why each is laid out so: docs/node.md, "Store".
constexpr const char* kSchema = R"SQL(
CREATE TABLE IF NOT EXISTS instances (
  no INTEGER PRIMARY KEY, id TEXT NOT NULL UNIQUE, definition TEXT NOT NULL, version INTEGER NOT NULL,
  def_hash TEXT NOT NULL, salt TEXT NOT NULL, roles TEXT NOT NULL, snapshot TEXT NOT NULL, states TEXT NOT NULL,
  data TEXT NOT NULL, final INTEGER NOT NULL, position INTEGER NOT NULL, height INTEGER NOT NULL,
  state_hash TEXT NOT NULL, created_ms INTEGER NOT NULL, updated_ms INTEGER NOT NULL);
CREATE INDEX IF NOT EXISTS instances_by_definition ON instances(definition, no);
CREATE TABLE IF NOT EXISTS journal (
  seq INTEGER PRIMARY KEY, type TEXT NOT NULL, instance TEXT NOT NULL, instance_no INTEGER, hseq INTEGER,
  proposal TEXT, step TEXT NOT NULL DEFAULT '', proposer TEXT, nonce INTEGER, input TEXT, outcome TEXT,
  reject_code TEXT, reason TEXT, height INTEGER NOT NULL DEFAULT 0, proposed_ms INTEGER, time_ms INTEGER NOT NULL,
  states TEXT, state_hash TEXT, payload TEXT, definition TEXT);
CREATE UNIQUE INDEX IF NOT EXISTS journal_history ON journal(instance_no, hseq) WHERE hseq IS NOT NULL;
CREATE INDEX IF NOT EXISTS journal_by_proposal ON journal(proposal) WHERE proposal IS NOT NULL;
CREATE TABLE IF NOT EXISTS proposals (
  id TEXT PRIMARY KEY, kind TEXT NOT NULL, instance TEXT NOT NULL, step TEXT NOT NULL, input TEXT NOT NULL,
  author TEXT NOT NULL, nonce INTEGER NOT NULL, pin TEXT, status TEXT NOT NULL, batch TEXT,
  proposed_ms INTEGER NOT NULL, extra TEXT NOT NULL, seq INTEGER NOT NULL);
CREATE INDEX IF NOT EXISTS proposals_pending ON proposals(seq) WHERE status = 'pending';
CREATE INDEX IF NOT EXISTS proposals_starts ON proposals(instance) WHERE kind = 'start';
CREATE UNIQUE INDEX IF NOT EXISTS proposals_by_pin ON proposals(pin) WHERE pin IS NOT NULL;
CREATE TABLE IF NOT EXISTS idempotency (key TEXT PRIMARY KEY, proposal TEXT NOT NULL, request TEXT NOT NULL,
  created_ms INTEGER NOT NULL DEFAULT 0) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS batches (id TEXT PRIMARY KEY, author TEXT NOT NULL, pins TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS expected_pins (pin TEXT PRIMARY KEY, instance TEXT NOT NULL, author TEXT NOT NULL,
  nonce INTEGER NOT NULL) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS queued_pins (instance TEXT NOT NULL, height INTEGER NOT NULL, idx INTEGER NOT NULL,
  pin TEXT NOT NULL, time_ms INTEGER NOT NULL, since_ms INTEGER NOT NULL, noted INTEGER NOT NULL DEFAULT 0,
  author TEXT NOT NULL, PRIMARY KEY (instance, height, idx)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS unmatched_pins (pin TEXT PRIMARY KEY, height INTEGER NOT NULL, idx INTEGER NOT NULL,
  time_ms INTEGER NOT NULL) WITHOUT ROWID;
-- Appended, never looked up by key: the node keeps them in memory
-- (engine/store/claim_index.h), as a b-tree by hash would put each on a
-- random page.
CREATE TABLE IF NOT EXISTS claims (seq INTEGER PRIMARY KEY, claim BLOB NOT NULL, instance TEXT NOT NULL,
  field TEXT NOT NULL, height INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS commitments (instance TEXT NOT NULL, field TEXT NOT NULL, commitment TEXT NOT NULL,
  content TEXT NOT NULL, PRIMARY KEY (instance, field)) WITHOUT ROWID;
-- A rowid table: bodies are large, which WITHOUT ROWID stores badly.
CREATE TABLE IF NOT EXISTS envelopes (pin TEXT PRIMARY KEY, proposal TEXT NOT NULL, body TEXT NOT NULL,
  set_id INTEGER);
CREATE TABLE IF NOT EXISTS proposal_sets (id INTEGER PRIMARY KEY, author TEXT NOT NULL, body TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS attestation_sets (id INTEGER PRIMARY KEY, party TEXT NOT NULL, body TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS attestations (instance TEXT NOT NULL, seq INTEGER NOT NULL, party TEXT NOT NULL,
  outcome TEXT NOT NULL, reject_code TEXT NOT NULL, reason TEXT NOT NULL, state_hash TEXT NOT NULL,
  signature TEXT NOT NULL, PRIMARY KEY (instance, seq, party)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS outbox (id TEXT PRIMARY KEY, peer TEXT NOT NULL, kind TEXT NOT NULL, body TEXT NOT NULL,
  attempts INTEGER NOT NULL, next_ms INTEGER NOT NULL, created_ms INTEGER NOT NULL, seq INTEGER NOT NULL);
CREATE INDEX IF NOT EXISTS outbox_by_due ON outbox(next_ms, seq);
CREATE TABLE IF NOT EXISTS subscriptions (name TEXT PRIMARY KEY, acked INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS blocks (height INTEGER PRIMARY KEY, time_ms INTEGER NOT NULL, prev_hash TEXT NOT NULL,
  hash TEXT NOT NULL, body TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS ledger_cursor (id INTEGER PRIMARY KEY CHECK (id = 1), height INTEGER NOT NULL,
  hash TEXT NOT NULL);
-- Human tasks (schema 4). Ids are "<instance>:<position>:<step>", so the
-- tasks of instances started together sit on the same pages. `state` is
-- open, completed or cancelled (claimed = open with an assignee), so a
-- claim moves no index entry but the assignee's; the inbox indexes hold
-- only open tasks. A task without a due date stores the largest integer,
-- which sorts it last (engine/store/tasks.cc).
CREATE TABLE IF NOT EXISTS tasks (
  no INTEGER PRIMARY KEY, id TEXT NOT NULL UNIQUE, instance TEXT NOT NULL, definition TEXT NOT NULL,
  version INTEGER NOT NULL, step TEXT NOT NULL, queue TEXT NOT NULL, state TEXT NOT NULL,
  assignee TEXT NOT NULL DEFAULT '', priority INTEGER NOT NULL, position INTEGER NOT NULL,
  created_ms INTEGER NOT NULL, created_height INTEGER NOT NULL, due_ms INTEGER NOT NULL, follow_up_ms INTEGER,
  overdue INTEGER NOT NULL DEFAULT 0, attempts INTEGER NOT NULL DEFAULT 0, candidate_groups TEXT NOT NULL,
  candidate_users TEXT NOT NULL, closed_ms INTEGER, closed_height INTEGER, close_reason TEXT, closed_by TEXT,
  updated_ms INTEGER NOT NULL);
CREATE INDEX IF NOT EXISTS tasks_open_by_instance ON tasks(instance) WHERE state = 'open';
-- A queue's open tasks in creation order are the inbox, served from memory
-- (engine/open_tasks.h): no index of their own. Only tasks with a due date
-- wait to fall overdue.
DROP INDEX IF EXISTS tasks_open_by_queue;
DROP INDEX IF EXISTS tasks_open_not_overdue;
CREATE INDEX IF NOT EXISTS tasks_open_by_queue_due ON tasks(queue, due_ms) WHERE state = 'open';
CREATE INDEX IF NOT EXISTS tasks_open_by_queue_priority ON tasks(queue, priority) WHERE state = 'open';
CREATE INDEX IF NOT EXISTS tasks_falling_due ON tasks(due_ms) WHERE state = 'open' AND overdue = 0
  AND due_ms != 9223372036854775807;
CREATE INDEX IF NOT EXISTS tasks_by_assignee ON tasks(assignee) WHERE assignee != '';
CREATE INDEX IF NOT EXISTS tasks_closed ON tasks(state) WHERE state != 'open';
-- Who may work a task, one row per candidate group (kind 0) or user (1).
CREATE TABLE IF NOT EXISTS task_candidates (kind INTEGER NOT NULL, name TEXT NOT NULL, task_no INTEGER NOT NULL,
  PRIMARY KEY (kind, name, task_no)) WITHOUT ROWID;
-- Jobs (schema 5): steps done by machines (engine/job_book.h). Ids as
-- tasks'. The open ones are kept in memory (the activation path reads no
-- index); these indexes serve the applier (an instance's open jobs), the
-- searches and the incident list.
CREATE TABLE IF NOT EXISTS jobs (
  no INTEGER PRIMARY KEY, id TEXT NOT NULL UNIQUE, type TEXT NOT NULL, instance TEXT NOT NULL,
  definition TEXT NOT NULL, version INTEGER NOT NULL, step TEXT NOT NULL, position INTEGER NOT NULL,
  state TEXT NOT NULL, retries INTEGER NOT NULL, failures INTEGER NOT NULL DEFAULT 0, worker TEXT NOT NULL DEFAULT '',
  deadline_ms INTEGER NOT NULL DEFAULT 0, retry_at_ms INTEGER NOT NULL DEFAULT 0, error_message TEXT NOT NULL DEFAULT '',
  error_code TEXT NOT NULL DEFAULT '', incidents INTEGER NOT NULL DEFAULT 0, incident_kind TEXT NOT NULL DEFAULT '',
  incident_message TEXT NOT NULL DEFAULT '', incident_ms INTEGER NOT NULL DEFAULT 0,
  attempts INTEGER NOT NULL DEFAULT 0, created_ms INTEGER NOT NULL, created_height INTEGER NOT NULL,
  closed_ms INTEGER, closed_height INTEGER, close_reason TEXT, closed_by TEXT, opened_ms INTEGER NOT NULL,
  updated_ms INTEGER NOT NULL);
CREATE INDEX IF NOT EXISTS jobs_open_by_instance ON jobs(instance)
  WHERE state IN ('activatable', 'activated', 'failed', 'incident');
CREATE INDEX IF NOT EXISTS jobs_by_type ON jobs(type, no);
CREATE INDEX IF NOT EXISTS jobs_incidents ON jobs(no) WHERE state = 'incident';
)SQL";

}  // namespace

NodeStore::~NodeStore() { Close(); }

void NodeStore::Close() { checkpointer_.Stop(); }

void NodeStore::SetFaults(DbFaults* faults) {
  std::lock_guard<std::mutex> lock(mu_);
  db_.SetFaults(faults);
}

Status NodeStore::Open(const std::string& path, const std::string& party, bool full_sync, Env* env) {
  std::lock_guard<std::mutex> lock(mu_);
  path_ = path;
  env_ = env;
  full_sync_ = full_sync;
  TREATY_RETURN_IF_ERROR(db_.Open(path, full_sync, /*background_checkpoint=*/true, /*caller_locks=*/true));
  TREATY_RETURN_IF_ERROR(db_.Exec("CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)"));
  // The version is checked before anything is created: a folder of another
  // version is refused unchanged.
  std::string version, stored_party;
  {
    Stmt get = db_.Prepare("SELECT key, value FROM meta");
    while (get.Step()) {
      if (get.Text(0) == "schema_version") version = get.Text(1);
      if (get.Text(0) == "party") stored_party = get.Text(1);
    }
    TREATY_RETURN_IF_ERROR(get.status());
  }
  // Schemas 3 and 4 differ from 5 only by the task (4) and job (5)
  // tables, which kSchema adds.
  migrated_from_ = 0;
  if (version == "3" || version == "4") migrated_from_ = std::stoi(version);
  if (!version.empty() && version != std::to_string(kSchemaVersion) && migrated_from_ == 0)
    return Status::FailedPrecondition(path + " was written by an incompatible version (schema " + version +
                                      ", this treatyd uses " + std::to_string(kSchemaVersion) + ")");
  if (!version.empty() && stored_party != party)
    return Status::FailedPrecondition(path + " belongs to party '" + stored_party + "', not '" + party + "'");
  // One transaction: a folder is upgraded whole, or not at all.
  TREATY_RETURN_IF_ERROR(db_.Exec("BEGIN IMMEDIATE"));
  Status made = [&]() -> Status {
    TREATY_RETURN_IF_ERROR(db_.Exec(kSchema));
    TREATY_RETURN_IF_ERROR(DateIdempotencyKeys());
    if (version.empty()) {
      Stmt put = db_.Prepare("INSERT INTO meta (key, value) VALUES ('schema_version', ?), ('party', ?)");
      put.Bind(1, std::to_string(kSchemaVersion)).Bind(2, party);
      TREATY_RETURN_IF_ERROR(put.Run());
    }
    if (migrated_from_ != 0) {
      // The tasks its waiting instances call for are opened by the node's
      // first start (TaskBook::OpenMissing), which clears this mark.
      Stmt put = db_.Prepare("UPDATE meta SET value = ? WHERE key = 'schema_version'");
      put.Bind(1, std::to_string(kSchemaVersion));
      TREATY_RETURN_IF_ERROR(put.Run());
      if (migrated_from_ < 4) {
        Stmt mark = db_.Prepare("INSERT OR REPLACE INTO meta (key, value) VALUES ('tasks_backfill', 'pending')");
        TREATY_RETURN_IF_ERROR(mark.Run());
      }
      // The jobs its waiting instances call for: JobBook::OpenMissing.
      Stmt jobs = db_.Prepare("INSERT OR REPLACE INTO meta (key, value) VALUES ('jobs_backfill', 'pending')");
      TREATY_RETURN_IF_ERROR(jobs.Run());
    }
    return Status::Ok();
  }();
  if (!made.ok()) {
    (void)db_.Exec("ROLLBACK");
    return made;
  }
  TREATY_RETURN_IF_ERROR(db_.Exec("COMMIT"));
  {
    // Every claim won so far, into memory.
    Stmt all = db_.Prepare("SELECT claim, instance, height FROM claims ORDER BY seq");
    while (all.Step()) {
      std::string raw = all.Blob(0);
      Digest claim{};
      if (raw.size() != claim.size()) return store::Damaged("claims", "a claim is not 32 bytes");
      std::memcpy(claim.data(), raw.data(), claim.size());
      claims_.Add(claim, ClaimOwnerRow{all.Text(1), all.Int(2)});
    }
    TREATY_RETURN_IF_ERROR(all.status());
  }
  for (int i = 0; i < kReaders; ++i) {
    auto reader = std::make_unique<Db>();
    TREATY_RETURN_IF_ERROR(reader->Open(path, full_sync, /*background_checkpoint=*/false, /*caller_locks=*/true));
    std::lock_guard<std::mutex> rlock(readers_mu_);
    free_readers_.push_back(reader.get());
    readers_.push_back(std::move(reader));
  }
  return checkpointer_.Start(path, kCheckpointEvery);
}

// Idempotency keys are dated for pruning (docs/limits.md). A folder whose
// keys predate that gets the column, its keys dated now: they are kept for
// the whole age limit from this start on.
Status NodeStore::DateIdempotencyKeys() {
  bool dated = false;
  {
    Stmt cols = db_.Prepare("SELECT name FROM pragma_table_info('idempotency')");
    while (cols.Step()) dated = dated || cols.Text(0) == "created_ms";
    TREATY_RETURN_IF_ERROR(cols.status());
  }
  if (!dated) {
    TREATY_RETURN_IF_ERROR(db_.Exec("ALTER TABLE idempotency ADD COLUMN created_ms INTEGER NOT NULL DEFAULT 0"));
    Stmt now = db_.Prepare("UPDATE idempotency SET created_ms = ?");
    now.Bind(1, env_->NowMs());
    TREATY_RETURN_IF_ERROR(now.Run());
  }
  return db_.Exec("CREATE INDEX IF NOT EXISTS idempotency_by_age ON idempotency(created_ms)");
}

NodeStore::ReaderLease NodeStore::LeaseReader() {
  std::unique_lock<std::mutex> lock(readers_mu_);
  reader_free_.wait(lock, [&] { return !free_readers_.empty(); });
  Db* db = free_readers_.back();
  free_readers_.pop_back();
  return ReaderLease(this, db);
}

void NodeStore::ReturnReader(Db* db) {
  {
    std::lock_guard<std::mutex> lock(readers_mu_);
    free_readers_.push_back(db);
  }
  reader_free_.notify_one();
}

Result<std::unique_ptr<WriteTxn>> NodeStore::Begin(const char* kind, Durability d) {
  std::unique_ptr<WriteTxn> t(new WriteTxn(this, kind, d == Durability::kRelaxed));
  t->lock_ = std::unique_lock<std::mutex>(mu_);
  Status st = t->relaxed_ ? db_.BeginRelaxed() : db_.Begin();
  if (!st.ok()) return Status(st.code(), std::string(kind) + " transaction: " + st.message());
  t->open_ = true;
  return t;
}

WriteTxn::~WriteTxn() {
  if (!open_) return;
  if (relaxed_) db().RollbackRelaxed();
  else db().Rollback();
  for (TxnObserver* o : store_->observers_) o->Abandoned();
}

Status WriteTxn::Commit(uint64_t* generation) {
  if (!open_) return Status::Internal(std::string(kind_) + " transaction committed twice");
  open_ = false;
  Status st = relaxed_ ? db().CommitRelaxed(kind_) : db().Commit(kind_);
  if (!st.ok()) {
    db().Rollback();  // a COMMIT that failed may leave the transaction open
    for (TxnObserver* o : store_->observers_) o->Abandoned();
    return Status(st.code(), std::string(kind_) + " transaction: " + st.message());
  }
  for (auto& [claim, owner] : new_claims_) store_->claims_.Add(claim, std::move(owner));
  new_claims_.clear();
  uint64_t gen = ++store_->commit_gen_;
  store_->commits_.fetch_add(1, std::memory_order_relaxed);
  if (!relaxed_) store_->durable_gen_ = gen;
  if (generation != nullptr) *generation = gen;
  for (TxnObserver* o : store_->observers_) o->Committed();
  return Status::Ok();
}

Status NodeStore::MakeDurable() {
  TREATY_ASSIGN_OR_RETURN(auto t, Begin("durable"));
  if (durable_gen_.load() >= commit_gen_) return t->Commit();
  // A write is needed for the commit to reach the disk; this one is tiny.
  Stmt s = db_.Prepare("INSERT OR REPLACE INTO meta (key, value) VALUES ('durable_generation', ?)");
  s.Bind(1, std::to_string(commit_gen_ + 1));
  TREATY_RETURN_IF_ERROR(s.Run());
  return t->Commit();
}

Status NodeStore::Ack(const std::string& subscription, int64_t offset) {
  TREATY_ASSIGN_OR_RETURN(auto t, Begin("ack"));
  Stmt s = db_.Prepare(
      "INSERT INTO subscriptions (name, acked) VALUES (?, ?) ON CONFLICT(name) DO UPDATE SET acked = "
      "MAX(acked, excluded.acked)");
  s.Bind(1, subscription).Bind(2, offset);
  TREATY_RETURN_IF_ERROR(s.Run());
  return t->Commit();
}

Result<int64_t> NodeStore::Acked(const std::string& subscription) {
  ReaderLease lease = LeaseReader();
  Db& read_db = lease.db();
  Stmt s = read_db.Prepare("SELECT acked FROM subscriptions WHERE name = ?");
  s.Bind(1, subscription);
  if (s.Step()) return s.Int(0);
  TREATY_RETURN_IF_ERROR(s.status());
  return int64_t{0};
}

Result<int64_t> NodeStore::Cursor() {
  ReaderLease lease = LeaseReader();
  Db& read_db = lease.db();
  Stmt s = read_db.Prepare("SELECT height FROM ledger_cursor WHERE id = 1");
  if (s.Step()) return s.Int(0);
  TREATY_RETURN_IF_ERROR(s.status());
  return int64_t{0};
}

Result<std::optional<std::pair<int64_t, Digest>>> NodeStore::LedgerTip() {
  ReaderLease lease = LeaseReader();
  Db& read_db = lease.db();
  Stmt s = read_db.Prepare("SELECT height, hash FROM ledger_cursor WHERE id = 1");
  TREATY_ASSIGN_OR_RETURN(bool found, store::HasRow(s));
  if (!found) return std::optional<std::pair<int64_t, Digest>>();
  Digest hash{};
  if (!DigestFromHex(s.Text(1), &hash)) return store::Damaged("ledger_cursor", "the block hash is not hex");
  return std::optional<std::pair<int64_t, Digest>>(std::make_pair(s.Int(0), hash));
}

Status WriteTxn::SetCursor(int64_t height, const Digest& block_hash) {
  Stmt s = db().Prepare("INSERT OR REPLACE INTO ledger_cursor (id, height, hash) VALUES (1, ?, ?)");
  s.Bind(1, height).Bind(2, ToHex(block_hash));
  return s.Run();
}

Status StoreBlockLog::Append(const chain::Block& b) {
  TREATY_ASSIGN_OR_RETURN(auto txn, store_->Begin("block"));
  TREATY_RETURN_IF_ERROR(txn->AppendBlock(b));
  return txn->Commit();
}

Status WriteTxn::AppendBlock(const chain::Block& b) {
  Stmt s = db().Prepare("INSERT INTO blocks (height, time_ms, prev_hash, hash, body) VALUES (?, ?, ?, ?, ?)");
  s.Bind(1, static_cast<int64_t>(b.height)).Bind(2, b.time_ms).Bind(3, ToHex(b.prev_hash)).Bind(4, ToHex(b.hash));
  s.Bind(5, chain::BatchesToJson(b.batches).dump());
  return s.Run();
}

namespace {

Result<chain::Block> ReadBlock(Stmt& s) {
  chain::Block b;
  b.height = static_cast<uint64_t>(s.Int(0));
  b.time_ms = s.Int(1);
  if (!DigestFromHex(s.Text(2), &b.prev_hash) || !DigestFromHex(s.Text(3), &b.hash))
    return store::Damaged("blocks", "a hash of block " + std::to_string(b.height) + " is not hex");
  auto body = nlohmann::json::parse(s.Text(4), nullptr, false);
  Status st = chain::BatchesFromJson(body, &b.batches);
  if (!st.ok()) return store::Damaged("blocks", "block " + std::to_string(b.height) + ": " + st.message());
  return b;
}

}  // namespace

Result<std::vector<chain::Block>> NodeStore::ReadBlocks(uint64_t from, size_t max) {
  ReaderLease lease = LeaseReader();
  Db& read_db = lease.db();
  Stmt s = read_db.Prepare(
      "SELECT height, time_ms, prev_hash, hash, body FROM blocks WHERE height >= ? ORDER BY height LIMIT ?");
  s.Bind(1, static_cast<int64_t>(from)).Bind(2, static_cast<int64_t>(max));
  std::vector<chain::Block> out;
  while (s.Step()) {
    TREATY_ASSIGN_OR_RETURN(chain::Block b, ReadBlock(s));
    out.push_back(std::move(b));
  }
  TREATY_RETURN_IF_ERROR(s.status());
  return out;
}

Result<std::optional<chain::Block>> NodeStore::LastBlock() {
  ReaderLease lease = LeaseReader();
  Db& read_db = lease.db();
  Stmt s = read_db.Prepare("SELECT height, time_ms, prev_hash, hash, body FROM blocks ORDER BY height DESC LIMIT 1");
  TREATY_ASSIGN_OR_RETURN(bool found, store::HasRow(s));
  if (!found) return std::optional<chain::Block>();
  TREATY_ASSIGN_OR_RETURN(chain::Block b, ReadBlock(s));
  return std::optional<chain::Block>(std::move(b));
}

}  // namespace treaty::engine
