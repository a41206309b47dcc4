// The `ethereum` ledger under faults, on a real anvil: a node killed with
// its transactions pending, anvil stopped and restarted from its state
// file while the nodes run, and a re-organisation shallower than the
// confirmation depth. Nothing lost, nothing doubled, nothing applied from
// a block that could still change.
#include <gtest/gtest.h>

#include <atomic>
#include <set>
#include <thread>

#include "ethereum_fixture.h"

namespace treaty::testing {
namespace {

namespace pb = ::treaty::v1;

// Blocks only when the test mines them.
class ManualMiningTest : public EthereumNetworkTest {
 protected:
  void SetUp() override {
    EthereumSetup s;
    s.block_time_s = 0;
    s.no_mining = true;
    s.confirmations = confirmations_;
    Begin(s);
  }
  void TearDown() override { StopMiner(); }

  // A miner thread: a block every `every` (the test's own clock for the chain).
  void StartMiner(std::chrono::milliseconds every = std::chrono::milliseconds(150)) {
    StopMiner();
    mining_ = true;
    miner_ = std::thread([this, every] {
      chain::eth::JsonRpcClient c(net_->anvil().url(), std::chrono::milliseconds(1000));
      while (mining_) {
        (void)c.Call("evm_mine");
        std::this_thread::sleep_for(every);
      }
    });
  }
  void StopMiner() {
    mining_ = false;
    if (miner_.joinable()) miner_.join();
  }
  uint64_t PoolSize() {
    auto r = rpc().Call("txpool_status");
    if (!r.ok() || !r->is_object()) return 0;
    auto p = chain::eth::ParseQuantity((*r)["pending"]);
    return p.ok() ? *p : 0;
  }
  void Started(const std::string& id) {
    ASSERT_TRUE(at("buyer").Start(id, kRoles).ok());
    ASSERT_TRUE(AllIn(id, "draft"));
  }

