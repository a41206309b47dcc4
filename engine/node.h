// Node: one party's execution of processes. API calls become proposals
// (after a preflight against the current state), the Batcher seals pending
// proposals into batches of pins (size or latency, whichever first) and
// submits them to the Ledger, and the Applier follows the ledger's blocks in
// order and applies every pin it recognises, one SQLite transaction per
// block with the ledger cursor inside it. Only the Applier moves a state
// machine (DESIGN.md, "The one rule").
//
// Pins: pin = sha256(instance salt, author, nonce) with length-prefixed
// fields; the nonce is spent when the proposal is sealed into a batch, in
// the same transaction that persists the batch (docs/node.md).
//
// Thread-safety: all public methods may be called concurrently.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <future>
#include <memory>
#include <map>
#include <optional>
#include <mutex>
#include <set>
#include <unordered_map>
#include <unordered_set>
#include <string>
#include <thread>

#include <functional>

#include <nlohmann/json.hpp>

#include "chain/ledger.h"
#include "chain/network.h"
#include "definitions/base/identity_file.h"
#include "definitions/runtime/registry.h"
#include "engine/instance_cache.h"
#include "engine/node_store.h"
#include "engine/protocol/proposal_envelope.h"

namespace treaty::engine {

struct NodeOptions {
  std::string party = "node";
  size_t batch_max = 256;                         // pins per batch
  // A batch gathers proposals at most this long, and only while an earlier
  // batch of ours is still in flight (docs/node.md; 2 ms was measured
  // against 5 and was no better, docs/performance.md).
  std::chrono::milliseconds batch_latency{5};
  std::chrono::milliseconds wait_timeout{30000};  // TriggerStep with wait
  size_t max_input_bytes = 1 << 20;
  // A member of a multi-party network when both are set (docs/protocol.md):
  // proposals are signed and sent to the instance's members, pins of other
  // authors are recognised, and every applied pin is attested.
  const chain::Network* network = nullptr;
  const crypto::Identity* identity = nullptr;
  // Salts unique-key claims (docs/protocol.md); the network file's
  // claim_salt, or one derived from the network or party name.
  std::string claim_salt;
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

class Node {
 public:
  Node(NodeOptions opts, NodeStore* store, chain::Ledger* ledger, runtime::Registry* registry);
  ~Node();

  void Start();
  void Stop();

  // Both return the proposal as it stands when the call returns: applied
  // (confirmed or rejected) when waited for, else pending. Preflight
  // failures return their Status and change nothing.
  Result<ProposalRow> StartProcess(const StartArgs& args);
  Result<ProposalRow> TriggerStep(const StepArgs& args);

  // After a waited StartProcess or TriggerStep: waits until every member of
  // the instance has attested the applied proposal `p`, or `deadline`.
  // A rejected start made no instance and has nothing to attest.
  Result<AttestationWait> WaitAttested(const ProposalRow& p, std::chrono::steady_clock::time_point deadline);

  const NodeOptions& options() const { return opts_; }
  runtime::Registry* registry() { return registry_; }
  NodeStore* store() { return store_; }
  chain::Ledger* ledger() { return ledger_; }
  uint64_t AppliedHeight() { return static_cast<uint64_t>(store_->Cursor()); }

  // Waits until an event after `offset` may exist or the timeout passes.
  void WaitForEvents(int64_t offset, std::chrono::milliseconds timeout);

  // Multi-party. Receive takes a message a member sent over the data
  // exchange (DataExchange::Handler contract: OK = handled for good).
  bool multi_party() const { return opts_.network != nullptr && opts_.identity != nullptr; }
  struct Inbound {
    std::string from, kind;
    Value body;  // {"items": [...]}, parsed exactly
  };
  // Handles a poll's worth of messages in one transaction; per message, OK
  // or why it is not handled for good yet (the sender resends).
  // Its transaction commits without waiting for the disk: *generation is
  // that commit's number, durable once DurableGeneration() reaches it.
  std::vector<Status> Receive(const std::vector<Inbound>& messages, uint64_t* generation = nullptr);
  uint64_t DurableGeneration() const { return durable_gen_.load(); }
  // Makes every commit so far durable (a small synchronous commit).
  void MakeDurable();
  // Called, store lock held, with the messages a transaction put in the
  // outbox once it has committed: the data exchange sends them at once
  // from memory (no read-back); their rows bring resends until receipted.
  void SetOutboxListener(std::function<void(std::vector<OutboxMessage>)> send) { outbox_send_ = std::move(send); }
  // Transport connections refused so far (unknown CURVE keys), for Status.
  void SetRefusedCounter(std::function<uint64_t()> f) { refused_connections_ = std::move(f); }
  uint64_t RefusedConnections() const { return refused_connections_ ? refused_connections_() : 0; }

