#include "engine/access/caller.h"

#include <grpc/grpc_security_constants.h>

#include <string_view>

namespace treaty::engine::access {

std::string Caller::Describe() const {
  return "client '" + client + "'" + (user.empty() ? "" : " (user '" + user + "')");
}

std::string FirstProperty(const grpc::AuthContext& ctx, const char* name) {
  auto v = ctx.FindPropertyValues(name);
  return v.empty() ? "" : std::string(v.front().data(), v.front().size());
}

Result<Caller> CallerIdentifier::Identify(const std::string* authorization,
                                          const grpc::AuthContext& connection) const {
  if (authorization != nullptr) {
    if (tokens_ == nullptr)
      return Status::PermissionDenied("this node accepts no bearer tokens (it was started without --tokens)");
    constexpr std::string_view kBearer = "Bearer ";
    const std::string& value = *authorization;
    if (value.rfind(kBearer, 0) != 0 || value.size() == kBearer.size())
      return Status::PermissionDenied("the authorization metadata must be 'Bearer <token>'");
    std::shared_ptr<const TokenSet> set = tokens_->Get();
    auto it = set->by_hash.find(TokenHash(value.substr(kBearer.size())));
    if (it == set->by_hash.end()) return Status::PermissionDenied("unknown or revoked bearer token");
    const TokenEntry& t = it->second;
    if (t.expires_ms && env_->NowMs() >= *t.expires_ms)
      return Status::PermissionDenied("the bearer token of client '" + t.name + "' expired at " + t.expires_text);
    return Caller{t.name, t.user, false};
  }
  // The handshake verified any certificate against --tls-client-ca; its
  // properties are the connection's and were set once, by the handshake.
  std::string cn = certificates_ ? FirstProperty(connection, GRPC_X509_CN_PROPERTY_NAME) : "";
  if (!cn.empty()) {
    if (!ValidIdentity(cn))
      return Status::PermissionDenied("the client certificate's CN '" + cn + "' is not a valid client name");
    return Caller{cn, "", true};
  }
  std::string ways = certificates_ && tokens_ ? "a client certificate or a bearer token ('authorization: Bearer <token>')"
                     : certificates_          ? "a client certificate"
                                              : "a bearer token ('authorization: Bearer <token>')";
  return Status::PermissionDenied("this node needs " + ways + " on every call");
}

std::optional<Caller> CallerIdentifier::Of(const grpc::ServerContextBase& ctx) const {
  std::shared_ptr<const grpc::AuthContext> auth = ctx.auth_context();
  if (!auth) return std::nullopt;
  const auto& md = ctx.client_metadata();
  auto it = md.find("authorization");
  std::string bearer;
  if (it != md.end()) bearer.assign(it->second.data(), it->second.size());
  Result<Caller> c = Identify(it != md.end() ? &bearer : nullptr, *auth);
  if (!c.ok()) return std::nullopt;
  return std::move(*c);
}

}  // namespace treaty::engine::access
