// One malformed definition per error class: treatyc's diagnostics, with
// their exact line, column and message.
#include <gtest/gtest.h>

#include "definitions/validator.h"

namespace treaty::defs {
namespace {

// A valid base that each case breaks in one place.
std::vector<std::string> Check(const std::string& yaml) {
  Diagnostics d("t.yaml");
  auto def = CheckText(yaml, "t.yaml", &d);
  std::vector<std::string> out;
  for (const auto& x : d.items()) out.push_back(x.ToString());
  if (out.empty()) {
    EXPECT_TRUE(def.has_value());
  }
  return out;
}

using Lines = std::vector<std::string>;

TEST(Validator, ValidDefinitionHasNoDiagnostics) {
  EXPECT_EQ(Check(R"(process: p
version: 1
roles: [a, b]
data:
  n: { type: integer, minimum: 0 }
states:
  s0: { initial: true }
  s1: { final: true }
steps:
  go: { from: s0, to: s1, by: a, input: { n: integer }, guard: "input.n > 0", set: { n: input.n } }
)"),
            Lines{});
}

TEST(Validator, YamlSyntaxError) {
  EXPECT_EQ(Check("process: p\nversion: 1\nroles: [a\nstates: {}\n"),
            Lines{"t.yaml:4:7: error: invalid YAML: end of sequence flow not found"});
}

TEST(Validator, UnknownKeyWithHint) {
  EXPECT_EQ(Check(R"(process: p
version: 1
roles: [a]
states:
  s0: { initail: true }
steps: {}
)"),
            Lines{"t.yaml:5:9: error: unknown key 'initail' in state 's0' (did you mean 'initial'?)"});
}

TEST(Validator, NoInitialState) {
  EXPECT_EQ(Check(R"(process: p
version: 1
roles: [a]
states:
  s0: {}
  s1: { final: true }
steps:
  go: { from: s0, to: s1, by: a }
)"),
            (Lines{"t.yaml:5:3: error: no initial state in the top level: mark one state with 'initial: true'",
                   "t.yaml:5:3: error: state 's0' is unreachable: no step leads to it from the initial state",
                   "t.yaml:6:3: error: state 's1' is unreachable: no step leads to it from the initial state"}));
}

TEST(Validator, SeveralInitialStates) {
  EXPECT_EQ(Check(R"(process: p
version: 1
roles: [a]
states:
  s0: { initial: true }
  s1: { initial: true, final: true }
steps:
  go: { from: s0, to: s1, by: a }
)"),
            Lines{"t.yaml:6:3: error: state 's1' is a second initial state in the top level (the first is 's0')"});
}

TEST(Validator, StepFromOrToUnknownState) {
  EXPECT_EQ(Check(R"(process: p
version: 1
roles: [a]
states:
  draft: { initial: true }
  done: { final: true }
steps:
  go: { from: drat, to: done, by: a }
  end: { from: draft, to: dnoe, by: a }
)"),
            (Lines{"t.yaml:6:3: error: state 'done' is unreachable: no step leads to it from the initial state",
                   "t.yaml:8:15: error: step 'go' comes from unknown state 'drat' (did you mean 'draft'?)",
                   "t.yaml:9:27: error: step 'end' goes to unknown state 'dnoe' (did you mean 'done'?)"}));
}

TEST(Validator, UnreachableState) {
  EXPECT_EQ(Check(R"(process: p
version: 1
roles: [a]
states:
  s0: { initial: true }
  s1: { final: true }
  orphan: {}
steps:
  go: { from: s0, to: s1, by: a }
  back: { from: orphan, to: s1, by: a }
)"),
            Lines{"t.yaml:7:3: error: state 'orphan' is unreachable: no step leads to it from the initial state"});
}

TEST(Validator, NonFinalStateWithoutWayOut) {
  EXPECT_EQ(Check(R"(process: p
version: 1
roles: [a]
states:
  s0: { initial: true }
  stuck: {}
steps:
  go: { from: s0, to: stuck, by: a }
)"),
            Lines{"t.yaml:6:3: error: state 'stuck' is not final and no step leaves it (nor its enclosing states)"});
}

TEST(Validator, ByNamingNoRole) {
  EXPECT_EQ(Check(R"(process: p
version: 1
roles: [buyer]
states:
  s0: { initial: true }
  s1: { final: true }
steps:
  go: { from: s0, to: s1, by: byuer }
)"),
            Lines{"t.yaml:8:31: error: step 'go' is by unknown role 'byuer' (did you mean 'buyer'?)"});
}

TEST(Validator, GuardDoesNotParse) {
  EXPECT_EQ(Check(R"(process: p
version: 1
roles: [a]
states:
  s0: { initial: true }
  s1: { final: true }
steps:
  go: { from: s0, to: s1, by: a, input: { n: integer }, guard: "input.n >" }
)"),
            Lines{"t.yaml:8:74: error: guard of step 'go' does not parse: unexpected end of expression"});
}

TEST(Validator, GuardNamesUnknownField) {
  EXPECT_EQ(Check(R"(process: p
version: 1
roles: [a]
data:
  total: { type: integer }
states:
  s0: { initial: true }
  s1: { final: true }
steps:
  go: { from: s0, to: s1, by: a, guard: "data.totl > 1" }
)"),
            Lines{"t.yaml:10:42: error: guard of step 'go': unknown field 'data.totl' (did you mean 'total'?)"});
}

TEST(Validator, GuardMixesTypes) {
  EXPECT_EQ(Check(R"(process: p
version: 1
roles: [a]
data:
  name: { type: string }
states:
  s0: { initial: true }
  s1: { final: true }
steps:
  go: { from: s0, to: s1, by: a, guard: "data.name == 3" }
)"),
            Lines{"t.yaml:10:42: error: guard of step 'go': cannot compare string with integer"});
}

TEST(Validator, GuardMustBeBoolean) {
  EXPECT_EQ(Check(R"(process: p
version: 1
roles: [a]
data:
  n: { type: integer }
states:
  s0: { initial: true }
  s1: { final: true }
steps:
  go: { from: s0, to: s1, by: a, guard: "data.n + 1" }
)"),
            Lines{"t.yaml:10:42: error: guard of step 'go' must be a boolean expression, not integer"});
}

TEST(Validator, SetUnknownFieldAndWrongType) {
  EXPECT_EQ(Check(R"(process: p
version: 1
roles: [a]
data:
  total: { type: integer }
states:
  s0: { initial: true }
  s1: { final: true }
steps:
  go:
    from: s0
    to: s1
    by: a
    input: { t: string }
    set: { totl: "1", total: input.t }
)"),
            (Lines{"t.yaml:15:12: error: step 'go' sets unknown data field 'totl' (did you mean 'total'?)",
                   "t.yaml:15:30: error: cannot set data field 'total' (integer) to a string"}));
}

TEST(Validator, GuardReadsFieldSomeRoleMayNotSee) {
  EXPECT_EQ(Check(R"(process: p
version: 1
roles: [buyer, bank]
data:
  items: { type: array, visible_to: [buyer] }
states:
  s0: { initial: true }
  s1: { final: true }
steps:
  go: { from: s0, to: s1, by: buyer, guard: "len(data.items) > 0" }
)"),
            Lines{"t.yaml:10:50: error: guard of step 'go' reads data.items, which bank may not see; every member "
                  "applies every step, so rules may only read fields all roles see"});
}

TEST(Validator, CopyingHiddenValueIntoVisibleField) {
  EXPECT_EQ(Check(R"(process: p
version: 1
roles: [buyer, bank]
data:
  items: { type: array, visible_to: [buyer] }
  copy: { type: array }
states:
  s0: { initial: true }
  s1: { final: true }
steps:
  go: { from: s0, to: s1, by: buyer, set: { copy: data.items } }
)"),
            Lines{"t.yaml:11:51: error: 'set' of copy in step 'go' copies data.items, which bank may not see, into a "
                  "field bank may see"});
}

TEST(Validator, NamesMustBeIdentifiersAndUnique) {
  EXPECT_EQ(Check(R"(process: p
version: 1
roles: [a, a]
states:
  s0: { initial: true }
  9lives: {}
  s1: { final: true }
steps:
  go: { from: s0, to: s1, by: a }
)"),
            (Lines{"t.yaml:3:12: error: duplicate role 'a'",
                   "t.yaml:6:3: error: '9lives' is not a valid state name (letters, digits and '_', not starting "
                   "with a digit)"}));
}

TEST(Validator, DuplicateStateInsideComposite) {
  EXPECT_EQ(Check(R"(process: p
version: 1
roles: [a]
states:
  s0: { initial: true }
  box:
    states:
      s0: { initial: true }
  s1: { final: true }
steps:
  go: { from: s0, to: box, by: a }
  out: { from: box, to: s1, by: a }
)"),
            Lines{"t.yaml:8:7: error: duplicate state 's0': state names are unique in the whole definition"});
}

TEST(Validator, StepCrossingCompositeBoundary) {
  EXPECT_EQ(Check(R"(process: p
version: 1
roles: [a]
states:
  s0: { initial: true }
  box:
    states:
      inner: { initial: true }
  s1: { final: true }
steps:
  go: { from: s0, to: box, by: a }
  jump: { from: inner, to: s1, by: a }
)"),
            (Lines{"t.yaml:6:3: error: state 'box' is not final and no step leaves it (nor its enclosing states)",
                   "t.yaml:12:17: error: step 'jump' goes from 'inner' (in 'box') to 's1' (in the top level); a step "
                  "stays within one composite state or region: to leave 'box', step from it"}));
}

TEST(Validator, DeadlineStepMustLeaveTheState) {
  EXPECT_EQ(Check(R"(process: p
version: 1
roles: [a]
states:
  s0: { initial: true, deadline: { after: 2h, step: go } }
  s1: { deadline: { after: 1d, step: nope } }
  s2: { final: true }
steps:
  go: { from: s1, to: s2, by: a }
  first: { from: s0, to: s1, by: a }
)"),
            (Lines{"t.yaml:5:34: error: deadline step 'go' of state 's0' must leave that state (add it to 'from')",
                   "t.yaml:6:19: error: deadline of state 's1' names unknown step 'nope'"}));
}

TEST(Validator, DeadlineNeedsADuration) {
  EXPECT_EQ(Check(R"(process: p
version: 1
roles: [a]
states:
  s0: { initial: true, deadline: { after: soon, step: go } }
  s1: { final: true }
steps:
  go: { from: s0, to: s1, by: a }
)"),
            Lines{"t.yaml:5:43: error: 'after' must be a duration such as 48h, 30m, 10s, 500ms or 7d"});
}

TEST(Validator, ReportsEveryProblemSorted) {
  auto lines = Check(R"(process: p
version: 1
roles: [a]
data:
  n: { type: integer }
states:
  s0: { initial: true }
  s1: { final: true }
steps:
  go: { from: s0, to: s9, by: b, guard: "data.m > 1" }
)");
  EXPECT_EQ(lines, (Lines{"t.yaml:8:3: error: state 's1' is unreachable: no step leads to it from the initial state",
                          "t.yaml:10:23: error: step 'go' goes to unknown state 's9' (did you mean 's0'?)",
                          "t.yaml:10:31: error: step 'go' is by unknown role 'b' (did you mean 'a'?)",
                          "t.yaml:10:42: error: guard of step 'go': unknown field 'data.m' (did you mean 'n'?)"}));
}

TEST(Validator, ExamplesAreValid) {
  for (const char* f : {"/examples/purchase-order/purchase-order.yaml", "/examples/letter-of-credit/letter-of-credit.yaml",
                        "/tests/data/machines/claims.yaml"}) {
    Diagnostics d(f);
    auto def = CheckFile(std::string(TREATY_SOURCE_DIR) + f, &d);
    EXPECT_TRUE(def.has_value()) << f << ": " << (d.empty() ? "" : d.items()[0].ToString());
  }
}

}  // namespace
}  // namespace treaty::defs
