// The rules human tasks and jobs share (docs/tasks.md, docs/jobs.md): a
// step waiting for work — a person's or a machine's — opens when a state
// it leaves is entered, at the party holding its role, with an id made of
// (instance, position, step) so a replay or restart opens the same one;
// it closes when the instance leaves that state, and a cancelled one says
// whose step was applied first.
//
// Thread-safety: pure functions.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "definitions/model.h"
#include "engine/types.h"

namespace treaty::engine {

// Whether `step` may be taken from the active states: a step from a
// composite state leaves it from any of its substates ("checks.credit_ok").
bool LeavesActive(const defs::StepSpec& step, const std::vector<std::string>& active);
// Whether `party` holds one of the roles that may take `step` in `inst`.
bool HoldsRoleOf(const defs::StepSpec& step, const InstanceRow& inst, const std::string& party);
// "the buyer's cancel": the applied proposal, named by the role it took.
std::string WhoseStep(const defs::Definition& model, const InstanceRow& inst, const ProposalRow& p);
// "<instance>:<position>:<step>".
std::string StepWorkId(const std::string& instance, int64_t position, const std::string& step);

}  // namespace treaty::engine
