#include "engine/access/access_policy.h"

#include <yaml-cpp/yaml.h>

#include <cctype>

#include "engine/access/token_file.h"

namespace treaty::engine::access {
namespace {

Result<std::set<std::string>> Names(const YAML::Node& n, const std::string& where) {
  std::set<std::string> out;
  if (!n || n.IsNull()) return out;
  if (!n.IsSequence()) return Status::InvalidArgument(where + " must be a list of names");
  for (const auto& v : n) {
    if (!v.IsScalar() || v.Scalar().empty()) return Status::InvalidArgument(where + " must be a list of names");
    out.insert(v.Scalar());
  }
  return out;
}

bool Flag(const YAML::Node& n, const std::string& where, Status* err) {
  if (!n.IsScalar() || (n.Scalar() != "true" && n.Scalar() != "false")) {
    *err = Status::InvalidArgument(where + " must be true or false");
    return false;
  }
  return n.Scalar() == "true";
}

Result<ClientGrants> ParseClient(const YAML::Node& c, const std::string& where) {
  ClientGrants g;
  if (c.IsNull()) return g;  // listed, may do nothing
  if (!c.IsMap()) return Status::InvalidArgument(where + " must be a map");
  for (auto it = c.begin(); it != c.end(); ++it) {
    std::string k = it->first.Scalar();
    std::string at = where + ": " + k;
    Status err;
    if (k == "processes") {
      if (!it->second.IsSequence()) return Status::InvalidArgument(at + " must be a list of {definition, roles}");
      for (const auto& p : it->second) {
        if (!p.IsMap() || !p["definition"] || !p["definition"].IsScalar())
          return Status::InvalidArgument(at + ": each entry needs 'definition' (a name or \"*\") and 'roles'");
        for (auto pk = p.begin(); pk != p.end(); ++pk)
          if (pk->first.Scalar() != "definition" && pk->first.Scalar() != "roles")
            return Status::InvalidArgument(at + ": unknown key '" + pk->first.Scalar() + "' (definition, roles)");
        std::string def = p["definition"].Scalar();
        auto roles = Names(p["roles"], at + " of " + def + ": roles");
        if (!roles.ok()) return roles.status();
        if (roles->empty()) return Status::InvalidArgument(at + " of " + def + ": roles must name at least one role (\"*\": all)");
        g.processes[def].insert(roles->begin(), roles->end());
      }
    } else if (k == "task_queues" || k == "job_types") {
      auto names = Names(it->second, at);
      if (!names.ok()) return names.status();
      (k == "task_queues" ? g.task_queues : g.job_types) = std::move(*names);
    } else if (k == "read_only") {
      g.read_only = Flag(it->second, at, &err);
      if (!err.ok()) return err;
    } else if (k == "operator") {
      g.is_operator = Flag(it->second, at, &err);
      if (!err.ok()) return err;
    } else {
      return Status::InvalidArgument(at + ": unknown key (processes, task_queues, job_types, read_only, operator)");
    }
  }
  if (g.read_only && (g.is_operator || !g.processes.empty() || !g.task_queues.empty() || !g.job_types.empty()))
    return Status::InvalidArgument(where + ": read_only grants nothing else; remove it or the other grants");
  return g;
}

}  // namespace

std::set<std::string> ClientGrants::RolesOf(const std::string& definition) const {
  std::set<std::string> out;
  for (const char* key : {definition.c_str(), kAll}) {
    auto it = processes.find(key);
    if (it != processes.end()) out.insert(it->second.begin(), it->second.end());
  }
  return out;
}

std::string NormalizeFingerprint(const std::string& text) {
  std::string out;
  for (char c : text) {
    if (c == ':') continue;
    if (!std::isxdigit(static_cast<unsigned char>(c))) return "";
    out += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  }
  return out.size() == 64 ? out : "";
}

Result<AccessPolicy> ParseAccessFile(const std::string& path) {
  AccessPolicy out;
  try {
    YAML::Node root = YAML::LoadFile(path);
    if (!root.IsMap()) return Status::InvalidArgument(path + ": expected a map with 'clients'");
    for (auto it = root.begin(); it != root.end(); ++it) {
      std::string k = it->first.Scalar();
      if (k == "clients") {
        if (!it->second.IsMap()) return Status::InvalidArgument(path + ": clients must be a map of identities");
        for (auto c = it->second.begin(); c != it->second.end(); ++c) {
          std::string name = c->first.Scalar();
          if (!ValidIdentity(name))
            return Status::InvalidArgument(path + ": client '" + name + "' must be letters, digits, '.', '_', '-' or '@'");
          auto g = ParseClient(c->second, path + ": client '" + name + "'");
          if (!g.ok()) return g.status();
          out.clients[name] = std::move(*g);
        }
      } else if (k == "revoked_certificates") {
        auto list = Names(it->second, path + ": revoked_certificates");
        if (!list.ok()) return list.status();
        for (const auto& f : *list) {
          std::string n = NormalizeFingerprint(f);
          if (n.empty())
            return Status::InvalidArgument(path + ": revoked_certificates: '" + f +
                                           "' is not a SHA-256 fingerprint (openssl x509 -noout -fingerprint -sha256)");
          out.revoked_certificates.insert(n);
        }
      } else {
        return Status::InvalidArgument(path + ": unknown setting '" + k + "' (clients, revoked_certificates)");
      }
    }
  } catch (const YAML::Exception& ex) {
    return Status::InvalidArgument(path + ": " + ex.what());
  }
  return out;
}

}  // namespace treaty::engine::access
