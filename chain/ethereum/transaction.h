// Ethereum transactions as a member's node signs them with its party key
// (its secp256k1 key is its Ethereum account): legacy transactions with
// EIP-155 replay protection (the chain id in the signed hash and in v),
// which every EVM node accepts, anvil included.
//
// Thread-safety: pure functions.
#pragma once

#include <array>
#include <cstdint>
#include <string>

#include "chain/ethereum/keccak.h"
#include "definitions/base/status.h"

namespace treaty::chain::eth {

using U256 = std::array<uint8_t, 32>;  // big-endian
U256 U256Of(uint64_t v);
using Secret = std::array<uint8_t, 32>;

struct LegacyTransaction {
  uint64_t nonce = 0;
  U256 gas_price{};  // wei
  uint64_t gas_limit = 0;
  std::string to;    // 20 bytes; empty: a contract creation
  U256 value{};      // wei
  std::string data;
  uint64_t chain_id = 1;
};

// What EIP-155 signs: keccak(rlp([nonce, gasPrice, gas, to, value, data,
// chainId, 0, 0])).
Hash256 SigningHash(const LegacyTransaction& tx);
// The raw signed transaction, rlp([nonce, ..., data, v, r, s]) with
// v = chainId * 2 + 35 + the recovery id; eth_sendRawTransaction takes it.
Result<std::string> SignLegacy(const LegacyTransaction& tx, const Secret& secret);
// The account of a secret key: the last 20 bytes of the keccak of its
// uncompressed public key.
Result<std::string> AddressOf(const Secret& secret);
// The account of a party's public key (33-byte compressed SEC1), as every
// member computes the others' from the network file.
Result<std::string> AddressOfPublicKey(const std::array<uint8_t, 33>& compressed);

}  // namespace treaty::chain::eth
