// NodeStore: the pin protocol's rows (docs/protocol.md): pins expected of
// other members, recognised pins queued behind missing data, pins nobody
// here recognised yet, and unique-key claims.
#include "engine/store/node_store.h"
#include "engine/store/rows.h"

namespace treaty::engine {

Status WriteTxn::ExpectPin(const std::string& pin_hex, const std::string& instance, const std::string& author,
                           int64_t nonce) {
  Stmt e = db().Prepare("INSERT OR REPLACE INTO expected_pins (pin, instance, author, nonce) VALUES (?, ?, ?, ?)");
  e.Bind(1, pin_hex).Bind(2, instance).Bind(3, author).Bind(4, nonce);
  return e.Run();
}

Result<std::optional<ExpectedPin>> WriteTxn::TakeExpectedPin(const std::string& pin_hex) {
  Stmt e = db().Prepare("DELETE FROM expected_pins WHERE pin = ? RETURNING instance, author, nonce");
  e.Bind(1, pin_hex);
  TREATY_ASSIGN_OR_RETURN(bool found, store::HasRow(e));
  if (!found) return std::optional<ExpectedPin>();
  ExpectedPin out{e.Text(0), e.Text(1), e.Int(2)};
  e.Reset();  // completes the delete
  return std::optional<ExpectedPin>(std::move(out));
}

Status WriteTxn::QueuePin(const std::string& instance, const std::string& author, const std::string& pin_hex,
                          const LedgerPosition& at, int64_t since_ms) {
  Stmt q = db().Prepare(
      "INSERT OR IGNORE INTO queued_pins (instance, height, idx, pin, time_ms, since_ms, author) VALUES (?, ?, ?, ?, "
      "?, ?, ?)");
  q.Bind(1, instance).Bind(2, at.height).Bind(3, at.idx).Bind(4, pin_hex).Bind(5, at.time_ms).Bind(6, since_ms);
  q.Bind(7, author);
  return q.Run();
}

Result<std::optional<WriteTxn::QueuedPin>> WriteTxn::FirstQueuedPin(const std::string& instance) {
  Stmt q = db().Prepare(
      "SELECT height, idx, pin, time_ms, since_ms, noted, author FROM queued_pins WHERE instance = ? ORDER BY "
      "height, idx LIMIT 1");
  q.Bind(1, instance);
  TREATY_ASSIGN_OR_RETURN(bool found, store::HasRow(q));
  if (!found) return std::optional<QueuedPin>();
  QueuedPin p;
  p.at = LedgerPosition{q.Int(0), q.Int(3), q.Int(1)};
  p.pin = q.Text(2);
  p.since_ms = q.Int(4);
  p.noted = q.Int(5) != 0;
  p.author = q.Text(6);
  return std::optional<QueuedPin>(std::move(p));
}

Status WriteTxn::NoteQueuedPin(const std::string& instance, const LedgerPosition& at) {
  Stmt n = db().Prepare("UPDATE queued_pins SET noted = 1 WHERE instance = ? AND height = ? AND idx = ?");
  n.Bind(1, instance).Bind(2, at.height).Bind(3, at.idx);
  return n.Run();
}

Status WriteTxn::DeleteQueuedPin(const std::string& instance, const LedgerPosition& at) {
  Stmt d = db().Prepare("DELETE FROM queued_pins WHERE instance = ? AND height = ? AND idx = ?");
  d.Bind(1, instance).Bind(2, at.height).Bind(3, at.idx);
  return d.Run();
}

Result<std::vector<std::string>> WriteTxn::InstancesWithQueuedPins() {
  Stmt q = db().Prepare("SELECT DISTINCT instance FROM queued_pins");
  std::vector<std::string> out;
  while (q.Step()) out.push_back(q.Text(0));
  TREATY_RETURN_IF_ERROR(q.status());
  return out;
}

Result<std::vector<BlockedRow>> NodeStore::Blocked() {
  ReaderLease lease = LeaseReader();
  Db& read_db = lease.db();
  Stmt s = read_db.Prepare(
      "SELECT q.instance, q.pin, q.height, q.since_ms, (SELECT COUNT(*) FROM queued_pins c WHERE c.instance = "
      "q.instance) FROM queued_pins q WHERE NOT EXISTS (SELECT 1 FROM queued_pins e WHERE e.instance = q.instance AND "
      "(e.height < q.height OR (e.height = q.height AND e.idx < q.idx))) ORDER BY q.since_ms");
  std::vector<BlockedRow> out;
  while (s.Step()) out.push_back({s.Text(0), s.Text(1), s.Int(2), s.Int(3), s.Int(4)});
  TREATY_RETURN_IF_ERROR(s.status());
  return out;
}

Status WriteTxn::RecordUnmatchedPin(const std::string& pin_hex, const LedgerPosition& at) {
  // Its first place in ledger order is kept.
  Stmt u = db().Prepare("INSERT OR IGNORE INTO unmatched_pins (pin, height, idx, time_ms) VALUES (?, ?, ?, ?)");
  u.Bind(1, pin_hex).Bind(2, at.height).Bind(3, at.idx).Bind(4, at.time_ms);
  return u.Run();
}

namespace {

Result<std::optional<LedgerPosition>> QueryUnmatched(Db& db, const std::string& pin_hex) {
  Stmt u = db.Prepare("SELECT height, idx, time_ms FROM unmatched_pins WHERE pin = ?");
  u.Bind(1, pin_hex);
  TREATY_ASSIGN_OR_RETURN(bool found, store::HasRow(u));
  if (!found) return std::optional<LedgerPosition>();
  return std::optional<LedgerPosition>(LedgerPosition{u.Int(0), u.Int(2), u.Int(1)});
}

}  // namespace

Result<std::optional<LedgerPosition>> WriteTxn::UnmatchedPin(const std::string& pin_hex) {
  return QueryUnmatched(db(), pin_hex);
}

Status WriteTxn::DeleteUnmatchedPin(const std::string& pin_hex) {
  Stmt d = db().Prepare("DELETE FROM unmatched_pins WHERE pin = ?");
  d.Bind(1, pin_hex);
  return d.Run();
}

Result<std::optional<NodeStore::ClaimHolder>> WriteTxn::ClaimOwner(const Digest& claim) {
  for (const auto& [c, owner] : new_claims_)
    if (c == claim) return std::optional<NodeStore::ClaimHolder>(NodeStore::ClaimHolder{owner.instance, owner.height});
  if (auto owner = store_->claims_.Find(claim))
    return std::optional<NodeStore::ClaimHolder>(NodeStore::ClaimHolder{owner->instance, owner->height});
  return std::optional<NodeStore::ClaimHolder>();
}

Result<std::optional<NodeStore::ClaimHolder>> NodeStore::ClaimSeen(const Digest& claim) {
  if (auto owner = claims_.Find(claim)) return std::optional<ClaimHolder>(ClaimHolder{owner->instance, owner->height});
  ReaderLease lease = LeaseReader();
  TREATY_ASSIGN_OR_RETURN(auto seen, QueryUnmatched(lease.db(), ToHex(claim)));
  if (seen) return std::optional<ClaimHolder>(ClaimHolder{"", seen->height});
  return std::optional<ClaimHolder>();
}

Status WriteTxn::InsertClaim(const Digest& claim, const std::string& instance, const std::string& field,
                             int64_t height) {
  // A second claim of the same key by the same instance is not recorded again.
  TREATY_ASSIGN_OR_RETURN(auto owner, ClaimOwner(claim));
  if (owner) return Status::Ok();
  Stmt put = db().Prepare("INSERT INTO claims (claim, instance, field, height) VALUES (?, ?, ?, ?)");
  put.BindBlob(1, std::string_view(reinterpret_cast<const char*>(claim.data()), claim.size()));
  put.Bind(2, instance).Bind(3, field).Bind(4, height);
  TREATY_RETURN_IF_ERROR(put.Run());
  new_claims_.emplace_back(claim, ClaimOwnerRow{instance, height});
  return Status::Ok();
}

}  // namespace treaty::engine
