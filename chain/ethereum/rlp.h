// RLP, Ethereum's Recursive Length Prefix encoding (the Yellow Paper,
// appendix B): what a transaction is signed and sent as. Only encoding:
// the node reads the chain through JSON-RPC, whose answers are JSON, so it
// never parses RLP. No listed library encodes RLP in C++.
//
// Thread-safety: values; pure functions.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace treaty::chain::eth {

// An item: a byte string, or a list of items.
class Rlp {
 public:
  static Rlp Bytes(std::string_view b) { return Rlp(std::string(b), false); }
  // An unsigned integer: big-endian, no leading zeros (0 is the empty string).
  static Rlp Uint(uint64_t v);
  // A 256-bit unsigned integer given as 32 big-endian bytes.
  static Rlp Uint256(const std::array<uint8_t, 32>& be);
  static Rlp List(std::vector<Rlp> items);
  // The item's encoding.
  std::string Encode() const;

 private:
  Rlp(std::string bytes, bool list) : bytes_(std::move(bytes)), list_(list) {}
  std::string bytes_;  // a list's: its items' encodings, concatenated
  bool list_;
};

}  // namespace treaty::chain::eth
