// The canonical form: a valid definition itself (the round trip through
// the loader keeps it byte for byte), independent of YAML formatting,
// comments and key order, sensitive to every semantic change.
#include "definitions/canonical.h"

#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "definitions/loader.h"
#include "definitions/validator.h"

namespace treaty::defs {
namespace {

Definition Load(const std::string& yaml) {
  Diagnostics d("c.yaml");
  auto def = CheckText(yaml, "c.yaml", &d);
  EXPECT_TRUE(def.has_value()) << (d.empty() ? "" : d.items()[0].ToString()) << "\n" << yaml;
  return def.value_or(Definition{});
}

Definition LoadFile(const std::string& path) {
  Diagnostics d(path);
  auto def = CheckFile(path, &d);
  EXPECT_TRUE(def.has_value()) << (d.empty() ? "" : d.items()[0].ToString());
  return def.value_or(Definition{});
}

const std::string kPurchaseOrder = std::string(TREATY_SOURCE_DIR) + "/examples/purchase-order/purchase-order.yaml";
const std::string kValid = std::string(TREATY_TEST_DATA) + "/valid/";

const char* kA = R"(process: p
version: 2
roles: [seller, buyer]
data:
  total: { type: integer, minimum: 1 }
  note: { type: string, visible_to: [buyer] }
states:
  s0: { initial: true }
  s1: { final: true }
steps:
  go: { from: s0, to: s1, by: buyer, input: { n: integer, m: string }, set: { total: input.n, note: input.m } }
)";

// Same definition: other key order, flow vs block style, quoting, comments.
const char* kB = R"(# a comment
version: 2
process: "p"
roles: [buyer, seller]
data:
  note: { visible_to: [buyer], type: string }
  total:
    minimum: 1.0  # at least one
    type: integer
states:
  s0: { initial: true }
  s1: { final: true }
steps:
  go:
    set: { note: 'input.m', total: input.n }
    by: [buyer]
    input: { m: string, n: { type: integer } }
    to: s1
    from: [s0]
)";

TEST(Canonical, IndependentOfFormattingAndKeyOrder) {
  EXPECT_EQ(CanonicalJson(Load(kA)), CanonicalJson(Load(kB)));
  EXPECT_EQ(DefinitionHash(Load(kA)), DefinitionHash(Load(kB)));
}

TEST(Canonical, PurchaseOrderHashIgnoresKeyOrderAndComments) {
  Definition po = LoadFile(kPurchaseOrder);
  Definition variant = LoadFile(kValid + "purchase-order-variant.yaml");
  EXPECT_EQ(CanonicalJson(po), CanonicalJson(variant));
  EXPECT_EQ(DefinitionHash(po), DefinitionHash(variant));
  EXPECT_EQ(DefinitionHash(po), Sha256Of(CanonicalJson(po)));
}

TEST(Canonical, HashesOfTheExamplesArePinned) {
  // Instances record these hashes: a change to the canonical form (a new
  // key emitted when absent, a default written out) must not move them.
  // Change a pin only with a new version of its definition.
  const std::vector<std::pair<std::string, std::string>> pins = {
      {kPurchaseOrder, "fa21f01ad70f29dd07043c78440d033e432dad854983e90cbee222e026c0c4fc"},
      {std::string(TREATY_SOURCE_DIR) + "/examples/letter-of-credit/letter-of-credit.yaml",
       "8b045414bbcccfee276faaa7a625fd3880fd0f356fc4d2f831777bbf081b166c"},
      {std::string(TREATY_SOURCE_DIR) + "/tests/data/machines/claims.yaml",
       "c075ac30d370a43b9fc1c72f32aaeca399024bd012cdb186ffbce61a86f3571c"},
  };
  for (const auto& [path, hex] : pins) EXPECT_EQ(ToHex(DefinitionHash(LoadFile(path))), hex) << path;
}

