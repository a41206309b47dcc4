// treaty-sequencer as a process: what it refuses, and that it refuses to
// start with a key other than the one its chain and the network file name.
#include <gtest/gtest.h>

#include <fstream>
#include <map>
#include <mutex>
#include <set>
#include <thread>

#include <nlohmann/json.hpp>
#include <zmq.hpp>

#include "local_network.h"

namespace treaty::testing {
namespace {

using json = nlohmann::json;

json Ask(const std::string& endpoint, const std::string& raw) {
  zmq::context_t ctx(1);
  zmq::socket_t s(ctx, zmq::socket_type::dealer);
  s.set(zmq::sockopt::linger, 0);
  s.connect(endpoint);
  s.send(zmq::buffer(raw));
  zmq::pollitem_t items[] = {{s.handle(), 0, ZMQ_POLLIN, 0}};
  zmq::poll(items, 1, std::chrono::milliseconds(3000));
  if (!(items[0].revents & ZMQ_POLLIN)) return json::object();
  zmq::message_t reply;
  (void)s.recv(reply);
  return json::parse(reply.to_string());
}

TEST(Sequencer, RefusesBadRequestsWithAReasonAndKeepsServing) {
  TempDir dir;
  LocalNetwork net(dir.path(), {"acme"});
  ASSERT_TRUE(net.sequencer().Start());
  std::string ep = net.sequencer_endpoint();
  EXPECT_EQ(Ask(ep, "{not json").value("code", ""), "INVALID_ARGUMENT");
  EXPECT_NE(Ask(ep, R"({"op":"mint","req":1})").value("error", "").find("unknown op 'mint'"), std::string::npos);
  EXPECT_EQ(Ask(ep, R"({"op":"read","req":2,"from":0})").value("code", ""), "INVALID_ARGUMENT");
  json stranger = {{"op", "submit"}, {"req", 3},
                   {"batch", {{"id", "b1"}, {"author", "mallory"}, {"pins", json::array()}, {"signature", ""}}}};
  json r = Ask(ep, stranger.dump());
  EXPECT_EQ(r.value("code", ""), "PERMISSION_DENIED");
  EXPECT_NE(r.value("error", "").find("not a member"), std::string::npos) << r.dump();
  json huge = {{"op", "submit"}, {"req", 4}, {"batch", {{"id", "b2"}, {"author", "acme"}, {"pins", json::array()}}}};
  for (int i = 0; i < 5000; ++i) huge["batch"]["pins"].push_back(std::string(64, '1'));
  EXPECT_EQ(Ask(ep, huge.dump()).value("code", ""), "RESOURCE_EXHAUSTED");
  // Still serving, nothing ordered.
  r = Ask(ep, R"({"op":"height","req":5})");
  EXPECT_EQ(r.value("req", 0), 5);
  EXPECT_EQ(r.value("height", 99), 0);
}

TEST(Sequencer, BatchesArrivingWhileABlockIsStoredShareTheNextOne) {
  TempDir dir;
  std::vector<std::string> members = {"a", "b", "c", "d"};
  LocalNetwork net(dir.path(), members);
  ASSERT_TRUE(net.sequencer().Start());
  // Four members submit 25 batches each, every one waiting for its block:
  // with no linger, a block is cut whenever the sequencer is free, and what
  // came in while it stored the last one goes into the next.
  std::map<std::string, std::vector<int64_t>> heights;
  std::vector<std::thread> threads;
  std::mutex mu;
  for (const auto& m : members)
    threads.emplace_back([&, m] {
      auto key = crypto::SigningKey::FromHex(net.identity(m)["signing_secret"].get<std::string>()).value();
      for (int i = 0; i < 25; ++i) {
        json r = SubmitBatch(net.sequencer_endpoint(), m, {Sha256Of(m + std::to_string(i))}, key);
        std::lock_guard<std::mutex> l(mu);
        heights[m].push_back(r.value("height", int64_t{-1}));
      }
    });
  for (auto& t : threads) t.join();
  std::set<int64_t> blocks;
  for (const auto& [m, hs] : heights) {
    ASSERT_EQ(hs.size(), 25u);
    for (size_t i = 0; i < hs.size(); ++i) {
      ASSERT_GT(hs[i], 0) << m << " batch " << i << " was not ordered";
      if (i > 0) {
        EXPECT_GT(hs[i], hs[i - 1]) << m << ": a later batch in an earlier block";
      }
      blocks.insert(hs[i]);
    }
  }
  json r = Ask(net.sequencer_endpoint(), R"({"op":"read","req":7,"from":1,"max":256})");
  ASSERT_TRUE(r.contains("blocks")) << r.dump();
  size_t batches = 0;
  for (const auto& b : r["blocks"]) batches += b["batches"].size();
  EXPECT_EQ(batches, 100u) << "every batch once";
  EXPECT_EQ(r["blocks"].size(), blocks.size());
  EXPECT_LT(blocks.size(), 100u) << "no block was shared: batches were not grouped";
}

TEST(Sequencer, RefusesToStartWithAnotherKeyThanItsChainOrTheNetworkFile) {
  TempDir dir;
  LocalNetwork net(dir.path(), {"acme"});
  ASSERT_TRUE(net.sequencer().Start());
  net.sequencer().Stop();
  // A new identity in the same data folder: the stored chain was signed by another key.
  std::string seq_dir = dir.path() + "/sequencer";
  std::filesystem::rename(seq_dir + "/identity.json", seq_dir + "/identity.old");
  std::string cmd = std::string(TREATY_SEQUENCER) + " init --data " + seq_dir + " > /dev/null";
  ASSERT_EQ(std::system(cmd.c_str()), 0);
  ChildProcess again({TREATY_SEQUENCER, "--data", seq_dir, "--network", net.network_file()}, dir.path() + "/again.log");
  EXPECT_FALSE(again.Start());
  std::ifstream log(dir.path() + "/again.log");
  std::string text((std::istreambuf_iterator<char>(log)), std::istreambuf_iterator<char>());
  EXPECT_NE(text.find("is not the one"), std::string::npos) << text;

  // A network file that names the new key does not help: the stored chain
  // was signed by the old one, and a restart must not fork it.
  json id = json::parse(std::ifstream(seq_dir + "/identity.json"));
  json old_id = json::parse(std::ifstream(seq_dir + "/identity.old"));
  std::ifstream in(net.network_file());
  std::string yaml((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  auto at = yaml.find(old_id["signing_public"].get<std::string>());
  ASSERT_NE(at, std::string::npos);
  yaml.replace(at, 66, id["signing_public"].get<std::string>());
  std::string renamed = dir.path() + "/network-new-key.yaml";
  std::ofstream(renamed) << yaml;
  ChildProcess forked({TREATY_SEQUENCER, "--data", seq_dir, "--network", renamed}, dir.path() + "/forked.log");
  EXPECT_FALSE(forked.Start());
  std::ifstream log2(dir.path() + "/forked.log");
  std::string text2((std::istreambuf_iterator<char>(log2)), std::istreambuf_iterator<char>());
  EXPECT_NE(text2.find("holds a chain signed by"), std::string::npos) << text2;
}

}  // namespace
}  // namespace treaty::testing
