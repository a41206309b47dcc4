// Recovery in a real three-party network: a member killed -9 mid-run, a
// member offline while the others progress, and a sequencer restart. Each
// ends with every member in the same state, every step applied once.
#include <zmq.hpp>

#include "network_fixture.h"

namespace treaty::testing {
namespace {

class RecoveryTest : public NetworkTest {
 protected:
  // Drives one order from start to paid; the steps of the seller wait until
  // the seller has seen the order.
  bool Complete(const std::string& id) {
    pb::TriggerStepResponse r;
    if (!at("buyer").Start(id, kRoles).ok()) return false;
    if (!at("buyer").Step(id, "submit", SubmitFor(id), &r).ok() || r.outcome() != pb::CONFIRMED) return false;
    if (!Eventually([&] { return at("seller").State(id) == "submitted"; })) return false;
    if (!at("seller").Step(id, "accept", "{}", &r).ok() || r.outcome() != pb::CONFIRMED) return false;
    if (!Eventually([&] { return at("buyer").State(id) == "accepted"; })) return false;
    return at("buyer").Step(id, "pay", R"({"amount":300})", &r).ok() && r.outcome() == pb::CONFIRMED;
  }
  void ExpectConverged(const std::vector<std::string>& ids, const std::string& state) {
    for (const auto& id : ids) {
      ASSERT_TRUE(AllIn(id, state, 30000)) << id;
      ExpectSameStateHash(id);
      for (const auto& p : net_->parties()) {
        auto h = at(p).History(id);
        EXPECT_EQ(h.size(), 4u) << p << " " << id << ": every step once";
      }
    }
  }
};

TEST_F(RecoveryTest, AMemberKilledMidRunRestartsAndConverges) {
  std::vector<std::string> ids;
  for (int i = 0; i < 6; ++i) ids.push_back("k-" + std::to_string(i));
  std::atomic<int> done{0};
  std::thread driver([&] {
    for (const auto& id : ids)
      if (Complete(id)) ++done;
  });
  ASSERT_TRUE(Eventually([&] { return done.load() >= 2; }, 30000));
  net_->node("bank").Kill();  // kill -9, in the middle of the stream
  std::this_thread::sleep_for(std::chrono::milliseconds(800));
  ASSERT_TRUE(net_->node("bank").Start());
  Connect();
  driver.join();
  ASSERT_EQ(done.load(), 6);
  ExpectConverged(ids, "paid");
  EXPECT_EQ(at("bank").Status().blocked_size(), 0);
}

TEST_F(RecoveryTest, AMemberOfflineWhileOthersProgressReceivesWhatItMissed) {
  net_->node("seller").Stop();
  std::vector<std::string> ids = {"off-1", "off-2", "off-3"};
  for (const auto& id : ids) {
    ASSERT_TRUE(at("buyer").Start(id, kRoles).ok());
    pb::TriggerStepResponse r;
    ASSERT_TRUE(at("buyer").Step(id, "submit", SubmitFor(id), &r).ok());
    ASSERT_EQ(r.outcome(), pb::CONFIRMED);
  }
  EXPECT_GE(at("buyer").Status().outbox(), 3u) << "messages for the seller wait in the outbox";
  std::this_thread::sleep_for(std::chrono::seconds(2));
  ASSERT_TRUE(net_->node("seller").Start());
  Connect();
  for (const auto& id : ids) ASSERT_TRUE(Eventually([&] { return at("seller").State(id) == "submitted"; }, 30000)) << id;
  for (const auto& id : ids) {
    pb::TriggerStepResponse r;
    ASSERT_TRUE(at("seller").Step(id, "accept", "{}", &r).ok());
    EXPECT_EQ(r.outcome(), pb::CONFIRMED) << r.reason();
    ASSERT_TRUE(Eventually([&] { return at("buyer").State(id) == "accepted"; }));
    ASSERT_TRUE(at("buyer").Step(id, "pay", R"({"amount":300})", &r).ok());
  }
  ExpectConverged(ids, "paid");
  EXPECT_TRUE(Eventually([&] { return at("buyer").Status().outbox() == 0; })) << "every message receipted";
}

// Blocks [1, to] as the sequencer serves them: their hashes.
std::vector<std::string> BlockHashes(const std::string& endpoint, uint64_t to) {
  zmq::context_t ctx(1);
  zmq::socket_t s(ctx, zmq::socket_type::dealer);
  s.set(zmq::sockopt::linger, 0);
  s.connect(endpoint);
  std::string text = json{{"op", "read"}, {"req", 7}, {"from", 1}, {"max", to}}.dump();
  s.send(zmq::buffer(text));
  zmq::pollitem_t items[] = {{s.handle(), 0, ZMQ_POLLIN, 0}};
  zmq::poll(items, 1, std::chrono::milliseconds(5000));
  std::vector<std::string> out;
  if (!(items[0].revents & ZMQ_POLLIN)) return out;
  zmq::message_t reply;
  (void)s.recv(reply);
  json r = json::parse(reply.to_string());
  if (!r.contains("blocks")) ADD_FAILURE() << r.dump();
  for (const auto& b : r.value("blocks", json::array())) out.push_back(b["hash"].get<std::string>());
  return out;
}

TEST_F(RecoveryTest, ASequencerRestartKeepsWhatItPublishedAndTheNetworkGoesOn) {
  ASSERT_TRUE(Complete("s-1"));
  ASSERT_TRUE(AllIn("s-1", "paid"));
  uint64_t height = at("buyer").Status().ledger_height();
  auto before = BlockHashes(net_->sequencer_endpoint(), height);
  ASSERT_EQ(before.size(), height);
  net_->sequencer().Kill();
  // A proposal made while it is down waits in the member's batches and is
  // confirmed once it is back.
  grpc::Status started;
  std::thread proposer([&] { started = at("buyer").Start("s-2", kRoles); });
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  ASSERT_TRUE(net_->sequencer().Start());
  proposer.join();
  EXPECT_TRUE(started.ok()) << started.error_message();
  auto after = BlockHashes(net_->sequencer_endpoint(), height);
  EXPECT_EQ(after, before) << "published blocks never change";
  ASSERT_TRUE(AllIn("s-2", "draft", 30000));
  ASSERT_TRUE(Complete("s-3"));
  ExpectConverged({"s-1", "s-3"}, "paid");
  ExpectSameStateHash("s-2");
}

}  // namespace
}  // namespace treaty::testing
