// JobBook, its first half: opening and closing jobs as the ledger moves,
// the open jobs in memory, and handing activatable jobs to the workers
// waiting for them (job_book.h). The local changes and the timers are in
// job_book_local.cc.
#include "engine/job_book.h"

#include <algorithm>

#include <nlohmann/json.hpp>

#include "engine/step_work.h"

namespace treaty::engine {

namespace {

using json = nlohmann::json;

}  // namespace

const std::vector<const defs::StepSpec*>& JobBook::JobSteps(const runtime::DefinitionRuntime& def) {
  std::lock_guard<std::mutex> lock(steps_mu_);
  auto it = job_steps_.find(&def);
  if (it != job_steps_.end()) return it->second;
  std::vector<const defs::StepSpec*> steps;
  for (const auto& s : def.model().steps)
    if (s.task && !s.task->job_type.empty()) steps.push_back(&s);
  return job_steps_.emplace(&def, std::move(steps)).first->second;
}

const defs::TaskSpec* JobBook::SpecOf(const JobRow& j) const {
  auto def = ctx_->registry->Find(j.definition, j.version);
  if (!def) return nullptr;
  const defs::StepSpec* step = def->model().FindStep(j.step);
  return step != nullptr && step->task ? &*step->task : nullptr;
}

Status JobBook::AppendJobEvent(WriteTxn& txn, const JobRow& j, const std::string& type, int64_t time_ms,
                               int64_t height) {
  json payload = {{"job", j.id}, {"type", j.type}, {"state", JobStateName(j.state)}, {"retries", j.retries}};
  if (!j.worker.empty()) payload["worker"] = j.worker;
  if (j.state == JobState::kActivated) payload["deadline_ms"] = j.deadline_ms;
  if (j.state == JobState::kFailed) payload["retry_at_ms"] = j.retry_at_ms;
  if (!j.error_message.empty()) payload["error"] = j.error_message;
  if (!j.error_code.empty()) payload["code"] = j.error_code;
  if (type == "incident_raised" || type == "incident_resolved") {
    payload["incident"] = j.IncidentId();
    payload["kind"] = j.incident_kind;
    payload["message"] = j.incident_message;
  }
  if (!j.close_reason.empty()) payload["reason"] = j.close_reason;
  return AppendStepWorkEvent(txn, type, j.instance, j.definition, j.step, payload, time_ms, height);
}

Status JobBook::Applied(WriteTxn& txn, const runtime::DefinitionRuntime& def, const InstanceRow& inst,
                        const ProposalRow& p, const LedgerPosition& at) {
  if (JobSteps(def).empty()) return Status::Ok();
  std::vector<JobRow> open;
  if (p.kind == ProposalKind::kStep) {
    TREATY_ASSIGN_OR_RETURN(open, txn.OpenJobsOf(inst.id));
  }
  TREATY_ASSIGN_OR_RETURN(runtime::Snapshot snap, inst.ParsedSnapshot());
  std::vector<JobRow> still;
  for (auto& j : open) {
    const defs::StepSpec* step = def.model().FindStep(j.step);
    bool done = j.step == p.step;
    // The step the worker's thrown error maps to (NoteThrown wrote it).
    const defs::JobError* thrown = nullptr;
    if (!done && step != nullptr && step->task && !j.error_code.empty()) {
      thrown = step->task->FindJobError(j.error_code);
      if (thrown != nullptr && thrown->step != p.step) thrown = nullptr;
    }
    if (!done && thrown == nullptr && step != nullptr && LeavesActive(*step, snap.active_states)) {
      still.push_back(std::move(j));
      continue;
    }
    bool had_incident = j.state == JobState::kIncident;
    j.state = done ? JobState::kCompleted : thrown != nullptr ? JobState::kErrorThrown : JobState::kCancelled;
    j.closed_ms = at.time_ms;
    j.closed_height = at.height;
    j.closed_by = p.id;
    j.close_reason = done || thrown != nullptr ? "" : WhoseStep(def.model(), inst, p) +
                                                          " was applied first at height " +
                                                          std::to_string(at.height);
    j.updated_ms = ctx_->NowMs();
    TREATY_RETURN_IF_ERROR(txn.UpdateJob(j));
    Changed(j);
    if (had_incident) {
      // Its job is gone: the incident with it.
      JobRow resolved = j;
      resolved.incident_message += " (closed with its job)";
      TREATY_RETURN_IF_ERROR(AppendJobEvent(txn, resolved, "incident_resolved", at.time_ms, at.height));
    }
    const char* event = done ? "job_completed" : thrown != nullptr ? "job_error_thrown" : "job_cancelled";
    TREATY_RETURN_IF_ERROR(AppendJobEvent(txn, j, event, at.time_ms, at.height));
  }
  return Open(txn, def, inst, still, at);
}

Status JobBook::Open(WriteTxn& txn, const runtime::DefinitionRuntime& def, const InstanceRow& inst,
                     const std::vector<JobRow>& open, const LedgerPosition& at) {
  if (inst.final) return Status::Ok();
  TREATY_ASSIGN_OR_RETURN(runtime::Snapshot snap, inst.ParsedSnapshot());
  for (const defs::StepSpec* step : JobSteps(def)) {
    if (!LeavesActive(*step, snap.active_states) || !HoldsRoleOf(*step, inst, ctx_->party())) continue;
    if (std::any_of(open.begin(), open.end(), [&](const JobRow& j) { return j.step == step->name; })) continue;
    JobRow j;
    j.id = StepWorkId(inst.id, inst.position, step->name);
    TREATY_ASSIGN_OR_RETURN(auto exists, txn.GetJob(j.id));
    if (exists) continue;  // closed already at this position (a replay of an upgrade)
    j.type = step->task->job_type;
    j.instance = inst.id;
    j.definition = inst.definition;
    j.version = inst.version;
    j.step = step->name;
    j.position = inst.position;
    j.state = JobState::kActivatable;
    j.retries = step->task->job_retries;
    j.created_ms = at.time_ms;
    j.created_height = at.height;
    j.opened_ms = j.updated_ms = ctx_->NowMs();
    TREATY_RETURN_IF_ERROR(txn.InsertJob(&j));
    Changed(j);
    TREATY_RETURN_IF_ERROR(AppendJobEvent(txn, j, "job_opened", at.time_ms, at.height));
  }
  return Status::Ok();
}

Status JobBook::OpenMissing() {
  TREATY_ASSIGN_OR_RETURN(bool pending, ctx_->store->JobBackfillPending());
  if (!pending) return Status::Ok();
  TREATY_ASSIGN_OR_RETURN(
      size_t skipped,
      ForEachWaitingInstance(ctx_, "job", [&](WriteTxn& txn, const runtime::DefinitionRuntime& def,
                                              const InstanceRow& inst) -> Status {
        if (JobSteps(def).empty()) return Status::Ok();
        TREATY_ASSIGN_OR_RETURN(auto open, txn.OpenJobsOf(inst.id));
        return Open(txn, def, inst, open, LedgerPosition{inst.height, inst.updated_ms, 0});
      }));
  if (skipped > 0) {
    ctx_->Log("jobs: " + std::to_string(skipped) + " instance(s) of the upgraded store run a definition that is not "
              "loaded; their jobs open once it is",
              LogLevel::kWarning);
    return Status::Ok();
  }
  TREATY_ASSIGN_OR_RETURN(auto txn, ctx_->store->Begin("job"));
  TREATY_RETURN_IF_ERROR(txn->ClearJobBackfill());
  return txn->Commit();
}

Status JobBook::Load() {
  // Under the writer lock: no transaction may commit between the read and
  // the reset.
  TREATY_ASSIGN_OR_RETURN(auto hold, ctx_->store->Begin("load"));
  JobQuery all;
  all.states = {JobState::kActivatable, JobState::kActivated, JobState::kFailed, JobState::kIncident};
  all.limit = INT64_MAX;
  TREATY_ASSIGN_OR_RETURN(auto rows, ctx_->store->SearchJobs(all));
  changed_ = std::move(rows);
  Committed();
  return Status::Ok();
}

Result<std::optional<JobRow>> JobBook::Get(const std::string& id) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = open_.find(id);
    if (it != open_.end()) return std::optional<JobRow>(it->second);
  }
  return ctx_->store->GetJob(id);
}

