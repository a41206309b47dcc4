// The `treaty` CLI and the Python example client against a real treatyd.
#include <gtest/gtest.h>

#include <sys/wait.h>

#include <cstdio>

#include "treatyd_process.h"

namespace treaty::testing {
namespace {

struct Outcome {
  int code;
  std::string out;
};

Outcome Sh(const std::string& cmd) {
  FILE* p = popen((cmd + " 2>&1").c_str(), "r");
  std::string out;
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
  int st = pclose(p);
  return {WIFEXITED(st) ? WEXITSTATUS(st) : -1, out};
}

class Clients : public ::testing::Test {
 protected:
  void SetUp() override {
    node_ = std::make_unique<TreatydProcess>(dir_.path() + "/node");
    ASSERT_TRUE(node_->Start()) << node_->Log();
  }
  Outcome Cli(const std::string& args) {
    return Sh(std::string(TREATY_TREATY_CLI) + " --server " + node_->address() + " " + args);
  }
  TempDir dir_;
  std::unique_ptr<TreatydProcess> node_;
};

TEST_F(Clients, CliDrivesAnOrderAndReportsErrors) {
  auto r = Cli("start purchase-order --id cli-1");
  ASSERT_EQ(r.code, 0) << r.out;
  EXPECT_NE(r.out.find("states      draft"), std::string::npos) << r.out;
  r = Cli("step cli-1 submit --input '{\"po_number\":\"P\",\"items\":[{\"sku\":\"a\",\"qty\":1}],\"total\":5}'");
  ASSERT_EQ(r.code, 0) << r.out;
  EXPECT_NE(r.out.find("submit CONFIRMED at ledger height 2: cli-1 is now submitted"), std::string::npos) << r.out;
  r = Cli("step cli-1 pay --input '{\"amount\":5}'");
  EXPECT_EQ(r.code, 1);
  EXPECT_EQ(r.out, "treaty: FAILED_PRECONDITION: step 'pay' is not allowed from state 'submitted'\n");
  r = Cli("--json get cli-1");
  ASSERT_EQ(r.code, 0);
  EXPECT_NE(r.out.find("\"states\":[\"submitted\"]"), std::string::npos) << r.out;
  r = Cli("history cli-1");
  EXPECT_NE(r.out.find("submit      node      CONFIRMED"), std::string::npos) << r.out;
  r = Cli("list --where 'data.total == 5'");
  EXPECT_NE(r.out.find("cli-1"), std::string::npos) << r.out;
  r = Cli("get nope");
  EXPECT_EQ(r.code, 1);
  EXPECT_EQ(r.out, "treaty: NOT_FOUND: no instance 'nope'\n");
  EXPECT_EQ(Cli("frobnicate").code, 2);
  // Waiting for every member: on a single node, the node itself.
  r = Cli("start purchase-order --id cli-2 --wait all --timeout 5000");
  ASSERT_EQ(r.code, 0) << r.out;
  EXPECT_NE(r.out.find("attested by node\n"), std::string::npos) << r.out;
  r = Cli("step cli-2 cancel --wait sometimes");
  EXPECT_EQ(r.code, 2) << r.out;
  EXPECT_NE(r.out.find("--wait takes here or all, not 'sometimes'"), std::string::npos) << r.out;
  r = Cli("definitions");
  EXPECT_NE(r.out.find("purchase-order        1        msm"), std::string::npos) << r.out;
}

TEST_F(Clients, PythonExampleClientRuns) {
  auto r = Sh(std::string("/usr/bin/python3 ") + TREATY_SOURCE_DIR + "/examples/purchase-order/client.py --server " +
              node_->address());
  ASSERT_EQ(r.code, 0) << r.out;
  EXPECT_NE(r.out.find("retry with the same key returns the same proposal: True"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("pay 399: FAILED_PRECONDITION: guard of step 'pay' is false"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("pay 400: CONFIRMED, final=True"), std::string::npos) << r.out;
}

}  // namespace
}  // namespace treaty::testing
