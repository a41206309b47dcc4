// The loader: what the YAML becomes in the model, with positions, and the
// problems it reports on its own (before any semantic check).
#include "definitions/loader.h"
#include "definitions/scalar_positions.h"

#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

namespace treaty::defs {
namespace {

using Lines = std::vector<std::string>;

struct Loaded {
  std::optional<Definition> def;
  Lines diags;
};

Loaded Load(const std::string& yaml) {
  Diagnostics d("l.yaml");
  Loaded out;
  out.def = ParseDefinition(yaml, "l.yaml", &d);
  d.Sort();  // the loader reports in the order it finds; CheckFile sorts
  for (const auto& x : d.items()) out.diags.push_back(x.ToString());
  EXPECT_EQ(out.def.has_value(), out.diags.empty());
  return out;
}

Lines Problems(const std::string& yaml) { return Load(yaml).diags; }

std::string Where(Loc l) { return std::to_string(l.line) + ":" + std::to_string(l.col); }

const char* kHead = "process: p\nversion: 1\nroles: [a]\n";

TEST(Loader, PurchaseOrderExample) {
  Diagnostics d("po");
  auto def = LoadDefinitionFile(std::string(TREATY_SOURCE_DIR) + "/examples/purchase-order/purchase-order.yaml", &d);
  ASSERT_TRUE(def.has_value()) << (d.empty() ? "" : d.items()[0].ToString());
  EXPECT_EQ(def->process, "purchase-order");
  EXPECT_EQ(def->version, 1);
  EXPECT_EQ(def->description, "Buyer orders goods, seller accepts or the buyer cancels, buyer pays.");
  ASSERT_EQ(def->roles.size(), 3u);
  EXPECT_EQ(def->roles[2].name, "bank");
  EXPECT_EQ(Where(def->roles[0].loc), "7:9");

  ASSERT_EQ(def->data.size(), 5u);
  const FieldSpec* po = def->FindData("po_number");
  ASSERT_NE(po, nullptr);
  EXPECT_TRUE(po->unique);
  EXPECT_FALSE(po->required);  // data fields start unset
  EXPECT_EQ(po->description, "network-wide unique order number");
  const FieldSpec* items = def->FindData("items");
  ASSERT_NE(items, nullptr);
  EXPECT_EQ(items->type, FieldType::kArray);
  EXPECT_EQ(items->visible_to, (std::vector<std::string>{"buyer", "seller"}));
  ASSERT_NE(items->items, nullptr);
  EXPECT_EQ(items->items->type, FieldType::kObject);
  ASSERT_EQ(items->items->properties.size(), 2u);
  EXPECT_EQ(items->items->properties[1].name, "qty");
  EXPECT_EQ(items->items->properties[1].minimum->ToString(), "1");
  EXPECT_TRUE(items->items->properties[1].required);

  ASSERT_EQ(def->states.size(), 5u);
  EXPECT_TRUE(def->states[0].initial);
  EXPECT_EQ(def->states[1].description, "waiting for the seller");
  EXPECT_TRUE(def->states[4].final);
  EXPECT_EQ(Where(def->states[1].loc), "23:3");

  ASSERT_EQ(def->steps.size(), 4u);
  const StepSpec* submit = def->FindStep("submit");
  ASSERT_NE(submit, nullptr);
  EXPECT_EQ(submit->from[0].name, "draft");
  EXPECT_EQ(submit->to.name, "submitted");
  EXPECT_EQ(submit->by[0].name, "buyer");
  ASSERT_EQ(submit->input.size(), 3u);
  EXPECT_EQ(submit->input[0].max_length, 64);
  ASSERT_EQ(submit->set.size(), 3u);
  EXPECT_EQ(submit->set[1].field, "items");
  EXPECT_EQ(submit->set[1].expr.text, "input.items");
  const StepSpec* accept = def->FindStep("accept");
  ASSERT_TRUE(accept->task.has_value());
  EXPECT_EQ(accept->task->human_queue, "sales-approvals");
  const StepSpec* cancel = def->FindStep("cancel");
  EXPECT_FALSE(cancel->input[0].required);
  const StepSpec* pay = def->FindStep("pay");
  ASSERT_TRUE(pay->guard.has_value());
  EXPECT_EQ(pay->guard->text, "input.amount == data.total");
  EXPECT_EQ(Where(pay->guard->loc), "61:13");  // after the opening quote
}

TEST(Loader, HumanTaskDetails) {
  Diagnostics d("po");
  auto def = LoadDefinitionFile(std::string(TREATY_TEST_DATA) + "/valid/purchase-order-tasks.yaml", &d);
  ASSERT_TRUE(def.has_value()) << (d.empty() ? "" : d.items()[0].ToString());
  const TaskSpec& accept = *def->FindStep("accept")->task;
  EXPECT_EQ(accept.human_queue, "sales-approvals");
  EXPECT_EQ(accept.due_ms, 2 * 24 * 3600 * 1000LL);
  EXPECT_EQ(accept.priority, 60);
  EXPECT_TRUE(accept.priority_set);
  EXPECT_EQ(accept.candidate_groups, (Lines{"sales"}));
  EXPECT_TRUE(accept.candidate_users.empty());
  ASSERT_TRUE(accept.form.has_value());
  EXPECT_EQ(accept.form->title, "Accept the order");
  EXPECT_EQ(accept.form->description, "Check stock and prices first");
  EXPECT_TRUE(accept.form->fields.empty());

  const TaskSpec& pay = *def->FindStep("pay")->task;
  EXPECT_EQ(pay.due_ms, 36 * 3600 * 1000LL);
  EXPECT_EQ(pay.priority, 50);
  EXPECT_TRUE(pay.priority_set);  // written, though it is the default
  EXPECT_EQ(pay.candidate_groups, (Lines{"accounts-payable", "treasury"}));  // as written
  EXPECT_EQ(pay.candidate_users, (Lines{"ann@buyer.example"}));            // a single name is a list of one
  ASSERT_TRUE(pay.form.has_value());
  ASSERT_EQ(pay.form->fields.size(), 1u);
  const FormField* amount = pay.form->FindField("amount");
  ASSERT_NE(amount, nullptr);
  EXPECT_EQ(amount->label, "Amount");
  EXPECT_EQ(amount->help, "the order total in cents");
  EXPECT_EQ(amount->placeholder, "12500");
  EXPECT_EQ(Where(amount->loc), "80:13");

  // Without the new keys: no due time, the default priority, no form.
  auto plain = Load(std::string(kHead) + "states: { s0: { initial: true } }\n"
                                         "steps: { go: { from: s0, to: s0, by: a, task: { human: { queue: q } } } }\n");
  ASSERT_TRUE(plain.def.has_value());
  const TaskSpec& t = *plain.def->steps[0].task;
  EXPECT_FALSE(t.due_ms.has_value());
  EXPECT_EQ(t.priority, TaskSpec::kDefaultPriority);
  EXPECT_FALSE(t.priority_set);
  EXPECT_FALSE(t.form.has_value());
}

TEST(Loader, JobTaskDetails) {
  Diagnostics d("cc");
  auto def = LoadDefinitionFile(std::string(TREATY_TEST_DATA) + "/valid/credit-check.yaml", &d);
  ASSERT_TRUE(def.has_value()) << (d.empty() ? "" : d.items()[0].ToString());
  const TaskSpec& check = *def->FindStep("check")->task;
  EXPECT_EQ(check.job_type, "credit-bureau");
  EXPECT_TRUE(check.human_queue.empty());
  EXPECT_EQ(check.job_retries, 5);
  EXPECT_TRUE(check.job_retries_set);
  EXPECT_EQ(check.job_backoff_ms, 30 * 1000LL);
  EXPECT_EQ(check.JobBackoffMs(), 30 * 1000LL);
  EXPECT_EQ(check.job_timeout_ms, 2 * 60 * 1000LL);
  EXPECT_EQ(check.JobTimeoutMs(), 2 * 60 * 1000LL);
  // Headers in the order written; numbers and booleans as their text.
  using Header = std::pair<std::string, std::string>;
  EXPECT_EQ(check.job_headers,
            (std::vector<Header>{{"bureau", "experian"}, {"region", "EU"}, {"max-score", "999"}, {"strict", "true"}}));
  ASSERT_NE(check.FindJobHeader("strict"), nullptr);
  EXPECT_EQ(*check.FindJobHeader("strict"), "true");
  EXPECT_EQ(check.FindJobHeader("nope"), nullptr);
  ASSERT_EQ(check.job_errors.size(), 2u);
  EXPECT_EQ(check.job_errors[0].code, "DECLINED");
  EXPECT_EQ(check.job_errors[0].step, "decline");
  EXPECT_EQ(Where(check.job_errors[0].code_loc), "42:11");
  EXPECT_EQ(Where(check.job_errors[0].step_loc), "42:21");
  const JobError* no_file = check.FindJobError("bureau.no-file");
  ASSERT_NE(no_file, nullptr);
  EXPECT_EQ(no_file->step, "refer");
  EXPECT_EQ(check.FindJobError("OK"), nullptr);
  // The retry delay doubles from the backoff, up to an hour.
  EXPECT_EQ(check.JobRetryDelayMs(1), 30 * 1000LL);
  EXPECT_EQ(check.JobRetryDelayMs(2), 60 * 1000LL);
  EXPECT_EQ(check.JobRetryDelayMs(3), 120 * 1000LL);
  EXPECT_EQ(check.JobRetryDelayMs(8), 3600 * 1000LL);  // 30s * 128 = 64m, capped
  EXPECT_EQ(check.JobRetryDelayMs(1000), 3600 * 1000LL);

  // Only `type`: the defaults.
  auto plain = Load(std::string(kHead) + "states: { s0: { initial: true } }\n"
                                         "steps: { go: { from: s0, to: s0, by: a, task: { job: { type: t } } } }\n");
  ASSERT_TRUE(plain.def.has_value());
  const TaskSpec& t = *plain.def->steps[0].task;
  EXPECT_EQ(t.job_type, "t");
  EXPECT_EQ(t.job_retries, 3);
  EXPECT_FALSE(t.job_retries_set);
  EXPECT_FALSE(t.job_backoff_ms.has_value());
  EXPECT_EQ(t.JobBackoffMs(), 10 * 1000LL);
  EXPECT_FALSE(t.job_timeout_ms.has_value());
  EXPECT_EQ(t.JobTimeoutMs(), 5 * 60 * 1000LL);
  EXPECT_TRUE(t.job_headers.empty());
  EXPECT_TRUE(t.job_errors.empty());
  EXPECT_EQ(t.JobRetryDelayMs(1), 10 * 1000LL);
  EXPECT_EQ(t.JobRetryDelayMs(4), 80 * 1000LL);

  // retries: 0 is written; backoff up to 1h exactly.
  auto edge = Load(std::string(kHead) + "states: { s0: { initial: true } }\n"
                                        "steps: { go: { from: s0, to: s0, by: a, task: { job: { type: t, retries: 0, "
                                        "backoff: 1h, headers: { e: '' } } } } }\n");
  ASSERT_TRUE(edge.def.has_value()) << edge.diags[0];
  const TaskSpec& e = *edge.def->steps[0].task;
  EXPECT_EQ(e.job_retries, 0);
  EXPECT_TRUE(e.job_retries_set);
  EXPECT_EQ(e.JobBackoffMs(), 3600 * 1000LL);
  EXPECT_EQ(e.job_headers, (std::vector<std::pair<std::string, std::string>>{{"e", ""}}));
}

TEST(Loader, FieldShorthandAndFullSpecs) {
  auto l = Load(std::string(kHead) + R"(data:
  a: string
  b: { type: decimal, minimum: 0.5, maximum: 1e3 }
  c: { type: string, enum: [x, "y"], min_length: 1 }
  d: { type: boolean, enum: [true] }
  e: { type: array, items: integer, max_length: 2 }
  f: { type: object, properties: { g: { type: integer, required: false } } }
  h: any
states: { s: { initial: true } }
steps: {}
)");
  ASSERT_TRUE(l.def.has_value()) << l.diags[0];
  const auto& d = l.def->data;
  ASSERT_EQ(d.size(), 7u);
  EXPECT_EQ(d[0].type, FieldType::kString);
  EXPECT_EQ(d[1].minimum->ToString(), "0.5");
  EXPECT_EQ(d[1].maximum->ToString(), "1000");
  EXPECT_EQ(d[2].enum_values, (std::vector<Value>{Value::Str("x"), Value::Str("y")}));
  EXPECT_EQ(d[3].enum_values, (std::vector<Value>{Value::Bool(true)}));
  ASSERT_NE(d[4].items, nullptr);
  EXPECT_EQ(d[4].items->type, FieldType::kInteger);
  EXPECT_TRUE(d[4].items->required);
  EXPECT_EQ(d[4].max_length, 2);
  ASSERT_EQ(d[5].properties.size(), 1u);
  EXPECT_FALSE(d[5].properties[0].required);
  EXPECT_EQ(d[6].type, FieldType::kAny);
  EXPECT_EQ(l.def->steps.size(), 0u);
}

TEST(Loader, StatesTreeAndDeadlines) {
  auto l = Load(std::string(kHead) + R"(states:
  s0: { initial: true, label: Start, deadline: { after: 1h30m, step: go } }
  box:
    states:
      in: { initial: true }
  par:
    regions:
      r1: { description: one, states: { a1: { initial: true } } }
      r2: { states: { b1: { initial: true } } }
steps: {}
)");
  ASSERT_TRUE(l.def.has_value()) << l.diags[0];
  const auto& s = l.def->states;
  ASSERT_EQ(s.size(), 3u);
  EXPECT_EQ(s[0].label, "Start");
  EXPECT_EQ(s[0].deadline_after_ms, 90 * 60 * 1000);
  EXPECT_EQ(s[0].deadline_step, "go");
  EXPECT_EQ(Where(s[0].deadline_step_loc), "5:70");
  EXPECT_TRUE(s[1].composite());
  EXPECT_EQ(s[1].states[0].name, "in");
  ASSERT_EQ(s[2].regions.size(), 2u);
  EXPECT_EQ(s[2].regions[0].description, "one");
  EXPECT_EQ(s[2].regions[1].states[0].name, "b1");
  EXPECT_EQ(Where(s[2].regions[1].loc), "12:7");
  EXPECT_EQ(l.def->FindState("b1"), &s[2].regions[1].states[0]);
  EXPECT_EQ(l.def->FindState("nope"), nullptr);
}

TEST(Loader, StepsFromToByAsNameOrList) {
  auto l = Load(std::string(kHead) + R"(states: { s0: { initial: true }, s1: {} }
steps:
  one: { from: s0, to: s1, by: a }
  two: { from: [s0, s1], to: s1, by: [a], task: { job: { type: mailer } }, label: Two, description: the second }
)");
  ASSERT_TRUE(l.def.has_value()) << l.diags[0];
  const auto& st = l.def->steps;
  EXPECT_EQ(st[0].from.size(), 1u);
  EXPECT_EQ(Where(st[0].to.loc), "6:24");
  EXPECT_EQ(Where(st[0].by_loc), "6:32");
  EXPECT_EQ(st[1].from.size(), 2u);
  EXPECT_EQ(Where(st[1].from[1].loc), "7:21");
  EXPECT_EQ(st[1].task->job_type, "mailer");
  EXPECT_EQ(st[1].label, "Two");
  EXPECT_EQ(st[1].description, "the second");
}

// Expression.loc is the first character of the text; At(k) follows
// escapes and line breaks.
TEST(Loader, ExpressionPositions) {
  auto l = Load(std::string(kHead) + R"(states: { s0: { initial: true } }
steps:
  a: { from: s0, to: s0, by: a, guard: input.x > 1 }
  b: { from: s0, to: s0, by: a, guard: "input.x > 1" }
  c: { from: s0, to: s0, by: a, guard: 'input.x == ''y''' }
  d: { from: s0, to: s0, by: a, guard: "\"q\" == input.x" }
  e:
    from: s0
    to: s0
    by: a
    guard: >-
      input.x > 1 &&
      input.y < 2
    set:
      n: |
        input.n +
          1
      m: input.m
        + 1
)");
  ASSERT_TRUE(l.def.has_value()) << l.diags[0];
  const auto& st = l.def->steps;
  EXPECT_EQ(Where(st[0].guard->loc), "6:40");
  EXPECT_EQ(Where(st[0].guard->At(8)), "6:48");
  EXPECT_EQ(Where(st[1].guard->loc), "7:41");
  EXPECT_EQ(Where(st[1].guard->At(10)), "7:51");
  EXPECT_EQ(st[2].guard->text, "input.x == 'y'");
  EXPECT_EQ(Where(st[2].guard->loc), "8:41");
  EXPECT_EQ(Where(st[2].guard->At(12)), "8:54");  // 'y' after the doubled quote
  EXPECT_EQ(st[3].guard->text, "\"q\" == input.x");
  EXPECT_EQ(Where(st[3].guard->At(7)), "9:50");  // input.x, after two escapes
  EXPECT_EQ(st[4].guard->text, "input.x > 1 && input.y < 2");
  EXPECT_EQ(Where(st[4].guard->loc), "15:7");
  EXPECT_EQ(Where(st[4].guard->At(15)), "16:7");  // input.y, on the next line
  ASSERT_EQ(st[4].set.size(), 2u);
  EXPECT_EQ(st[4].set[0].expr.text, "input.n +\n  1\n");
  EXPECT_EQ(Where(st[4].set[0].expr.At(12)), "20:11");
  EXPECT_EQ(Where(st[4].set[0].loc), "18:7");
  EXPECT_EQ(st[4].set[1].expr.text, "input.m + 1");
  EXPECT_EQ(Where(st[4].set[1].expr.At(10)), "22:11");
}

// The scalar decoder behind ExpressionPositions, on its own: `pos` is where
// yaml-cpp marks the scalar, `value` what it decoded.
TEST(Loader, LocateScalar) {
  auto at = [](std::string_view src, std::string_view value, int k) -> std::string {
    size_t pos = src.find(": ") + 2;
    auto r = LocateScalar(src, pos, Loc{1, static_cast<int>(pos) + 1}, value);
    if (!r) return "none";
    Expression e;
    e.loc = r->start;
    e.breaks = r->breaks;
    return Where(e.At(k));
  };
  EXPECT_EQ(at("k: plain text", "plain text", 6), "1:10");
  EXPECT_EQ(at("k: \"a\\tb\"", "a\tb", 2), "1:8");        // after a two-byte escape
  EXPECT_EQ(at("k: \"\\u00e9x\"", "\xC3\xA9x", 2), "1:11");  // a code point as two bytes
  EXPECT_EQ(at("k: \"ab \\\n   cd\"", "ab cd", 3), "2:4");    // an escaped line break
  EXPECT_EQ(at("k: 'a\n\n  b'", "a\nb", 2), "3:3");           // an empty line folds to a newline
  EXPECT_EQ(at("k: |+\n  x\n\n", "x\n\n", 0), "2:3");
  EXPECT_EQ(at("k: >\n  a\n    b\n  c\n", "a\n  b\nc\n", 4), "3:5");  // more indented lines keep their breaks
  EXPECT_EQ(at("k: !!str x > 1", "x > 1", 4), "1:14");                // after a tag
  EXPECT_EQ(at("k: \"other\"", "different", 0), "none");           // not what yaml-cpp decoded
  EXPECT_EQ(at("k: |2\n  x\n", "x\n", 0), "none");                 // explicit indentation is not mapped
}

TEST(Loader, UnknownKeysAtEveryLevel) {
  EXPECT_EQ(Problems(R"(proces: p
version: 1
roles: [a]
data:
  f: { tpye: string, visibel_to: [a] }
states:
  s0: { initial: true, deadlne: { after: 1h, step: go } }
  s1: { deadline: { afte: 1h, step: go } }
  par: { regions: { r: { states: { x: { initial: true } }, label: no } } }
steps:
  go: { from: s0, to: s1, by: a, input: { n: { type: integer, requird: false } }, task: { humna: { queue: q } } }
  two: { from: s0, to: s1, by: a, task: { human: { quuee: q } } }
)"),
            (Lines{"l.yaml:1:1: error: missing 'process': every definition names its process",
                   "l.yaml:1:1: error: unknown key 'proces' in the definition (did you mean 'process'?)",
                   "l.yaml:5:6: error: data field 'f' needs a 'type'",
                   "l.yaml:5:8: error: unknown key 'tpye' in data field 'f' (did you mean 'type'?)",
                   "l.yaml:5:22: error: unknown key 'visibel_to' in data field 'f' (did you mean 'visible_to'?)",
                   "l.yaml:7:24: error: unknown key 'deadlne' in state 's0' (did you mean 'deadline'?)",
                   "l.yaml:8:9: error: the deadline of state 's1' needs 'after', e.g. 'after: 48h'",
                   "l.yaml:8:21: error: unknown key 'afte' in the deadline of state 's1' (did you mean 'after'?)",
                   "l.yaml:9:60: error: unknown key 'label' in region 'r'",
                   "l.yaml:11:63: error: unknown key 'requird' in input field 'n' of step 'go' (did you mean "
                   "'required'?)",
                   "l.yaml:11:83: error: 'task' of step 'go' needs 'human: { queue: NAME }' or 'job: { type: NAME }'",
                   "l.yaml:11:91: error: unknown key 'humna' in 'task' of step 'go' (did you mean 'human'?)",
                   "l.yaml:12:43: error: the 'human' task of step 'two' needs 'queue'",
                   "l.yaml:12:52: error: unknown key 'quuee' in the 'human' task of step 'two' (did you mean "
                   "'queue'?)"}));
}

TEST(Loader, DuplicateKeysEverywhere) {
  EXPECT_EQ(Problems(R"(process: p
version: 1
version: 2
roles: [a]
data:
  f: { type: string, type: integer }
  f: string
states:
  s0: { initial: true }
steps:
  go: { from: s0, to: s0, by: a, set: { f: "1", f: "2" }, input: { x: integer, x: string } }
)"),
            (Lines{"l.yaml:3:1: error: duplicate key 'version' in the definition",
                   "l.yaml:6:22: error: duplicate key 'type' in data field 'f'",
                   "l.yaml:7:3: error: duplicate key 'f' in 'data'",
                   "l.yaml:11:49: error: duplicate key 'f' in 'set' of step 'go'",
                   "l.yaml:11:80: error: duplicate key 'x' in the input of step 'go'"}));
}

TEST(Loader, MissingKeysAndEmptyParts) {
  EXPECT_EQ(Problems("description: nothing else\n"),
            (Lines{"l.yaml:1:1: error: missing 'process': every definition names its process",
                   "l.yaml:1:1: error: missing 'roles': list the roles that take part",
                   "l.yaml:1:1: error: missing 'states': a definition has at least an initial state",
                   "l.yaml:1:1: error: missing 'steps': write 'steps: {}' for a process without steps",
                   "l.yaml:1:1: error: missing 'version': every definition has a version, 1 or more"}));
  EXPECT_EQ(Problems(std::string(kHead) + R"(states: {}
steps:
  go: { to: s0 }
  stop:
)"),
            (Lines{"l.yaml:4:9: error: 'states' is empty: declare at least an initial state",
                   "l.yaml:6:3: error: step 'go' needs 'by': the role or roles that may propose it",
                   "l.yaml:6:3: error: step 'go' needs 'from': the state or states it leaves",
                   "l.yaml:7:3: error: step 'stop' must be a mapping"}));
  EXPECT_EQ(Problems(std::string(kHead) + R"(data:
  a:
states:
  box: { states: {}, regions: { r: {} } }
  par: { regions: {} }
steps: {}
)"),
            (Lines{"l.yaml:5:3: error: data field 'a' needs a type, e.g. 'a: string'",
                   "l.yaml:7:22: error: state 'box' has both 'states' and 'regions': a composite state has one or "
                   "the other",
                   "l.yaml:8:19: error: 'regions' of state 'par' is empty: declare at least one region"}));
}

TEST(Loader, WrongShapes) {
  EXPECT_EQ(Problems(R"(process: [p]
version: 0
roles: [a, [b]]
description: { x: 1 }
data:
  n: { type: integer, minimum: 5, maximum: 1, min_length: -1, enum: [1, 1, x] }
  s: { type: string, min_length: 3, max_length: 2, enum: [] }
  o: { type: object, items: string, properties: [x] }
  v: { type: string, visible_to: [], unique: maybe }
states:
  s0: { initial: true, final: 1, description: [x] }
steps:
  go: { from: [s0, [x]], to: s0, by: a, guard: { x: 1 }, set: [x], task: { human: { queue: q }, job: { type: t } } }
)"),
            (Lines{"l.yaml:1:10: error: 'process' must be a string",
                   "l.yaml:2:10: error: 'version' must be 1 or more",
                   "l.yaml:3:12: error: 'roles' must list role names",
                   "l.yaml:4:14: error: 'description' must be a string",
                   "l.yaml:6:44: error: 'maximum' is less than 'minimum'",
                   "l.yaml:6:47: error: 'min_length' applies to string and array fields, not integer ones",
                   "l.yaml:6:59: error: 'min_length' must not be negative",
                   "l.yaml:6:73: error: 'enum' lists 1 twice",
                   "l.yaml:6:76: error: 'enum' values of an integer field must be an integer",
                   "l.yaml:7:49: error: 'max_length' is less than 'min_length'",
                   "l.yaml:7:58: error: 'enum' must be a non-empty list of values",
                   "l.yaml:8:22: error: 'items' applies to array fields, not object ones",
                   "l.yaml:8:49: error: the properties of data field 'o' must be a mapping of field names",
                   "l.yaml:9:34: error: 'visible_to' must name at least one role (leave it out for a field every "
                   "role sees)",
                   "l.yaml:9:46: error: 'unique' must be true or false",
                   "l.yaml:11:31: error: 'final' must be true or false",
                   "l.yaml:11:47: error: 'description' must be a string",
                   "l.yaml:13:20: error: 'from' must list state names",
                   "l.yaml:13:48: error: 'guard' must be an expression string",
                   "l.yaml:13:63: error: 'set' of step 'go' must be a mapping of data fields to expressions",
                   "l.yaml:13:97: error: a task is either 'human' or 'job', not both"}));
}

TEST(Loader, NamesFollowTheRules) {
  EXPECT_TRUE(IsName("sales-approvals"));
  EXPECT_TRUE(IsName("_x9"));
  EXPECT_FALSE(IsName("9x"));
  EXPECT_FALSE(IsName("-x"));
  EXPECT_FALSE(IsName("a.b"));
  EXPECT_FALSE(IsName(""));
  EXPECT_FALSE(IsName("a b"));
  EXPECT_TRUE(IsFieldName("po_number"));
  EXPECT_FALSE(IsFieldName("po-number"));
  EXPECT_TRUE(IsProcessName("purchase-order.v2"));
  EXPECT_FALSE(IsProcessName("purchase order"));
  // State and step names may contain '-', fields may not.
  EXPECT_EQ(Problems(R"(process: p
version: 1
roles: [buyer-org]
data: { total-sum: integer }
states: { in-review: { initial: true } }
steps:
  re-review: { from: in-review, to: in-review, by: buyer-org, input: { my-field: string } }
)"),
            (Lines{"l.yaml:4:9: error: 'total-sum' is not a valid field name: field names start with a letter or "
                   "'_' and go on with letters, digits or '_'",
                   "l.yaml:7:72: error: 'my-field' is not a valid field name: field names start with a letter or "
                   "'_' and go on with letters, digits or '_'"}));
}

TEST(Loader, YamlEdgeCases) {
  // Syntax error with its position.
  EXPECT_EQ(Problems("process: p\nversion: 1\n  roles: [a]\n"),
            Lines{"l.yaml:3:8: error: invalid YAML: illegal map value"});
  // Empty documents and other top-level shapes.
  EXPECT_EQ(Problems(""), Lines{"l.yaml:1:1: error: empty definition: expected process, version, roles, data, "
                                "states and steps"});
  EXPECT_EQ(Problems("# only a comment\n"), Lines{"l.yaml:1:1: error: empty definition: expected process, version, "
                                                  "roles, data, states and steps"});
  EXPECT_EQ(Problems("- a\n- b\n"), Lines{"l.yaml:1:1: error: a definition is a YAML mapping with process, version, "
                                          "roles, data, states and steps"});
  // One document per file.
  EXPECT_EQ(Problems(std::string(kHead) + "states: { s: { initial: true } }\nsteps: {}\n---\nprocess: q\n"),
            Lines{"l.yaml:7:1: error: a definition file holds one YAML document; another one starts here"});
  // Keys must be plain names.
  EXPECT_EQ(Problems(std::string(kHead) + "states: { s: { initial: true }, [x]: {} }\nsteps: {}\n"),
            Lines{"l.yaml:4:33: error: keys in 'states' must be plain names, not lists"});
  // A byte order mark is fine and does not shift columns.
  auto bom = Load("\xEF\xBB\xBF" + std::string(kHead) + "states: { s: { initial: true } }\nsteps: {}\n");
  ASSERT_TRUE(bom.def.has_value());
  EXPECT_EQ(bom.def->process, "p");
  EXPECT_EQ(Where(bom.def->states[0].loc), "4:11");
}

TEST(Loader, AliasCyclesAndBombsAreRefused) {
  EXPECT_EQ(Problems("process: &a [*a]\n"), Lines{"l.yaml:1:1: error: the document nests deeper than 64 levels"});
  std::string bomb = "a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n";
  for (int i = 1; i < 9; ++i)
    bomb += "a" + std::to_string(i) + ": &a" + std::to_string(i) + " [*a" + std::to_string(i - 1) + ", *a" +
            std::to_string(i - 1) + ", *a" + std::to_string(i - 1) + ", *a" + std::to_string(i - 1) + ", *a" +
            std::to_string(i - 1) + ", *a" + std::to_string(i - 1) + ", *a" + std::to_string(i - 1) + ", *a" +
            std::to_string(i - 1) + ", *a" + std::to_string(i - 1) + ", *a" + std::to_string(i - 1) + "]\n";
  EXPECT_EQ(Problems(bomb), Lines{"l.yaml:1:1: error: the document has more than 200000 nodes (aliases expanded)"});
  std::string deep = "process: " + std::string(100, '[') + std::string(100, ']') + "\n";
  EXPECT_EQ(Problems(deep), Lines{"l.yaml:1:1: error: the document nests deeper than 64 levels"});
}

TEST(Loader, Durations) {
  EXPECT_EQ(ParseDuration("500ms"), 500);
  EXPECT_EQ(ParseDuration("10s"), 10000);
  EXPECT_EQ(ParseDuration("30m"), 1800000);
  EXPECT_EQ(ParseDuration("48h"), 172800000);
  EXPECT_EQ(ParseDuration("7d"), 604800000);
  EXPECT_EQ(ParseDuration("1h30m"), 5400000);
  EXPECT_EQ(ParseDuration("0s"), 0);
  EXPECT_EQ(ParseDuration("10"), std::nullopt);  // a unit is required
  EXPECT_EQ(ParseDuration(""), std::nullopt);
  EXPECT_EQ(ParseDuration("h"), std::nullopt);
  EXPECT_EQ(ParseDuration("5 h"), std::nullopt);
  EXPECT_EQ(ParseDuration("5w"), std::nullopt);
  EXPECT_EQ(ParseDuration("99999999999999999999d"), std::nullopt);
  EXPECT_EQ(ParseDuration("106751991167d"), 9223372036828800000);
  EXPECT_EQ(ParseDuration("106751991168d"), std::nullopt);  // overflows 64-bit milliseconds
}

TEST(Loader, ReadsFiles) {
  Diagnostics d("/nonexistent/x.yaml");
  EXPECT_FALSE(LoadDefinitionFile("/nonexistent/x.yaml", &d).has_value());
  ASSERT_EQ(d.items().size(), 1u);
  EXPECT_EQ(d.items()[0].ToString(), "/nonexistent/x.yaml:1:1: error: cannot read file");
  Diagnostics ok("m");
  auto def = LoadDefinitionFile(std::string(TREATY_TEST_DATA) + "/valid/minimal.yaml", &ok);
  ASSERT_TRUE(def.has_value());
  EXPECT_EQ(def->file, std::string(TREATY_TEST_DATA) + "/valid/minimal.yaml");
}

}  // namespace
}  // namespace treaty::defs
