#include "engine/metrics/node_metrics.h"

namespace treaty::engine {
namespace {

class NoNodeMetrics final : public NodeMetrics {
 public:
  void StepProposed(std::string_view) override {}
  void StepApplied(std::string_view, std::string_view, double) override {}
  void BlocksCommitted(double) override {}
  void PeerRefused(PeerRefusal) override {}
  void CallRefused(std::string_view, std::string_view) override {}
};

}  // namespace

const char* PeerRefusalName(PeerRefusal r) {
  switch (r) {
    case PeerRefusal::kBadSignature: return "bad_signature";
    case PeerRefusal::kNotAMember: return "not_a_member";
    case PeerRefusal::kOversized: return "oversized";
    case PeerRefusal::kMalformed: break;
  }
  return "malformed";
}

NodeMetrics* NoMetrics() {
  static NoNodeMetrics none;
  return &none;
}

}  // namespace treaty::engine
