#include "engine/task_book.h"

#include <algorithm>
#include <climits>
#include <future>

#include <nlohmann/json.hpp>

#include "engine/step_work.h"

namespace treaty::engine {

namespace {

using json = nlohmann::json;

// What the definition says of a new task: its due date counts from the
// ledger time its state was entered.
void ApplyTerms(const defs::TaskSpec& spec, int64_t entered_ms, TaskRow* t) {
  t->priority = spec.priority;
  if (spec.due_ms) t->due_ms = entered_ms + *spec.due_ms;
  t->candidate_groups = spec.candidate_groups;
  t->candidate_users = spec.candidate_users;
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
  return AppendStepWorkEvent(txn, type, t.instance, t.definition, t.step, payload, time_ms, height);
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
    if (!done && step != nullptr && LeavesActive(*step, snap.active_states)) {
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
    if (!LeavesActive(*step, snap.active_states) || !HoldsRoleOf(*step, inst, ctx_->party())) continue;
    bool open = std::any_of(active.begin(), active.end(), [&](const TaskRow& t) { return t.step == step->name; });
    if (open) continue;  // its state was not left: the task opened then stays
    TaskRow t;
    t.id = StepWorkId(inst.id, inst.position, step->name);
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
  size_t looked = 0;
  TREATY_ASSIGN_OR_RETURN(
      size_t skipped,
      ForEachWaitingInstance(ctx_, "task", [&](WriteTxn& txn, const runtime::DefinitionRuntime& def,
                                               const InstanceRow& inst) -> Status {
        if (HumanSteps(def).empty()) return Status::Ok();
        TREATY_ASSIGN_OR_RETURN(auto active, txn.ActiveTasksOf(inst.id));
        ++looked;
        // The state was entered when the instance last changed.
        return Open(txn, def, inst, active, LedgerPosition{inst.height, inst.updated_ms, 0});
      }));
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
  // A queue's open tasks — nobody's (a clerk's inbox), claimed, or both —
  // oldest (or newest) first, are answered from memory; anything else asks
  // the store.
  bool open = false, claimed = false, closed = false;
  for (TaskState st : q.states) {
    open = open || st == TaskState::kOpen;
    claimed = claimed || st == TaskState::kClaimed;
    closed = closed || !TaskActive(st);
  }
  bool inbox = !q.queue.empty() && !q.states.empty() && !closed && q.order == TaskQuery::Order::kCreated &&
               q.assignee.empty() && q.candidate_group.empty() && q.candidate_user.empty() && q.definition.empty() &&
               q.instance.empty() && !q.due_before && !q.due_after && !q.priority_min && !q.priority_max;
  std::vector<TaskRow> out;
  if (inbox) {
    OpenTasks::Held held = open && claimed ? OpenTasks::Held::kAny
                           : open          ? OpenTasks::Held::kNobody
                                           : OpenTasks::Held::kSomebody;
    for (const auto& t : open_.InQueue(q.queue, held, q.descending, q.offset, q.limit)) out.push_back(*t);
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

}  // namespace treaty::engine
