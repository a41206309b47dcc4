// TaskBook: the node's human tasks (docs/tasks.md). A step declared with
// `task: { human: ... }` is worked by a person at the party holding its
// role: when an applied step (or start) enters a state such a step leaves,
// the applier has the TaskBook open one task per step, with an id made of
// (instance, position, step) so a replay or restart opens the same one;
// when the instance leaves that state the task closes, completed (its
// step won) or cancelled with the reason. Opening and closing follow the
// ledger and happen inside the applier's transaction. Claims, assignees,
// priorities and dates are this party's bookkeeping: the local operations
// below write them in transactions of their own, durable, with an event.
//
// Thread-safety: Applied and LedgerTime run in a WriteTxn the caller holds
// (the writer's thread). The local operations may be called from any
// thread: they queue their change for the TaskBook's own writer thread,
// which commits all that is queued in one transaction (group commit).
#pragma once

#include <condition_variable>
#include <deque>
#include <functional>
#include <map>
#include <mutex>
#include <thread>
#include <optional>
#include <string>
#include <vector>

#include "definitions/runtime/machine.h"
#include "engine/node_context.h"
#include "engine/open_tasks.h"
#include "engine/types.h"
#include "engine/waiters.h"

namespace treaty::engine {

class TaskBook final : public TxnObserver {
 public:
  TaskBook(const NodeContext* ctx, Waiters* waiters) : ctx_(ctx), waiters_(waiters) {}
  ~TaskBook() { Stop(); }
  // Told of every due date a task gets (ledger ms), so ledger time is made
  // to reach it on an idle node (DeadlineWatcher::WantLedgerTime). Set
  // before Start.
  void SetDueListener(std::function<void(int64_t)> f) { due_listener_ = std::move(f); }

  // ---- following the ledger (writer's thread, in the applier's transaction)

  // `p` was applied and confirmed, leaving the instance as `inst`: closes
  // the tasks it ended, opens those its states call for.
  Status Applied(WriteTxn& txn, const runtime::DefinitionRuntime& def, const InstanceRow& inst,
                 const ProposalRow& p, const LedgerPosition& at);
  // Ledger time reached `time_ms`: tasks now past their due date are
  // marked overdue, with a task_overdue event each.
  Status LedgerTime(WriteTxn& txn, int64_t time_ms, int64_t height);
  // A store upgraded from schema 3 has instances waiting in task states
  // without tasks: opens them (the same ids a replay would give).
  Status OpenMissing();
  // Loads the open tasks into memory (before the applier runs).
  Status Load();
  // Tells the due listener the earliest due date of an open task (at start,
  // once ledger time is known; later dates follow as earlier ones pass).
  Status WantNextDue();

  // ---- reading (any thread): open tasks from memory, the rest from the store
  Result<std::optional<TaskRow>> Get(const std::string& id);
  // *matched (if given): how many tasks the query named, before rows that
  // changed since were dropped — what paging goes by.
  Result<std::vector<TaskRow>> Search(const TaskQuery& q, int64_t* matched = nullptr);
  size_t OpenCount() const { return open_.size(); }

  // The tasks a transaction changed reach memory as it commits.
  void Committed() override;
  void Abandoned() override { changed_.clear(); }

  // ---- this party's bookkeeping (any thread)