  uint64_t confirmations_ = 1;
  std::atomic<bool> mining_{false};
  std::thread miner_;
};

TEST_F(ManualMiningTest, ANodeKilledWithPendingTransactionsLosesAndDoublesNothing) {
  StartMiner();
  for (const char* id : {"k-1", "k-2", "k-3"}) Started(id);
  StopMiner();
  // Three submissions sealed and sent, none mined.
  for (const char* id : {"k-1", "k-2", "k-3"})
    ASSERT_TRUE(at("buyer").Step(id, "submit", SubmitFor(id), "", nullptr, /*no_wait=*/true).ok());
  ASSERT_TRUE(Eventually([&] { return PoolSize() >= 1; })) << "no transaction reached the pool";
  ASSERT_TRUE(Eventually([&] { return at("buyer").Status().ledger_health().pending_transactions() >= 1; }));
  net_->node("buyer").Kill();

  // The pending transactions are mined while the node is down, then it
  // comes back: its journal knows them, its batches are not sent again.
  Mine(3);
  ASSERT_TRUE(net_->node("buyer").Start()) << net_->node("buyer").Log();
  Connect();
  StartMiner();
  for (const char* id : {"k-1", "k-2", "k-3"}) ASSERT_TRUE(AllIn(id, "submitted", 60000)) << id;
  for (const auto& p : net_->parties())
    for (const char* id : {"k-1", "k-2", "k-3"}) EXPECT_EQ(at(p).History(id).size(), 2u) << p << " " << id;
  for (const char* id : {"k-1", "k-2", "k-3"}) ExpectSameStateHash(id);
  std::set<std::string> refs;
  for (const auto& b : ChainBatches()) EXPECT_TRUE(refs.insert(b.batch_ref).second) << "batch " << b.batch_ref << " twice";
  EXPECT_TRUE(Eventually([&] { return at("buyer").Status().ledger_health().pending_transactions() == 0; }));
}

TEST_F(ManualMiningTest, ANodeKilledBeforeItsTransactionsAreMinedResendsThemAfterTheChainLostThem) {
  StartMiner();
  Started("l-1");
  StopMiner();
  ASSERT_TRUE(at("buyer").Step("l-1", "submit", SubmitFor("l-1"), "", nullptr, /*no_wait=*/true).ok());
  ASSERT_TRUE(Eventually([&] { return PoolSize() >= 1; }));
  net_->node("buyer").Kill();
  // The chain forgets its pool (anvil_dropAllTransactions): only the
  // node's journal still has the transaction.
  ASSERT_TRUE(rpc().Call("anvil_dropAllTransactions").ok());
  EXPECT_EQ(PoolSize(), 0u);
  ASSERT_TRUE(net_->node("buyer").Start()) << net_->node("buyer").Log();
  Connect();
  StartMiner();
  ASSERT_TRUE(AllIn("l-1", "submitted", 60000));
  for (const auto& p : net_->parties()) EXPECT_EQ(at(p).History("l-1").size(), 2u) << p;
  std::set<std::string> refs;
  for (const auto& b : ChainBatches()) EXPECT_TRUE(refs.insert(b.batch_ref).second) << "batch " << b.batch_ref << " twice";
}

TEST_F(ManualMiningTest, ATransactionPricedBelowTheChainIsSignedAgainAtAHigherFeeNotResealed) {
  StartMiner();
  Started("f-1");
  StopMiner();
  ASSERT_TRUE(at("buyer").Step("f-1", "submit", SubmitFor("f-1"), "", nullptr, /*no_wait=*/true).ok());
  ASSERT_TRUE(Eventually([&] { return PoolSize() >= 1; }));
  // The base fee jumps far above what the transaction offers: blocks come
  // and leave it out.
  ASSERT_TRUE(rpc().Call("anvil_setNextBlockBaseFeePerGas", nlohmann::json::array({"0x174876e800"})).ok());  // 100 gwei
  std::string journal = net_->data_dir("buyer") + "/ethereum.db";
  auto first = QueryDb(journal, "SELECT batch_id, nonce, hash FROM txs ORDER BY nonce DESC LIMIT 1");
  ASSERT_EQ(first.size(), 1u);
  StartMiner(std::chrono::milliseconds(300));
  ASSERT_TRUE(AllIn("f-1", "submitted", 60000));
  // The same batch and nonce under a new signing; the first one's hash is
  // kept among its earlier ones.
  auto now = QueryDb(journal, "SELECT batch_id, nonce, hash, earlier FROM txs WHERE batch_id = '" + first[0][0] + "'");
  if (!now.empty()) {  // pruned once applied below the cursor; then the chain shows it
    EXPECT_EQ(now[0][1], first[0][1]);
    EXPECT_NE(now[0][2], first[0][2]);
    EXPECT_NE(now[0][3].find(first[0][2]), std::string::npos) << now[0][3];
  }
  auto batches = ChainBatches();
  int of_first = 0;
  for (const auto& b : batches) of_first += b.batch_ref == first[0][0];
  EXPECT_EQ(of_first, 1) << "the batch was pinned " << of_first << " times";
  EXPECT_NE(net_->node("buyer").Log().find("signed again"), std::string::npos) << net_->node("buyer").Log();
  for (const auto& p : net_->parties()) EXPECT_EQ(at(p).History("f-1").size(), 2u) << p;
}

class DeepConfirmationTest : public ManualMiningTest {
 protected:
  void SetUp() override {
    confirmations_ = 3;
    ManualMiningTest::SetUp();
  }
};

TEST_F(DeepConfirmationTest, AReorgShallowerThanTheConfirmationDepthChangesNothingApplied) {
  StartMiner();
  Started("r-1");
  pb::TriggerStepResponse r;
  ASSERT_TRUE(at("buyer").Step("r-1", "submit", SubmitFor("r-1"), &r).ok());
  ASSERT_TRUE(AllIn("r-1", "submitted"));
  StopMiner();
  std::map<std::string, uint64_t> applied;
  for (const auto& p : net_->parties()) applied[p] = at(p).Status().applied_height();

  // The accept is mined into a block that then gets 2 blocks on top: one
  // short of the depth. Nobody may apply it.
  ASSERT_TRUE(at("seller").Step("r-1", "accept", "{}", "", nullptr, /*no_wait=*/true).ok());
  ASSERT_TRUE(Eventually([&] { return PoolSize() >= 1; }));
  auto snapshot = rpc().Call("evm_snapshot");
  ASSERT_TRUE(snapshot.ok()) << snapshot.status().ToString();
  auto before = api().BlockNumber();
  ASSERT_TRUE(before.ok());
  Mine(3);  // the accept's block and two on top
  EXPECT_EQ(PoolSize(), 0u);
  std::this_thread::sleep_for(std::chrono::milliseconds(1500));
  for (const auto& p : net_->parties()) {
    EXPECT_EQ(at(p).State("r-1"), "submitted") << p;
    EXPECT_LE(at(p).Status().applied_height(), *before - 0) << p;
    EXPECT_EQ(at(p).History("r-1").size(), 2u) << p;
  }

  // The re-org: those blocks vanish, and the accept with them.
  auto reverted = rpc().Call("evm_revert", nlohmann::json::array({*snapshot}));
  ASSERT_TRUE(reverted.ok() && *reverted == true) << reverted.status().ToString();
  auto after = api().BlockNumber();
  ASSERT_TRUE(after.ok());
  EXPECT_EQ(*after, *before);
  for (const auto& p : net_->parties()) EXPECT_EQ(at(p).State("r-1"), "submitted") << p;

  // The seller's node sends the same transaction again; once it is deep
  // enough, every party applies the accept exactly once.
  StartMiner();
  ASSERT_TRUE(AllIn("r-1", "accepted", 60000));
  for (const auto& p : net_->parties()) {
    auto h = at(p).History("r-1");
    ASSERT_EQ(h.size(), 3u) << p;
    EXPECT_EQ(h[2].step(), "accept");
    EXPECT_GT(at(p).Status().applied_height(), applied[p]);
  }
  ExpectSameStateHash("r-1");
  std::set<std::string> refs;
  for (const auto& b : ChainBatches()) EXPECT_TRUE(refs.insert(b.batch_ref).second) << "batch " << b.batch_ref << " twice";
}

// anvil with 1 s blocks, stopped (writing its state file) while the nodes
// run and restarted from it: the nodes report it, wait, and resume.
TEST_F(EthereumNetworkTest, AnvilStoppedAndRestartedFromItsStateWhileNodesRun) {
  Submitted("a-1");
  ASSERT_EQ(net_->anvil().Stop(), 0) << net_->anvil().Log();
  ASSERT_TRUE(Eventually([&] { return !at("seller").Status().ledger_health().reachable(); }));
  EXPECT_NE(at("seller").Status().ledger_health().error().find("does not answer"), std::string::npos)
      << at("seller").Status().ledger_health().error();
  // Accepted while the chain is away: sealed and kept, sent when it returns.
  ASSERT_TRUE(at("seller").Step("a-1", "accept", "{}", "", nullptr, /*no_wait=*/true).ok());
  std::this_thread::sleep_for(std::chrono::milliseconds(1000));
  EXPECT_EQ(at("buyer").State("a-1"), "submitted");
  ASSERT_TRUE(net_->anvil().Restart()) << net_->anvil().Log();
  ASSERT_TRUE(AllIn("a-1", "accepted", 60000));
  pb::TriggerStepResponse r;
  ASSERT_TRUE(at("buyer").Step("a-1", "pay", R"({"amount":300})", &r).ok());
  EXPECT_EQ(r.outcome(), pb::CONFIRMED) << r.reason();
  ASSERT_TRUE(AllIn("a-1", "paid"));
  for (const auto& p : net_->parties()) {
    EXPECT_EQ(at(p).History("a-1").size(), 4u) << p;
    EXPECT_TRUE(at(p).Status().ledger_health().reachable()) << p;
  }
  ExpectSameStateHash("a-1");
  EXPECT_NE(net_->node("seller").Log().find("fine again"), std::string::npos);
}

}  // namespace
}  // namespace treaty::testing
