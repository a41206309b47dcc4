// The multi-party half of the Node (docs/protocol.md): signing and sending
// proposals to the instance's members, receiving theirs, recognising pins
// of other authors, blocking an instance whose pin arrived before its data,
// attestations, and state hashes over salted commitments.
#include <nlohmann/json.hpp>
#include <sqlite3.h>

#include "definitions/schema.h"
#include "engine/node.h"
#include "engine/node_internal.h"
#include "engine/protocol/proposal_envelope.h"

namespace treaty::engine {

using namespace internal;  // NOLINT: the node's own helpers
using treaty::Stmt;

namespace {

bool Restricted(const defs::Definition& model, const std::string& field) {
  const defs::FieldSpec* spec = model.FindData(field);
  return spec != nullptr && !spec->visible_to.empty() && spec->visible_to.size() < model.roles.size();
}

}  // namespace

std::vector<std::string> Node::MembersOf(const std::string& roles_json) const {
  std::set<std::string> parties;
  auto j = json::parse(roles_json, nullptr, false);
  if (j.is_object())
    for (auto& [role, party] : j.items())
      if (party.is_string()) parties.insert(party.get<std::string>());
  return {parties.begin(), parties.end()};
}

std::set<std::string> Node::HiddenFor(const runtime::DefinitionRuntime& def, const protocol::ProposalEnvelope& env,
                                      const std::string& roles_json, const std::string& member) {
  std::set<std::string> hidden;
  std::vector<std::string> mine = RolesOf(roles_json, member);
  auto sees = [&](const std::vector<std::string>& vis) {
    if (vis.empty()) return true;
    for (const auto& r : mine)
      if (std::find(vis.begin(), vis.end(), r) != vis.end()) return true;
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

Status Node::SendProposal(const ProposalRow& p, std::string* extra_json) {
  json extra = json::parse(extra_json->empty() ? "{}" : *extra_json, nullptr, false);
  if (!extra.is_object()) extra = json::object();
  std::string hash_hex, roles_json;
  if (p.kind == "start") {
    hash_hex = extra.value("hash", "");
    roles_json = extra.contains("roles") ? extra["roles"].dump() : "{}";
  } else {
    const InstanceKeys* k = KeysOf(p.instance);
    if (k == nullptr) return Status::Ok();  // the applier rejects it (UNKNOWN_INSTANCE); nothing to send
    hash_hex = k->def_hash;
    roles_json = k->roles_json;
  }
  Digest hash{};
  DigestFromHex(hash_hex, &hash);
  auto def = registry_->FindByHash(hash);
  TREATY_ASSIGN_OR_RETURN(Value fields, Value::FromJson(p.input_json));
  if (p.kind == "start") {
    // The terms every member must agree on travel as signed fields.
    TREATY_ASSIGN_OR_RETURN(Value roles, Value::FromJson(roles_json));
    fields.Set("$roles", roles);
    fields.Set("$salt", Value::Str(extra.value("salt", "")));
    fields.Set("$definition", Value::Str(extra.value("definition", "")));
    fields.Set("$version", Value::Int(extra.value("version", int64_t{0})));
  }
  // Unsigned: one signature per member's message covers the batch's
  // proposals (FlushOutgoing).
  TREATY_ASSIGN_OR_RETURN(protocol::ProposalEnvelope env,
                          protocol::CommitProposal(p.instance, p.step, p.author, p.nonce, hash, fields));
  json commitments = json::object();
  for (const auto& f : env.fields) commitments[f.name] = ToHex(f.commitment);
  extra["commitments"] = commitments;
  *extra_json = extra.dump();
  // The envelope, kept apart from the proposal row (read only for resends,
  // which sign it alone).
  std::string full = env.ToJson();
  Digest digest = env.SigningDigest();
  Stmt keep = store_->db().Prepare("INSERT OR REPLACE INTO envelopes (proposal, body) VALUES (?, ?)");
  keep.Bind(1, p.id).Bind(2, full);
  TREATY_RETURN_IF_ERROR(keep.Run());
  for (const auto& m : MembersOf(roles_json)) {
    if (m == opts_.party) continue;
    std::set<std::string> hidden = def ? HiddenFor(*def, env, roles_json, m) : std::set<std::string>{};
    std::string copy = hidden.empty() ? full : protocol::RedactFor(env, hidden).ToJson();
    QueueProposal(m, p.id, copy, &digest, "");
  }
  return Status::Ok();
}

Status Node::QueuePin(const std::string& instance, const std::string& author, const std::string& pin_hex,
                      const Sequenced& at) {
  Stmt q = store_->db().Prepare(
      "INSERT OR IGNORE INTO queued_pins (instance, height, idx, pin, time_ms, since_ms, author) VALUES (?, ?, ?, ?, "
      "?, ?, ?)");
  q.Bind(1, instance).Bind(2, at.height).Bind(3, at.idx).Bind(4, pin_hex).Bind(5, at.time_ms).Bind(6, NowMs());
  q.Bind(7, author);
  TREATY_RETURN_IF_ERROR(q.Run());
  waiting_instances_.insert(instance);
  return Status::Ok();
}

Status Node::Expect(const std::string& instance, const std::string& author, int64_t nonce,
                    const std::string& salt_hex) {
  auto& db = store_->db();
  while (true) {
    std::string pin = ToHex(Pin(salt_hex, author, nonce));
    if (multi_party()) {
      // Sequenced before we could recognise it (its start came late)?
      Stmt u = db.Prepare("SELECT height, idx, time_ms FROM unmatched_pins WHERE pin = ?");
      u.Bind(1, pin);
      if (u.Step()) {
        int64_t height = u.Int(0), idx = u.Int(1), time_ms = u.Int(2);
        u.Reset();
        Stmt d = db.Prepare("DELETE FROM unmatched_pins WHERE pin = ?");
        d.Bind(1, pin);
        TREATY_RETURN_IF_ERROR(d.Run());
        TREATY_RETURN_IF_ERROR(QueuePin(instance, author, pin, Sequenced{height, time_ms, idx}));
        ++nonce;  // and the author's next one may be there too
        continue;
      }
    }
    return store_->ExpectPin(pin, instance, author, nonce);
  }
}

Status Node::Drain(const std::string& instance, std::vector<ProposalRow>* applied) {
  auto& db = store_->db();
  bool reported = false;  // an instance_blocked event went out for a pin drained here
  int64_t blocked_since = 0;
  while (true) {
    std::string pin;
    int64_t height = 0, idx = 0, time_ms = 0;
    bool noted = false;
    std::string author;
    {
      Stmt q = db.Prepare(
          "SELECT height, idx, pin, time_ms, since_ms, noted, author FROM queued_pins WHERE instance = ? ORDER BY "
          "height, idx LIMIT 1");
      q.Bind(1, instance);
      if (!q.Step()) {
        TREATY_RETURN_IF_ERROR(q.status());
        waiting_instances_.erase(instance);
        break;
      }
      height = q.Int(0);
      idx = q.Int(1);
      pin = q.Text(2);
      time_ms = q.Int(3);
      if (blocked_since == 0) blocked_since = q.Int(4);
      noted = q.Int(5) != 0;
      author = q.Text(6);
    }
    auto p = store_->GetProposalByPinLocked(pin);
    if (!p) {
      // Blocked here. Said once per pin, with who owes the data.
      if (noted) return Status::Ok();
      Stmt n = db.Prepare("UPDATE queued_pins SET noted = 1 WHERE instance = ? AND height = ? AND idx = ?");
      n.Bind(1, instance).Bind(2, height).Bind(3, idx);
      TREATY_RETURN_IF_ERROR(n.Run());
      return NoteBlocked(instance, pin, author, Sequenced{height, time_ms, idx});
    }
    Stmt d = db.Prepare("DELETE FROM queued_pins WHERE instance = ? AND height = ? AND idx = ?");
    d.Bind(1, instance).Bind(2, height).Bind(3, idx);
    TREATY_RETURN_IF_ERROR(d.Run());
    TREATY_RETURN_IF_ERROR(ApplyPin(&*p, Sequenced{height, time_ms, idx}));
    std::string salt = SaltOf(instance);
    if (!salt.empty()) TREATY_RETURN_IF_ERROR(Expect(instance, p->author, p->nonce + 1, salt));
    applied->push_back(std::move(*p));
    reported = reported || noted;
  }
  // A pin whose data came a moment later (a late start, a message overtaken
  // by its block) was never reported blocked: nothing to say now either.
  if (reported) {
    int64_t waited = blocked_since ? NowMs() - blocked_since : 0;
    // Short waits are routine under load; the log keeps the long ones
    // (RequestResends logged them while they lasted). The event says all.
    if (waited >= 1000) Log("instance " + instance + " unblocked after " + std::to_string(waited) + " ms");
    EventRow ev;
    ev.type = "instance_unblocked";
    ev.instance = instance;
    ev.time_ms = NowMs();
    ev.payload_json = json{{"blocked_ms", waited}}.dump();
    TREATY_RETURN_IF_ERROR(store_->AppendEvent(ev));
  }
  return Status::Ok();
}

Status Node::Refused(const std::string& instance, const std::string& from, const std::string& reason) {
  Log("refused a message from " + from + (instance.empty() ? "" : " for instance " + instance) + ": " + reason);
  EventRow ev;
  ev.type = "proposal_refused";
  ev.instance = instance;
  ev.time_ms = NowMs();
  ev.payload_json = json{{"from", from}, {"reason", reason}}.dump();
  return store_->AppendEvent(ev);
}

// Whichever attestation arrives second finds the difference.
Status Node::ReportFault(const std::string& instance, int64_t seq, const std::string& party,
                         const AttestedOutcome& theirs, const AttestedOutcome& ours) {
  auto brief = [](const AttestedOutcome& o) {
    return o.outcome + (o.reject_code.empty() ? "" : " " + o.reject_code) + " " + o.state_hash.substr(0, 12) +
           (o.reason.empty() ? "" : " (" + o.reason + ")");
  };
  Log("CONSISTENCY FAULT: instance " + instance + " step " + std::to_string(seq) + ": " + party + " has " +
      brief(theirs) + ", this node " + brief(ours));
  EventRow ev;
  ev.type = "consistency_fault";
  ev.instance = instance;
  ev.time_ms = NowMs();
  ev.payload_json = json{{"seq", seq},
                         {"party", party},
                         {"their_outcome", theirs.outcome},
                         {"their_reject_code", theirs.reject_code},
                         {"their_reason", theirs.reason},
                         {"their_state_hash", theirs.state_hash},
                         {"our_outcome", ours.outcome},
                         {"our_reject_code", ours.reject_code},
                         {"our_reason", ours.reason},
                         {"our_state_hash", ours.state_hash}}
                        .dump();
  return store_->AppendEvent(ev);
}

Status Node::Attest(const std::string& instance, int64_t seq, const std::string& roles_json,
                    const AttestedOutcome& ours) {
  auto& db = store_->db();
  const std::string& me = opts_.party;
  // Our own attestation is the history entry itself (the whole outcome);
  // it is not stored twice. Ours are signed per set, per member, when sent
  // (FlushOutgoing). Members that attested before we applied: do they agree?
  Stmt others = db.Prepare(
      "SELECT party, outcome, reject_code, reason, state_hash FROM attestations WHERE instance = ? AND seq = ? AND "
      "party != ?");
  others.Bind(1, instance).Bind(2, seq).Bind(3, me);
  std::vector<std::pair<std::string, AttestedOutcome>> seen;
  while (others.Step())
    seen.emplace_back(others.Text(0), AttestedOutcome{others.Text(1), others.Text(2), others.Text(3), others.Text(4)});
  TREATY_RETURN_IF_ERROR(others.status());
  for (const auto& [party, theirs] : seen)
    if (!(theirs == ours)) TREATY_RETURN_IF_ERROR(ReportFault(instance, seq, party, theirs, ours));
  json body = {{"instance", instance},       {"seq", seq},           {"outcome", ours.outcome},
               {"reject_code", ours.reject_code}, {"reason", ours.reason}, {"state_hash", ours.state_hash}};
  for (const auto& m : MembersOf(roles_json))
    if (m != me) Queue(m, "attestations", body);
  return Status::Ok();
}

Status Node::CommittedStateHash(const runtime::DefinitionRuntime& def, const runtime::Machine& m,
                                const std::string& instance, const std::string& input_json,
                                const std::string& extra_json, std::string* state_hash) {
  const Value& data = m.Data();
  if (!multi_party() || !data.is_object()) {
    *state_hash = ToHex(m.StateHash());
    return Status::Ok();
  }
  // A restricted field enters the hash as its salted commitment, which the
  // members who see the value and those who hold only the commitment share
  // (docs/protocol.md, "State hash").
  const defs::Definition& model = def.model();
  Value view = Value::Object();
  json commitments = json::object();
  auto extra = json::parse(extra_json, nullptr, false);
  if (extra.is_object() && extra.contains("commitments") && extra["commitments"].is_object())
    commitments = extra["commitments"];
  auto input = Value::FromJson(input_json);
  auto& db = store_->db();
  for (const auto& [name, value] : data.as_object()) {
    if (!Restricted(model, name)) {
      view.Set(name, value);
      continue;
    }
    std::string content = ToHex(value.ContentDigest());
    Digest c = value.ContentDigest();
    bool found = value.is_redacted();
    if (!found && input.ok() && input->is_object())
      for (const auto& [iname, ivalue] : input->as_object())
        if (commitments.contains(iname) && ToHex(ivalue.ContentDigest()) == content &&
            DigestFromHex(commitments[iname].get<std::string>(), &c)) {
          found = true;
          break;
        }
    if (!found) {
      Stmt s = db.Prepare("SELECT commitment FROM commitments WHERE instance = ? AND field = ? AND content = ?");
      s.Bind(1, instance).Bind(2, name).Bind(3, content);
      if (s.Step()) found = DigestFromHex(s.Text(0), &c);
    }
    if (found) {
      // Unchanged (the usual case after the step that set it): nothing written.
      Stmt put = db.Prepare(
          "INSERT INTO commitments (instance, field, commitment, content) VALUES (?, ?, ?, ?) ON CONFLICT(instance, "
          "field) DO UPDATE SET commitment = excluded.commitment, content = excluded.content WHERE commitment != "
          "excluded.commitment OR content != excluded.content");
      put.Bind(1, instance).Bind(2, name).Bind(3, ToHex(c)).Bind(4, content);
      TREATY_RETURN_IF_ERROR(put.Run());
    }
    view.Set(name, Value::Hidden(c));
  }
  *state_hash = ToHex(runtime::ComputeStateHash(def, m.ActiveStates(), view, m.Timers()));
  return Status::Ok();
}

// ---------------------------------------------------------------- inbound

void Node::Queue(const std::string& peer, const std::string& kind, json item) {
  outgoing_[peer][kind].items.push_back(std::move(item));
}

void Node::QueueProposal(const std::string& peer, const std::string& id, const std::string& envelope_json,
                         const Digest* own_digest, const std::string& set_json) {
  Pending& q = outgoing_[peer]["proposals"];
  int index = -1;
  if (own_digest != nullptr) {
    if (q.own_set < 0) {
      q.own_set = static_cast<int>(q.sets.size());
      q.sets.emplace_back();  // signed at FlushOutgoing
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

Status Node::FlushOutgoing() {
  // One message per peer and kind for everything one transaction produced:
  // a block's attestations, a batch's proposals.
  int64_t now = NowMs();
  Status st;
  for (auto& [peer, kinds] : outgoing_)
    for (auto& [kind, pending] : kinds) {
      if (!st.ok()) break;
      std::string text;
      if (kind == "attestations") {
        // One signature covers the set: a block's attestations cost one
        // signature per member, not one per step.
        json body = {{"items", pending.items}, {"party", opts_.party}};
        body["signature"] = crypto::Hex(opts_.identity->key.Sign(AttestationSetDigest(opts_.party, pending.items)));
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
              protocol::SignProposalSet(opts_.party, std::move(pending.own), opts_.identity->key)
                  .ToValue()
                  .ToCanonicalJson();
        for (size_t i = 0; i < pending.sets.size(); ++i) text += (i ? "," : ",\"sets\":[") + pending.sets[i];
        text += pending.sets.empty() ? "}" : "]}";
      }
      OutboxMessage m{TimeOrderedId(), peer, kind, std::move(text)};
      st = store_->EnqueueOutbox(m, now, now + OutboxBackoffMs(0));
      if (st.ok()) committed_out_.push_back(std::move(m));
    }
  outgoing_.clear();
  return st;
}

void Node::SendCommitted() {
  if (committed_out_.empty()) return;
  if (outbox_send_) outbox_send_(std::move(committed_out_));
  committed_out_.clear();  // without a listener the rows are sent when due
}

std::vector<Status> Node::Receive(const std::vector<Inbound>& messages, uint64_t* generation) {
  std::vector<Status> out(messages.size());
  if (!multi_party()) {
    for (auto& s : out) s = Status::FailedPrecondition("not a network node");
    return out;
  }
  std::vector<ProposalRow> applied;
  {
    std::lock_guard<std::mutex> lock(store_->mu());
    auto& db = store_->db();
    // Relaxed: the receipts wait for durability instead (DataExchange).
    Status st = db.BeginRelaxed();
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
          out[i] = Refused("", m.from, "a proposals message's 'sets' must be a list");
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
        const chain::Member* member = opts_.network->Find(m.from);
        auto sig = crypto::SignatureFromHex(text("signature"));
        if (text("party") != m.from || member == nullptr || !sig.ok() ||
            !crypto::Verify(member->signing_key, AttestationSetDigest(m.from, *items), *sig)) {
          out[i] = Refused("", m.from, "attestations not signed by " + m.from);
          continue;
        }
        Stmt set = db.Prepare("INSERT INTO attestation_sets (party, body) VALUES (?, ?)");
        set.Bind(1, m.from).Bind(2, body.dump());
        if (!(st = set.Run()).ok()) break;
        signature_ref = "set:" + std::to_string(sqlite3_last_insert_rowid(db.raw()));
      }
      if (list == nullptr) {
        out[i] = Refused("", m.from, "a '" + m.kind + "' message needs a list of items");
      } else {
        for (size_t k = 0; k < list->as_list().size(); ++k) {
          Status one;
          if (m.kind == "proposals") one = ReceiveProposal(m.from, list->as_list()[k], &sets, &applied);
          else if (m.kind == "attestations") one = ReceiveAttestation(m.from, (*items)[k], signature_ref);
          else if (m.kind == "resend") one = ReceiveResend(m.from, (*items)[k]);
          else one = Refused("", m.from, "unknown message kind '" + m.kind + "'");
          // "Not yet" for one item: the whole message comes again (items
          // already stored are recognised then).
          if (!one.ok() && out[i].ok()) out[i] = one;
          if (!one.ok() && one.code() != StatusCode::kUnavailable) st = one;
        }
      }
    }
    if (st.ok()) st = FlushOutgoing();
    if (st.ok()) {
      st = db.CommitRelaxed();
      if (st.ok()) PublishInstances(applied, 0);
    } else {
      db.RollbackRelaxed();
    }
    if (st.ok() && attested_any_) {
      {
        std::lock_guard<std::mutex> wl(mu_);
        ++attested_generation_;
      }
      attested_.notify_all();
    }
    attested_any_ = false;
    if (!st.ok()) {
      ForgetUncommitted();
      applied.clear();
      for (auto& s : out) s = st;
    }
    if (generation != nullptr) *generation = ++commit_gen_;
    SendCommitted();
  }
  if (!applied.empty()) NotifyApplied(&applied);
  return out;
}

Status Node::ReceiveProposal(const std::string& from, const Value& body, std::vector<ReceivedSet>* sets,
                             std::vector<ProposalRow>* applied) {
  auto& db = store_->db();
  const Value* proposal = body.Find("proposal");
  const Value* envelope = body.Find("envelope");
  if (envelope == nullptr || proposal == nullptr || !proposal->is_string())
    return Refused("", from, "a proposal message needs a proposal id and an envelope");
  const std::string& id = proposal->as_string();
  if (!ValidId(id)) return Refused("", from, "invalid proposal id");
  auto env = protocol::ProposalEnvelope::FromValue(*envelope);
  if (!env.ok()) return Refused("", from, "malformed proposal: " + env.status().message());
  const chain::Member* author = opts_.network->Find(env->author);
  if (author == nullptr) return Refused(env->instance, from, "author '" + env->author + "' is not a network member");
  // Covered by one of the message's sets, or signed alone (a resend).
  ReceivedSet* in_set = nullptr;
  Status verified;
  if (const Value* ref = body.Find("set")) {
    if (!ref->is_int() || ref->as_int() < 0 || ref->as_int() >= static_cast<int64_t>(sets->size()))
      return Refused(env->instance, from, "proposal " + id + " names a set its message does not hold");
    in_set = &(*sets)[ref->as_int()];
    if (!in_set->set) return Refused(env->instance, from, "malformed proposal set: " + in_set->error);
    if (env->signature)
      return Refused(env->instance, from, "proposal " + id + " carries a signature and a set: one proof, not two");
    verified = protocol::VerifyProposalInSet(*env, *in_set->set, author->signing_key, &in_set->valid);
  } else {
    verified = protocol::VerifyProposal(*env, author->signing_key);
  }
  if (!verified.ok())
    return Refused(env->instance, from, "proposal " + id + " of '" + env->author + "': " + verified.message());
  Value input = env->Input();
  std::string salt, roles_json;
  json extra = json::object();
  if (env->step == "$start") {
    const Value* roles = input.Find("$roles");
    const Value* s = input.Find("$salt");
    const Value* d = input.Find("$definition");
    const Value* v = input.Find("$version");
    if (!roles || !roles->is_object() || !s || !s->is_string() || s->as_string().size() != 64)
      return Refused(env->instance, from, "start proposal " + id + " lacks its roles or salt");
    roles_json = roles->ToCanonicalJson();
    salt = s->as_string();
    auto members = MembersOf(roles_json);
    if (std::find(members.begin(), members.end(), opts_.party) == members.end())
      return Refused(env->instance, from, "start proposal " + id + " does not name this party in any role");
    if (std::find(members.begin(), members.end(), env->author) == members.end())
      return Refused(env->instance, from, "author '" + env->author + "' holds no role in instance " + env->instance);
    extra = {{"definition", d && d->is_string() ? d->as_string() : ""},
             {"version", v && v->is_int() ? v->as_int() : 0},
             {"hash", ToHex(env->definition_hash)},
             {"roles", json::parse(roles_json)},
             {"salt", salt}};
    Value data = Value::Object();
    for (const auto& [name, value] : input.as_object())
      if (name.empty() || name[0] != '$') data.Set(name, value);
    input = data;
  } else {
    if (const InstanceKeys* k = KeysOf(env->instance)) {
      salt = k->salt;
      roles_json = k->roles_json;
    } else {
      Stmt s = db.Prepare("SELECT extra FROM proposals WHERE kind = 'start' AND instance = ? LIMIT 1");
      s.Bind(1, env->instance);
      if (!s.Step()) return Status::Unavailable("instance " + env->instance + " is not known here yet");
      auto e = json::parse(s.Text(0), nullptr, false);
      salt = e.value("salt", "");
      roles_json = e.contains("roles") ? e["roles"].dump() : "{}";
    }
    auto members = MembersOf(roles_json);
    if (std::find(members.begin(), members.end(), env->author) == members.end())
      return Refused(env->instance, from,
                     "author '" + env->author + "' is not a member of instance " + env->instance);
  }
  json commitments = json::object();
  for (const auto& f : env->fields) commitments[f.name] = ToHex(f.commitment);
  extra["commitments"] = commitments;
  std::string pin = ToHex(Pin(salt, env->author, env->nonce));
  if (auto known = store_->GetProposalByPinLocked(pin)) {
    if (known->id == id) return Status::Ok();  // delivered again: already stored
    return Refused(env->instance, from,
                   "replayed proposal: nonce " + std::to_string(env->nonce) + " of '" + env->author +
                       "' in instance " + env->instance + " is already proposal " + known->id);
  }
  if (store_->GetProposalLocked(id)) return Refused(env->instance, from, "proposal id " + id + " is already taken");
  ProposalRow p;
  p.id = id;
  p.kind = env->step == "$start" ? "start" : "step";
  p.instance = env->instance;
  p.step = env->step;
  p.input_json = input.ToCanonicalJson();
  p.author = env->author;
  p.nonce = env->nonce;
  p.pin_hex = pin;
  p.status = "received";
  p.proposed_ms = NowMs();
  p.extra_json = extra.dump();
  TREATY_RETURN_IF_ERROR(store_->InsertProposal(p));
  // The set is kept once per message: a resend to another member needs it.
  if (in_set != nullptr && in_set->stored_id == 0) {
    Stmt set = db.Prepare("INSERT INTO proposal_sets (author, body) VALUES (?, ?)");
    set.Bind(1, in_set->set->author).Bind(2, in_set->raw->ToCanonicalJson());
    TREATY_RETURN_IF_ERROR(set.Run());
    in_set->stored_id = sqlite3_last_insert_rowid(db.raw());
  }
  Stmt keep = db.Prepare("INSERT OR REPLACE INTO envelopes (proposal, body, set_id) VALUES (?, ?, ?)");
  keep.Bind(1, p.id).Bind(2, envelope->ToCanonicalJson());
  if (in_set != nullptr) keep.Bind(3, in_set->stored_id);
  else keep.BindNull(3);
  TREATY_RETURN_IF_ERROR(keep.Run());
  if (p.kind == "start") TREATY_RETURN_IF_ERROR(Expect(p.instance, p.author, p.nonce, salt));
  // Its pin (or one a late start reveals) may wait in the queue already.
  if (!waiting_instances_.count(p.instance)) return Status::Ok();
  return Drain(p.instance, applied);
}

Status Node::ReceiveAttestation(const std::string& from, const json& body, const std::string& signature_ref) {
  auto& db = store_->db();
  auto text = [&](const char* key) { return body.contains(key) && body[key].is_string(); };
  if (!body.is_object() || !text("instance") || !body.contains("seq") || !body["seq"].is_number_integer() ||
      !text("outcome") || !text("reject_code") || !text("reason") || !text("state_hash"))
    return Refused("", from, "malformed attestation");
  std::string instance = body["instance"].get<std::string>();
  int64_t seq = body["seq"].get<int64_t>();
  AttestedOutcome theirs{body["outcome"].get<std::string>(), body["reject_code"].get<std::string>(),
                         body["reason"].get<std::string>(), body["state_hash"].get<std::string>()};
  Stmt ins = db.Prepare(
      "INSERT OR IGNORE INTO attestations (instance, seq, party, outcome, reject_code, reason, state_hash, signature) "
      "VALUES (?, ?, ?, ?, ?, ?, ?, ?)");
  ins.Bind(1, instance).Bind(2, seq).Bind(3, from).Bind(4, theirs.outcome).Bind(5, theirs.reject_code);
  ins.Bind(6, theirs.reason).Bind(7, theirs.state_hash).Bind(8, signature_ref);
  TREATY_RETURN_IF_ERROR(ins.Run());
  attested_any_ = true;
  // Ours is our history entry, once we have applied the step.
  Stmt own = db.Prepare("SELECT outcome, reject_code, reason, state_hash FROM history WHERE instance = ? AND seq = ?");
  own.Bind(1, instance).Bind(2, seq);
  if (own.Step()) {
    AttestedOutcome ours{own.Text(0), own.Text(1), own.Text(2), own.Text(3)};
    own.Reset();
    if (!(ours == theirs)) return ReportFault(instance, seq, from, theirs, ours);
  }
  return own.status();
}

// A member blocked on a pin asks for its data again: we send our copy,
// redacted for that member, if we hold the proposal.
Status Node::ReceiveResend(const std::string& from, const json& body) {
  auto& db = store_->db();
  if (!body.is_object() || !body.contains("pin") || !body["pin"].is_string()) return Refused("", from, "malformed resend");
  auto p = store_->GetProposalByPinLocked(body["pin"].get<std::string>());
  if (!p) return Status::Ok();
  auto extra = json::parse(p->extra_json, nullptr, false);
  if (!extra.is_object()) return Status::Ok();
  Stmt kept = db.Prepare(
      "SELECT e.body, s.body FROM envelopes e LEFT JOIN proposal_sets s ON s.id = e.set_id WHERE e.proposal = ?");
  kept.Bind(1, p->id);
  if (!kept.Step()) return Status::Ok();
  auto env = protocol::ProposalEnvelope::FromJson(kept.Text(0));
  std::string set_json = kept.Text(1);
  if (!env.ok()) {
    // We stored it after verifying it: unreadable now is damage here.
    Log("cannot resend proposal " + p->id + " to " + from + ": its stored envelope is unreadable: " +
        env.status().message());
    return Status::Ok();
  }
  std::string roles_json = p->kind == "start" && extra.contains("roles") ? extra["roles"].dump() : "{}";
  std::string hash_hex = extra.value("hash", "");
  if (p->kind == "step")
    if (auto inst = store_->GetInstanceLocked(p->instance)) {
      roles_json = inst->roles_json;
      hash_hex = inst->def_hash;
    }
  auto members = MembersOf(roles_json);
  if (std::find(members.begin(), members.end(), from) == members.end())
    return Refused(p->instance, from, "resend requested by a non-member of instance " + p->instance);
  Digest hash{};
  DigestFromHex(hash_hex, &hash);
  auto def = registry_->FindByHash(hash);
  // Our own copy may itself be redacted: hide at least what `from` may not see.
  std::set<std::string> hidden = def ? HiddenFor(*def, *env, roles_json, from) : std::set<std::string>{};
  protocol::ProposalEnvelope copy = protocol::RedactFor(*env, hidden);
  // Its proof: its own signature, the set that covered it here, or (ours,
  // sent under a set of another message) a signature made now.
  if (!copy.signature && set_json.empty()) {
    if (env->author != opts_.party) {
      // Every received envelope came with a signature or a set; a copy
      // without either is damage here, and sending it would only be refused.
      Log("cannot resend proposal " + p->id + " to " + from + ": no signature or set is stored with it");
      return Status::Ok();
    }
    copy.signature = opts_.identity->key.Sign(copy.SigningDigest());
  }
  QueueProposal(from, p->id, copy.ToJson(), nullptr, copy.signature ? "" : set_json);
  return Status::Ok();
}

void Node::RequestResends() {
  auto blocked = store_->Blocked();
  int64_t now = NowMs();
  std::lock_guard<std::mutex> lock(store_->mu());
  bool sent = false;
  for (const auto& b : blocked) {
    if (now - b.since_ms < 1000) continue;
    int64_t& last = resend_asked_[b.pin];
    if (now - last < 5000) continue;
    last = now;
    auto inst = store_->GetInstanceLocked(b.instance);
    if (!inst) continue;
    for (const auto& m : MembersOf(inst->roles_json))
      if (m != opts_.party) {
        Queue(m, "resend", json{{"pin", b.pin}});
        sent = true;
      }
    Log("instance " + b.instance + " blocked for " + std::to_string(now - b.since_ms) +
        " ms; asked its members to resend pin " + b.pin.substr(0, 12));
  }
  if (resend_asked_.size() > 10000) resend_asked_.clear();
  // No transaction: every row FlushOutgoing wrote is committed already.
  if (sent && !FlushOutgoing().ok()) outgoing_.clear();
  SendCommitted();
}

}  // namespace treaty::engine
