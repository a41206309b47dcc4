// ServerSecurity: how treatyd's API is protected, from its flags
// (--tls-cert, --tls-key, --tls-client-ca, --tokens, --access,
// --plaintext; docs/security.md): the server credentials with the
// Authenticator installed, the reloaded tokens and access files, and the
// Authorizer the services ask. Refuses combinations that would leave the
// API open: plaintext without --plaintext, plaintext off loopback, TLS
// without client authentication.
//
// Thread-safety: built once at start; the parts it owns are thread-safe.
#pragma once

#include <memory>
#include <string>

#include <grpcpp/grpcpp.h>

#include "definitions/base/env.h"
#include "definitions/base/status.h"
#include "engine/access/access_policy.h"
#include "engine/access/authenticator.h"
#include "engine/access/authorizer.h"
#include "engine/access/caller.h"
#include "engine/access/token_file.h"
#include "engine/access/watched_file.h"

namespace treaty::engine::access {

struct SecurityOptions {
  std::string tls_cert, tls_key, tls_client_ca;  // PEM files
  std::string tokens, access;                    // YAML files
  bool plaintext = false;
};

struct ServerSecurity {
  std::shared_ptr<grpc::ServerCredentials> credentials;
  std::unique_ptr<WatchedFile<TokenSet>> tokens;
  std::unique_ptr<WatchedFile<AccessPolicy>> access;
  std::unique_ptr<CallerIdentifier> identify;    // null: no authentication
  std::shared_ptr<Authenticator> authenticator;  // null: no authentication
  std::unique_ptr<Authorizer> authorizer;  // null: Authorizer::Open()
  std::string description;                 // for the start line: "TLS, client certificates, ..."

  const Authorizer& authorizer_or_open() const { return authorizer ? *authorizer : Authorizer::Open(); }
  // Refused calls are counted there from now on (before the server starts).
  void SetMetrics(NodeMetrics* metrics) {
    if (authenticator) authenticator->SetMetrics(metrics);
    if (authorizer) authorizer->SetMetrics(metrics);
  }
};

// Everything the flags ask for, or why the node must not start.
Result<std::unique_ptr<ServerSecurity>> MakeServerSecurity(const SecurityOptions& o, const std::string& listen,
                                                           Env* env);

// True when HOST of HOST:PORT is a loopback address (127.0.0.0/8, ::1,
// localhost).
bool IsLoopbackListen(const std::string& listen);

}  // namespace treaty::engine::access
