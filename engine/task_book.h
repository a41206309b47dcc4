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
// Thread-safety: Applied, LedgerTime and OpenMissing run in a WriteTxn the
// caller holds (the writer's thread). The local operations may be called
// from any thread; each begins its own transaction.
#pragma once

#include <condition_variable>
#include <deque>
#include <functional>
#include <map>
#include <mutex>
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

  // ---- reading (any thread): open tasks from memory, the rest from the store
  Result<std::optional<TaskRow>> Get(const std::string& id);
  Result<std::vector<TaskRow>> Search(const TaskQuery& q);
  size_t OpenCount() const { return open_.size(); }

  // The tasks a transaction changed reach memory as it commits.
  void Committed() override;
  void Abandoned() override { changed_.clear(); }

  // ---- this party's bookkeeping (any thread)

  // To `assignee`; FAILED_PRECONDITION if another holds it, unless
  // `allow_override`. Claiming a task one holds already changes nothing.
  Result<TaskRow> Claim(const std::string& id, const std::string& assignee, bool allow_override);
  Result<TaskRow> Unclaim(const std::string& id);
  // Sets the assignee whoever held it (an empty one unassigns).
  Result<TaskRow> Assign(const std::string& id, const std::string& assignee);
  struct Changes {
    std::optional<std::optional<int64_t>> due_ms, follow_up_ms;  // outer: change it; inner nullopt: clear
    std::optional<int64_t> priority;
    std::optional<std::vector<std::string>> candidate_groups, candidate_users;
  };
  Result<TaskRow> Update(const std::string& id, const Changes& c);
  // The idempotency key the next completion of `t` proposes its step with.
  static std::string CompletionKey(const TaskRow& t);
  // The completion proposed as attempt `attempt` was rejected: the next
  // gets a new key. Two callers of one attempt count it once.
  Status Rejected(const std::string& id, int64_t attempt);

 private:
  // The steps of a definition that are human tasks, computed once.
  const std::vector<const defs::StepSpec*>& HumanSteps(const runtime::DefinitionRuntime& def);
  // Opens the tasks `inst`'s active states call for that are not open.
  Status Open(WriteTxn& txn, const runtime::DefinitionRuntime& def, const InstanceRow& inst,
              const std::vector<TaskRow>& active, const LedgerPosition& at);
  // A local change to a task: read, changed by `change`, written, told.
  using Change = std::function<Status(TaskRow* t, std::string* event_type)>;
  Result<TaskRow> Local(const std::string& id, const Change& change);
  // A caller's change waiting in the group-commit queue.
  struct LocalChange {
    const std::string* id = nullptr;
    const Change* change = nullptr;
    Result<TaskRow> result = Status::Internal("not written");
    bool done = false;
    std::condition_variable cv;
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
  std::deque<LocalChange*> queue_;  // queue_mu_; the head writes
  std::mutex steps_mu_;
  std::map<const runtime::DefinitionRuntime*, std::vector<const defs::StepSpec*>> human_steps_;
};

}  // namespace treaty::engine
