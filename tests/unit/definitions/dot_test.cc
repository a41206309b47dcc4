// The Graphviz rendering: states, initial markers, final states, steps
// with roles, composite states and regions as clusters; deterministic; and,
// where Graphviz is installed, accepted by `dot`.
#include "definitions/dot.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "definitions/validator.h"

namespace treaty::defs {
namespace {

Definition LoadFile(const std::string& path) {
  Diagnostics d(path);
  auto def = CheckFile(path, &d);
  EXPECT_TRUE(def.has_value()) << (d.empty() ? "" : d.items()[0].ToString());
  return def.value_or(Definition{});
}

const std::string kValid = std::string(TREATY_TEST_DATA) + "/valid/";

bool Has(const std::string& dot, const std::string& part) { return dot.find(part) != std::string::npos; }

size_t Count(const std::string& dot, const std::string& part) {
  size_t n = 0;
  for (size_t at = dot.find(part); at != std::string::npos; at = dot.find(part, at + 1)) ++n;
  return n;
}

TEST(Dot, PurchaseOrder) {
  std::string dot = GraphvizDot(LoadFile(std::string(TREATY_SOURCE_DIR) + "/examples/purchase-order/purchase-order.yaml"));
  EXPECT_EQ(dot.rfind("digraph \"purchase-order v1\" {\n", 0), 0u) << dot;
  EXPECT_EQ(dot.substr(dot.size() - 2), "}\n");
  // The initial state, marked by an arrow from a point.
  EXPECT_TRUE(Has(dot, "  \"start/\" [shape=point, width=0.15, label=\"\"];\n  \"start/\" -> \"draft\";\n")) << dot;
  EXPECT_TRUE(Has(dot, "  \"submitted\" [label=\"submitted\"];\n"));
  EXPECT_TRUE(Has(dot, "  \"paid\" [label=\"paid\", shape=doublecircle, style=\"\"];\n"));
  EXPECT_TRUE(Has(dot, "  \"cancelled\" [label=\"cancelled\", shape=doublecircle, style=\"\"];\n"));
  // One edge per step and source state, labelled "name (roles)", guards in
  // brackets, and who does a task step (a person from a queue, or a job).
  EXPECT_TRUE(Has(dot, "  \"submitted\" -> \"accepted\" [label=\"accept (seller)\\nhuman task: sales-approvals\"];\n"))
      << dot;
  EXPECT_TRUE(Has(dot, "  \"accepted\" -> \"paid\" [label=\"pay (buyer)\\n[input.amount == data.total]\"];\n"));
  EXPECT_EQ(Count(dot, " -> "), 5u);  // 4 steps and the initial marker
  EXPECT_FALSE(Has(dot, "subgraph"));
}

TEST(Dot, AJobStepSaysItsType) {
  std::string dot = GraphvizDot(LoadFile(kValid + "credit-check.yaml"));
  EXPECT_TRUE(Has(dot, "check (lender)\\njob: credit-bureau")) << dot;
}

TEST(Dot, CompositeStatesAreClusters) {
  std::string dot = GraphvizDot(LoadFile(kValid + "composite.yaml"));
  EXPECT_TRUE(Has(dot, "  subgraph \"cluster_review\" {\n    label=\"Under review\"; style=rounded;\n")) << dot;
  // The composite's own initial marker sits inside its cluster.
  EXPECT_TRUE(Has(dot, "    \"start/review\" -> \"triage\";\n"));
  // Edges to and from the composite attach to its cluster.
  EXPECT_TRUE(Has(dot, "\"filed\" -> \"triage\" [label=\"start (insurer)\", lhead=\"cluster_review\"];"));
  EXPECT_TRUE(Has(dot, "\"triage\" -> \"closed\" [label=\"close (insurer)\", ltail=\"cluster_review\"];"));
  // Several roles, escaped quotes in a guard, a step label, a deadline.
  EXPECT_TRUE(Has(dot,
                  "[label=\"assess (assessor, insurer)\\n[\\\"assessor\\\" in actor.roles || data.amount < "
                  "1000]\\nhuman task: assessments\"];"));
  EXPECT_TRUE(Has(dot,
                  "\"filed\" -> \"expired\" [label=\"expire (insurer)\\nnobody started the review\\nafter 7d\", "
                  "style=dashed];"));
}

TEST(Dot, RegionsAreDashedClustersInsideTheComposite) {
  std::string dot = GraphvizDot(LoadFile(kValid + "parallel.yaml"));
  size_t outer = dot.find("  subgraph \"cluster_checks\" {\n    label=\"checks (parallel)\";");
  size_t fraud = dot.find("    subgraph \"cluster_checks/fraud\" {\n      label=\"fraud\"; style=dashed;\n");
  size_t coverage = dot.find("    subgraph \"cluster_checks/coverage\" {\n      label=\"coverage\"; style=dashed;\n");
  ASSERT_NE(outer, std::string::npos) << dot;
  ASSERT_NE(fraud, std::string::npos) << dot;
  ASSERT_NE(coverage, std::string::npos) << dot;
  EXPECT_LT(outer, fraud);
  EXPECT_LT(fraud, coverage);
  // Each region has its initial marker.
  EXPECT_TRUE(Has(dot, "      \"start/checks/fraud\" -> \"fraud_pending\";\n"));
  EXPECT_TRUE(Has(dot, "      \"start/checks/coverage\" -> \"coverage_pending\";\n"));
  EXPECT_TRUE(Has(dot, "      \"covered\" [label=\"covered\", shape=doublecircle, style=\"\"];\n"));
  EXPECT_TRUE(
      Has(dot, "\"fraud_pending\" -> \"denied\" [label=\"deny (insurer, auditor)\", ltail=\"cluster_checks\"];"));
  // Braces balance.
  EXPECT_EQ(Count(dot, "{"), Count(dot, "}"));
}

TEST(Dot, Deterministic) {
  Definition d = LoadFile(std::string(TREATY_SOURCE_DIR) + "/examples/letter-of-credit/letter-of-credit.yaml");
  std::string dot = GraphvizDot(d);
  EXPECT_EQ(dot, GraphvizDot(d));
  Definition again = LoadFile(std::string(TREATY_SOURCE_DIR) + "/examples/letter-of-credit/letter-of-credit.yaml");
  EXPECT_EQ(GraphvizDot(again), dot);
}

TEST(Dot, GraphvizAcceptsIt) {
  if (std::system("command -v dot > /dev/null 2>&1") != 0) GTEST_SKIP() << "Graphviz is not installed";
  for (const std::string& f : {kValid + "composite.yaml", kValid + "parallel.yaml",
                               std::string(TREATY_SOURCE_DIR) + "/tests/data/machines/claims.yaml",
                               std::string(TREATY_SOURCE_DIR) + "/examples/letter-of-credit/letter-of-credit.yaml"}) {
    std::filesystem::path out =
        std::filesystem::temp_directory_path() / ("treaty-dot-" + std::to_string(getpid()) + ".dot");
    std::ofstream(out) << GraphvizDot(LoadFile(f));
    int rc = std::system(("dot -Tsvg -o /dev/null " + out.string() + " 2>&1").c_str());
    std::filesystem::remove(out);
    EXPECT_EQ(rc, 0) << f;
  }
}

}  // namespace
}  // namespace treaty::defs
