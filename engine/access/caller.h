// Caller and CallerIdentifier: who made a gRPC call. The client identity
// is a bearer token's name (with the person it acts for, if the tokens
// file names one) or a client certificate's subject CN.
//
// The identity is read from the call itself — its `authorization: Bearer`
// metadata, checked against the tokens file's current snapshot, or the
// certificate of its connection — every time it is asked for, by the
// Authenticator before any handler runs and by the Authorizer and the
// stream limits inside the handlers. It is never written into gRPC's
// AuthContext: that object belongs to the connection, not the call
// (grpc/grpc#28809). Properties added there per call pile up on the
// connection (a call would see the first caller's name, not its own: a
// second token on a shared connection would act as the first), and calls
// in flight on one connection add them concurrently, which gRPC's
// unsynchronised property array does not survive.
//
// Thread-safety: Caller is a plain value; CallerIdentifier is immutable
// and reads the tokens file's current snapshot, so any thread may use it.
#pragma once

#include <optional>
#include <string>

#include <grpcpp/grpcpp.h>

#include "definitions/base/env.h"
#include "definitions/base/status.h"
#include "engine/access/token_file.h"
#include "engine/access/watched_file.h"

namespace treaty::engine::access {

struct Caller {
  std::string client;             // identity in the access file
  std::string user;               // "" when the credential names no person
  bool by_certificate = false;    // identified by its client certificate, not a token

  // "client 'alice'" or "client 'web' (user 'bob')", for messages and logs.
  std::string Describe() const;
};

class CallerIdentifier {
 public:
  // `tokens` null: no bearer tokens are accepted; `certificates`: client
  // certificates verified by the TLS handshake identify their callers.
  CallerIdentifier(const WatchedFile<TokenSet>* tokens, bool certificates, Env* env)
      : tokens_(tokens), certificates_(certificates), env_(env) {}

  // The caller of a call with this `authorization` metadata value (null:
  // none) on a connection with this AuthContext, or why it has none (the
  // message a refusal gives): a present token wins over a certificate, and
  // a present but bad token is refused even with a good certificate. (The
  // Status's code carries nothing: a caller without an identity is
  // UNAUTHENTICATED wherever it is refused.)
  Result<Caller> Identify(const std::string* authorization, const grpc::AuthContext& connection) const;

  // The same for a call a handler is serving; nullopt when it has no valid
  // credential (now: a token revoked since the call began has none).
  std::optional<Caller> Of(const grpc::ServerContextBase& ctx) const;

 private:
  const WatchedFile<TokenSet>* tokens_;
  const bool certificates_;
  Env* env_;
};

// The first value of an AuthContext property, "" if it has none.
std::string FirstProperty(const grpc::AuthContext& ctx, const char* name);

}  // namespace treaty::engine::access
