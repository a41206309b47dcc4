// JsonRpcClient and EthApi against answers no real node gives: a fake node
// (json_rpc_fake_node.py, a Python http.server started and stopped by PID
// on 127.0.0.1) answers per path with what is not JSON, not JSON-RPC, the
// wrong id, a batch short of an answer, HTTP 500, too many bytes, nothing
// at all. Each is an error of the documented code naming the URL and the
// method, never a crash; and a batch answered out of order is matched by id.
#include <gtest/gtest.h>

#include <chrono>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "../child_process.h"
#include "chain/ethereum/eth_api.h"
#include "chain/ethereum/json_rpc.h"

namespace treaty::chain::eth {
namespace {

using nlohmann::json;
using testing::ChildProcess;
using testing::FreePort;
using testing::TempDir;

bool Contains(const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; }

class FakeNodeTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new TempDir();
    port_ = FreePort();
    ASSERT_NE(port_, 0);
    server_ = new ChildProcess({"/usr/bin/python3",
                                std::string(TREATY_SOURCE_DIR) + "/tests/integration/ethereum/json_rpc_fake_node.py",
                                "--port", std::to_string(port_)},
                               dir_->path() + "/fake_node.log");
    ASSERT_TRUE(server_->Launch());
    JsonRpcClient probe(Url("/echo"), std::chrono::milliseconds(500));
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(15);
    while (!probe.Call("probe").ok()) {
      ASSERT_FALSE(server_->Exited()) << "the fake node exited";
      ASSERT_LT(std::chrono::steady_clock::now(), deadline) << "the fake node did not answer";
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
  }
  static void TearDownTestSuite() {
    server_->Stop();
    delete server_;
    delete dir_;
  }
  static std::string Url(const std::string& path) { return "http://127.0.0.1:" + std::to_string(port_) + path; }

