// DefinitionIndex: lookups over a validated Definition that both machine
// implementations need on every apply (step by name, state by name, the
// deadline that governs a step), computed once per loaded definition.
//
// Thread-safety: immutable after construction; share freely.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "definitions/model.h"

namespace treaty::runtime {

class DefinitionIndex {
 public:
  explicit DefinitionIndex(const defs::Definition* def);

  const defs::Definition& def() const { return *def_; }
  // -1 when there is no such step.
  int StepIndex(std::string_view name) const;
  const defs::StateInfo* State(std::string_view name) const;
  // The state whose deadline fires `step` from `from_state`, or nullptr.
  const defs::StateSpec* DeadlineFor(std::string_view step, std::string_view from_state) const;
  // States that carry a deadline (their entry time is tracked).
  const std::vector<std::string>& TimedStates() const { return timed_states_; }
  const std::vector<defs::StateInfo>& States() const { return states_; }

 private:
  const defs::Definition* def_;
  std::map<std::string, int, std::less<>> steps_;
  std::vector<defs::StateInfo> states_;
  std::map<std::string, size_t, std::less<>> state_by_name_;
  std::vector<std::string> timed_states_;
};

}  // namespace treaty::runtime
