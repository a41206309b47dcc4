// ClientSecurityFlags: the flags every C++ client of a node takes to present
// itself (docs/security.md, "Clients"), parsed the same way in the `treaty`
// CLI, treaty-web and treaty-webhook: --tls-ca FILE, --tls-cert FILE
// --tls-key FILE, --tls-server-name NAME, --token-file FILE; and from the
// environment $TREATY_TOKEN (the token, when no token file is named) and
// $TREATY_TLS_CA (the CA, when no --tls-ca is given).
//
// Thread-safety: a plain value; use it from one thread while parsing.
#pragma once

#include <string>

#include "adapters/common/client_channel.h"

namespace treaty::adapters {

// The flags as the usage lines show them.
inline constexpr const char* kClientSecurityUsage =
    "[--tls-ca FILE] [--tls-cert FILE --tls-key FILE] [--tls-server-name NAME] [--token-file FILE]";

struct ClientSecurityFlags {
  ClientSecurity security;  // file paths; `token` once Finish read it
  std::string token_file;

  // True when `flag` is one of the five flags above.
  static bool Is(const std::string& flag);
  // Stores `value` for `flag` (which Is() accepted); a later one replaces an earlier one.
  void Take(const std::string& flag, const std::string& value);
  // Fills what was not given: the token from token_file, else from
  // $TREATY_TOKEN; tls_ca from $TREATY_TLS_CA. False and *err on an
  // unreadable or empty token file.
  bool Finish(std::string* err);
};

}  // namespace treaty::adapters
