// What a node is told when it is made, and what callers pass when they
// propose: options, the arguments of StartProcess and TriggerStep, and how
// long a caller waits.
//
// Thread-safety: plain values.
#pragma once

#include <chrono>
#include <cstddef>
#include <map>
#include <string>
#include <vector>

#include "chain/network.h"
#include "definitions/base/env.h"
#include "definitions/base/identity_file.h"
#include "engine/limits.h"
#include "engine/metrics/node_metrics.h"

namespace treaty::engine {

struct NodeOptions {
  std::string party = "node";
  size_t batch_max = 256;  // pins per batch
  // A batch gathers proposals at most this long, and only while an earlier
  // batch of ours is still in flight (docs/node.md; 2 ms was measured
  // against 5 and was no better, docs/performance.md).
  std::chrono::milliseconds batch_latency{5};
  std::chrono::milliseconds wait_timeout{30000};  // a waiting call's default timeout
  // A party that holds none of a deadline step's `by` roles proposes it
  // only this long (ledger time) after it is due, so the role holders go
  // first and a deadline still fires when they are down
  // (deadline_watcher.h).
  std::chrono::milliseconds deadline_grace{30000};
  size_t max_input_bytes = 1 << 20;
  // A member of a multi-party network when both are set (docs/protocol.md):
  // proposals are signed and sent to the instance's members, pins of other
  // authors are recognised, and every applied pin is attested.
  const chain::Network* network = nullptr;
  const crypto::Identity* identity = nullptr;
  // Salts unique-key claims (docs/protocol.md); the network file's
  // claim_salt, or one derived from the network or party name.
  std::string claim_salt;
  // The clock, random source and logger (tests give their own).
  Env* env = Env::Default();
  Limits limits;  // docs/limits.md
  // What is counted for the metrics endpoint (treatyd --metrics); never null.
  NodeMetrics* metrics = NoMetrics();
};

// How far a caller waits on a step it proposed (DESIGN.md, protocol step 6).
// Either way the call returns early with a pending proposal when `wait` is
// false.
enum class WaitFor {
  kConfirmedHere,  // applied (confirmed or rejected) at this node
  kAttestedByAll,  // and every member of the instance attested its outcome
};

// Who attested an applied step when a kAttestedByAll wait ended.
struct AttestationWait {
  bool all = false;                     // every member attested the same whole outcome
  std::vector<std::string> attested;    // members whose attestation matches ours, this node included
  std::vector<std::string> missing;     // members not heard from when the wait ended
  std::vector<std::string> mismatched;  // members that attested another outcome (a consistency fault)
};

struct StartArgs {
  std::string definition;
  int64_t version = 0;
  std::string instance_id;
  std::map<std::string, std::string> roles;  // role -> party
  std::string input_json;
  std::string idempotency_key;
  bool wait = true;
  std::chrono::milliseconds timeout{0};  // 0: NodeOptions::wait_timeout
};

struct StepArgs {
  std::string instance_id;
  std::string step;
  std::string input_json;
  std::string idempotency_key;
  bool wait = true;
  std::chrono::milliseconds timeout{0};  // 0: NodeOptions::wait_timeout
};

}  // namespace treaty::engine
