// Caller: who made a gRPC call, as the Authenticator (authenticator.h)
// wrote it into the call's AuthContext before any handler ran: the client
// identity (a token's name or a client certificate's subject CN) and, for
// a token that names one, the person using it.
//
// Thread-safety: plain values and a pure function over the call's context.
#pragma once

#include <optional>
#include <string>

#include <grpcpp/grpcpp.h>

namespace treaty::engine::access {

// AuthContext properties the Authenticator sets (never sent by a client:
// gRPC fills an AuthContext only from the transport and the processor).
inline constexpr char kClientProperty[] = "treaty.client";
inline constexpr char kUserProperty[] = "treaty.user";

struct Caller {
  std::string client;  // identity in the access file
  std::string user;    // "" when the credential names no person

  // "client 'alice'" or "client 'web' (user 'bob')", for messages and logs.
  std::string Describe() const;
};

// The call's caller; nullopt when no identity was established (a node
// without authentication, or the health service).
std::optional<Caller> CallerOf(const grpc::ServerContextBase& ctx);

}  // namespace treaty::engine::access
