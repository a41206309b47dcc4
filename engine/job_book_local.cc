// JobBook, its second half: this party's own changes to its jobs —
// activations, failures, retries, leases, incidents — queued by any thread
// and committed by the JobBook's thread, many to a transaction; and the
// timers that end leases, backoffs and long polls (job_book.h).
#include <algorithm>
#include <climits>

#include "engine/job_book.h"

namespace treaty::engine {

namespace {

// A change that returns this event name writes the row without an event.
const std::string kNoEvent;

Status Closed(const JobRow& j) {
  if (j.state == JobState::kCancelled) return Status::FailedPrecondition("job '" + j.id + "' is cancelled: " + j.close_reason);
  return Status::FailedPrecondition("job '" + j.id + "' is " + JobStateName(j.state) + " (by proposal " + j.closed_by +
                                    " at height " + std::to_string(j.closed_height) + ")");
}

Status MustBeActivated(const JobRow& j, const char* what) {
  if (j.state == JobState::kActivated) return Status::Ok();
  return Status::FailedPrecondition("job '" + j.id + "' is " + JobStateName(j.state) + "; only an activated job " +
                                    what);
}

void Raise(JobRow* j, const std::string& kind, const std::string& message, int64_t now) {
  j->state = JobState::kIncident;
  j->incidents += 1;
  j->incident_kind = kind;
  j->incident_message = message;
  j->incident_ms = now;
  j->deadline_ms = 0;
  j->retry_at_ms = 0;
}

}  // namespace

void JobBook::Start() {
  std::lock_guard<std::mutex> lock(queue_mu_);
  if (thread_.joinable()) return;
  stop_ = false;
  thread_ = std::thread([this] { Loop(); });
}

void JobBook::Stop() {
  {
    std::lock_guard<std::mutex> lock(queue_mu_);
    if (stop_ && !thread_.joinable()) return;
    stop_ = true;
  }
  queue_cv_.notify_all();
  if (thread_.joinable()) thread_.join();
  std::vector<std::shared_ptr<Poll>> polls;
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (auto& [type, q] : polls_)
      for (auto& p : q) polls.push_back(std::move(p));
    polls_.clear();
  }
  for (auto& p : polls) p->done(Status::Unavailable("the node is stopping"));
}

void JobBook::Submit(std::unique_ptr<LocalChange> c) {
  {
    std::lock_guard<std::mutex> lock(queue_mu_);
    if (!stop_) {
      queue_.push_back(std::move(c));
      queue_cv_.notify_one();
      return;
    }
  }
  if (c->early) c->early({});  // a waiting poll is answered with none
  c->done(Status::Unavailable("the node is stopping"));
}

void JobBook::SubmitOne(const std::string& id, Change change, Done done) {
  auto c = std::make_unique<LocalChange>();
  c->ids = {id};
  c->change = std::move(change);
  c->done = [done = std::move(done)](Result<std::vector<JobRow>> rows) {
    if (!rows.ok()) return done(rows.status());
    if (rows->empty()) return done(Status::Internal("no answer for the job"));
    done(std::move(rows->front()));
  };
  Submit(std::move(c));
}

int64_t JobBook::NextTimerLocked() const {
  int64_t next = timers_.empty() ? INT64_MAX : timers_.begin()->first;
  for (const auto& [type, q] : polls_)
    for (const auto& p : q) next = std::min(next, p->expires_ms);
  return next;
}

