// NodeStore: jobs (engine/job_book.h says what they are). One row per job;
// the open ones are also in the JobBook's memory, so only the applier, the
// searches and the incident list read these rows by index.
#include <nlohmann/json.hpp>

#include "engine/store/node_store.h"
#include "engine/store/rows.h"

namespace treaty::engine {

namespace {

constexpr const char* kJobCols =
    "no, id, type, instance, definition, version, step, position, state, retries, failures, worker, deadline_ms, "
    "retry_at_ms, error_message, error_code, incidents, incident_kind, incident_message, incident_ms, attempts, "
    "created_ms, created_height, closed_ms, closed_height, close_reason, closed_by, opened_ms, updated_ms";

// The literal the partial index on open jobs is declared with: SQLite uses
// it only when a query says the same.
constexpr const char* kOpenStates = "state IN ('activatable', 'activated', 'failed', 'incident')";

Result<JobRow> ReadJob(Stmt& s) {
  JobRow j;
  j.no = s.Int(0);
  j.id = s.Text(1);
  j.type = s.Text(2);
  j.instance = s.Text(3);
  j.definition = s.Text(4);
  j.version = s.Int(5);
  j.step = s.Text(6);
  j.position = s.Int(7);
  auto state = JobStateFromName(s.Text(8));
  if (!state) return store::Damaged("jobs", "state '" + s.Text(8) + "' of " + j.id);
  j.state = *state;
  j.retries = s.Int(9);
  j.failures = s.Int(10);
  j.worker = s.Text(11);
  j.deadline_ms = s.Int(12);
  j.retry_at_ms = s.Int(13);
  j.error_message = s.Text(14);
  j.error_code = s.Text(15);
  j.incidents = s.Int(16);
  j.incident_kind = s.Text(17);
  j.incident_message = s.Text(18);
  j.incident_ms = s.Int(19);
  j.attempts = s.Int(20);
  j.created_ms = s.Int(21);
  j.created_height = s.Int(22);
  j.closed_ms = s.IsNull(23) ? 0 : s.Int(23);
  j.closed_height = s.IsNull(24) ? 0 : s.Int(24);
  j.close_reason = s.IsNull(25) ? "" : s.Text(25);
  j.closed_by = s.IsNull(26) ? "" : s.Text(26);
  j.opened_ms = s.Int(27);
  j.updated_ms = s.Int(28);
  return j;
}

Result<std::vector<JobRow>> ReadJobs(Stmt& s) {
  std::vector<JobRow> out;
  while (s.Step()) {
    TREATY_ASSIGN_OR_RETURN(JobRow j, ReadJob(s));
    out.push_back(std::move(j));
  }
  TREATY_RETURN_IF_ERROR(s.status());
  return out;
}

Result<std::optional<JobRow>> QueryJob(Db& db, const std::string& id) {
  static const std::string sql = std::string("SELECT ") + kJobCols + " FROM jobs WHERE id = ?";
  Stmt s = db.Prepare(sql.c_str());
  s.Bind(1, id);
  TREATY_ASSIGN_OR_RETURN(bool found, store::HasRow(s));
  if (!found) return std::optional<JobRow>();
  TREATY_ASSIGN_OR_RETURN(JobRow j, ReadJob(s));
  return std::optional<JobRow>(std::move(j));
}

}  // namespace

Result<std::optional<JobRow>> NodeStore::GetJob(const std::string& id) {
  ReaderLease lease = LeaseReader();
  return QueryJob(lease.db(), id);
}

Result<std::vector<JobRow>> NodeStore::SearchJobs(const JobQuery& q) {
  std::string sql = std::string("SELECT ") + kJobCols + " FROM jobs WHERE 1";
  std::vector<std::string> args;
  auto text = [&](const char* clause, const std::string& v) {
    if (v.empty()) return;
    sql += clause;
    args.push_back(v);
  };
  text(" AND type = ?", q.type);
  text(" AND definition = ?", q.definition);
  text(" AND instance = ?", q.instance);
  if (!q.states.empty()) {
    std::string any;
    for (JobState st : q.states) any += (any.empty() ? "'" : ", '") + std::string(JobStateName(st)) + "'";
    sql += " AND state IN (" + any + ")";
  }
  sql += " ORDER BY no LIMIT ? OFFSET ?";
  ReaderLease lease = LeaseReader();
  Stmt s = lease.db().Prepare(sql.c_str());
  int at = 1;
  for (const auto& a : args) s.Bind(at++, a);
  s.Bind(at, q.limit);
  s.Bind(at + 1, q.offset);
  return ReadJobs(s);
}

Result<std::vector<JobRow>> NodeStore::Incidents(const std::string& type, const std::string& instance, int64_t limit,
                                                 int64_t offset) {
  std::string sql = std::string("SELECT ") + kJobCols + " FROM jobs WHERE state = 'incident'";
  if (!type.empty()) sql += " AND type = ?";
  if (!instance.empty()) sql += " AND instance = ?";
  sql += " ORDER BY no LIMIT ? OFFSET ?";
  ReaderLease lease = LeaseReader();
  Stmt s = lease.db().Prepare(sql.c_str());
  int at = 1;
  if (!type.empty()) s.Bind(at++, type);
  if (!instance.empty()) s.Bind(at++, instance);
  s.Bind(at, limit);
  s.Bind(at + 1, offset);
  return ReadJobs(s);
}

Result<NodeStore::JobCounts> NodeStore::CountJobs() {
  ReaderLease lease = LeaseReader();
  static const std::string sql = std::string("SELECT COUNT(*), COALESCE(SUM(state = 'activated'), 0), "
                                            "COALESCE(SUM(state = 'incident'), 0) FROM jobs WHERE ") +
                                kOpenStates;
  Stmt s = lease.db().Prepare(sql.c_str());
  TREATY_RETURN_IF_ERROR(store::ExpectRow(s, "job count"));
  return JobCounts{s.Int(0), s.Int(1), s.Int(2)};
}

Result<bool> NodeStore::JobBackfillPending() {
  ReaderLease lease = LeaseReader();
  Stmt s = lease.db().Prepare("SELECT 1 FROM meta WHERE key = 'jobs_backfill'");
  return store::HasRow(s);
}

Status WriteTxn::ClearJobBackfill() {
  Stmt s = db().Prepare("DELETE FROM meta WHERE key = 'jobs_backfill'");
  return s.Run();
}

Result<std::optional<JobRow>> WriteTxn::GetJob(const std::string& id) { return QueryJob(db(), id); }

Status WriteTxn::InsertJob(JobRow* j) {
  Stmt s = db().Prepare(
      "INSERT INTO jobs (id, type, instance, definition, version, step, position, state, retries, created_ms, "
      "created_height, opened_ms, updated_ms) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING no");
  s.Bind(1, j->id).Bind(2, j->type).Bind(3, j->instance).Bind(4, j->definition).Bind(5, j->version);
  s.Bind(6, j->step).Bind(7, j->position).Bind(8, std::string(JobStateName(j->state))).Bind(9, j->retries);
  s.Bind(10, j->created_ms).Bind(11, j->created_height).Bind(12, j->opened_ms).Bind(13, j->updated_ms);
  TREATY_RETURN_IF_ERROR(store::ExpectRow(s, "job insert"));
  j->no = s.Int(0);
  return Status::Ok();
}

Status WriteTxn::UpdateJob(const JobRow& j) {
  Stmt s = db().Prepare(
      "UPDATE jobs SET state = ?, retries = ?, failures = ?, worker = ?, deadline_ms = ?, retry_at_ms = ?, "
      "error_message = ?, error_code = ?, incidents = ?, incident_kind = ?, incident_message = ?, incident_ms = ?, "
      "attempts = ?, closed_ms = ?, closed_height = ?, close_reason = ?, closed_by = ?, updated_ms = ? WHERE no = ?");
  s.Bind(1, std::string(JobStateName(j.state))).Bind(2, j.retries).Bind(3, j.failures).Bind(4, j.worker);
  s.Bind(5, j.deadline_ms).Bind(6, j.retry_at_ms).Bind(7, j.error_message).Bind(8, j.error_code);
  s.Bind(9, j.incidents).Bind(10, j.incident_kind).Bind(11, j.incident_message).Bind(12, j.incident_ms);
  s.Bind(13, j.attempts);
  if (JobOpen(j.state)) {
    s.BindNull(14).BindNull(15).BindNull(16).BindNull(17);
  } else {
    s.Bind(14, j.closed_ms).Bind(15, j.closed_height).Bind(16, j.close_reason).Bind(17, j.closed_by);
  }
  s.Bind(18, j.updated_ms).Bind(19, j.no);
  TREATY_RETURN_IF_ERROR(s.Run());
  if (db().Changes() != 1) return Status::Internal("job " + j.id + " to update is missing");
  return Status::Ok();
}

Result<std::vector<JobRow>> WriteTxn::OpenJobsOf(const std::string& instance) {
  static const std::string sql =
      std::string("SELECT ") + kJobCols + " FROM jobs WHERE instance = ? AND " + kOpenStates + " ORDER BY no";
  Stmt s = db().Prepare(sql.c_str());
  s.Bind(1, instance);
  return ReadJobs(s);
}

}  // namespace treaty::engine
