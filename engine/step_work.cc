#include "engine/step_work.h"

#include <string_view>

namespace treaty::engine {

bool LeavesActive(const defs::StepSpec& step, const std::vector<std::string>& active) {
  for (const auto& path : active) {
    size_t start = 0;
    while (start <= path.size()) {
      size_t dot = path.find('.', start);
      std::string_view part(path.data() + start, (dot == std::string::npos ? path.size() : dot) - start);
      for (const auto& f : step.from)
        if (f.name == part) return true;
      if (dot == std::string::npos) break;
      start = dot + 1;
    }
  }
  return false;
}

bool HoldsRoleOf(const defs::StepSpec& step, const InstanceRow& inst, const std::string& party) {
  for (const auto& r : step.by) {
    auto it = inst.roles.find(r.name);
    if (it != inst.roles.end() && it->second == party) return true;
  }
  return false;
}

std::string WhoseStep(const defs::Definition& model, const InstanceRow& inst, const ProposalRow& p) {
  const defs::StepSpec* step = model.FindStep(p.step);
  if (step != nullptr) {
    for (const auto& r : step->by) {
      auto it = inst.roles.find(r.name);
      if (it != inst.roles.end() && it->second == p.author) return "the " + r.name + "'s " + p.step;
    }
  }
  return "party " + p.author + "'s " + p.step;
}

std::string StepWorkId(const std::string& instance, int64_t position, const std::string& step) {
  return instance + ":" + std::to_string(position) + ":" + step;
}

}  // namespace treaty::engine
