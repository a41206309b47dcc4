#include "definitions/runtime/generated_support.h"

#include "definitions/canonical.h"
#include "definitions/loader.h"
#include "definitions/runtime/registry.h"
#include "definitions/runtime/step_rules.h"

namespace treaty::runtime::msm_support {

bool RunRules(StepContext& c, const char* from_state, ExprFn guard, const ExprFn* sets, size_t nsets) {
  c.rules_ran = true;
  RuleInputs in{c.index, c.step, from_state, c.call, c.data, c.timers};
  c.result = EvaluateRules(
      in, [&](const expr::EvalContext& ctx) { return guard(ctx); },
      [&](size_t i, const expr::EvalContext& ctx) -> Result<Value> {
        if (i >= nsets) return Status::Internal("generated machine lacks assignment " + std::to_string(i));
        return sets[i](ctx);
      },
      &c.new_data);
  return c.result.accepted();
}

Result<defs::Definition> LoadEmbeddedDefinition(const char* canonical_json, const char* hash_hex,
                                                size_t step_count) {
  defs::Diagnostics diags("<embedded>");
  auto def = defs::ParseDefinition(canonical_json, "<embedded>", &diags);
  if (!def) {
    std::string why = diags.items().empty() ? "unknown error" : diags.items().front().ToString();
    return Status::DataLoss("embedded definition does not parse: " + why);
  }
  std::string hex = ToHex(defs::DefinitionHash(*def));
  if (hex != hash_hex)
    return Status::DataLoss("embedded definition " + def->process + " hashes to " + hex + ", generated code says " +
                            hash_hex + " (treatyc and runtime disagree on the canonical form)");
  if (def->steps.size() != step_count)
    return Status::DataLoss("embedded definition " + def->process + " has " + std::to_string(def->steps.size()) +
                            " steps, generated machine " + std::to_string(step_count));
  return std::move(*def);
}

bool RegisterOrReport(Result<std::shared_ptr<const DefinitionRuntime>> def) {
  if (!def.ok()) {
    ReportRegistrationFailure(def.status());
    return false;
  }
  Status st = Registry::Global().Add(std::move(def).value());
  if (!st.ok()) ReportRegistrationFailure(st);
  return st.ok();
}

}  // namespace treaty::runtime::msm_support
