#include "engine/types.h"

#include <algorithm>
#include <set>

#include <nlohmann/json.hpp>

#include "definitions/value.h"

namespace treaty::engine {

using json = nlohmann::json;

const char* KindName(ProposalKind k) { return k == ProposalKind::kStart ? "start" : "step"; }

std::optional<ProposalKind> KindFromName(std::string_view name) {
  if (name == "start") return ProposalKind::kStart;
  if (name == "step") return ProposalKind::kStep;
  return std::nullopt;
}

const char* TaskStateName(TaskState s) {
  switch (s) {
    case TaskState::kOpen: return "open";
    case TaskState::kClaimed: return "claimed";
    case TaskState::kCompleted: return "completed";
    case TaskState::kCancelled: return "cancelled";
  }
  return "unknown";
}

std::optional<TaskState> TaskStateFromName(std::string_view name) {
  for (TaskState s : {TaskState::kOpen, TaskState::kClaimed, TaskState::kCompleted, TaskState::kCancelled})
    if (name == TaskStateName(s)) return s;
  return std::nullopt;
}

const char* JobStateName(JobState s) {
  switch (s) {
    case JobState::kActivatable: return "activatable";
    case JobState::kActivated: return "activated";
    case JobState::kFailed: return "failed";
    case JobState::kIncident: return "incident";
    case JobState::kCompleted: return "completed";
    case JobState::kErrorThrown: return "error_thrown";
    case JobState::kCancelled: return "cancelled";
  }
  return "unknown";
}

std::optional<JobState> JobStateFromName(std::string_view name) {
  for (JobState s : {JobState::kActivatable, JobState::kActivated, JobState::kFailed, JobState::kIncident,
                     JobState::kCompleted, JobState::kErrorThrown, JobState::kCancelled})
    if (name == JobStateName(s)) return s;
  return std::nullopt;
}

const char* StatusName(ProposalStatus s) {
  switch (s) {
    case ProposalStatus::kPending: return "pending";
    case ProposalStatus::kSealed: return "sealed";
    case ProposalStatus::kReceived: return "received";
    case ProposalStatus::kConfirmed: return "confirmed";
    case ProposalStatus::kRejected: return "rejected";
  }
  return "unknown";
}

std::optional<ProposalStatus> StatusFromName(std::string_view name) {
  for (auto s : {ProposalStatus::kPending, ProposalStatus::kSealed, ProposalStatus::kReceived,
                 ProposalStatus::kConfirmed, ProposalStatus::kRejected})
    if (name == StatusName(s)) return s;
  return std::nullopt;
}

const char* OutcomeName(Outcome o) { return o == Outcome::kConfirmed ? "CONFIRMED" : "REJECTED"; }

std::optional<Outcome> OutcomeFromName(std::string_view name) {
  if (name == "CONFIRMED") return Outcome::kConfirmed;
  if (name == "REJECTED") return Outcome::kRejected;
  return std::nullopt;
}

StatusCode StatusForReject(RejectCode code) {
  switch (code) {
    case RejectCode::kUnknownStep:
    case RejectCode::kUnknownInstance: return StatusCode::kNotFound;
    case RejectCode::kWrongRole: return StatusCode::kPermissionDenied;
    case RejectCode::kInvalidInput:
    case RejectCode::kInvalidData: return StatusCode::kInvalidArgument;
    case RejectCode::kAlreadyExists: return StatusCode::kAlreadyExists;
    default: return StatusCode::kFailedPrecondition;  // NOT_FROM_STATE, GUARD_FALSE, UNIQUE_TAKEN, ...
  }
}

int64_t OutboxBackoffMs(int64_t attempts) {
  return attempts >= 5 ? 5000 : std::min<int64_t>(5000, int64_t{250} << attempts);
}

std::string RolesJson(const std::map<std::string, std::string>& roles) {
  Value v = Value::Object();
  for (const auto& [role, party] : roles) v.Set(role, Value::Str(party));
  return v.ToCanonicalJson();
}

Result<std::map<std::string, std::string>> RolesFromJson(std::string_view text) {
  auto j = json::parse(text, nullptr, false);
  if (!j.is_object()) return Status::InvalidArgument("roles must be a JSON object");
  std::map<std::string, std::string> out;
  for (auto& [role, party] : j.items()) {
    if (!party.is_string()) return Status::InvalidArgument("role '" + role + "' must name a party");
    out[role] = party.get<std::string>();
  }
  return out;
}

std::vector<std::string> MembersOf(const std::map<std::string, std::string>& roles) {
  std::set<std::string> parties;
  for (const auto& [role, party] : roles) parties.insert(party);
  return {parties.begin(), parties.end()};
}

std::vector<std::string> RolesOf(const std::map<std::string, std::string>& roles, const std::string& party) {
  std::vector<std::string> out;
  for (const auto& [role, p] : roles)
    if (p == party) out.push_back(role);
  return out;
}

std::string ProposalExtra::ToJson() const {
  json j = json::object();
  if (!definition.empty()) {
    j["definition"] = definition;
    j["version"] = version;
  }
  if (!hash_hex.empty()) j["hash"] = hash_hex;
  if (!roles.empty()) j["roles"] = roles;
  if (!salt_hex.empty()) j["salt"] = salt_hex;
  if (!claims.empty()) {
    json c = json::array();
    for (const auto& d : claims) c.push_back(ToHex(d));
    j["claims"] = c;
  }
  if (!commitments.empty()) j["commitments"] = commitments;
  return j.dump();
}

Result<ProposalExtra> ProposalExtra::FromJson(std::string_view text) {
  ProposalExtra e;
  if (text.empty()) return e;
  auto j = json::parse(text, nullptr, false);
  if (!j.is_object()) return Status::DataLoss("a proposal's extra is not a JSON object");
  auto str = [&](const char* key, std::string* out) -> Status {
    auto it = j.find(key);
    if (it == j.end()) return Status::Ok();
    if (!it->is_string()) return Status::DataLoss(std::string("a proposal's '") + key + "' is not a string");
    *out = it->get<std::string>();
    return Status::Ok();
  };
  TREATY_RETURN_IF_ERROR(str("definition", &e.definition));
  TREATY_RETURN_IF_ERROR(str("hash", &e.hash_hex));
  TREATY_RETURN_IF_ERROR(str("salt", &e.salt_hex));
  if (auto it = j.find("version"); it != j.end()) {
    if (!it->is_number_integer()) return Status::DataLoss("a proposal's version is not an integer");
    e.version = it->get<int64_t>();
  }
  if (auto it = j.find("roles"); it != j.end()) {
    auto roles = RolesFromJson(it->dump());
    if (!roles.ok()) return Status::DataLoss("a proposal's roles: " + roles.status().message());
    e.roles = std::move(roles).value();
  }
  if (auto it = j.find("claims"); it != j.end()) {
    if (!it->is_array()) return Status::DataLoss("a proposal's claims are not a list");
    for (const auto& c : *it) {
      Digest d{};
      if (!c.is_string() || !DigestFromHex(c.get<std::string>(), &d))
        return Status::DataLoss("a proposal's claim is not a 64-digit hex digest");
      e.claims.push_back(d);
    }
  }
  if (auto it = j.find("commitments"); it != j.end()) {
    if (!it->is_object()) return Status::DataLoss("a proposal's commitments are not an object");
    for (auto& [field, c] : it->items()) {
      if (!c.is_string()) return Status::DataLoss("a proposal's commitment of '" + field + "' is not a string");
      e.commitments[field] = c.get<std::string>();
    }
  }
  return e;
}

}  // namespace treaty::engine
