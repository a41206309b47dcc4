// NodeStore: instance rows. An instance is numbered (`no`) in order of
// creation and its row is found by that number from the journal, so the
// rows a batch of steps updates are, as instances are mostly worked on
// in the order they were started, neighbours on a few pages.
#include "engine/store/node_store.h"
#include "engine/store/rows.h"

namespace treaty::engine {

using store::kInstanceCols;
using store::ReadInstance;

namespace {

Result<std::optional<InstanceRow>> QueryInstance(Db& db, const std::string& id) {
  static const std::string sql = std::string("SELECT ") + kInstanceCols + " FROM instances WHERE id = ?";
  Stmt s = db.Prepare(sql.c_str());
  s.Bind(1, id);
  TREATY_ASSIGN_OR_RETURN(bool found, store::HasRow(s));
  if (!found) return std::optional<InstanceRow>();
  TREATY_ASSIGN_OR_RETURN(InstanceRow r, ReadInstance(s));
  return std::optional<InstanceRow>(std::move(r));
}

}  // namespace

Result<std::optional<InstanceRow>> NodeStore::GetInstance(const std::string& id) {
  ReaderLease lease = LeaseReader();
  Db& read_db = lease.db();
  return QueryInstance(read_db, id);
}

Result<std::optional<InstanceRow>> WriteTxn::GetInstance(const std::string& id) { return QueryInstance(db(), id); }

Status WriteTxn::InsertInstance(InstanceRow* r) {
  Stmt s = db().Prepare(
      "INSERT INTO instances (id, definition, version, def_hash, salt, roles, snapshot, states, data, final, "
      "position, height, state_hash, created_ms, updated_ms) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
      "RETURNING no");
  s.Bind(1, r->id).Bind(2, r->definition).Bind(3, r->version).Bind(4, r->def_hash).Bind(5, r->salt_hex);
  s.Bind(6, RolesJson(r->roles)).Bind(7, r->snapshot_json).Bind(8, r->states_json).Bind(9, r->data_json);
  s.Bind(10, static_cast<int64_t>(r->final)).Bind(11, r->position).Bind(12, r->height).Bind(13, r->state_hash);
  s.Bind(14, r->created_ms).Bind(15, r->updated_ms);
  TREATY_RETURN_IF_ERROR(store::ExpectRow(s, "instance insert"));
  r->no = s.Int(0);
  s.Reset();  // completes the insert
  return Status::Ok();
}

Status WriteTxn::UpdateInstance(const InstanceRow& r) {
  Stmt s = db().Prepare(
      "UPDATE instances SET snapshot = ?2, states = ?3, data = ?4, final = ?5, position = ?6, height = ?7, "
      "state_hash = ?8, updated_ms = ?9 WHERE no = ?1");
  s.Bind(1, r.no).Bind(2, r.snapshot_json).Bind(3, r.states_json).Bind(4, r.data_json);
  s.Bind(5, static_cast<int64_t>(r.final)).Bind(6, r.position).Bind(7, r.height).Bind(8, r.state_hash);
  s.Bind(9, r.updated_ms);
  TREATY_RETURN_IF_ERROR(s.Run());
  return db().Changes() == 1 ? Status::Ok() : Status::Internal("instance " + r.id + " to update is missing");
}

Result<std::vector<InstanceRow>> NodeStore::ListInstances(const InstanceQuery& q, int64_t limit, int64_t offset) {
  std::string sql = std::string("SELECT ") + kInstanceCols + " FROM instances WHERE " + q.where_sql + " ORDER BY " +
                    q.order_sql + " LIMIT ? OFFSET ?";
  ReaderLease lease = LeaseReader();
  Db& read_db = lease.db();
  Stmt s = read_db.Prepare(sql.c_str());
  BindQuery(s, q, limit, offset);
  return store::ReadInstances(s);
}

Result<std::vector<InstanceRow>> NodeStore::InstancesWithTimers(int64_t after_no, int64_t limit) {
  // Read once, at start (deadline_watcher.h): a scan of the active rows.
  static const std::string sql = std::string("SELECT ") + kInstanceCols +
                                 " FROM instances WHERE no > ? AND final = 0 AND "
                                 "json_extract(snapshot, '$.timers') NOT IN ('{}') ORDER BY no LIMIT ?";
  ReaderLease lease = LeaseReader();
  Stmt s = lease.db().Prepare(sql.c_str());
  s.Bind(1, after_no).Bind(2, limit);
  return store::ReadInstances(s);
}

}  // namespace treaty::engine
