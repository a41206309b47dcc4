// Jobs as the node keeps them: a step with `task: { job: { type: T } }`
// waiting at the party holding its role for a machine — a job worker — to
// do it (docs/jobs.md). Opening and closing follow the ledger, like a
// human task's; activation (the lease), failures, retries and incidents
// are this party's own bookkeeping, in node time.
//
// Thread-safety: plain values.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace treaty::engine {

// Activatable: waiting for a worker. Activated: leased to one until
// deadline_ms. Failed: failed with retries left, activatable again at
// retry_at_ms. Incident: waits for an operator. The last three are closed.
enum class JobState { kActivatable, kActivated, kFailed, kIncident, kCompleted, kErrorThrown, kCancelled };
const char* JobStateName(JobState s);  // "activatable", "activated", ..., "error_thrown", "cancelled"
std::optional<JobState> JobStateFromName(std::string_view name);
inline bool JobOpen(JobState s) {
  return s == JobState::kActivatable || s == JobState::kActivated || s == JobState::kFailed ||
         s == JobState::kIncident;
}

// Why an incident was raised.
inline constexpr const char* kIncidentNoRetries = "no_retries";
inline constexpr const char* kIncidentUnmappedError = "unmapped_error";
inline constexpr const char* kIncidentStepRejected = "step_rejected";

struct JobRow {
  int64_t no = 0;  // the store's ordinal: creation order
  // "<instance>:<position>:<step>", like a task's id: stable across replays.
  std::string id;
  std::string type, instance, definition, step;
  int64_t version = 0, position = 0;
  JobState state = JobState::kActivatable;
  int64_t retries = 0;   // retries left
  int64_t failures = 0;  // FailJob calls so far (the backoff doubles with them)
  std::string worker;    // who holds, or last held, the lease
  int64_t deadline_ms = 0;  // activated: the lease's end (node time)
  int64_t retry_at_ms = 0;  // failed: when it is activatable again (node time)
  std::string error_message, error_code;
  // The open incident (state kIncident): "<id>#<incidents>".
  int64_t incidents = 0;  // incidents raised so far
  std::string incident_kind, incident_message;
  int64_t incident_ms = 0;
  // Completions (or thrown errors) this node proposed whose step was
  // rejected: the next one uses a new idempotency key.
  int64_t attempts = 0;
  int64_t created_ms = 0, created_height = 0;  // ledger time and height of opening
  int64_t closed_ms = 0, closed_height = 0;
  std::string close_reason, closed_by;
  int64_t opened_ms = 0;   // node time of the opening transaction
  int64_t updated_ms = 0;  // last change, node time

  std::string IncidentId() const { return id + "#" + std::to_string(incidents); }
};

struct JobQuery {
  std::string type, definition, instance;
  std::vector<JobState> states;  // any of them; empty: every state
  int64_t limit = 50, offset = 0;
};

}  // namespace treaty::engine
