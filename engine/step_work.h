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
#include <functional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "definitions/model.h"
#include "definitions/runtime/machine.h"
#include "engine/node_context.h"
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

// An event of a task or job: its instance, definition and step, and its
// payload (names come from callers: a byte that is not UTF-8 is replaced).
Status AppendStepWorkEvent(WriteTxn& txn, const std::string& type, const std::string& instance,
                           const std::string& definition, const std::string& step, const nlohmann::json& payload,
                           int64_t time_ms, int64_t height);

// For an upgraded store: calls `open` for every active instance whose
// definition is loaded, 512 to a transaction of kind `kind`. Returns how
// many instances run a definition that is not loaded (looked at again at
// the next start).
using OpenWaiting = std::function<Status(WriteTxn&, const runtime::DefinitionRuntime&, const InstanceRow&)>;
Result<size_t> ForEachWaitingInstance(const NodeContext* ctx, const char* kind, const OpenWaiting& open);

}  // namespace treaty::engine
