#include "engine/access/caller.h"

namespace treaty::engine::access {

std::string Caller::Describe() const {
  return "client '" + client + "'" + (user.empty() ? "" : " (user '" + user + "')");
}

std::optional<Caller> CallerOf(const grpc::ServerContextBase& ctx) {
  std::shared_ptr<const grpc::AuthContext> auth = ctx.auth_context();
  if (!auth) return std::nullopt;
  auto clients = auth->FindPropertyValues(kClientProperty);
  if (clients.empty()) return std::nullopt;
  Caller c;
  c.client.assign(clients.front().data(), clients.front().size());
  auto users = auth->FindPropertyValues(kUserProperty);
  if (!users.empty()) c.user.assign(users.front().data(), users.front().size());
  return c;
}

}  // namespace treaty::engine::access
