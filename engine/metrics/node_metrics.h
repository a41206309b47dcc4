// NodeMetrics: what the engine tells the node's metrics as it happens —
// steps proposed and applied, how long applying took, refused peers and
// refused calls — behind an interface, so the engine never includes a
// metrics library (the Prometheus implementation is one file,
// prometheus_metrics.cc). Gauges (heights, queues, open tasks) are not
// pushed: the implementation reads them from the node when scraped.
// Definitions of every metric: docs/operations.md.
//
// Thread-safety: every method may be called from any thread, and must not
// block (the applier calls them with the store's writer lock held).
#pragma once

#include <string_view>

namespace treaty::engine {

// Why a member's message or connection was refused (label `reason` of
// treaty_peer_refused_total).
enum class PeerRefusal {
  kBadSignature,  // not signed, or not by whom it claims
  kNotAMember,    // unknown key, not a network member, or no role in the instance
  kOversized,     // over the size limit
  kMalformed,     // anything else that does not parse or does not fit
};
const char* PeerRefusalName(PeerRefusal r);

class NodeMetrics {
 public:
  virtual ~NodeMetrics() = default;
  // A proposal passed the preflight and went to the batcher.
  virtual void StepProposed(std::string_view definition) = 0;
  // A step (or start) applied at this node in ledger order, after the
  // transaction that applied it committed. `reject_code`: empty when
  // confirmed. `apply_seconds`: from its proposal to now.
  virtual void StepApplied(std::string_view definition, std::string_view reject_code, double apply_seconds) = 0;
  // One store transaction that applied ledger blocks: Begin to Commit.
  virtual void BlocksCommitted(double seconds) = 0;
  virtual void PeerRefused(PeerRefusal reason) = 0;
  // An API call refused before its handler ran or by a permission check
  // (authentication, permissions, limits): `method` the gRPC method's
  // short name, `reason` a short code (e.g. "unauthenticated").
  virtual void CallRefused(std::string_view method, std::string_view reason) = 0;
};

// Counts nothing: a node without --metrics, and tests.
NodeMetrics* NoMetrics();

}  // namespace treaty::engine
