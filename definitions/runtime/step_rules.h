// The rules of one step, evaluated once the state machine has found the
// step allowed from an active state: role (or deadline), input schema,
// guard, `set:` assignments and the data schema, in that order. Both the
// compiled Boost.MSM machines and the reference machine run them through
// EvaluateRules, each with its own guard and assignment evaluators (emitted
// C++ and the interpreter respectively).
//
// Thread-safety: stateless functions.
#pragma once

#include <string>
#include <string_view>

#include "definitions/expr/expr.h"
#include "definitions/runtime/definition_index.h"
#include "definitions/runtime/machine.h"

namespace treaty::runtime {

struct RuleInputs {
  const DefinitionIndex* index = nullptr;
  const defs::StepSpec* step = nullptr;
  std::string_view from_state;  // the active state the step leaves
  const StepCall* call = nullptr;
  const Value* data = nullptr;
  const Value* timers = nullptr;
};

// Role or deadline, and input schema. Accept() when the step may proceed.
ApplyResult CheckAuthorityAndInput(const RuleInputs& in);
// Maps an expression error onto a rejection.
ApplyResult RejectForEvalError(const defs::StepSpec& step, const char* what, const Status& st);
// The `actor` value expressions see: {party, roles}.
Value ActorValue(const StepCall& call);
// Writes assignment results into a copy of the data; null removes a field.
void Assign(Value* data, const std::string& field, Value v);
ApplyResult CheckNewData(const defs::Definition& def, const defs::StepSpec& step, const Value& data);

// `guard(ctx)` and `set(i, ctx)` return Result<Value>. On acceptance
// *new_data holds the data after the step.
template <class GuardFn, class SetFn>
ApplyResult EvaluateRules(const RuleInputs& in, GuardFn&& guard, SetFn&& set, Value* new_data) {
  ApplyResult r = CheckAuthorityAndInput(in);
  if (!r.accepted()) return r;
  static const Value kEmpty = Value::Object();
  Value actor = ActorValue(*in.call);
  expr::EvalContext ctx;
  ctx.input = in.call->input != nullptr ? in.call->input : &kEmpty;
  ctx.data = in.data;
  ctx.actor = &actor;
  ctx.chain_time_ms = in.call->chain_time_ms;
  if (in.step->guard) {
    Result<Value> g = guard(ctx);
    if (!g.ok()) return RejectForEvalError(*in.step, "guard", g.status());
    if (g->is_redacted())
      return ApplyResult::Reject(RejectCode::kFieldNotVisible,
                                 "guard of step '" + in.step->name + "' reads a field this party cannot see");
    if (!g->is_bool() || !g->as_bool())
      return ApplyResult::Reject(RejectCode::kGuardFalse,
                                 "guard of step '" + in.step->name + "' is false: " + in.step->guard->text);
  }
  *new_data = *in.data;
  for (size_t i = 0; i < in.step->set.size(); ++i) {
    Result<Value> v = set(i, ctx);
    if (!v.ok()) return RejectForEvalError(*in.step, "set", v.status());
    Assign(new_data, in.step->set[i].field, std::move(v).value());
  }
  if (!in.step->set.empty()) return CheckNewData(in.index->def(), *in.step, *new_data);
  return ApplyResult::Accept();
}

// After an accepted step: forget timers of states no longer active, start
// the timers of timed states the step entered (`to` and its substates).
void UpdateTimers(const DefinitionIndex& index, const defs::StepSpec& step,
                  const std::vector<std::string>& active_paths, int64_t now_ms, Value* timers);
// The reason text for a step not allowed from the active states.
std::string NotFromStateReason(const defs::StepSpec& step, const std::vector<std::string>& active_paths);

}  // namespace treaty::runtime