 private:
  Result<ProposalRow> Submit(ProposalRow p, const std::string& key, const std::string& request, bool wait,
                             std::chrono::milliseconds timeout);
  // The original result for an idempotency key already stored; nullopt if
  // the key is empty or unknown.
  std::optional<Result<ProposalRow>> KnownKey(const std::string& key, const std::string& request, bool wait,
                                              std::chrono::milliseconds timeout);
  // The proposal a step makes, after its preflight on `inst` (null: no such
  // instance); not yet submitted. canonical_input: input.ToCanonicalJson().
  Result<ProposalRow> PreflightStep(const StepArgs& a, const Value& input, const std::string& canonical_input,
                                    const std::shared_ptr<const InstanceRow>& inst);
  std::shared_ptr<const InstanceRow> StoredInstance(const std::string& id);
  Result<ProposalRow> WaitApplied(const std::string& id, bool wait, std::chrono::milliseconds timeout);
  Result<ProposalRow> WaitApplied(const std::string& id, bool wait, std::chrono::steady_clock::time_point deadline);
  void BatcherLoop();
  void ApplierLoop();
  // Callers waiting for a proposal's outcome: the applier hands the applied
  // row straight to them instead of every waiter re-reading the store, and
  // wakes only them (one condition per proposal: with a shared one every
  // block woke every waiting caller thread). A caller that submits the
  // proposal registers before the batcher sees it and sleeps once for the
  // whole step; the batcher wakes it early only when the proposal was not
  // stored under its id (failed, or a concurrent request with the same
  // idempotency key stored first: moved_to).
  struct Waiter {
    int callers = 0;
    std::condition_variable cv;
    std::optional<ProposalRow> row;
    std::optional<Status> failed;
    std::string moved_to;
  };
  // A proposal on its way to the store, with whoever waits for it.
  struct Intake {
    ProposalRow proposal;
    std::string key, request;
    Status result;  // per item: e.g. a reused idempotency key
    std::promise<Status> done;
    std::string submitted_id;        // proposal.id when submitted
    std::shared_ptr<Waiter> waiter;  // the submitting caller's, if it waits
  };
  // One waiter per proposal id, shared by its callers (mu_ held).
  std::shared_ptr<Waiter> RegisterWaiterLocked(const std::string& id);
  void ReleaseWaiterLocked(const std::string& id, const std::shared_ptr<Waiter>& w);
  // Idempotency keys of the intake; *fresh gets the proposals to store.
  Status PersistIntake(std::vector<std::shared_ptr<Intake>>* intake, std::vector<ProposalRow*>* fresh);
  // Seals pending proposals into a batch; *sealed gets it (no pins: none).
  Status SealPending(std::vector<std::shared_ptr<Intake>>* intake, chain::Batch* sealed);
  // Submits the batches sealed but not yet on the ledger (unsent_); after a
  // restart, first those the store holds.
  Status SubmitUnsent();
  Status ApplyBlock(const chain::Block& b, std::vector<ProposalRow>* applied);
  // Where and when a pin was sequenced.
  struct Sequenced {
    int64_t height = 0, time_ms = 0, idx = 0;  // idx: place in the block, from 1
    // The entries after this pin in its batch, where its unique-key claims
    // follow it (null when applied later from the queue).
    const std::vector<Digest>* batch = nullptr;
    size_t pos = 0;
  };
  Status ApplyPin(ProposalRow* p, const Sequenced& at);
  Status ApplyStart(ProposalRow* p, const Sequenced& at);
  Status ApplyStep(ProposalRow* p, const Sequenced& at);
  // Hands applied rows to their waiters; our_batches: how many of this
  // node's batches the applied blocks held.
  void NotifyApplied(std::vector<ProposalRow>* rows, int our_batches = 0);
  // Hands the instance rows of rows[from..] to the preflight's cache; call
  // right after the transaction that wrote them commits.
  void PublishInstances(const std::vector<ProposalRow>& rows, size_t from);
  // Event and log line for an instance that starts waiting at a pin.
  Status NoteBlocked(const std::string& instance, const std::string& pin_hex, const std::string& author,
                     const Sequenced& at);
  // What never changes once an instance started, cached; store mu() held.
  struct InstanceKeys {
    std::string salt, roles_json, def_hash;
  };
  const InstanceKeys* KeysOf(const std::string& instance);
  std::string SaltOf(const std::string& instance);
  // Multi-party pieces (node_multiparty.cc); all expect store mu() held.
  Status Expect(const std::string& instance, const std::string& author, int64_t nonce, const std::string& salt_hex);
  // A recognised pin that waits (for its data, or behind one that does).
  Status QueuePin(const std::string& instance, const std::string& author, const std::string& pin_hex,
                  const Sequenced& at);
  // After a rollback: drops in-memory state the store no longer backs.
  void ForgetUncommitted();
  // After a commit (store lock held): hands its outbox messages over.
  void SendCommitted();
  Status Drain(const std::string& instance, std::vector<ProposalRow>* applied);
  Status SendProposal(const ProposalRow& p, std::string* extra_json);
  Status Attest(const std::string& instance, int64_t seq, const std::string& roles_json, const AttestedOutcome& ours);
  Status ReportFault(const std::string& instance, int64_t seq, const std::string& party,
                     const AttestedOutcome& theirs, const AttestedOutcome& ours);
  Status Refused(const std::string& instance, const std::string& from, const std::string& reason);
  Status CommittedStateHash(const runtime::DefinitionRuntime& def, const runtime::Machine& m,
                            const std::string& instance, const std::string& input_json, const std::string& extra_json,
                            std::string* state_hash);
  std::vector<std::string> MembersOf(const std::string& roles_json) const;
  // Outgoing items by peer and kind, written to the outbox by FlushOutgoing
  // inside the transaction that produced them (store mu() held).
  void Queue(const std::string& peer, const std::string& kind, nlohmann::json item);
  // A proposal for `peer`: ours, covered by the set FlushOutgoing signs for
  // that peer's message (own_digest = its signing digest); or one carrying
  // its own signature (set_json empty); or one covered by a stored set.
  void QueueProposal(const std::string& peer, const std::string& id, const std::string& envelope_json,
                     const Digest* own_digest, const std::string& set_json);
  Status FlushOutgoing();
  // Unique keys (unique_claims.cc). Claims the proposal's data change needs.
  struct Claim {
    std::string field, value_text;
    Digest hash{};
  };
  std::vector<Claim> ClaimsFor(const runtime::DefinitionRuntime& def, const Value& before, const Value& after) const;
  // Preflight: ALREADY_EXISTS when a claim is taken on the ledger already.
  Status CheckClaimsFree(const std::vector<Claim>& claims, const std::string& instance, bool writer);
  // Apply: true when every claim is this step's by ledger order; else the
  // rejection code and reason. Records the claims it wins.
  Result<bool> WinClaims(const std::vector<Claim>& claims, const std::string& instance, const Sequenced& at,
                         std::string* code, std::string* reason);
  // The proposal sets of one received message: each parsed once, its
  // signature checked once, stored once (if a proposal it covers is).
  struct ReceivedSet {
    const Value* raw = nullptr;
    std::optional<protocol::ProposalSet> set;  // empty: malformed (error)
    std::string error;
    std::optional<bool> valid;
    int64_t stored_id = 0;
  };
  Status ReceiveProposal(const std::string& from, const Value& body, std::vector<ReceivedSet>* sets,
                         std::vector<ProposalRow>* applied);
  Status ReceiveAttestation(const std::string& from, const nlohmann::json& item, const std::string& signature_ref);
  Status ReceiveResend(const std::string& from, const nlohmann::json& body);
  // Asks members to resend the data of pins blocked for over a second.
  void RequestResends();
  // Fields of the envelope `member` may not see (its roles in the instance).
  std::set<std::string> HiddenFor(const runtime::DefinitionRuntime& def, const protocol::ProposalEnvelope& env,
                                  const std::string& roles_json, const std::string& member);
  void Reject(ProposalRow* p, const std::string& code, const std::string& reason);

