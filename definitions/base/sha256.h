// SHA-256 digests and hex encoding, the hash every Treaty party agrees on
// (definition hashes, state hashes, pins). Backed by OpenSSL's libcrypto.
//
// Thread-safety: Sha256 is a stateful hasher for one thread; the free
// functions are thread-safe.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

namespace treaty {

using Digest = std::array<uint8_t, 32>;

class Sha256 {
 public:
  Sha256();
  ~Sha256();
  Sha256(const Sha256&) = delete;
  Sha256& operator=(const Sha256&) = delete;

  Sha256& Update(std::string_view bytes);
  Sha256& Update(const uint8_t* data, size_t n);
  // Appends a 4-byte big-endian length and then the bytes, so that a
  // sequence of fields cannot be re-split into a different sequence.
  Sha256& UpdateField(std::string_view bytes);
  Digest Finish();

 private:
  struct Ctx;
  std::unique_ptr<Ctx> ctx_;
};

Digest Sha256Of(std::string_view bytes);
std::string ToHex(const uint8_t* data, size_t n);
std::string ToHex(const Digest& d);
bool FromHex(std::string_view hex, std::string* out);
// 64 hex digits to a digest; false (and *out zeroed) otherwise.
bool DigestFromHex(std::string_view hex, Digest* out);

}  // namespace treaty
