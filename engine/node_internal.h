// Small helpers shared by the node's translation units (node.cc,
// node_multiparty.cc): clock, random ids, logging, id and role checks.
//
// Thread-safety: pure functions; RandomHex uses a thread-local source.
#pragma once

#include <nlohmann/json.hpp>

#include <chrono>
#include <cstdio>
#include <sys/random.h>
#include <string>
#include <vector>

#include "definitions/base/sha256.h"

namespace treaty::engine::internal {

using json = nlohmann::json;

inline int64_t NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// Ids and salts from the kernel's random source, one call for all bytes.
inline std::string RandomHex(size_t bytes) {
  std::string raw(bytes, '\0');
  size_t got = 0;
  while (got < bytes) {
    ssize_t n = getrandom(raw.data() + got, bytes - got, 0);
    if (n > 0) got += static_cast<size_t>(n);
  }
  return ToHex(reinterpret_cast<const uint8_t*>(raw.data()), raw.size());
}

// A 32-hex-digit id whose first 12 digits are the time in milliseconds:
// ids made one after another sort together, so inserting them into an
// index touches the same few pages instead of a random page each time
// (the store's write volume is most of a step's cost).
inline std::string TimeOrderedId() {
  char ms[13];
  std::snprintf(ms, sizeof ms, "%012llx", static_cast<unsigned long long>(NowMs()) & 0xffffffffffffULL);
  return ms + RandomHex(10);
}

inline void Log(const std::string& line) { std::fprintf(stderr, "treatyd: %s\n", line.c_str()); }

inline bool ValidId(const std::string& id) {
  if (id.empty() || id.size() > 128) return false;
  for (char c : id)
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-' && c != '_' && c != '.' && c != ':') return false;
  return true;
}

inline std::vector<std::string> RolesOf(const std::string& roles_json, const std::string& party) {
  std::vector<std::string> out;
  auto j = json::parse(roles_json, nullptr, false);
  if (j.is_object())
    for (auto& [role, p] : j.items())
      if (p.is_string() && p.get<std::string>() == party) out.push_back(role);
  return out;
}

}  // namespace treaty::engine::internal
