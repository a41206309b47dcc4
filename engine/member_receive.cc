// MemberProtocol, the receiving half: what members send — proposals
// (verified, stored, and their queued pins drained through the Applier),
// attestations (compared with ours) and resend requests — handled in one
// relaxed transaction per poll of the data exchange.
#include <algorithm>

#include "engine/member_messages.h"
#include "engine/member_protocol.h"

namespace treaty::engine {

using json = nlohmann::json;

namespace {

bool Holds(const std::vector<std::string>& v, const std::string& x) { return std::find(v.begin(), v.end(), x) != v.end(); }

}  // namespace

std::vector<Status> MemberProtocol::Receive(const std::vector<Inbound>& messages, uint64_t* generation) {
  std::vector<Status> out(messages.size());
  std::vector<ProposalRow> applied;
  attested_any_ = false;
  bool attested = false;
  Status st;
  {
    // Relaxed: the receipts wait for durability instead (DataExchange).
    auto txn_or = ctx_->store->Begin("receive", NodeStore::Durability::kRelaxed);
    if (!txn_or.ok()) {
      for (auto& s : out) s = txn_or.status();
      return out;
    }
    WriteTxn& txn = **txn_or;
    for (size_t i = 0; st.ok() && i < messages.size(); ++i) {
      const Inbound& m = messages[i];
      const Value* list = m.body.Find("items");
      if (list != nullptr && !list->is_list()) list = nullptr;
      // Proposals are read from the exact value; the other kinds hold only
      // strings and integers and are read as JSON.
      json body, *items = nullptr;
      if (list != nullptr && m.kind != "proposals") {
        body = json::parse(m.body.ToCanonicalJson(), nullptr, false);
        if (body.is_object() && body.contains("items") && body["items"].is_array()) items = &body["items"];
        else list = nullptr;
      }
      auto text = [&](const char* key) {
        auto it = body.find(key);
        return it != body.end() && it->is_string() ? it->get<std::string>() : std::string();
      };
      std::vector<ReceivedSet> sets;
      if (const Value* listed = m.body.Find("sets"); listed != nullptr && m.kind == "proposals") {
        if (!listed->is_list()) {
          out[i] = Refused(txn, "", m.from, "a proposals message's 'sets' must be a list");
          continue;
        }
        for (const auto& v : listed->as_list()) {
          ReceivedSet r;
          r.raw = &v;
          auto parsed = protocol::ProposalSet::FromValue(v);
          if (parsed.ok()) r.set = std::move(*parsed);
          else r.error = parsed.status().message();
          sets.push_back(std::move(r));
        }
      }
      std::string signature_ref;
      if (items != nullptr && m.kind == "attestations") {
        // The set is signed once by its attester; stored whole, so each
        // item stays verifiable.
        const chain::Member* member = ctx_->opts.network->Find(m.from);
        auto sig = crypto::SignatureFromHex(text("signature"));
        if (text("party") != m.from || member == nullptr || !sig.ok() ||
            !crypto::Verify(member->signing_key, AttestationSetDigest(m.from, *items), *sig)) {
          out[i] = Refused(txn, "", m.from, "attestations not signed by " + m.from, PeerRefusal::kBadSignature);
          continue;
        }
        auto set_id = txn.InsertAttestationSet(m.from, body.dump());
        if (!set_id.ok()) {
          st = set_id.status();
          break;
        }
        signature_ref = "set:" + std::to_string(*set_id);
      }
      if (list == nullptr) {
        out[i] = Refused(txn, "", m.from, "a '" + m.kind + "' message needs a list of items");
        continue;
      }
      for (size_t k = 0; k < list->as_list().size(); ++k) {
        Status one;
        if (m.kind == "proposals") one = ReceiveProposal(txn, m.from, list->as_list()[k], &sets, &applied);
        else if (m.kind == "attestations") one = ReceiveAttestation(txn, m.from, (*items)[k], signature_ref);
        else if (m.kind == "resend") one = ReceiveResend(txn, m.from, (*items)[k]);
        else one = Refused(txn, "", m.from, "unknown message kind '" + m.kind + "'");
        // "Not yet" for one item: the whole message comes again (items
        // already stored are recognised then).
        if (!one.ok() && out[i].ok()) out[i] = one;
        if (!one.ok() && one.code() != StatusCode::kUnavailable) st = one;
      }
    }
    if (st.ok()) st = Flush(txn);
    attested = attested_any_;
    if (st.ok()) st = txn.Commit(generation);
  }
  if (!st.ok()) {
    ctx_->Log("messages from members not stored (they will be resent): " + st.ToString(), LogLevel::kWarning);
    for (auto& s : out) s = st;
    return out;
  }
  applier_->Published(&applied, 0);
  if (attested) waiters_->Attested();
  return out;
}

Status MemberProtocol::ReceiveProposal(WriteTxn& txn, const std::string& from, const Value& body,
                                       std::vector<ReceivedSet>* sets, std::vector<ProposalRow>* applied) {
  const Value* proposal = body.Find("proposal");
  const Value* envelope = body.Find("envelope");
  if (envelope == nullptr || proposal == nullptr || !proposal->is_string())
    return Refused(txn, "", from, "a proposal message needs a proposal id and an envelope");
  const std::string& id = proposal->as_string();
  if (!ValidId(id)) return Refused(txn, "", from, "invalid proposal id");
  auto env = protocol::ProposalEnvelope::FromValue(*envelope);
  if (!env.ok()) return Refused(txn, "", from, "malformed proposal: " + env.status().message());
  const chain::Member* author = ctx_->opts.network->Find(env->author);
  if (author == nullptr)
    return Refused(txn, env->instance, from, "author '" + env->author + "' is not a network member",
                   PeerRefusal::kNotAMember);
  // Covered by one of the message's sets, or signed alone (a resend).
  ReceivedSet* in_set = nullptr;
  Status verified;
  if (const Value* ref = body.Find("set")) {
    if (!ref->is_int() || ref->as_int() < 0 || ref->as_int() >= static_cast<int64_t>(sets->size()))
      return Refused(txn, env->instance, from, "proposal " + id + " names a set its message does not hold");
    in_set = &(*sets)[ref->as_int()];
    if (!in_set->set) return Refused(txn, env->instance, from, "malformed proposal set: " + in_set->error);
    if (env->signature)
      return Refused(txn, env->instance, from, "proposal " + id + " carries a signature and a set: one proof, not two");
    verified = protocol::VerifyProposalInSet(*env, *in_set->set, author->signing_key, &in_set->valid);
  } else {
    verified = protocol::VerifyProposal(*env, author->signing_key);
  }
  if (!verified.ok())
    return Refused(txn, env->instance, from, "proposal " + id + " of '" + env->author + "': " + verified.message(),
                   PeerRefusal::kBadSignature);
  Value input = env->Input();
  ProposalExtra extra;
  if (env->step == "$start") {
    const Value* roles = input.Find("$roles");
    const Value* s = input.Find("$salt");
    const Value* d = input.Find("$definition");
    const Value* v = input.Find("$version");
    auto parsed_roles = roles != nullptr && roles->is_object() ? RolesFromJson(roles->ToCanonicalJson())
                                                               : Result<std::map<std::string, std::string>>(
                                                                     Status::InvalidArgument("no roles"));
    if (!parsed_roles.ok() || !s || !s->is_string() || s->as_string().size() != 64)
      return Refused(txn, env->instance, from, "start proposal " + id + " lacks its roles or salt");
    extra.roles = std::move(parsed_roles).value();
    extra.salt_hex = s->as_string();
    extra.definition = d && d->is_string() ? d->as_string() : "";
    extra.version = v && v->is_int() ? v->as_int() : 0;
    extra.hash_hex = ToHex(env->definition_hash);
    auto members = MembersOf(extra.roles);
    if (!Holds(members, ctx_->party()))
      return Refused(txn, env->instance, from, "start proposal " + id + " does not name this party in any role",
                     PeerRefusal::kNotAMember);
    if (!Holds(members, env->author))
      return Refused(txn, env->instance, from, "author '" + env->author + "' holds no role in instance " + env->instance,
                     PeerRefusal::kNotAMember);
    Value data = Value::Object();
    for (const auto& [name, value] : input.as_object())
      if (name.empty() || name[0] != '$') data.Set(name, value);
    input = data;
  } else {
    std::string salt;
    std::map<std::string, std::string> roles;
    TREATY_ASSIGN_OR_RETURN(const InstanceKeys::Keys* k, keys_->Of(txn, env->instance));
    if (k != nullptr) {
      salt = k->salt_hex;
      roles = k->roles;
    } else {
      TREATY_ASSIGN_OR_RETURN(auto start, txn.StartProposal(env->instance));
      if (!start) return Status::Unavailable("instance " + env->instance + " is not known here yet");
      salt = start->extra.salt_hex;
      roles = start->extra.roles;
    }
    if (!Holds(MembersOf(roles), env->author))
      return Refused(txn, env->instance, from,
                     "author '" + env->author + "' is not a member of instance " + env->instance,
                     PeerRefusal::kNotAMember);
    extra.salt_hex = salt;  // kept for the pin below only
  }
  for (const auto& f : env->fields) extra.commitments[f.name] = ToHex(f.commitment);
  std::string pin = ToHex(Pin(extra.salt_hex, env->author, env->nonce));
  if (env->step != "$start") extra.salt_hex.clear();
  auto replayed = [&](const std::string& known) {
    return Refused(txn, env->instance, from,
                   "replayed proposal: nonce " + std::to_string(env->nonce) + " of '" + env->author +
                       "' in instance " + env->instance + " is already proposal " + known);
  };
  TREATY_ASSIGN_OR_RETURN(auto in_flight, txn.GetProposalByPin(pin));
  if (in_flight) return in_flight->id == id ? Status::Ok() : replayed(in_flight->id);  // again: already stored
  TREATY_ASSIGN_OR_RETURN(auto applied_id, txn.AppliedProposal(env->instance, env->author, env->nonce));
  if (applied_id) return *applied_id == id ? Status::Ok() : replayed(*applied_id);  // again: already applied
  TREATY_ASSIGN_OR_RETURN(bool taken, txn.ProposalIdUsed(id));
  if (taken) return Refused(txn, env->instance, from, "proposal id " + id + " is already taken");
  ProposalRow p;
  p.id = id;
  p.kind = env->step == "$start" ? ProposalKind::kStart : ProposalKind::kStep;
  p.instance = env->instance;
  p.step = env->step;
  p.input_json = input.ToCanonicalJson();
  p.author = env->author;
  p.nonce = env->nonce;
  p.pin_hex = pin;
  p.status = ProposalStatus::kReceived;
  p.proposed_ms = ctx_->NowMs();
  p.extra = std::move(extra);
  TREATY_RETURN_IF_ERROR(txn.InsertProposal(p));
  // The set is kept once per message: a resend to another member needs it.
  if (in_set != nullptr && !in_set->stored_id) {
    TREATY_ASSIGN_OR_RETURN(in_set->stored_id, txn.InsertProposalSet(in_set->set->author, in_set->raw->ToCanonicalJson()));
  }
  TREATY_RETURN_IF_ERROR(txn.PutEnvelope(pin, p.id, envelope->ToCanonicalJson(),
                                         in_set != nullptr ? in_set->stored_id : std::nullopt));
  // A start's pin is recognised when sequenced (and found if it was already).
  if (p.kind == ProposalKind::kStart) TREATY_RETURN_IF_ERROR(applier_->ExpectStart(txn, p));
  // Its pin (or one a late start reveals) may wait in the queue already.
  return applier_->DrainIfQueued(txn, p.instance, applied);
}

Status MemberProtocol::ReceiveAttestation(WriteTxn& txn, const std::string& from, const json& body,
                                          const std::string& signature_ref) {
  auto item = DecodeAttestation(body);
  if (!item.ok()) return Refused(txn, "", from, item.status().message());
  AttestationRow a;
  a.instance = std::move(item->instance);
  a.seq = item->seq;
  a.party = from;
  a.attested = std::move(item->outcome);
  a.signature = signature_ref;
  TREATY_RETURN_IF_ERROR(txn.InsertAttestation(a));
  attested_any_ = true;
  // Ours is our history entry, once we have applied the step.
  TREATY_ASSIGN_OR_RETURN(auto ours, txn.HistoryOutcomeAt(a.instance, a.seq));
  if (ours && !(*ours == a.attested)) return ReportFault(txn, a.instance, a.seq, from, a.attested, *ours);
  return Status::Ok();
}

// A member blocked on a pin asks for its data again: we send our copy,
// redacted for that member, if we hold the proposal.
Status MemberProtocol::ReceiveResend(WriteTxn& txn, const std::string& from, const json& body) {
  if (!body.is_object() || !body.contains("pin") || !body["pin"].is_string())
    return Refused(txn, "", from, "malformed resend");
  TREATY_ASSIGN_OR_RETURN(auto kept, txn.Envelope(body["pin"].get<std::string>()));
  if (!kept) return Status::Ok();
  auto env = protocol::ProposalEnvelope::FromJson(kept->body);
  if (!env.ok()) {
    // We stored it after verifying it: unreadable now is damage here.
    ctx_->Log("cannot resend proposal " + kept->proposal + " to " + from + ": its stored envelope is unreadable: " +
                  env.status().message(),
              LogLevel::kError);
    return Status::Ok();
  }
  std::map<std::string, std::string> roles;
  std::string hash_hex = ToHex(env->definition_hash);
  TREATY_ASSIGN_OR_RETURN(const InstanceKeys::Keys* k, keys_->Of(txn, env->instance));
  if (k != nullptr) {
    roles = k->roles;
    hash_hex = k->def_hash;
  } else {
    TREATY_ASSIGN_OR_RETURN(auto start, txn.StartProposal(env->instance));
    if (start) roles = start->extra.roles;
  }
  if (!Holds(MembersOf(roles), from))
    return Refused(txn, env->instance, from, "resend requested by a non-member of instance " + env->instance,
                   PeerRefusal::kNotAMember);
  auto def = ctx_->DefinitionByHash(hash_hex);
  // Our own copy may itself be redacted: hide at least what `from` may not see.
  std::set<std::string> hidden = def ? HiddenFor(*def, *env, roles, from) : std::set<std::string>{};
  protocol::ProposalEnvelope copy = protocol::RedactFor(*env, hidden);
  // Its proof: its own signature, the set that covered it here, or (ours,
  // sent under a set of another message) a signature made now.
  if (!copy.signature && kept->set_json.empty()) {
    if (env->author != ctx_->party()) {
      // Every received envelope came with a signature or a set; a copy
      // without either is damage here, and sending it would only be refused.
      ctx_->Log("cannot resend proposal " + kept->proposal + " to " + from + ": no signature or set is stored with it",
                LogLevel::kError);
      return Status::Ok();
    }
    copy.signature = ctx_->opts.identity->key.Sign(copy.SigningDigest());
  }
  QueueProposal(from, kept->proposal, copy.ToJson(), nullptr, copy.signature ? "" : kept->set_json);
  return Status::Ok();
}

}  // namespace treaty::engine
