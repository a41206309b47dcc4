#include "engine/service_util.h"

namespace treaty::engine::service {

grpc::Status AwaitAttestations(Node* node, bool all, bool wait, std::chrono::steady_clock::time_point deadline,
                               const ProposalRow& p, std::optional<pb::AttestationStatus>* status, std::string* note) {
  if (!all || !wait || !Applied(p.status)) return grpc::Status::OK;
  auto w = node->WaitAttested(p, deadline);
  if (!w.ok()) return ToGrpc(w.status());
  pb::AttestationStatus* out = &status->emplace();
  out->set_all_attested(w->all);
  for (const auto& m : w->attested) out->add_attested_by(m);
  for (const auto& m : w->missing) out->add_missing(m);
  for (const auto& m : w->mismatched) out->add_mismatched(m);
  auto join = [](const std::vector<std::string>& v) {
    std::string s;
    for (const auto& x : v) s += (s.empty() ? "" : ", ") + x;
    return s;
  };
  if (w->all) *note = "; attested by every member";
  if (!w->missing.empty()) *note = "; not attested by " + join(w->missing) + " within the timeout";
  if (!w->mismatched.empty()) *note += "; " + join(w->mismatched) + " attested another outcome";
  return grpc::Status::OK;
}

}  // namespace treaty::engine::service
