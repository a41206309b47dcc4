// The sequencer client checks every block before a node sees it. A fake
// sequencer (a ZeroMQ ROUTER in this process, speaking the wire format of
// docs/protocol.md) serves forged and broken chains: the seam where a
// compromised or buggy ordering service would show.
#include <gtest/gtest.h>

#include <atomic>
#include <thread>

#include <nlohmann/json.hpp>
#include <zmq.hpp>

#include "chain/block_codec.h"
#include "chain/sequencer/sequencer_ledger.h"

namespace treaty::chain {
namespace {

using json = nlohmann::json;

class FakeSequencer {
 public:
  explicit FakeSequencer(std::vector<Block> blocks) : blocks_(std::move(blocks)), sock_(ctx_, zmq::socket_type::router) {
    sock_.set(zmq::sockopt::linger, 0);
    sock_.bind("tcp://127.0.0.1:*");
    endpoint_ = sock_.get(zmq::sockopt::last_endpoint);
    thread_ = std::thread([this] { Serve(); });
  }
  ~FakeSequencer() {
    stop_ = true;
    thread_.join();
  }
  const std::string& endpoint() const { return endpoint_; }

 private:
  void Serve() {
    while (!stop_) {
      zmq::pollitem_t items[] = {{sock_.handle(), 0, ZMQ_POLLIN, 0}};
      zmq::poll(items, 1, std::chrono::milliseconds(20));
      if (!(items[0].revents & ZMQ_POLLIN)) continue;
      zmq::message_t id, body;
      (void)sock_.recv(id);
      (void)sock_.recv(body);
      json req = json::parse(body.to_string());
      json reply = {{"req", req["req"]}, {"height", blocks_.size()}, {"blocks", json::array()}};
      if (req["op"] == "read")
        for (const auto& b : blocks_)
          if (b.height >= req["from"].get<uint64_t>()) reply["blocks"].push_back(BlockToJson(b));
      std::string text = reply.dump();
      sock_.send(id, zmq::send_flags::sndmore);
      sock_.send(zmq::buffer(text));
    }
  }
  std::vector<Block> blocks_;
  zmq::context_t ctx_{1};
  zmq::socket_t sock_;
  std::string endpoint_;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

struct Keys {
  crypto::SigningKey sequencer = crypto::SigningKey::Generate().value();
  crypto::SigningKey acme = crypto::SigningKey::Generate().value();
  Network network() const {
    Network n;
    n.name = "t";
    n.members.push_back({"acme", acme.public_key(), std::string(40, 'a'), "tcp://127.0.0.1:1"});
    n.sequencer = SequencerInfo{sequencer.public_key(), "tcp://127.0.0.1:1"};
    return n;
  }
};

Batch SignedBatch(const std::string& id, const crypto::SigningKey& key, uint8_t pin_byte) {
  Batch b;
  b.id = id;
  b.author = "acme";
  Digest pin{};
  pin[0] = pin_byte;
  b.pins.push_back(pin);
  b.signature = crypto::Hex(key.Sign(BatchDigest(b)));
  return b;
}

// A chain of `n` blocks, each with one signed batch, signed by `signer`.
std::vector<Block> Chain(int n, const Keys& k, const crypto::SigningKey& signer) {
  std::vector<Block> out;
  Digest prev{};
  for (int h = 1; h <= n; ++h) {
    Block b;
    b.height = h;
    b.time_ms = 1000 + h;
    b.prev_hash = prev;
    b.batches.push_back(SignedBatch("b" + std::to_string(h), k.acme, static_cast<uint8_t>(h)));
    b.hash = BlockHash(b);
    b.signature = crypto::Hex(signer.Sign(b.hash));
    prev = b.hash;
    out.push_back(b);
  }
  return out;
}

std::unique_ptr<SequencerLedger> Client(const FakeSequencer& f, const Keys& k) {
  return SequencerLedger::Connect(f.endpoint(), k.network(), &k.acme).value();
}

TEST(SequencerLedger, AcceptsASignedLinkedChain) {
  Keys k;
  FakeSequencer f(Chain(3, k, k.sequencer));
  auto l = Client(f, k);
  EXPECT_EQ(l->WaitForHeight(0, std::chrono::milliseconds(500)), 3u);
  auto blocks = l->Read(1, 10).value();
  ASSERT_EQ(blocks.size(), 3u);
  EXPECT_EQ(blocks[2].prev_hash, blocks[1].hash);
  EXPECT_EQ(blocks[0].batches[0].pins.size(), 1u);
}

TEST(SequencerLedger, RefusesBlocksNotSignedByTheNetworksSequencer) {
  Keys k;
  auto impostor = crypto::SigningKey::Generate().value();
  FakeSequencer f(Chain(2, k, impostor));
  auto l = Client(f, k);
  EXPECT_EQ(l->WaitForHeight(0, std::chrono::milliseconds(300)), 0u);
  EXPECT_EQ(l->Read(1, 10).status().code(), StatusCode::kDataLoss);
}

TEST(SequencerLedger, RefusesATamperedOrUnlinkedBlock) {
  Keys k;
  auto chain = Chain(3, k, k.sequencer);
  // A pin changed after signing: the hash no longer matches.
  auto tampered = chain;
  tampered[1].batches[0].pins[0][5] ^= 1;
  {
    FakeSequencer f(tampered);
    auto l = Client(f, k);
    auto r = l->Read(1, 10);
    ASSERT_FALSE(r.ok());
    EXPECT_NE(r.status().message().find("wrong hash"), std::string::npos) << r.status().message();
  }
  // A correctly signed block that does not follow its predecessor.
  auto forked = chain;
  forked[2].prev_hash[0] ^= 1;
  forked[2].hash = BlockHash(forked[2]);
  forked[2].signature = crypto::Hex(k.sequencer.Sign(forked[2].hash));
  {
    FakeSequencer f(forked);
    auto l = Client(f, k);
    auto r = l->Read(1, 10);
    ASSERT_FALSE(r.ok());
    EXPECT_NE(r.status().message().find("does not link"), std::string::npos) << r.status().message();
  }
}

TEST(SequencerLedger, AfterARestartTheNextBlockMustLinkToTheLastOneApplied) {
  Keys k;
  auto chain = Chain(3, k, k.sequencer);
  FakeSequencer f(chain);
  auto good = Client(f, k);
  good->TrustFrom(2, chain[1].hash);
  EXPECT_EQ(good->Read(3, 10).value().size(), 1u);
  // A node that applied another block 2 is not served this history.
  auto other = Client(f, k);
  Digest elsewhere = chain[1].hash;
  elsewhere[0] ^= 1;
  other->TrustFrom(2, elsewhere);
  auto r = other->Read(3, 10);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("does not link"), std::string::npos) << r.status().message();
}

TEST(SequencerLedger, IgnoresTheirPinsWhenABatchIsNotItsAuthors) {
  Keys k;
  auto chain = Chain(1, k, k.sequencer);
  auto forger = crypto::SigningKey::Generate().value();
  chain[0].batches.push_back(SignedBatch("forged", forger, 9));
  chain[0].hash = BlockHash(chain[0]);
  chain[0].signature = crypto::Hex(k.sequencer.Sign(chain[0].hash));
  FakeSequencer f(chain);
  auto l = Client(f, k);
  auto blocks = l->Read(1, 10).value();
  ASSERT_EQ(blocks.size(), 1u);
  ASSERT_EQ(blocks[0].batches.size(), 2u);
  EXPECT_EQ(blocks[0].batches[0].pins.size(), 1u);
  EXPECT_TRUE(blocks[0].batches[1].pins.empty()) << "a forged batch's pins reach no node";
}

TEST(BlockCodec, RoundTripsAndRefusesMalformedBatches) {
  Keys k;
  Block b = Chain(1, k, k.sequencer)[0];
  Block back = BlockFromJson(BlockToJson(b)).value();
  EXPECT_EQ(back.hash, b.hash);
  EXPECT_EQ(BlockHash(back), b.hash);
  EXPECT_EQ(back.batches[0].signature, b.batches[0].signature);
  EXPECT_EQ(BatchFromJson(json{{"id", ""}, {"author", "a"}, {"pins", json::array()}}).status().code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(BatchFromJson(json{{"id", "x"}, {"author", "a"}, {"pins", json::array({"zz"})}}).status().code(),
            StatusCode::kInvalidArgument);
  json many = json::array();
  for (size_t i = 0; i <= kMaxPinsPerBatch; ++i) many.push_back(std::string(64, '0'));
  EXPECT_EQ(BatchFromJson(json{{"id", "x"}, {"author", "a"}, {"pins", many}}).status().code(),
            StatusCode::kResourceExhausted);
}

}  // namespace
}  // namespace treaty::chain
