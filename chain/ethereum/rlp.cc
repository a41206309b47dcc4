#include "chain/ethereum/rlp.h"

namespace treaty::chain::eth {

namespace {

std::string BigEndian(uint64_t v) {
  std::string out;
  while (v > 0) {
    out.insert(out.begin(), static_cast<char>(v & 0xff));
    v >>= 8;
  }
  return out;
}

// The prefix of a payload of `size` bytes: `short_base` + size up to 55
// bytes, else `short_base` + 55 + the length of the size, then the size.
std::string Prefix(size_t size, uint8_t short_base) {
  if (size <= 55) return std::string(1, static_cast<char>(short_base + size));
  std::string len = BigEndian(size);
  return static_cast<char>(short_base + 55 + len.size()) + len;
}

}  // namespace

Rlp Rlp::Uint(uint64_t v) { return Rlp(BigEndian(v), false); }

Rlp Rlp::Uint256(const std::array<uint8_t, 32>& be) {
  size_t first = 0;
  while (first < be.size() && be[first] == 0) ++first;
  return Rlp(std::string(reinterpret_cast<const char*>(be.data()) + first, be.size() - first), false);
}

Rlp Rlp::List(std::vector<Rlp> items) {
  std::string payload;
  for (const auto& i : items) payload += i.Encode();
  return Rlp(std::move(payload), true);
}

std::string Rlp::Encode() const {
  if (list_) return Prefix(bytes_.size(), 0xc0) + bytes_;
  // A single byte below 0x80 is its own encoding.
  if (bytes_.size() == 1 && static_cast<uint8_t>(bytes_[0]) < 0x80) return bytes_;
  return Prefix(bytes_.size(), 0x80) + bytes_;
}

}  // namespace treaty::chain::eth
