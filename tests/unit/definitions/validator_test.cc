// The validator and treatyc's diagnostics: one malformed definition per
// error class (tests/data/invalid), each with the exact
// "FILE:LINE:COL: error: MESSAGE" lines it must produce, all of them,
// sorted; and the valid fixtures and examples, which must produce none.
#include "definitions/validator.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "definitions/loader.h"

namespace treaty::defs {
namespace {

using Lines = std::vector<std::string>;

const std::string kInvalid = std::string(TREATY_TEST_DATA) + "/invalid/";
const std::string kValid = std::string(TREATY_TEST_DATA) + "/valid/";

Lines CheckPath(const std::string& path, bool* ok = nullptr) {
  Diagnostics d(path);
  auto def = CheckFile(path, &d);
  if (ok) *ok = def.has_value();
  Lines out;
  for (const auto& x : d.items()) out.push_back(x.ToString());
  return out;
}

// Diagnostics of tests/data/invalid/NAME, as treatyc prints them.
Lines Invalid(const std::string& name) {
  bool ok = true;
  Lines out = CheckPath(kInvalid + name, &ok);
  EXPECT_FALSE(ok) << name;
  return out;
}

// Expected lines, written relative to tests/data/invalid.
Lines Full(Lines lines) {
  for (auto& l : lines) l = kInvalid + l;
  return lines;
}

Lines Text(const std::string& yaml) {
  Diagnostics d("t.yaml");
  auto def = CheckText(yaml, "t.yaml", &d);
  Lines out;
  for (const auto& x : d.items()) out.push_back(x.ToString());
  EXPECT_EQ(def.has_value(), out.empty());
  return out;
}

TEST(Validator, YamlSyntax) {
  EXPECT_EQ(Invalid("syntax.yaml"),
            Full(Lines{"syntax.yaml:4:7: error: invalid YAML: end of sequence flow not found"}));
}

TEST(Validator, UnknownKeyWithHint) {
  EXPECT_EQ(Invalid("unknown-key.yaml"),
            (Full(Lines{"unknown-key.yaml:5:9: error: unknown key 'initail' in state 's0' (did you mean 'initial'?)",
                        "unknown-key.yaml:8:34: error: unknown key 'gaurd' in step 'go' (did you mean 'guard'?)"})));
}

TEST(Validator, WrongValueShapes) {
  EXPECT_EQ(
      Invalid("wrong-shape.yaml"),
      (Full(Lines{"wrong-shape.yaml:2:10: error: 'version' must be an integer",
                  "wrong-shape.yaml:3:8: error: 'roles' must be a list of role names, e.g. [buyer, seller]",
                  "wrong-shape.yaml:5:32: error: 'minimum' must be a number",
                  "wrong-shape.yaml:5:37: error: 'max_length' applies to string and array fields, not integer ones",
                  "wrong-shape.yaml:7:18: error: 'initial' must be true or false",
                  "wrong-shape.yaml:7:42: error: 'after' must be a positive duration such as 48h, 30m, 10s, 500ms "
                  "or 7d",
                  "wrong-shape.yaml:10:23: error: 'to' must name one state",
                  "wrong-shape.yaml:10:43: error: 'guard' must be an expression string"})));
}

TEST(Validator, UnknownFieldType) {
  EXPECT_EQ(
      Invalid("unknown-type.yaml"),
      (Full(Lines{"unknown-type.yaml:5:18: error: unknown type 'interger': expected string, integer, decimal, "
                  "boolean, object, array or any (did you mean 'integer'?)",
                  "unknown-type.yaml:6:9: error: unknown type 'date': expected string, integer, decimal, boolean, "
                  "object, array or any",
                  "unknown-type.yaml:11:54: error: a type must be one of string, integer, decimal, boolean, object, "
                  "array or any"})));
}

TEST(Validator, NoInitialState) {
  EXPECT_EQ(
      Invalid("no-initial.yaml"),
      (Full(Lines{"no-initial.yaml:5:3: error: no initial state in the top level: mark one state with 'initial: "
                  "true'",
                  "no-initial.yaml:5:3: error: state 's0' is unreachable: no step leads to it from the initial state",
                  "no-initial.yaml:6:3: error: state 's1' is unreachable: no step leads to it from the initial "
                  "state"})));
}

TEST(Validator, SeveralInitialStatesPerLevel) {
  EXPECT_EQ(
      Invalid("two-initials.yaml"),
      (Full(Lines{"two-initials.yaml:6:3: error: state 's1' is a second initial state in the top level (the first "
                  "is 's0')",
                  "two-initials.yaml:10:7: error: state 'in2' is a second initial state in composite state 'box' "
                  "(the first is 'in1')"})));
}

TEST(Validator, StepFromOrToUnknownState) {
  EXPECT_EQ(
      Invalid("unknown-state.yaml"),
      (Full(Lines{"unknown-state.yaml:6:3: error: state 'middle' is unreachable: no step leads to it from the "
                  "initial state",
                  "unknown-state.yaml:7:3: error: state 'done' is unreachable: no step leads to it from the initial "
                  "state",
                  "unknown-state.yaml:9:15: error: step 'go' comes from unknown state 'drat' (did you mean 'draft'?)",
                  "unknown-state.yaml:10:37: error: step 'end' goes to unknown state 'dnoe' (did you mean "
                  "'done'?)"})));
}

TEST(Validator, UnreachableStatesOutermostOnly) {
  EXPECT_EQ(
      Invalid("unreachable.yaml"),
      (Full(Lines{"unreachable.yaml:7:3: error: state 'orphan' is unreachable: no step leads to it from the initial "
                  "state",
                  "unreachable.yaml:8:3: error: state 'island' is unreachable: no step leads to it from the initial "
                  "state"})));
}

TEST(Validator, NonFinalStatesWithoutWayOut) {
  EXPECT_EQ(Invalid("dead-end.yaml"),
            (Full(Lines{"dead-end.yaml:6:3: error: state 'stuck' is not final and no step leaves it (nor its enclosing "
                        "states)",
                        "dead-end.yaml:7:3: error: state 'box' is not final and no step leaves it (nor its enclosing "
                        "states)"})));
}

TEST(Validator, FinalStateWithOutgoingStep) {
  EXPECT_EQ(
      Invalid("final-with-step.yaml"),
      Full(Lines{"final-with-step.yaml:9:18: error: step 'again' leaves final state 's1'; final states have no way "
                 "out"}));
}

TEST(Validator, ByNamingNoRoleOrAnUnknownRole) {
  EXPECT_EQ(
      Invalid("by-no-role.yaml"),
      (Full(Lines{"by-no-role.yaml:9:31: error: step 'go' names no role in 'by'",
                  "by-no-role.yaml:10:41: error: step 'end' is by unknown role 'byuer' (did you mean 'buyer'?)"})));
}

TEST(Validator, GuardDoesNotParse) {
  EXPECT_EQ(
      Invalid("guard-parse.yaml"),
      Full(Lines{"guard-parse.yaml:15:34: error: guard of step 'go' does not parse: expected ')' to close '(', found "
                 "end of expression"}));
}

TEST(Validator, GuardNamesUnknownField) {
  EXPECT_EQ(
      Invalid("guard-unknown-field.yaml"),
      Full(Lines{"guard-unknown-field.yaml:10:86: error: guard of step 'go': unknown field 'data.totl' (did you mean "
                 "'total'?)"}));
}

TEST(Validator, GuardMixesTypesInAFoldedScalar) {
  // The guard is a folded block scalar: the problem is on its second line.
  EXPECT_EQ(Invalid("guard-mixed-types.yaml"),
            Full(Lines{"guard-mixed-types.yaml:16:7: error: guard of step 'go': cannot compare string with integer"}));
}

TEST(Validator, GuardMustBeBoolean) {
  EXPECT_EQ(
      Invalid("guard-not-boolean.yaml"),
      Full(Lines{"guard-not-boolean.yaml:10:41: error: guard of step 'go' must be a boolean expression, not integer"}));
}

TEST(Validator, SetIntoUnknownField) {
  EXPECT_EQ(Invalid("set-unknown-field.yaml"),
            Full(Lines{"set-unknown-field.yaml:15:12: error: step 'go' sets unknown data field 'totl' (did you mean "
                       "'total'?)"}));
}

TEST(Validator, SetTypeMismatch) {
  // integer into decimal is fine; a string into an integer and an array of
  // objects with a string member into one declared integer are not.
  EXPECT_EQ(Invalid("set-type-mismatch.yaml"),
            (Full(Lines{"set-type-mismatch.yaml:20:19: error: step 'go' cannot set data field 'total' (integer) to a "
                        "string",
                        "set-type-mismatch.yaml:20:51: error: step 'go' cannot set data field 'lines' to this value: "
                        "lines[].qty is integer, the value a string"})));
}

TEST(Validator, VisibilityViolations) {
  // input.items is copied into a field the bank may not see, so it is
  // hidden from the bank as well: the guard and a computed set may not
  // read it; data.items may not be copied into a field the bank sees.
  const char* kRule = "; every member applies every step, so rules may only read fields all roles see";
  EXPECT_EQ(
      Invalid("visibility.yaml"),
      (Full(Lines{std::string("visibility.yaml:18:17: error: guard of step 'go' reads input.items, which bank may "
                              "not see") +
                      kRule,
                  std::string("visibility.yaml:19:43: error: 'set' of 'count' in step 'go' reads input.items, which "
                              "bank may not see") +
                      kRule,
                  std::string("visibility.yaml:24:17: error: guard of step 'end' reads data.items, which bank may "
                              "not see") +
                      kRule,
                  "visibility.yaml:25:18: error: 'set' of 'copy' in step 'end' copies data.items, which bank may not "
                  "see, into a field bank may see"})));
}

TEST(Validator, NamesThatAreNotValid) {
  EXPECT_EQ(
      Invalid("bad-identifier.yaml"),
      (Full(Lines{"bad-identifier.yaml:1:10: error: 'my process' is not a valid process name: it starts with a "
                  "letter or '_' and goes on with letters, digits, '_', '-' or '.'",
                  "bad-identifier.yaml:3:16: error: '2nd-party' is not a valid role name: names start with a letter "
                  "or '_' and go on with letters, digits, '_' or '-'",
                  "bad-identifier.yaml:5:3: error: 'po-number' is not a valid field name: field names start with a "
                  "letter or '_' and go on with letters, digits or '_'",
                  "bad-identifier.yaml:8:3: error: '9lives' is not a valid state name: names start with a letter or "
                  "'_' and go on with letters, digits, '_' or '-'"})));
}

TEST(Validator, DuplicateNamesAndKeys) {
  EXPECT_EQ(Invalid("duplicate-name.yaml"),
            (Full(Lines{"duplicate-name.yaml:3:15: error: duplicate role 'a'",
                        "duplicate-name.yaml:10:3: error: duplicate key 's1' in 'states'",
                        "duplicate-name.yaml:14:3: error: duplicate key 'go' in 'steps'"})));
}

TEST(Validator, DuplicateStatesAcrossTheTree) {
  EXPECT_EQ(
      Invalid("duplicate-state.yaml"),
      (Full(Lines{"duplicate-state.yaml:8:7: error: duplicate state 's0': state names are unique in the whole "
                  "definition",
                  "duplicate-state.yaml:14:11: error: duplicate state 'inner': state names are unique in the whole "
                  "definition"})));
}

TEST(Validator, StepsCrossingCompositeOrRegionBoundaries) {
  EXPECT_EQ(
      Invalid("composite-crossing.yaml"),
      (Full(Lines{"composite-crossing.yaml:22:17: error: step 'jump' goes from 'inner' (in composite state 'box') "
                  "to 's1' (in the top level); a step stays within one composite state or region: to leave 'box', "
                  "step from it",
                  "composite-crossing.yaml:24:19: error: step 'across' goes from 'l0' (in region 'left' of 'par') to "
                  "'r1' (in region 'right' of 'par'); regions move independently: a step stays within one region"})));
}

TEST(Validator, BadDeadlines) {
  EXPECT_EQ(
      Invalid("bad-deadline.yaml"),
      (Full(Lines{"bad-deadline.yaml:5:53: error: deadline step 'go' of state 's0' must leave that state (add 's0' "
                  "to its 'from')",
                  "bad-deadline.yaml:6:38: error: deadline of state 's1' names unknown step 'expier' (did you mean "
                  "'expire'?)",
                  "bad-deadline.yaml:14:46: error: input field 'note' of deadline step 'lapse' is required, but the "
                  "node proposes the step with no input when the deadline of state 's3' passes (add 'required: "
                  "false')"})));
}

TEST(Validator, BadHumanTasks) {
  EXPECT_EQ(
      Invalid("bad-human-task.yaml"),
      (Full(Lines{
          "bad-human-task.yaml:15:14: error: 'due' must be a positive duration such as 48h, 30m, 10s, 500ms or 7d",
          "bad-human-task.yaml:16:19: error: 'priority' must be an integer from 0 to 100",
          "bad-human-task.yaml:17:27: error: 'candidate_groups' must be a group name or a list of group names",
          "bad-human-task.yaml:18:32: error: 'candidate_users' must list user names",
          "bad-human-task.yaml:18:36: error: 'candidate_users' names user 'ann' twice",
          "bad-human-task.yaml:26:14: error: 'due' must be a positive duration such as 48h, 30m, 10s, 500ms or 7d",
          "bad-human-task.yaml:27:19: error: 'priority' must be an integer from 0 to 100",
          "bad-human-task.yaml:28:27: error: 'candidate_groups' must name at least one group (leave it out for none)",
          "bad-human-task.yaml:29:27: error: 'candidate_users' must list user names",
          "bad-human-task.yaml:30:24: error: 'title' must be a string",
          "bad-human-task.yaml:30:37: error: the fields of the form of step 'two' must be a mapping of input field "
          "names to { label, help, placeholder }",
          "bad-human-task.yaml:36:65: error: unknown key 'hint' in form field 'n' of step 'three'",
          "bad-human-task.yaml:36:78: error: unknown key 'layout' in the form of step 'three'",
          "bad-human-task.yaml:41:38: error: the form of step 'four' must be a mapping"})));
}

TEST(Validator, HumanTaskKeysUnderJob) {
  EXPECT_EQ(Invalid("job-task-human-keys.yaml"),
            (Full(Lines{"job-task-human-keys.yaml:12:34: error: 'due' applies to human tasks, not job tasks",
                        "job-task-human-keys.yaml:12:43: error: 'priority' applies to human tasks, not job tasks",
                        "job-task-human-keys.yaml:12:57: error: 'candidate_groups' applies to human tasks, not job "
                        "tasks",
                        "job-task-human-keys.yaml:12:82: error: 'form' applies to human tasks, not job tasks"})));
}

TEST(Validator, BadJobTasks) {
  EXPECT_EQ(
      Invalid("bad-job-task.yaml"),
      (Full(Lines{
          "bad-job-task.yaml:15:18: error: 'retries' must be an integer, 0 or more",
          "bad-job-task.yaml:16:18: error: 'backoff' must be a positive duration of at most 1h such as 500ms, 10s or "
          "1m",
          "bad-job-task.yaml:17:18: error: 'timeout' must be a positive duration such as 48h, 30m, 10s, 500ms or 7d",
          "bad-job-task.yaml:18:20: error: header names must not be empty",
          "bad-job-task.yaml:18:33: error: header 'tags' must be a text (numbers and booleans are kept as written), "
          "not a list",
          "bad-job-task.yaml:18:48: error: header 'owner' must be a text (numbers and booleans are kept as written), "
          "not a mapping",
          "bad-job-task.yaml:18:63: error: header 'empty' must be a text (numbers and booleans are kept as written), "
          "not null",
          "bad-job-task.yaml:19:19: error: 'BAD CODE' is not a valid error code: codes are letters, digits, '_', '-' "
          "and '.'",
          "bad-job-task.yaml:19:36: error: '' is not a valid error code: codes are letters, digits, '_', '-' and '.'",
          "bad-job-task.yaml:19:54: error: error 'NO_MAIL' must name the step to take when a worker reports it",
          "bad-job-task.yaml:19:65: error: error 'OK' must name the step to take when a worker reports it",
          "bad-job-task.yaml:26:15: error: 'type' must not be empty",
          "bad-job-task.yaml:27:18: error: 'retries' must be an integer, 0 or more",
          "bad-job-task.yaml:28:18: error: 'backoff' must be a positive duration of at most 1h such as 500ms, 10s or "
          "1m",
          "bad-job-task.yaml:29:18: error: 'timeout' must be a positive duration such as 48h, 30m, 10s, 500ms or 7d",
          "bad-job-task.yaml:30:18: error: 'headers' must have at least one header (leave it out for none)",
          "bad-job-task.yaml:31:17: error: 'errors' must map at least one error code (leave it out for none)",
          "bad-job-task.yaml:36:38: error: the headers of the 'job' task of step 'three' must be a mapping of header "
          "names to texts",
          "bad-job-task.yaml:36:51: error: the errors of the 'job' task of step 'three' must be a mapping of error "
          "codes to step names",
          "bad-job-task.yaml:41:46: error: duplicate key 'k' in the headers of the 'job' task of step 'four'"})));
}

TEST(Validator, JobTaskKeysUnderHuman) {
  EXPECT_EQ(Invalid("human-task-job-keys.yaml"),
            (Full(Lines{"human-task-job-keys.yaml:12:32: error: 'retries' applies to job tasks, not human tasks",
                        "human-task-job-keys.yaml:12:44: error: 'backoff' applies to job tasks, not human tasks",
                        "human-task-job-keys.yaml:12:57: error: 'timeout' applies to job tasks, not human tasks",
                        "human-task-job-keys.yaml:12:70: error: 'headers' applies to job tasks, not human tasks",
                        "human-task-job-keys.yaml:12:89: error: 'errors' applies to job tasks, not human tasks"})));
}

TEST(Validator, JobErrorSteps) {
  EXPECT_EQ(Invalid("job-error-step.yaml"),
            (Full(Lines{"job-error-step.yaml:18:21: error: error 'DECLINED' of job step 'check' names unknown step "
                        "'declin' (did you mean 'decline'?)",
                        "job-error-step.yaml:19:17: error: error 'LOOP' of job step 'check' names the job step "
                        "itself; an error leads to another step out of its state",
                        "job-error-step.yaml:20:20: error: error step 'decline' of job step 'check' must leave state "
                        "'s1' too (add it to its 'from')",
                        "job-error-step.yaml:21:22: error: error step 'away' of job step 'check' must leave states "
                        "'s0' and 's1' too (add them to its 'from')",
                        "job-error-step.yaml:23:19: error: error step 'theirs' of job step 'check' must be taken by "
                        "role 'a' too: the job's party proposes it (add it to its 'by')"})));
}

TEST(Validator, FormDescribesUnknownInputField) {
  EXPECT_EQ(Invalid("form-unknown-field.yaml"),
            (Full(Lines{"form-unknown-field.yaml:18:13: error: form of step 'go' describes unknown input field "
                        "'amout' (did you mean 'amount'?)",
                        "form-unknown-field.yaml:24:50: error: form of step 'back' describes unknown input field "
                        "'reason': the step has no input"})));
}

TEST(Validator, ReportsEveryProblemSorted) {
  EXPECT_EQ(Invalid("several-problems.yaml"),
            (Full(Lines{"several-problems.yaml:8:3: error: state 's1' is unreachable: no step leads to it from the "
                        "initial state",
                        "several-problems.yaml:10:23: error: step 'go' goes to unknown state 's9' (did you mean 's0'?)",
                        "several-problems.yaml:10:31: error: step 'go' is by unknown role 'b' (did you mean 'a'?)",
                        "several-problems.yaml:10:42: error: guard of step 'go': unknown field 'data.m' (did you mean "
                        "'n'?)"})));
}

TEST(Validator, EveryErrorClassHasAFixture) {
  // Keeps this file and tests/data/invalid in step: a fixture without a
  // test above would go unchecked.
  for (const char* f : {"syntax.yaml",
                        "unknown-key.yaml",
                        "wrong-shape.yaml",
                        "unknown-type.yaml",
                        "no-initial.yaml",
                        "two-initials.yaml",
                        "unknown-state.yaml",
                        "unreachable.yaml",
                        "dead-end.yaml",
                        "final-with-step.yaml",
                        "by-no-role.yaml",
                        "guard-parse.yaml",
                        "guard-unknown-field.yaml",
                        "guard-mixed-types.yaml",
                        "guard-not-boolean.yaml",
                        "set-unknown-field.yaml",
                        "set-type-mismatch.yaml",
                        "visibility.yaml",
                        "bad-identifier.yaml",
                        "duplicate-name.yaml",
                        "duplicate-state.yaml",
                        "composite-crossing.yaml",
                        "bad-deadline.yaml",
                        "bad-human-task.yaml",
                        "job-task-human-keys.yaml",
                        "form-unknown-field.yaml",
                        "bad-job-task.yaml",
                        "human-task-job-keys.yaml",
                        "job-error-step.yaml",
                        "several-problems.yaml"})
    EXPECT_FALSE(Invalid(f).empty()) << f;
}

TEST(Validator, ValidFixturesAndExamplesAreClean) {
  for (const std::string& f : {kValid + "minimal.yaml", kValid + "composite.yaml", kValid + "parallel.yaml",
                               kValid + "visibility.yaml", kValid + "purchase-order-variant.yaml",
                               kValid + "purchase-order-tasks.yaml", kValid + "credit-check.yaml",
                               std::string(TREATY_SOURCE_DIR) + "/examples/purchase-order/purchase-order.yaml",
                               std::string(TREATY_SOURCE_DIR) + "/examples/letter-of-credit/letter-of-credit.yaml",
                               std::string(TREATY_SOURCE_DIR) + "/tests/data/machines/claims.yaml"}) {
    bool ok = false;
    EXPECT_EQ(CheckPath(f, &ok), Lines{}) << f;
    EXPECT_TRUE(ok) << f;
  }
}

TEST(Validator, MissingFile) {
  EXPECT_EQ(CheckPath("/nonexistent/x.yaml"), Lines{"/nonexistent/x.yaml:1:1: error: cannot read file"});
}

// Cases that need no fixture of their own.

TEST(Validator, ExpressionPositionsFollowEscapesAndLines) {
  // The escaped quotes shift the unknown field two columns to the right of
  // "loc + offset"; the literal block puts it on its second line.
  EXPECT_EQ(Text(R"(process: p
version: 1
roles: [a]
data:
  total: integer
states:
  s0: { initial: true }
  s1: { final: true }
steps:
  go: { from: s0, to: s1, by: a, guard: "\"x\" in actor.roles && data.totl > 1" }
  back:
    from: s0
    to: s1
    by: a
    guard: |
      data.total > 1 &&
        data.totl > 2
)"),
            (Lines{"t.yaml:10:66: error: guard of step 'go': unknown field 'data.totl' (did you mean 'total'?)",
                   "t.yaml:17:9: error: guard of step 'back': unknown field 'data.totl' (did you mean 'total'?)"}));
}

TEST(Validator, SetPlainCopyIntoRestrictedFieldIsFine) {
  EXPECT_EQ(Text(R"(process: p
version: 1
roles: [buyer, bank]
data:
  secret: { type: string, visible_to: [buyer] }
  size: integer
states:
  s0: { initial: true }
  s1: { final: true }
steps:
  go:
    from: s0
    to: s1
    by: buyer
    input: { secret: string, n: integer }
    set: { secret: input.secret, size: input.n + 1 }
)"),
            Lines{});
}

TEST(Validator, ReadingAllOfDataWithHiddenFields) {
  EXPECT_EQ(Text(R"(process: p
version: 1
roles: [buyer, bank]
data:
  secret: { type: string, visible_to: [buyer] }
  all: object
states:
  s0: { initial: true }
  s1: { final: true }
steps:
  go: { from: s0, to: s1, by: buyer, set: { all: data } }
)"),
            Lines{"t.yaml:11:50: error: 'set' of 'all' in step 'go' reads data (with data.secret), which bank may not "
                  "see; every member applies every step, so rules may only read fields all roles see"});
}

TEST(Validator, RolesVisibilityAndUniqueFields) {
  EXPECT_EQ(Text(R"(process: p
version: 1
roles: [buyer]
data:
  a: { type: string, visible_to: [buyer, seler] }
  b: { type: boolean, unique: true }
states:
  s0: { initial: true }
  s1: { final: true }
steps:
  go: { from: [s0, s0], to: s1, by: [buyer, buyer] }
)"),
            (Lines{"t.yaml:5:42: error: 'visible_to' of data field 'a' names unknown role 'seler'",
                   "t.yaml:6:3: error: unique data field 'b' must be a string or an integer, not boolean",
                   "t.yaml:11:20: error: step 'go' names state 's0' twice in 'from'",
                   "t.yaml:11:45: error: step 'go' names role 'buyer' twice in 'by'"}));
}

TEST(Validator, UniqueFieldsAreVisibleToEveryRole) {
  EXPECT_EQ(Text(R"(process: p
version: 1
roles: [buyer, seller]
data:
  ref: { type: string, unique: true, visible_to: [buyer] }
  ok: { type: string, unique: true, visible_to: [buyer, seller] }
states:
  s0: { initial: true }
  s1: { final: true }
steps:
  go: { from: s0, to: s1, by: buyer }
)"),
            (Lines{"t.yaml:5:50: error: unique data field 'ref' must be visible to every role: each member checks its "
                   "claim on the ledger"}));
}

TEST(Validator, CompositeStatesAreNotFinalAndRegionsNeedInitials) {
  EXPECT_EQ(Text(R"(process: p
version: 1
roles: [a]
states:
  s0: { initial: true }
  par:
    final: true
    regions:
      left:
        states:
          l0: {}
          l1: { final: true }
steps:
  go: { from: s0, to: par, by: a }
  step: { from: l0, to: l1, by: a }
)"),
            (Lines{"t.yaml:6:3: error: composite state 'par' cannot be final",
                   "t.yaml:11:11: error: no initial state in region 'left' of 'par': mark one state with 'initial: "
                   "true'",
                   "t.yaml:11:11: error: state 'l0' is unreachable: no step leads to it from the initial state",
                   "t.yaml:12:11: error: state 'l1' is unreachable: no step leads to it from the initial state"}));
}

TEST(Validator, GuardGetsTheEnvironment) {
  // actor and chain are always there; input is the step's own.
  EXPECT_EQ(Text(R"(process: p
version: 1
roles: [a]
states:
  s0: { initial: true }
  s1: { final: true }
steps:
  go:
    from: s0
    to: s1
    by: a
    input: { n: { type: integer, required: false } }
    guard: 'actor.party != "" && len(actor.roles) > 0 && chain.time > 0 && input.n == null && input.m == 1'
)"),
            Lines{"t.yaml:13:95: error: guard of step 'go': unknown field 'input.m' (did you mean 'n'?)"});
}

}  // namespace
}  // namespace treaty::defs