size_t JobBook::OpenCount() const {
  std::lock_guard<std::mutex> lock(mu_);
  return open_.size();
}

void JobBook::Committed() {
  if (changed_.empty()) return;
  std::lock_guard<std::mutex> lock(mu_);
  std::set<std::string> types;
  for (auto& j : changed_) {
    if (auto held = held_by_.find(j.id); held != held_by_.end()) {
      // Completed, failed, timed out or yielded: the stream's place is free.
      if (j.state != JobState::kActivated || j.worker != held->second->worker) ReleaseLocked(j.id, &types);
    }
    if (auto t = timer_of_.find(j.id); t != timer_of_.end()) {
      timers_.erase(t->second);
      timer_of_.erase(t);
    }
    auto old = open_.find(j.id);
    if (old != open_.end() && old->second.state == JobState::kActivatable) {
      auto r = ready_.find(old->second.type);
      if (r != ready_.end()) r->second.erase(old->second.no);
      id_of_.erase(old->second.no);
    }
    if (!JobOpen(j.state)) {
      if (old != open_.end()) open_.erase(old);
      continue;
    }
    if (j.state == JobState::kActivated) {
      reserved_.erase(j.id);
      timer_of_[j.id] = timers_.emplace(j.deadline_ms, j.id);
    } else if (j.state == JobState::kFailed) {
      timer_of_[j.id] = timers_.emplace(j.retry_at_ms, j.id);
    } else if (j.state == JobState::kActivatable && reserved_.count(j.id) == 0) {
      ready_[j.type].insert(j.no);
      id_of_[j.no] = j.id;
      types.insert(j.type);
    }
    open_[j.id] = std::move(j);
  }
  changed_.clear();
  for (const auto& t : types) DispatchLocked(t);
  {
    std::lock_guard<std::mutex> q(queue_mu_);
    wake_ = true;  // a lease or backoff may end before the timer the thread waits for
  }
  queue_cv_.notify_one();
}

