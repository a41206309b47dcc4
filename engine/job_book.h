// JobBook: the node's jobs (docs/jobs.md). A step declared with
// `task: { job: { type: T } }` is done by a machine at the party holding
// its role. Like a human task, a job opens when an applied step (or start)
// enters a state the step leaves — id (instance, position, step), so a
// replay or restart opens the same one — and closes when the instance
// leaves that state: completed (its step won), error_thrown (the step its
// thrown error maps to won) or cancelled with the reason. Opening and
// closing follow the ledger, inside the applier's transaction.
//
// The rest is this party's bookkeeping, in node time: a worker activates
// jobs of a type and holds each for a lease; a lease that ends makes the
// job activatable again; a failure with retries left makes it activatable
// after a backoff, without retries it raises an incident that an operator
// resolves. The open jobs live in memory, so activation reads no index:
// jobs a commit makes activatable are handed at once to the long polls
// and streams waiting for their type.
//
// Thread-safety: Applied runs in a WriteTxn the caller holds (the writer's
// thread). Everything else may be called from any thread: local changes
// are queued for the JobBook's own thread, which commits all that is
// queued in one transaction (group commit), answers after the commit, and
// also runs the timers (leases, backoffs, long-poll timeouts).
#pragma once

#include <condition_variable>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "definitions/runtime/machine.h"
#include "engine/node_context.h"
#include "engine/types.h"
#include "engine/waiters.h"

namespace treaty::engine {

class JobBook final : public TxnObserver {
 public:
  // The most jobs one activation may ask for, and the longest long poll.
  static constexpr int64_t kMaxActivate = 1000;
  static constexpr int64_t kMaxPollMs = 600'000;
  // The longest lease a worker may ask for.
  static constexpr int64_t kMaxLeaseMs = 7 * 24 * 3600 * 1000LL;

  JobBook(const NodeContext* ctx, Waiters* waiters) : ctx_(ctx), waiters_(waiters) {}
  ~JobBook() { Stop(); }

  // ---- following the ledger (writer's thread, in the applier's transaction)

  // `p` was applied and confirmed, leaving the instance as `inst`: closes
  // the jobs it ended, opens those its states call for.
  Status Applied(WriteTxn& txn, const runtime::DefinitionRuntime& def, const InstanceRow& inst,
                 const ProposalRow& p, const LedgerPosition& at);
  // A store upgraded from schema 3 or 4 has instances waiting in job
  // states without jobs: opens them (the ids a replay would give).
  Status OpenMissing();
  // Loads the open jobs into memory (before the applier runs).
  Status Load();
  void Committed() override;
  void Abandoned() override { changed_.clear(); }

  // ---- reading (any thread): open jobs from memory, the rest from the store
  Result<std::optional<JobRow>> Get(const std::string& id);
  Result<std::vector<JobRow>> Search(const JobQuery& q) { return ctx_->store->SearchJobs(q); }
  // The definition's terms of a job's step (null: its definition is not loaded).
  const defs::TaskSpec* SpecOf(const JobRow& j) const;

  // ---- workers (any thread)

  // Each answer comes once, on the JobBook's thread, after the commit.
  using Done = std::function<void(Result<JobRow>)>;
  using Delivery = std::function<void(Result<std::vector<JobRow>>)>;
  struct Activation {
    std::string type, worker;
    int64_t max_jobs = 1;
    int64_t lease_ms = 0;  // 0: each job's definition's timeout
    int64_t wait_ms = 0;   // long poll; 0: answer with what is there
  };
  // Activates up to max_jobs activatable jobs of the type for the worker;
  // with wait_ms, waits until there is one (or answers with none).
  void Activate(const Activation& a, Delivery done);
  // A stream: every job of the type that becomes activatable is activated
  // for the worker (streams of a type take turns) and handed to `push`
  // (on the JobBook's thread; it must not block), while fewer than
  // `max_active` of the jobs pushed to it are still activated (flow
  // control: a worker is never handed more than it can work on). Returns
  // its id.
  uint64_t Subscribe(const std::string& type, const std::string& worker, int64_t lease_ms, int64_t max_active,
                     std::function<void(JobRow)> push);
  // Ends a stream. `unsent`: jobs pushed to it that never reached the
  // worker; they are activatable again at once.
  void Unsubscribe(uint64_t stream, const std::vector<JobRow>& unsent);

  // retries: the retries left. At 0 an incident is raised; otherwise the
  // job is activatable again after `backoff_ms` (default: the definition's
  // backoff, doubled per failure).
  void Fail(const std::string& id, int64_t retries, const std::string& message, std::optional<int64_t> backoff_ms,
            Done done);
  void UpdateRetries(const std::string& id, int64_t retries, Done done);
  void UpdateTimeout(const std::string& id, int64_t timeout_ms, Done done);
  // Makes the incident's job activatable again.
  void ResolveIncident(const std::string& incident_id, Done done);
  // Raises an incident on an open job (kind: kIncident*). With
  // `after_attempt`, only if that completion attempt is still the job's,
  // and the next completion gets a new key (a rejected step).
  void RaiseIncident(const std::string& id, const std::string& kind, const std::string& message,
                     std::optional<int64_t> after_attempt, Done done);
  // Notes the business error a worker threw before its step is proposed,
  // so the job closes as error_thrown when that step applies.
  void NoteThrown(const std::string& id, const std::string& code, const std::string& message, Done done);

