// TaskBook, its second half: this party's own changes to its tasks —
// claims, assignments, updates, the attempts of rejected completions —
// queued by any thread and committed by the TaskBook's writer thread, many
// to a transaction (task_book.h).
#include <future>

#include "engine/task_book.h"

namespace treaty::engine {

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
