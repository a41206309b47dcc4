#include "engine/store/rows.h"

namespace treaty::engine::store {

Result<bool> HasRow(Stmt& s) {
  if (s.Step()) return true;
  TREATY_RETURN_IF_ERROR(s.status());
  return false;
}

Status ExpectRow(Stmt& s, const char* what) {
  if (s.Step()) return Status::Ok();
  return s.status().ok() ? Status::Internal(std::string(what) + " returned no row") : s.status();
}

Status Damaged(const std::string& table, const std::string& what) {
  return Status::DataLoss("the node's store is damaged: " + table + ": " + what);
}

Result<InstanceRow> ReadInstance(Stmt& s) {
  InstanceRow r;
  r.no = s.Int(0);
  r.id = s.Text(1);
  r.definition = s.Text(2);
  r.version = s.Int(3);
  r.def_hash = s.Text(4);
  r.salt_hex = s.Text(5);
  auto roles = RolesFromJson(s.Text(6));
  if (!roles.ok()) return Damaged("instances", "roles of " + r.id + ": " + roles.status().message());
  r.roles = std::move(roles).value();
  r.snapshot_json = s.Text(7);
  r.states_json = s.Text(8);
  r.data_json = s.Text(9);
  r.final = s.Int(10) != 0;
  r.position = s.Int(11);
  r.height = s.Int(12);
  r.state_hash = s.Text(13);
  r.created_ms = s.Int(14);
  r.updated_ms = s.Int(15);
  return r;
}

Result<std::vector<InstanceRow>> ReadInstances(Stmt& s) {
  std::vector<InstanceRow> out;
  while (s.Step()) {
    TREATY_ASSIGN_OR_RETURN(InstanceRow r, ReadInstance(s));
    out.push_back(std::move(r));
  }
  TREATY_RETURN_IF_ERROR(s.status());
  return out;
}

Result<ProposalRow> ReadProposal(Stmt& s) {
  ProposalRow r;
  r.id = s.Text(0);
  auto kind = KindFromName(s.Text(1));
  if (!kind) return Damaged("proposals", "kind '" + s.Text(1) + "' of " + r.id);
  r.kind = *kind;
  r.instance = s.Text(2);
  r.step = s.Text(3);
  r.input_json = s.Text(4);
  r.author = s.Text(5);
  r.nonce = s.Int(6);
  r.pin_hex = s.Text(7);
  auto status = StatusFromName(s.Text(8));
  if (!status) return Damaged("proposals", "status '" + s.Text(8) + "' of " + r.id);
  r.status = *status;
  r.batch = s.Text(9);
  r.proposed_ms = s.Int(10);
  auto extra = ProposalExtra::FromJson(s.Text(11));
  if (!extra.ok()) return Damaged("proposals", r.id + ": " + extra.status().message());
  r.extra = std::move(extra).value();
  return r;
}

}  // namespace treaty::engine::store
