// ReferenceRuntime: an interpreted DefinitionRuntime built directly from
// the parsed model, independent of the generated Boost.MSM code. It is the
// oracle of the differential tests and lets tools run a definition without
// compiling it.
//
// Thread-safety: as DefinitionRuntime / Machine (machine.h).
#pragma once

#include <memory>

#include "definitions/runtime/machine.h"

namespace treaty::runtime {

// `def` must have passed validation.
std::shared_ptr<const DefinitionRuntime> MakeReferenceRuntime(defs::Definition def);

}  // namespace treaty::runtime
