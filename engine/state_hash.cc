#include "engine/state_hash.h"

namespace treaty::engine {

namespace {

bool Restricted(const defs::Definition& model, const std::string& field) {
  const defs::FieldSpec* spec = model.FindData(field);
  return spec != nullptr && !spec->visible_to.empty() && spec->visible_to.size() < model.roles.size();
}

}  // namespace

Result<std::string> StateHash::Of(WriteTxn& txn, const runtime::DefinitionRuntime& def, const runtime::Machine& m,
                                  const std::string& instance, const std::string& input_json,
                                  const ProposalExtra& extra) {
  const Value& data = m.Data();
  if (!ctx_->multi_party() || !data.is_object()) return ToHex(m.StateHash());
  const defs::Definition& model = def.model();
  Value view = Value::Object();
  auto input = Value::FromJson(input_json);
  for (const auto& [name, value] : data.as_object()) {
    if (!Restricted(model, name)) {
      view.Set(name, value);
      continue;
    }
    Digest c = value.ContentDigest();
    std::string content = ToHex(c);
    bool found = value.is_redacted();
    // Set by this step from an input field: the commitment it came with.
    if (!found && input.ok() && input->is_object())
      for (const auto& [iname, ivalue] : input->as_object()) {
        auto it = extra.commitments.find(iname);
        if (it != extra.commitments.end() && ToHex(ivalue.ContentDigest()) == content &&
            DigestFromHex(it->second, &c)) {
          found = true;
          break;
        }
      }
    if (!found) {
      TREATY_ASSIGN_OR_RETURN(auto kept, txn.Commitment(instance, name, content));
      if (kept) found = DigestFromHex(*kept, &c);
    }
    // Unchanged (the usual case after the step that set it): nothing written.
    if (found) TREATY_RETURN_IF_ERROR(txn.PutCommitment(instance, name, ToHex(c), content));
    view.Set(name, Value::Hidden(c));
  }
  return ToHex(runtime::ComputeStateHash(def, m.ActiveStates(), view, m.Timers()));
}

}  // namespace treaty::engine
