// Keccak-256 as Ethereum uses it (the original Keccak padding, not
// SHA3-256's): transaction hashes, addresses, event topics. Built on
// nettle's Keccak-f[1600] permutation (DESIGN.md: OpenSSL 3.0 has no
// keccak-256).
//
// Thread-safety: pure functions.
#pragma once

#include <array>
#include <cstdint>
#include <string_view>

namespace treaty::chain::eth {

using Hash256 = std::array<uint8_t, 32>;

Hash256 Keccak256(std::string_view bytes);

}  // namespace treaty::chain::eth