void JobBook::DispatchLocked(const std::string& type) {
  auto ready = ready_.find(type);
  if (ready == ready_.end()) return;
  auto take = [&](int64_t max) {
    std::vector<std::string> ids;
    while (!ready->second.empty() && static_cast<int64_t>(ids.size()) < max) {
      int64_t no = *ready->second.begin();
      ready->second.erase(ready->second.begin());
      auto id = id_of_.find(no);
      if (id == id_of_.end()) continue;
      reserved_.insert(id->second);
      ids.push_back(std::move(id->second));
      id_of_.erase(id);
    }
    return ids;
  };
  while (!ready->second.empty()) {
    auto polls = polls_.find(type);
    if (polls != polls_.end() && !polls->second.empty()) {
      std::shared_ptr<Poll> poll = std::move(polls->second.front());
      polls->second.pop_front();
      if (polls->second.empty()) polls_.erase(polls);
      auto c = std::make_unique<LocalChange>();
      c->ids = take(poll->a.max_jobs);
      c->change = ActivateChange(poll->a.worker, poll->a.lease_ms, ctx_->NowMs());
      c->skip_refused = true;
      c->early = [done = std::move(poll->done)](std::vector<JobRow> rows) { done(std::move(rows)); };
      c->done = [](Result<std::vector<JobRow>>) {};
      Submit(std::move(c));
      continue;
    }
    auto streams = streams_.find(type);
    if (streams == streams_.end() || streams->second.empty()) break;
    // The next stream in turn with a free place.
    size_t& turn = turn_[type];
    std::shared_ptr<Stream> s;
    for (size_t tried = 0; tried < streams->second.size() && !s; ++tried) {
      auto& next = streams->second[turn++ % streams->second.size()];
      if (next->active < next->max_active) s = next;
    }
    if (!s) break;  // every stream is full: the jobs wait for a place
    auto c = std::make_unique<LocalChange>();
    c->ids = take(1);
    for (const auto& id : c->ids) {
      s->active += 1;
      held_by_[id] = s;
    }
    c->change = ActivateChange(s->worker, s->lease_ms, ctx_->NowMs());
    c->skip_refused = true;
    c->done = [](Result<std::vector<JobRow>>) {};
    c->early = [this, s](std::vector<JobRow> rows) {
      std::vector<JobRow> unsent;
      {
        std::lock_guard<std::mutex> lock(mu_);
        auto live = streams_.find(s->type);
        bool alive = live != streams_.end() &&
                     std::find(live->second.begin(), live->second.end(), s) != live->second.end();
        for (auto& j : rows) {
          if (alive) s->push(std::move(j));
          else unsent.push_back(std::move(j));
        }
      }
      // The stream ended while its jobs were being activated.
      if (!unsent.empty()) Unsubscribe(0, unsent);
    };
    Submit(std::move(c));
  }
  if (ready->second.empty()) ready_.erase(ready);
}

void JobBook::Activate(const Activation& a, Delivery done) {
  auto poll = std::make_shared<Poll>();
  poll->a = a;
  poll->done = std::move(done);
  std::lock_guard<std::mutex> lock(mu_);
  auto ready = ready_.find(a.type);
  bool any = ready != ready_.end() && !ready->second.empty();
  if (!any && a.wait_ms <= 0) {
    // Nothing to hand out and no wait: answered now, on this thread.
    poll->done(std::vector<JobRow>());
    return;
  }
  poll->expires_ms = ctx_->NowMs() + a.wait_ms;
  polls_[a.type].push_back(poll);
  if (any) {
    DispatchLocked(a.type);
    return;
  }
  {
    std::lock_guard<std::mutex> q(queue_mu_);
    wake_ = true;  // its timeout may come before the next timer
  }
  queue_cv_.notify_one();
}

void JobBook::ReleaseLocked(const std::string& id, std::set<std::string>* types) {
  auto held = held_by_.find(id);
  if (held == held_by_.end()) return;
  held->second->active -= 1;
  types->insert(held->second->type);
  held_by_.erase(held);
}

uint64_t JobBook::Subscribe(const std::string& type, const std::string& worker, int64_t lease_ms, int64_t max_active,
                            std::function<void(JobRow)> push) {
  auto s = std::make_shared<Stream>();
  s->type = type;
  s->worker = worker;
  s->lease_ms = lease_ms;
  s->max_active = max_active;
  s->push = std::move(push);
  std::lock_guard<std::mutex> lock(mu_);
  s->id = next_stream_++;
  streams_[type].push_back(s);
  DispatchLocked(type);
  return s->id;
}

}  // namespace treaty::engine
