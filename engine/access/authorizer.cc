#include "engine/access/authorizer.h"

namespace treaty::engine::access {
namespace {

using Why = std::optional<std::string>;

std::string Join(const std::vector<defs::NamedRef>& refs) {
  std::string out;
  for (const auto& r : refs) out += (out.empty() ? "" : " or ") + r.name;
  return out;
}

bool Allows(const ClientGrants& g, Authorizer::Use use, bool granted) {
  if (granted) return true;
  if (use == Authorizer::Use::kRead) return g.ReadsAll();
  if (use == Authorizer::Use::kAdminister) return g.is_operator;
  return false;
}

Why ReadOnlyNote(const ClientGrants& g) { return g.read_only ? Why("it is read-only") : Why(""); }

}  // namespace

const Authorizer& Authorizer::Open() {
  static const Authorizer open;
  return open;
}

grpc::Status Authorizer::Identify(const grpc::ServerContextBase& ctx, Who* who) const {
  if (open_) {
    who->caller.client = "local";
    return grpc::Status::OK;
  }
  auto caller = identify_->Of(ctx);
  if (!caller) {
    // The Authenticator let only calls with a valid credential through; a
    // token revoked or expired since the call began has none now.
    env_->Log("access", "refused a call without an authenticated client", LogLevel::kWarning);
    if (metrics_ != nullptr) metrics_->CallRefused("unknown", "unauthenticated");
    return grpc::Status(grpc::UNAUTHENTICATED, "no authenticated client");
  }
  who->caller = std::move(*caller);
  if (access_ == nullptr) return grpc::Status::OK;
  who->policy = access_->Get();
  auto it = who->policy->clients.find(who->caller.client);
  if (it == who->policy->clients.end()) who->unlisted = true;
  else who->grants = &it->second;
  return grpc::Status::OK;
}

std::optional<Caller> Authorizer::CallerOf(const grpc::ServerContextBase& ctx) const {
  if (open_) return std::nullopt;
  return identify_->Of(ctx);
}

grpc::Status Authorizer::Refuse(const Who& who, const std::string& what, const std::string& why) const {
  std::string message = who.caller.Describe() + " may not " + what + (why.empty() ? "" : ": " + why);
  env_->Log("access", "refused: " + message, LogLevel::kWarning);
  // Labelled by what was asked ("trigger", "claim", ...), a small set.
  if (metrics_ != nullptr) metrics_->CallRefused(what.substr(0, what.find(' ')), "permission_denied");
  return grpc::Status(grpc::PERMISSION_DENIED, message);
}

grpc::Status Authorizer::Decide(const grpc::ServerContextBase& ctx, const std::string& what,
                                const std::function<Why(const ClientGrants&)>& why_not) const {
  if (open_) return grpc::Status::OK;
  Who who;
  if (grpc::Status st = Identify(ctx, &who); !st.ok()) return st;
  if (who.unlisted) return Refuse(who, what, "it is not listed in the access file");
  if (who.grants == nullptr) return grpc::Status::OK;
  Why why = why_not(*who.grants);
  return why ? Refuse(who, what, *why) : grpc::Status::OK;
}

grpc::Status Authorizer::Listed(const grpc::ServerContextBase& ctx) const {
  return Decide(ctx, "call this node", [](const ClientGrants&) { return Why(); });
}

grpc::Status Authorizer::Start(const grpc::ServerContextBase& ctx, const std::string& definition) const {
  return Decide(ctx, "start " + definition, [&](const ClientGrants& g) -> Why {
    if (!g.RolesOf(definition).empty()) return std::nullopt;
    return g.read_only ? ReadOnlyNote(g) : Why("it holds no role of " + definition);
  });
}

grpc::Status Authorizer::Trigger(const grpc::ServerContextBase& ctx, const defs::Definition& def,
                                 const defs::StepSpec& step) const {
  return Decide(ctx, "trigger step '" + step.name + "' of " + def.process + " (role " + Join(step.by) + ")",
                [&](const ClientGrants& g) -> Why {
                  std::set<std::string> roles = g.RolesOf(def.process);
                  if (roles.count(kAll)) return std::nullopt;
                  for (const auto& r : step.by)
                    if (roles.count(r.name)) return std::nullopt;
                  return ReadOnlyNote(g);
                });
}

grpc::Status Authorizer::ReadProcess(const grpc::ServerContextBase& ctx, const std::string& definition) const {
  return Decide(ctx, "read instances of " + definition, [&](const ClientGrants& g) -> Why {
    if (g.ReadsAll() || !g.RolesOf(definition).empty()) return std::nullopt;
    return Why("it holds no role of " + definition);
  });
}

grpc::Status Authorizer::ReadAll(const grpc::ServerContextBase& ctx, const std::string& what) const {
  return Decide(ctx, what, [](const ClientGrants& g) -> Why {
    return g.ReadsAll() ? std::nullopt : Why("only read_only and operator clients read everything");
  });
}

grpc::Status Authorizer::Queue(const grpc::ServerContextBase& ctx, const std::string& queue, Use use,
                               const std::string& verb) const {
  return Decide(ctx, verb + " tasks of queue '" + queue + "'", [&](const ClientGrants& g) -> Why {
    return Allows(g, use, g.HasQueue(queue)) ? std::nullopt : ReadOnlyNote(g);
  });
}

grpc::Status Authorizer::JobType(const grpc::ServerContextBase& ctx, const std::string& type, Use use,
                                 const std::string& verb) const {
  return Decide(ctx, verb + " jobs of type '" + type + "'", [&](const ClientGrants& g) -> Why {
    return Allows(g, use, g.HasJobType(type)) ? std::nullopt : ReadOnlyNote(g);
  });
}

grpc::Status Authorizer::Node(const grpc::ServerContextBase& ctx, const std::string& what, bool read) const {
  return Decide(ctx, what, [&](const ClientGrants& g) -> Why {
    if (g.is_operator || (read && g.read_only)) return std::nullopt;
    return Why(read ? "it is neither operator nor read_only" : "it is not an operator");
  });
}

grpc::Status Authorizer::Assignee(const grpc::ServerContextBase& ctx, const std::string& requested,
                                  const std::string& verb, std::string* out) const {
  *out = requested;
  if (open_) return grpc::Status::OK;
  Who who;
  if (grpc::Status st = Identify(ctx, &who); !st.ok()) return st;
  if (who.caller.user.empty()) return grpc::Status::OK;
  if (requested.empty() || requested == who.caller.user) {
    *out = who.caller.user;
    return grpc::Status::OK;
  }
  if (!who.unlisted && (who.grants == nullptr || who.grants->is_operator)) return grpc::Status::OK;
  return Refuse(who, verb + " for '" + requested + "'", "it acts for user '" + who.caller.user + "' (operators only)");
}

grpc::Status Authorizer::Holder(const grpc::ServerContextBase& ctx, const std::string& holder,
                                const std::string& verb) const {
  if (open_) return grpc::Status::OK;
  Who who;
  if (grpc::Status st = Identify(ctx, &who); !st.ok()) return st;
  if (who.caller.user.empty() || holder.empty() || holder == who.caller.user) return grpc::Status::OK;
  if (!who.unlisted && (who.grants == nullptr || who.grants->is_operator)) return grpc::Status::OK;
  return Refuse(who, verb + " a task claimed by '" + holder + "'",
                "it acts for user '" + who.caller.user + "' (operators only)");
}

std::function<bool(const std::string&)> Authorizer::EventFilter(const grpc::ServerContextBase& ctx) const {
  if (open_) return [](const std::string&) { return true; };
  Who who;
  if (!Identify(ctx, &who).ok() || who.unlisted) return [](const std::string&) { return false; };
  if (who.grants == nullptr || who.grants->ReadsAll()) return [](const std::string&) { return true; };
  return [policy = who.policy, grants = who.grants](const std::string& def) {
    return !def.empty() && !grants->RolesOf(def).empty();
  };
}

}  // namespace treaty::engine::access
