// ClientChannel: a gRPC channel to a treatyd node with the credentials its
// API asks for (docs/security.md, "Clients"): plaintext, or TLS verifying
// the node against a CA file, optionally with a client certificate, and
// optionally a bearer token sent as `authorization: Bearer <token>` on
// every call (by a client interceptor, so it works over plaintext on
// loopback too, where gRPC's call credentials would not be sent).
//
// Thread-safety: MakeClientChannel is a pure function; the channel is
// gRPC's, safe from any thread.
#pragma once

#include <memory>
#include <optional>
#include <string>

#include <grpcpp/grpcpp.h>

namespace treaty::adapters {

struct ClientSecurity {
  std::string tls_ca;           // PEM: the CA that signed the node's certificate (TLS)
  std::string tls_cert, tls_key;  // PEM: the client certificate and its key (mutual TLS)
  std::string tls_server_name;  // the name checked in the node's certificate, if not the address's host
  std::string token;            // the bearer token itself ("" none)

  bool tls() const { return !tls_ca.empty() || !tls_cert.empty() || !tls_server_name.empty(); }
};

// The first line of a token file, without surrounding whitespace; "" and
// *err set when it cannot be read or is empty.
std::string ReadTokenFile(const std::string& path, std::string* err);

// A channel to `target`; nullptr and *err set when a file cannot be read.
std::shared_ptr<grpc::Channel> MakeClientChannel(const std::string& target, const ClientSecurity& s,
                                                 std::string* err);

// The same in two halves, for a daemon that makes a new channel for each
// reconnection: the files are read once (a file moved later changes
// nothing), then any number of channels are made from what was read.
struct ClientChannelConfig {
  std::shared_ptr<grpc::ChannelCredentials> credentials;
  grpc::ChannelArguments arguments;
  std::string token;
};
// Nothing and *err set when a file cannot be read.
std::optional<ClientChannelConfig> ReadClientChannelConfig(const ClientSecurity& s, std::string* err);
std::shared_ptr<grpc::Channel> MakeClientChannel(const std::string& target, const ClientChannelConfig& c);

}  // namespace treaty::adapters
