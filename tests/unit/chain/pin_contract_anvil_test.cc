// The compiled TreatyPins contract on a real anvil (the npm one the build
// installed, TREATY_ANVIL; instant mining on 127.0.0.1, stopped by PID):
// deployed by a raw signed legacy transaction, it lists its members, turns
// a member's pinBatch into a BatchPin log that PinContract decodes back
// exactly, accepts an empty batch (a tick), and reverts a non-member's
// batch even though the non-member's account can pay for it.
//
// The node is reached through EthApi (chain/ethereum/eth_api.h), the
// client the ledger uses.
#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <thread>

#include "chain/ethereum/eth_api.h"
#include "chain/ethereum/json_rpc.h"
#include "chain/ethereum/pin_contract.h"
#include "chain/ethereum/transaction.h"
#include "definitions/base/sha256.h"

namespace treaty::chain::eth {
namespace {

// anvil's first three dev accounts (its well-known test mnemonic): the
// first two are the members, the third is funded but not a member.
const char* kDevKeys[] = {"ac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80",
                          "59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d",
                          "5de4111afa1a4b94908f83103eb1f1706367c2e68ca870fc3fb9a804cdab365a"};

std::string Hex0x(std::string_view b) { return "0x" + ToHex(reinterpret_cast<const uint8_t*>(b.data()), b.size()); }
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
    rpc_ = std::make_unique<JsonRpcClient>(url_);
    api_ = std::make_unique<EthApi>(rpc_.get());
    for (int i = 0; i < 200 && chain_id_ == 0; ++i) {
      int status = 0;
      ASSERT_EQ(waitpid(pid_, &status, WNOHANG), 0) << "anvil exited (" << TREATY_ANVIL << ")";
      Result<uint64_t> id = api_->ChainId();
      if (id.ok()) chain_id_ = *id;
      else std::this_thread::sleep_for(std::chrono::milliseconds(50));
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

  // Signs and sends a legacy transaction from dev account `from`; returns
  // its receipt (anvil mines it at once).
  Receipt Send(int from, const std::string& to, const std::string& data, uint64_t gas_limit) {
    Result<uint64_t> nonce = api_->TransactionCount(addresses_[from], "pending");
    Result<U256> price = api_->GasPrice();
    EXPECT_TRUE(nonce.ok() && price.ok());
    if (!nonce.ok() || !price.ok()) return {};
    LegacyTransaction tx;
    tx.nonce = *nonce;
    tx.gas_price = *price;
    tx.gas_limit = gas_limit;
    tx.to = to;
    tx.data = data;
    tx.chain_id = chain_id_;
    Result<std::string> raw = SignLegacy(tx, keys_[from]);
    EXPECT_TRUE(raw.ok());
    Result<Hash256> hash = api_->SendRawTransaction(*raw);
    EXPECT_TRUE(hash.ok()) << hash.status().message();
    if (!hash.ok()) return {};
    for (int i = 0; i < 100; ++i) {
      Result<std::optional<Receipt>> receipt = api_->TransactionReceipt(*hash);
      EXPECT_TRUE(receipt.ok()) << receipt.status().message();
      if (receipt.ok() && receipt->has_value()) return **receipt;
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    ADD_FAILURE() << "no receipt for the transaction";
    return {};
  }

  // The deployed contract's address, members = dev accounts 0 and 1.
  std::string Deploy() {
    Result<std::string> data = contract_->DeployData({addresses_[0], addresses_[1]});
    EXPECT_TRUE(data.ok());
    Receipt receipt = Send(0, "", *data, 2'000'000);
    EXPECT_TRUE(receipt.success);
    return receipt.contract_address;
  }

  // eth_estimateGas of a call from dev account `from`: the error message if
  // it reverts, "" if it would succeed.
  std::string EstimateError(int from, const std::string& to, const std::string& data) {
    Result<uint64_t> gas = api_->EstimateGas(addresses_[from], to, data);
    return gas.ok() ? "" : gas.status().message();
  }

  std::vector<LogEntry> PinLogs(const std::string& address) {
    Result<uint64_t> head = api_->BlockNumber();
    EXPECT_TRUE(head.ok());
    Result<std::vector<LogEntry>> logs = api_->Logs(address, contract_->batch_pin_topic(), 0, head.ok() ? *head : 0);
    EXPECT_TRUE(logs.ok()) << logs.status().message();
    return logs.ok() ? *logs : std::vector<LogEntry>{};
  }

  Result<BatchPinEvent> Decode(const LogEntry& log) { return contract_->DecodeBatchPin(log.topics, log.data); }

  std::string url_;
  std::unique_ptr<JsonRpcClient> rpc_;
  std::unique_ptr<EthApi> api_;
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
  Result<std::string> returned = api_->CallContract(address, contract_->MembersCall());
  ASSERT_TRUE(returned.ok()) << returned.status().message();
  Result<std::vector<std::string>> members = contract_->DecodeMembers(*returned);
  ASSERT_TRUE(members.ok()) << members.status().message();
  EXPECT_EQ(*members, (std::vector<std::string>{addresses_[0], addresses_[1]}));
}

TEST_F(AnvilTest, AMembersBatchIsABatchPinLogThatDecodesExactly) {
  std::string address = Deploy();
  ASSERT_EQ(address.size(), 20u);
  std::vector<Hash256> pins = {Filled(0x11), Filled(0x22), Filled(0x33)};
  // Sent by the second member, so the author is the sender, not the deployer.
  Receipt receipt = Send(1, address, contract_->PinBatchCall(Filled(0xab), "batch/7", pins), 500'000);
  ASSERT_TRUE(receipt.success);
  Result<std::vector<BlockHeader>> block = api_->Headers(receipt.block_number, receipt.block_number);
  ASSERT_TRUE(block.ok() && block->size() == 1);

  std::vector<LogEntry> logs = PinLogs(address);
  ASSERT_EQ(logs.size(), 1u);
  Result<BatchPinEvent> e = Decode(logs[0]);
  ASSERT_TRUE(e.ok()) << e.status().message();
  EXPECT_EQ(e->author, addresses_[1]);
  EXPECT_EQ(logs[0].address, address);
  EXPECT_EQ(logs[0].transaction_hash, receipt.transaction_hash);
  EXPECT_EQ(e->timestamp, (*block)[0].timestamp);
  EXPECT_EQ(e->batch_hash, Filled(0xab));
  EXPECT_EQ(e->batch_ref, "batch/7");
  EXPECT_EQ(e->pins, pins);

  // A tick: no pins, still a log, at a later or equal time.
  receipt = Send(0, address, contract_->PinBatchCall(Filled(0), "", {}), 500'000);
  ASSERT_TRUE(receipt.success);
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
  Receipt receipt = Send(2, address, call, 500'000);
  EXPECT_NE(receipt.block_number, 0u);
  EXPECT_FALSE(receipt.success);
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
