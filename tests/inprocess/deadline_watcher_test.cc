// The deadline watcher on a node whose clock the test holds (ManualClock,
// the embedded ledger stamping blocks with it): ledger time, not the
// node's clock, decides when a deadline step is proposed; the node asks
// for an idle block only once its clock says the deadline has come; and a
// node stopped over a deadline proposes it, once, after its restart.
#include <gtest/gtest.h>

#include <thread>

#include "../integration/treatyd_process.h"
#include "definitions/runtime/reference_machine.h"
#include "definitions/validator.h"
#include "inprocess_network.h"

namespace treaty::testing {
namespace {

using engine::Node;

const char* kYaml = R"(process: deadline-test
version: 1
roles: [clerk]
states:
  waiting: { initial: true, deadline: { after: 2s, step: expire } }
  expired: { final: true }
steps:
  expire: { from: waiting, to: expired, by: clerk }
)";

Status AddDefinition(Node& n) {
  defs::Diagnostics diags("deadline-test.yaml");
  auto def = defs::CheckText(kYaml, "deadline-test.yaml", &diags);
  if (!def) return Status::InvalidArgument("deadline-test.yaml does not load");
  return n.registry()->Add(runtime::MakeReferenceRuntime(std::move(*def)));
}

Status StartInstance(Node& n, const std::string& id) {
  engine::StartArgs s;
  s.definition = "deadline-test";
  s.instance_id = id;
  auto r = n.StartProcess(s);
  return r.status();
}

std::string StateOf(Node& n, const std::string& id) {
  auto i = n.GetInstance(id);
  return i.ok() && *i ? (*i)->states_json : "";
}

int Expires(Node& n, const std::string& id) {
  auto h = n.History(id);
  int count = 0;
  if (h.ok())
    for (const auto& e : *h) count += e.step == "expire";
  return count;
}

bool Eventually(const std::function<bool()>& ok, int timeout_ms = 5000) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  while (std::chrono::steady_clock::now() < deadline) {
    if (ok()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return ok();
}

TEST(DeadlineWatcher, LedgerTimeNotTheClockDecidesAndIdleBlocksComeOnlyWhenTheClockSaysSo) {
  TempDir dir;
  InProcessNetwork net(dir.path(), {"solo"}, /*embedded=*/true);
  ASSERT_TRUE(net.Start().ok());
  Node& n = net.node("solo");
  ASSERT_TRUE(AddDefinition(n).ok());
  ASSERT_TRUE(StartInstance(n, "m-1").ok());
  const int64_t t0 = n.LedgerTimeMs();
  EXPECT_EQ(t0, net.clock().NowMs());
  EXPECT_EQ(n.PendingDeadlines(), 1u);
  const uint64_t height = n.ledger()->Height();

  // A millisecond short of the deadline: no block is asked for, nothing proposed.
  net.clock().Advance(1999);
  std::this_thread::sleep_for(std::chrono::milliseconds(1200));
  EXPECT_EQ(n.ledger()->Height(), height);
  EXPECT_EQ(n.LedgerTimeMs(), t0);
  EXPECT_EQ(Expires(n, "m-1"), 0);

  // Due: a tick block moves ledger time, and the step follows in the next.
  net.clock().Advance(1);
  ASSERT_TRUE(Eventually([&] { return StateOf(n, "m-1") == R"(["expired"])"; })) << StateOf(n, "m-1");
  EXPECT_EQ(n.LedgerTimeMs(), t0 + 2000);
  auto h = n.History("m-1");
  ASSERT_TRUE(h.ok());
  ASSERT_EQ(h->size(), 2u);
  EXPECT_EQ((*h)[1].applied_ms, t0 + 2000);
  EXPECT_EQ(n.PendingDeadlines(), 0u);
  // Nothing more: no second proposal, no more ticks.
  const uint64_t after = n.ledger()->Height();
  net.clock().Advance(5000);
  std::this_thread::sleep_for(std::chrono::milliseconds(1200));
  EXPECT_EQ(Expires(n, "m-1"), 1);
  EXPECT_EQ(n.ledger()->Height(), after);
}

TEST(DeadlineWatcher, ANodeStoppedOverItsDeadlineProposesItOnceAfterItsRestart) {
  TempDir dir;
  InProcessNetwork net(dir.path(), {"solo"}, /*embedded=*/true);
  ASSERT_TRUE(net.Start().ok());
  ASSERT_TRUE(AddDefinition(net.node("solo")).ok());
  ASSERT_TRUE(StartInstance(net.node("solo"), "r-1").ok());
  ASSERT_TRUE(StartInstance(net.node("solo"), "r-2").ok());
  const int64_t t0 = net.node("solo").LedgerTimeMs();
  net.Crash("solo");
  net.clock().Advance(3000);
  ASSERT_TRUE(net.Start().ok());
  Node& n = net.node("solo");
  // Rebuilt from the store; ledger time is the stored tip's until a block.
  ASSERT_TRUE(Eventually([&] {
    return StateOf(n, "r-1") == R"(["expired"])" && StateOf(n, "r-2") == R"(["expired"])";
  }));
  EXPECT_GE(n.LedgerTimeMs(), t0 + 2000);
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  EXPECT_EQ(Expires(n, "r-1"), 1);
  EXPECT_EQ(Expires(n, "r-2"), 1);
}

}  // namespace
}  // namespace treaty::testing
