// MemberProtocol, the sending half: proposals, attestations and resend
// requests queued by a transaction and written to the outbox with it.
#include "engine/member_protocol.h"

#include <algorithm>

#include "definitions/schema.h"
#include "engine/member_messages.h"

namespace treaty::engine {

using json = nlohmann::json;

namespace {

std::string CodeText(RejectCode c) { return c == RejectCode::kNone ? "" : RejectCodeName(c); }

bool Holds(const std::vector<std::string>& v, const std::string& x) { return std::find(v.begin(), v.end(), x) != v.end(); }

}  // namespace

Digest MemberProtocol::AttestationSetDigest(const std::string& party, const json& items) {
  return engine::AttestationSetDigest(party, items);
}

std::set<std::string> MemberProtocol::HiddenFor(const runtime::DefinitionRuntime& def,
                                                const protocol::ProposalEnvelope& env,
                                                const std::map<std::string, std::string>& roles,
                                                const std::string& member) {
  std::set<std::string> hidden;
  std::vector<std::string> mine = RolesOf(roles, member);
  auto sees = [&](const std::vector<std::string>& vis) {
    if (vis.empty()) return true;
    for (const auto& r : mine)
      if (Holds(vis, r)) return true;
    return false;
  };
  const defs::Definition& model = def.model();
  bool start = env.step == "$start";
  const defs::StepSpec* step = start ? nullptr : model.FindStep(env.step);
  for (const auto& field : env.fields) {
    const std::string& name = field.name;
    if (start) {
      const defs::FieldSpec* spec = model.FindData(name);
      if (spec != nullptr && !sees(spec->visible_to)) hidden.insert(name);
    } else if (step != nullptr) {
      std::string key = ToHex(def.hash()) + "/" + env.step + "/" + name;
      auto it = visibility_.find(key);
      if (it == visibility_.end()) it = visibility_.emplace(key, defs::InputVisibleTo(model, *step, name)).first;
      if (!sees(it->second)) hidden.insert(name);
    }
  }
  return hidden;
}

Status MemberProtocol::SendProposal(WriteTxn& txn, ProposalRow* p) {
  std::string hash_hex;
  std::map<std::string, std::string> roles;
  if (p->kind == ProposalKind::kStart) {
    hash_hex = p->extra.hash_hex;
    roles = p->extra.roles;
  } else {
    TREATY_ASSIGN_OR_RETURN(const InstanceKeys::Keys* k, keys_->Of(txn, p->instance));
    if (k == nullptr) return Status::Ok();  // the applier rejects it (UNKNOWN_INSTANCE); nothing to send
    hash_hex = k->def_hash;
    roles = k->roles;
  }
  Digest hash{};
  DigestFromHex(hash_hex, &hash);
  auto def = ctx_->registry->FindByHash(hash);
  TREATY_ASSIGN_OR_RETURN(Value fields, Value::FromJson(p->input_json));
  if (p->kind == ProposalKind::kStart) {
    // The terms every member must agree on travel as signed fields.
    TREATY_ASSIGN_OR_RETURN(Value roles_value, Value::FromJson(RolesJson(roles)));
    fields.Set("$roles", roles_value);
    fields.Set("$salt", Value::Str(p->extra.salt_hex));
    fields.Set("$definition", Value::Str(p->extra.definition));
    fields.Set("$version", Value::Int(p->extra.version));
  }
  // Unsigned: one signature per member's message covers the batch's
  // proposals (Flush).
  TREATY_ASSIGN_OR_RETURN(protocol::ProposalEnvelope env,
                          protocol::CommitProposal(p->instance, p->step, p->author, p->nonce, hash, fields));
  p->extra.commitments.clear();
  for (const auto& f : env.fields) p->extra.commitments[f.name] = ToHex(f.commitment);
  // The envelope, kept apart from the proposal (read only for resends,
  // which sign it alone).
  std::string full = env.ToJson();
  Digest digest = env.SigningDigest();
  TREATY_RETURN_IF_ERROR(txn.PutEnvelope(p->pin_hex, p->id, full, std::nullopt));
  for (const auto& m : MembersOf(roles)) {
    if (m == ctx_->party()) continue;
    std::set<std::string> hidden = def ? HiddenFor(*def, env, roles, m) : std::set<std::string>{};
    std::string copy = hidden.empty() ? full : protocol::RedactFor(env, hidden).ToJson();
    QueueProposal(m, p->id, copy, &digest, "");
  }
  return Status::Ok();
}

Status MemberProtocol::Refused(WriteTxn& txn, const std::string& instance, const std::string& from,
                               const std::string& reason, PeerRefusal kind) {
  ctx_->Log("refused a message from " + from + (instance.empty() ? "" : " for instance " + instance) + ": " + reason,
            LogLevel::kWarning, {instance, {}});
  ctx_->metrics()->PeerRefused(kind);
  EventRow ev;
  ev.type = "proposal_refused";
  ev.instance = instance;
  ev.time_ms = ctx_->NowMs();
  ev.payload_json = json{{"from", from}, {"reason", reason}}.dump();
  return txn.AppendEvent(ev);
}

// Whichever attestation arrives second finds the difference.
Status MemberProtocol::ReportFault(WriteTxn& txn, const std::string& instance, int64_t seq, const std::string& party,
                                   const AttestedOutcome& theirs, const AttestedOutcome& ours) {
  auto brief = [](const AttestedOutcome& o) {
    return std::string(OutcomeName(o.outcome)) + (o.reject_code == RejectCode::kNone ? "" : " " + CodeText(o.reject_code)) +
           " " + o.state_hash.substr(0, 12) + (o.reason.empty() ? "" : " (" + o.reason + ")");
  };
  ctx_->Log("CONSISTENCY FAULT: instance " + instance + " step " + std::to_string(seq) + ": " + party + " has " +
                brief(theirs) + ", this node " + brief(ours),
            LogLevel::kError, {instance, {}});
  EventRow ev;
  ev.type = "consistency_fault";
  ev.instance = instance;
  ev.time_ms = ctx_->NowMs();
  ev.payload_json = json{{"seq", seq},
                         {"party", party},
                         {"their_outcome", OutcomeName(theirs.outcome)},
                         {"their_reject_code", CodeText(theirs.reject_code)},
                         {"their_reason", theirs.reason},
                         {"their_state_hash", theirs.state_hash},
                         {"our_outcome", OutcomeName(ours.outcome)},
                         {"our_reject_code", CodeText(ours.reject_code)},
                         {"our_reason", ours.reason},
                         {"our_state_hash", ours.state_hash}}
                        .dump();
  return txn.AppendEvent(ev);
}

Status MemberProtocol::Attest(WriteTxn& txn, const std::string& instance, int64_t seq,
                              const std::map<std::string, std::string>& roles, const AttestedOutcome& ours) {
  const std::string& me = ctx_->party();
  // Our own attestation is the history entry itself (the whole outcome);
  // it is not stored twice. Ours are signed per set, per member, when sent
  // (Flush). Members that attested before we applied: do they agree?
  TREATY_ASSIGN_OR_RETURN(auto seen, txn.AttestationsAt(instance, seq));
  for (const auto& a : seen)
    if (a.party != me && !(a.attested == ours)) TREATY_RETURN_IF_ERROR(ReportFault(txn, instance, seq, a.party, a.attested, ours));
  json body = {{"instance", instance},
               {"seq", seq},
               {"outcome", OutcomeName(ours.outcome)},
               {"reject_code", CodeText(ours.reject_code)},
               {"reason", ours.reason},
               {"state_hash", ours.state_hash}};
  for (const auto& m : MembersOf(roles))
    if (m != me) Queue(m, "attestations", body);
  return Status::Ok();
}

void MemberProtocol::Queue(const std::string& peer, const std::string& kind, json item) {
  outgoing_[peer][kind].items.push_back(std::move(item));
}

void MemberProtocol::QueueProposal(const std::string& peer, const std::string& id, const std::string& envelope_json,
                                   const Digest* own_digest, const std::string& set_json) {
  Pending& q = outgoing_[peer]["proposals"];
  int index = -1;
  if (own_digest != nullptr) {
    if (q.own_set < 0) {
      q.own_set = static_cast<int>(q.sets.size());
      q.sets.emplace_back();  // signed at Flush
    }
    q.own.push_back(*own_digest);
    index = q.own_set;
  } else if (!set_json.empty()) {
    auto it = std::find(q.sets.begin(), q.sets.end(), set_json);
    index = static_cast<int>(it - q.sets.begin());
    if (it == q.sets.end()) q.sets.push_back(set_json);
  }
  std::string item = "{\"envelope\":" + envelope_json + ",\"proposal\":" + json(id).dump();
  if (index >= 0) item += ",\"set\":" + std::to_string(index);
  q.raw.push_back(item + "}");
}

Status MemberProtocol::Flush(WriteTxn& txn) {
  // One message per peer and kind for everything one transaction produced:
  // a block's attestations, a batch's proposals.
  int64_t now = ctx_->NowMs();
  for (auto& [peer, kinds] : outgoing_)
    for (auto& [kind, pending] : kinds) {
      std::string text;
      if (kind == "attestations") {
        // One signature covers the set: a block's attestations cost one
        // signature per member, not one per step.
        json body = {{"items", pending.items}, {"party", ctx_->party()}};
        body["signature"] =
            crypto::Hex(ctx_->opts.identity->key.Sign(AttestationSetDigest(ctx_->party(), pending.items)));
        text = body.dump();
      } else {
        // Items already serialised (envelopes): joined, not re-parsed.
        text = "{\"items\":[";
        for (size_t i = 0; i < pending.raw.size(); ++i) text += (i ? "," : "") + pending.raw[i];
        for (size_t i = 0; i < pending.items.size(); ++i)
          text += (i || !pending.raw.empty() ? "," : "") + pending.items[i].dump();
        text += "]";
        if (pending.own_set >= 0)
          pending.sets[pending.own_set] =
              protocol::SignProposalSet(ctx_->party(), std::move(pending.own), ctx_->opts.identity->key)
                  .ToValue()
                  .ToCanonicalJson();
        for (size_t i = 0; i < pending.sets.size(); ++i) text += (i ? "," : ",\"sets\":[") + pending.sets[i];
        text += pending.sets.empty() ? "}" : "]}";
      }
      OutboxMessage m{ctx_->TimeOrderedId(), peer, kind, std::move(text)};
      TREATY_RETURN_IF_ERROR(txn.EnqueueOutbox(m, now, now + OutboxBackoffMs(0)));
      flushed_.push_back(std::move(m));
    }
  outgoing_.clear();
  return Status::Ok();
}

void MemberProtocol::Committed() {
  outgoing_.clear();  // nothing queued outlives its transaction
  if (flushed_.empty()) return;
  if (send_) send_(std::move(flushed_));  // without a listener the rows are sent when due
  flushed_.clear();
}

void MemberProtocol::Abandoned() {
  outgoing_.clear();
  flushed_.clear();
  attested_any_ = false;
}

void MemberProtocol::RequestResends() {
  auto blocked = ctx_->store->Blocked();
  if (!blocked.ok()) {
    ctx_->Log("could not read the blocked instances: " + blocked.status().ToString(), LogLevel::kWarning);
    return;
  }
  int64_t now = ctx_->NowMs();
  std::vector<const BlockedRow*> due;
  for (const auto& b : *blocked) {
    if (now - b.since_ms < 1000) continue;
    int64_t& last = resend_asked_[b.pin];
    if (now - last < 5000) continue;
    last = now;
    due.push_back(&b);
  }
  if (resend_asked_.size() > 10000) resend_asked_.clear();
  if (due.empty()) return;  // no transaction (and no cache dropped) for nothing
  auto txn_or = ctx_->store->Begin("resend", NodeStore::Durability::kRelaxed);
  if (!txn_or.ok()) {
    ctx_->Log("could not ask members to resend: " + txn_or.status().ToString(), LogLevel::kWarning);
    return;
  }
  WriteTxn& txn = **txn_or;
  bool asked = false;
  for (const BlockedRow* row : due) {
    const BlockedRow& b = *row;
    auto keys = keys_->Of(txn, b.instance);
    if (!keys.ok() || *keys == nullptr) continue;
    for (const auto& m : MembersOf((*keys)->roles))
      if (m != ctx_->party()) {
        Queue(m, "resend", json{{"pin", b.pin}});
        asked = true;
      }
    ctx_->Log("instance " + b.instance + " blocked for " + std::to_string(now - b.since_ms) +
              " ms; asked its members to resend pin " + b.pin.substr(0, 12),
              LogLevel::kInfo, {b.instance, {}});
  }
  if (!asked) return;  // the transaction rolls back: nothing written
  Status st = Flush(txn);
  if (st.ok()) st = txn.Commit();
  if (!st.ok()) ctx_->Log("could not ask members to resend: " + st.ToString(), LogLevel::kWarning);
}

}  // namespace treaty::engine