  static inline TempDir* dir_ = nullptr;
  static inline ChildProcess* server_ = nullptr;
  static inline int port_ = 0;
};

TEST_F(FakeNodeTest, CallReturnsTheResult) {
  JsonRpcClient rpc(Url("/echo"));
  auto r = rpc.Call("eth_whatever", json::array({1, "two"}));
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(*r, json::array({1, "two"}));
}

TEST_F(FakeNodeTest, BatchAnswersAreMatchedByIdNotPosition) {
  JsonRpcClient rpc(Url("/echo"));  // answers a batch in reverse order
  std::vector<RpcCall> calls;
  for (int i = 0; i < 5; ++i) calls.push_back({"m" + std::to_string(i), json::array({i})});
  auto r = rpc.Batch(calls);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  ASSERT_EQ(r->size(), 5u);
  for (int i = 0; i < 5; ++i) EXPECT_EQ((*r)[static_cast<size_t>(i)], json::array({i}));
  auto empty = rpc.Batch({});
  ASSERT_TRUE(empty.ok());
  EXPECT_TRUE(empty->empty());
}

TEST_F(FakeNodeTest, ConcurrentCallsEachGetTheirOwnAnswer) {
  JsonRpcClient rpc(Url("/echo"));
  std::vector<std::thread> threads;
  std::atomic<int> wrong{0};
  for (int t = 0; t < 6; ++t)
    threads.emplace_back([&, t] {
      for (int i = 0; i < 30; ++i) {
        auto r = rpc.Call("m", json::array({t, i}));
        if (!r.ok() || *r != json::array({t, i})) ++wrong;
      }
    });
  for (auto& th : threads) th.join();
  EXPECT_EQ(wrong.load(), 0);
}

struct BadAnswer {
  std::string path;
  StatusCode code;
  std::string says;
};

TEST_F(FakeNodeTest, MalformedAnswersAreErrorsOfTheDocumentedCode) {
  const std::vector<BadAnswer> cases = {
      {"/notjson", StatusCode::kDataLoss, "not JSON"},
      {"/noresult", StatusCode::kDataLoss, "neither result nor error"},
      {"/noversion", StatusCode::kDataLoss, "2.0"},
      {"/wrongid", StatusCode::kDataLoss, "id"},
      {"/http500", StatusCode::kUnavailable, "HTTP status 500"},
      {"/http400-rpc", StatusCode::kInvalidArgument, "-32600"},
      {"/error/-32601", StatusCode::kUnimplemented, "-32601: fake failure"},
      {"/error/-32602", StatusCode::kInvalidArgument, "-32602: fake failure"},
      {"/error/-32000", StatusCode::kFailedPrecondition, "-32000: fake failure"},
      {"/malformed-error", StatusCode::kDataLoss, "malformed error object"},
      {"/nosuchpath", StatusCode::kUnavailable, "HTTP status 404"},
  };
  for (const auto& c : cases) {
    JsonRpcClient rpc(Url(c.path));
    auto r = rpc.Call("eth_blockNumber");
    ASSERT_FALSE(r.ok()) << c.path;
    EXPECT_EQ(r.status().code(), c.code) << c.path << ": " << r.status().ToString();
    EXPECT_TRUE(Contains(r.status().message(), c.says)) << c.path << ": " << r.status().message();
    EXPECT_TRUE(Contains(r.status().message(), Url(c.path))) << r.status().message();
    EXPECT_TRUE(Contains(r.status().message(), "eth_blockNumber")) << r.status().message();
  }
}

TEST_F(FakeNodeTest, MalformedBatchAnswersAreDataLoss) {
  const std::vector<RpcCall> calls = {{"eth_chainId", json::array()}, {"eth_blockNumber", json::array()}};
  for (const auto& [path, says] : std::vector<std::pair<std::string, std::string>>{
           {"/batch-missing", "eth_blockNumber (call 1 of a batch)"},
           {"/batch-duplicate", "twice"},
           {"/batch-object", "not an array"},
           {"/wrongid", "not one of the request's"},
           {"/noresult", "neither result nor error"}}) {
    JsonRpcClient rpc(Url(path));
    auto r = rpc.Batch(calls);
    ASSERT_FALSE(r.ok()) << path;
    EXPECT_EQ(r.status().code(), StatusCode::kDataLoss) << path << ": " << r.status().ToString();
    EXPECT_TRUE(Contains(r.status().message(), says)) << path << ": " << r.status().message();
    EXPECT_TRUE(Contains(r.status().message(), Url(path))) << r.status().message();
  }
  // A node error on one call fails the batch with that call's mapping.
  JsonRpcClient failing(Url("/error/-32000"));
  auto r = failing.Batch(calls);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_TRUE(Contains(r.status().message(), "eth_chainId")) << r.status().message();
}

TEST_F(FakeNodeTest, AnAnswerOverTheCapIsUnavailable) {
  const size_t cap = 1 << 20;
  for (const std::string kind : {"/big/", "/bigchunked/"}) {
    JsonRpcClient rpc(Url(kind + "2000000"), std::chrono::milliseconds(5000), cap);
    auto r = rpc.Call("eth_getLogs");
    ASSERT_FALSE(r.ok()) << kind;
    EXPECT_EQ(r.status().code(), StatusCode::kUnavailable) << r.status().ToString();
    EXPECT_TRUE(Contains(r.status().message(), "larger than 1048576 bytes")) << r.status().message();
    // Under the cap, the same answer is fine.
    JsonRpcClient small(Url(kind + "500000"), std::chrono::milliseconds(5000), cap);
    auto ok = small.Call("eth_getLogs");
    ASSERT_TRUE(ok.ok()) << kind << ": " << ok.status().ToString();
    EXPECT_EQ(ok->get<std::string>().size(), 2u + 500000u);
  }
}

TEST_F(FakeNodeTest, ANodeThatDoesNotAnswerTimesOut) {
  JsonRpcClient rpc(Url("/hang"), std::chrono::milliseconds(500));
  auto start = std::chrono::steady_clock::now();
  auto r = rpc.Call("eth_blockNumber");
  auto took = std::chrono::steady_clock::now() - start;
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kUnavailable) << r.status().ToString();
  EXPECT_TRUE(Contains(r.status().message(), "no answer within 500 ms")) << r.status().message();
  EXPECT_LT(took, std::chrono::seconds(3));
}

