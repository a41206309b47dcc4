// State deadlines fired by the node (issue #16; engine/deadline_watcher.h):
// real treatyd processes (and a treaty-sequencer) on 127.0.0.1, a YAML
// definition with a 2 s deadline, and nobody proposing anything after the
// start. The node proposes the deadline step once ledger time has passed
// it, asking the ledger for blocks (ticks) while it is idle.
#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <thread>

#include "network_fixture.h"

namespace treaty::testing {
namespace {

namespace fs = std::filesystem;
using Steady = std::chrono::steady_clock;

// `expire` is the seller's; in the race, every party's.
const char* kDeadlineYaml = R"(process: deadline-test
version: 1
roles: [buyer, seller, bank]
states:
  waiting: { initial: true, deadline: { after: 2s, step: expire } }
  done:    { final: true }
  expired: { final: true }
steps:
  finish: { from: waiting, to: done, by: buyer }
  expire: { from: waiting, to: expired, by: seller }
)";

const char* kRaceYaml = R"(process: deadline-race
version: 1
roles: [buyer, seller, bank]
states:
  waiting: { initial: true, deadline: { after: 2s, step: expire } }
  expired: { final: true }
steps:
  expire: { from: waiting, to: expired, by: [buyer, seller, bank] }
)";

std::string WriteDefinitions(const std::string& root) {
  std::string dir = root + "/defs";
  fs::create_directories(dir);
  std::ofstream(dir + "/deadline-test.yaml") << kDeadlineYaml;
  std::ofstream(dir + "/deadline-race.yaml") << kRaceYaml;
  return dir;
}

int CountSteps(const std::vector<pb::HistoryEntry>& h, const std::string& step) {
  int n = 0;
  for (const auto& e : h) n += e.step() == step;
  return n;
}

// What every party must agree on, entry by entry.
std::string Digest(const std::vector<pb::HistoryEntry>& h) {
  std::string out;
  for (const auto& e : h)
    out += e.step() + "|" + e.proposer() + "|" + pb::Outcome_Name(e.outcome()) + "|" + e.reject_code() + "|" +
           e.reason() + "|" + std::to_string(e.ledger_height()) + "|" + e.state_hash() + "\n";
  return out;
}

TEST(Deadline, ASingleNodeFiresADeadlineOnceWhileIdle) {
  TempDir dir;
  std::string defs = WriteDefinitions(dir.path());
  TreatydProcess node(dir.path() + "/node", {"--definitions", defs});
  ASSERT_TRUE(node.Start()) << node.Log();
  NodeClient c(node.channel());
  ASSERT_TRUE(c.Start("d-1", {}, nullptr, "deadline-test").ok());
  auto t0 = Steady::now();
  // An instance that leaves the state in time has no deadline to fire.
  ASSERT_TRUE(c.Start("d-2", {}, nullptr, "deadline-test").ok());
  pb::TriggerStepResponse r;
  ASSERT_TRUE(c.Step("d-2", "finish", "{}", &r).ok());
  EXPECT_EQ(r.outcome(), pb::CONFIRMED);
  ASSERT_TRUE(Eventually([&] { return c.State("d-1") == "expired"; }, 8000)) << node.Log();
  auto took = Steady::now() - t0;
  EXPECT_LT(took, std::chrono::milliseconds(4500));
  auto h = c.History("d-1");
  ASSERT_EQ(h.size(), 2u);
  EXPECT_EQ(h[1].step(), "expire");
  EXPECT_EQ(h[1].outcome(), pb::CONFIRMED);
  // Ledger time decided it: never before the deadline.
  EXPECT_GE(h[1].applied_ms() - h[0].applied_ms(), 2000);
  std::this_thread::sleep_for(std::chrono::milliseconds(1200));
  EXPECT_EQ(c.History("d-1").size(), 2u) << "proposed twice";
  EXPECT_EQ(c.State("d-2"), "done");
  EXPECT_EQ(c.History("d-2").size(), 2u);
}

TEST(Deadline, ARestartedSingleNodeFiresADeadlineThatPassedWhileItWasDown) {
  TempDir dir;
  std::string defs = WriteDefinitions(dir.path());
  auto node = std::make_unique<TreatydProcess>(dir.path() + "/node", std::vector<std::string>{"--definitions", defs});
  ASSERT_TRUE(node->Start()) << node->Log();
  ASSERT_TRUE(NodeClient(node->channel()).Start("r-1", {}, nullptr, "deadline-test").ok());
  node->Kill();
  std::this_thread::sleep_for(std::chrono::milliseconds(2200));
  ASSERT_TRUE(node->Start()) << node->Log();
  NodeClient c(node->channel());
  ASSERT_TRUE(Eventually([&] { return c.State("r-1") == "expired"; }, 6000)) << node->Log();
  EXPECT_EQ(CountSteps(c.History("r-1"), "expire"), 1);
}

