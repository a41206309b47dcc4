// EthApi over JsonRpcClient against a real anvil (AnvilProcess: the npm
// ELF on 127.0.0.1, a free port, stopped by PID): the chain id, blocks
// under evm_mine and their parent links, a value transfer signed with
// SignLegacy from anvil's first dev key (hash, receipt, balances, nonces),
// a stale nonce refused, reverts with their reason, logs of a contract,
// pending transactions under --no-mining, and anvil stopped and restarted
// with its state file.
#include <gtest/gtest.h>

#include <chrono>
#include <string>
#include <thread>

#include "../anvil_process.h"
#include "chain/ethereum/eth_api.h"
#include "chain/ethereum/json_rpc.h"
#include "chain/ethereum/transaction.h"

namespace treaty::chain::eth {
namespace {

using nlohmann::json;
using testing::AnvilOptions;
using testing::AnvilProcess;
using testing::TempDir;

bool Contains(const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; }
std::string Unhex(const std::string& h) { return *ParseData(json("0x" + h)); }
std::string_view Bytes(const Hash256& h) { return {reinterpret_cast<const char*>(h.data()), h.size()}; }

Secret DevSecret() {
  Secret s{};
  std::string b = Unhex(testing::kAnvilDevSecret0);
  std::copy(b.begin(), b.end(), s.begin());
  return s;
}

const U256 kOneEth = U256Of(1000000000000000000ull);
const std::string kRecipient(20, '\x11');

// Creation code that reverts with Error("nope"): CODECOPY the 100-byte
// revert data that follows the 12 bytes of code, then REVERT with it.
std::string RevertingInitCode() {
  return Unhex("6064600c60003960646000fd" "08c379a0" + std::string(62, '0') + "20" + std::string(62, '0') + "04" +
               "6e6f7065" + std::string(56, '0'));
}

// Creation code that emits LOG1(topic, data = the word 42) and deploys no
// code: MSTORE(0, 42); LOG1(0, 32, topic); STOP.
std::string LoggingInitCode(const Hash256& topic) {
  return Unhex("602a600052" "7f") + std::string(Bytes(topic)) + Unhex("60206000a100");
}

class AnvilTest : public ::testing::Test {
 protected:
  void StartAnvil(AnvilOptions options = {}) {
    anvil_ = std::make_unique<AnvilProcess>(dir_.path() + "/anvil.log", std::move(options));
    ASSERT_TRUE(anvil_->Start()) << anvil_->Log();
    rpc_ = std::make_unique<JsonRpcClient>(anvil_->url());
    api_ = std::make_unique<EthApi>(rpc_.get());
    auto from = AddressOf(DevSecret());
    ASSERT_TRUE(from.ok());
    sender_ = *from;
  }
  // A transaction from the dev account, signed for the running chain.
  std::string Signed(uint64_t nonce, const std::string& to, const U256& value, std::string data = "",
                     uint64_t gas = 21000) {
    auto chain_id = api_->ChainId();
    auto price = api_->GasPrice();
    EXPECT_TRUE(chain_id.ok() && price.ok());
    LegacyTransaction tx;
    tx.nonce = nonce;
    tx.gas_price = MulDiv(*price, 2, 1);  // room for the base fee to rise
    tx.gas_limit = gas;
    tx.to = to;
    tx.value = value;
    tx.data = std::move(data);
    tx.chain_id = *chain_id;
    auto raw = SignLegacy(tx, DevSecret());
    EXPECT_TRUE(raw.ok()) << raw.status().ToString();
    return raw.ok() ? *raw : std::string();
  }
  void Mine() { ASSERT_TRUE(rpc_->Call("evm_mine").ok()); }
  // Automine puts a transaction in a block just after the send returns,
  // not before: the receipt is polled for.
  Result<std::optional<Receipt>> WaitReceipt(const Hash256& hash) {
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
    for (;;) {
      auto r = api_->TransactionReceipt(hash);
      if (!r.ok() || r->has_value() || std::chrono::steady_clock::now() > deadline) return r;
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
  }

  TempDir dir_;
  std::unique_ptr<AnvilProcess> anvil_;
  std::unique_ptr<JsonRpcClient> rpc_;
  std::unique_ptr<EthApi> api_;
  std::string sender_;
};

TEST_F(AnvilTest, ChainIdBlocksAndLinkedHeaders) {
  StartAnvil();
  auto chain_id = api_->ChainId();
  ASSERT_TRUE(chain_id.ok()) << chain_id.status().ToString();
  EXPECT_EQ(*chain_id, testing::kAnvilDefaultChainId);
  EXPECT_EQ(*api_->BlockNumber(), 0u);
  for (int i = 0; i < 3; ++i) Mine();
  EXPECT_EQ(*api_->BlockNumber(), 3u);

  auto headers = api_->Headers(0, 3);
  ASSERT_TRUE(headers.ok()) << headers.status().ToString();
  ASSERT_EQ(headers->size(), 4u);
  for (size_t i = 0; i < 4; ++i) EXPECT_EQ((*headers)[i].number, i);
  for (size_t i = 1; i < 4; ++i) {
    EXPECT_EQ((*headers)[i].parent_hash, (*headers)[i - 1].hash) << i;
    EXPECT_NE((*headers)[i].hash, (*headers)[i - 1].hash);
    EXPECT_GE((*headers)[i].timestamp, (*headers)[i - 1].timestamp);
  }
  EXPECT_GT((*headers)[3].timestamp, 1700000000u);  // seconds of now, not milliseconds or zero

  auto above = api_->Headers(2, 4);
  ASSERT_FALSE(above.ok());
  EXPECT_EQ(above.status().code(), StatusCode::kNotFound) << above.status().ToString();
  EXPECT_TRUE(Contains(above.status().message(), "block 4")) << above.status().message();
  EXPECT_TRUE(api_->Headers(3, 2)->empty());
}

TEST_F(AnvilTest, AValueTransferSignedWithTheDevKey) {
  StartAnvil();
  auto before = api_->Balance(sender_);
  ASSERT_TRUE(before.ok());
  EXPECT_EQ(ToDecimal(*before), "10000000000000000000000");  // anvil funds each dev account with 10000 ETH
  EXPECT_EQ(*api_->TransactionCount(sender_, "pending"), 0u);

  std::string raw = Signed(0, kRecipient, kOneEth);
  auto hash = api_->SendRawTransaction(raw);
  ASSERT_TRUE(hash.ok()) << hash.status().ToString();
  EXPECT_EQ(*hash, Keccak256(raw));

  auto receipt = WaitReceipt(*hash);
  ASSERT_TRUE(receipt.ok()) << receipt.status().ToString();
  ASSERT_TRUE(receipt->has_value());
  const Receipt& r = **receipt;
  EXPECT_TRUE(r.success);
  EXPECT_EQ(r.transaction_hash, *hash);
  EXPECT_EQ(r.block_number, 1u);
  EXPECT_EQ(r.gas_used, 21000u);
  EXPECT_NE(r.effective_gas_price, U256{});
  EXPECT_TRUE(r.contract_address.empty());
  EXPECT_EQ(r.block_hash, (*api_->Headers(1, 1))[0].hash);

  EXPECT_EQ(*api_->Balance(kRecipient), kOneEth);
  {
    // The sender paid the value and the fee: 10000 ETH - 1 ETH - 21000 * price.
    uint64_t fee = *ParseQuantity(json(QuantityU256(MulDiv(r.effective_gas_price, 21000, 1))));
    unsigned __int128 expected = static_cast<unsigned __int128>(9999) * 1000000000000000000ull - fee;
    std::string digits;
    for (auto v = expected; v > 0; v /= 10) digits.insert(digits.begin(), static_cast<char>('0' + static_cast<int>(v % 10)));
    EXPECT_EQ(ToDecimal(*api_->Balance(sender_)), digits);
  }
  EXPECT_EQ(*api_->TransactionCount(sender_, "latest"), 1u);
  EXPECT_EQ(*api_->TransactionCount(sender_, "pending"), 1u);
  EXPECT_EQ(api_->TransactionCount(sender_, "tomorrow").status().code(), StatusCode::kInvalidArgument);

  // The same nonce again (another transaction): the node refuses it, and
  // that is a FailedPrecondition, not a crash or a retryable outage.
  auto stale = api_->SendRawTransaction(Signed(0, kRecipient, U256Of(2)));
  ASSERT_FALSE(stale.ok());
  EXPECT_EQ(stale.status().code(), StatusCode::kFailedPrecondition) << stale.status().ToString();
  EXPECT_TRUE(Contains(stale.status().message(), "eth_sendRawTransaction")) << stale.status().message();
  EXPECT_TRUE(Contains(stale.status().message(), "nonce")) << stale.status().message();

  Hash256 unknown;
  unknown.fill(0x42);
  EXPECT_TRUE(*api_->TransactionKnown(*hash));
  EXPECT_FALSE(*api_->TransactionKnown(unknown));
  EXPECT_FALSE(api_->TransactionReceipt(unknown)->has_value());
  auto receipts = api_->TransactionReceipts({*hash, unknown, *hash});
  ASSERT_TRUE(receipts.ok()) << receipts.status().ToString();
  ASSERT_EQ(receipts->size(), 3u);
  EXPECT_TRUE((*receipts)[0].has_value());
  EXPECT_FALSE((*receipts)[1].has_value());
  EXPECT_EQ((*receipts)[2]->block_number, 1u);
  EXPECT_TRUE(api_->TransactionReceipts({})->empty());
}

TEST_F(AnvilTest, EstimatesGasAndReportsARevertWithItsReason) {
  StartAnvil();
  auto transfer = api_->EstimateGas(sender_, kRecipient, "");
  ASSERT_TRUE(transfer.ok()) << transfer.status().ToString();
  EXPECT_EQ(*transfer, 21000u);

  auto revert = api_->EstimateGas(sender_, "", RevertingInitCode());
  ASSERT_FALSE(revert.ok());
  EXPECT_EQ(revert.status().code(), StatusCode::kFailedPrecondition) << revert.status().ToString();
  EXPECT_TRUE(Contains(revert.status().message(), "(revert reason: \"nope\")")) << revert.status().message();
  EXPECT_TRUE(Contains(revert.status().message(), "eth_estimateGas")) << revert.status().message();

  auto no_code = api_->CallContract(kRecipient, "\x01\x02\x03\x04");
  ASSERT_TRUE(no_code.ok()) << no_code.status().ToString();
  EXPECT_EQ(*no_code, "");
  EXPECT_EQ(api_->EstimateGas("short", kRecipient, "").status().code(), StatusCode::kInvalidArgument);
}

TEST_F(AnvilTest, LogsOfAContract) {
  StartAnvil();
  Hash256 topic = Keccak256("Pinned(uint256)");
  std::string code = LoggingInitCode(topic);
  auto gas = api_->EstimateGas(sender_, "", code);
  ASSERT_TRUE(gas.ok()) << gas.status().ToString();
  Mine();  // the log lands in block 2, so a range that ends at 1 has none
  auto hash = api_->SendRawTransaction(Signed(0, "", U256{}, code, *gas * 2));
  ASSERT_TRUE(hash.ok()) << hash.status().ToString();
  auto receipt = WaitReceipt(*hash);
  ASSERT_TRUE(receipt.ok() && receipt->has_value()) << receipt.status().ToString();
  ASSERT_TRUE((*receipt)->success);
  const std::string contract = (*receipt)->contract_address;
  ASSERT_EQ(contract.size(), 20u);

  auto logs = api_->Logs(contract, topic, 0, *api_->BlockNumber());
  ASSERT_TRUE(logs.ok()) << logs.status().ToString();
  ASSERT_EQ(logs->size(), 1u);
  const LogEntry& log = (*logs)[0];
  EXPECT_EQ(log.address, contract);
  ASSERT_EQ(log.topics.size(), 1u);
  EXPECT_EQ(log.topics[0], topic);
  EXPECT_EQ(log.data, std::string(31, '\0') + "\x2a");
  EXPECT_EQ(log.block_number, 2u);
  EXPECT_EQ(log.block_hash, (*receipt)->block_hash);
  EXPECT_EQ(log.transaction_hash, *hash);
  EXPECT_EQ(log.transaction_index, 0u);
  EXPECT_EQ(log.log_index, 0u);
  EXPECT_FALSE(log.removed);

  EXPECT_TRUE(api_->Logs(contract, topic, 0, 1)->empty());
  EXPECT_TRUE(api_->Logs(contract, Keccak256("Other()"), 0, 2)->empty());
  EXPECT_TRUE(api_->Logs(kRecipient, topic, 0, 2)->empty());
}

TEST_F(AnvilTest, APendingTransactionUnderNoMining) {
  AnvilOptions options;
  options.no_mining = true;
  StartAnvil(options);
  auto hash = api_->SendRawTransaction(Signed(0, kRecipient, kOneEth));
  ASSERT_TRUE(hash.ok()) << hash.status().ToString();
  EXPECT_EQ(*api_->TransactionCount(sender_, "pending"), 1u);
  EXPECT_EQ(*api_->TransactionCount(sender_, "latest"), 0u);
  EXPECT_TRUE(*api_->TransactionKnown(*hash));
  EXPECT_FALSE(api_->TransactionReceipt(*hash)->has_value());
  EXPECT_EQ(*api_->BlockNumber(), 0u);
  Mine();
  auto receipt = api_->TransactionReceipt(*hash);
  ASSERT_TRUE(receipt.ok() && receipt->has_value());
  EXPECT_EQ((*receipt)->block_number, 1u);
  EXPECT_EQ(*api_->TransactionCount(sender_, "latest"), 1u);
}

TEST_F(AnvilTest, BlocksComeByThemselvesWithABlockTime) {
  AnvilOptions options;
  options.block_time_s = 1;
  StartAnvil(options);
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (*api_->BlockNumber() < 2 && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  EXPECT_GE(*api_->BlockNumber(), 2u);
}

TEST_F(AnvilTest, StopWritesTheStateAndRestartLoadsIt) {
  AnvilOptions options;
  options.state_file = dir_.path() + "/anvil-state.json";
  options.chain_id = 4242;
  StartAnvil(options);
  EXPECT_EQ(*api_->ChainId(), 4242u);
  auto hash = api_->SendRawTransaction(Signed(0, kRecipient, kOneEth));
  ASSERT_TRUE(hash.ok()) << hash.status().ToString();
  ASSERT_TRUE(WaitReceipt(*hash)->has_value());
  Mine();
  const uint64_t head = *api_->BlockNumber();
  const Hash256 head_hash = (*api_->Headers(head, head))[0].hash;
  const int port = anvil_->port();

  EXPECT_EQ(anvil_->Stop(), 0);
  auto down = api_->BlockNumber();
  ASSERT_FALSE(down.ok());
  EXPECT_EQ(down.status().code(), StatusCode::kUnavailable);
  EXPECT_TRUE(Contains(down.status().message(), anvil_->url())) << down.status().message();

  ASSERT_TRUE(anvil_->Restart()) << anvil_->Log();
  EXPECT_EQ(anvil_->port(), port);
  EXPECT_EQ(*api_->BlockNumber(), head);  // the same client: same URL
  EXPECT_EQ((*api_->Headers(head, head))[0].hash, head_hash);
  EXPECT_EQ(*api_->Balance(kRecipient), kOneEth);
  EXPECT_EQ(*api_->TransactionCount(sender_, "latest"), 1u);
  EXPECT_TRUE(api_->TransactionReceipt(*hash)->has_value());

  // SIGKILL writes nothing: what comes back is the state of the last Stop.
  Mine();
  anvil_->Kill();
  ASSERT_TRUE(anvil_->Restart()) << anvil_->Log();
  EXPECT_EQ(*api_->BlockNumber(), head);
}

}  // namespace
}  // namespace treaty::chain::eth
