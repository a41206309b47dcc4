#include "engine/node_store.h"

namespace treaty::engine {

using treaty::Stmt;

// The background checkpoint's period. Every 50 ms, three nodes on one
// machine ran 60 checkpoints a second, each copying pages that the next
// block rewrites again and syncing the file; every 200 ms cost the
// three-party network 3-13 % less CPU per step in three paired runs. The
// log stays under the writers' own 8,192-frame checkpoint at the single
// node's saturation (~10 frames per step x ~3,300 steps/s x 0.2 s).
constexpr std::chrono::milliseconds kCheckpointEvery{200};

Status NodeStore::Open(const std::string& path, const std::string& party, bool full_sync) {
  std::lock_guard<std::mutex> lock(mu_);
  TREATY_RETURN_IF_ERROR(db_.Open(path, full_sync, /*background_checkpoint=*/true));
  TREATY_RETURN_IF_ERROR(checkpointer_.Start(path, kCheckpointEvery));
  // The version is checked before anything is created: a folder of another
  // version is refused unchanged.
  TREATY_RETURN_IF_ERROR(db_.Exec("CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)"));
  std::string version, stored_party;
  {
    Stmt get = db_.Prepare("SELECT key, value FROM meta");
    while (get.Step()) {
      if (get.Text(0) == "schema_version") version = get.Text(1);
      if (get.Text(0) == "party") stored_party = get.Text(1);
    }
    TREATY_RETURN_IF_ERROR(get.status());
  }
  if (!version.empty() && version != std::to_string(kSchemaVersion))
    return Status::FailedPrecondition(path + " was written by an incompatible version (schema " + version +
                                      ", this treatyd uses " + std::to_string(kSchemaVersion) + ")");
  TREATY_RETURN_IF_ERROR(db_.Exec(R"SQL(
CREATE TABLE IF NOT EXISTS instances (
  id TEXT PRIMARY KEY, definition TEXT NOT NULL, version INTEGER NOT NULL, def_hash TEXT NOT NULL,
  salt TEXT NOT NULL, roles TEXT NOT NULL, snapshot TEXT NOT NULL, states TEXT NOT NULL, data TEXT NOT NULL,
  final INTEGER NOT NULL, position INTEGER NOT NULL, height INTEGER NOT NULL, state_hash TEXT NOT NULL,
  created_ms INTEGER NOT NULL, updated_ms INTEGER NOT NULL);
CREATE INDEX IF NOT EXISTS instances_by_definition ON instances(definition, created_ms);
CREATE INDEX IF NOT EXISTS instances_by_created ON instances(created_ms, id);
CREATE INDEX IF NOT EXISTS instances_by_updated ON instances(updated_ms, id);
CREATE TABLE IF NOT EXISTS proposals (
  id TEXT PRIMARY KEY, kind TEXT NOT NULL, instance TEXT NOT NULL, step TEXT NOT NULL, input TEXT NOT NULL,
  author TEXT NOT NULL, nonce INTEGER NOT NULL, pin TEXT, status TEXT NOT NULL, batch TEXT,
  reject_code TEXT NOT NULL, reason TEXT NOT NULL, height INTEGER NOT NULL, proposed_ms INTEGER NOT NULL,
  applied_ms INTEGER NOT NULL, extra TEXT NOT NULL, seq INTEGER NOT NULL);
CREATE INDEX IF NOT EXISTS proposals_by_status ON proposals(status, seq);
CREATE INDEX IF NOT EXISTS proposals_by_seq ON proposals(seq);
-- Only starts are looked up by instance: steps stay out of this index.
CREATE INDEX IF NOT EXISTS proposals_starts ON proposals(instance) WHERE kind = 'start';
CREATE UNIQUE INDEX IF NOT EXISTS proposals_by_pin ON proposals(pin) WHERE pin IS NOT NULL;
-- Tables looked up by a random key are WITHOUT ROWID: one b-tree, so one
-- page written per change instead of two (docs/performance.md).
CREATE TABLE IF NOT EXISTS nonces (instance TEXT NOT NULL, author TEXT NOT NULL, next INTEGER NOT NULL,
  PRIMARY KEY (instance, author)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS expected_pins (pin TEXT PRIMARY KEY, instance TEXT NOT NULL, author TEXT NOT NULL,
  nonce INTEGER NOT NULL) WITHOUT ROWID;
-- Sealed batches that no applied block held yet (resubmitted after a
-- restart); `submitted` is no longer read.
CREATE TABLE IF NOT EXISTS batches (id TEXT PRIMARY KEY, pins TEXT NOT NULL, submitted INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS history (
  instance TEXT NOT NULL, seq INTEGER NOT NULL, proposal TEXT NOT NULL, step TEXT NOT NULL, proposer TEXT NOT NULL,
  input TEXT NOT NULL, outcome TEXT NOT NULL, reject_code TEXT NOT NULL, reason TEXT NOT NULL,
  height INTEGER NOT NULL, proposed_ms INTEGER NOT NULL, applied_ms INTEGER NOT NULL, states TEXT NOT NULL,
  state_hash TEXT NOT NULL, PRIMARY KEY (instance, seq));
CREATE TABLE IF NOT EXISTS events (
  "offset" INTEGER PRIMARY KEY AUTOINCREMENT, type TEXT NOT NULL, instance TEXT NOT NULL, definition TEXT NOT NULL,
  step TEXT NOT NULL, payload TEXT NOT NULL, time_ms INTEGER NOT NULL, height INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS subscriptions (name TEXT PRIMARY KEY, acked INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS idempotency (key TEXT PRIMARY KEY, proposal TEXT NOT NULL, request TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS cursor (id INTEGER PRIMARY KEY CHECK (id = 1), height INTEGER NOT NULL);
INSERT OR IGNORE INTO cursor (id, height) VALUES (1, 0);
-- Multi-party (docs/protocol.md): recognised pins waiting for their data or
-- behind a blocked pin of the same instance, in ledger order; pins nobody
-- here recognises yet (a start proposal may still arrive); the outbox; the
-- attestations of every member; salted commitments of restricted data.
-- The hash of the last applied block: a ledger client checks that the
-- next block it serves links to it, also across restarts.
CREATE TABLE IF NOT EXISTS ledger_tip (id INTEGER PRIMARY KEY CHECK (id = 1), height INTEGER NOT NULL,
  hash TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS queued_pins (instance TEXT NOT NULL, height INTEGER NOT NULL, idx INTEGER NOT NULL,
  pin TEXT NOT NULL, time_ms INTEGER NOT NULL, since_ms INTEGER NOT NULL, noted INTEGER NOT NULL DEFAULT 0,
  author TEXT NOT NULL DEFAULT '', PRIMARY KEY (instance, height, idx));
CREATE TABLE IF NOT EXISTS unmatched_pins (pin TEXT PRIMARY KEY, height INTEGER NOT NULL, idx INTEGER NOT NULL,
  time_ms INTEGER NOT NULL) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS outbox (id TEXT PRIMARY KEY, peer TEXT NOT NULL, kind TEXT NOT NULL, body TEXT NOT NULL,
  attempts INTEGER NOT NULL, next_ms INTEGER NOT NULL, created_ms INTEGER NOT NULL, seq INTEGER NOT NULL);
CREATE INDEX IF NOT EXISTS outbox_by_due ON outbox(next_ms, seq);
CREATE TABLE IF NOT EXISTS attestations (instance TEXT NOT NULL, seq INTEGER NOT NULL, party TEXT NOT NULL,
  outcome TEXT NOT NULL, state_hash TEXT NOT NULL, signature TEXT NOT NULL, reject_code TEXT NOT NULL DEFAULT '',
  reason TEXT NOT NULL DEFAULT '', PRIMARY KEY (instance, seq, party)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS envelopes (proposal TEXT PRIMARY KEY, body TEXT NOT NULL, set_id INTEGER);
-- A received message's proposal set (one signature over its proposals),
-- kept for the envelopes it covers (envelopes.set_id).
CREATE TABLE IF NOT EXISTS proposal_sets (id INTEGER PRIMARY KEY, author TEXT NOT NULL, body TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS attestation_sets (id INTEGER PRIMARY KEY AUTOINCREMENT, party TEXT NOT NULL,
  body TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS claims (claim TEXT PRIMARY KEY, instance TEXT NOT NULL, field TEXT NOT NULL,
  height INTEGER NOT NULL) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS commitments (instance TEXT NOT NULL, field TEXT NOT NULL, commitment TEXT NOT NULL,
  content TEXT NOT NULL,
  PRIMARY KEY (instance, field)) WITHOUT ROWID;
)SQL"));
  {
    // Folders of schema 2 written before proposal sets, or before
    // attestations covered the whole outcome: the columns are added.
    auto has_column = [&](const char* table, const std::string& column) -> Result<bool> {
      Stmt cols = db_.Prepare((std::string("SELECT name FROM pragma_table_info('") + table + "')").c_str());
      bool found = false;
      while (cols.Step()) found = found || cols.Text(0) == column;
      TREATY_RETURN_IF_ERROR(cols.status());
      return found;
    };
    TREATY_ASSIGN_OR_RETURN(bool has_set_id, has_column("envelopes", "set_id"));
    if (!has_set_id) TREATY_RETURN_IF_ERROR(db_.Exec("ALTER TABLE envelopes ADD COLUMN set_id INTEGER"));
    TREATY_ASSIGN_OR_RETURN(bool has_reason, has_column("attestations", "reason"));
    if (!has_reason)
      TREATY_RETURN_IF_ERROR(db_.Exec(
          "ALTER TABLE attestations ADD COLUMN reject_code TEXT NOT NULL DEFAULT '';"
          "ALTER TABLE attestations ADD COLUMN reason TEXT NOT NULL DEFAULT ''"));
  }
  {
    std::lock_guard<std::mutex> rlock(read_mu_);
    TREATY_RETURN_IF_ERROR(read_db_.Open(path, full_sync));
  }
  if (version.empty()) {
    Stmt put = db_.Prepare("INSERT INTO meta (key, value) VALUES ('schema_version', ?), ('party', ?)");
    put.Bind(1, std::to_string(kSchemaVersion)).Bind(2, party);
    return put.Run();
  }
  if (stored_party != party)
    return Status::FailedPrecondition(path + " belongs to party '" + stored_party + "', not '" + party + "'");
  return Status::Ok();
}

InstanceRow NodeStore::ReadInstance(Stmt& s) {
  InstanceRow r;
  r.id = s.Text(0);
  r.definition = s.Text(1);
  r.version = s.Int(2);
  r.def_hash = s.Text(3);
  r.salt_hex = s.Text(4);
  r.roles_json = s.Text(5);
  r.snapshot_json = s.Text(6);
  r.states_json = s.Text(7);
  r.data_json = s.Text(8);
  r.final = s.Int(9) != 0;
  r.position = s.Int(10);
  r.height = s.Int(11);
  r.state_hash = s.Text(12);
  r.created_ms = s.Int(13);
  r.updated_ms = s.Int(14);
  return r;
}

static const char* kInstanceCols =
    "id, definition, version, def_hash, salt, roles, snapshot, states, data, final, position, height, state_hash, "
    "created_ms, updated_ms";

namespace {

std::optional<InstanceRow> QueryInstance(treaty::Db& db, const std::string& id) {
  std::string sql = std::string("SELECT ") + kInstanceCols + " FROM instances WHERE id = ?";
  Stmt s = db.Prepare(sql.c_str());
  s.Bind(1, id);
  if (!s.Step()) return std::nullopt;
  return NodeStore::ReadInstance(s);
}

}  // namespace

std::optional<InstanceRow> NodeStore::GetInstanceLocked(const std::string& id) { return QueryInstance(db_, id); }

std::optional<InstanceRow> NodeStore::GetInstance(const std::string& id) {
  std::lock_guard<std::mutex> lock(read_mu_);
  return QueryInstance(read_db_, id);
}

Status NodeStore::InsertInstance(const InstanceRow& r) {
  std::string sql = std::string("INSERT INTO instances (") + kInstanceCols +
                    ") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)";
  Stmt s = db_.Prepare(sql.c_str());
  s.Bind(1, r.id).Bind(2, r.definition).Bind(3, r.version).Bind(4, r.def_hash).Bind(5, r.salt_hex);
  s.Bind(6, r.roles_json).Bind(7, r.snapshot_json).Bind(8, r.states_json).Bind(9, r.data_json);
  s.Bind(10, static_cast<int64_t>(r.final)).Bind(11, r.position).Bind(12, r.height).Bind(13, r.state_hash);
  s.Bind(14, r.created_ms).Bind(15, r.updated_ms);
  return s.Run();
}

Status NodeStore::UpdateInstance(const InstanceRow& r) {
  Stmt s = db_.Prepare(
      "UPDATE instances SET snapshot = ?2, states = ?3, data = ?4, final = ?5, position = ?6, height = ?7, "
      "state_hash = ?8, updated_ms = ?9 WHERE id = ?1");
  s.Bind(1, r.id).Bind(2, r.snapshot_json).Bind(3, r.states_json).Bind(4, r.data_json);
  s.Bind(5, static_cast<int64_t>(r.final)).Bind(6, r.position).Bind(7, r.height).Bind(8, r.state_hash);
  s.Bind(9, r.updated_ms);
  TREATY_RETURN_IF_ERROR(s.Run());
  return db_.Changes() == 1 ? Status::Ok() : Status::Internal("instance " + r.id + " to update is missing");
}

static const char* kProposalCols =
    "id, kind, instance, step, input, author, nonce, pin, status, batch, reject_code, reason, height, proposed_ms, "
    "applied_ms, extra";

ProposalRow NodeStore::ReadProposal(Stmt& s) {
  ProposalRow r;
  r.id = s.Text(0);
  r.kind = s.Text(1);
  r.instance = s.Text(2);
  r.step = s.Text(3);
  r.input_json = s.Text(4);
  r.author = s.Text(5);
  r.nonce = s.Int(6);
  r.pin_hex = s.Text(7);
  r.status = s.Text(8);
  r.batch = s.Text(9);
  r.reject_code = s.Text(10);
  r.reason = s.Text(11);
  r.height = s.Int(12);
  r.proposed_ms = s.Int(13);
  r.applied_ms = s.Int(14);
  r.extra_json = s.Text(15);
  return r;
}

namespace {

std::optional<ProposalRow> QueryProposal(treaty::Db& db, const std::string& id) {
  std::string sql = std::string("SELECT ") + kProposalCols + " FROM proposals WHERE id = ?";
  Stmt s = db.Prepare(sql.c_str());
  s.Bind(1, id);
  if (!s.Step()) return std::nullopt;
  return NodeStore::ReadProposal(s);
}

}  // namespace

std::optional<ProposalRow> NodeStore::GetProposalLocked(const std::string& id) { return QueryProposal(db_, id); }

std::optional<ProposalRow> NodeStore::GetProposalByPinLocked(const std::string& pin_hex) {
  std::string sql = std::string("SELECT ") + kProposalCols + " FROM proposals WHERE pin = ?";
  Stmt s = db_.Prepare(sql.c_str());
  s.Bind(1, pin_hex);
  if (!s.Step()) return std::nullopt;
  return ReadProposal(s);
}

Result<std::vector<ProposalRow>> NodeStore::PendingProposalsLocked(size_t max) {
  std::string sql =
      std::string("SELECT ") + kProposalCols + " FROM proposals WHERE status = 'pending' ORDER BY seq LIMIT ?";
  Stmt s = db_.Prepare(sql.c_str());
  s.Bind(1, static_cast<int64_t>(max));
  std::vector<ProposalRow> out;
  while (s.Step()) out.push_back(ReadProposal(s));
  TREATY_RETURN_IF_ERROR(s.status());
  return out;
}

std::optional<ProposalRow> NodeStore::GetProposal(const std::string& id) {
  std::lock_guard<std::mutex> lock(read_mu_);
  return QueryProposal(read_db_, id);
}

Status NodeStore::InsertProposal(const ProposalRow& r) {
  std::string sql = std::string("INSERT INTO proposals (") + kProposalCols +
                    ", seq) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, "
                    "(SELECT IFNULL(MAX(seq), 0) + 1 FROM proposals))";
  Stmt s = db_.Prepare(sql.c_str());
  s.Bind(1, r.id).Bind(2, r.kind).Bind(3, r.instance).Bind(4, r.step).Bind(5, r.input_json).Bind(6, r.author);
  s.Bind(7, r.nonce);
  s.BindTextOrNull(8, r.pin_hex).Bind(9, r.status).BindTextOrNull(10, r.batch);
  s.Bind(11, r.reject_code).Bind(12, r.reason).Bind(13, r.height).Bind(14, r.proposed_ms).Bind(15, r.applied_ms);
  s.Bind(16, r.extra_json);
  return s.Run();
}

Status NodeStore::UpdateProposal(const ProposalRow& r) {
  Stmt s = db_.Prepare(
      "UPDATE proposals SET nonce = ?2, pin = ?3, status = ?4, batch = ?5, reject_code = ?6, reason = ?7, height = ?8, "
      "applied_ms = ?9, extra = ?10 WHERE id = ?1");
  s.Bind(1, r.id).Bind(2, r.nonce);
  s.BindTextOrNull(3, r.pin_hex).Bind(4, r.status).BindTextOrNull(5, r.batch);
  s.Bind(6, r.reject_code).Bind(7, r.reason).Bind(8, r.height).Bind(9, r.applied_ms).Bind(10, r.extra_json);
  TREATY_RETURN_IF_ERROR(s.Run());
  return db_.Changes() == 1 ? Status::Ok() : Status::Internal("proposal " + r.id + " to update is missing");
}

Status NodeStore::AppendEvent(const EventRow& e) {
  Stmt s = db_.Prepare(
      "INSERT INTO events (type, instance, definition, step, payload, time_ms, height) VALUES (?, ?, ?, ?, ?, ?, ?)");
  s.Bind(1, e.type).Bind(2, e.instance).Bind(3, e.definition).Bind(4, e.step).Bind(5, e.payload_json);
  s.Bind(6, e.time_ms).Bind(7, e.height);
  return s.Run();
}

Status NodeStore::AppendHistory(const std::string& instance, const HistoryRow& h, int64_t* seq) {
  Stmt s = db_.Prepare(
      "INSERT INTO history (instance, seq, proposal, step, proposer, input, outcome, reject_code, reason, height, "
      "proposed_ms, applied_ms, states, state_hash) VALUES (?, (SELECT IFNULL(MAX(seq), 0) + 1 FROM history WHERE "
      "instance = ?1), ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING seq");
  s.Bind(1, instance).Bind(2, h.proposal).Bind(3, h.step).Bind(4, h.proposer).Bind(5, h.input_json);
  s.Bind(6, h.outcome).Bind(7, h.reject_code).Bind(8, h.reason).Bind(9, h.height).Bind(10, h.proposed_ms);
  s.Bind(11, h.applied_ms).Bind(12, h.states_json).Bind(13, h.state_hash);
  if (!s.Step()) return s.status().ok() ? Status::Internal("history insert returned no row") : s.status();
  if (seq != nullptr) *seq = s.Int(0);
  s.Reset();
  return Status::Ok();
}

std::vector<HistoryRow> NodeStore::History(const std::string& instance) {
  std::lock_guard<std::mutex> lock(read_mu_);
  std::vector<HistoryRow> out;
  Stmt s = read_db_.Prepare(
      "SELECT seq, proposal, step, proposer, input, outcome, reject_code, reason, height, proposed_ms, applied_ms, "
      "states, state_hash FROM history WHERE instance = ? ORDER BY seq");
  s.Bind(1, instance);
  while (s.Step()) {
    HistoryRow h;
    h.seq = s.Int(0);
    h.proposal = s.Text(1);
    h.step = s.Text(2);
    h.proposer = s.Text(3);
    h.input_json = s.Text(4);
    h.outcome = s.Text(5);
    h.reject_code = s.Text(6);
    h.reason = s.Text(7);
    h.height = s.Int(8);
    h.proposed_ms = s.Int(9);
    h.applied_ms = s.Int(10);
    h.states_json = s.Text(11);
    h.state_hash = s.Text(12);
    out.push_back(std::move(h));
  }
  return out;
}

std::vector<EventRow> NodeStore::Events(int64_t after, size_t max) {
  std::lock_guard<std::mutex> lock(read_mu_);
  std::vector<EventRow> out;
  Stmt s = read_db_.Prepare(
      "SELECT \"offset\", type, instance, definition, step, payload, time_ms, height FROM events WHERE \"offset\" > ? "
      "ORDER BY \"offset\" LIMIT ?");
  s.Bind(1, after).Bind(2, static_cast<int64_t>(max));
  while (s.Step()) {
    EventRow e;
    e.offset = s.Int(0);
    e.type = s.Text(1);
    e.instance = s.Text(2);
    e.definition = s.Text(3);
    e.step = s.Text(4);
    e.payload_json = s.Text(5);
    e.time_ms = s.Int(6);
    e.height = s.Int(7);
    out.push_back(std::move(e));
  }
  return out;
}

int64_t NodeStore::LastEventOffset() {
  std::lock_guard<std::mutex> lock(read_mu_);
  Stmt s = read_db_.Prepare("SELECT IFNULL(MAX(\"offset\"), 0) FROM events");
  return s.Step() ? s.Int(0) : 0;
}

int64_t NodeStore::Cursor() {
  std::lock_guard<std::mutex> lock(read_mu_);
  Stmt s = read_db_.Prepare("SELECT height FROM cursor WHERE id = 1");
  return s.Step() ? s.Int(0) : 0;
}

Status NodeStore::SetCursor(int64_t height, const std::string& block_hash) {
  Stmt s = db_.Prepare("UPDATE cursor SET height = ? WHERE id = 1");
  s.Bind(1, height);
  TREATY_RETURN_IF_ERROR(s.Run());
  Stmt t = db_.Prepare("INSERT OR REPLACE INTO ledger_tip (id, height, hash) VALUES (1, ?, ?)");
  t.Bind(1, height).Bind(2, block_hash);
  return t.Run();
}

Result<int64_t> NodeStore::SpendNonce(const std::string& instance, const std::string& author) {
  Stmt n = db_.Prepare(
      "INSERT INTO nonces (instance, author, next) VALUES (?, ?, 1) ON CONFLICT(instance, author) DO UPDATE SET "
      "next = next + 1 RETURNING next");
  n.Bind(1, instance).Bind(2, author);
  if (!n.Step()) return n.status().ok() ? Status::Internal("nonce update returned no row") : n.status();
  int64_t next = n.Int(0);
  n.Reset();  // completes the upsert
  return next - 1;
}

Status NodeStore::ExpectPin(const std::string& pin_hex, const std::string& instance, const std::string& author,
                            int64_t nonce) {
  Stmt e = db_.Prepare("INSERT OR REPLACE INTO expected_pins (pin, instance, author, nonce) VALUES (?, ?, ?, ?)");
  e.Bind(1, pin_hex).Bind(2, instance).Bind(3, author).Bind(4, nonce);
  return e.Run();
}

Result<std::optional<ExpectedPin>> NodeStore::TakeExpectedPin(const std::string& pin_hex) {
  Stmt e = db_.Prepare("DELETE FROM expected_pins WHERE pin = ? RETURNING instance, author, nonce");
  e.Bind(1, pin_hex);
  if (!e.Step()) {
    TREATY_RETURN_IF_ERROR(e.status());
    return std::optional<ExpectedPin>();
  }
  ExpectedPin out{e.Text(0), e.Text(1), e.Int(2)};
  e.Reset();  // completes the delete
  return std::optional<ExpectedPin>(std::move(out));
}

Status NodeStore::InsertBatch(const std::string& id, const std::string& pins_json) {
  Stmt b = db_.Prepare("INSERT INTO batches (id, pins, submitted) VALUES (?, ?, 0)");
  b.Bind(1, id).Bind(2, pins_json);
  return b.Run();
}

Status NodeStore::ForgetBatch(const std::string& id) {
  Stmt f = db_.Prepare("DELETE FROM batches WHERE id = ?");
  f.Bind(1, id);
  return f.Run();
}

Status NodeStore::InsertClaim(const std::string& claim_hex, const std::string& instance, const std::string& field,
                              int64_t height) {
  Stmt put = db_.Prepare("INSERT OR IGNORE INTO claims (claim, instance, field, height) VALUES (?, ?, ?, ?)");
  put.Bind(1, claim_hex).Bind(2, instance).Bind(3, field).Bind(4, height);
  return put.Run();
}

std::optional<std::pair<int64_t, std::string>> NodeStore::LedgerTip() {
  std::lock_guard<std::mutex> lock(read_mu_);
  Stmt s = read_db_.Prepare("SELECT height, hash FROM ledger_tip WHERE id = 1");
  if (!s.Step()) return std::nullopt;
  return std::make_pair(s.Int(0), s.Text(1));
}

int64_t NodeStore::Acked(const std::string& subscription) {
  std::lock_guard<std::mutex> lock(read_mu_);
  Stmt s = read_db_.Prepare("SELECT acked FROM subscriptions WHERE name = ?");
  s.Bind(1, subscription);
  return s.Step() ? s.Int(0) : 0;
}

Status NodeStore::Ack(const std::string& subscription, int64_t offset) {
  std::lock_guard<std::mutex> lock(mu_);
  Stmt s = db_.Prepare(
      "INSERT INTO subscriptions (name, acked) VALUES (?, ?) ON CONFLICT(name) DO UPDATE SET acked = "
      "MAX(acked, excluded.acked)");
  s.Bind(1, subscription).Bind(2, offset);
  return s.Run();
}

int64_t NodeStore::PendingProposals() {
  std::lock_guard<std::mutex> lock(read_mu_);
  Stmt s = read_db_.Prepare("SELECT COUNT(*) FROM proposals WHERE status IN ('pending', 'sealed')");
  return s.Step() ? s.Int(0) : 0;
}

}  // namespace treaty::engine

namespace treaty::engine {

int64_t NodeStore::PendingCount() {
  std::lock_guard<std::mutex> lock(read_mu_);
  treaty::Stmt s = read_db_.Prepare("SELECT COUNT(*) FROM proposals WHERE status = 'pending'");
  return s.Step() ? s.Int(0) : 0;
}

}  // namespace treaty::engine

namespace treaty::engine {

Status NodeStore::EnqueueOutbox(const OutboxMessage& m, int64_t now_ms, int64_t resend_ms) {
  Stmt s = db_.Prepare(
      "INSERT OR IGNORE INTO outbox (id, peer, kind, body, attempts, next_ms, created_ms, seq) VALUES (?, ?, ?, ?, 1, "
      "?, ?, (SELECT IFNULL(MAX(seq), 0) + 1 FROM outbox))");
  s.Bind(1, m.id).Bind(2, m.peer).Bind(3, m.kind).Bind(4, m.body).Bind(5, resend_ms).Bind(6, now_ms);
  return s.Run();
}

std::vector<AttestationRow> NodeStore::Attestations(const std::string& instance) {
  std::lock_guard<std::mutex> lock(read_mu_);
  std::vector<AttestationRow> out;
  Stmt s = read_db_.Prepare(
      "SELECT instance, seq, party, outcome, reject_code, reason, state_hash, signature FROM attestations WHERE "
      "instance = ? ORDER BY seq, party");
  s.Bind(1, instance);
  while (s.Step())
    out.push_back({s.Text(0), s.Int(1), s.Text(2), {s.Text(3), s.Text(4), s.Text(5), s.Text(6)}, s.Text(7)});
  return out;
}

Result<std::vector<AttestationRow>> NodeStore::AttestationsAt(const std::string& instance, int64_t seq) {
  std::lock_guard<std::mutex> lock(read_mu_);
  std::vector<AttestationRow> out;
  Stmt s = read_db_.Prepare(
      "SELECT instance, seq, party, outcome, reject_code, reason, state_hash, signature FROM attestations WHERE "
      "instance = ? AND seq = ? ORDER BY party");
  s.Bind(1, instance).Bind(2, seq);
  while (s.Step())
    out.push_back({s.Text(0), s.Int(1), s.Text(2), {s.Text(3), s.Text(4), s.Text(5), s.Text(6)}, s.Text(7)});
  TREATY_RETURN_IF_ERROR(s.status());
  return out;
}

Result<std::optional<NodeStore::AppliedEntry>> NodeStore::HistoryEntryOf(const std::string& instance,
                                                                         const std::string& proposal) {
  std::lock_guard<std::mutex> lock(read_mu_);
  Stmt s = read_db_.Prepare(
      "SELECT h.seq, h.outcome, h.reject_code, h.reason, h.state_hash, i.roles FROM history h JOIN instances i ON "
      "i.id = h.instance WHERE h.instance = ? AND h.proposal = ?");
  s.Bind(1, instance).Bind(2, proposal);
  if (!s.Step()) {
    TREATY_RETURN_IF_ERROR(s.status());
    return std::optional<AppliedEntry>();
  }
  return std::optional<AppliedEntry>(AppliedEntry{s.Int(0), {s.Text(1), s.Text(2), s.Text(3), s.Text(4)}, s.Text(5)});
}

std::vector<BlockedRow> NodeStore::Blocked() {
  std::lock_guard<std::mutex> lock(read_mu_);
  std::vector<BlockedRow> out;
  Stmt s = read_db_.Prepare(
      "SELECT q.instance, q.pin, q.height, q.since_ms, (SELECT COUNT(*) FROM queued_pins c WHERE c.instance = "
      "q.instance) FROM queued_pins q WHERE NOT EXISTS (SELECT 1 FROM queued_pins e WHERE e.instance = q.instance AND "
      "(e.height < q.height OR (e.height = q.height AND e.idx < q.idx))) ORDER BY q.since_ms");
  while (s.Step()) out.push_back({s.Text(0), s.Text(1), s.Int(2), s.Int(3), s.Int(4)});
  return out;
}

int64_t NodeStore::OutboxSize() {
  std::lock_guard<std::mutex> lock(read_mu_);
  Stmt s = read_db_.Prepare("SELECT COUNT(*) FROM outbox");
  return s.Step() ? s.Int(0) : 0;
}

}  // namespace treaty::engine
