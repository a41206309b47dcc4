// The treatyc command line: exit codes and output of each command.
#include <gtest/gtest.h>

#include <sys/wait.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace {

namespace fs = std::filesystem;

struct Outcome {
  int code;
  std::string out;  // stdout and stderr
};

Outcome Treatyc(const std::string& args) {
  std::string cmd = std::string(TREATY_TREATYC) + " " + args + " 2>&1";
  FILE* p = popen(cmd.c_str(), "r");
  std::string out;
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
  int st = pclose(p);
  return {WIFEXITED(st) ? WEXITSTATUS(st) : -1, out};
}

const std::string kPo = std::string(TREATY_SOURCE_DIR) + "/examples/purchase-order/purchase-order.yaml";

TEST(Treatyc, CheckValidIsSilentAndSucceeds) {
  Outcome r = Treatyc("check " + kPo + " " + TREATY_SOURCE_DIR + "/examples/letter-of-credit/letter-of-credit.yaml");
  EXPECT_EQ(r.code, 0);
  EXPECT_EQ(r.out, "");
}

TEST(Treatyc, CheckInvalidPrintsEveryProblemAndFails) {
  fs::path f = fs::temp_directory_path() / ("treatyc-bad-" + std::to_string(getpid()) + ".yaml");
  std::ofstream(f) << "process: bad\nversion: 1\nroles: [a]\nstates:\n  s0: { initial: true }\n  s1: {}\n"
                      "steps:\n  go: { from: s0, to: s2, by: b }\n";
  Outcome r = Treatyc("check " + f.string());
  fs::remove(f);
  EXPECT_EQ(r.code, 1);
  std::string p = f.string();
  EXPECT_EQ(r.out, p + ":6:3: error: state 's1' is not final and no step leaves it (nor its enclosing states)\n" + p +
                       ":6:3: error: state 's1' is unreachable: no step leads to it from the initial state\n" + p +
                       ":8:23: error: step 'go' goes to unknown state 's2' (did you mean 's0'?)\n" + p +
                       ":8:31: error: step 'go' is by unknown role 'b' (did you mean 'a'?)\n");
}

TEST(Treatyc, GraphDescribeCompile) {
  Outcome g = Treatyc("graph " + kPo);
  EXPECT_EQ(g.code, 0);
  EXPECT_EQ(g.out.rfind("digraph \"purchase-order v1\"", 0), 0u) << g.out;
  EXPECT_NE(g.out.find("\"submitted\" -> \"accepted\" [label=\"accept (seller)\\nhuman task: sales-approvals\"]"),
            std::string::npos)
      << g.out;

  Outcome d = Treatyc("describe " + kPo);
  EXPECT_EQ(d.code, 0);
  EXPECT_NE(d.out.find("sha256   "), std::string::npos);
  EXPECT_NE(d.out.find("pay: accepted -> paid by buyer if input.amount == data.total"), std::string::npos) << d.out;
  EXPECT_NE(d.out.find("accept: submitted -> accepted by seller, human task in queue sales-approvals"),
            std::string::npos)
      << d.out;

  fs::path h = fs::temp_directory_path() / ("po-" + std::to_string(getpid()) + ".msm.h");
  Outcome c = Treatyc("compile " + kPo + " -o " + h.string());
  EXPECT_EQ(c.code, 0) << c.out;
  std::ifstream in(h);
  std::stringstream text;
  text << in.rdbuf();
  fs::remove(h);
  EXPECT_NE(text.str().find("msm::front::state_machine_def<Top_>"), std::string::npos);
  EXPECT_NE(text.str().find("Row<S_accepted, E_pay, S_paid, CountFired, R_pay>"), std::string::npos);
}

TEST(Treatyc, UsageErrorsExitTwo) {
  EXPECT_EQ(Treatyc("").code, 2);
  EXPECT_EQ(Treatyc("frobnicate x.yaml").code, 2);
  EXPECT_EQ(Treatyc("compile " + kPo).code, 2);  // no -o
  Outcome r = Treatyc("check /nonexistent/x.yaml");
  EXPECT_EQ(r.code, 1);
  EXPECT_EQ(r.out, "/nonexistent/x.yaml:1:1: error: cannot read file\n");
}

}  // namespace
