// The non-template half of the support for generated machines: the step
// context an event carries, the rule functor body, and loading and
// registering the embedded definition. Kept free of Boost.MSM so it builds
// with the rest of the library as C++20; msm_support.h adds the templates.
//
// Valid C++17 (generated machines include it). Thread-safety: as Machine.
#pragma once

#include <memory>

#include "definitions/expr/expr.h"
#include "definitions/runtime/definition_index.h"
#include "definitions/runtime/machine.h"

namespace treaty::runtime::msm_support {

// Everything a rule functor needs; one per Apply, carried by the event.
struct StepContext {
  const DefinitionIndex* index = nullptr;
  const defs::StepSpec* step = nullptr;
  const StepCall* call = nullptr;
  const Value* data = nullptr;
  const Value* timers = nullptr;
  Value new_data;
  ApplyResult result;
  bool rules_ran = false;
  int fired = 0;  // transitions taken; exactly one on acceptance
};

// Base of every generated event type.
struct StepEvent {
  StepContext* ctx = nullptr;
};

using ExprFn = Result<Value> (*)(const expr::EvalContext&);

// Runs role/deadline, input, guard, `set:` and data checks; records the
// outcome in the context. Returns whether the transition may fire.
bool RunRules(StepContext& c, const char* from_state, ExprFn guard, const ExprFn* sets, size_t nsets);

// Parses the embedded canonical definition (and checks its hash).
Result<defs::Definition> LoadEmbeddedDefinition(const char* canonical_json, const char* hash_hex,
                                                size_t step_count);

// Adds a generated definition to the global registry, printing any error.
bool RegisterOrReport(Result<std::shared_ptr<const DefinitionRuntime>> def);

}  // namespace treaty::runtime::msm_support
