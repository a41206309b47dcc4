#include "chain/ethereum/transaction.h"

#include <secp256k1.h>
#include <secp256k1_recovery.h>

#include "chain/ethereum/rlp.h"

namespace treaty::chain::eth {

namespace {

// One context for the process: creating one costs more than a signature.
const secp256k1_context* Context() {
  static secp256k1_context* ctx = secp256k1_context_create(SECP256K1_CONTEXT_NONE);
  return ctx;
}

std::vector<Rlp> Fields(const LegacyTransaction& tx) {
  return {Rlp::Uint(tx.nonce), Rlp::Uint256(tx.gas_price), Rlp::Uint(tx.gas_limit), Rlp::Bytes(tx.to),
          Rlp::Uint256(tx.value), Rlp::Bytes(tx.data)};
}

std::string_view View(const Hash256& h) { return {reinterpret_cast<const char*>(h.data()), h.size()}; }

}  // namespace

U256 U256Of(uint64_t v) {
  U256 out{};
  for (int i = 31; i >= 0 && v > 0; --i, v >>= 8) out[i] = static_cast<uint8_t>(v & 0xff);
  return out;
}

Hash256 SigningHash(const LegacyTransaction& tx) {
  std::vector<Rlp> f = Fields(tx);
  f.push_back(Rlp::Uint(tx.chain_id));
  f.push_back(Rlp::Uint(0));
  f.push_back(Rlp::Uint(0));
  return Keccak256(Rlp::List(std::move(f)).Encode());
}

Result<std::string> SignLegacy(const LegacyTransaction& tx, const Secret& secret) {
  if (!tx.to.empty() && tx.to.size() != 20)
    return Status::InvalidArgument("a transaction's `to` is 20 bytes, not " + std::to_string(tx.to.size()));
  Hash256 hash = SigningHash(tx);
  secp256k1_ecdsa_recoverable_signature sig;
  if (secp256k1_ecdsa_sign_recoverable(Context(), &sig, hash.data(), secret.data(), nullptr, nullptr) != 1)
    return Status::InvalidArgument("the secret key is not a valid secp256k1 key");
  uint8_t compact[64];
  int recid = 0;
  secp256k1_ecdsa_recoverable_signature_serialize_compact(Context(), compact, &recid, &sig);
  U256 r{}, s{};
  std::copy(compact, compact + 32, r.begin());
  std::copy(compact + 32, compact + 64, s.begin());
  std::vector<Rlp> f = Fields(tx);
  f.push_back(Rlp::Uint(tx.chain_id * 2 + 35 + static_cast<uint64_t>(recid)));
  f.push_back(Rlp::Uint256(r));
  f.push_back(Rlp::Uint256(s));
  return Rlp::List(std::move(f)).Encode();
}

Result<std::string> AddressOf(const Secret& secret) {
  secp256k1_pubkey pub;
  if (secp256k1_ec_pubkey_create(Context(), &pub, secret.data()) != 1)
    return Status::InvalidArgument("the secret key is not a valid secp256k1 key");
  uint8_t raw[65];
  size_t len = sizeof raw;
  secp256k1_ec_pubkey_serialize(Context(), raw, &len, &pub, SECP256K1_EC_UNCOMPRESSED);
  Hash256 h = Keccak256(std::string_view(reinterpret_cast<const char*>(raw) + 1, 64));
  return std::string(View(h).substr(12));
}

Result<std::string> AddressOfPublicKey(const std::array<uint8_t, 33>& compressed) {
  secp256k1_pubkey pub;
  if (secp256k1_ec_pubkey_parse(Context(), &pub, compressed.data(), compressed.size()) != 1)
    return Status::InvalidArgument("not a valid secp256k1 public key");
  uint8_t raw[65];
  size_t len = sizeof raw;
  secp256k1_ec_pubkey_serialize(Context(), raw, &len, &pub, SECP256K1_EC_UNCOMPRESSED);
  Hash256 h = Keccak256(std::string_view(reinterpret_cast<const char*>(raw) + 1, 64));
  return std::string(View(h).substr(12));
}

}  // namespace treaty::chain::eth
