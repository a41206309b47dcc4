#include "engine/applier.h"

#include <nlohmann/json.hpp>

#include "definitions/schema.h"
#include "engine/deadline_watcher.h"
#include "engine/member_protocol.h"

namespace treaty::engine {

using json = nlohmann::json;

namespace {

std::string JsonList(const std::vector<std::string>& v) {
  ValueList l;
  for (const auto& s : v) l.push_back(Value::Str(s));
  return Value::List(std::move(l)).ToCanonicalJson();
}

// The history entry of a proposal applied at a ledger position; the
// outcome and the states after are the caller's.
HistoryRow HistoryFor(const ProposalRow& p, const LedgerPosition& at) {
  HistoryRow h;
  h.proposal = p.id;
  h.step = p.step;
  h.proposer = p.author;
  h.input_json = p.input_json;
  h.nonce = p.nonce;
  h.height = at.height;
  h.proposed_ms = p.proposed_ms;
  h.applied_ms = at.time_ms;
  return h;
}

// JSON the node made itself (a machine's states and data): parsed without
// exceptions, so a damaged value is an error of the apply, not the end of
// the applier's thread.
Result<json> OwnJson(const std::string& text, const char* what) {
  json j = json::parse(text, nullptr, false);
  if (j.is_discarded()) return Status::Internal(std::string(what) + " is not JSON: " + text.substr(0, 80));
  return j;
}

void Reject(ProposalRow* p, RejectCode code, std::string reason) {
  p->status = ProposalStatus::kRejected;
  p->reject_code = code;
  p->reason = std::move(reason);
}

}  // namespace

Status Applier::Start() {
  TREATY_ASSIGN_OR_RETURN(auto tip, ctx_->store->LedgerTip());
  if (tip) ledger_->TrustFrom(static_cast<uint64_t>(tip->first), tip->second);
  if (ledger_->Inline() != nullptr) {
    // The embedded ledger's blocks are ours: ledger time is the tip's.
    TREATY_ASSIGN_OR_RETURN(auto last, ctx_->store->LastBlock());
    if (last) ledger_time_ms_.store(last->time_ms, std::memory_order_release);
    return Status::Ok();  // the batcher applies as it seals
  }
  stop_ = false;
  thread_ = std::thread([this] { Loop(); });
  return Status::Ok();
}

void Applier::Stop() {
  stop_ = true;
  if (thread_.joinable()) thread_.join();
}

void Applier::Loop() {
  auto cursor_or = ctx_->store->Cursor();
  while (!cursor_or.ok() && !stop_) {
    // Without the cursor nothing can be applied in order: say so and retry.
    ctx_->Log("reading the ledger cursor failed, will retry: " + cursor_or.status().ToString(), LogLevel::kError);
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
    cursor_or = ctx_->store->Cursor();
  }
  if (stop_) return;
  uint64_t cursor = static_cast<uint64_t>(*cursor_or);
  auto next_resend_check = std::chrono::steady_clock::now();
  while (!stop_) {
    uint64_t height = ledger_->WaitForHeight(cursor, std::chrono::milliseconds(200));
    if (members_ != nullptr && std::chrono::steady_clock::now() >= next_resend_check) {
      members_->RequestResends();
      next_resend_check = std::chrono::steady_clock::now() + std::chrono::seconds(1);
    }
    if (height <= cursor) continue;
    auto blocks = ledger_->Read(cursor + 1, 64);
    if (!blocks.ok()) {
      ctx_->Log("reading the ledger failed, will retry: " + blocks.status().ToString(), LogLevel::kWarning);
      std::this_thread::sleep_for(std::chrono::milliseconds(200));
      continue;
    }
    // The blocks read at once are applied in one transaction, each with
    // the cursor after it: a member that lags catches up with one commit
    // instead of one per block, and a crash still resumes at a whole block.
    std::vector<ProposalRow> applied;
    int ours = 0;
    uint64_t reached = cursor;
    Status st;
    const auto began = std::chrono::steady_clock::now();
    {
      auto txn = ctx_->store->Begin("apply");
      st = txn.status();
      for (size_t i = 0; st.ok() && i < blocks->size(); ++i) {
        const chain::Block& b = (*blocks)[i];
        if (b.height != reached + 1) {
          // A repeat is skipped (never applied twice); a gap or a
          // reordering ends the read: the next one starts at the cursor.
          if (b.height <= reached) continue;
          ctx_->Log("ledger returned block " + std::to_string(b.height) + " after " + std::to_string(reached),
                    LogLevel::kWarning);
          break;
        }
        st = ApplyBlock(**txn, b, nullptr, &applied, &ours);
        if (st.ok()) reached = b.height;
        else st = Status(st.code(), "block " + std::to_string(b.height) + ": " + st.message());
      }
      // What the blocks produced for members (attestations) leaves in one
      // message per member for the whole transaction.
      if (st.ok() && reached > cursor && members_ != nullptr) st = members_->Flush(**txn);
      if (st.ok() && reached > cursor) st = (*txn)->Commit();
    }
    if (!st.ok()) {
      ctx_->Log("applying blocks after " + std::to_string(cursor) + " failed, will retry: " + st.ToString(),
                LogLevel::kError);
      std::this_thread::sleep_for(std::chrono::milliseconds(200));
      continue;
    }
    cursor = reached;
    ctx_->metrics()->BlocksCommitted(
        std::chrono::duration<double>(std::chrono::steady_clock::now() - began).count());
    Published(&applied, ours);
  }
}

void Applier::Published(std::vector<ProposalRow>* applied, int our_batches) {
  // Counted once committed: a transaction that failed is applied again.
  const int64_t now = ctx_->NowMs();
  for (const ProposalRow& p : *applied) {
    const bool rejected = p.status == ProposalStatus::kRejected;
    ctx_->metrics()->StepApplied(p.definition, rejected ? RejectCodeName(p.reject_code) : "",
                                 static_cast<double>(std::max<int64_t>(0, now - p.proposed_ms)) / 1000.0);
  }
  p_.waiters->Applied(applied, our_batches);
}

void Applier::Committed() {
  const bool advanced = block_time_ms_ > ledger_time_ms_.load(std::memory_order_relaxed);
  if (advanced) ledger_time_ms_.store(block_time_ms_, std::memory_order_release);
  block_time_ms_ = 0;
  if (deadlines_ != nullptr) {
    for (const auto& [id, row] : changed_) deadlines_->Learn(*row);
    if (advanced) deadlines_->LedgerAdvanced();
  }
  for (auto& [id, row] : changed_) p_.cache->Publish(std::move(row));
  changed_.clear();
}

Result<std::shared_ptr<const InstanceRow>> Applier::Instance(WriteTxn& txn, const std::string& id) {
  if (auto it = changed_.find(id); it != changed_.end()) return it->second;
  if (auto cached = p_.cache->Get(id)) return cached;
  TREATY_ASSIGN_OR_RETURN(std::optional<InstanceRow> stored, txn.GetInstance(id));
  if (!stored) return std::shared_ptr<const InstanceRow>();
  return std::make_shared<const InstanceRow>(std::move(*stored));
}

Status Applier::ApplyBlock(WriteTxn& txn, const chain::Block& b, const std::map<std::string, Own>* own,
                           std::vector<ProposalRow>* applied, int* our_batches) {
  const std::string& me = ctx_->party();
  p_.claims->NewBlock();
  block_time_ms_ = std::max(block_time_ms_, b.time_ms);
  int64_t idx = 0;
  for (const auto& batch : b.batches) {
    // A tick (Batcher::Tick): it only made the block, so that ledger time moves.
    if (batch.pins.empty()) continue;
    bool ours = batch.author == me;
    if (ours) {
      ++*our_batches;
      // On the ledger now: never to be submitted again.
      if (own == nullptr) TREATY_RETURN_IF_ERROR(txn.ForgetBatch(batch.id));
    }
    for (size_t pos = 0; pos < batch.pins.size(); ++pos) {
      ++idx;
      const LedgerPosition at{static_cast<int64_t>(b.height), b.time_ms, idx};
      const std::string pin_hex = ToHex(batch.pins[pos]);
      std::optional<ProposalRow> stored;
      ProposalRow* p = nullptr;
      bool is_stored = true;
      std::string instance, author;
      int64_t nonce = 0;
      if (ours && own != nullptr) {
        // Sealed in this transaction (inline ledger): recognised by its batch.
        auto it = own->find(pin_hex);
        if (it != own->end()) {
          p = it->second.proposal;
          is_stored = it->second.stored;
          instance = p->instance;
          author = p->author;
          nonce = p->nonce;
        }
      }
      if (p == nullptr && own != nullptr) {
        // Inline, every pin is ours: one not sealed in this transaction is
        // a unique-key claim (nothing is ever expected here).
        if (!p_.claims->WonInBlock(pin_hex)) TREATY_RETURN_IF_ERROR(txn.RecordUnmatchedPin(pin_hex, at));
        continue;
      }
      if (p == nullptr) {
        TREATY_ASSIGN_OR_RETURN(std::optional<ExpectedPin> expected, p_.pins->Recognise(txn, pin_hex));
        if (!expected) {
          // Someone else's pin, one of a member's whose start has not
          // reached us yet, or a unique-key claim: its first place in
          // ledger order is kept — except a claim its step just won here,
          // recorded once, as a claim with its height.
          if (!p_.claims->WonInBlock(pin_hex)) TREATY_RETURN_IF_ERROR(txn.RecordUnmatchedPin(pin_hex, at));
          continue;
        }
        instance = expected->instance;
        author = expected->author;
        nonce = expected->nonce;
        if (!stored || stored->pin_hex != pin_hex) {
          TREATY_ASSIGN_OR_RETURN(stored, txn.GetProposalByPin(pin_hex));
        }
        if (stored) p = &*stored;
      }
      TREATY_ASSIGN_OR_RETURN(bool waiting, p_.pins->HasQueued(txn, instance));
      if (p == nullptr || waiting) {
        // Recognised, but its data has not arrived (or an earlier pin of the
        // instance waits): the instance is blocked here; others go on.
        TREATY_RETURN_IF_ERROR(p_.pins->Queue(txn, instance, author, pin_hex, at));
      } else {
        TREATY_RETURN_IF_ERROR(ApplyPin(txn, p, is_stored, at, &batch.pins, pos));
        // A proposal sealed in this transaction stays its intake's (copied);
        // one read from the store is moved.
        if (stored && p == &*stored) applied->push_back(std::move(*p));
        else applied->push_back(*p);
      }
      TREATY_RETURN_IF_ERROR(ExpectNext(txn, instance, author, nonce));
      // Anything of the instance queued (here, by Expect, or by a start
      // revealing others' pins) goes as far as its data allows.
      TREATY_ASSIGN_OR_RETURN(waiting, p_.pins->HasQueued(txn, instance));
      if (waiting) TREATY_RETURN_IF_ERROR(Drain(txn, instance, applied));
    }
  }
  if (p_.tasks != nullptr) TREATY_RETURN_IF_ERROR(p_.tasks->LedgerTime(txn, b.time_ms, static_cast<int64_t>(b.height)));
  return txn.SetCursor(static_cast<int64_t>(b.height), b.hash);
}

Status Applier::ExpectNext(WriteTxn& txn, const std::string& instance, const std::string& author, int64_t nonce) {
  // Inline, every pin is ours and sealed in the transaction that applies
  // it. Otherwise every author's next pin is expected, ours included: a
  // proposal of ours may reach the ledger from another copy of our key
  // (restored elsewhere), and must be recognised all the same.
  if (ledger_->Inline() != nullptr) return Status::Ok();
  TREATY_ASSIGN_OR_RETURN(const InstanceKeys::Keys* k, p_.keys->Of(txn, instance));
  if (k == nullptr) return Status::Ok();  // its start waits: Drain expects once it is applied
  return p_.pins->Expect(txn, instance, author, nonce + 1, k->salt_hex);
}

Status Applier::Drain(WriteTxn& txn, const std::string& instance, std::vector<ProposalRow>* applied) {
  bool reported = false;  // an instance_blocked event went out for a pin drained here
  int64_t blocked_since = 0;
  while (true) {
    TREATY_ASSIGN_OR_RETURN(auto head, txn.FirstQueuedPin(instance));
    if (!head) {
      p_.pins->Drained(instance);
      break;
    }
    if (blocked_since == 0) blocked_since = head->since_ms;
    TREATY_ASSIGN_OR_RETURN(auto p, txn.GetProposalByPin(head->pin));
    if (!p) return p_.pins->NoteBlocked(txn, instance, *head);  // blocked here, said once per pin
    TREATY_RETURN_IF_ERROR(txn.DeleteQueuedPin(instance, head->at));
    TREATY_RETURN_IF_ERROR(ApplyPin(txn, &*p, true, head->at, nullptr, 0));
    TREATY_RETURN_IF_ERROR(ExpectNext(txn, instance, p->author, p->nonce));
    applied->push_back(std::move(*p));
    reported = reported || head->noted;
  }
  // A pin whose data came a moment later (a late start, a message overtaken
  // by its block) was never reported blocked: nothing to say now either.
  if (!reported) return Status::Ok();
  return p_.pins->NoteUnblocked(txn, instance, blocked_since ? ctx_->NowMs() - blocked_since : 0);
}

Status Applier::DrainIfQueued(WriteTxn& txn, const std::string& instance, std::vector<ProposalRow>* applied) {
  TREATY_ASSIGN_OR_RETURN(bool waiting, p_.pins->HasQueued(txn, instance));
  return waiting ? Drain(txn, instance, applied) : Status::Ok();
}

Status Applier::ExpectStart(WriteTxn& txn, const ProposalRow& start) {
  return p_.pins->Expect(txn, start.instance, start.author, start.nonce, start.extra.salt_hex);
}

Status Applier::ApplyPin(WriteTxn& txn, ProposalRow* p, bool stored, const LedgerPosition& at,
                         const std::vector<Digest>* batch, size_t pos) {
  TREATY_RETURN_IF_ERROR(p->kind == ProposalKind::kStart ? ApplyStart(txn, p, at, batch, pos)
                                                         : ApplyStep(txn, p, at, batch, pos));
  p->height = at.height;
  p->applied_ms = at.time_ms;
  // Applied: the journal is its record from now on.
  if (stored) TREATY_RETURN_IF_ERROR(txn.DeleteProposal(p->id));
  p_.nonces->Saw(p->instance, p->author, p->nonce);
  return Status::Ok();
}

Status Applier::ApplyStart(WriteTxn& txn, ProposalRow* p, const LedgerPosition& at, const std::vector<Digest>* batch,
                           size_t pos) {
  const ProposalExtra& extra = p->extra;
  auto def = ctx_->DefinitionByHash(extra.hash_hex);
  p->definition = def ? def->name() : extra.definition;
  TREATY_ASSIGN_OR_RETURN(auto existing, Instance(txn, p->instance));
  std::unique_ptr<runtime::Machine> machine;
  if (existing) {
    Reject(p, RejectCode::kAlreadyExists, "instance '" + p->instance + "' already exists");
  } else if (!def) {
    Reject(p, RejectCode::kDefinitionMissing,
           "definition " + extra.definition + " with hash " + extra.hash_hex + " is not loaded on this node");
  } else {
    machine = def->NewMachine(at.time_ms);
    auto input = Value::FromJson(p->input_json);
    if (input.ok() && input->is_object() && !input->as_object().empty()) {
      runtime::Snapshot s = machine->Save();
      s.data = *input;
      Status ok = defs::CheckData(def->model(), s.data);
      if (!ok.ok()) {
        Reject(p, RejectCode::kInvalidData, "initial data: " + ok.message());
      } else {
        TREATY_ASSIGN_OR_RETURN(
            auto lost, p_.claims->Win(txn, p_.claims->ClaimsFor(*def, Value::Object(), s.data), p->instance, at,
                                      batch, pos));
        if (lost) {
          Reject(p, lost->code, lost->reason);
        } else {
          TREATY_ASSIGN_OR_RETURN(machine, def->Restore(s));
        }
      }
    }
  }
  if (p->status == ProposalStatus::kRejected)
    return txn.AppendUnattached(*p, "start_rejected", extra.definition, at.height, at.time_ms);

  InstanceRow r;
  r.id = p->instance;
  r.definition = def->name();
  r.version = def->version();
  r.def_hash = extra.hash_hex;
  r.salt_hex = extra.salt_hex;
  r.roles = extra.roles;
  auto snapshot = std::make_shared<const runtime::Snapshot>(machine->Save());
  r.snapshot_json = snapshot->ToJson();
  r.snapshot = std::move(snapshot);
  r.states_json = JsonList(machine->ActiveStates());
  r.data_json = machine->Data().ToCanonicalJson();
  r.final = machine->IsFinal();
  r.height = at.height;
  TREATY_ASSIGN_OR_RETURN(r.state_hash, p_.state_hash->Of(txn, *def, *machine, r.id, p->input_json, extra));
  r.created_ms = r.updated_ms = at.time_ms;
  TREATY_RETURN_IF_ERROR(txn.InsertInstance(&r));
  p_.keys->Remember(r);
  p->status = ProposalStatus::kConfirmed;
  HistoryRow h = HistoryFor(*p, at);
  h.outcome = AttestedOutcome{Outcome::kConfirmed, RejectCode::kNone, "", r.state_hash};
  h.states_json = r.states_json;
  TREATY_ASSIGN_OR_RETURN(json states, OwnJson(r.states_json, "the machine's states"));
  TREATY_ASSIGN_OR_RETURN(json data, OwnJson(r.data_json, "the machine's data"));
  std::string payload = json{{"states", std::move(states)}, {"data", std::move(data)}}.dump();
  TREATY_ASSIGN_OR_RETURN(p->history_seq, txn.AppendHistory(r, h, "instance_started", payload));
  if (p_.tasks != nullptr) TREATY_RETURN_IF_ERROR(p_.tasks->Applied(txn, *def, r, *p, at));
  if (p_.jobs != nullptr) TREATY_RETURN_IF_ERROR(p_.jobs->Applied(txn, *def, r, *p, at));
  if (ledger_->Inline() == nullptr) {
    // Every other member's first pin in the instance is now expected (the
    // author's next by the caller).
    for (const auto& m : MembersOf(r.roles))
      if (m != p->author) TREATY_RETURN_IF_ERROR(p_.pins->Expect(txn, r.id, m, 0, r.salt_hex));
  }
  if (members_ != nullptr) TREATY_RETURN_IF_ERROR(members_->Attest(txn, r.id, p->history_seq, r.roles, h.outcome));
  ctx_->Log("instance " + r.id + " started (" + r.definition + " v" + std::to_string(r.version) + ") at height " +
                std::to_string(at.height),
            LogLevel::kInfo, {r.id, p->step});
  p->instance_after = std::make_shared<const InstanceRow>(std::move(r));
  changed_[p->instance] = p->instance_after;
  return Status::Ok();
}

Status Applier::ApplyStep(WriteTxn& txn, ProposalRow* p, const LedgerPosition& at, const std::vector<Digest>* batch,
                          size_t pos) {
  TREATY_ASSIGN_OR_RETURN(auto current, Instance(txn, p->instance));
  if (!current) {
    Reject(p, RejectCode::kUnknownInstance, "no instance '" + p->instance + "'");
    return txn.AppendUnattached(*p, "step_rejected", "", at.height, at.time_ms);
  }
  // A copy to change: the shared row may be in the cache or a caller's hands.
  std::optional<InstanceRow> inst(*current);
  p->definition = inst->definition;
  auto def = ctx_->DefinitionByHash(inst->def_hash);
  std::unique_ptr<runtime::Machine> machine;
  Value before;
  if (!def) {
    Reject(p, RejectCode::kDefinitionMissing, "definition hash " + inst->def_hash + " is not loaded on this node");
  } else {
    TREATY_ASSIGN_OR_RETURN(runtime::Snapshot snap, inst->ParsedSnapshot());
    before = snap.data;
    TREATY_ASSIGN_OR_RETURN(machine, def->Restore(snap));
    auto input = Value::FromJson(p->input_json);
    Value in = input.ok() ? *input : Value::Object();
    std::vector<std::string> roles = RolesOf(inst->roles, p->author);
    runtime::StepCall call;
    call.step = p->step;
    call.party = p->author;
    call.roles = &roles;
    call.input = &in;
    call.chain_time_ms = at.time_ms;
    runtime::ApplyResult result = machine->Apply(call);
    if (!result.accepted()) {
      Reject(p, result.code, result.reason);
    } else {
      TREATY_ASSIGN_OR_RETURN(
          auto lost, p_.claims->Win(txn, p_.claims->ClaimsFor(*def, before, machine->Data()), inst->id, at, batch, pos));
      if (lost) Reject(p, lost->code, lost->reason);
    }
  }
  HistoryRow h = HistoryFor(*p, at);
  if (p->status == ProposalStatus::kRejected) {
    h.outcome = AttestedOutcome{Outcome::kRejected, p->reject_code, p->reason, inst->state_hash};
    h.states_json = inst->states_json;
    TREATY_ASSIGN_OR_RETURN(p->history_seq, txn.AppendHistory(*inst, h, "step_rejected"));
    if (members_ != nullptr) TREATY_RETURN_IF_ERROR(members_->Attest(txn, inst->id, p->history_seq, inst->roles, h.outcome));
    ctx_->Log("step " + p->step + " of " + inst->id + " rejected at height " + std::to_string(at.height) + ": " +
                  p->reason,
              LogLevel::kInfo, {inst->id, p->step});
    return Status::Ok();
  }
  p->status = ProposalStatus::kConfirmed;
  auto snapshot = std::make_shared<const runtime::Snapshot>(machine->Save());
  inst->snapshot_json = snapshot->ToJson();
  inst->snapshot = std::move(snapshot);
  inst->states_json = JsonList(machine->ActiveStates());
  inst->data_json = machine->Data().ToCanonicalJson();
  inst->final = machine->IsFinal();
  inst->position += 1;
  inst->height = at.height;
  TREATY_ASSIGN_OR_RETURN(inst->state_hash, p_.state_hash->Of(txn, *def, *machine, inst->id, p->input_json, p->extra));
  inst->updated_ms = at.time_ms;
  TREATY_RETURN_IF_ERROR(txn.UpdateInstance(*inst));
  h.outcome = AttestedOutcome{Outcome::kConfirmed, RejectCode::kNone, "", inst->state_hash};
  h.states_json = inst->states_json;
  TREATY_ASSIGN_OR_RETURN(p->history_seq, txn.AppendHistory(*inst, h, "step_confirmed"));
  if (p_.tasks != nullptr) TREATY_RETURN_IF_ERROR(p_.tasks->Applied(txn, *def, *inst, *p, at));
  if (p_.jobs != nullptr) TREATY_RETURN_IF_ERROR(p_.jobs->Applied(txn, *def, *inst, *p, at));
  if (members_ != nullptr) TREATY_RETURN_IF_ERROR(members_->Attest(txn, inst->id, p->history_seq, inst->roles, h.outcome));
  if (inst->final) {
    ctx_->Log("instance " + inst->id + " completed in " + inst->states_json + " by step " + p->step,
              LogLevel::kInfo, {inst->id, p->step});
    EventRow ev;
    ev.type = "instance_completed";
    ev.instance = inst->id;
    ev.step = p->step;
    ev.time_ms = at.time_ms;
    ev.height = at.height;
    TREATY_ASSIGN_OR_RETURN(json states, OwnJson(inst->states_json, "the machine's states"));
    ev.payload_json = json{{"states", std::move(states)}}.dump();
    TREATY_RETURN_IF_ERROR(txn.AppendEvent(ev));
  }
  // Moved, not copied: the waiting caller and the preflight's cache share it.
  p->instance_after = std::make_shared<const InstanceRow>(std::move(*inst));
  changed_[p->instance] = p->instance_after;
  return Status::Ok();
}

}  // namespace treaty::engine
