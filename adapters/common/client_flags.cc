#include "adapters/common/client_flags.h"

#include <cstdlib>

namespace treaty::adapters {

bool ClientSecurityFlags::Is(const std::string& flag) {
  return flag == "--tls-ca" || flag == "--tls-cert" || flag == "--tls-key" || flag == "--tls-server-name" ||
         flag == "--token-file";
}

void ClientSecurityFlags::Take(const std::string& flag, const std::string& value) {
  if (flag == "--tls-ca") security.tls_ca = value;
  else if (flag == "--tls-cert") security.tls_cert = value;
  else if (flag == "--tls-key") security.tls_key = value;
  else if (flag == "--tls-server-name") security.tls_server_name = value;
  else if (flag == "--token-file") token_file = value;
}

bool ClientSecurityFlags::Finish(std::string* err) {
  if (!token_file.empty()) {
    security.token = ReadTokenFile(token_file, err);
    if (security.token.empty()) return false;
  } else if (const char* env = std::getenv("TREATY_TOKEN"); env != nullptr && security.token.empty()) {
    security.token = env;
  }
  if (security.tls_ca.empty())
    if (const char* env = std::getenv("TREATY_TLS_CA"); env != nullptr) security.tls_ca = env;
  return true;
}

}  // namespace treaty::adapters
