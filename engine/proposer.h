// Proposer: turns API calls into proposals (DESIGN.md, protocol step 2).
// It validates a call, answers a retry with a known idempotency key from
// the store, checks the step early against the instance's current state
// and rules (preflight, on a scratch copy of the machine: fast errors for
// the caller; the commit is the Applier's, in ledger order), and hands the
// proposal to the Batcher. A waiting caller registers with the Waiters
// before the batcher sees its proposal and sleeps once for the whole step.
//
// Thread-safety: every public method may be called from many threads.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "engine/batcher.h"
#include "engine/instance_cache.h"
#include "engine/node_context.h"
#include "engine/unique_claims.h"
#include "engine/waiters.h"

namespace treaty::engine {

class Proposer {
 public:
  Proposer(const NodeContext* ctx, Batcher* batcher, Waiters* waiters, InstanceCache* cache, UniqueClaims* claims)
      : ctx_(ctx), batcher_(batcher), waiters_(waiters), cache_(cache), claims_(claims) {}

  // Both return the proposal as it stands when the call returns: applied
  // (confirmed or rejected) when waited for, else pending. Preflight
  // failures return their Status and change nothing.
  Result<ProposalRow> StartProcess(const StartArgs& args);
  Result<ProposalRow> TriggerStep(const StepArgs& args);
  // After a waited call: until every member of the instance has attested
  // the applied proposal `p`, or `deadline`.
  Result<AttestationWait> WaitAttested(const ProposalRow& p, Waiters::Deadline deadline);

  // The same two calls without blocking the caller's thread: the checks
  // and the preflight run on it, and `done` is called once with what the
  // blocking call would return — on this thread when the answer is known
  // at once, else on the batcher's thread (a call without wait, once its
  // proposal is stored), the thread that applied the proposal (after its
  // commit) or the deadline thread.
  using Done = std::function<void(Result<ProposalRow>)>;
  void StartProcessAsync(const StartArgs& args, Done done);
  void TriggerStepAsync(const StepArgs& args, Done done);

 private:
  using Deadline = Waiters::Deadline;
  Deadline DeadlineOf(std::chrono::milliseconds timeout) const;
  Result<ProposalRow> Submit(ProposalRow p, const std::string& key, const std::string& request, bool wait,
                             Deadline deadline);
  // The proposal a step makes, after its preflight on `inst` (null: no such
  // instance); not yet submitted.
  Result<ProposalRow> PreflightStep(const StepArgs& a, const Value& input, const std::string& canonical_input,
                                    const std::shared_ptr<const InstanceRow>& inst);
  Result<std::shared_ptr<const InstanceRow>> StoredInstance(const std::string& id);
  Result<ProposalRow> WaitApplied(const std::string& id, bool wait, Deadline deadline);
  // What a call does before it submits: a proposal to submit, or the
  // call's answer already (a refusal, a known key's result).
  struct Prepared {
    std::optional<ProposalRow> proposal;
    std::string key, request;
    std::optional<Result<ProposalRow>> answer;
    std::string known_id;  // the answer is this stored proposal's (known key)
  };
  Prepared PrepareStart(const StartArgs& a);
  Prepared PrepareStep(const StepArgs& a);
  static std::shared_ptr<Batcher::Intake> IntakeOf(ProposalRow p, const std::string& key, const std::string& request);
  void SubmitNoWaitAsync(ProposalRow p, const std::string& key, const std::string& request, Done done);
  void SubmitAsync(ProposalRow p, const std::string& key, const std::string& request, Deadline deadline, Done done);
  void WaitAppliedAsync(const std::string& id, Deadline deadline, Done done);

  const NodeContext* ctx_;
  Batcher* batcher_;
  Waiters* waiters_;
  InstanceCache* cache_;
  UniqueClaims* claims_;
};

}  // namespace treaty::engine
