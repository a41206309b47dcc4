#include "engine/node_context.h"

#include <cctype>
#include <cstdio>

namespace treaty::engine {

std::string NodeContext::TimeOrderedId() const {
  char ms[13];
  std::snprintf(ms, sizeof ms, "%012llx", static_cast<unsigned long long>(NowMs()) & 0xffffffffffffULL);
  return ms + opts.env->random->Hex(10);
}

std::shared_ptr<const runtime::DefinitionRuntime> NodeContext::DefinitionByHash(const std::string& hash_hex) const {
  Digest hash{};
  if (!DigestFromHex(hash_hex, &hash)) return nullptr;
  return registry->FindByHash(hash);
}

bool ValidId(const std::string& id) {
  if (id.empty() || id.size() > 128) return false;
  for (char c : id)
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-' && c != '_' && c != '.' && c != ':') return false;
  return true;
}

Digest Pin(const std::string& salt_hex, const std::string& author, int64_t nonce) {
  Sha256 h;
  h.UpdateField("treaty.pin.v1");
  std::string salt;
  FromHex(salt_hex, &salt);
  h.UpdateField(salt);
  h.UpdateField(author);
  h.UpdateField(std::to_string(nonce));
  return h.Finish();
}

}  // namespace treaty::engine