  // Runs `then` once no activation of the job is waiting to be written
  // (at once, mostly; else on the JobBook's thread after that write), so
  // a completion's step never overtakes its job's activation record.
  void Settled(const std::string& id, std::function<void()> then);

  // The idempotency key the next completion (or thrown error) of `j`
  // proposes its step with: one per attempt, shared by every worker.
  static std::string CompletionKey(const JobRow& j) { return "job:" + j.id + ":" + std::to_string(j.attempts); }

  // The thread that commits local changes and runs the timers (before the
  // services run; Stop after them: it answers what waits with UNAVAILABLE).
  void Start();
  void Stop();

  // Counts for Status and tests.
  size_t OpenCount() const;

 private:
  // One local change to one job: the row changed in place and the events
  // it makes (none: nothing changed). A refusal changes nothing.
  using Change = std::function<Status(JobRow* j, std::vector<std::string>* events)>;
  struct LocalChange {
    std::vector<std::string> ids;
    Change change;
    // Activations: an id whose job is no longer activatable is left out,
    // not an error.
    bool skip_refused = false;
    std::function<void(Result<std::vector<JobRow>>)> done;
    // Activations: the rows the change makes, handed out before they are
    // written (the write follows at once, in queue order, so the worker's
    // next call finds them written). See docs/jobs.md, "Inside the node".
    std::function<void(std::vector<JobRow>)> early;
    Result<std::vector<JobRow>> result = Status::Internal("not written");
  };
  struct Poll {
    Activation a;
    int64_t expires_ms = 0;
    Delivery done;
  };
  struct Stream {
    uint64_t id = 0;
    std::string type, worker;
    int64_t lease_ms = 0;
    int64_t max_active = 32, active = 0;  // mu_: jobs pushed and still activated
    std::function<void(JobRow)> push;
  };
  // A job handed to a stream no longer holds one of its places (mu_ held).
  void ReleaseLocked(const std::string& id, std::set<std::string>* types);

  const std::vector<const defs::StepSpec*>& JobSteps(const runtime::DefinitionRuntime& def);
  Status Open(WriteTxn& txn, const runtime::DefinitionRuntime& def, const InstanceRow& inst,
              const std::vector<JobRow>& open, const LedgerPosition& at);
  Status AppendJobEvent(WriteTxn& txn, const JobRow& j, const std::string& type, int64_t time_ms, int64_t height);
  void Changed(const JobRow& j) { changed_.push_back(j); }

  // Hands activatable jobs of `type` to its polls and streams (mu_ held).
  void DispatchLocked(const std::string& type);
  // Leases from `from_ms` (the dispatch), so the row handed out before the
  // write and the row written agree.
  Change ActivateChange(const std::string& worker, int64_t lease_ms, int64_t from_ms);
  void Submit(std::unique_ptr<LocalChange> c);
  void SubmitOne(const std::string& id, Change change, Done done);
  void Loop();
  void WriteLocal(const std::vector<LocalChange*>& batch);
  void HandOutEarly(const std::vector<std::unique_ptr<LocalChange>>& batch);
  // Timers and long polls due at `now`: changes queued, polls answered.
  void RunTimers(int64_t now);
  int64_t NextTimerLocked() const;

  const NodeContext* ctx_;
  Waiters* waiters_;
  std::vector<JobRow> changed_;  // the writer's: rows written in the open transaction

  mutable std::mutex mu_;
  std::unordered_map<std::string, JobRow> open_;                   // mu_: committed open jobs
  std::map<std::string, std::set<int64_t>> ready_;                 // mu_: activatable, by type, in creation order
  std::unordered_map<int64_t, std::string> id_of_;                 // mu_: job number -> id (of ready_)
  std::unordered_set<std::string> reserved_;                       // mu_: handed to an activation not yet written
  std::multimap<int64_t, std::string> timers_;                     // mu_: lease ends and backoffs (node time)
  // mu_: each job's entry in timers_, so a job that changes leaves none
  // behind (a busy node would otherwise keep one per activation for a lease).
  std::unordered_map<std::string, std::multimap<int64_t, std::string>::iterator> timer_of_;
  std::map<std::string, std::deque<std::shared_ptr<Poll>>> polls_;  // mu_
  std::map<std::string, std::vector<std::shared_ptr<Stream>>> streams_;  // mu_
  std::map<std::string, size_t> turn_;                             // mu_: the next stream of a type
  std::unordered_map<std::string, std::shared_ptr<Stream>> held_by_;  // mu_: job -> the stream it holds a place of
  uint64_t next_stream_ = 1;                                       // mu_

  std::mutex queue_mu_;
  std::condition_variable queue_cv_;
  std::deque<std::unique_ptr<LocalChange>> queue_;  // queue_mu_
  bool stop_ = true;                                // queue_mu_
  bool wake_ = false;                               // queue_mu_: a timer may have moved earlier
  std::thread thread_;

  std::mutex steps_mu_;
  std::map<const runtime::DefinitionRuntime*, std::vector<const defs::StepSpec*>> job_steps_;
};

}  // namespace treaty::engine
