#include "engine/access/server_security.h"

#include <arpa/inet.h>

#include <fstream>
#include <sstream>

#include <grpcpp/security/server_credentials.h>

namespace treaty::engine::access {
namespace {

Result<std::string> ReadPem(const std::string& path, const char* flag) {
  std::ifstream f(path);
  if (!f) return Status::InvalidArgument(std::string(flag) + " " + path + ": cannot read the file");
  std::stringstream s;
  s << f.rdbuf();
  if (s.str().find("-----BEGIN ") == std::string::npos)
    return Status::InvalidArgument(std::string(flag) + " " + path + ": not a PEM file");
  return s.str();
}

}  // namespace

bool IsLoopbackListen(const std::string& listen) {
  std::string host;
  if (!listen.empty() && listen[0] == '[') {
    auto close = listen.find(']');
    if (close == std::string::npos) return false;
    host = listen.substr(1, close - 1);
  } else {
    auto colon = listen.rfind(':');
    host = colon == std::string::npos ? listen : listen.substr(0, colon);
  }
  if (host == "localhost") return true;
  in_addr v4{};
  if (inet_pton(AF_INET, host.c_str(), &v4) == 1) return (ntohl(v4.s_addr) >> 24) == 127;
  in6_addr v6{};
  if (inet_pton(AF_INET6, host.c_str(), &v6) == 1) return IN6_IS_ADDR_LOOPBACK(&v6);
  return false;
}

Result<std::unique_ptr<ServerSecurity>> MakeServerSecurity(const SecurityOptions& o, const std::string& listen,
                                                           Env* env) {
  const bool tls = !o.tls_cert.empty() || !o.tls_key.empty();
  if (o.plaintext && (tls || !o.tls_client_ca.empty()))
    return Status::InvalidArgument("--plaintext and TLS settings (--tls-cert, --tls-key, --tls-client-ca) together: "
                                   "choose one");
  if (!tls && !o.plaintext) {
    if (!o.tls_client_ca.empty()) return Status::InvalidArgument("--tls-client-ca needs --tls-cert and --tls-key");
    return Status::InvalidArgument(
        "the API on " + listen + " would be plaintext: give --tls-cert FILE --tls-key FILE with --tls-client-ca FILE "
        "and/or --tokens FILE, or --plaintext to serve plaintext on a loopback address (development)");
  }
  if (o.plaintext && !IsLoopbackListen(listen))
    return Status::InvalidArgument("--plaintext is allowed only on a loopback address (127.0.0.1, ::1, localhost), "
                                   "not on " + listen + ": a node reachable from the network needs --tls-cert and --tls-key");
  if (tls && (o.tls_cert.empty() || o.tls_key.empty()))
    return Status::InvalidArgument("--tls-cert and --tls-key go together (the node's certificate and its key)");
  if (tls && o.tls_client_ca.empty() && o.tokens.empty())
    return Status::InvalidArgument("TLS needs a client authentication: --tls-client-ca FILE (client certificates) "
                                   "and/or --tokens FILE (bearer tokens)");
  if (!o.access.empty() && o.tls_client_ca.empty() && o.tokens.empty())
    return Status::InvalidArgument("--access needs authenticated clients: --tls-client-ca FILE and/or --tokens FILE");

  auto s = std::make_unique<ServerSecurity>();
  if (!o.tokens.empty()) {
    auto t = WatchedFile<TokenSet>::Open(o.tokens, "tokens file", ParseTokenFile, env);
    if (!t.ok()) return Status::InvalidArgument("--tokens " + t.status().message());
    s->tokens = std::move(*t);
  }
  if (!o.access.empty()) {
    auto a = WatchedFile<AccessPolicy>::Open(o.access, "access file", ParseAccessFile, env);
    if (!a.ok()) return Status::InvalidArgument("--access " + a.status().message());
    s->access = std::move(*a);
  }
  const bool certificates = !o.tls_client_ca.empty();
  if (tls) {
    grpc::SslServerCredentialsOptions ssl;
    TREATY_ASSIGN_OR_RETURN(std::string cert, ReadPem(o.tls_cert, "--tls-cert"));
    TREATY_ASSIGN_OR_RETURN(std::string key, ReadPem(o.tls_key, "--tls-key"));
    ssl.pem_key_cert_pairs.push_back({key, cert});
    if (certificates) {
      TREATY_ASSIGN_OR_RETURN(ssl.pem_root_certs, ReadPem(o.tls_client_ca, "--tls-client-ca"));
    }
    // A certificate, when sent, is verified by the handshake (another CA,
    // expired: the connection fails); none at all reaches the
    // Authenticator, which refuses the call with UNAUTHENTICATED unless it
    // carries a token.
    ssl.client_certificate_request = certificates ? GRPC_SSL_REQUEST_CLIENT_CERTIFICATE_AND_VERIFY
                                                  : GRPC_SSL_DONT_REQUEST_CLIENT_CERTIFICATE;
    s->credentials = grpc::SslServerCredentials(ssl);
  } else {
    // Plaintext on loopback; local credentials also refuse any peer that
    // is not on this machine, and carry the Authenticator for tokens.
    s->credentials = grpc::experimental::LocalServerCredentials(LOCAL_TCP);
  }
  std::string how = tls ? "TLS" : "plaintext (loopback only)";
  if (certificates || s->tokens) {
    s->identify = std::make_unique<CallerIdentifier>(s->tokens.get(), certificates, env);
    s->authenticator = std::make_shared<Authenticator>(s->identify.get(), s->access.get(), env);
    s->credentials->SetAuthMetadataProcessor(s->authenticator);
    s->authorizer = std::make_unique<Authorizer>(s->identify.get(), s->access.get(), env);
    if (certificates) how += ", client certificates from " + o.tls_client_ca;
    if (s->tokens) how += ", bearer tokens from " + o.tokens;
    how += s->access ? ", permissions from " + o.access : ", every authenticated client may do everything (no --access)";
  } else {
    how += ", no authentication: every caller may do everything (development)";
  }
  s->description = how;
  return s;
}

}  // namespace treaty::engine::access
