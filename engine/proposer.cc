#include "engine/proposer.h"

#include <algorithm>
#include <atomic>

#include <nlohmann/json.hpp>

#include "definitions/schema.h"

namespace treaty::engine {

using json = nlohmann::json;

namespace {

// Parses an input or data JSON object, with the size limit.
Result<Value> ParseObject(const std::string& text, size_t max_bytes, const char* what) {
  if (text.size() > max_bytes)
    return Status::ResourceExhausted(std::string(what) + " is " + std::to_string(text.size()) +
                                     " bytes; the limit is " + std::to_string(max_bytes));
  if (text.empty()) return Value::Object();
  auto v = Value::FromJson(text);
  if (!v.ok()) return Status::InvalidArgument(std::string(what) + ": " + v.status().message());
  if (!v->is_object()) return Status::InvalidArgument(std::string(what) + " must be a JSON object");
  return v;
}

}  // namespace

Proposer::Deadline Proposer::DeadlineOf(std::chrono::milliseconds timeout) const {
  return std::chrono::steady_clock::now() + (timeout.count() > 0 ? timeout : ctx_->opts.wait_timeout);
}

Proposer::Prepared Proposer::PrepareStart(const StartArgs& a) {
  Prepared out;
  auto refuse = [&](Status st) {
    out.answer = Result<ProposalRow>(std::move(st));
    return std::move(out);
  };
  auto def = ctx_->registry->Find(a.definition, a.version);
  if (!def)
    return refuse(Status::NotFound("no definition '" + a.definition + "'" +
                            (a.version ? " version " + std::to_string(a.version) : std::string()) + " is loaded"));
  std::string id = a.instance_id.empty() ? ctx_->env()->random->Hex(16) : a.instance_id;
  if (!ValidId(id))
    return refuse(Status::InvalidArgument("instance id '" + id + "' must be 1-128 characters of letters, digits, - _ . :"));
  std::map<std::string, std::string> roles;
  for (const auto& [role, party] : a.roles) {
    if (!def->model().HasRole(role))
      return refuse(Status::InvalidArgument("process '" + def->name() + "' has no role '" + role + "'"));
    if (party.empty()) return refuse(Status::InvalidArgument("role '" + role + "' is bound to an empty party"));
    if (ctx_->multi_party() && ctx_->opts.network->Find(party) == nullptr)
      return refuse(Status::InvalidArgument("role '" + role + "' is bound to '" + party + "', who is not a network member"));
    roles[role] = party;
  }
  for (const auto& r : def->model().roles)
    if (!roles.count(r.name)) roles[r.name] = ctx_->party();  // a single node plays unbound roles
  auto parsed = ParseObject(a.input_json, ctx_->opts.max_input_bytes, "input_json");
  if (!parsed.ok()) return refuse(parsed.status());
  Value input = std::move(parsed).value();
  Status data_ok = defs::CheckData(def->model(), input);
  if (!data_ok.ok()) return refuse(Status::InvalidArgument("initial data: " + data_ok.message()));

  ProposalRow p;
  p.id = ctx_->TimeOrderedId();
  p.kind = ProposalKind::kStart;
  p.instance = id;
  p.step = "$start";
  p.input_json = input.ToCanonicalJson();
  p.author = ctx_->party();
  p.status = ProposalStatus::kPending;
  p.proposed_ms = ctx_->NowMs();
  p.extra.definition = def->name();
  p.definition = def->name();
  p.extra.version = def->version();
  p.extra.hash_hex = ToHex(def->hash());
  p.extra.roles = roles;
  p.extra.salt_hex = ctx_->env()->random->Hex(32);
  auto wanted = claims_->ClaimsFor(*def, Value::Object(), input);
  if (Status free = claims_->CheckFree(wanted, id); !free.ok()) return refuse(free);
  for (const auto& c : wanted) p.extra.claims.push_back(c.hash);
  std::string request = json{{"start", def->name()}, {"version", a.version}, {"id", a.instance_id},
                             {"roles", roles}, {"input", p.input_json}}
                            .dump();
  // The id must be free: no instance and no start in flight (a retry with
  // a known key gets the original result instead).
  bool replay = false;
  if (!a.idempotency_key.empty()) {
    auto known = ctx_->store->IdempotencyKey(a.idempotency_key);
    if (!known.ok()) return refuse(known.status());
    replay = known->has_value();
  }
  if (!replay && !a.instance_id.empty()) {
    auto existing = ctx_->store->GetInstance(id);
    if (!existing.ok()) return refuse(existing.status());
    if (*existing) return refuse(Status::AlreadyExists("instance '" + id + "' already exists"));
    auto starting = ctx_->store->StartInFlight(id);
    if (!starting.ok()) return refuse(starting.status());
    if (*starting) return refuse(Status::AlreadyExists("instance '" + id + "' is already being started"));
  }
  out.proposal = std::move(p);
  out.key = a.idempotency_key;
  out.request = std::move(request);
  return out;
}

Proposer::Prepared Proposer::PrepareStep(const StepArgs& a) {
  Prepared out;
  auto refuse = [&](Status st) {
    out.answer = Result<ProposalRow>(std::move(st));
    return std::move(out);
  };
  if (a.instance_id.empty()) return refuse(Status::InvalidArgument("instance_id is required"));
  if (a.step.empty()) return refuse(Status::InvalidArgument("step is required"));
  auto parsed = ParseObject(a.input_json, ctx_->opts.max_input_bytes, "input_json");
  if (!parsed.ok()) return refuse(parsed.status());
  const Value& input = *parsed;
  // Serialised once: the idempotency record and the proposal share it.
  const std::string canonical_input = input.ToCanonicalJson();
  out.key = a.idempotency_key;
  out.request = json{{"instance", a.instance_id}, {"step", a.step}, {"input", canonical_input}}.dump();
  // A retry with a known key skips the preflight: it gets the original result.
  auto known = [&]() -> bool {
    if (a.idempotency_key.empty()) return false;
    auto k = ctx_->store->IdempotencyKey(a.idempotency_key);
    if (!k.ok()) {
      out.answer = Result<ProposalRow>(k.status());
    } else if (!*k) {
      return false;
    } else if ((*k)->request != out.request) {
      out.answer = Result<ProposalRow>(
          Status::AlreadyExists("idempotency key '" + a.idempotency_key + "' was used for a different request"));
    } else {
      out.known_id = (*k)->proposal;
    }
    return true;
  };
  if (known()) return out;

  std::shared_ptr<const InstanceRow> cached = cache_->Get(a.instance_id);
  std::shared_ptr<const InstanceRow> inst = cached;
  if (!inst) {
    auto stored = StoredInstance(a.instance_id);
    if (!stored.ok()) return refuse(stored.status());
    inst = std::move(stored).value();
  }
  Result<ProposalRow> p = PreflightStep(a, input, canonical_input, inst);
  if (!p.ok() && cached) {
    // The cache can be a moment behind the store (it is filled as the
    // applier commits): a refusal is given only on the row as stored.
    auto stored = StoredInstance(a.instance_id);
    if (!stored.ok()) return refuse(stored.status());
    if (!*stored || (*stored)->position != cached->position) p = PreflightStep(a, input, canonical_input, *stored);
  }
  if (!p.ok()) {
    // A call with the same key may have been stored, even applied, since
    // the lookup above: the caller gets that result, not a refusal of the
    // step it already made.
    if (known()) return out;
    return refuse(p.status());
  }
  out.proposal = std::move(p).value();
  return out;
}

Result<ProposalRow> Proposer::StartProcess(const StartArgs& a) {
  const Deadline deadline = DeadlineOf(a.timeout);
  Prepared prep = PrepareStart(a);
  if (prep.answer) return std::move(*prep.answer);
  ctx_->metrics()->StepProposed(prep.proposal->definition);
  return Submit(std::move(*prep.proposal), prep.key, prep.request, a.wait, deadline);
}

Result<ProposalRow> Proposer::TriggerStep(const StepArgs& a) {
  const Deadline deadline = DeadlineOf(a.timeout);
  Prepared prep = PrepareStep(a);
  if (prep.answer) return std::move(*prep.answer);
  if (!prep.known_id.empty()) return WaitApplied(prep.known_id, a.wait, deadline);
  ctx_->metrics()->StepProposed(prep.proposal->definition);
  return Submit(std::move(*prep.proposal), prep.key, prep.request, a.wait, deadline);
}

namespace {

// `done` for a caller that does not block, called at most once whatever
// races (a listener, a deadline, a shutdown).
Proposer::Done Once(Proposer::Done done) {
  auto called = std::make_shared<std::atomic<bool>>(false);
  return [called, done = std::move(done)](Result<ProposalRow> r) {
    if (!called->exchange(true)) done(std::move(r));
  };
}

}  // namespace

void Proposer::StartProcessAsync(const StartArgs& a, Done done) {
  const Deadline deadline = DeadlineOf(a.timeout);
  Prepared prep = PrepareStart(a);
  if (prep.answer) return done(std::move(*prep.answer));
  ctx_->metrics()->StepProposed(prep.proposal->definition);
  if (!a.wait) return SubmitNoWaitAsync(std::move(*prep.proposal), prep.key, prep.request, std::move(done));
  SubmitAsync(std::move(*prep.proposal), prep.key, prep.request, deadline, Once(std::move(done)));
}

void Proposer::TriggerStepAsync(const StepArgs& a, Done done) {
  const Deadline deadline = DeadlineOf(a.timeout);
  Prepared prep = PrepareStep(a);
  if (prep.answer) return done(std::move(*prep.answer));
  if (!prep.known_id.empty()) {
    if (!a.wait) return done(WaitApplied(prep.known_id, false, deadline));
    return WaitAppliedAsync(prep.known_id, deadline, Once(std::move(done)));
  }
  ctx_->metrics()->StepProposed(prep.proposal->definition);
  if (!a.wait) return SubmitNoWaitAsync(std::move(*prep.proposal), prep.key, prep.request, std::move(done));
  SubmitAsync(std::move(*prep.proposal), prep.key, prep.request, deadline, Once(std::move(done)));
}

void Proposer::SubmitNoWaitAsync(ProposalRow p, const std::string& key, const std::string& request, Done done) {
  auto item = IntakeOf(std::move(p), key, request);
  // Answered once the batcher has stored it, from its thread: the proposal
  // as stored (under the id a same-key call was stored with, if one was).
  Batcher::Intake* stored = item.get();  // the batcher holds the item while it calls back
  item->on_persisted = [this, stored, done = Once(std::move(done))](Status st) {
    if (!st.ok()) return done(st);
    done(WaitApplied(stored->proposal.id, false, std::chrono::steady_clock::now()));
  };
  // Refused only while stopping; the batcher's Stop answers what it holds,
  // and this item it never took.
  if (Status st = batcher_->Submit(item); !st.ok()) item->on_persisted(st);
}

std::shared_ptr<Batcher::Intake> Proposer::IntakeOf(ProposalRow p, const std::string& key,
                                                    const std::string& request) {
  auto item = std::make_shared<Batcher::Intake>();
  item->proposal = std::move(p);
  item->key = key;
  item->request = request;
  item->submitted_id = item->proposal.id;
  return item;
}

void Proposer::SubmitAsync(ProposalRow p, const std::string& key, const std::string& request, Deadline deadline,
                           Done done) {
  auto item = IntakeOf(std::move(p), key, request);
  const std::string id = item->submitted_id;
  // Listening before the batcher can seal it, so the applier cannot apply
  // it unheard.
  item->waiter = waiters_->Listen(id, deadline, [this, id, deadline, done](Waiters::Learnt learnt) {
    if (learnt.failed) return done(*learnt.failed);
    if (!learnt.moved_to.empty()) return WaitAppliedAsync(learnt.moved_to, deadline, done);
    if (learnt.row) return done(std::move(*learnt.row));
    // The deadline: the caller gets the proposal as stored (pending).
    auto stored = ctx_->store->GetProposal(id);
    if (!stored.ok()) return done(stored.status());
    if (!*stored) return done(Status::DeadlineExceeded("proposal " + id + " was not stored within the wait timeout"));
    done(std::move(**stored));
  });
  // A refusal here means the node is stopping, and the listener has been
  // told so already (Waiters stop first).
  (void)batcher_->Submit(item);
}

void Proposer::WaitAppliedAsync(const std::string& id, Deadline deadline, Done done) {
  // Listening first, then reading: an outcome applied in between is either
  // in the store or handed to the listener (`done` is called once).
  waiters_->Listen(
      id, deadline,
      [this, id, done](Waiters::Learnt learnt) {
        if (learnt.row) return done(std::move(*learnt.row));
        if (learnt.failed) return done(*learnt.failed);
        done(WaitApplied(id, false, std::chrono::steady_clock::now()));
      },
      /*any=*/false);
  auto p = ctx_->store->GetProposal(id);
  if (!p.ok()) return done(p.status());
  if (!*p) return done(Status::Internal("proposal " + id + " vanished"));
  if (Applied((*p)->status)) done(std::move(**p));
}

Result<std::shared_ptr<const InstanceRow>> Proposer::StoredInstance(const std::string& id) {
  TREATY_ASSIGN_OR_RETURN(auto stored, ctx_->store->GetInstance(id));
  if (!stored) return std::shared_ptr<const InstanceRow>();
  return std::make_shared<const InstanceRow>(std::move(*stored));
}

Result<ProposalRow> Proposer::PreflightStep(const StepArgs& a, const Value& input, const std::string& canonical_input,
                                            const std::shared_ptr<const InstanceRow>& inst) {
  if (!inst) return Status::NotFound("no instance '" + a.instance_id + "'");
  auto def = ctx_->DefinitionByHash(inst->def_hash);
  if (!def)
    return Status::FailedPrecondition("instance '" + a.instance_id + "' runs definition " + inst->definition +
                                      " with hash " + inst->def_hash + ", which this node has not loaded");
  // On a scratch copy: fast errors for the caller; the commit is the
  // applier's, in ledger order.
  TREATY_ASSIGN_OR_RETURN(runtime::Snapshot snap, inst->ParsedSnapshot());
  TREATY_ASSIGN_OR_RETURN(std::unique_ptr<runtime::Machine> machine, def->Restore(snap));
  std::vector<std::string> roles = RolesOf(inst->roles, ctx_->party());
  runtime::StepCall call;
  call.step = a.step;
  call.party = ctx_->party();
  call.roles = &roles;
  call.input = &input;
  call.chain_time_ms = std::max(ctx_->NowMs(), inst->updated_ms);
  runtime::ApplyResult r = machine->Apply(call);
  if (!r.accepted()) return Status(StatusForReject(r.code), r.reason);
  // Unique keys this step would set: taken ones fail fast; free ones are
  // claimed on the ledger right after the step's pin.
  auto wanted = claims_->ClaimsFor(*def, snap.data, machine->Data());
  TREATY_RETURN_IF_ERROR(claims_->CheckFree(wanted, a.instance_id));

  ProposalRow p;
  p.id = ctx_->TimeOrderedId();
  p.kind = ProposalKind::kStep;
  p.instance = a.instance_id;
  p.step = a.step;
  p.input_json = canonical_input;
  p.author = ctx_->party();
  p.status = ProposalStatus::kPending;
  p.proposed_ms = ctx_->NowMs();
  p.definition = inst->definition;
  for (const auto& c : wanted) p.extra.claims.push_back(c.hash);
  return p;
}

Result<ProposalRow> Proposer::Submit(ProposalRow p, const std::string& key, const std::string& request, bool wait,
                                     Deadline deadline) {
  // Group commit: the batcher persists queued proposals and seals them in
  // one transaction; this call returns once its proposal is durable.
  auto item = IntakeOf(std::move(p), key, request);
  std::future<Status> persisted = item->done.get_future();
  // Registered before the batcher can seal it, so the applier cannot
  // apply it unseen: one sleep for the whole step, no store read.
  std::shared_ptr<Waiters::Waiter> w;
  if (wait) w = item->waiter = waiters_->Register(item->submitted_id);
  if (Status st = batcher_->Submit(item); !st.ok()) {
    if (w) waiters_->Release(item->submitted_id, w);
    return st;
  }
  if (!wait) {
    Status st = persisted.get();
    if (!st.ok()) return st;
    return WaitApplied(item->proposal.id, false, deadline);
  }
  Waiters::Learnt learnt = waiters_->Wait(w, deadline);
  waiters_->Release(item->submitted_id, w);
  if (learnt.failed) return *learnt.failed;
  if (!learnt.moved_to.empty()) return WaitApplied(learnt.moved_to, true, deadline);  // within the same timeout
  if (learnt.row) return std::move(*learnt.row);
  // Timed out or stopping: the outcome is not known yet. Once the batcher
  // has handled the proposal, the caller gets it as stored (pending).
  Status st = persisted.get();
  if (!st.ok()) return st;
  return WaitApplied(item->proposal.id, false, deadline);
}

Result<ProposalRow> Proposer::WaitApplied(const std::string& id, bool wait, Deadline deadline) {
  std::shared_ptr<Waiters::Waiter> w;
  if (wait) w = waiters_->Register(id);
  // Registered first, then read: an outcome applied in between is either in
  // the store or handed over in the waiter.
  auto p = ctx_->store->GetProposal(id);
  if (p.ok() && *p && wait && !Applied((*p)->status)) {
    Waiters::Learnt learnt = waiters_->Wait(w, deadline, /*any=*/false);
    if (learnt.row) *p = std::move(learnt.row);
  }
  if (w) waiters_->Release(id, w);
  if (!p.ok()) return p.status();
  if (!*p) return Status::Internal("proposal " + id + " vanished");
  return std::move(**p);
}

Result<AttestationWait> Proposer::WaitAttested(const ProposalRow& p, Deadline deadline) {
  AttestationWait out;
  TREATY_ASSIGN_OR_RETURN(auto entry, ctx_->store->HistoryEntryOf(p.instance, p.id));
  if (!entry) {
    if (p.status == ProposalStatus::kRejected && p.kind == ProposalKind::kStart) return out;  // no instance
    return Status::FailedPrecondition("proposal " + p.id + " has not been applied here yet");
  }
  const std::vector<std::string> members = MembersOf(entry->roles);
  while (true) {
    uint64_t gen = waiters_->AttestedGeneration();
    TREATY_ASSIGN_OR_RETURN(auto rows, ctx_->store->AttestationsAt(p.instance, entry->seq));
    out = AttestationWait{};
    for (const auto& m : members) {
      if (m == ctx_->party()) {
        out.attested.push_back(m);
        continue;
      }
      auto it = std::find_if(rows.begin(), rows.end(), [&](const AttestationRow& r) { return r.party == m; });
      if (it == rows.end()) out.missing.push_back(m);
      else if (it->attested == entry->outcome) out.attested.push_back(m);
      else out.mismatched.push_back(m);
    }
    out.all = out.missing.empty() && out.mismatched.empty();
    if (out.missing.empty() || std::chrono::steady_clock::now() >= deadline || waiters_->stopped()) return out;
    waiters_->WaitAttestedChange(gen, deadline);
  }
}

}  // namespace treaty::engine
