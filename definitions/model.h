// The parsed form of a process definition: what the YAML says, with the
// source location of every name, ready for the validator, the code
// generator, the reference machine and the runtime.
//
// State names are unique across the whole definition (also inside composite
// states and regions), so steps refer to states by plain name.
//
// Thread-safety: plain values; immutable once loaded.
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "definitions/source.h"
#include "definitions/value.h"

namespace treaty::defs {

enum class FieldType { kString, kInteger, kDecimal, kBoolean, kObject, kArray, kAny };
const char* FieldTypeName(FieldType t);

// A typed field of instance data or of a step's input, with its checks.
struct FieldSpec {
  std::string name;
  Loc loc;
  FieldType type = FieldType::kAny;
  bool required = true;           // input fields; data fields start absent
  std::string description;
  std::optional<Decimal> minimum;  // numbers
  std::optional<Decimal> maximum;
  std::optional<int64_t> min_length;  // strings (characters) and arrays (items)
  std::optional<int64_t> max_length;
  std::vector<Value> enum_values;     // allowed values, empty = any
  std::vector<FieldSpec> properties;  // objects: named members
  std::shared_ptr<FieldSpec> items;   // arrays: element spec (may be null = any)
  // Data fields only.
  std::vector<std::string> visible_to;  // roles; empty = every role
  Loc visible_to_loc;
  std::vector<Loc> visible_to_locs;     // one per entry of visible_to
  bool unique = false;

  const FieldSpec* FindProperty(const std::string& n) const;
};

struct Region;

struct StateSpec {
  std::string name;
  Loc loc;
  bool initial = false;
  bool final = false;
  std::string description;
  std::string label;
  // Deadline: after `after_ms` of ledger time in this state, any party may
  // propose `deadline_step` (a step declared from this state).
  std::optional<int64_t> deadline_after_ms;
  std::string deadline_step;
  Loc deadline_loc;       // the `deadline:` mapping
  Loc deadline_step_loc;  // its `step:` value
  // Composite state: either nested states (one region) or regions.
  std::vector<StateSpec> states;
  std::vector<Region> regions;

  bool composite() const { return !states.empty() || !regions.empty(); }
};

struct Region {
  std::string name;
  Loc loc;
  std::string description;
  std::vector<StateSpec> states;
};

struct NamedRef {
  std::string name;
  Loc loc;
};

struct Expression {
  std::string text;
  Loc loc;  // position of the first character of the expression text
  // Where the text stops being a plain run of source bytes from `loc`
  // (an escape in a quoted scalar, a line break in a multi-line one): from
  // text offset `first` on, offsets count from source position `second`.
  // Sorted by offset; empty when the text is one run (the usual case).
  std::vector<std::pair<int, Loc>> breaks;

  // Source position of byte `offset` of the text (offsets past the end
  // count on from the last character).
  Loc At(int offset) const;
};

struct Assignment {
  std::string field;  // data field written
  Loc loc;
  Expression expr;
};

// What a human task's form says about one input field of its step, for
// UIs (docs/definitions.md, "Human tasks"). Empty strings are unset.
struct FormField {
  std::string name;  // an input field of the step (the validator checks)
  Loc loc;           // the field's key under `fields:`
  std::string label;
  std::string help;
  std::string placeholder;
};

struct TaskForm {
  std::string title;
  std::string description;
  std::vector<FormField> fields;  // in the order written
  Loc loc;                        // the `form:` value

  const FormField* FindField(const std::string& n) const;
};

// A business error a job worker may report instead of completing its job,
// and the step taken then (docs/definitions.md, "Job tasks").
struct JobError {
  std::string code;  // letters, digits, '_', '-', '.'
  std::string step;  // a step leaving every state the job's step leaves (the validator checks)
  Loc code_loc;      // the code, a key under `errors:`
  Loc step_loc;      // its step name value
};

struct TaskSpec {
  static constexpr int kDefaultPriority = 50;
  static constexpr int64_t kDefaultJobRetries = 3;
  static constexpr int64_t kDefaultJobBackoffMs = 10 * 1000;
  static constexpr int64_t kMaxJobBackoffMs = 3600 * 1000;  // the retry delay doubles up to this
  static constexpr int64_t kDefaultJobTimeoutMs = 5 * 60 * 1000;

