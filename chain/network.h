// The network file: who the members are. Each member has a name, a
// secp256k1 signing key (verifies its proposals, batches and attestations),
// a CURVE public key (authenticates its data-exchange connections) and an
// endpoint. Every party loads the same file; docs/protocol.md shows it.
//
// Thread-safety: plain values.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "definitions/source.h"
#include "definitions/base/signing_key.h"

namespace treaty::chain {

struct Member {
  std::string name;
  crypto::PublicKey signing_key{};
  std::string curve_key;  // Z85, 40 characters
  std::string endpoint;   // tcp://HOST:PORT
};

// The ordering service of a `sequencer` network: its key signs every block.
struct SequencerInfo {
  crypto::PublicKey signing_key{};
  std::string endpoint;  // tcp://HOST:PORT
};

// The pin contract of an `ethereum` network (docs/protocol.md): every
// member reads the same contract on the same chain from the same block,
// and applies a block once `confirmations` blocks are on top of it.
struct EthereumInfo {
  uint64_t chain_id = 0;
  std::string contract;      // 20 bytes
  uint64_t start_block = 0;  // the block that created the contract: ledger height 1
  uint64_t confirmations = kDefaultConfirmations;
  static constexpr uint64_t kDefaultConfirmations = 6;
};

struct Network {
  std::string name;
  std::vector<Member> members;
  std::optional<SequencerInfo> sequencer;
  std::optional<EthereumInfo> ethereum;
  // Salts unique-key claims so outsiders reading the ledger cannot test
  // guesses; members share it through this file (hex, 32 bytes).
  std::string claim_salt;
  const Member* Find(const std::string& name) const;
  const Member* FindBySigningKey(const crypto::PublicKey& key) const;
};

// All problems go to `diags` as FILE:LINE:COL diagnostics; nullopt if any.
std::optional<Network> LoadNetworkFile(const std::string& path, defs::Diagnostics* diags);
std::optional<Network> ParseNetwork(const std::string& yaml, const std::string& file, defs::Diagnostics* diags);

}  // namespace treaty::chain
