#include "definitions/runtime/step_rules.h"

#include "definitions/schema.h"

namespace treaty::runtime {
namespace {

std::string JoinRoles(const std::vector<defs::NamedRef>& roles) {
  std::string out;
  for (size_t i = 0; i < roles.size(); ++i) out += (i ? " or " : "") + roles[i].name;
  return out;
}

bool HoldsOneOf(const StepCall& call, const std::vector<defs::NamedRef>& roles) {
  if (call.roles == nullptr) return false;
  for (const auto& need : roles)
    for (const auto& have : *call.roles)
      if (have == need.name) return true;
  return false;
}

}  // namespace

ApplyResult CheckAuthorityAndInput(const RuleInputs& in) {
  const defs::StepSpec& step = *in.step;
  const defs::StateSpec* deadline = in.index->DeadlineFor(step.name, in.from_state);
  if (deadline != nullptr) {
    // A deadline step may come from any party, but only once ledger time
    // has passed the deadline: never by a local clock.
    int64_t entered = 0;
    if (const Value* t = in.timers ? in.timers->Find(deadline->name) : nullptr; t && t->is_int()) entered = t->as_int();
    int64_t due = entered + *deadline->deadline_after_ms;
    if (in.call->chain_time_ms < due)
      return ApplyResult::Reject(RejectCode::kGuardFalse, "deadline of state '" + deadline->name +
                                                              "' is not reached: due at ledger time " +
                                                              std::to_string(due) + " ms, now " +
                                                              std::to_string(in.call->chain_time_ms) + " ms");
  } else if (!HoldsOneOf(*in.call, step.by)) {
    std::string held;
    if (in.call->roles != nullptr)
      for (const auto& r : *in.call->roles) held += (held.empty() ? "" : ", ") + r;
    return ApplyResult::Reject(RejectCode::kWrongRole, "step '" + step.name + "' needs role " + JoinRoles(step.by) +
                                                           "; party '" + std::string(in.call->party) + "' holds " +
                                                           (held.empty() ? "no role" : held));
  }
  static const Value kEmpty = Value::Object();
  Status st = defs::CheckInput(step, in.call->input != nullptr ? *in.call->input : kEmpty);
  if (!st.ok()) return ApplyResult::Reject(RejectCode::kInvalidInput, st.message());
  return ApplyResult::Accept();
}

ApplyResult RejectForEvalError(const defs::StepSpec& step, const char* what, const Status& st) {
  RejectCode code = st.code() == StatusCode::kPermissionDenied ? RejectCode::kFieldNotVisible : RejectCode::kEvalError;
  return ApplyResult::Reject(code, std::string(what) + " of step '" + step.name + "': " + st.message());
}

Value ActorValue(const StepCall& call) {
  ValueList roles;
  if (call.roles != nullptr)
    for (const auto& r : *call.roles) roles.push_back(Value::Str(r));
  Value actor = Value::Object();
  actor.Set("party", Value::Str(std::string(call.party)));
  actor.Set("roles", Value::List(std::move(roles)));
  return actor;
}

void Assign(Value* data, const std::string& field, Value v) {
  if (!data->is_object()) *data = Value::Object();
  if (v.is_null()) {
    data->mutable_object().erase(field);
  } else {
    data->Set(field, std::move(v));
  }
}

ApplyResult CheckNewData(const defs::Definition& def, const defs::StepSpec& step, const Value& data) {
  Status st = defs::CheckData(def, data);
  if (!st.ok())
    return ApplyResult::Reject(RejectCode::kInvalidData, "step '" + step.name + "' would set invalid data: " + st.message());
  return ApplyResult::Accept();
}

void UpdateTimers(const DefinitionIndex& index, const defs::StepSpec& step,
                  const std::vector<std::string>& active_paths, int64_t now_ms, Value* timers) {
  if (index.TimedStates().empty()) return;
  if (!timers->is_object()) *timers = Value::Object();
  const defs::StateInfo* to = index.State(step.to.name);
  std::string to_path = to ? to->path : step.to.name;
  auto is_active = [&](const std::string& path) {
    for (const auto& p : active_paths)
      if (p == path || (p.size() > path.size() && p.compare(0, path.size(), path) == 0 && p[path.size()] == '.'))
        return true;
    return false;
  };
  for (const auto& name : index.TimedStates()) {
    const defs::StateInfo* s = index.State(name);
    bool active = is_active(s->path);
    bool entered = s->path == to_path ||
                   (s->path.size() > to_path.size() && s->path.compare(0, to_path.size(), to_path) == 0 &&
                    s->path[to_path.size()] == '.');
    if (!active) {
      timers->mutable_object().erase(name);
    } else if (entered) {
      timers->Set(name, Value::Int(now_ms));
    }
  }
}

std::string NotFromStateReason(const defs::StepSpec& step, const std::vector<std::string>& active_paths) {
  std::string cur;
  for (size_t i = 0; i < active_paths.size(); ++i) cur += (i ? ", " : "") + active_paths[i];
  return "step '" + step.name + "' is not allowed from state '" + cur + "'";
}

}  // namespace treaty::runtime
