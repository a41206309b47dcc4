// The bearer tokens a node accepts (--tokens FILE, docs/security.md):
//
//   tokens:
//     - name: order-desk             # the client identity (access file key)
//       sha256: 5e88...c2            # SHA-256 of the token, 64 hex digits;
//                                    #   the token itself is never stored
//       expires: 2027-01-31T00:00:00Z   # optional, UTC
//       user: alice                  # optional: the person it stands for
//
// Thread-safety: a TokenSet is immutable once parsed.
#pragma once

#include <map>
#include <optional>
#include <string>

#include "definitions/base/status.h"

namespace treaty::engine::access {

struct TokenEntry {
  std::string name;
  std::string sha256;                 // lowercase hex
  std::optional<int64_t> expires_ms;  // Unix ms
  std::string expires_text;           // as written, for messages
  std::string user;
};

struct TokenSet {
  std::map<std::string, TokenEntry> by_hash;  // by sha256
};

Result<TokenSet> ParseTokenFile(const std::string& path);

// A token as the file lists it: its SHA-256 in lowercase hex.
std::string TokenHash(const std::string& token);

// "2027-01-31T00:00:00Z" as Unix ms; an error names the expected form.
Result<int64_t> ParseUtcTime(const std::string& text);

// True for names fit as identities: letters, digits and . _ - @.
bool ValidIdentity(const std::string& name);

}  // namespace treaty::engine::access
