// NodeStore: human tasks (engine/task_book.h says what they are). Task rows
// and their candidates; an inbox search is one statement built from the
// filters a caller set, over the indexes schema 4 declares.
#include <climits>
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

// The due date of a task without one: sorts last, never falls due.
constexpr int64_t kNoDue = INT64_MAX;

// The stored state: claimed is open with an assignee.
const char* StoredState(TaskState s) { return TaskActive(s) ? "open" : TaskStateName(s); }

std::string ListJson(const std::vector<std::string>& v) {
  return json(v).dump(-1, ' ', false, json::error_handler_t::replace);
}

Result<std::vector<std::string>> ListFromJson(const std::string& text, const std::string& id) {
  if (text == "[]") return std::vector<std::string>();  // most tasks: no parse
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
  if (!state || *state == TaskState::kClaimed) return store::Damaged("tasks", "state '" + s.Text(7) + "' of " + t.id);
  t.assignee = s.Text(8);
  // Claimed is stored as open with an assignee: a claim moves no index.
  t.state = *state == TaskState::kOpen && !t.assignee.empty() ? TaskState::kClaimed : *state;
  t.priority = s.Int(9);
  t.position = s.Int(10);
  t.created_ms = s.Int(11);
  t.created_height = s.Int(12);
  if (s.Int(13) != kNoDue) t.due_ms = s.Int(13);
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

namespace {

// The statement a search runs, selecting `what` (the task columns, or the
// task numbers alone), with its parameters.
struct TaskSearch {
  std::string sql;
  std::vector<std::variant<int64_t, std::string>> args;
};

TaskSearch BuildTaskSearch(const TaskQuery& q, bool numbers_only) {
  // Positional parameters, bound in the order the clauses are added. The
  // states are literals: SQLite uses a partial index (WHERE state = 'open')
  // only when the query says so in its text.
  std::vector<std::variant<int64_t, std::string>> args;
  std::string from = " FROM tasks", where = " WHERE 1", order_no = "no";
  const char* dir = q.descending ? " DESC" : "";
  bool by_group = !q.candidate_group.empty();
  if (by_group && q.order == TaskQuery::Order::kCreated) {
    // The candidates' key is (kind, name, task): walked in task order, it
    // yields a group's tasks in creation order without a sort.
    from = " FROM task_candidates c CROSS JOIN tasks t ON t.no = c.task_no";
    where = " WHERE c.kind = 0 AND c.name = ?";
    args.emplace_back(q.candidate_group);
    order_no = "c.task_no";
    by_group = false;
  }
  std::string sql = std::string("SELECT ") + (numbers_only ? order_no : std::string(kTaskCols)) + from + where;
  auto text = [&](const char* clause, const std::string& v) {
    if (v.empty()) return;
    sql += clause;
    args.emplace_back(v);
  };
  text(" AND queue = ?", q.queue);
  // "!= ''" spelled out: the assignee index is partial on it.
  if (!q.assignee.empty()) text(" AND assignee != '' AND assignee = ?", q.assignee);
  text(" AND definition = ?", q.definition);
  text(" AND instance = ?", q.instance);
  if (by_group) text(" AND no IN (SELECT task_no FROM task_candidates WHERE kind = 0 AND name = ?)", q.candidate_group);
  text(" AND no IN (SELECT task_no FROM task_candidates WHERE kind = 1 AND name = ?)", q.candidate_user);
  bool open = false, claimed = false, closed = false;
  for (TaskState st : q.states) {
    open = open || st == TaskState::kOpen;
    claimed = claimed || st == TaskState::kClaimed;
    closed = closed || !TaskActive(st);
  }
  if (!q.states.empty() && !closed) {
    sql += " AND state = 'open'";
    if (open != claimed) sql += open ? " AND assignee = ''" : " AND assignee != ''";
  } else if (!q.states.empty()) {
    std::string any;
    for (TaskState st : q.states) {
      const char* cond = st == TaskState::kOpen      ? "(state = 'open' AND assignee = '')"
                         : st == TaskState::kClaimed ? "(state = 'open' AND assignee != '')"
                         : st == TaskState::kCompleted ? "state = 'completed'"
                                                       : "state = 'cancelled'";
      any += (any.empty() ? "" : " OR ") + std::string(cond);
    }
    sql += " AND (" + any + ")";
  }
  auto number = [&](const char* clause, const std::optional<int64_t>& v) {
    if (!v) return;
    sql += clause;
    args.emplace_back(*v);
  };
  number(" AND due_ms < ?", q.due_before);
  if (q.due_after) {
    number(" AND due_ms >= ?", q.due_after);
    sql += " AND due_ms != " + std::to_string(kNoDue);
  }
  number(" AND priority >= ?", q.priority_min);
  number(" AND priority <= ?", q.priority_max);
  // Ties go by creation in the same direction, so an index gives the order.
  switch (q.order) {
    case TaskQuery::Order::kCreated: sql += " ORDER BY " + order_no + dir; break;
    case TaskQuery::Order::kDue: sql += std::string(" ORDER BY due_ms") + dir + ", no" + dir; break;
    case TaskQuery::Order::kPriority: sql += std::string(" ORDER BY priority") + dir + ", no" + dir; break;
  }
  sql += " LIMIT ? OFFSET ?";
  args.emplace_back(q.limit);
  args.emplace_back(q.offset);
  return {std::move(sql), std::move(args)};
}

void BindSearch(Stmt& s, const TaskSearch& search) {
  for (size_t i = 0; i < search.args.size(); ++i) {
    int at = static_cast<int>(i) + 1;
    if (const auto* n = std::get_if<int64_t>(&search.args[i])) s.Bind(at, *n);
    else s.Bind(at, std::get<std::string>(search.args[i]));
  }
}

}  // namespace

Result<std::vector<TaskRow>> NodeStore::SearchTasks(const TaskQuery& q) {
  TaskSearch search = BuildTaskSearch(q, false);
  ReaderLease lease = LeaseReader();
  Stmt s = lease.db().Prepare(search.sql.c_str());
  BindSearch(s, search);
  return ReadTasks(s);
}

Result<std::vector<int64_t>> NodeStore::SearchTaskNumbers(const TaskQuery& q) {
  TaskSearch search = BuildTaskSearch(q, true);
  ReaderLease lease = LeaseReader();
  Stmt s = lease.db().Prepare(search.sql.c_str());
  BindSearch(s, search);
  std::vector<int64_t> out;
  while (s.Step()) out.push_back(s.Int(0));
  TREATY_RETURN_IF_ERROR(s.status());
  return out;
}

Result<std::optional<TaskRow>> NodeStore::GetTaskByNo(int64_t no) {
  static const std::string sql = std::string("SELECT ") + kTaskCols + " FROM tasks WHERE no = ?";
  ReaderLease lease = LeaseReader();
  Stmt s = lease.db().Prepare(sql.c_str());
  s.Bind(1, no);
  TREATY_ASSIGN_OR_RETURN(bool found, store::HasRow(s));
  if (!found) return std::optional<TaskRow>();
  TREATY_ASSIGN_OR_RETURN(TaskRow t, ReadTask(s));
  return std::optional<TaskRow>(std::move(t));
}

namespace {

Result<std::optional<int64_t>> QueryNextDue(Db& db) {
  // The partial index holds open tasks with a due date not yet overdue (the
  // literal is kNoDue: a partial index is used only when the query says so).
  Stmt s = db.Prepare(
      "SELECT MIN(due_ms) FROM tasks WHERE state = 'open' AND overdue = 0 AND due_ms != 9223372036854775807");
  TREATY_RETURN_IF_ERROR(store::ExpectRow(s, "next due date"));
  if (s.IsNull(0) || s.Int(0) == kNoDue) return std::optional<int64_t>();
  return std::optional<int64_t>(s.Int(0));
}

}  // namespace

Result<std::optional<int64_t>> NodeStore::NextTaskDue() {
  ReaderLease lease = LeaseReader();
  return QueryNextDue(lease.db());
}

Result<std::optional<int64_t>> WriteTxn::NextTaskDue() { return QueryNextDue(db()); }

Result<bool> NodeStore::TaskBackfillPending() {
  ReaderLease lease = LeaseReader();
  Stmt s = lease.db().Prepare("SELECT 1 FROM meta WHERE key = 'tasks_backfill'");
  return store::HasRow(s);
}

Status WriteTxn::ClearTaskBackfill() {
  Stmt s = db().Prepare("DELETE FROM meta WHERE key = 'tasks_backfill'");
  return s.Run();
}

Result<std::pair<int64_t, int64_t>> NodeStore::TaskCounts() {
  ReaderLease lease = LeaseReader();
  Stmt s = lease.db().Prepare("SELECT COUNT(*), COALESCE(SUM(overdue), 0) FROM tasks WHERE state = 'open'");
  TREATY_RETURN_IF_ERROR(store::ExpectRow(s, "task count"));
  return std::make_pair(s.Int(0), s.Int(1));
}

Result<std::vector<InstanceRow>> NodeStore::ActiveInstances(int64_t after_no, size_t max) {
  static const std::string sql =
      std::string("SELECT ") + store::kInstanceCols + " FROM instances WHERE no > ? AND final = 0 ORDER BY no LIMIT ?";
  ReaderLease lease = LeaseReader();
  Stmt s = lease.db().Prepare(sql.c_str());
  s.Bind(1, after_no).Bind(2, static_cast<int64_t>(max));
  return store::ReadInstances(s);
}

Result<std::optional<TaskRow>> WriteTxn::GetTask(const std::string& id) { return QueryTask(db(), id); }

Status WriteTxn::InsertTask(TaskRow* t) {
  Stmt s = db().Prepare(
      "INSERT INTO tasks (id, instance, definition, version, step, queue, state, assignee, priority, position, "
      "created_ms, created_height, due_ms, follow_up_ms, overdue, attempts, candidate_groups, candidate_users, "
      "updated_ms) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING no");
  s.Bind(1, t->id).Bind(2, t->instance).Bind(3, t->definition).Bind(4, t->version).Bind(5, t->step);
  s.Bind(6, t->queue).Bind(7, StoredState(t->state)).Bind(8, t->assignee).Bind(9, t->priority);
  s.Bind(10, t->position).Bind(11, t->created_ms).Bind(12, t->created_height).Bind(13, t->due_ms.value_or(kNoDue));
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
                                 " FROM tasks WHERE instance = ? AND state = 'open' ORDER BY no";
  Stmt s = db().Prepare(sql.c_str());
  s.Bind(1, instance);
  return ReadTasks(s);
}

Status WriteTxn::UpdateTask(const TaskRow& before_row, const TaskRow& t) {
  const TaskRow* before = &before_row;
  if (before->no == 0 || before->id != t.id) return Status::Internal("task " + t.id + " updated without its row");
  // Only the columns that changed: SQLite rewrites every index on a column
  // an UPDATE names, changed or not, and a claim should move one entry.
  std::string sql = "UPDATE tasks SET updated_ms = ?";
  std::vector<std::variant<int64_t, std::string, std::nullptr_t>> args{t.updated_ms};
  auto set = [&](const char* col, auto v) {
    sql += std::string(", ") + col + " = ?";
    args.emplace_back(v);
  };
  if (StoredState(t.state) != std::string(StoredState(before->state))) set("state", std::string(StoredState(t.state)));
  if (t.assignee != before->assignee) set("assignee", t.assignee);
  if (t.priority != before->priority) set("priority", t.priority);
  if (t.due_ms != before->due_ms) set("due_ms", t.due_ms.value_or(kNoDue));
  if (t.follow_up_ms != before->follow_up_ms) {
    if (t.follow_up_ms) set("follow_up_ms", *t.follow_up_ms);
    else set("follow_up_ms", nullptr);
  }
  if (t.overdue != before->overdue) set("overdue", static_cast<int64_t>(t.overdue));
  if (t.attempts != before->attempts) set("attempts", t.attempts);
  if (t.candidate_groups != before->candidate_groups) set("candidate_groups", ListJson(t.candidate_groups));
  if (t.candidate_users != before->candidate_users) set("candidate_users", ListJson(t.candidate_users));
  if (!TaskActive(t.state) && TaskActive(before->state)) {
    set("closed_ms", t.closed_ms);
    set("closed_height", t.closed_height);
    set("close_reason", t.close_reason);
    set("closed_by", t.closed_by);
  }
  sql += " WHERE no = ?";
  args.emplace_back(before->no);
  Stmt s = db().Prepare(sql.c_str());
  for (size_t i = 0; i < args.size(); ++i) {
    int at = static_cast<int>(i) + 1;
    if (const auto* n = std::get_if<int64_t>(&args[i])) s.Bind(at, *n);
    else if (const auto* str = std::get_if<std::string>(&args[i])) s.Bind(at, *str);
    else s.BindNull(at);
  }
  TREATY_RETURN_IF_ERROR(s.Run());
  if (db().Changes() != 1) return Status::Internal("task " + t.id + " to update is missing");
  if (before->candidate_groups == t.candidate_groups && before->candidate_users == t.candidate_users)
    return Status::Ok();
  TaskRow numbered = t;
  numbered.no = before->no;
  return PutCandidates(db(), numbered, /*replace=*/true);
}

Result<std::vector<TaskRow>> WriteTxn::TasksFallenDue(int64_t now_ms, size_t max) {
  static const std::string sql = std::string("SELECT ") + kTaskCols +
                                 " FROM tasks WHERE state = 'open' AND overdue = 0 AND due_ms != 9223372036854775807 AND due_ms <= ? "
                                 "ORDER BY due_ms LIMIT ?";
  Stmt s = db().Prepare(sql.c_str());
  s.Bind(1, now_ms).Bind(2, static_cast<int64_t>(max));
  return ReadTasks(s);
}

}  // namespace treaty::engine