void JobBook::RunTimers(int64_t now) {
  std::vector<std::shared_ptr<Poll>> expired;
  std::vector<std::pair<std::string, bool>> due;  // (job, lease ended: else backoff ended)
  {
    std::lock_guard<std::mutex> lock(mu_);
    while (!timers_.empty() && timers_.begin()->first <= now) {
      std::string id = timers_.begin()->second;
      timer_of_.erase(id);
      timers_.erase(timers_.begin());
      auto it = open_.find(id);
      if (it == open_.end()) continue;  // closed since: a stale timer
      const JobRow& j = it->second;
      if (j.state == JobState::kActivated && j.deadline_ms <= now) due.emplace_back(id, true);
      if (j.state == JobState::kFailed && j.retry_at_ms <= now) due.emplace_back(id, false);
    }
    for (auto it = polls_.begin(); it != polls_.end();) {
      auto& q = it->second;
      for (auto p = q.begin(); p != q.end();) {
        if ((*p)->expires_ms <= now) {
          expired.push_back(std::move(*p));
          p = q.erase(p);
        } else {
          ++p;
        }
      }
      it = q.empty() ? polls_.erase(it) : std::next(it);
    }
  }
  for (auto& [id, lease] : due) {
    SubmitOne(
        id,
        [now, lease](JobRow* j, std::vector<std::string>* events) -> Status {
          // Checked again: a completion, failure or new lease may have come first.
          if (lease && j->state == JobState::kActivated && j->deadline_ms <= now) {
            j->state = JobState::kActivatable;
            j->deadline_ms = 0;
            events->push_back("job_timed_out");
          } else if (!lease && j->state == JobState::kFailed && j->retry_at_ms <= now) {
            j->state = JobState::kActivatable;
            j->retry_at_ms = 0;
            events->push_back(kNoEvent);
          }
          return Status::Ok();
        },
        [this, id](Result<JobRow> r) {
          if (!r.ok() && r.status().code() != StatusCode::kUnavailable)
            ctx_->Log("jobs: ending the lease or backoff of " + id + " failed: " + r.status().ToString(),
                      LogLevel::kWarning);
        });
  }
  for (auto& p : expired) p->done(std::vector<JobRow>());
}

void JobBook::Loop() {
  while (true) {
    int64_t now = ctx_->NowMs();
    RunTimers(now);
    int64_t next;
    {
      std::lock_guard<std::mutex> lock(mu_);
      next = NextTimerLocked();
    }
    std::unique_lock<std::mutex> lock(queue_mu_);
    if (queue_.empty() && !stop_ && !wake_) {
      int64_t wait = next == INT64_MAX ? 1000 : std::clamp<int64_t>(next - now, 0, 1000);
      queue_cv_.wait_for(lock, std::chrono::milliseconds(wait), [&] { return stop_ || !queue_.empty() || wake_; });
    }
    wake_ = false;
    if (stop_ && queue_.empty()) return;
    if (queue_.empty()) continue;
    std::vector<std::unique_ptr<LocalChange>> batch;
    while (!queue_.empty() && batch.size() < 256) {
      batch.push_back(std::move(queue_.front()));
      queue_.pop_front();
    }
    lock.unlock();
    HandOutEarly(batch);
    std::vector<LocalChange*> view;
    for (auto& c : batch) view.push_back(c.get());
    WriteLocal(view);
    for (auto& c : batch) {
      if (!c->skip_refused) continue;
      // Jobs handed to an activation that did not take them (closed, or
      // changed since) go back to whoever waits, if still activatable.
      std::vector<std::string> released = c->ids;
      if (c->result.ok())
        for (const auto& j : *c->result) released.erase(std::remove(released.begin(), released.end(), j.id), released.end());
      if (released.empty()) continue;
      std::lock_guard<std::mutex> mlock(mu_);
      std::set<std::string> types;
      for (const auto& id : released) {
        reserved_.erase(id);
        ReleaseLocked(id, &types);
        auto it = open_.find(id);
        if (it == open_.end() || it->second.state != JobState::kActivatable) continue;
        ready_[it->second.type].insert(it->second.no);
        id_of_[it->second.no] = id;
        types.insert(it->second.type);
      }
      for (const auto& t : types) DispatchLocked(t);
    }
    for (auto& c : batch) c->done(std::move(c->result));
  }
}

