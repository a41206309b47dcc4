// Party identity keys: secp256k1 ECDSA over 32-byte digests (libsecp256k1),
// and the CURVE key pair a party's data exchange uses (libzmq). Formats are
// specified in docs/protocol.md: 32-byte secret keys, 33-byte compressed
// public keys, 64-byte compact low-S signatures, all hex on the wire and in
// files; CURVE keys in Z85.
//
// Thread-safety: SigningKey is immutable after creation; Sign and Verify
// may be called from many threads (each uses the shared, read-only
// verification context or its own signing context).
#pragma once

#include <array>
#include <string>

#include "definitions/base/sha256.h"
#include "definitions/base/status.h"

namespace treaty::crypto {

using PublicKey = std::array<uint8_t, 33>;  // compressed SEC1
using Signature = std::array<uint8_t, 64>;  // compact (r, s), s low

class SigningKey {
 public:
  // A fresh key from the kernel's random source.
  static Result<SigningKey> Generate();
  static Result<SigningKey> FromHex(const std::string& secret_hex);

  const PublicKey& public_key() const { return public_; }
  std::string SecretHex() const;
  // Deterministic (RFC 6979): the same key and digest give the same signature.
  Signature Sign(const Digest& digest) const;

 private:
  std::array<uint8_t, 32> secret_{};
  PublicKey public_{};
};

// True only for a valid low-S signature of `digest` by `key`.
bool Verify(const PublicKey& key, const Digest& digest, const Signature& sig);

std::string Hex(const PublicKey& k);
std::string Hex(const Signature& s);
Result<PublicKey> PublicKeyFromHex(const std::string& hex);
Result<Signature> SignatureFromHex(const std::string& hex);

struct CurveKeyPair {
  std::string public_z85;  // 40 characters
  std::string secret_z85;
};
Result<CurveKeyPair> GenerateCurveKeyPair();

}  // namespace treaty::crypto
