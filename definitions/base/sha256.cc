#include "definitions/base/sha256.h"

#include <openssl/evp.h>

#include <stdexcept>

namespace treaty {

struct Sha256::Ctx {
  EVP_MD_CTX* md = nullptr;
};

Sha256::Sha256() : ctx_(std::make_unique<Ctx>()) {
  ctx_->md = EVP_MD_CTX_new();
  if (ctx_->md == nullptr || EVP_DigestInit_ex(ctx_->md, EVP_sha256(), nullptr) != 1) {
    // Only allocation failure gets here; nothing sensible can continue.
    throw std::bad_alloc();
  }
}

Sha256::~Sha256() { EVP_MD_CTX_free(ctx_->md); }

Sha256& Sha256::Update(std::string_view bytes) {
  return Update(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size());
}

Sha256& Sha256::Update(const uint8_t* data, size_t n) {
  EVP_DigestUpdate(ctx_->md, data, n);
  return *this;
}

Sha256& Sha256::UpdateField(std::string_view bytes) {
  uint8_t len[4] = {static_cast<uint8_t>(bytes.size() >> 24), static_cast<uint8_t>(bytes.size() >> 16),
                    static_cast<uint8_t>(bytes.size() >> 8), static_cast<uint8_t>(bytes.size())};
  Update(len, 4);
  return Update(bytes);
}

Digest Sha256::Finish() {
  Digest d{};
  unsigned int n = 0;
  EVP_DigestFinal_ex(ctx_->md, d.data(), &n);
  EVP_DigestInit_ex(ctx_->md, EVP_sha256(), nullptr);
  return d;
}

Digest Sha256Of(std::string_view bytes) {
  Sha256 h;
  h.Update(bytes);
  return h.Finish();
}

std::string ToHex(const uint8_t* data, size_t n) {
  static const char kHex[] = "0123456789abcdef";
  std::string out;
  out.resize(n * 2);
  for (size_t i = 0; i < n; ++i) {
    out[2 * i] = kHex[data[i] >> 4];
    out[2 * i + 1] = kHex[data[i] & 0xf];
  }
  return out;
}

std::string ToHex(const Digest& d) { return ToHex(d.data(), d.size()); }

bool FromHex(std::string_view hex, std::string* out) {
  if (hex.size() % 2 != 0) return false;
  auto nib = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  out->clear();
  out->reserve(hex.size() / 2);
  for (size_t i = 0; i < hex.size(); i += 2) {
    int hi = nib(hex[i]), lo = nib(hex[i + 1]);
    if (hi < 0 || lo < 0) return false;
    out->push_back(static_cast<char>(hi << 4 | lo));
  }
  return true;
}

bool DigestFromHex(std::string_view hex, Digest* out) {
  std::string raw;
  out->fill(0);
  if (hex.size() != 64 || !FromHex(hex, &raw)) return false;
  std::copy(raw.begin(), raw.end(), out->begin());
  return true;
}

}  // namespace treaty
