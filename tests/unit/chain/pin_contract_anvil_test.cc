// The compiled TreatyPins contract on a real anvil (the npm one the build
// installed, TREATY_ANVIL; instant mining on 127.0.0.1, stopped by PID):
// deployed by a raw signed legacy transaction, it lists its members, turns
// a member's pinBatch into a BatchPin log that PinContract decodes back
// exactly, accepts an empty batch (a tick), and reverts a non-member's
// batch even though the non-member's account can pay for it.
//
// JSON-RPC goes through libcurl and nlohmann-json in a test-local helper,
// so this test does not depend on the ledger's own client.
#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <curl/curl.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <random>
#include <string>
#include <thread>

#include <nlohmann/json.hpp>

#include "chain/ethereum/pin_contract.h"
#include "chain/ethereum/transaction.h"
#include "definitions/base/sha256.h"

namespace treaty::chain::eth {
namespace {

using nlohmann::json;

// anvil's first three dev accounts (its well-known test mnemonic): the
// first two are the members, the third is funded but not a member.
const char* kDevKeys[] = {"ac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80",
                          "59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d",
                          "5de4111afa1a4b94908f83103eb1f1706367c2e68ca870fc3fb9a804cdab365a"};

std::string Hex0x(std::string_view b) { return "0x" + ToHex(reinterpret_cast<const uint8_t*>(b.data()), b.size()); }
std::string Hex0x(const Hash256& h) { return "0x" + ToHex(h.data(), h.size()); }
std::string Bytes(const json& v) {
  std::string s = v.get<std::string>(), out;
  EXPECT_EQ(s.rfind("0x", 0), 0u) << s;
  EXPECT_TRUE(FromHex(s.substr(2), &out)) << s;
  return out;
}
Hash256 Word(const json& v) {
  std::string b = Bytes(v);
  Hash256 h{};
  EXPECT_EQ(b.size(), 32u);
  std::copy_n(b.begin(), std::min<size_t>(b.size(), 32), h.begin());
  return h;
}
uint64_t Quantity(const json& v) { return std::stoull(v.get<std::string>(), nullptr, 16); }
Hash256 Filled(uint8_t b) {
  Hash256 h;
  h.fill(b);
  return h;
}

int FreePort() {
  // Below the ephemeral range, random, and probed (as the integration
  // harness picks its ports).
  std::mt19937 pick(std::random_device{}() ^ static_cast<unsigned>(getpid()));
  for (int attempt = 0; attempt < 200; ++attempt) {
    int port = 20000 + static_cast<int>(pick() % 12000);
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = htons(static_cast<uint16_t>(port));
    bool free = bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
    close(fd);
    if (free) return port;
  }
  return -1;
}

size_t Collect(char* data, size_t size, size_t n, void* out) {
  static_cast<std::string*>(out)->append(data, size * n);
  return size * n;
}

// One JSON-RPC call over HTTP; a JSON-RPC error is FailedPrecondition with
// the node's message and data (a revert's reason is in them).
Result<json> Rpc(const std::string& url, const std::string& method, json params) {
  static int next_id = 1;
  const int id = next_id++;
  const std::string body = json{{"jsonrpc", "2.0"}, {"id", id}, {"method", method}, {"params", std::move(params)}}.dump();
  std::string answer;
  CURL* curl = curl_easy_init();
  curl_slist* headers = curl_slist_append(nullptr, "Content-Type: application/json");
  curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
  curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
  curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body.c_str());
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, Collect);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, &answer);
  curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, 10000L);
  CURLcode rc = curl_easy_perform(curl);
  curl_slist_free_all(headers);
  curl_easy_cleanup(curl);
  if (rc != CURLE_OK) return Status::Unavailable(method + ": " + curl_easy_strerror(rc));
  json reply = json::parse(answer, nullptr, false);
  if (reply.is_discarded() || !reply.is_object() || reply.value("id", -1) != id)
    return Status::DataLoss(method + ": not a JSON-RPC answer: " + answer);
  if (reply.contains("error")) return Status::FailedPrecondition(method + ": " + reply["error"].dump());
  if (!reply.contains("result")) return Status::DataLoss(method + ": no result: " + answer);
  return reply["result"];
}

