// Test fixture for the `ethereum` ledger: the three-party network of
// NetworkTest ordering on a real anvil with the pin contract, plus what a
// test needs to act on the chain itself: a JSON-RPC client, the contract's
// events, transactions from anvil's development accounts, mining.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "anvil_process.h"
#include "chain/ethereum/eth_api.h"
#include "chain/ethereum/json_rpc.h"
#include "chain/ethereum/pin_contract.h"
#include "chain/ethereum/transaction.h"
#include "chain/network.h"
#include "network_fixture.h"

namespace treaty::testing {

// anvil's second and third development accounts (its default mnemonic):
// outsiders to the network.
inline constexpr const char* kAnvilDevSecret1 = "59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d";
inline constexpr const char* kAnvilDevSecret2 = "5de4111afa1a4b94908f83103eb1f1706367c2e68ca870fc3fb9a804cdab365a";

class EthereumNetworkTest : public NetworkTest {
 protected:
  void SetUp() override { Begin(EthereumSetup{}); }
  void Begin(EthereumSetup s) {
    net_ = std::make_unique<LocalNetwork>(dir_.path(), s);
    ASSERT_TRUE(net_->Start()) << "network did not start; see " << dir_.path();
    Connect();
    rpc_ = std::make_unique<chain::eth::JsonRpcClient>(net_->anvil().url());
    api_ = std::make_unique<chain::eth::EthApi>(rpc_.get());
  }

  chain::eth::EthApi& api() { return *api_; }
  chain::eth::JsonRpcClient& rpc() { return *rpc_; }

  std::optional<chain::Network> LoadNetwork() {
    defs::Diagnostics diags(net_->network_file());
    return chain::LoadNetworkFile(net_->network_file(), &diags);
  }
  // A party's account (20 bytes), from its key in the network file.
  std::string AccountOf(const std::string& party) {
    auto n = LoadNetwork();
    const chain::Member* m = n ? n->Find(party) : nullptr;
    if (m == nullptr) return std::string();
    auto a = chain::eth::AddressOfPublicKey(m->signing_key);
    return a.ok() ? *a : std::string();
  }
  std::string ContractAddress() {
    auto n = LoadNetwork();
    return n && n->ethereum ? n->ethereum->contract : std::string();
  }

  static chain::eth::Secret Secret(const char* hex) {
    std::string raw;
    chain::eth::Secret s{};
    if (FromHex(hex, &raw) && raw.size() == s.size()) std::copy(raw.begin(), raw.end(), s.begin());
    return s;
  }
  static std::string AccountHex(const char* secret_hex) {
    auto a = chain::eth::AddressOf(Secret(secret_hex));
    return a.ok() ? ToHex(reinterpret_cast<const uint8_t*>(a->data()), a->size()) : std::string();
  }

  // Every BatchPin event of the contract so far, in chain order.
  std::vector<chain::eth::BatchPinEvent> ChainBatches() {
    std::vector<chain::eth::BatchPinEvent> out;
    auto head = api().BlockNumber();
    auto contract = chain::eth::PinContract::Get();
    if (!head.ok() || !contract.ok()) return out;
    auto logs = api().Logs(ContractAddress(), (*contract)->batch_pin_topic(), 0, *head);
    if (!logs.ok()) return out;
    for (const auto& l : *logs) {
      auto ev = (*contract)->DecodeBatchPin(l.topics, l.data);
      if (ev.ok()) out.push_back(*ev);
    }
    return out;
  }

  // A call to the contract from a development account, with a fixed gas
  // limit (no estimate: a reverting call is sent anyway); its receipt.
  Result<chain::eth::Receipt> SendFrom(const char* secret_hex, const std::string& data, uint64_t gas) {
    chain::eth::Secret s = Secret(secret_hex);
    TREATY_ASSIGN_OR_RETURN(std::string from, chain::eth::AddressOf(s));
    TREATY_ASSIGN_OR_RETURN(uint64_t nonce, api().TransactionCount(from, "pending"));
    TREATY_ASSIGN_OR_RETURN(chain::eth::U256 price, api().GasPrice());
    chain::eth::LegacyTransaction tx;
    tx.nonce = nonce;
    tx.gas_price = chain::eth::MulDiv(price, 2, 1);
    tx.gas_limit = gas;
    tx.to = ContractAddress();
    tx.data = data;
    TREATY_ASSIGN_OR_RETURN(tx.chain_id, api().ChainId());
    TREATY_ASSIGN_OR_RETURN(std::string raw, chain::eth::SignLegacy(tx, s));
    TREATY_ASSIGN_OR_RETURN(chain::eth::Hash256 hash, api().SendRawTransaction(raw));
    for (int i = 0; i < 300; ++i) {
      TREATY_ASSIGN_OR_RETURN(auto r, api().TransactionReceipt(hash));
      if (r) return *r;
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    return Status::DeadlineExceeded("no receipt in 30 s");
  }

  bool Fund() { return net_->FundMembers(); }
  void Mine(int blocks) {
    for (int i = 0; i < blocks; ++i) (void)rpc().Call("evm_mine");
  }

  std::unique_ptr<chain::eth::JsonRpcClient> rpc_;
  std::unique_ptr<chain::eth::EthApi> api_;
};

}  // namespace treaty::testing