TEST_F(FakeNodeTest, EthApiRefusesMalformedFieldsNamingTheMethod) {
  auto at = [&](const json& result) {
    std::string enc;
    for (char c : result.dump()) {
      static const char* kHex = "0123456789ABCDEF";
      enc += '%';
      enc += kHex[static_cast<unsigned char>(c) >> 4];
      enc += kHex[c & 15];
    }
    return std::make_unique<JsonRpcClient>(Url("/result/" + enc));
  };
  for (const json& bad : {json("0x"), json("12"), json("0x1g"), json("0x10000000000000000"), json(5), json(nullptr)}) {
    auto rpc = at(bad);
    auto r = EthApi(rpc.get()).BlockNumber();
    ASSERT_FALSE(r.ok()) << bad.dump();
    EXPECT_EQ(r.status().code(), StatusCode::kDataLoss) << bad.dump();
    EXPECT_TRUE(Contains(r.status().message(), "eth_blockNumber")) << r.status().message();
  }
  {
    auto rpc = at(json("0x1"));  // a good answer, to show the path works
    auto r = EthApi(rpc.get()).BlockNumber();
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    EXPECT_EQ(*r, 1u);
  }
  const std::string h32 = "0x" + std::string(64, 'a');
  {
    auto rpc = at(nullptr);  // every block unknown
    auto r = EthApi(rpc.get()).Headers(5, 6);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.status().code(), StatusCode::kNotFound) << r.status().ToString();
    EXPECT_TRUE(Contains(r.status().message(), "block 5")) << r.status().message();
  }
  {
    auto rpc = at(json{{"number", "0x5"}, {"hash", h32}, {"parentHash", "0xabc"}, {"timestamp", "0x1"}});
    auto r = EthApi(rpc.get()).Headers(5, 5);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.status().code(), StatusCode::kDataLoss);
    EXPECT_TRUE(Contains(r.status().message(), "parentHash")) << r.status().message();
    EXPECT_TRUE(Contains(r.status().message(), "eth_getBlockByNumber")) << r.status().message();
  }
  {
    // A well-formed header of another block than the one asked for.
    auto rpc = at(json{{"number", "0x7"}, {"hash", h32}, {"parentHash", h32}, {"timestamp", "0x1"}});
    auto r = EthApi(rpc.get()).Headers(5, 5);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.status().code(), StatusCode::kDataLoss) << r.status().ToString();
  }
  {
    // The node names a hash that is not the transaction's keccak.
    auto rpc = at(json(h32));
    auto r = EthApi(rpc.get()).SendRawTransaction("\x01\x02");
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.status().code(), StatusCode::kDataLoss);
  }
  {
    // A log outside the filter asked for.
    json log = {{"address", "0x" + std::string(40, 'b')}, {"topics", json::array({h32})}, {"data", "0x"},
                {"blockNumber", "0x5"}, {"blockHash", h32}, {"transactionHash", h32}, {"transactionIndex", "0x0"},
                {"logIndex", "0x0"}, {"removed", false}};
    auto rpc = at(json::array({log}));
    Hash256 topic;
    topic.fill(0xaa);
    auto ok = EthApi(rpc.get()).Logs(std::string(20, '\xbb'), topic, 1, 9);
    ASSERT_TRUE(ok.ok()) << ok.status().ToString();
    ASSERT_EQ(ok->size(), 1u);
    EXPECT_EQ((*ok)[0].block_number, 5u);
    auto other_address = EthApi(rpc.get()).Logs(std::string(20, '\xcc'), topic, 1, 9);
    EXPECT_EQ(other_address.status().code(), StatusCode::kDataLoss);
    auto other_range = EthApi(rpc.get()).Logs(std::string(20, '\xbb'), topic, 6, 9);
    EXPECT_EQ(other_range.status().code(), StatusCode::kDataLoss);
    auto bad_address = EthApi(rpc.get()).Logs("short", topic, 1, 9);
    EXPECT_EQ(bad_address.status().code(), StatusCode::kInvalidArgument);
  }
  {
    auto rpc = at(json{{"transactionHash", h32}, {"blockNumber", "0x5"}, {"blockHash", h32}, {"status", "0x2"},
                       {"gasUsed", "0x5208"}, {"effectiveGasPrice", "0x1"}});
    Hash256 h;
    h.fill(0xaa);
    auto r = EthApi(rpc.get()).TransactionReceipt(h);
    ASSERT_FALSE(r.ok());
    EXPECT_TRUE(Contains(r.status().message(), "status")) << r.status().message();
    Hash256 other{};
    auto wrong = EthApi(rpc.get()).TransactionReceipt(other);
    EXPECT_EQ(wrong.status().code(), StatusCode::kDataLoss);
  }
}

TEST_F(FakeNodeTest, ARevertCarriesTheDecodedReason) {
  JsonRpcClient rpc(Url("/revert"));
  auto r = EthApi(&rpc).EstimateGas(std::string(20, '\x01'), std::string(20, '\x02'), "\x12\x34");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_TRUE(Contains(r.status().message(), "execution reverted: not a member")) << r.status().message();
  EXPECT_TRUE(Contains(r.status().message(), "(revert reason: \"not a member\")")) << r.status().message();
  RpcError err;
  auto raw = rpc.Call("eth_call", json::array(), &err);
  ASSERT_FALSE(raw.ok());
  EXPECT_EQ(err.code, 3);
  EXPECT_TRUE(err.data.is_string());
}

TEST(JsonRpcClient, ARefusedConnectionIsUnavailableNamingTheUrl) {
  const std::string url = "http://127.0.0.1:" + std::to_string(FreePort());
  JsonRpcClient rpc(url, std::chrono::milliseconds(1000));
  auto r = rpc.Call("eth_chainId");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kUnavailable) << r.status().ToString();
  EXPECT_TRUE(Contains(r.status().message(), url)) << r.status().message();
  auto b = rpc.Batch({{"eth_chainId", json::array()}});
  EXPECT_EQ(b.status().code(), StatusCode::kUnavailable);
}

TEST(JsonRpcClient, AnUnusableUrlIsInvalidArgument) {
  for (const std::string url : {"ftp://127.0.0.1:1/", "file:///etc/passwd", "http://[::1"}) {
    JsonRpcClient rpc(url);
    auto r = rpc.Call("eth_chainId");
    ASSERT_FALSE(r.ok()) << url;
    EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument) << url << ": " << r.status().ToString();
  }
}

}  // namespace
}  // namespace treaty::chain::eth