// A network whose nodes load the deadline definitions; members without the
// step's role wait `grace_ms` past the deadline.
class DeadlineNetwork : public NetworkTest {
 protected:
  void SetUp() override {}
  void Up(int grace_ms) {
    std::string defs = WriteDefinitions(dir_.path());
    net_ = std::make_unique<LocalNetwork>(
        dir_.path() + "/net", std::vector<std::string>{"buyer", "seller", "bank"}, std::vector<std::string>{},
        std::vector<std::string>{"--definitions", defs, "--deadline-grace", std::to_string(grace_ms)});
    ASSERT_TRUE(net_->Start()) << "network did not start; see " << dir_.path();
    Connect();
  }
  void StartAt(const std::string& id, const std::string& definition) {
    ASSERT_TRUE(at("buyer").Start(id, kRoles, nullptr, definition).ok());
    ASSERT_TRUE(AllIn(id, "waiting", 5000));
  }
  // Every party holds the same history of `id`, each entry attested by all.
  std::string Converged(const std::string& id, size_t min_entries) {
    std::string digest;
    bool ok = Eventually(
        [&] {
          digest.clear();
          for (const auto& p : net_->parties()) {
            auto h = at(p).History(id);
            if (h.size() < min_entries) return false;
            for (const auto& e : h)
              if (e.attestations_size() != 3) return false;
            std::string d = Digest(h);
            if (!digest.empty() && d != digest) return false;
            digest = d;
          }
          return true;
        },
        10000);
    EXPECT_TRUE(ok) << "histories of " << id << " did not converge";
    return digest;
  }
};

TEST_F(DeadlineNetwork, ThreePartiesApplyTheDeadlineStepOnce) {
  Up(30000);
  StartAt("n-1", "deadline-test");
  ASSERT_TRUE(AllIn("n-1", "expired", 8000));
  std::string digest = Converged("n-1", 2);
  ExpectSameStateHash("n-1");
  for (const auto& p : net_->parties()) {
    auto h = at(p).History("n-1");
    ASSERT_EQ(h.size(), 2u) << p << "\n" << digest;
    EXPECT_EQ(h[1].step(), "expire");
    EXPECT_EQ(h[1].proposer(), "seller") << "the role holder proposes first";
    EXPECT_GE(h[1].applied_ms() - h[0].applied_ms(), 2000);
    for (const auto& a : h[1].attestations()) EXPECT_TRUE(a.matches()) << p << " " << a.party();
  }
}

TEST_F(DeadlineNetwork, TheRoleHolderKilledBeforeTheDeadlineFiresItAfterItsRestart) {
  Up(60000);  // the others would only step in after a minute
  StartAt("k-1", "deadline-test");
  auto started = Steady::now();
  std::this_thread::sleep_for(std::chrono::milliseconds(1000));
  net_->node("seller").Kill();  // SIGKILL, a second before the deadline
  std::this_thread::sleep_for(std::chrono::milliseconds(3000) - (Steady::now() - started));
  EXPECT_EQ(at("buyer").State("k-1"), "waiting");
  EXPECT_EQ(at("bank").State("k-1"), "waiting");
  ASSERT_TRUE(net_->node("seller").Start()) << net_->node("seller").Log();
  Connect();
  ASSERT_TRUE(AllIn("k-1", "expired", 8000)) << net_->node("seller").Log();
  Converged("k-1", 2);
  ExpectSameStateHash("k-1");
  for (const auto& p : net_->parties()) {
    auto h = at(p).History("k-1");
    EXPECT_EQ(CountSteps(h, "expire"), 1) << p;
    EXPECT_EQ(h.back().proposer(), "seller");
  }
}

TEST_F(DeadlineNetwork, WithTheRoleHolderDownTheOthersFireItAfterTheirGrace) {
  Up(1500);
  StartAt("g-1", "deadline-test");
  net_->node("seller").Kill();  // the only holder of `expire`'s role, for good
  ASSERT_TRUE(Eventually(
      [&] { return at("buyer").State("g-1") == "expired" && at("bank").State("g-1") == "expired"; }, 9000));
  auto h = at("buyer").History("g-1");
  ASSERT_GE(h.size(), 2u);
  EXPECT_EQ(h[1].step(), "expire");
  EXPECT_EQ(h[1].outcome(), pb::CONFIRMED);
  EXPECT_NE(h[1].proposer(), "seller");
  EXPECT_GE(h[1].applied_ms() - h[0].applied_ms(), 2000 + 1500) << "before the grace was over";
  // The seller, back, agrees.
  ASSERT_TRUE(net_->node("seller").Start()) << net_->node("seller").Log();
  Connect();
  Converged("g-1", 2);
  ExpectSameStateHash("g-1");
  int confirmed = 0;
  for (const auto& e : at("seller").History("g-1")) confirmed += e.step() == "expire" && e.outcome() == pb::CONFIRMED;
  EXPECT_EQ(confirmed, 1);
}

TEST_F(DeadlineNetwork, WhenSeveralPartiesProposeItOneAppliesAndTheOthersAreRejectedAlike) {
  Up(30000);
  StartAt("race-1", "deadline-race");  // every party holds a role of `expire`
  ASSERT_TRUE(AllIn("race-1", "expired", 8000));
  // Each party proposes at most once: wait until all of it is applied.
  std::this_thread::sleep_for(std::chrono::milliseconds(800));
  std::string digest = Converged("race-1", 3);
  auto h = at("buyer").History("race-1");
  int confirmed = 0, rejected = 0;
  for (const auto& e : h) {
    if (e.step() != "expire") continue;
    if (e.outcome() == pb::CONFIRMED) {
      ++confirmed;
    } else {
      ++rejected;
      EXPECT_EQ(e.reject_code(), "NOT_FROM_STATE");
      EXPECT_EQ(e.reason(), "step 'expire' is not allowed from state 'expired'");
    }
  }
  EXPECT_EQ(confirmed, 1) << digest;
  EXPECT_GE(rejected, 1) << digest;
  EXPECT_LE(rejected, 2) << digest;
  ExpectSameStateHash("race-1");
}

}  // namespace
}  // namespace treaty::testing
