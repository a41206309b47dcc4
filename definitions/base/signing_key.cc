#include "definitions/base/signing_key.h"

#include <secp256k1.h>
#include <sys/random.h>
#include <zmq.h>

#include <map>
#include <mutex>

namespace treaty::crypto {
namespace {

// One context for all threads: after creation and randomisation it is only
// read (libsecp256k1 documents contexts as safe for concurrent const use).
const secp256k1_context* Context() {
  static secp256k1_context* ctx = [] {
    secp256k1_context* c = secp256k1_context_create(SECP256K1_CONTEXT_NONE);
    unsigned char seed[32];
    // Blinding only hardens against side channels; a failure leaves a
    // correct, unblinded context.
    if (getrandom(seed, sizeof seed, 0) == sizeof seed) {
      int blinded = secp256k1_context_randomize(c, seed);
      (void)blinded;
    }
    return c;
  }();
  return ctx;
}

template <size_t N>
Result<std::array<uint8_t, N>> FixedFromHex(const std::string& hex, const char* what) {
  std::string raw;
  if (hex.size() != 2 * N || !FromHex(hex, &raw))
    return Status::InvalidArgument(std::string(what) + " must be " + std::to_string(2 * N) + " hex digits");
  std::array<uint8_t, N> out{};
  std::copy(raw.begin(), raw.end(), out.begin());
  return out;
}

// Parsing a compressed key recovers y with a square root, about a fifth of
// a verification; a network has few keys, so parsed ones are kept.
bool ParsedKey(const PublicKey& key, secp256k1_pubkey* out) {
  static std::mutex mu;
  static std::map<PublicKey, secp256k1_pubkey> parsed;
  {
    std::lock_guard<std::mutex> lock(mu);
    auto it = parsed.find(key);
    if (it != parsed.end()) {
      *out = it->second;
      return true;
    }
  }
  if (!secp256k1_ec_pubkey_parse(Context(), out, key.data(), key.size())) return false;
  std::lock_guard<std::mutex> lock(mu);
  if (parsed.size() >= 4096) parsed.clear();  // a bound for peers that send many keys
  parsed.emplace(key, *out);
  return true;
}

}  // namespace

Result<SigningKey> SigningKey::Generate() {
  for (int attempt = 0; attempt < 8; ++attempt) {
    std::array<uint8_t, 32> secret{};
    if (getrandom(secret.data(), secret.size(), 0) != static_cast<ssize_t>(secret.size()))
      return Status::Unavailable("no randomness from the kernel");
    auto key = FromHex(ToHex(secret.data(), secret.size()));
    if (key.ok()) return key;
  }
  return Status::Internal("could not generate a valid secp256k1 key");
}

Result<SigningKey> SigningKey::FromHex(const std::string& secret_hex) {
  auto secret = FixedFromHex<32>(secret_hex, "a secret key");
  if (!secret.ok()) return secret.status();
  SigningKey k;
  k.secret_ = *secret;
  if (!secp256k1_ec_seckey_verify(Context(), k.secret_.data()))
    return Status::InvalidArgument("not a valid secp256k1 secret key");
  secp256k1_pubkey pub;
  if (!secp256k1_ec_pubkey_create(Context(), &pub, k.secret_.data()))
    return Status::InvalidArgument("not a valid secp256k1 secret key");
  size_t len = k.public_.size();
  (void)secp256k1_ec_pubkey_serialize(Context(), k.public_.data(), &len, &pub, SECP256K1_EC_COMPRESSED);
  return k;
}

std::string SigningKey::SecretHex() const { return ToHex(secret_.data(), secret_.size()); }

Signature SigningKey::Sign(const Digest& digest) const {
  secp256k1_ecdsa_signature sig;
  // Cannot fail for a verified secret key and the default nonce function.
  (void)secp256k1_ecdsa_sign(Context(), &sig, digest.data(), secret_.data(), nullptr, nullptr);
  Signature out{};
  (void)secp256k1_ecdsa_signature_serialize_compact(Context(), out.data(), &sig);
  return out;
}

bool Verify(const PublicKey& key, const Digest& digest, const Signature& sig) {
  secp256k1_pubkey pub;
  if (!ParsedKey(key, &pub)) return false;
  secp256k1_ecdsa_signature s;
  if (!secp256k1_ecdsa_signature_parse_compact(Context(), &s, sig.data())) return false;
  // secp256k1_ecdsa_verify rejects high-S forms, so signatures are not malleable.
  return secp256k1_ecdsa_verify(Context(), &s, digest.data(), &pub) == 1;
}

std::string Hex(const PublicKey& k) { return ToHex(k.data(), k.size()); }
std::string Hex(const Signature& s) { return ToHex(s.data(), s.size()); }
Result<PublicKey> PublicKeyFromHex(const std::string& hex) {
  auto k = FixedFromHex<33>(hex, "a public key");
  if (!k.ok()) return k.status();
  secp256k1_pubkey pub;
  if (!secp256k1_ec_pubkey_parse(Context(), &pub, k->data(), k->size()))
    return Status::InvalidArgument("not a valid compressed secp256k1 public key");
  return *k;
}
Result<Signature> SignatureFromHex(const std::string& hex) { return FixedFromHex<64>(hex, "a signature"); }

Result<CurveKeyPair> GenerateCurveKeyPair() {
  char pub[41], sec[41];
  if (zmq_curve_keypair(pub, sec) != 0)
    return Status::Unavailable("this libzmq has no CURVE support (zmq_has(\"curve\") is false)");
  return CurveKeyPair{pub, sec};
}

}  // namespace treaty::crypto
