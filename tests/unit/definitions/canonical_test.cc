// The canonical form: a valid definition itself, independent of YAML
// formatting, comments and key order, sensitive to every semantic change.
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "definitions/canonical.h"
#include "definitions/dot.h"
#include "definitions/loader.h"
#include "definitions/validator.h"

namespace treaty::defs {
namespace {

Definition Load(const std::string& yaml) {
  Diagnostics d("c.yaml");
  auto def = CheckText(yaml, "c.yaml", &d);
  EXPECT_TRUE(def.has_value()) << (d.empty() ? "" : d.items()[0].ToString());
  return def.value_or(Definition{});
}

std::string ReadFile(const std::string& path) {
  std::ifstream f(path);
  std::stringstream s;
  s << f.rdbuf();
  return s.str();
}

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

// Same definition: other key order, flow vs block style, comments.
const char* kB = R"(# a comment
version: 2
process: p
roles: [buyer, seller]
data:
  note: { visible_to: [buyer], type: string }
  total:
    minimum: 1    # at least one
    type: integer
states:
  s0: { initial: true }
  s1: { final: true }
steps:
  go:
    set: { note: input.m, total: input.n }
    by: [buyer]
    input: { m: string, n: integer }
    to: s1
    from: s0
)";

TEST(Canonical, IndependentOfFormattingAndKeyOrder) {
  EXPECT_EQ(CanonicalJson(Load(kA)), CanonicalJson(Load(kB)));
  EXPECT_EQ(DefinitionHash(Load(kA)), DefinitionHash(Load(kB)));
}

TEST(Canonical, SensitiveToSemanticChanges) {
  Digest base = DefinitionHash(Load(kA));
  std::string changed = kA;
  changed.replace(changed.find("minimum: 1"), 10, "minimum: 2");
  EXPECT_NE(DefinitionHash(Load(changed)), base);
  changed = kA;
  changed.replace(changed.find("version: 2"), 10, "version: 3");
  EXPECT_NE(DefinitionHash(Load(changed)), base);
  changed = kA;
  changed.replace(changed.find("by: buyer"), 9, "by: seller");
  EXPECT_NE(DefinitionHash(Load(changed)), base);
}

TEST(Canonical, RoundTripsThroughTheLoader) {
  for (const char* f : {"/examples/purchase-order/purchase-order.yaml", "/examples/letter-of-credit/letter-of-credit.yaml",
                        "/tests/data/machines/claims.yaml"}) {
    Definition d = Load(ReadFile(std::string(TREATY_SOURCE_DIR) + f));
    std::string json = CanonicalJson(d);
    Diagnostics diags("<canonical>");
    auto back = CheckText(json, "<canonical>", &diags);
    ASSERT_TRUE(back.has_value()) << f << ": " << (diags.empty() ? "" : diags.items()[0].ToString());
    EXPECT_EQ(CanonicalJson(*back), json) << f;
    // Order of states and steps is semantic and kept.
    ASSERT_EQ(back->steps.size(), d.steps.size());
    for (size_t i = 0; i < d.steps.size(); ++i) EXPECT_EQ(back->steps[i].name, d.steps[i].name);
  }
}

TEST(Dot, ShowsStatesStepsRolesAndClusters) {
  Definition d = Load(ReadFile(std::string(TREATY_SOURCE_DIR) + "/tests/data/machines/claims.yaml"));
  std::string dot = GraphvizDot(d);
  EXPECT_EQ(dot.rfind("digraph \"insurance-claim v3\" {", 0), 0u) << dot;
  EXPECT_NE(dot.find("\"settled\" [label=\"settled\", shape=doublecircle"), std::string::npos) << dot;
  EXPECT_NE(dot.find("subgraph \"cluster_review\""), std::string::npos);
  EXPECT_NE(dot.find("subgraph \"cluster_checks_fraud\""), std::string::npos);
  EXPECT_NE(dot.find("label=\"assess (assessor|insurer)\\n[\\\"assessor\\\" in actor.roles"), std::string::npos) << dot;
  EXPECT_NE(dot.find("[shape=point"), std::string::npos);
  EXPECT_EQ(dot, GraphvizDot(d));
  EXPECT_EQ(dot.back(), '\n');
}

}  // namespace
}  // namespace treaty::defs