void JobBook::HandOutEarly(const std::vector<std::unique_ptr<LocalChange>>& batch) {
  // A worker waiting for a job should not wait behind the block the
  // applier is committing (the writer lock, a disk sync): activations are
  // handed out from memory first and written right after. A crash in
  // between loses the activation, not the job: it is activatable again at
  // restart, and the completion key still applies its step once.
  for (const auto& c : batch) {
    if (!c->early) continue;
    std::vector<JobRow> rows;
    {
      std::lock_guard<std::mutex> lock(mu_);
      for (const auto& id : c->ids) {
        auto it = open_.find(id);
        if (it == open_.end()) continue;
        JobRow row = it->second;
        std::vector<std::string> events;
        if (c->change(&row, &events).ok()) rows.push_back(std::move(row));
      }
    }
    c->early(std::move(rows));
  }
}

void JobBook::WriteLocal(const std::vector<LocalChange*>& batch) {
  auto fail_all = [&](const Status& st) {
    for (LocalChange* c : batch) c->result = st;
  };
  // Relaxed, like the task book's: it survives kill -9, and the next
  // durable commit takes it to the disk. A power cut may lose the last
  // activations or failures — bookkeeping; the step's idempotency key
  // keeps a completion once in effect whatever is lost.
  auto txn = ctx_->store->Begin("job", NodeStore::Durability::kRelaxed);
  if (!txn.ok()) return fail_all(txn.status());
  const int64_t now = ctx_->NowMs();
  std::unordered_map<std::string, JobRow> written;  // this batch's rows, newest
  std::vector<std::pair<JobRow, std::string>> incidents;  // raised or resolved: logged once committed
  bool wrote = false;
  for (LocalChange* c : batch) {
    std::vector<JobRow> rows;
    std::optional<Status> refused;
    for (const auto& id : c->ids) {
      JobRow row;
      if (auto w = written.find(id); w != written.end()) {
        row = w->second;
      } else {
        std::lock_guard<std::mutex> lock(mu_);
        if (auto it = open_.find(id); it != open_.end()) row = it->second;
      }
      Status st = Status::Ok();
      std::vector<std::string> events;
      if (row.no == 0) {  // not open: closed, or never there
        auto stored = (*txn)->GetJob(id);
        if (!stored.ok()) return fail_all(stored.status());
        st = *stored ? Closed(**stored) : Status::NotFound("no job '" + id + "' at party " + ctx_->party());
      } else {
        st = c->change(&row, &events);
      }
      if (!st.ok()) {
        if (c->skip_refused) continue;
        refused = st;
        break;
      }
      if (!events.empty()) {
        row.updated_ms = now;
        // Local facts, not the ledger's: node time, and no block height.
        Status w = (*txn)->UpdateJob(row);
        for (const auto& ev : events) {
          if (w.ok() && !ev.empty()) w = AppendJobEvent(**txn, row, ev, now, 0);
          if (ev == "incident_raised" || ev == "incident_resolved") incidents.emplace_back(row, ev);
        }
        if (!w.ok()) return fail_all(w);
        written[id] = row;
        wrote = true;
      }
      rows.push_back(std::move(row));
    }
    if (refused) c->result = *refused;
    else c->result = std::move(rows);
  }
  if (!wrote) return;  // nothing changed: the transaction is rolled back
  for (auto& [id, row] : written) Changed(row);
  if (Status st = (*txn)->Commit(); !st.ok()) {
    for (LocalChange* c : batch)
      if (c->result.ok()) c->result = st;
    return;
  }
  txn->reset();  // the writer lock goes before the event streams are woken
  for (const auto& [j, ev] : incidents) {
    if (ev == "incident_raised")
      ctx_->Log("jobs: incident " + j.id + "#" + std::to_string(j.incidents) + " raised (" + j.incident_kind +
                    "): " + j.incident_message,
                LogLevel::kWarning, {j.instance, j.step});
    else
      ctx_->Log("jobs: incident of job " + j.id + " resolved", LogLevel::kInfo, {j.instance, j.step});
  }
  std::vector<ProposalRow> none;
  waiters_->Applied(&none, 0);
}

