#include "engine/step_work.h"

#include <string_view>

namespace treaty::engine {

bool LeavesActive(const defs::StepSpec& step, const std::vector<std::string>& active) {
  for (const auto& path : active) {
    size_t start = 0;
    while (start <= path.size()) {
      size_t dot = path.find('.', start);
      std::string_view part(path.data() + start, (dot == std::string::npos ? path.size() : dot) - start);
      for (const auto& f : step.from)
        if (f.name == part) return true;
      if (dot == std::string::npos) break;
      start = dot + 1;
    }
  }
  return false;
}

bool HoldsRoleOf(const defs::StepSpec& step, const InstanceRow& inst, const std::string& party) {
  for (const auto& r : step.by) {
    auto it = inst.roles.find(r.name);
    if (it != inst.roles.end() && it->second == party) return true;
  }
  return false;
}

std::string WhoseStep(const defs::Definition& model, const InstanceRow& inst, const ProposalRow& p) {
  const defs::StepSpec* step = model.FindStep(p.step);
  if (step != nullptr) {
    for (const auto& r : step->by) {
      auto it = inst.roles.find(r.name);
      if (it != inst.roles.end() && it->second == p.author) return "the " + r.name + "'s " + p.step;
    }
  }
  return "party " + p.author + "'s " + p.step;
}

std::string StepWorkId(const std::string& instance, int64_t position, const std::string& step) {
  return instance + ":" + std::to_string(position) + ":" + step;
}

Status AppendStepWorkEvent(WriteTxn& txn, const std::string& type, const std::string& instance,
                           const std::string& definition, const std::string& step, const nlohmann::json& payload,
                           int64_t time_ms, int64_t height) {
  EventRow ev;
  ev.type = type;
  ev.instance = instance;
  ev.definition = definition;
  ev.step = step;
  ev.time_ms = time_ms;
  ev.height = height;
  ev.payload_json = payload.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  return txn.AppendEvent(ev);
}

Result<size_t> ForEachWaitingInstance(const NodeContext* ctx, const char* kind, const OpenWaiting& open) {
  int64_t after = 0;
  size_t skipped = 0;
  while (true) {
    TREATY_ASSIGN_OR_RETURN(auto rows, ctx->store->ActiveInstances(after, 512));
    if (rows.empty()) break;
    TREATY_ASSIGN_OR_RETURN(auto txn, ctx->store->Begin(kind));
    for (const auto& inst : rows) {
      after = inst.no;
      auto def = ctx->DefinitionByHash(inst.def_hash);
      if (!def) {
        ++skipped;
        continue;
      }
      TREATY_RETURN_IF_ERROR(open(*txn, *def, inst));
    }
    TREATY_RETURN_IF_ERROR(txn->Commit());
  }
  return skipped;
}

}  // namespace treaty::engine
