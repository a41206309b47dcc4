// PinContract: the Treaty pin contract (chain/ethereum/TreatyPins.sol) as
// the build compiled it with npm solc: its creation bytecode and ABI are
// generated into the binary (no hand-copied hex), and the function
// selectors and the event topic are computed here from the ABI's
// signatures, so a contract change the code does not follow fails loudly
// at start-up instead of producing calls the contract ignores.
//
// The contract: constructor(address[] members); pinBatch(bytes32
// batchHash, string batchRef, bytes32[] pins), callable by members only;
// event BatchPin(address indexed author, uint256 timestamp, bytes32
// batchHash, string batchRef, bytes32[] pins); members() view returns
// (address[]). docs/protocol.md.
//
// Thread-safety: immutable after Get(); all methods are const.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "chain/ethereum/keccak.h"
#include "definitions/base/status.h"

namespace treaty::chain::eth {

struct BatchPinEvent {
  std::string author;  // 20 bytes: the sender of the transaction
  uint64_t timestamp = 0;
  Hash256 batch_hash{};
  std::string batch_ref;
  std::vector<Hash256> pins;
};

class PinContract {
 public:
  // The compiled contract; checks the ABI has what the code calls.
  static Result<const PinContract*> Get();
  // A contract from solc's ABI JSON and creation bytecode hex, checked as
  // Get() checks the compiled one (Get() uses it; tests feed it wrong ABIs).
  static Result<PinContract> Load(std::string_view abi_json, std::string_view bytecode_hex);

  const std::string& abi_json() const { return abi_json_; }
  // The data of the creating transaction: bytecode and the encoded
  // constructor argument (members' 20-byte addresses; another size is
  // InvalidArgument).
  Result<std::string> DeployData(const std::vector<std::string>& member_addresses) const;
  // Calldata of pinBatch.
  std::string PinBatchCall(const Hash256& batch_hash, std::string_view batch_ref,
                           const std::vector<Hash256>& pins) const;
  // Calldata of members(), and its answer decoded.
  std::string MembersCall() const;
  Result<std::vector<std::string>> DecodeMembers(std::string_view returned) const;
  const Hash256& batch_pin_topic() const { return batch_pin_topic_; }
  // A BatchPin log decoded; every offset and length is checked against
  // the data (a malformed log is InvalidArgument, never a crash).
  Result<BatchPinEvent> DecodeBatchPin(const std::vector<Hash256>& topics, std::string_view data) const;

  // Limits the contract and the decoder share.
  static constexpr size_t kMaxPins = 4096;
  static constexpr size_t kMaxBatchRefBytes = 128;

 private:
  PinContract() = default;
  std::string abi_json_;
  std::string bytecode_;
  std::string pin_batch_selector_, members_selector_;
  Hash256 batch_pin_topic_{};
};

}  // namespace treaty::chain::eth