  // Each answers with the task as it now is, through `done` (called once,
  // on the TaskBook's writer thread, after the commit) or returned.
  using Done = std::function<void(Result<TaskRow>)>;
  // To `assignee`; FAILED_PRECONDITION if another holds it, unless
  // `allow_override`. Claiming a task one holds already changes nothing.
  void Claim(const std::string& id, const std::string& assignee, bool allow_override, Done done) {
    Run(id, ClaimChange(assignee, allow_override), std::move(done));
  }
  Result<TaskRow> Claim(const std::string& id, const std::string& assignee, bool allow_override) {
    return Run(id, ClaimChange(assignee, allow_override));
  }
  void Unclaim(const std::string& id, Done done) { Run(id, UnclaimChange(), std::move(done)); }
  Result<TaskRow> Unclaim(const std::string& id) { return Run(id, UnclaimChange()); }
  // Sets the assignee whoever held it (an empty one unassigns).
  void Assign(const std::string& id, const std::string& assignee, Done done) {
    Run(id, AssignChange(assignee), std::move(done));
  }
  Result<TaskRow> Assign(const std::string& id, const std::string& assignee) {
    return Run(id, AssignChange(assignee));
  }
  struct Changes {
    std::optional<std::optional<int64_t>> due_ms, follow_up_ms;  // outer: change it; inner nullopt: clear
    std::optional<int64_t> priority;
    std::optional<std::vector<std::string>> candidate_groups, candidate_users;
  };
  void Update(const std::string& id, const Changes& c, Done done) { Run(id, UpdateChange(c), std::move(done)); }
  Result<TaskRow> Update(const std::string& id, const Changes& c) { return Run(id, UpdateChange(c)); }
  // The writer thread that commits the local changes (before the services
  // run; Stop after them).
  void Start();
  void Stop();
  // The idempotency key the next completion of `t` proposes its step with.
  static std::string CompletionKey(const TaskRow& t);
  // The task as its next completion sees it, and that completion's key:
  // a key whose proposal was rejected at the ledger unheard moves on first.
  Result<std::pair<TaskRow, std::string>> NextCompletion(TaskRow t);
  // The completion proposed as attempt `attempt` was rejected: the next
  // gets a new key. Two callers of one attempt count it once.
  Status Rejected(const std::string& id, int64_t attempt);
  void Rejected(const std::string& id, int64_t attempt, Done done);

 private:
  // The steps of a definition that are human tasks, computed once.
  const std::vector<const defs::StepSpec*>& HumanSteps(const runtime::DefinitionRuntime& def);
  // Opens the tasks `inst`'s active states call for that are not open.
  Status Open(WriteTxn& txn, const runtime::DefinitionRuntime& def, const InstanceRow& inst,
              const std::vector<TaskRow>& active, const LedgerPosition& at);
  // A local change to a task: the stored row changed in place, and the
  // event it makes (none: nothing changed). A refusal changes nothing.
  using Change = std::function<Status(TaskRow* t, std::string* event_type)>;
  Result<Change> ClaimChange(const std::string& assignee, bool allow_override);
  Result<Change> UnclaimChange();
  Result<Change> AssignChange(const std::string& assignee);
  Result<Change> UpdateChange(const Changes& c);
  static Change RejectedChange(int64_t attempt);
  void Run(const std::string& id, Result<Change> change, Done done);
  Result<TaskRow> Run(const std::string& id, Result<Change> change);
  // Queues a change for the writer thread; Local waits for its answer.
  void Submit(std::string id, Change change, Done done);
  Result<TaskRow> Local(const std::string& id, Change change);
  void WriterLoop();
  struct LocalChange {
    std::string id;
    Change change;
    Done done;
    Result<TaskRow> result = Status::Internal("not written");
  };
  // Writes `batch` in one transaction, each change's answer in its result.
  void WriteLocal(const std::vector<LocalChange*>& batch);
  Status AppendTaskEvent(WriteTxn& txn, const TaskRow& t, const std::string& type, int64_t time_ms, int64_t height);

  // A task row written in the open transaction (the writer's).
  void Changed(const TaskRow& t) { changed_.push_back(std::make_shared<const TaskRow>(t)); }

  const NodeContext* ctx_;
  Waiters* waiters_;
  OpenTasks open_;
  std::vector<std::shared_ptr<const TaskRow>> changed_;  // the writer's
  std::function<void(int64_t)> due_listener_;
  std::mutex queue_mu_;
  std::condition_variable queue_cv_;
  std::deque<std::unique_ptr<LocalChange>> queue_;  // queue_mu_
  bool stop_ = true;                                // queue_mu_
  std::thread writer_;
  std::mutex steps_mu_;
  std::map<const runtime::DefinitionRuntime*, std::vector<const defs::StepSpec*>> human_steps_;
};

}  // namespace treaty::engine
