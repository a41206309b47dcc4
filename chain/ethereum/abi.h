// The Solidity contract ABI (docs.soliditylang.org, "Contract ABI
// Specification") for exactly the types the pin contract uses: uint256,
// address, bytes32, string, bytes32[] and address[]. Encoding is the
// standard head/tail layout; decoding is strict: every offset and length
// is checked against the data before it is followed, an address must have
// zero padding, and the data must be the canonical encoding of what it
// decodes to (what Solidity emits: no trailing bytes, no overlapping or
// out-of-order tails, zero padding), so a malformed or hostile log is an
// InvalidArgument naming the fault, never a crash or a wrong value.
// Debian packages no C++ ABI library (docs/dependencies.md).
//
// Thread-safety: values; pure functions.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "chain/ethereum/keccak.h"
#include "chain/ethereum/transaction.h"
#include "definitions/base/status.h"

namespace treaty::chain::eth::abi {

enum class Type { kUint256, kAddress, kBytes32, kString, kBytes32Array, kAddressArray };

// The canonical name in signatures ("uint256", "bytes32[]", ...), and back;
// a name outside the six is InvalidArgument.
std::string_view TypeName(Type type);
Result<Type> TypeFromName(std::string_view name);
// "name(type1,type2)".
std::string Signature(std::string_view name, const std::vector<Type>& types);
// The first 4 bytes of keccak256 of a canonical function signature.
std::string Selector(std::string_view signature);
// keccak256 of a canonical event signature: a non-anonymous event's topic 0.
Hash256 EventTopic(std::string_view signature);

// One argument. Only the field of its type is used: `word` for uint256
// (big-endian) and bytes32; `bytes` for an address (20 bytes) and a
// string (any bytes, UTF-8 by convention); `words` for bytes32[];
// `addresses` for address[] (20 bytes each).
struct Value {
  Type type = Type::kUint256;
  Hash256 word{};
  std::string bytes;
  std::vector<Hash256> words;
  std::vector<std::string> addresses;

  static Value Uint256(const U256& v);
  static Value Uint(uint64_t v) { return Uint256(U256Of(v)); }
  static Value Address(std::string address);
  static Value Bytes32(const Hash256& v);
  static Value String(std::string s);
  static Value Bytes32Array(std::vector<Hash256> v);
  static Value AddressArray(std::vector<std::string> v);

  bool operator==(const Value&) const = default;
};

// The encoding of a tuple of values (arguments after a selector, a
// constructor's arguments, an event's non-indexed data). An address that is
// not 20 bytes is InvalidArgument.
Result<std::string> Encode(const std::vector<Value>& values);
// The values of `types` encoded in `data`, checked as the header says.
Result<std::vector<Value>> Decode(const std::vector<Type>& types, std::string_view data);

// A uint256 value read as a uint64 (a timestamp); a larger one is
// InvalidArgument.
Result<uint64_t> ToUint64(const Value& v);

}  // namespace treaty::chain::eth::abi
