// MsmEmitter: turns a validated Definition into C++ source that defines one
// Boost.MSM state machine (msm::front::state_machine_def with a
// transition_table; states, composite states and regions as types, steps
// as events, rules as functors, guards and `set:` as emitted C++) and the
// glue that registers it as a DefinitionRuntime.
//
// Thread-safety: stateless function.
#pragma once

#include <string>

#include "definitions/model.h"
#include "definitions/source.h"

namespace treaty::codegen {

// Most rows one machine level may have: Boost.MPL's vector limit, set
// project-wide in cmake/TreatyOptions.cmake.
inline constexpr int kMaxRowsPerMachine = 50;

struct EmitResult {
  std::string header;     // the machine: include it from exactly the TUs that need it
  std::string ns;         // C++ namespace holding `Gen` and `Create()`
};

// Returns false (and adds diagnostics) when the definition cannot be
// emitted, e.g. a machine level with more rows than MPL allows.
bool EmitMsm(const defs::Definition& def, const std::string& source_name, EmitResult* out,
             defs::Diagnostics* diags);

// A translation unit that registers the machine in the global registry at
// static-initialisation time (for treaty_add_definitions).
std::string EmitRegistrationUnit(const std::string& header_include, const std::string& ns);
// A translation unit exporting the module entry point (for treatyc build).
std::string EmitModuleUnit(const std::string& header_include, const std::string& ns);

}  // namespace treaty::codegen
