// NodeStore: proposals in flight (ours pending or sealed, members'
// received), idempotency keys, and our sealed batches until a block holds
// them. A proposal leaves this table when it is applied: from then on its
// journal row is the record. So the table holds only what is in flight —
// a few pages, whatever the node's age — and the embedded ledger's steps,
// sealed and applied in one transaction, never enter it.
#include <nlohmann/json.hpp>

#include "engine/store/node_store.h"
#include "engine/store/rows.h"

namespace treaty::engine {

using store::kProposalCols;
using store::ReadProposal;

namespace {

Result<std::optional<ProposalRow>> OneProposal(Stmt& s) {
  TREATY_ASSIGN_OR_RETURN(bool found, store::HasRow(s));
  if (!found) return std::optional<ProposalRow>();
  TREATY_ASSIGN_OR_RETURN(ProposalRow p, ReadProposal(s));
  return std::optional<ProposalRow>(std::move(p));
}

}  // namespace

Status WriteTxn::InsertProposal(const ProposalRow& r) {
  static const std::string sql = std::string("INSERT INTO proposals (") + kProposalCols +
                                 ", seq) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, "
                                 "(SELECT IFNULL(MAX(seq), 0) + 1 FROM proposals))";
  Stmt s = db().Prepare(sql.c_str());
  s.Bind(1, r.id).Bind(2, KindName(r.kind)).Bind(3, r.instance).Bind(4, r.step).Bind(5, r.input_json);
  s.Bind(6, r.author).Bind(7, r.nonce).BindTextOrNull(8, r.pin_hex).Bind(9, StatusName(r.status));
  s.BindTextOrNull(10, r.batch).Bind(11, r.proposed_ms).Bind(12, r.extra.ToJson());
  return s.Run();
}

Status WriteTxn::UpdateProposal(const ProposalRow& r) {
  Stmt s = db().Prepare(
      "UPDATE proposals SET nonce = ?2, pin = ?3, status = ?4, batch = ?5, extra = ?6 WHERE id = ?1");
  s.Bind(1, r.id).Bind(2, r.nonce).BindTextOrNull(3, r.pin_hex).Bind(4, StatusName(r.status));
  s.BindTextOrNull(5, r.batch).Bind(6, r.extra.ToJson());
  TREATY_RETURN_IF_ERROR(s.Run());
  return db().Changes() == 1 ? Status::Ok() : Status::Internal("proposal " + r.id + " to update is missing");
}

Status WriteTxn::DeleteProposal(const std::string& id) {
  Stmt s = db().Prepare("DELETE FROM proposals WHERE id = ?");
  s.Bind(1, id);
  return s.Run();
}

Result<std::optional<ProposalRow>> WriteTxn::GetProposal(const std::string& id) {
  static const std::string sql = std::string("SELECT ") + kProposalCols + " FROM proposals WHERE id = ?";
  Stmt s = db().Prepare(sql.c_str());
  s.Bind(1, id);
  return OneProposal(s);
}

Result<std::optional<ProposalRow>> WriteTxn::GetProposalByPin(const std::string& pin_hex) {
  static const std::string sql = std::string("SELECT ") + kProposalCols + " FROM proposals WHERE pin = ?";
  Stmt s = db().Prepare(sql.c_str());
  s.Bind(1, pin_hex);
  return OneProposal(s);
}

Result<std::vector<ProposalRow>> WriteTxn::PendingProposals(size_t max) {
  static const std::string sql =
      std::string("SELECT ") + kProposalCols + " FROM proposals WHERE status = 'pending' ORDER BY seq LIMIT ?";
  // (proposals_pending: only pending rows are in that index.)
  Stmt s = db().Prepare(sql.c_str());
  s.Bind(1, static_cast<int64_t>(max));
  std::vector<ProposalRow> out;
  while (s.Step()) {
    TREATY_ASSIGN_OR_RETURN(ProposalRow p, ReadProposal(s));
    out.push_back(std::move(p));
  }
  TREATY_RETURN_IF_ERROR(s.status());
  return out;
}

namespace {

Result<bool> QueryStartInFlight(Db& db, const std::string& instance) {
  Stmt s = db.Prepare(
      "SELECT 1 FROM proposals WHERE instance = ? AND kind = 'start' AND status IN ('pending', 'sealed')");
  s.Bind(1, instance);
  if (s.Step()) return true;
  TREATY_RETURN_IF_ERROR(s.status());
  return false;
}

}  // namespace

Result<bool> WriteTxn::StartInFlight(const std::string& instance) { return QueryStartInFlight(db(), instance); }

Result<bool> NodeStore::StartInFlight(const std::string& instance) {
  ReaderLease lease = LeaseReader();
  Db& read_db = lease.db();
  return QueryStartInFlight(read_db, instance);
}

Result<std::optional<ProposalRow>> WriteTxn::StartProposal(const std::string& instance) {
  static const std::string sql =
      std::string("SELECT ") + kProposalCols + " FROM proposals WHERE instance = ? AND kind = 'start' LIMIT 1";
  Stmt s = db().Prepare(sql.c_str());
  s.Bind(1, instance);
  return OneProposal(s);
}

Result<int64_t> NodeStore::ProposalsInFlight() {
  ReaderLease lease = LeaseReader();
  Db& read_db = lease.db();
  Stmt s = read_db.Prepare("SELECT COUNT(*) FROM proposals WHERE status IN ('pending', 'sealed')");
  TREATY_RETURN_IF_ERROR(store::ExpectRow(s, "count"));
  return s.Int(0);
}

namespace {

Result<std::optional<NodeStore::KnownKey>> QueryKey(Db& db, const std::string& key) {
  Stmt s = db.Prepare("SELECT proposal, request FROM idempotency WHERE key = ?");
  s.Bind(1, key);
  TREATY_ASSIGN_OR_RETURN(bool found, store::HasRow(s));
  if (!found) return std::optional<NodeStore::KnownKey>();
  return std::optional<NodeStore::KnownKey>(NodeStore::KnownKey{s.Text(0), s.Text(1)});
}

}  // namespace

Result<std::optional<NodeStore::KnownKey>> NodeStore::IdempotencyKey(const std::string& key) {
  ReaderLease lease = LeaseReader();
  Db& read_db = lease.db();
  return QueryKey(read_db, key);
}

Result<std::optional<NodeStore::KnownKey>> WriteTxn::IdempotencyKey(const std::string& key) {
  return QueryKey(db(), key);
}

Status WriteTxn::InsertIdempotencyKey(const std::string& key, const std::string& proposal,
                                      const std::string& request, int64_t now_ms) {
  Stmt s = db().Prepare("INSERT INTO idempotency (key, proposal, request, created_ms) VALUES (?, ?, ?, ?)");
  s.Bind(1, key).Bind(2, proposal).Bind(3, request).Bind(4, now_ms);
  return s.Run();
}

Result<int64_t> WriteTxn::PruneIdempotencyKeys(int64_t before_ms, int64_t keep_max) {
  Stmt old = db().Prepare("DELETE FROM idempotency WHERE created_ms < ?");
  old.Bind(1, before_ms);
  TREATY_RETURN_IF_ERROR(old.Run());
  int64_t pruned = db().Changes();
  Stmt count = db().Prepare("SELECT COUNT(*) FROM idempotency");
  TREATY_RETURN_IF_ERROR(store::ExpectRow(count, "count"));
  int64_t over = count.Int(0) - keep_max;
  if (over > 0) {
    Stmt oldest = db().Prepare(
        "DELETE FROM idempotency WHERE key IN (SELECT key FROM idempotency ORDER BY created_ms, key LIMIT ?)");
    oldest.Bind(1, over);
    TREATY_RETURN_IF_ERROR(oldest.Run());
    pruned += db().Changes();
  }
  return pruned;
}

Status WriteTxn::InsertBatch(const chain::Batch& b) {
  nlohmann::json pins = nlohmann::json::array();
  for (const auto& p : b.pins) pins.push_back(ToHex(p));
  Stmt s = db().Prepare("INSERT INTO batches (id, author, pins) VALUES (?, ?, ?)");
  s.Bind(1, b.id).Bind(2, b.author).Bind(3, pins.dump());
  return s.Run();
}

Status WriteTxn::ForgetBatch(const std::string& id) {
  Stmt s = db().Prepare("DELETE FROM batches WHERE id = ?");
  s.Bind(1, id);
  return s.Run();
}

Result<std::vector<chain::Batch>> WriteTxn::UnorderedBatches(const std::string& author) {
  Stmt s = db().Prepare("SELECT id, pins FROM batches WHERE author = ? ORDER BY rowid");
  s.Bind(1, author);
  std::vector<chain::Batch> out;
  while (s.Step()) {
    chain::Batch b;
    b.id = s.Text(0);
    b.author = author;
    auto pins = nlohmann::json::parse(s.Text(1), nullptr, false);
    if (!pins.is_array()) return store::Damaged("batches", "pins of " + b.id);
    for (const auto& pin : pins) {
      Digest d{};
      if (!pin.is_string() || !DigestFromHex(pin.get<std::string>(), &d))
        return store::Damaged("batches", "a pin of " + b.id);
      b.pins.push_back(d);
    }
    out.push_back(std::move(b));
  }
  TREATY_RETURN_IF_ERROR(s.status());
  return out;
}

}  // namespace treaty::engine
