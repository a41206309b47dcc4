// The runtime interface between the engine and a compiled definition.
//
// A DefinitionRuntime is one loaded definition (name, version, content
// hash, parsed model); it creates a Machine per process instance, or
// restores one from a Snapshot of its active states and data — the engine
// never replays history to rebuild a machine.
//
// Machine::Apply is the only way a machine moves. It either accepts the
// step (states and data change) or rejects it with a code and a reason and
// changes nothing. The engine calls it only from the applier, in ledger
// order (DESIGN.md, "The one rule").
//
// The headers a generated machine includes stay valid C++17: Boost 1.74's
// MSM back-end does not compile as C++20 (docs/msm.md).
//
// Thread-safety: a Machine is used by one thread at a time.
// DefinitionRuntime is immutable and may be shared between threads.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "definitions/base/sha256.h"
#include "definitions/base/status.h"
#include "definitions/model.h"
#include "definitions/value.h"

namespace treaty::runtime {

enum class RejectCode {
  kNone = 0,
  kUnknownStep,      // the definition has no such step
  kNotFromState,     // the step is not allowed from the current state(s)
  kWrongRole,        // the actor holds none of the step's roles
  kInvalidInput,     // input violates the step's schema
  kGuardFalse,       // the guard evaluated to false
  kFieldNotVisible,  // the rules read a field this party only has as a hash
  kEvalError,        // overflow, division by zero, null in arithmetic
  kInvalidData,      // `set:` produced data that violates the data schema
  // Decided by the node around the machine, in ledger order like the rest:
  kUnknownInstance,    // a step for an instance this node does not have
  kAlreadyExists,      // a start for an instance id already taken
  kDefinitionMissing,  // the instance's definition (by hash) is not loaded here
  kUniqueTaken,        // a unique key was claimed first by another step
  kUniqueUnclaimed,    // a step sets a unique key without claiming it on the ledger
};
// Every code's name, as history, events and attestations carry it.
const char* RejectCodeName(RejectCode c);
// The code of a name RejectCodeName gives; nullopt for any other text.
std::optional<RejectCode> RejectCodeFromName(std::string_view name);

struct StepCall {
  std::string_view step;
  std::string_view party;                // who proposed it
  const std::vector<std::string>* roles = nullptr;  // roles the party holds here; null = none
  const Value* input = nullptr;          // object; null means {}
  int64_t chain_time_ms = 0;             // the ledger's timestamp of the block
};

struct ApplyResult {
  RejectCode code = RejectCode::kNone;
  std::string reason;  // empty when accepted
  bool accepted() const { return code == RejectCode::kNone; }
  static ApplyResult Accept() { return {}; }
  static ApplyResult Reject(RejectCode c, std::string why) { return {c, std::move(why)}; }
};

// What survives a restart: the active states (paths, e.g. "checks.credit"),
// the instance data, and the ledger time each state with a deadline was
// entered. Portable across builds of the same definition.
struct Snapshot {
  std::vector<std::string> active_states;
  Value data;
  Value timers;  // object: state name -> entered at (ms of ledger time)
  std::string ToJson() const;
  static Result<Snapshot> FromJson(std::string_view json);
};

class DefinitionRuntime;

class Machine {
 public:
  virtual ~Machine() = default;
  virtual ApplyResult Apply(const StepCall& call) = 0;
  // Active leaf states as paths from the top ("submitted",
  // "checks.credit_pending"), in the order of the definition.
  virtual std::vector<std::string> ActiveStates() const = 0;
  virtual const Value& Data() const = 0;
  virtual const Value& Timers() const = 0;
  // True when every active region has reached a final state.
  virtual bool IsFinal() const = 0;
  virtual const DefinitionRuntime& definition() const = 0;

  Snapshot Save() const { return {ActiveStates(), Data(), Timers()}; }
  // sha256 over the definition hash, the active states and the canonical
  // data, where fields restricted by `visible_to` contribute only their
  // content digest. Identical on every party and build (docs/protocol.md).
  Digest StateHash() const;
};

class DefinitionRuntime {
 public:
  virtual ~DefinitionRuntime() = default;
  const std::string& name() const { return model().process; }
  int64_t version() const { return model().version; }
  virtual const Digest& hash() const = 0;
  virtual const defs::Definition& model() const = 0;
  // A machine in its initial state(s); `chain_time_ms` is the ledger time of
  // the start, from which deadlines of initial states count.
  virtual std::unique_ptr<Machine> NewMachine(int64_t chain_time_ms) const = 0;
  virtual Result<std::unique_ptr<Machine>> Restore(const Snapshot& snapshot) const = 0;
  // Which implementation: "msm" (compiled) or "reference" (interpreted).
  virtual const char* kind() const = 0;
};

// The state hash both implementations use.
Digest ComputeStateHash(const DefinitionRuntime& def, const std::vector<std::string>& active_states,
                        const Value& data, const Value& timers);

}  // namespace treaty::runtime
