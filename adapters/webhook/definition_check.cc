#include "definition_check.h"

#include <algorithm>
#include <map>
#include <set>

#include <nlohmann/json.hpp>

#include "duration.h"

namespace treaty::webhook {

namespace {

// The definitions' default lease (docs/definitions.md, job `timeout`).
constexpr int64_t kDefaultLeaseMs = 5 * 60 * 1000;

struct JobStep {
  std::string where;  // "loan v1 step check"
  std::set<std::string> inputs;
  std::set<std::string> codes;
  int64_t lease_ms = kDefaultLeaseMs;
};

std::string Join(const std::set<std::string>& s) {
  std::string out;
  for (const auto& x : s) out += (out.empty() ? "" : ", ") + x;
  return out.empty() ? "none" : out;
}

}  // namespace

DefinitionCheck CheckAgainstDefinitions(const WebhookConfig& config, const std::vector<LoadedDefinition>& defs) {
  DefinitionCheck out;
  std::map<std::string, std::vector<JobStep>> by_type;
  for (const auto& d : defs) {
    nlohmann::json j = nlohmann::json::parse(d.canonical_json, nullptr, false);
    if (!j.is_object() || !j.contains("steps") || !j["steps"].is_object()) {
      out.warnings.push_back("definition " + d.name + " v" + std::to_string(d.version) +
                             ": its canonical JSON has no steps; skipped");
      continue;
    }
    for (const auto& [name, step] : j["steps"].items()) {
      if (!step.is_object()) continue;
      auto task = step.find("task");
      if (task == step.end() || !task->is_object() || !task->contains("job")) continue;
      const auto& job = (*task)["job"];
      if (!job.is_object() || !job.contains("type") || !job["type"].is_string()) continue;
      JobStep js;
      js.where = d.name + " v" + std::to_string(d.version) + " step " + name;
      if (auto in = step.find("input"); in != step.end() && in->is_object())
        for (const auto& [field, spec] : in->items()) js.inputs.insert(field);
      if (auto e = job.find("errors"); e != job.end() && e->is_object())
        for (const auto& [code, target] : e->items()) js.codes.insert(code);
      if (auto t = job.find("timeout"); t != job.end() && t->is_string())
        if (auto ms = ParseDuration(t->get<std::string>())) js.lease_ms = *ms;
      by_type[job["type"].get<std::string>()].push_back(std::move(js));
    }
  }
  std::set<std::string> known_types;
  for (const auto& [t, steps] : by_type) known_types.insert(t);

  for (const auto& ep : config.endpoints) {
    auto it = by_type.find(ep.type);
    if (it == by_type.end()) {
      out.errors.push_back(config.Where(ep.type_loc) + ": job type '" + ep.type +
                           "' is not the type of any job step in the node's definitions (their job types: " +
                           Join(known_types) + ")");
      continue;
    }
    const auto& steps = it->second;
    for (size_t i = 0; i < ep.output.size(); ++i) {
      const std::string& field = ep.output[i].first;
      bool found = std::any_of(steps.begin(), steps.end(), [&](const JobStep& s) { return s.inputs.count(field); });
      if (!found) {
        std::set<std::string> fields;
        for (const auto& s : steps) fields.insert(s.inputs.begin(), s.inputs.end());
        out.errors.push_back(config.Where(ep.output_locs[i]) + ": output '" + field + "' of job type '" + ep.type +
                             "' is not an input field of its steps (" + steps.front().where +
                             (steps.size() > 1 ? " and others" : "") + "; their input fields: " + Join(fields) + ")");
      }
    }
    std::set<std::string> codes;
    for (const auto& s : steps) codes.insert(s.codes.begin(), s.codes.end());
    for (const auto& [status, rule] : ep.errors)
      for (const auto& [code, loc] : rule.code_locs)
        if (!codes.count(code))
          out.errors.push_back(config.Where(loc) + ": error code '" + code + "' (errors." + std::to_string(status) +
                               " of job type '" + ep.type + "') is not in the 'errors' of its steps (their codes: " +
                               Join(codes) + ")");
    for (const auto& s : steps)
      if (ep.timeout_ms >= s.lease_ms)
        out.warnings.push_back(config.Where(ep.type_loc) + ": the timeout of job type '" + ep.type + "' (" +
                               FormatDuration(ep.timeout_ms) + ") is not shorter than the lease of " + s.where +
                               " (" + FormatDuration(s.lease_ms) +
                               "): a job may be activated again while its request runs");
  }
  return out;
}

}  // namespace treaty::webhook