class AnvilTest : public ::testing::Test {
 protected:
  void SetUp() override {
    int port = FreePort();
    ASSERT_GT(port, 0);
    url_ = "http://127.0.0.1:" + std::to_string(port);
    pid_ = fork();
    ASSERT_GE(pid_, 0);
    if (pid_ == 0) {
      prctl(PR_SET_PDEATHSIG, SIGKILL);  // never outlive a crashed test
      int devnull = open("/dev/null", O_WRONLY);
      dup2(devnull, 1);
      dup2(devnull, 2);
      std::string p = std::to_string(port);
      execl(TREATY_ANVIL, TREATY_ANVIL, "--host", "127.0.0.1", "--port", p.c_str(), "--silent",
            static_cast<char*>(nullptr));
      _exit(127);
    }
    for (int i = 0; i < 200; ++i) {
      int status = 0;
      ASSERT_EQ(waitpid(pid_, &status, WNOHANG), 0) << "anvil exited (" << TREATY_ANVIL << ")";
      Result<json> id = Rpc(url_, "eth_chainId", json::array());
      if (id.ok()) {
        chain_id_ = Quantity(*id);
        break;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    ASSERT_NE(chain_id_, 0u) << "anvil did not answer on " << url_;
    for (const char* hex : kDevKeys) {
      std::string raw;
      ASSERT_TRUE(FromHex(hex, &raw));
      Secret s;
      std::copy(raw.begin(), raw.end(), s.begin());
      keys_.push_back(s);
      Result<std::string> a = AddressOf(s);
      ASSERT_TRUE(a.ok());
      addresses_.push_back(*a);
    }
    Result<const PinContract*> c = PinContract::Get();
    ASSERT_TRUE(c.ok()) << c.status().message();
    contract_ = *c;
  }

  void TearDown() override {
    if (pid_ <= 0) return;
    kill(pid_, SIGTERM);
    for (int i = 0; i < 100; ++i) {
      if (waitpid(pid_, nullptr, WNOHANG) == pid_) return;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    kill(pid_, SIGKILL);
    waitpid(pid_, nullptr, 0);
  }

  Result<json> Call(const std::string& method, json params) { return Rpc(url_, method, std::move(params)); }

  // Signs and sends a legacy transaction from dev account `from`; returns
  // its receipt (anvil mines it at once).
  json Send(int from, const std::string& to, const std::string& data, uint64_t gas_limit) {
    Result<json> nonce = Call("eth_getTransactionCount", {Hex0x(addresses_[from]), "pending"});
    Result<json> price = Call("eth_gasPrice", json::array());
    EXPECT_TRUE(nonce.ok() && price.ok());
    LegacyTransaction tx;
    tx.nonce = Quantity(*nonce);
    tx.gas_price = U256Of(Quantity(*price));
    tx.gas_limit = gas_limit;
    tx.to = to;
    tx.data = data;
    tx.chain_id = chain_id_;
    Result<std::string> raw = SignLegacy(tx, keys_[from]);
    EXPECT_TRUE(raw.ok());
    Result<json> hash = Call("eth_sendRawTransaction", {Hex0x(*raw)});
    EXPECT_TRUE(hash.ok()) << hash.status().message();
    if (!hash.ok()) return json();
    for (int i = 0; i < 100; ++i) {
      Result<json> receipt = Call("eth_getTransactionReceipt", {*hash});
      EXPECT_TRUE(receipt.ok()) << receipt.status().message();
      if (receipt.ok() && !receipt->is_null()) return *receipt;
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    ADD_FAILURE() << "no receipt for " << hash->dump();
    return json();
  }

  // The deployed contract's address, members = dev accounts 0 and 1.
  std::string Deploy() {
    Result<std::string> data = contract_->DeployData({addresses_[0], addresses_[1]});
    EXPECT_TRUE(data.ok());
    json receipt = Send(0, "", *data, 2'000'000);
    EXPECT_EQ(receipt.value("status", ""), "0x1") << receipt.dump();
    return receipt.contains("contractAddress") ? Bytes(receipt["contractAddress"]) : std::string();
  }

  // eth_estimateGas of a call from dev account `from`: the error message if
  // it reverts, "" if it would succeed.
  std::string EstimateError(int from, const std::string& to, const std::string& data) {
    json call = {{"from", Hex0x(addresses_[from])}, {"data", Hex0x(data)}};
    if (!to.empty()) call["to"] = Hex0x(to);
    Result<json> gas = Call("eth_estimateGas", {call});
    return gas.ok() ? "" : gas.status().message();
  }

  std::vector<json> PinLogs(const std::string& address) {
    Result<json> logs = Call("eth_getLogs", {{{"address", Hex0x(address)},
                                              {"topics", {Hex0x(contract_->batch_pin_topic())}},
                                              {"fromBlock", "0x0"},
                                              {"toBlock", "latest"}}});
    EXPECT_TRUE(logs.ok()) << logs.status().message();
    return logs.ok() ? logs->get<std::vector<json>>() : std::vector<json>{};
  }

  Result<BatchPinEvent> Decode(const json& log) {
    std::vector<Hash256> topics;
    for (const json& t : log["topics"]) topics.push_back(Word(t));
    return contract_->DecodeBatchPin(topics, Bytes(log["data"]));
  }

  std::string url_;
  pid_t pid_ = -1;
  uint64_t chain_id_ = 0;
  std::vector<Secret> keys_;
  std::vector<std::string> addresses_;
  const PinContract* contract_ = nullptr;
};

TEST_F(AnvilTest, TheDevAccountsAreTheWellKnownOnes) {
  EXPECT_EQ(Hex0x(addresses_[0]), "0xf39fd6e51aad88f6f4ce6ab8827279cfffb92266");
  EXPECT_EQ(Hex0x(addresses_[1]), "0x70997970c51812dc3a010c7d01b50e0d17dc79c8");
  EXPECT_EQ(chain_id_, 31337u);
}

TEST_F(AnvilTest, MembersAreTheDeployedOnes) {
  std::string address = Deploy();
  ASSERT_EQ(address.size(), 20u);
  Result<json> returned =
      Call("eth_call", {{{"to", Hex0x(address)}, {"data", Hex0x(contract_->MembersCall())}}, "latest"});
  ASSERT_TRUE(returned.ok()) << returned.status().message();
  Result<std::vector<std::string>> members = contract_->DecodeMembers(Bytes(*returned));
  ASSERT_TRUE(members.ok()) << members.status().message();
  EXPECT_EQ(*members, (std::vector<std::string>{addresses_[0], addresses_[1]}));
}

TEST_F(AnvilTest, AMembersBatchIsABatchPinLogThatDecodesExactly) {
  std::string address = Deploy();
  ASSERT_EQ(address.size(), 20u);
  std::vector<Hash256> pins = {Filled(0x11), Filled(0x22), Filled(0x33)};
  // Sent by the second member, so the author is the sender, not the deployer.
  json receipt = Send(1, address, contract_->PinBatchCall(Filled(0xab), "batch/7", pins), 500'000);
  ASSERT_EQ(receipt.value("status", ""), "0x1") << receipt.dump();
  Result<json> block = Call("eth_getBlockByNumber", {receipt["blockNumber"], false});
  ASSERT_TRUE(block.ok());

  std::vector<json> logs = PinLogs(address);
  ASSERT_EQ(logs.size(), 1u);
  Result<BatchPinEvent> e = Decode(logs[0]);
  ASSERT_TRUE(e.ok()) << e.status().message();
  EXPECT_EQ(e->author, addresses_[1]);
  EXPECT_EQ(e->timestamp, Quantity((*block)["timestamp"]));
  EXPECT_EQ(e->batch_hash, Filled(0xab));
  EXPECT_EQ(e->batch_ref, "batch/7");
  EXPECT_EQ(e->pins, pins);

  // A tick: no pins, still a log, at a later or equal time.
  receipt = Send(0, address, contract_->PinBatchCall(Filled(0), "", {}), 500'000);
  ASSERT_EQ(receipt.value("status", ""), "0x1") << receipt.dump();
  logs = PinLogs(address);
  ASSERT_EQ(logs.size(), 2u);
  Result<BatchPinEvent> tick = Decode(logs[1]);
  ASSERT_TRUE(tick.ok()) << tick.status().message();
  EXPECT_EQ(tick->author, addresses_[0]);
  EXPECT_TRUE(tick->pins.empty());
  EXPECT_GE(tick->timestamp, e->timestamp);
}

TEST_F(AnvilTest, ANonMembersBatchReverts) {
  std::string address = Deploy();
  ASSERT_EQ(address.size(), 20u);
  std::string call = contract_->PinBatchCall(Filled(1), "r", {Filled(2)});
  // The node refuses to estimate it, with the contract's reason...
  EXPECT_NE(EstimateError(2, address, call).find("TreatyPins: sender is not a member"), std::string::npos)
      << EstimateError(2, address, call);
  EXPECT_EQ(EstimateError(0, address, call), "");
  // ...and sent anyway, with gas the account pays for, it is mined as a
  // failure that leaves no log.
  json receipt = Send(2, address, call, 500'000);
  EXPECT_EQ(receipt.value("status", ""), "0x0") << receipt.dump();
  EXPECT_TRUE(receipt["logs"].empty());
  EXPECT_TRUE(PinLogs(address).empty());
}

TEST_F(AnvilTest, TheContractEnforcesItsLimitsAndAValidMemberList) {
  std::string address = Deploy();
  ASSERT_EQ(address.size(), 20u);
  EXPECT_NE(EstimateError(0, address, contract_->PinBatchCall(Filled(1), std::string(129, 'r'), {}))
                .find("TreatyPins: batchRef too long"),
            std::string::npos);
  EXPECT_EQ(EstimateError(0, address, contract_->PinBatchCall(Filled(1), std::string(128, 'r'), {})), "");
  std::vector<Hash256> too_many(PinContract::kMaxPins + 1, Filled(3));
  EXPECT_NE(EstimateError(0, address, contract_->PinBatchCall(Filled(1), "r", too_many))
                .find("TreatyPins: too many pins"),
            std::string::npos);
  too_many.pop_back();
  EXPECT_EQ(EstimateError(0, address, contract_->PinBatchCall(Filled(1), "r", too_many)), "");

  EXPECT_NE(EstimateError(0, "", *contract_->DeployData({addresses_[0], addresses_[0]}))
                .find("TreatyPins: duplicate member"),
            std::string::npos);
  EXPECT_NE(EstimateError(0, "", *contract_->DeployData({addresses_[0], std::string(20, '\0')}))
                .find("TreatyPins: zero address member"),
            std::string::npos);
}

}  // namespace
}  // namespace treaty::chain::eth
