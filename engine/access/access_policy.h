// AccessPolicy: what each client identity may do (--access FILE,
// docs/security.md), and the client certificates revoked before they
// expire:
//
//   clients:
//     order-desk:
//       processes:                     # start, and the steps of these roles
//         - { definition: purchase-order, roles: [buyer] }   # roles: ["*"]: all
//       task_queues: [sales-approvals]  # read, claim, complete ("*": all)
//       job_types: [credit-check]       # activate, complete, fail ("*": all)
//     auditor: { read_only: true }     # reads everything, changes nothing
//     ops: { operator: true }          # status, incidents, task administration
//   revoked_certificates:              # SHA-256 fingerprints (colons optional)
//     - "AB:CD:..."
//
// Thread-safety: immutable once parsed.
#pragma once

#include <map>
#include <set>
#include <string>

#include "definitions/base/status.h"

namespace treaty::engine::access {

inline constexpr char kAll[] = "*";

struct ClientGrants {
  std::map<std::string, std::set<std::string>> processes;  // definition ("*": any) -> roles ("*": all)
  std::set<std::string> task_queues;                       // "*": every queue
  std::set<std::string> job_types;                         // "*": every type
  bool read_only = false;
  bool is_operator = false;

  bool ReadsAll() const { return read_only || is_operator; }
  // The roles granted for a definition (its own entry and "*"'s).
  std::set<std::string> RolesOf(const std::string& definition) const;
  bool HasQueue(const std::string& q) const { return task_queues.count(kAll) || task_queues.count(q); }
  bool HasJobType(const std::string& t) const { return job_types.count(kAll) || job_types.count(t); }
};

struct AccessPolicy {
  std::map<std::string, ClientGrants> clients;
  std::set<std::string> revoked_certificates;  // lowercase hex, no colons
};

Result<AccessPolicy> ParseAccessFile(const std::string& path);

// "AB:CD:.." or "abcd.." as lowercase hex without colons; "" if not 32 bytes.
std::string NormalizeFingerprint(const std::string& text);

}  // namespace treaty::engine::access