JobBook::Change JobBook::ActivateChange(const std::string& worker, int64_t lease_ms, int64_t from_ms) {
  return [this, worker, lease_ms, from_ms](JobRow* j, std::vector<std::string>* events) -> Status {
    if (j->state != JobState::kActivatable)
      return Status::FailedPrecondition("job '" + j->id + "' is " + JobStateName(j->state));
    int64_t lease = lease_ms;
    if (lease <= 0) {
      const defs::TaskSpec* spec = SpecOf(*j);
      lease = spec != nullptr ? spec->JobTimeoutMs() : defs::TaskSpec::kDefaultJobTimeoutMs;
    }
    j->state = JobState::kActivated;
    j->worker = worker;
    j->deadline_ms = from_ms + lease;
    events->push_back("job_activated");
    return Status::Ok();
  };
}

void JobBook::Settled(const std::string& id, std::function<void()> then) {
  bool pending;
  {
    std::lock_guard<std::mutex> lock(mu_);
    pending = reserved_.count(id) > 0;
  }
  if (!pending) return then();
  // Queued behind the activation: answered after its commit.
  auto c = std::make_unique<LocalChange>();
  c->ids = {id};
  c->change = [](JobRow*, std::vector<std::string>*) { return Status::Ok(); };
  c->done = [then = std::move(then)](Result<std::vector<JobRow>>) { then(); };
  Submit(std::move(c));
}

void JobBook::Unsubscribe(uint64_t stream, const std::vector<JobRow>& unsent) {
  if (stream != 0) {
    std::lock_guard<std::mutex> lock(mu_);
    for (auto& [type, v] : streams_)
      v.erase(std::remove_if(v.begin(), v.end(), [&](const auto& s) { return s->id == stream; }), v.end());
    // Its jobs keep their leases (or are yielded below); they hold no
    // place of a stream that is gone.
    for (auto it = held_by_.begin(); it != held_by_.end();)
      it = it->second->id == stream ? held_by_.erase(it) : std::next(it);
  }
  for (const auto& sent : unsent) {
    // Yielded only if still the lease the stream was given.
    SubmitOne(
        sent.id,
        [sent](JobRow* j, std::vector<std::string>* events) -> Status {
          if (j->state != JobState::kActivated || j->worker != sent.worker || j->deadline_ms != sent.deadline_ms)
            return Status::Ok();
          j->state = JobState::kActivatable;
          j->deadline_ms = 0;
          events->push_back("job_yielded");
          return Status::Ok();
        },
        [](Result<JobRow>) {});
  }
}

void JobBook::Fail(const std::string& id, int64_t retries, const std::string& message,
                   std::optional<int64_t> backoff_ms, Done done) {
  if (retries < 0) return done(Status::InvalidArgument("retries must be 0 or more, not " + std::to_string(retries)));
  if (backoff_ms && (*backoff_ms < 0 || *backoff_ms > kMaxLeaseMs))
    return done(Status::InvalidArgument("backoff_ms must be from 0 to " + std::to_string(kMaxLeaseMs)));
  SubmitOne(
      id,
      [this, retries, message, backoff_ms](JobRow* j, std::vector<std::string>* events) -> Status {
        TREATY_RETURN_IF_ERROR(MustBeActivated(*j, "can be failed"));
        const int64_t now = ctx_->NowMs();
        j->error_message = message;
        j->failures += 1;
        j->retries = retries;
        j->deadline_ms = 0;
        events->push_back("job_failed");
        if (retries == 0) {
          Raise(j, kIncidentNoRetries, "no retries left: " + message, now);
          events->push_back("incident_raised");
          return Status::Ok();
        }
        int64_t delay = 0;
        if (backoff_ms) {
          delay = *backoff_ms;
        } else {
          const defs::TaskSpec* spec = SpecOf(*j);
          delay = spec != nullptr ? spec->JobRetryDelayMs(j->failures) : defs::TaskSpec::kDefaultJobBackoffMs;
        }
        if (delay == 0) {
          j->state = JobState::kActivatable;
        } else {
          j->state = JobState::kFailed;
          j->retry_at_ms = now + delay;
        }
        return Status::Ok();
      },
      std::move(done));
}