TEST(Canonical, Format) {
  // Fixed keys sorted; fields, roles, by, visible_to and set sorted by
  // name; states and steps in the order written; no defaults, comments or
  // positions; deadlines in milliseconds.
  Definition d = Load(R"(process: fmt
version: 3
description: "A \"quoted\" text"
roles: [zed, amy]
data:
  z: { type: decimal, minimum: 0.50, description: last }
  a: { type: string, visible_to: [zed, amy], unique: true, enum: [x, y] }
states:
  start: { initial: true, deadline: { after: 1h, step: later } }
  box:
    label: Box
    regions:
      r: { description: only, states: { inner: { initial: true, final: true } } }
  end: { final: true }
steps:
  go: { from: start, to: box, by: [zed, amy], input: { q: { type: integer, required: false }, b: boolean }, guard: "input.b", set: { z: input.q, a: '"x"' } }
  later: { from: start, to: end, by: amy, task: { job: { type: timer } }, label: Later }
  out: { from: box, to: end, by: zed, task: { human: { queue: desk } } }
)");
  EXPECT_EQ(
      CanonicalJson(d),
      R"({"data":{"a":{"enum":["x","y"],"type":"string","unique":true,"visible_to":["amy","zed"]},)"
      R"("z":{"description":"last","minimum":0.5,"type":"decimal"}},)"
      R"("description":"A \"quoted\" text","process":"fmt","roles":["amy","zed"],)"
      R"("states":{"start":{"deadline":{"after":"3600000ms","step":"later"},"initial":true},)"
      R"("box":{"label":"Box","regions":{"r":{"description":"only","states":{"inner":{"final":true,"initial":true}}}}},)"
      R"("end":{"final":true}},)"
      R"("steps":{"go":{"by":["amy","zed"],"from":["start"],"guard":"input.b",)"
      R"("input":{"b":{"type":"boolean"},"q":{"required":false,"type":"integer"}},)"
      R"("set":{"a":"\"x\"","z":"input.q"},"to":"box"},)"
      R"("later":{"by":["amy"],"from":["start"],"label":"Later","task":{"job":{"type":"timer"}},"to":"end"},)"
      R"("out":{"by":["zed"],"from":["box"],"task":{"human":{"queue":"desk"}},"to":"end"}},)"
      R"("version":3})");
}

TEST(Canonical, HumanTaskFormat) {
  // Keys sorted; candidates and form fields sorted by name; due in
  // milliseconds; a priority of 50 (the default) and empty texts left out.
  const char* kHead = R"(process: p
version: 1
roles: [a]
states: { s0: { initial: true }, s1: { final: true } }
steps:
)";
  Definition d = Load(std::string(kHead) + R"(  go:
    from: s0
    to: s1
    by: a
    input: { z: string, b: integer }
    task:
      human:
        queue: q
        priority: 7
        due: 1h30m
        candidate_users: [zoe, ann]
        candidate_groups: ops
        form:
          title: T
          fields: { z: { placeholder: P, label: Z }, b: { help: "" } }
)");
  EXPECT_EQ(CanonicalJson(d),
            R"({"process":"p","roles":["a"],"states":{"s0":{"initial":true},"s1":{"final":true}},)"
            R"("steps":{"go":{"by":["a"],"from":["s0"],"input":{"b":{"type":"integer"},"z":{"type":"string"}},)"
            R"("task":{"human":{"candidate_groups":["ops"],"candidate_users":["ann","zoe"],"due":"5400000ms",)"
            R"("form":{"fields":{"b":{},"z":{"label":"Z","placeholder":"P"}},"title":"T"},"priority":7,)"
            R"("queue":"q"}},"to":"s1"}},"version":1})");
  // The default priority, written or not, is the same definition.
  const std::string plain = std::string(kHead) + "  go: { from: s0, to: s1, by: a, task: { human: { queue: q } } }\n";
  std::string fifty = plain;
  fifty.replace(fifty.find("queue: q"), 8, "queue: q, priority: 50");
  EXPECT_EQ(CanonicalJson(Load(fifty)), CanonicalJson(Load(plain)));
  EXPECT_NE(CanonicalJson(Load(plain)).find(R"("task":{"human":{"queue":"q"}})"), std::string::npos);
}

