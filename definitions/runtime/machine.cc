#include "definitions/runtime/machine.h"

#include <cstdio>

namespace treaty::runtime {

const char* RejectCodeName(RejectCode c) {
  switch (c) {
    case RejectCode::kNone: return "ACCEPTED";
    case RejectCode::kUnknownStep: return "UNKNOWN_STEP";
    case RejectCode::kNotFromState: return "NOT_FROM_STATE";
    case RejectCode::kWrongRole: return "WRONG_ROLE";
    case RejectCode::kInvalidInput: return "INVALID_INPUT";
    case RejectCode::kGuardFalse: return "GUARD_FALSE";
    case RejectCode::kFieldNotVisible: return "FIELD_NOT_VISIBLE";
    case RejectCode::kEvalError: return "EVAL_ERROR";
    case RejectCode::kInvalidData: return "INVALID_DATA";
    case RejectCode::kUnknownInstance: return "UNKNOWN_INSTANCE";
    case RejectCode::kAlreadyExists: return "ALREADY_EXISTS";
    case RejectCode::kDefinitionMissing: return "DEFINITION_MISSING";
    case RejectCode::kUniqueTaken: return "UNIQUE_TAKEN";
    case RejectCode::kUniqueUnclaimed: return "UNIQUE_UNCLAIMED";
  }
  return "UNKNOWN";
}

std::optional<RejectCode> RejectCodeFromName(std::string_view name) {
  for (int c = static_cast<int>(RejectCode::kNone); c <= static_cast<int>(RejectCode::kUniqueUnclaimed); ++c)
    if (name == RejectCodeName(static_cast<RejectCode>(c))) return static_cast<RejectCode>(c);
  return std::nullopt;
}

std::string Snapshot::ToJson() const {
  ValueList states;
  for (const auto& s : active_states) states.push_back(Value::Str(s));
  Value v = Value::Object();
  v.Set("states", Value::List(std::move(states)));
  v.Set("data", data.is_null() ? Value::Object() : data);
  v.Set("timers", timers.is_null() ? Value::Object() : timers);
  return v.ToCanonicalJson();
}

Result<Snapshot> Snapshot::FromJson(std::string_view json) {
  auto v = Value::FromJson(json);
  if (!v.ok()) return v.status();
  const Value* states = v->Find("states");
  const Value* data = v->Find("data");
  const Value* timers = v->Find("timers");
  if (states == nullptr || !states->is_list() || data == nullptr || !data->is_object())
    return Status::DataLoss("snapshot must be {\"states\":[...],\"data\":{...}}");
  Snapshot s;
  for (const auto& e : states->as_list()) {
    if (!e.is_string()) return Status::DataLoss("snapshot state names must be strings");
    s.active_states.push_back(e.as_string());
  }
  s.data = *data;
  s.timers = timers != nullptr && timers->is_object() ? *timers : Value::Object();
  return s;
}

Digest ComputeStateHash(const DefinitionRuntime& def, const std::vector<std::string>& active_states,
                        const Value& data, const Value& timers) {
  // Fields restricted by visible_to enter only as their content digest, so
  // a party holding the value and one holding its hash agree.
  const auto& model = def.model();
  Value view = Value::Object();
  if (data.is_object()) {
    for (const auto& [name, value] : data.as_object()) {
      const defs::FieldSpec* spec = model.FindData(name);
      bool restricted = spec != nullptr && !spec->visible_to.empty() &&
                        spec->visible_to.size() < model.roles.size();
      view.Set(name, restricted ? Value::Hidden(value.ContentDigest()) : value);
    }
  }
  Sha256 h;
  h.UpdateField("treaty.state.v1");
  h.UpdateField(std::string_view(reinterpret_cast<const char*>(def.hash().data()), def.hash().size()));
  h.UpdateField(std::to_string(active_states.size()));
  for (const auto& s : active_states) h.UpdateField(s);
  h.UpdateField(view.ToCanonicalJson());
  h.UpdateField(timers.is_null() ? "{}" : timers.ToCanonicalJson());
  return h.Finish();
}

Digest Machine::StateHash() const { return ComputeStateHash(definition(), ActiveStates(), Data(), Timers()); }

}  // namespace treaty::runtime