void JobBook::UpdateRetries(const std::string& id, int64_t retries, Done done) {
  if (retries < 0) return done(Status::InvalidArgument("retries must be 0 or more, not " + std::to_string(retries)));
  SubmitOne(
      id,
      [retries](JobRow* j, std::vector<std::string>* events) -> Status {
        if (j->retries == retries) return Status::Ok();
        j->retries = retries;
        events->push_back("job_retries_updated");
        return Status::Ok();
      },
      std::move(done));
}

void JobBook::UpdateTimeout(const std::string& id, int64_t timeout_ms, Done done) {
  if (timeout_ms <= 0 || timeout_ms > kMaxLeaseMs)
    return done(Status::InvalidArgument("timeout_ms must be from 1 to " + std::to_string(kMaxLeaseMs)));
  SubmitOne(
      id,
      [this, timeout_ms](JobRow* j, std::vector<std::string>* events) -> Status {
        TREATY_RETURN_IF_ERROR(MustBeActivated(*j, "has a lease"));
        j->deadline_ms = ctx_->NowMs() + timeout_ms;
        events->push_back("job_timeout_updated");
        return Status::Ok();
      },
      std::move(done));
}

void JobBook::ResolveIncident(const std::string& incident_id, Done done) {
  size_t hash = incident_id.rfind('#');
  char* end = nullptr;
  long long n = hash == std::string::npos ? 0 : std::strtoll(incident_id.c_str() + hash + 1, &end, 10);
  if (hash == std::string::npos || hash == 0 || end == nullptr || *end != '\0' || n <= 0)
    return done(Status::InvalidArgument("incident id '" + incident_id + "' is not '<job key>#<n>'"));
  SubmitOne(
      incident_id.substr(0, hash),
      [incident_id, n](JobRow* j, std::vector<std::string>* events) -> Status {
        if (j->state != JobState::kIncident || j->incidents != n)
          return Status::FailedPrecondition("incident '" + incident_id + "' is not open (job '" + j->id + "' is " +
                                            JobStateName(j->state) + ")");
        if (j->incident_kind == kIncidentNoRetries && j->retries == 0)
          return Status::FailedPrecondition("job '" + j->id +
                                            "' has 0 retries left: raise them with UpdateJobRetries first");
        j->state = JobState::kActivatable;
        j->worker.clear();
        events->push_back("incident_resolved");
        return Status::Ok();
      },
      [done = std::move(done), incident_id](Result<JobRow> r) {
        if (!r.ok() && r.status().code() == StatusCode::kNotFound)
          return done(Status::NotFound("no incident '" + incident_id + "': " + r.status().message()));
        done(std::move(r));
      });
}

void JobBook::RaiseIncident(const std::string& id, const std::string& kind, const std::string& message,
                            std::optional<int64_t> after_attempt, Done done) {
  SubmitOne(
      id,
      [this, kind, message, after_attempt](JobRow* j, std::vector<std::string>* events) -> Status {
        if (after_attempt) {
          if (j->attempts != *after_attempt) return Status::Ok();  // counted already (another caller)
          j->attempts += 1;
          events->push_back(kNoEvent);
        }
        if (j->state == JobState::kIncident) return Status::Ok();
        Raise(j, kind, message, ctx_->NowMs());
        events->push_back("incident_raised");
        return Status::Ok();
      },
      std::move(done));
}

void JobBook::NoteThrown(const std::string& id, const std::string& code, const std::string& message, Done done) {
  SubmitOne(
      id,
      [code, message](JobRow* j, std::vector<std::string>* events) -> Status {
        if (j->state == JobState::kIncident)
          return Status::FailedPrecondition("job '" + j->id + "' has an open incident; resolve it first");
        if (j->error_code == code && j->error_message == message) return Status::Ok();
        j->error_code = code;
        j->error_message = message;
        events->push_back(kNoEvent);
        return Status::Ok();
      },
      std::move(done));
}

}  // namespace treaty::engine