TEST(Canonical, JobTaskFormat) {
  // Keys sorted; headers and errors sorted by key; durations in
  // milliseconds; header values as their text (an empty one kept); the
  // defaults (3 retries, 10s backoff, 5m timeout), written or not, left out.
  const char* kHead = R"(process: p
version: 1
roles: [a]
states: { s0: { initial: true }, s1: { final: true } }
steps:
)";
  Definition d = Load(std::string(kHead) + R"(  go:
    from: s0
    to: s1
    by: a
    task:
      job:
        type: mailer
        timeout: 1m30s
        retries: 0
        backoff: 500ms
        headers: { z: last, a: 1.50, m: true, e: "" }
        errors: { Z.9: no, A-1: no }
  no: { from: s0, to: s1, by: a }
)");
  EXPECT_EQ(CanonicalJson(d),
            R"({"process":"p","roles":["a"],"states":{"s0":{"initial":true},"s1":{"final":true}},)"
            R"("steps":{"go":{"by":["a"],"from":["s0"],"task":{"job":{"backoff":"500ms",)"
            R"("errors":{"A-1":"no","Z.9":"no"},"headers":{"a":"1.50","e":"","m":"true","z":"last"},)"
            R"("retries":0,"timeout":"90000ms","type":"mailer"}},"to":"s1"},)"
            R"("no":{"by":["a"],"from":["s0"],"to":"s1"}},"version":1})");
  // The defaults, written or not, are the same definition.
  const std::string plain = std::string(kHead) + "  go: { from: s0, to: s1, by: a, task: { job: { type: t } } }\n";
  std::string defaults = plain;
  defaults.replace(defaults.find("type: t"), 7, "type: t, retries: 3, backoff: 10s, timeout: 5m");
  EXPECT_EQ(CanonicalJson(Load(defaults)), CanonicalJson(Load(plain)));
  EXPECT_NE(CanonicalJson(Load(plain)).find(R"("task":{"job":{"type":"t"}})"), std::string::npos);
}

TEST(Canonical, SensitiveToEverySemanticChange) {
  const std::string base_yaml = R"(process: p
version: 2
description: about
roles: [seller, buyer]
data:
  total: { type: integer, minimum: 1, description: sum }
  note: { type: string, visible_to: [buyer], max_length: 9 }
  code: { type: string, unique: true, enum: [a, b] }
states:
  s0: { initial: true, label: Start, deadline: { after: 2h, step: lapse } }
  mid:
    description: middle
    states:
      m0: { initial: true }
      m1: {}
  s1: { final: true }
steps:
  go: { from: s0, to: mid, by: buyer, input: { n: integer, m: { type: string, required: false } }, set: { total: input.n, note: input.m } }
  lapse: { from: s0, to: s1, by: seller }
  on: { from: m0, to: m1, by: seller, guard: "data.total > 1", label: On }
  end: { from: mid, to: s1, by: [seller, buyer], task: { human: { queue: q } }, description: finish }
  back:
    from: m1
    to: m0
    by: buyer
    input: { why: string }
    task:
      human:
        queue: r
        due: 1d
        priority: 10
        candidate_groups: [g1]
        candidate_users: [u1]
        form: { title: T1, description: D1, fields: { why: { label: L1, help: H1, placeholder: P1 } } }
  work:
    from: m0
    to: m1
    by: seller
    task:
      job:
        type: w1
        retries: 5
        backoff: 20s
        timeout: 2m
        headers: { h1: v1, h2: "7" }
        errors: { E1: fail, E2: fail2 }
  fail: { from: m0, to: m0, by: seller }
  fail2: { from: m0, to: m0, by: seller }
  job: { from: m1, to: m0, by: buyer, task: { job: { type: j } } }
)";
  const Digest base = DefinitionHash(Load(base_yaml));
  const std::vector<std::pair<std::string, std::string>> changes = {
      {"version: 2", "version: 4"},
      {"description: about", "description: other"},
      {"roles: [seller, buyer]", "roles: [seller, buyer, bank]"},
      {"minimum: 1,", "minimum: 2,"},
      {"description: sum", "description: total"},
      {"visible_to: [buyer]", "visible_to: [buyer, seller]"},
      {"max_length: 9", "max_length: 8"},
      {"unique: true", "unique: false"},
      {"enum: [a, b]", "enum: [b, a]"},
      {"type: integer, minimum", "type: decimal, minimum"},
      {"label: Start", "label: Begin"},
      {"after: 2h", "after: 3h"},
      {"description: middle", "description: centre"},
      {"      m0: { initial: true }\n      m1: {}", "      m1: {}\n      m0: { initial: true }"},
      {"m: { type: string, required: false }", "m: { type: string }"},
      {"set: { total: input.n, note: input.m }", "set: { total: input.n + 0, note: input.m }"},
      {"guard: \"data.total > 1\"", "guard: \"data.total >= 1\""},
      {"label: On", "label: Onward"},
      {"by: [seller, buyer]", "by: [seller]"},
      {"queue: q", "queue: r"},
      {"description: finish", "description: done"},
      {"  end: { from: mid", "  end2: { from: mid"},
      {"due: 1d", "due: 2d"},
      {"priority: 10", "priority: 11"},
      {"priority: 10", "priority: 50"},
      {"candidate_groups: [g1]", "candidate_groups: [g2]"},
      {"candidate_users: [u1]", "candidate_users: [u1, u2]"},
      {"title: T1", "title: T2"},
      {"description: D1", "description: D2"},
      {"label: L1", "label: L2"},
      {"help: H1", "help: H2"},
      {"placeholder: P1", "placeholder: P2"},
      {"queue: q } }", "queue: q, due: 1h } }"},
      {"type: w1", "type: w2"},
      {"retries: 5", "retries: 6"},
      {"retries: 5", "retries: 3"},
      {"backoff: 20s", "backoff: 21s"},
      {"backoff: 20s", "backoff: 10s"},
      {"timeout: 2m", "timeout: 3m"},
      {"timeout: 2m", "timeout: 5m"},
      {"h1: v1", "h1: v2"},
      {"h1: v1", "h3: v1"},
      {"h2: \"7\"", "h2: \"07\""},
      {"E1: fail,", "E3: fail,"},
      {"E1: fail,", "E1: fail2,"},
      {"type: j } }", "type: j, retries: 0 } }"},
      {"type: j } }", "type: j, backoff: 1s } }"},
      {"type: j } }", "type: j, timeout: 1s } }"},
      {"type: j } }", "type: j, headers: { k: v } } }"},
      {"type: j } }", "type: j, errors: { E: back } } }"},
  };
  for (const auto& [from, to] : changes) {
    std::string changed = base_yaml;
    size_t at = changed.find(from);
    ASSERT_NE(at, std::string::npos) << from;
    changed.replace(at, from.size(), to);
    EXPECT_NE(DefinitionHash(Load(changed)), base) << from << " -> " << to;
  }
  // Step order is semantic too.
  std::string reordered = base_yaml;
  std::string on_line = "  on: { from: m0, to: m1, by: seller, guard: \"data.total > 1\", label: On }\n";
  reordered.erase(reordered.find(on_line), on_line.size());
  reordered += on_line;
  EXPECT_NE(DefinitionHash(Load(reordered)), base);
}

