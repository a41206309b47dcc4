// MemberProtocol: this node's side of the multi-party protocol
// (docs/protocol.md). Outgoing: a sealed proposal is committed field by
// field, redacted for each member by what its roles may see, and queued
// for the instance's members with one signature per member's message
// (a proposal set); every applied step is attested to the other members,
// one signed set per member per transaction. Incoming: members'
// proposals (verified, stored, and their queued pins drained through the
// Applier), attestations (compared with ours: any difference in the whole
// outcome is a consistency fault) and resend requests. What a transaction
// queues is written to the outbox in that transaction (Flush) and handed
// to the data exchange once it commits; the outbox rows bring resends
// until each member's receipt.
//
// Thread-safety: SendProposal, Attest and Flush run with a WriteTxn open
// (the store's writer lock held); Receive and RequestResends open their
// own; SetOutboxListener before Start.
#pragma once

#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "engine/applier.h"
#include "engine/instance_keys.h"
#include "engine/node_context.h"
#include "engine/protocol/proposal_envelope.h"
#include "engine/waiters.h"

namespace treaty::engine {

class MemberProtocol final : public TxnObserver {
 public:
  MemberProtocol(const NodeContext* ctx, Applier* applier, InstanceKeys* keys, Waiters* waiters)
      : ctx_(ctx), applier_(applier), keys_(keys), waiters_(waiters) {}

  // Called, writer lock held, with the messages a transaction put in the
  // outbox once it has committed: the data exchange sends them at once
  // from memory (no read-back).
  void SetOutboxListener(std::function<void(std::vector<OutboxMessage>)> send) { send_ = std::move(send); }

  // Seal: queues our proposal for the instance's members and records its
  // field commitments in p->extra.
  Status SendProposal(WriteTxn& txn, ProposalRow* p);
  // Apply: our attestation of a step to the other members; one that came
  // first from a member and differs is reported as a consistency fault.
  Status Attest(WriteTxn& txn, const std::string& instance, int64_t seq,
                const std::map<std::string, std::string>& roles, const AttestedOutcome& ours);
  // Writes everything queued by the open transaction to the outbox: one
  // message per member and kind.
  Status Flush(WriteTxn& txn);

  struct Inbound {
    std::string from, kind;
    Value body;  // {"items": [...]}, parsed exactly
  };
  // Handles a poll's worth of messages in one relaxed transaction; per
  // message, OK (handled for good: applied, stored, or refused and
  // recorded) or why not yet (the sender resends). *generation gets the
  // commit's number: its receipts wait until it is durable.
  std::vector<Status> Receive(const std::vector<Inbound>& messages, uint64_t* generation);
  // Asks members to resend the data of pins blocked for over a second.
  void RequestResends();

  void Committed() override;
  void Abandoned() override;

  // What a member signs for the attestations of one transaction sent to
  // one member: fields "treaty.attestations.v2", attester, number of
  // items, then per item: instance, history sequence number, outcome,
  // reject code, reason, state hash (hex).
  static Digest AttestationSetDigest(const std::string& party, const nlohmann::json& items);

 private:
  // The proposal sets of one received message: each parsed once, its
  // signature checked once, stored once (if a proposal it covers is).
  struct ReceivedSet {
    const Value* raw = nullptr;
    std::optional<protocol::ProposalSet> set;  // empty: malformed (error)
    std::string error;
    std::optional<bool> valid;
    std::optional<int64_t> stored_id;
  };
  Status ReceiveProposal(WriteTxn& txn, const std::string& from, const Value& body, std::vector<ReceivedSet>* sets,
                         std::vector<ProposalRow>* applied);
  Status ReceiveAttestation(WriteTxn& txn, const std::string& from, const nlohmann::json& item,
                            const std::string& signature_ref);
  Status ReceiveResend(WriteTxn& txn, const std::string& from, const nlohmann::json& body);
  // `kind`: the refusal's metric label (treaty_peer_refused_total).
  Status Refused(WriteTxn& txn, const std::string& instance, const std::string& from, const std::string& reason,
                 PeerRefusal kind = PeerRefusal::kMalformed);
  Status ReportFault(WriteTxn& txn, const std::string& instance, int64_t seq, const std::string& party,
                     const AttestedOutcome& theirs, const AttestedOutcome& ours);
  // Fields of the envelope `member` may not see (its roles in the instance).
  std::set<std::string> HiddenFor(const runtime::DefinitionRuntime& def, const protocol::ProposalEnvelope& env,
                                  const std::map<std::string, std::string>& roles, const std::string& member);
  void Queue(const std::string& peer, const std::string& kind, nlohmann::json item);
  // A proposal for `peer`: ours, covered by the set Flush signs for that
  // peer's message (own_digest = its signing digest); or one carrying its
  // own signature (set_json empty); or one covered by a stored set.
  void QueueProposal(const std::string& peer, const std::string& id, const std::string& envelope_json,
                     const Digest* own_digest, const std::string& set_json);

  const NodeContext* ctx_;
  Applier* applier_;
  InstanceKeys* keys_;
  Waiters* waiters_;
  std::function<void(std::vector<OutboxMessage>)> send_;
  // All below: the writer's (store writer lock held).
  struct Pending {
    std::vector<std::string> raw;                      // items already serialised
    nlohmann::json items = nlohmann::json::array();  // items still to serialise
    // Proposals: the sets (JSON) items refer to by index; our own set is
    // signed at Flush over `own`, the digests of our proposals.
    std::vector<std::string> sets;
    int own_set = -1;
    std::vector<Digest> own;
  };
  std::map<std::string, std::map<std::string, Pending>> outgoing_;  // peer -> kind
  std::vector<OutboxMessage> flushed_;  // written by the open transaction, handed over on commit
  // InputVisibleTo by "hash/step/field".
  std::map<std::string, std::vector<std::string>> visibility_;
  std::map<std::string, int64_t> resend_asked_;
  bool attested_any_ = false;  // the open transaction stored a member's attestation
};

}  // namespace treaty::engine
