#include "chain/ethereum/keccak.h"

#include <cstring>

#include <nettle/sha3.h>

namespace treaty::chain::eth {

Hash256 Keccak256(std::string_view bytes) {
  // A sponge of rate 136 bytes over nettle's permutation. Ethereum pads
  // with 0x01 ... 0x80 (Keccak), where SHA3-256 pads with 0x06 ... 0x80.
  constexpr size_t kRate = 136;
  sha3_state state;
  std::memset(&state, 0, sizeof state);
  auto absorb = [&](const uint8_t* block) {
    for (size_t i = 0; i < kRate / 8; ++i) {
      uint64_t lane = 0;
      for (int b = 7; b >= 0; --b) lane = (lane << 8) | block[i * 8 + b];  // lanes are little-endian
      state.a[i] ^= lane;
    }
    sha3_permute(&state);
  };
  const auto* p = reinterpret_cast<const uint8_t*>(bytes.data());
  size_t left = bytes.size();
  while (left >= kRate) {
    absorb(p);
    p += kRate;
    left -= kRate;
  }
  uint8_t last[kRate] = {0};
  std::memcpy(last, p, left);
  last[left] ^= 0x01;
  last[kRate - 1] ^= 0x80;
  absorb(last);
  Hash256 out;
  for (size_t i = 0; i < out.size(); ++i) out[i] = static_cast<uint8_t>(state.a[i / 8] >> (8 * (i % 8)));
  return out;
}

}  // namespace treaty::chain::eth
