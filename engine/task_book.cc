#include "engine/task_book.h"

#include <algorithm>
#include <climits>
#include <future>

#include <nlohmann/json.hpp>

namespace treaty::engine {

namespace {

using json = nlohmann::json;

// Whether a step leaving `from` may go from the active states: a step from a
// composite state leaves it from any of its substates ("checks.credit_ok").
bool Leaves(const defs::StepSpec& step, const std::vector<std::string>& active) {
  for (const auto& path : active) {
    size_t start = 0;
    while (start <= path.size()) {
      size_t dot = path.find('.', start);
      std::string_view part(path.data() + start, (dot == std::string::npos ? path.size() : dot) - start);
      for (const auto& f : step.from)
        if (f.name == part) return true;
      if (dot == std::string::npos) break;
      start = dot + 1;
    }
  }
  return false;
}

bool HoldsRoleOf(const defs::StepSpec& step, const InstanceRow& inst, const std::string& party) {
  for (const auto& r : step.by) {
    auto it = inst.roles.find(r.name);
    if (it != inst.roles.end() && it->second == party) return true;
  }
  return false;
}

// "the buyer's cancel": who applied the step, by the role it took it in.
std::string WhoseStep(const defs::Definition& model, const InstanceRow& inst, const ProposalRow& p) {
  const defs::StepSpec* step = model.FindStep(p.step);
  if (step != nullptr) {
    for (const auto& r : step->by) {
      auto it = inst.roles.find(r.name);
      if (it != inst.roles.end() && it->second == p.author) return "the " + r.name + "'s " + p.step;
    }
  }
  return "party " + p.author + "'s " + p.step;
}

// What the definition says of a new task: its due date counts from the
// ledger time its state was entered.
void ApplyTerms(const defs::TaskSpec& spec, int64_t entered_ms, TaskRow* t) {
  t->priority = spec.priority;
  if (spec.due_ms) t->due_ms = entered_ms + *spec.due_ms;
  t->candidate_groups = spec.candidate_groups;
  t->candidate_users = spec.candidate_users;
}

std::string TaskId(const std::string& instance, int64_t position, const std::string& step) {
  return instance + ":" + std::to_string(position) + ":" + step;
}

}  // namespace

const std::vector<const defs::StepSpec*>& TaskBook::HumanSteps(const runtime::DefinitionRuntime& def) {
  std::lock_guard<std::mutex> lock(steps_mu_);
  auto it = human_steps_.find(&def);
  if (it != human_steps_.end()) return it->second;
  std::vector<const defs::StepSpec*> steps;
  for (const auto& s : def.model().steps)
    if (s.task && !s.task->human_queue.empty()) steps.push_back(&s);
  return human_steps_.emplace(&def, std::move(steps)).first->second;
}

Status TaskBook::AppendTaskEvent(WriteTxn& txn, const TaskRow& t, const std::string& type, int64_t time_ms,
                                 int64_t height) {
  json payload = {{"task", t.id}, {"queue", t.queue}, {"state", TaskStateName(t.state)}, {"priority", t.priority}};
  if (!t.assignee.empty()) payload["assignee"] = t.assignee;
  if (t.due_ms) payload["due_ms"] = *t.due_ms;
  if (!t.close_reason.empty()) payload["reason"] = t.close_reason;
  EventRow ev;
  ev.type = type;
  ev.instance = t.instance;
  ev.definition = t.definition;
  ev.step = t.step;
  ev.time_ms = time_ms;
  ev.height = height;
  // Names come from callers: a byte that is not UTF-8 is replaced, never thrown.
  ev.payload_json = payload.dump(-1, ' ', false, json::error_handler_t::replace);
  return txn.AppendEvent(ev);
}

Status TaskBook::Applied(WriteTxn& txn, const runtime::DefinitionRuntime& def, const InstanceRow& inst,
                         const ProposalRow& p, const LedgerPosition& at) {
  if (HumanSteps(def).empty()) return Status::Ok();
  std::vector<TaskRow> active;
  if (p.kind == ProposalKind::kStep) {
    TREATY_ASSIGN_OR_RETURN(active, txn.ActiveTasksOf(inst.id));
  }
  TREATY_ASSIGN_OR_RETURN(runtime::Snapshot snap, inst.ParsedSnapshot());
  std::vector<TaskRow> still;
  for (auto& t : active) {
    const defs::StepSpec* step = def.model().FindStep(t.step);
    bool done = t.step == p.step;
    if (!done && step != nullptr && Leaves(*step, snap.active_states)) {
      still.push_back(std::move(t));
      continue;
    }
    const TaskRow before = t;
    t.state = done ? TaskState::kCompleted : TaskState::kCancelled;
    t.closed_ms = at.time_ms;
    t.closed_height = at.height;
    t.closed_by = p.id;
    t.close_reason = done ? "" : WhoseStep(def.model(), inst, p) + " was applied first at height " +
                                     std::to_string(at.height);
    t.updated_ms = ctx_->NowMs();
    TREATY_RETURN_IF_ERROR(txn.UpdateTask(before, t));
    Changed(t);
    TREATY_RETURN_IF_ERROR(
        AppendTaskEvent(txn, t, done ? "task_completed" : "task_cancelled", at.time_ms, at.height));
  }
  return Open(txn, def, inst, still, at);
}

Status TaskBook::Open(WriteTxn& txn, const runtime::DefinitionRuntime& def, const InstanceRow& inst,
                      const std::vector<TaskRow>& active, const LedgerPosition& at) {
  if (inst.final) return Status::Ok();
  TREATY_ASSIGN_OR_RETURN(runtime::Snapshot snap, inst.ParsedSnapshot());
  for (const defs::StepSpec* step : HumanSteps(def)) {
    if (!Leaves(*step, snap.active_states) || !HoldsRoleOf(*step, inst, ctx_->party())) continue;
    bool open = std::any_of(active.begin(), active.end(), [&](const TaskRow& t) { return t.step == step->name; });
    if (open) continue;  // its state was not left: the task opened then stays
    TaskRow t;
    t.id = TaskId(inst.id, inst.position, step->name);
    TREATY_ASSIGN_OR_RETURN(auto exists, txn.GetTask(t.id));
    if (exists) continue;  // closed already at this position (a replay of an upgrade)
    const defs::TaskSpec& spec = *step->task;
    t.instance = inst.id;
    t.definition = inst.definition;
    t.version = inst.version;
    t.step = step->name;
    t.queue = spec.human_queue;
    t.position = inst.position;
    t.created_ms = at.time_ms;
    t.created_height = at.height;
    ApplyTerms(spec, at.time_ms, &t);
    t.updated_ms = ctx_->NowMs();
    TREATY_RETURN_IF_ERROR(txn.InsertTask(&t));
    Changed(t);
    TREATY_RETURN_IF_ERROR(AppendTaskEvent(txn, t, "task_opened", at.time_ms, at.height));
    if (t.due_ms && due_listener_) due_listener_(*t.due_ms);
  }
  return Status::Ok();
}

Status TaskBook::LedgerTime(WriteTxn& txn, int64_t time_ms, int64_t height) {
  bool marked = false;
  while (true) {
    TREATY_ASSIGN_OR_RETURN(auto due, txn.TasksFallenDue(time_ms, 256));
    marked = marked || !due.empty();
    for (auto& t : due) {
      const TaskRow before = t;
      t.overdue = true;
      t.updated_ms = ctx_->NowMs();
      TREATY_RETURN_IF_ERROR(txn.UpdateTask(before, t));
      Changed(t);
      TREATY_RETURN_IF_ERROR(AppendTaskEvent(txn, t, "task_overdue", time_ms, height));
    }
    if (due.size() < 256) break;
  }
  if (!marked || !due_listener_) return Status::Ok();
  // The next date an idle node's ledger time must reach.
  TREATY_ASSIGN_OR_RETURN(auto next, txn.NextTaskDue());
  if (next) due_listener_(*next);
  return Status::Ok();
}

Status TaskBook::OpenMissing() {
  TREATY_ASSIGN_OR_RETURN(bool pending, ctx_->store->TaskBackfillPending());
  if (!pending) return Status::Ok();
  int64_t after = 0;
  size_t looked = 0, skipped = 0;
  while (true) {
    TREATY_ASSIGN_OR_RETURN(auto rows, ctx_->store->ActiveInstances(after, 512));
    if (rows.empty()) break;
    TREATY_ASSIGN_OR_RETURN(auto txn, ctx_->store->Begin("task"));
    for (const auto& inst : rows) {
      after = inst.no;
      auto def = ctx_->DefinitionByHash(inst.def_hash);
      if (!def) {
        ++skipped;  // looked at again at the next start, once it is loaded
        continue;
      }
      if (HumanSteps(*def).empty()) continue;
      TREATY_ASSIGN_OR_RETURN(auto active, txn->ActiveTasksOf(inst.id));
      // The state was entered when the instance last changed.
      TREATY_RETURN_IF_ERROR(Open(*txn, *def, inst, active, LedgerPosition{inst.height, inst.updated_ms, 0}));
      ++looked;
    }
    TREATY_RETURN_IF_ERROR(txn->Commit());
  }
  // Opening is idempotent (ids are the ones a replay gives), so a start
  // that stops half-way does it again until this mark is gone.
  if (skipped == 0) {
    TREATY_ASSIGN_OR_RETURN(auto txn, ctx_->store->Begin("task"));
    TREATY_RETURN_IF_ERROR(txn->ClearTaskBackfill());
    TREATY_RETURN_IF_ERROR(txn->Commit());
  } else {
    ctx_->Log("tasks: " + std::to_string(skipped) + " instance(s) of the upgraded store run a definition that is not "
              "loaded; their tasks open once it is",
              LogLevel::kWarning);
  }
  if (looked > 0) ctx_->Log("tasks: looked at " + std::to_string(looked) + " instances of the upgraded store");
  std::vector<ProposalRow> none;
  waiters_->Applied(&none, 0);
  return Status::Ok();
}

Status TaskBook::WantNextDue() {
  if (!due_listener_) return Status::Ok();
  TREATY_ASSIGN_OR_RETURN(auto next, ctx_->store->NextTaskDue());
  if (next) due_listener_(*next);
  return Status::Ok();
}

void TaskBook::Committed() {
  for (auto& t : changed_) open_.Put(std::move(t));
  changed_.clear();
}

Status TaskBook::Load() {
  // Under the writer lock: no transaction may commit (and Put a newer row)
  // between the read and the reset.
  TREATY_ASSIGN_OR_RETURN(auto hold, ctx_->store->Begin("load"));
  TaskQuery all;
  all.states = {TaskState::kOpen, TaskState::kClaimed};
  all.limit = INT64_MAX;
  TREATY_ASSIGN_OR_RETURN(auto rows, ctx_->store->SearchTasks(all));
  open_.Reset(std::move(rows));
  return Status::Ok();
}

Result<std::optional<TaskRow>> TaskBook::Get(const std::string& id) {
  if (auto t = open_.ById(id)) return std::optional<TaskRow>(*t);
  return ctx_->store->GetTask(id);
}

Result<std::vector<TaskRow>> TaskBook::Search(const TaskQuery& q, int64_t* matched) {
  // A clerk's inbox — a queue's open tasks nobody holds, oldest (or newest)
  // first — is answered from memory; anything else asks the store.
  bool inbox = !q.queue.empty() && q.states.size() == 1 && q.states[0] == TaskState::kOpen &&
               q.order == TaskQuery::Order::kCreated && q.assignee.empty() && q.candidate_group.empty() &&
               q.candidate_user.empty() && q.definition.empty() && q.instance.empty() && !q.due_before &&
               !q.due_after && !q.priority_min && !q.priority_max;
  std::vector<TaskRow> out;
  if (inbox) {
    for (const auto& t : open_.Unassigned(q.queue, q.descending, q.offset, q.limit)) out.push_back(*t);
    if (matched) *matched = static_cast<int64_t>(out.size());
    return out;
  }
  TREATY_ASSIGN_OR_RETURN(auto numbers, ctx_->store->SearchTaskNumbers(q));
  // What the query matched, whatever changed since: the caller's paging
  // goes by it, not by the rows still matching now.
  if (matched) *matched = static_cast<int64_t>(numbers.size());
  auto still = [&](const TaskRow& t) {
    // A task changed after the query named it: still what was asked for?
    if (!q.states.empty() && std::find(q.states.begin(), q.states.end(), t.state) == q.states.end()) return false;
    return q.assignee.empty() || t.assignee == q.assignee;
  };
  out.reserve(numbers.size());
  for (int64_t no : numbers) {
    if (auto t = open_.ByNo(no)) {
      if (still(*t)) out.push_back(*t);
      continue;
    }
    TREATY_ASSIGN_OR_RETURN(auto t, ctx_->store->GetTaskByNo(no));
    if (t && still(*t)) out.push_back(std::move(*t));
  }
  return out;
}

Result<std::pair<TaskRow, std::string>> TaskBook::NextCompletion(TaskRow t) {
  // A completion rejected at the ledger whose caller never heard it (a
  // timeout, a restart) left its key behind: the next attempt moves on.
  for (int round = 0; round < 8; ++round) {
    std::string key = CompletionKey(t);
    TREATY_ASSIGN_OR_RETURN(auto known, ctx_->store->IdempotencyKey(key));
    if (!known) return std::make_pair(std::move(t), key);
    TREATY_ASSIGN_OR_RETURN(auto p, ctx_->store->GetProposal(known->proposal));
    if (!p || p->status != ProposalStatus::kRejected) return std::make_pair(std::move(t), key);
    TREATY_RETURN_IF_ERROR(Rejected(t.id, t.attempts));
    TREATY_ASSIGN_OR_RETURN(auto now, Get(t.id));
    if (!now) return Status::NotFound("no task '" + t.id + "' at party " + ctx_->party());
    t = std::move(*now);
  }
  return Status::Internal("task '" + t.id + "': no free completion key after 8 attempts");
}

std::string TaskBook::CompletionKey(const TaskRow& t) {
  return "task:" + t.id + ":" + std::to_string(t.attempts);
}

void TaskBook::Start() {
  std::lock_guard<std::mutex> lock(queue_mu_);
  if (writer_.joinable()) return;
  stop_ = false;
  writer_ = std::thread([this] { WriterLoop(); });
}

void TaskBook::Stop() {
  {
    std::lock_guard<std::mutex> lock(queue_mu_);
    stop_ = true;
  }
  queue_cv_.notify_all();
  if (writer_.joinable()) writer_.join();
}

void TaskBook::Submit(std::string id, Change change, Done done) {
  auto c = std::make_unique<LocalChange>();
  c->id = std::move(id);
  c->change = std::move(change);
  c->done = std::move(done);
  {
    std::lock_guard<std::mutex> lock(queue_mu_);
    if (!stop_) {
      queue_.push_back(std::move(c));
      queue_cv_.notify_one();
      return;
    }
  }
  c->done(Status::Unavailable("the node is stopping"));
}

Result<TaskRow> TaskBook::Local(const std::string& id, Change change) {
  std::promise<Result<TaskRow>> answer;
  auto future = answer.get_future();
  Submit(id, std::move(change), [&answer](Result<TaskRow> r) { answer.set_value(std::move(r)); });
  return future.get();
}

void TaskBook::WriterLoop() {
  // Group commit: every change queued while a transaction was being written
  // goes into the next one, so concurrent claims share a commit and no
  // request thread waits for the writer lock.
  std::unique_lock<std::mutex> lock(queue_mu_);
  while (true) {
    queue_cv_.wait(lock, [&] { return stop_ || !queue_.empty(); });
    if (queue_.empty()) return;  // stopping, nothing left
    std::vector<std::unique_ptr<LocalChange>> batch;
    while (!queue_.empty() && batch.size() < 256) {
      batch.push_back(std::move(queue_.front()));
      queue_.pop_front();
    }
    lock.unlock();
    std::vector<LocalChange*> view;
    for (auto& c : batch) view.push_back(c.get());
    WriteLocal(view);
    for (auto& c : batch) c->done(std::move(c->result));
    lock.lock();
  }
}

void TaskBook::WriteLocal(const std::vector<LocalChange*>& batch) {
  auto fail_all = [&](const Status& st) {
    for (LocalChange* c : batch) c->result = st;
  };
  // Relaxed: the commit reaches the operating system, so it survives the
  // process (kill -9), but does not wait for the disk; the next durable
  // commit (a block, within milliseconds on a busy node) takes it there. A
  // power cut may lose the last claims — bookkeeping, never a ledger fact.
  auto txn = ctx_->store->Begin("task", NodeStore::Durability::kRelaxed);
  if (!txn.ok()) return fail_all(txn.status());
  bool wrote = false;
  for (LocalChange* c : batch) {
    auto t = (*txn)->GetTask(c->id);
    if (!t.ok()) return fail_all(t.status());
    if (!*t) {
      c->result = Status::NotFound("no task '" + c->id + "' at party " + ctx_->party());
      continue;
    }
    const TaskRow before = **t;
    std::string event;
    if (Status st = c->change(&**t, &event); !st.ok()) {
      c->result = st;  // refused: this change only
      continue;
    }
    if (!event.empty()) {
      (*t)->updated_ms = ctx_->NowMs();
      // Local facts, not the ledger's: node time, and no block height.
      Status st = (*txn)->UpdateTask(before, **t);
      if (st.ok()) st = AppendTaskEvent(**txn, **t, event, (*t)->updated_ms, 0);
      if (!st.ok()) return fail_all(st);
      Changed(**t);
      wrote = true;
    }
    c->result = std::move(**t);
  }
  if (!wrote) return;  // nothing changed: the transaction is rolled back
  if (Status st = (*txn)->Commit(); !st.ok()) {
    for (LocalChange* c : batch)
      if (c->result.ok()) c->result = st;
    return;
  }
  txn->reset();  // the writer lock goes before the event streams are woken
  std::vector<ProposalRow> none;
  waiters_->Applied(&none, 0);
}

namespace {

Status MustBeActive(const TaskRow& t) {
  if (TaskActive(t.state)) return Status::Ok();
  std::string why = t.state == TaskState::kCompleted ? "completed at height " + std::to_string(t.closed_height)
                                                     : "cancelled: " + t.close_reason;
  return Status::FailedPrecondition("task '" + t.id + "' is " + why);
}

Status ValidAssignee(const std::string& a) {
  if (a.empty()) return Status::InvalidArgument("an assignee is required");
  if (a.size() > 256) return Status::InvalidArgument("an assignee is at most 256 bytes");
  return Status::Ok();
}

}  // namespace

Result<TaskBook::Change> TaskBook::ClaimChange(const std::string& assignee, bool allow_override) {
  TREATY_RETURN_IF_ERROR(ValidAssignee(assignee));
  return Change([assignee, allow_override](TaskRow* t, std::string* event) -> Status {
    TREATY_RETURN_IF_ERROR(MustBeActive(*t));
    if (t->assignee == assignee) return Status::Ok();
    if (!t->assignee.empty() && !allow_override)
      return Status::FailedPrecondition("task '" + t->id + "' is claimed by '" + t->assignee +
                                        "'; set allow_override to take it over");
    t->assignee = assignee;
    t->state = TaskState::kClaimed;
    *event = "task_claimed";
    return Status::Ok();
  });
}

Result<TaskBook::Change> TaskBook::UnclaimChange() {
  return Change([](TaskRow* t, std::string* event) -> Status {
    TREATY_RETURN_IF_ERROR(MustBeActive(*t));
    if (t->assignee.empty()) return Status::Ok();
    t->assignee.clear();
    t->state = TaskState::kOpen;
    *event = "task_unclaimed";
    return Status::Ok();
  });
}

Result<TaskBook::Change> TaskBook::AssignChange(const std::string& assignee) {
  if (!assignee.empty()) TREATY_RETURN_IF_ERROR(ValidAssignee(assignee));
  return Change([assignee](TaskRow* t, std::string* event) -> Status {
    TREATY_RETURN_IF_ERROR(MustBeActive(*t));
    if (t->assignee == assignee) return Status::Ok();
    t->assignee = assignee;
    t->state = assignee.empty() ? TaskState::kOpen : TaskState::kClaimed;
    *event = "task_assigned";
    return Status::Ok();
  });
}

Result<TaskBook::Change> TaskBook::UpdateChange(const Changes& c) {
  if (c.priority && (*c.priority < 0 || *c.priority > 100))
    return Status::InvalidArgument("priority must be from 0 to 100, not " + std::to_string(*c.priority));
  for (const auto* list : {&c.candidate_groups, &c.candidate_users}) {
    if (!*list) continue;
    for (const auto& name : **list)
      if (name.empty() || name.size() > 256) return Status::InvalidArgument("a candidate is 1 to 256 bytes");
  }
  return Change([this, c](TaskRow* t, std::string* event) -> Status {
    TREATY_RETURN_IF_ERROR(MustBeActive(*t));
    TaskRow before = *t;
    if (c.due_ms && *c.due_ms != t->due_ms) {
      t->due_ms = *c.due_ms;
      t->overdue = false;  // a new date is judged again when ledger time reaches it
      if (t->due_ms && due_listener_) due_listener_(*t->due_ms);
    }
    if (c.follow_up_ms) t->follow_up_ms = *c.follow_up_ms;
    if (c.priority) t->priority = *c.priority;
    if (c.candidate_groups) t->candidate_groups = *c.candidate_groups;
    if (c.candidate_users) t->candidate_users = *c.candidate_users;
    bool changed = t->due_ms != before.due_ms || t->follow_up_ms != before.follow_up_ms ||
                   t->priority != before.priority || t->candidate_groups != before.candidate_groups ||
                   t->candidate_users != before.candidate_users;
    if (changed) *event = "task_updated";
    return Status::Ok();
  });
}

TaskBook::Change TaskBook::RejectedChange(int64_t attempt) {
  return [attempt](TaskRow* t, std::string* event) -> Status {
    if (t->attempts != attempt || !TaskActive(t->state)) return Status::Ok();
    t->attempts = attempt + 1;
    *event = "task_completion_rejected";
    return Status::Ok();
  };
}

Status TaskBook::Rejected(const std::string& id, int64_t attempt) {
  return Local(id, RejectedChange(attempt)).status();
}

void TaskBook::Rejected(const std::string& id, int64_t attempt, Done done) {
  Submit(id, RejectedChange(attempt), std::move(done));
}

void TaskBook::Run(const std::string& id, Result<Change> change, Done done) {
  if (!change.ok()) return done(change.status());
  Submit(id, std::move(*change), std::move(done));
}

Result<TaskRow> TaskBook::Run(const std::string& id, Result<Change> change) {
  TREATY_RETURN_IF_ERROR(change.status());
  return Local(id, std::move(*change));
}

}  // namespace treaty::engine
