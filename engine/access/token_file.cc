#include "engine/access/token_file.h"

#include <yaml-cpp/yaml.h>

#include <cctype>
#include <ctime>

#include "definitions/base/sha256.h"

namespace treaty::engine::access {

bool ValidIdentity(const std::string& name) {
  if (name.empty() || name.size() > 128) return false;
  for (char c : name)
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '.' && c != '_' && c != '-' && c != '@') return false;
  return true;
}

std::string TokenHash(const std::string& token) { return ToHex(Sha256().Update(token).Finish()); }

Result<int64_t> ParseUtcTime(const std::string& text) {
  std::tm tm{};
  const char* end = strptime(text.c_str(), "%Y-%m-%dT%H:%M:%SZ", &tm);
  if (end == nullptr || *end != '\0')
    return Status::InvalidArgument("'" + text + "' is not a UTC time like 2027-01-31T00:00:00Z");
  return static_cast<int64_t>(timegm(&tm)) * 1000;
}

Result<TokenSet> ParseTokenFile(const std::string& path) {
  TokenSet out;
  try {
    YAML::Node root = YAML::LoadFile(path);
    if (!root.IsMap()) return Status::InvalidArgument(path + ": expected a map with 'tokens'");
    for (auto it = root.begin(); it != root.end(); ++it)
      if (it->first.Scalar() != "tokens")
        return Status::InvalidArgument(path + ": unknown setting '" + it->first.Scalar() + "' (expected 'tokens')");
    YAML::Node list = root["tokens"];
    if (list && !list.IsNull() && !list.IsSequence()) return Status::InvalidArgument(path + ": 'tokens' must be a list");
    int n = 0;
    for (const auto& t : list) {
      ++n;
      std::string where = path + ": token " + std::to_string(n);
      if (!t.IsMap()) return Status::InvalidArgument(where + " must be a map");
      TokenEntry e;
      for (auto it = t.begin(); it != t.end(); ++it) {
        std::string k = it->first.Scalar();
        if (!it->second.IsScalar()) return Status::InvalidArgument(where + ": '" + k + "' must be a single value");
        std::string v = it->second.Scalar();
        if (k == "name") e.name = v;
        else if (k == "sha256") e.sha256 = v;
        else if (k == "user") e.user = v;
        else if (k == "expires") {
          auto ms = ParseUtcTime(v);
          if (!ms.ok()) return Status::InvalidArgument(where + ": expires: " + ms.status().message());
          e.expires_ms = *ms;
          e.expires_text = v;
        } else {
          return Status::InvalidArgument(where + ": unknown key '" + k + "' (name, sha256, expires, user)");
        }
      }
      if (!ValidIdentity(e.name))
        return Status::InvalidArgument(where + ": name '" + e.name + "' must be letters, digits, '.', '_', '-' or '@'");
      where = path + ": token '" + e.name + "'";
      for (char& c : e.sha256) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      if (e.sha256.size() != 64 || e.sha256.find_first_not_of("0123456789abcdef") != std::string::npos)
        return Status::InvalidArgument(where + ": sha256 must be the token's SHA-256 as 64 hex digits "
                                       "(printf %s TOKEN | sha256sum), never the token itself");
      if (!e.user.empty() && !ValidIdentity(e.user))
        return Status::InvalidArgument(where + ": user '" + e.user + "' must be letters, digits, '.', '_', '-' or '@'");
      auto [at, fresh] = out.by_hash.emplace(e.sha256, e);
      if (!fresh) return Status::InvalidArgument(where + ": the same token hash as '" + at->second.name + "'");
    }
  } catch (const YAML::Exception& ex) {
    return Status::InvalidArgument(path + ": " + ex.what());
  }
  return out;
}

}  // namespace treaty::engine::access
