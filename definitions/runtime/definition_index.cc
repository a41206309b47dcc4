#include "definitions/runtime/definition_index.h"

namespace treaty::runtime {

DefinitionIndex::DefinitionIndex(const defs::Definition* def) : def_(def), states_(defs::FlattenStates(*def)) {
  for (size_t i = 0; i < def->steps.size(); ++i) steps_.emplace(def->steps[i].name, static_cast<int>(i));
  for (size_t i = 0; i < states_.size(); ++i) {
    state_by_name_.emplace(states_[i].spec->name, i);
    if (states_[i].spec->deadline_after_ms) timed_states_.push_back(states_[i].spec->name);
  }
}

int DefinitionIndex::StepIndex(std::string_view name) const {
  auto it = steps_.find(name);
  return it == steps_.end() ? -1 : it->second;
}

const defs::StateInfo* DefinitionIndex::State(std::string_view name) const {
  auto it = state_by_name_.find(name);
  return it == state_by_name_.end() ? nullptr : &states_[it->second];
}

const defs::StateSpec* DefinitionIndex::DeadlineFor(std::string_view step, std::string_view from_state) const {
  const defs::StateInfo* s = State(from_state);
  if (s == nullptr || !s->spec->deadline_after_ms || s->spec->deadline_step != step) return nullptr;
  return s->spec;
}

}  // namespace treaty::runtime