  NodeOptions opts_;
  NodeStore* store_;
  // Committed instance rows for the preflight (instance_cache.h): 64 MiB
  // of row text at most (~90,000 purchase orders); a row over 256 KiB is
  // read from the store each time.
  InstanceCache instance_cache_{64u << 20, 256u << 10};
  chain::Ledger* ledger_;
  runtime::Registry* registry_;

  std::atomic<bool> stop_{false};
  std::thread batcher_, applier_;
  std::mutex mu_;  // guards the wake-ups and waiters below, never held with the store's
  std::condition_variable proposed_, applied_;
  // Attestations received: bumped and notified after each transaction that
  // stored one (WaitAttested).
  std::condition_variable attested_;
  uint64_t attested_generation_ = 0;
  uint64_t applied_generation_ = 0;
  bool proposal_waiting_ = false;
  int in_flight_ = 0;  // our batches sealed and not yet applied
  std::map<std::string, std::shared_ptr<Waiter>> waiting_;
  std::vector<std::shared_ptr<Intake>> intake_;
  // Sealed batches the ledger has not acknowledged; the batcher's own. The
  // store keeps each until the applier sees it in a block (restart safety).
  std::vector<chain::Batch> unsent_;
  bool unsent_loaded_ = false;
  // Whether the store may hold pending (unsealed) proposals; the batcher's.
  bool pending_in_store_ = true;
  std::function<void(std::vector<OutboxMessage>)> outbox_send_;
  // Outbox messages written by the open transaction (FlushOutgoing);
  // handed to outbox_send_ by SendCommitted. Guarded by the store's mu().
  std::vector<OutboxMessage> committed_out_;
  std::function<uint64_t()> refused_connections_;
  // InputVisibleTo by "hash/step/field"; guarded by the store's mu().
  std::map<std::string, std::vector<std::string>> visibility_;
  std::map<std::string, int64_t> resend_asked_;
  // Commit numbers (store mu() held to advance): every commit takes the
  // next; a synchronous one makes all before it durable too (WAL order).
  uint64_t commit_gen_ = 0;
  std::atomic<uint64_t> durable_gen_{0};
  std::set<std::string> waiting_instances_;  // instances with queued pins; guarded by the store's mu()
  // Claims (hex) won by steps of the block being applied: their own claim
  // pins, which follow them in the batch, are recorded once, in `claims`,
  // not also in unmatched_pins. The applier's; guarded by the store's mu().
  std::unordered_set<std::string> won_in_block_;
  std::unordered_map<std::string, InstanceKeys> keys_;  // guarded by the store's mu()
  bool attested_any_ = false;  // the open transaction stored an attestation; the store's mu()
  struct Pending {
    std::vector<std::string> raw;                      // items already serialised
    nlohmann::json items = nlohmann::json::array();  // items still to serialise
    // Proposals: the sets (JSON) items refer to by index; our own set is
    // signed at FlushOutgoing over `own`, the digests of our proposals.
    std::vector<std::string> sets;
    int own_set = -1;
    std::vector<Digest> own;
  };
  std::map<std::string, std::map<std::string, Pending>> outgoing_;  // peer -> kind; guarded by the store's mu()
};

// Maps a rejection code (runtime::RejectCodeName or the node's own) to a
// gRPC-style status code.
StatusCode StatusForReject(const std::string& code);
Digest Pin(const std::string& salt_hex, const std::string& author, int64_t nonce);
// What a member signs for the attestations of one transaction (one block,
// usually) sent to one member: fields "treaty.attestations.v2", attester,
// number of items, then per item: instance, history sequence number,
// outcome, reject code, reason, state hash (hex). Items are {instance, seq,
// outcome, reject_code, reason, state_hash}.
Digest AttestationSetDigest(const std::string& party, const nlohmann::json& items);

}  // namespace treaty::engine