TEST(Canonical, RoundTripsThroughTheLoader) {
  for (const std::string& f :
       {kPurchaseOrder, std::string(TREATY_SOURCE_DIR) + "/examples/letter-of-credit/letter-of-credit.yaml",
        std::string(TREATY_SOURCE_DIR) + "/tests/data/machines/claims.yaml", kValid + "minimal.yaml",
        kValid + "composite.yaml", kValid + "parallel.yaml", kValid + "visibility.yaml",
        kValid + "purchase-order-variant.yaml", kValid + "purchase-order-tasks.yaml",
        kValid + "credit-check.yaml"}) {
    Definition d = LoadFile(f);
    std::string json = CanonicalJson(d);
    Diagnostics diags("<canonical>");
    auto back = CheckText(json, "<canonical>", &diags);  // parses and validates clean
    ASSERT_TRUE(back.has_value()) << f << ": " << (diags.empty() ? "" : diags.items()[0].ToString());
    EXPECT_EQ(CanonicalJson(*back), json) << f;
    EXPECT_EQ(DefinitionHash(*back), DefinitionHash(d)) << f;
    // The order of states, regions and steps is kept.
    auto names = [](const Definition& x) {
      std::vector<std::string> out;
      for (const auto& s : FlattenStates(x)) out.push_back(s.path);
      for (const auto& s : x.steps) out.push_back(s.name);
      return out;
    };
    EXPECT_EQ(names(*back), names(d)) << f;
  }
}

TEST(Canonical, RoundTripKeepsExpressionTextsExactly) {
  Definition d = Load(R"(process: p
version: 1
roles: [a]
data: { s: string }
states: { s0: { initial: true }, s1: { final: true } }
steps:
  go:
    from: s0
    to: s1
    by: a
    guard: |
      "tab\t" != data.s &&
        data.s != 'it\'s'
    set: { s: "\"é\" + \"\\n\"" }
)");
  Diagnostics diags("<canonical>");
  auto back = ParseDefinition(CanonicalJson(d), "<canonical>", &diags);
  ASSERT_TRUE(back.has_value());
  EXPECT_EQ(back->steps[0].guard->text, d.steps[0].guard->text);
  EXPECT_EQ(back->steps[0].guard->text, "\"tab\\t\" != data.s &&\n  data.s != 'it\\'s'\n");
  EXPECT_EQ(back->steps[0].set[0].expr.text, "\"é\" + \"\\n\"");
}

}  // namespace
}  // namespace treaty::defs
