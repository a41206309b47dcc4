// NodeStore: human tasks (engine/task_book.h says what they are). Task rows
// and their candidates; an inbox search is one statement built from the
// filters a caller set, over the indexes schema 4 declares.
#include <variant>

#include <nlohmann/json.hpp>

#include "engine/store/node_store.h"
#include "engine/store/rows.h"

namespace treaty::engine {

namespace {

using json = nlohmann::json;

constexpr const char* kTaskCols =
    "no, id, instance, definition, version, step, queue, state, assignee, priority, position, created_ms, "
    "created_height, due_ms, follow_up_ms, overdue, attempts, candidate_groups, candidate_users, closed_ms, "
    "closed_height, close_reason, closed_by, updated_ms";

std::string ListJson(const std::vector<std::string>& v) { return json(v).dump(); }

Result<std::vector<std::string>> ListFromJson(const std::string& text, const std::string& id) {
  json j = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (!j.is_array()) return store::Damaged("tasks", "candidates of " + id + " are not a list");
  std::vector<std::string> out;
  for (const auto& e : j) {
    if (!e.is_string()) return store::Damaged("tasks", "a candidate of " + id + " is not a name");
    out.push_back(e.get<std::string>());
  }
  return out;
}

std::optional<int64_t> OptInt(Stmt& s, int col) {
  if (s.IsNull(col)) return std::nullopt;
  return s.Int(col);
}

Result<TaskRow> ReadTask(Stmt& s) {
  TaskRow t;
  t.no = s.Int(0);
  t.id = s.Text(1);
  t.instance = s.Text(2);
  t.definition = s.Text(3);
  t.version = s.Int(4);
  t.step = s.Text(5);
  t.queue = s.Text(6);
  auto state = TaskStateFromName(s.Text(7));
  if (!state) return store::Damaged("tasks", "state '" + s.Text(7) + "' of " + t.id);
  t.state = *state;
  t.assignee = s.Text(8);
  t.priority = s.Int(9);
  t.position = s.Int(10);
  t.created_ms = s.Int(11);
  t.created_height = s.Int(12);
  t.due_ms = OptInt(s, 13);
  t.follow_up_ms = OptInt(s, 14);
  t.overdue = s.Int(15) != 0;
  t.attempts = s.Int(16);
  TREATY_ASSIGN_OR_RETURN(t.candidate_groups, ListFromJson(s.Text(17), t.id));
  TREATY_ASSIGN_OR_RETURN(t.candidate_users, ListFromJson(s.Text(18), t.id));
  t.closed_ms = s.IsNull(19) ? 0 : s.Int(19);
  t.closed_height = s.IsNull(20) ? 0 : s.Int(20);
  t.close_reason = s.IsNull(21) ? "" : s.Text(21);
  t.closed_by = s.IsNull(22) ? "" : s.Text(22);
  t.updated_ms = s.Int(23);
  return t;
}

Result<std::vector<TaskRow>> ReadTasks(Stmt& s) {
  std::vector<TaskRow> out;
  while (s.Step()) {
    TREATY_ASSIGN_OR_RETURN(TaskRow t, ReadTask(s));
    out.push_back(std::move(t));
  }
  TREATY_RETURN_IF_ERROR(s.status());
  return out;
}

Result<std::optional<TaskRow>> QueryTask(Db& db, const std::string& id) {
  static const std::string sql = std::string("SELECT ") + kTaskCols + " FROM tasks WHERE id = ?";
  Stmt s = db.Prepare(sql.c_str());
  s.Bind(1, id);
  TREATY_ASSIGN_OR_RETURN(bool found, store::HasRow(s));
  if (!found) return std::optional<TaskRow>();
  TREATY_ASSIGN_OR_RETURN(TaskRow t, ReadTask(s));
  return std::optional<TaskRow>(std::move(t));
}

Status PutCandidates(Db& db, const TaskRow& t, bool replace) {
  if (replace) {
    // The table's key leads with the name, for the search: deleting by task
    // scans it, which only an update of a task's candidates pays for.
    Stmt del = db.Prepare("DELETE FROM task_candidates WHERE task_no = ?");
    del.Bind(1, t.no);
    TREATY_RETURN_IF_ERROR(del.Run());
  }
  for (int kind = 0; kind < 2; ++kind) {
    for (const auto& name : kind == 0 ? t.candidate_groups : t.candidate_users) {
      Stmt ins = db.Prepare("INSERT OR IGNORE INTO task_candidates (kind, name, task_no) VALUES (?, ?, ?)");
      ins.Bind(1, kind).Bind(2, name).Bind(3, t.no);
      TREATY_RETURN_IF_ERROR(ins.Run());
    }
  }
  return Status::Ok();
}

}  // namespace

Result<std::optional<TaskRow>> NodeStore::GetTask(const std::string& id) {
  ReaderLease lease = LeaseReader();
  return QueryTask(lease.db(), id);
}

Result<std::vector<TaskRow>> NodeStore::SearchTasks(const TaskQuery& q) {
  std::string sql = std::string("SELECT ") + kTaskCols + " FROM tasks WHERE 1";
  // Positional parameters, bound in the order the clauses are added.
  std::vector<std::variant<int64_t, std::string>> args;
  auto text = [&](const char* clause, const std::string& v) {
    if (v.empty()) return;
    sql += clause;
    args.emplace_back(v);
  };
  text(" AND queue = ?", q.queue);
  text(" AND assignee = ?", q.assignee);
  text(" AND definition = ?", q.definition);
  text(" AND instance = ?", q.instance);
  text(" AND no IN (SELECT task_no FROM task_candidates WHERE kind = 0 AND name = ?)", q.candidate_group);
  text(" AND no IN (SELECT task_no FROM task_candidates WHERE kind = 1 AND name = ?)", q.candidate_user);
  if (!q.states.empty()) {
    sql += " AND state IN (";
    for (size_t i = 0; i < q.states.size(); ++i) {
      sql += i ? ", ?" : "?";
      args.emplace_back(std::string(TaskStateName(q.states[i])));
    }
    sql += ")";
  }
  auto number = [&](const char* clause, const std::optional<int64_t>& v) {
    if (!v) return;
    sql += clause;
    args.emplace_back(*v);
  };
  number(" AND due_ms < ?", q.due_before);
  number(" AND due_ms >= ?", q.due_after);
  number(" AND priority >= ?", q.priority_min);
  number(" AND priority <= ?", q.priority_max);
  const char* dir = q.descending ? " DESC" : "";
  switch (q.order) {
    case TaskQuery::Order::kCreated: sql += std::string(" ORDER BY no") + dir; break;
    // Tasks without a due date come last either way.
    case TaskQuery::Order::kDue: sql += std::string(" ORDER BY due_ms IS NULL, due_ms") + dir + ", no"; break;
    case TaskQuery::Order::kPriority: sql += std::string(" ORDER BY priority") + dir + ", no"; break;
  }
  sql += " LIMIT ? OFFSET ?";
  args.emplace_back(q.limit);
  args.emplace_back(q.offset);
  ReaderLease lease = LeaseReader();
  Stmt s = lease.db().Prepare(sql.c_str());
  for (size_t i = 0; i < args.size(); ++i) {
    int at = static_cast<int>(i) + 1;
    if (const auto* n = std::get_if<int64_t>(&args[i])) s.Bind(at, *n);
    else s.Bind(at, std::get<std::string>(args[i]));
  }
  return ReadTasks(s);
}

Result<std::vector<InstanceRow>> NodeStore::ActiveInstances(int64_t after_no, size_t max) {
  static const std::string sql =
      std::string("SELECT ") + store::kInstanceCols + " FROM instances WHERE no > ? AND final = 0 ORDER BY no LIMIT ?";
  ReaderLease lease = LeaseReader();
  Stmt s = lease.db().Prepare(sql.c_str());
  s.Bind(1, after_no).Bind(2, static_cast<int64_t>(max));
  std::vector<InstanceRow> out;
  while (s.Step()) {
    TREATY_ASSIGN_OR_RETURN(InstanceRow r, store::ReadInstance(s));
    out.push_back(std::move(r));
  }
  TREATY_RETURN_IF_ERROR(s.status());
  return out;
}

Result<std::optional<TaskRow>> WriteTxn::GetTask(const std::string& id) { return QueryTask(db(), id); }

Status WriteTxn::InsertTask(TaskRow* t) {
  Stmt s = db().Prepare(
      "INSERT INTO tasks (id, instance, definition, version, step, queue, state, assignee, priority, position, "
      "created_ms, created_height, due_ms, follow_up_ms, overdue, attempts, candidate_groups, candidate_users, "
      "updated_ms) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING no");
  s.Bind(1, t->id).Bind(2, t->instance).Bind(3, t->definition).Bind(4, t->version).Bind(5, t->step);
  s.Bind(6, t->queue).Bind(7, TaskStateName(t->state)).Bind(8, t->assignee).Bind(9, t->priority);
  s.Bind(10, t->position).Bind(11, t->created_ms).Bind(12, t->created_height);
  if (t->due_ms) s.Bind(13, *t->due_ms); else s.BindNull(13);
  if (t->follow_up_ms) s.Bind(14, *t->follow_up_ms); else s.BindNull(14);
  s.Bind(15, static_cast<int64_t>(t->overdue)).Bind(16, t->attempts);
  s.Bind(17, ListJson(t->candidate_groups)).Bind(18, ListJson(t->candidate_users)).Bind(19, t->updated_ms);
  TREATY_RETURN_IF_ERROR(store::ExpectRow(s, "task insert"));
  t->no = s.Int(0);
  s.Reset();
  if (t->candidate_groups.empty() && t->candidate_users.empty()) return Status::Ok();
  return PutCandidates(db(), *t, /*replace=*/false);
}

Result<std::vector<TaskRow>> WriteTxn::ActiveTasksOf(const std::string& instance) {
  static const std::string sql = std::string("SELECT ") + kTaskCols +
                                 " FROM tasks WHERE instance = ? AND state IN ('open', 'claimed') ORDER BY no";
  Stmt s = db().Prepare(sql.c_str());
  s.Bind(1, instance);
  return ReadTasks(s);
}

Status WriteTxn::UpdateTask(const TaskRow& t) {
  TREATY_ASSIGN_OR_RETURN(auto before, GetTask(t.id));
  if (!before) return Status::Internal("task " + t.id + " to update is missing");
  Stmt s = db().Prepare(
      "UPDATE tasks SET state = ?2, assignee = ?3, priority = ?4, due_ms = ?5, follow_up_ms = ?6, overdue = ?7, "
      "attempts = ?8, candidate_groups = ?9, candidate_users = ?10, closed_ms = ?11, closed_height = ?12, "
      "close_reason = ?13, closed_by = ?14, updated_ms = ?15 WHERE no = ?1");
  s.Bind(1, before->no).Bind(2, TaskStateName(t.state)).Bind(3, t.assignee).Bind(4, t.priority);
  if (t.due_ms) s.Bind(5, *t.due_ms); else s.BindNull(5);
  if (t.follow_up_ms) s.Bind(6, *t.follow_up_ms); else s.BindNull(6);
  s.Bind(7, static_cast<int64_t>(t.overdue)).Bind(8, t.attempts);
  s.Bind(9, ListJson(t.candidate_groups)).Bind(10, ListJson(t.candidate_users));
  if (TaskActive(t.state)) {
    s.BindNull(11).BindNull(12).BindNull(13).BindNull(14);
  } else {
    s.Bind(11, t.closed_ms).Bind(12, t.closed_height).Bind(13, t.close_reason).Bind(14, t.closed_by);
  }
  s.Bind(15, t.updated_ms);
  TREATY_RETURN_IF_ERROR(s.Run());
  if (before->candidate_groups == t.candidate_groups && before->candidate_users == t.candidate_users)
    return Status::Ok();
  TaskRow numbered = t;
  numbered.no = before->no;
  return PutCandidates(db(), numbered, /*replace=*/true);
}

Result<std::vector<TaskRow>> WriteTxn::TasksFallenDue(int64_t now_ms, size_t max) {
  static const std::string sql = std::string("SELECT ") + kTaskCols +
                                 " FROM tasks WHERE state IN ('open', 'claimed') AND overdue = 0 AND due_ms IS NOT "
                                 "NULL AND due_ms <= ? ORDER BY due_ms LIMIT ?";
  Stmt s = db().Prepare(sql.c_str());
  s.Bind(1, now_ms).Bind(2, static_cast<int64_t>(max));
  return ReadTasks(s);
}

}  // namespace treaty::engine