  std::string human_queue;  // task: { human: { queue: Q } }
  std::string job_type;     // task: { job: { type: T } }
  Loc loc;
  // Human tasks only (the loader refuses these keys under `job:`).
  // `due`: the task is due this long (ledger time) after its state was
  // entered; positive.
  std::optional<int64_t> due_ms;
  int priority = kDefaultPriority;  // 0..100, higher is more urgent
  bool priority_set = false;        // `priority:` was written (even as 50)
  std::vector<std::string> candidate_groups;  // no duplicates, none empty
  std::vector<std::string> candidate_users;   // no duplicates, none empty
  std::optional<TaskForm> form;
  // Job tasks only (the loader refuses these keys under `human:`).
  // `retries`: how often a failed job is tried again; 0 or more.
  int64_t job_retries = kDefaultJobRetries;
  bool job_retries_set = false;  // `retries:` was written (even as 3)
  // `backoff`: the delay before the first retry, doubling after each
  // failure up to kMaxJobBackoffMs; positive, at most kMaxJobBackoffMs.
  std::optional<int64_t> job_backoff_ms;
  // `timeout`: the lease a worker gets when it activates the job; positive.
  std::optional<int64_t> job_timeout_ms;
  // `headers`: static key/value texts handed to the worker, in the order
  // written; keys non-empty and distinct.
  std::vector<std::pair<std::string, std::string>> job_headers;
  // `errors`: business error code -> step, in the order written; codes
  // distinct.
  std::vector<JobError> job_errors;

  int64_t JobBackoffMs() const { return job_backoff_ms.value_or(kDefaultJobBackoffMs); }
  int64_t JobTimeoutMs() const { return job_timeout_ms.value_or(kDefaultJobTimeoutMs); }
  // The delay before retry `n` (1 for the first): JobBackoffMs() doubled
  // n-1 times, at most kMaxJobBackoffMs.
  int64_t JobRetryDelayMs(int64_t n) const;
  // The header or error of that name; nullptr when there is none.
  const std::string* FindJobHeader(const std::string& key) const;
  const JobError* FindJobError(const std::string& code) const;
};

struct StepSpec {
  std::string name;
  Loc loc;
  std::string label;
  std::string description;
  std::vector<NamedRef> from;
  Loc from_loc;  // the `from:` value
  NamedRef to;
  std::vector<NamedRef> by;  // roles allowed to propose
  Loc by_loc;    // the `by:` value
  std::vector<FieldSpec> input;
  std::optional<Expression> guard;
  std::vector<Assignment> set;
  std::optional<TaskSpec> task;
};

struct Definition {
  std::string file;
  std::string process;
  Loc process_loc;
  int64_t version = 0;
  Loc version_loc;
  std::string description;
  std::vector<NamedRef> roles;
  std::vector<FieldSpec> data;
  std::vector<StateSpec> states;  // top level
  std::vector<StepSpec> steps;

  const StepSpec* FindStep(const std::string& n) const;
  const FieldSpec* FindData(const std::string& n) const;
  bool HasRole(const std::string& r) const;
  // Any state of the tree, by name; nullptr when there is none.
  const StateSpec* FindState(const std::string& n) const;
};

// A flattened view of the state tree, for code that does not care about
// nesting: every state with its parent composite ("" at top level) and the
// region it sits in (index into the parent's regions, 0 for plain nesting).
struct StateInfo {
  const StateSpec* spec = nullptr;
  std::string parent;  // enclosing composite state, "" at top level
  int region = 0;
  std::string path;  // "checks.credit_ok": composite names joined by '.'
};
std::vector<StateInfo> FlattenStates(const Definition& d);

}  // namespace treaty::defs
