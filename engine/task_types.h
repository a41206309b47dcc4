// Human tasks as the node keeps them: a step with `task: { human: ... }`
// waiting for a person at the party holding its role (docs/tasks.md). A
// task's opening and closing follow the ledger (the applier does both in
// the transaction that applies the step); its claim, assignee, priority,
// due and follow-up dates are this party's own bookkeeping.
//
// Thread-safety: plain values.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace treaty::engine {

// Open: waiting, nobody holds it. Claimed: open, held by an assignee.
// Completed: its step was applied. Cancelled: the instance left its state
// by another step.
enum class TaskState { kOpen, kClaimed, kCompleted, kCancelled };
const char* TaskStateName(TaskState s);  // "open", "claimed", "completed", "cancelled"
std::optional<TaskState> TaskStateFromName(std::string_view name);
inline bool TaskActive(TaskState s) { return s == TaskState::kOpen || s == TaskState::kClaimed; }

struct TaskRow {
  int64_t no = 0;  // the store's ordinal: creation order
  // "<instance>:<position>:<step>": the instance's position when the
  // task's state was entered, so a replay or restart opens the same id.
  std::string id;
  std::string instance, definition, step, queue;
  int64_t version = 0;
  TaskState state = TaskState::kOpen;
  std::string assignee;
  std::vector<std::string> candidate_groups, candidate_users;
  int64_t priority = 50;
  int64_t position = 0, created_ms = 0, created_height = 0;  // ledger time and height of opening
  std::optional<int64_t> due_ms, follow_up_ms;               // ledger time
  bool overdue = false;
  // Completions this node proposed that were rejected: the next one uses a
  // new idempotency key (a retry of the same attempt gets the same answer).
  int64_t attempts = 0;
  int64_t closed_ms = 0, closed_height = 0;
  std::string close_reason, closed_by;  // closed_by: the proposal that closed it
  int64_t updated_ms = 0;               // last change, node time
};

// What SearchTasks filters and orders by. Empty/unset fields do not filter.
struct TaskQuery {
  std::string queue, assignee, candidate_group, candidate_user, definition, instance;
  std::vector<TaskState> states;  // any of them; empty: every state
  std::optional<int64_t> due_before, due_after;
  std::optional<int64_t> priority_min, priority_max;
  enum class Order { kCreated, kDue, kPriority } order = Order::kCreated;
  bool descending = false;
  int64_t limit = 50, offset = 0;
};

}  // namespace treaty::engine
