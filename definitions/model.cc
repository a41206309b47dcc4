#include "definitions/model.h"

#include <algorithm>
#include <functional>

namespace treaty::defs {

const char* FieldTypeName(FieldType t) {
  switch (t) {
    case FieldType::kString: return "string";
    case FieldType::kInteger: return "integer";
    case FieldType::kDecimal: return "decimal";
    case FieldType::kBoolean: return "boolean";
    case FieldType::kObject: return "object";
    case FieldType::kArray: return "array";
    case FieldType::kAny: return "any";
  }
  return "any";
}

const FieldSpec* FieldSpec::FindProperty(const std::string& n) const {
  for (const auto& p : properties)
    if (p.name == n) return &p;
  return nullptr;
}

const FormField* TaskForm::FindField(const std::string& n) const {
  for (const auto& f : fields)
    if (f.name == n) return &f;
  return nullptr;
}

int64_t TaskSpec::JobRetryDelayMs(int64_t n) const {
  int64_t d = JobBackoffMs();
  for (int64_t i = 1; i < n && d < kMaxJobBackoffMs; ++i) d *= 2;
  return std::min(d, kMaxJobBackoffMs);
}

const std::string* TaskSpec::FindJobHeader(const std::string& key) const {
  for (const auto& [k, v] : job_headers)
    if (k == key) return &v;
  return nullptr;
}

const JobError* TaskSpec::FindJobError(const std::string& code) const {
  for (const auto& e : job_errors)
    if (e.code == code) return &e;
  return nullptr;
}

const StepSpec* Definition::FindStep(const std::string& n) const {
  for (const auto& s : steps)
    if (s.name == n) return &s;
  return nullptr;
}

const FieldSpec* Definition::FindData(const std::string& n) const {
  for (const auto& f : data)
    if (f.name == n) return &f;
  return nullptr;
}

Loc Expression::At(int offset) const {
  if (offset < 0) offset = 0;
  Loc base = loc;
  int start = 0;
  for (const auto& [at, where] : breaks) {
    if (at > offset) break;
    start = at;
    base = where;
  }
  return Loc{base.line, base.col + (offset - start)};
}

const StateSpec* Definition::FindState(const std::string& n) const {
  std::function<const StateSpec*(const std::vector<StateSpec>&)> find =
      [&](const std::vector<StateSpec>& states) -> const StateSpec* {
    for (const auto& s : states) {
      if (s.name == n) return &s;
      if (const StateSpec* x = find(s.states)) return x;
      for (const auto& r : s.regions)
        if (const StateSpec* x = find(r.states)) return x;
    }
    return nullptr;
  };
  return find(states);
}

bool Definition::HasRole(const std::string& r) const {
  for (const auto& x : roles)
    if (x.name == r) return true;
  return false;
}

std::vector<StateInfo> FlattenStates(const Definition& d) {
  std::vector<StateInfo> out;
  std::function<void(const std::vector<StateSpec>&, const std::string&, int, const std::string&)> walk =
      [&](const std::vector<StateSpec>& states, const std::string& parent, int region, const std::string& prefix) {
        for (const auto& s : states) {
          std::string path = prefix.empty() ? s.name : prefix + "." + s.name;
          out.push_back({&s, parent, region, path});
          walk(s.states, s.name, 0, path);
          for (size_t r = 0; r < s.regions.size(); ++r) walk(s.regions[r].states, s.name, static_cast<int>(r), path);
        }
      };
  walk(d.states, "", 0, "");
  return out;
}

}  // namespace treaty::defs
