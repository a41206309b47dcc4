// treaty-eth: what an operator does once on the chain for an `ethereum`
// network: deploy the pin contract with the network file's members as its
// allow-list (and write the contract into the network file), fund the
// members' accounts, and show a party's account. Transactions are signed
// with the key given (a funded account of the chain; for anvil one of its
// well-known development keys). docs/protocol.md, "The ethereum ledger".
#include <chrono>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "chain/ethereum/eth_api.h"
#include "chain/ethereum/json_rpc.h"
#include "chain/ethereum/pin_contract.h"
#include "chain/ethereum/transaction.h"
#include "chain/network.h"
#include "definitions/base/identity_file.h"
#include "definitions/base/sha256.h"

namespace {

using namespace treaty;
using namespace treaty::chain::eth;

int Usage(const std::string& why) {
  if (!why.empty()) std::cerr << "treaty-eth: " << why << "\n";
  std::cerr << "usage: treaty-eth deploy --rpc URL --key HEX --network FILE [--confirmations N] [--allow 0xADDR]...\n"
               "       treaty-eth fund --rpc URL --key HEX --network FILE [--wei N]\n"
               "       treaty-eth account --data DIR\n";
  return 2;
}

int Fail(const std::string& what) {
  std::cerr << "treaty-eth: " << what << "\n";
  return 1;
}

std::string Hex0x(std::string_view raw) {
  return "0x" + ToHex(reinterpret_cast<const uint8_t*>(raw.data()), raw.size());
}

struct Signer {
  Secret secret{};
  std::string address;
  uint64_t chain_id = 0;
  uint64_t nonce = 0;
};

Result<Signer> LoadSigner(EthApi* api, const std::string& key_hex) {
  Signer s;
  std::string raw;
  std::string k = key_hex.rfind("0x", 0) == 0 ? key_hex.substr(2) : key_hex;
  if (!FromHex(k, &raw) || raw.size() != 32) return Status::InvalidArgument("--key must be 32 bytes of hex");
  std::copy(raw.begin(), raw.end(), s.secret.begin());
  TREATY_ASSIGN_OR_RETURN(s.address, AddressOf(s.secret));
  TREATY_ASSIGN_OR_RETURN(s.chain_id, api->ChainId());
  TREATY_ASSIGN_OR_RETURN(s.nonce, api->TransactionCount(s.address, "pending"));
  return s;
}

// Signs, sends and waits (up to a minute) for the receipt.
Result<Receipt> SendAndWait(EthApi* api, Signer* s, const std::string& to, const U256& value, const std::string& data) {
  TREATY_ASSIGN_OR_RETURN(U256 price, api->GasPrice());
  LegacyTransaction tx;
  tx.nonce = s->nonce;
  tx.gas_price = MulDiv(price, 2, 1);
  if (data.empty()) {
    tx.gas_limit = 21000;
  } else {
    TREATY_ASSIGN_OR_RETURN(uint64_t gas, api->EstimateGas(s->address, to, data));
    tx.gas_limit = gas + gas / 4 + 10000;
  }
  tx.to = to;
  tx.value = value;
  tx.data = data;
  tx.chain_id = s->chain_id;
  TREATY_ASSIGN_OR_RETURN(std::string raw, SignLegacy(tx, s->secret));
  TREATY_ASSIGN_OR_RETURN(Hash256 hash, api->SendRawTransaction(raw));
  ++s->nonce;
  for (int i = 0; i < 600; ++i) {
    TREATY_ASSIGN_OR_RETURN(auto r, api->TransactionReceipt(hash));
    if (r) {
      if (!r->success) return Status::FailedPrecondition("the transaction reverted in block " + std::to_string(r->block_number));
      return *r;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  return Status::DeadlineExceeded("no receipt for the transaction within a minute");
}

Result<std::vector<std::string>> MemberAccounts(const chain::Network& net) {
  std::vector<std::string> out;
  for (const auto& m : net.members) {
    TREATY_ASSIGN_OR_RETURN(std::string a, AddressOfPublicKey(m.signing_key));
    out.push_back(a);
  }
  return out;
}

std::optional<chain::Network> LoadNetwork(const std::string& path) {
  defs::Diagnostics diags(path);
  auto net = chain::LoadNetworkFile(path, &diags);
  for (const auto& d : diags.items()) std::cerr << d.ToString() << "\n";
  return net;
}

int Deploy(EthApi* api, const std::string& key, const std::string& network_path, uint64_t confirmations,
           const std::vector<std::string>& also_allowed) {
  auto net = LoadNetwork(network_path);
  if (!net) return 1;
  if (net->ethereum) return Fail(network_path + " already names a pin contract (" + Hex0x(net->ethereum->contract) + ")");
  auto contract = PinContract::Get();
  if (!contract.ok()) return Fail(contract.status().ToString());
  auto members = MemberAccounts(*net);
  if (!members.ok()) return Fail(members.status().ToString());
  for (const auto& a : also_allowed) {
    std::string raw;
    if (a.size() != 42 || a.rfind("0x", 0) != 0 || !FromHex(a.substr(2), &raw))
      return Fail("--allow takes a 0x-prefixed 20-byte address, not '" + a + "'");
    members->push_back(raw);
  }
  auto signer = LoadSigner(api, key);
  if (!signer.ok()) return Fail(signer.status().ToString());
  auto deploy_data = (*contract)->DeployData(*members);
  if (!deploy_data.ok()) return Fail("the members' addresses: " + deploy_data.status().ToString());
  auto r = SendAndWait(api, &*signer, "", U256{}, *deploy_data);
  if (!r.ok()) return Fail("deploying the pin contract: " + r.status().ToString());
  if (r->contract_address.size() != 20) return Fail("the deployment's receipt names no contract");
  std::ofstream f(network_path, std::ios::app);
  f << "ethereum:\n"
    << "  chain_id: " << signer->chain_id << "\n"
    << "  contract: \"" << Hex0x(r->contract_address) << "\"\n"
    << "  start_block: " << r->block_number << "\n"
    << "  confirmations: " << confirmations << "\n";
  if (!f) return Fail("cannot write " + network_path);
  std::cout << "pin contract " << Hex0x(r->contract_address) << " at block " << r->block_number << " on chain "
            << signer->chain_id << ", " << members->size() << " member(s)\n";
  return 0;
}

int Fund(EthApi* api, const std::string& key, const std::string& network_path, const U256& wei) {
  auto net = LoadNetwork(network_path);
  if (!net) return 1;
  auto members = MemberAccounts(*net);
  if (!members.ok()) return Fail(members.status().ToString());
  auto signer = LoadSigner(api, key);
  if (!signer.ok()) return Fail(signer.status().ToString());
  for (size_t i = 0; i < members->size(); ++i) {
    auto r = SendAndWait(api, &*signer, (*members)[i], wei, "");
    if (!r.ok()) return Fail("funding " + net->members[i].name + ": " + r.status().ToString());
    auto bal = api->Balance((*members)[i]);
    std::cout << net->members[i].name << " " << Hex0x((*members)[i]) << " balance "
              << (bal.ok() ? ToDecimal(*bal) : std::string("?")) << " wei\n";
  }
  return 0;
}

Result<U256> ParseWei(const std::string& text) {
  if (text.empty() || text.size() > 30 || text.find_first_not_of("0123456789") != std::string::npos)
    return Status::InvalidArgument("--wei must be a whole number (up to 30 digits)");
  U256 v{};
  for (char c : text) {
    v = MulDiv(v, 10, 1);
    // add the digit with carry
    unsigned carry = static_cast<unsigned>(c - '0');
    for (int i = 31; i >= 0 && carry; --i) {
      unsigned sum = v[static_cast<size_t>(i)] + carry;
      v[static_cast<size_t>(i)] = static_cast<uint8_t>(sum & 0xff);
      carry = sum >> 8;
    }
  }
  return v;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) return Usage("");
  std::string cmd = argv[1];
  std::string rpc, key, network, data, wei = "100000000000000000000";  // 100 ether
  std::vector<std::string> allow;
  uint64_t confirmations = treaty::chain::EthereumInfo::kDefaultConfirmations;
  for (int i = 2; i < argc; ++i) {
    std::string a = argv[i];
    if (i + 1 >= argc) return Usage(a + " needs a value");
    std::string v = argv[++i];
    if (a == "--rpc") rpc = v;
    else if (a == "--key") key = v;
    else if (a == "--network") network = v;
    else if (a == "--data") data = v;
    else if (a == "--wei") wei = v;
    else if (a == "--allow") allow.push_back(v);
    else if (a == "--confirmations") {
      if (v.empty() || v.size() > 4 || v.find_first_not_of("0123456789") != std::string::npos)
        return Usage("--confirmations must be a whole number up to 1024");
      confirmations = std::stoull(v);
      if (confirmations > 1024) return Usage("--confirmations must be a whole number up to 1024");
    } else
      return Usage("unknown option " + a);
  }
  if (cmd == "account") {
    if (data.empty()) return Usage("account needs --data DIR");
    auto id = treaty::crypto::LoadIdentityFile(data + "/identity.json");
    if (!id.ok()) return Fail(id.status().message());
    auto a = AddressOfPublicKey(id->key.public_key());
    if (!a.ok()) return Fail(a.status().ToString());
    std::cout << Hex0x(*a) << "\n";
    return 0;
  }
  if (cmd != "deploy" && cmd != "fund") return Usage("unknown command '" + cmd + "'");
  if (rpc.empty() || key.empty() || network.empty()) return Usage(cmd + " needs --rpc, --key and --network");
  JsonRpcClient client(rpc, std::chrono::milliseconds(10000));
  EthApi api(&client);
  if (cmd == "deploy") return Deploy(&api, key, network, confirmations, allow);
  auto w = ParseWei(wei);
  if (!w.ok()) return Usage(w.status().message());
  return Fund(&api, key, network, *w);
}
