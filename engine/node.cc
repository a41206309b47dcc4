#include "engine/node.h"

#include <nlohmann/json.hpp>

#include <cstdio>
#include <random>

#include "definitions/schema.h"
#include "engine/node_internal.h"

namespace treaty::engine {
namespace {

using namespace internal;  // NOLINT: the node's own helpers

using treaty::Stmt;
using json = nlohmann::json;

std::string JsonList(const std::vector<std::string>& v) {
  ValueList l;
  for (const auto& s : v) l.push_back(Value::Str(s));
  return Value::List(std::move(l)).ToCanonicalJson();
}

Status RejectStatus(const runtime::ApplyResult& r) {
  return Status(StatusForReject(runtime::RejectCodeName(r.code)), r.reason);
}

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

StatusCode StatusForReject(const std::string& code) {
  if (code == "UNKNOWN_STEP" || code == "UNKNOWN_INSTANCE") return StatusCode::kNotFound;
  if (code == "WRONG_ROLE") return StatusCode::kPermissionDenied;
  if (code == "INVALID_INPUT" || code == "INVALID_DATA") return StatusCode::kInvalidArgument;
  if (code == "ALREADY_EXISTS") return StatusCode::kAlreadyExists;
  return StatusCode::kFailedPrecondition;  // NOT_FROM_STATE, GUARD_FALSE, FIELD_NOT_VISIBLE, EVAL_ERROR, ...
}

Digest AttestationSetDigest(const std::string& party, const nlohmann::json& items) {
  Sha256 h;
  h.UpdateField("treaty.attestations.v2");
  h.UpdateField(party);
  h.UpdateField(std::to_string(items.size()));
  for (const auto& i : items) {
    h.UpdateField(i.value("instance", ""));
    h.UpdateField(std::to_string(i.value("seq", int64_t{0})));
    h.UpdateField(i.value("outcome", ""));
    h.UpdateField(i.value("reject_code", ""));
    h.UpdateField(i.value("reason", ""));
    h.UpdateField(i.value("state_hash", ""));
  }
  return h.Finish();
}

Digest Pin(const std::string& salt_hex, const std::string& author, int64_t nonce) {
  Sha256 h;
  h.UpdateField("treaty.pin.v1");
  std::string salt;
  FromHex(salt_hex, &salt);
  h.UpdateField(salt);
  h.UpdateField(author);
  h.UpdateField(std::to_string(nonce));
  return h.Finish();
}

Node::Node(NodeOptions opts, NodeStore* store, chain::Ledger* ledger, runtime::Registry* registry)
    : opts_(std::move(opts)), store_(store), ledger_(ledger), registry_(registry) {}

Node::~Node() { Stop(); }

void Node::ForgetUncommitted() {
  // In-memory state that follows the store: rebuilt from what is committed.
  outgoing_.clear();
  committed_out_.clear();
  keys_.clear();
  waiting_instances_.clear();
  Stmt q = store_->db().Prepare("SELECT DISTINCT instance FROM queued_pins");
  while (q.Step()) waiting_instances_.insert(q.Text(0));
}

void Node::Start() {
  {
    std::lock_guard<std::mutex> lock(store_->mu());
    ForgetUncommitted();
  }
  if (auto tip = store_->LedgerTip()) {
    Digest hash{};
    if (DigestFromHex(tip->second, &hash)) ledger_->TrustFrom(static_cast<uint64_t>(tip->first), hash);
  }
  batcher_ = std::thread([this] { BatcherLoop(); });
  applier_ = std::thread([this] { ApplierLoop(); });
}

void Node::Stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (stop_.exchange(true)) return;
  }
  proposed_.notify_all();
  applied_.notify_all();
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (auto& [id, w] : waiting_) w->cv.notify_all();
  }
  if (batcher_.joinable()) batcher_.join();
  if (applier_.joinable()) applier_.join();
  std::lock_guard<std::mutex> lock(mu_);
  for (auto& item : intake_) item->done.set_value(Status::Unavailable("the node is shutting down"));
  intake_.clear();
}

// ---------------------------------------------------------------- proposing

Result<ProposalRow> Node::StartProcess(const StartArgs& a) {
  auto def = registry_->Find(a.definition, a.version);
  if (!def)
    return Status::NotFound("no definition '" + a.definition + "'" +
                            (a.version ? " version " + std::to_string(a.version) : std::string()) + " is loaded");
  std::string id = a.instance_id.empty() ? RandomHex(16) : a.instance_id;
  if (!ValidId(id))
    return Status::InvalidArgument("instance id '" + id + "' must be 1-128 characters of letters, digits, - _ . :");
  json roles = json::object();
  for (const auto& [role, party] : a.roles) {
    if (!def->model().HasRole(role))
      return Status::InvalidArgument("process '" + def->name() + "' has no role '" + role + "'");
    if (party.empty()) return Status::InvalidArgument("role '" + role + "' is bound to an empty party");
    if (multi_party() && opts_.network->Find(party) == nullptr)
      return Status::InvalidArgument("role '" + role + "' is bound to '" + party + "', who is not a network member");
    roles[role] = party;
  }
  for (const auto& r : def->model().roles)
    if (!roles.contains(r.name)) roles[r.name] = opts_.party;  // a single node plays unbound roles
  TREATY_ASSIGN_OR_RETURN(Value input, ParseObject(a.input_json, opts_.max_input_bytes, "input_json"));
  Status data_ok = defs::CheckData(def->model(), input);
  if (!data_ok.ok()) return Status::InvalidArgument("initial data: " + data_ok.message());

  ProposalRow p;
  p.id = TimeOrderedId();
  p.kind = "start";
  p.instance = id;
  p.step = "$start";
  p.input_json = input.ToCanonicalJson();
  p.author = opts_.party;
  p.status = "pending";
  p.proposed_ms = NowMs();
  json extra = {{"definition", def->name()}, {"version", def->version()}, {"hash", ToHex(def->hash())},
                {"roles", roles}, {"salt", RandomHex(32)}};
  auto wanted = ClaimsFor(*def, Value::Object(), input);
  if (!wanted.empty()) {
    {
      std::lock_guard<std::mutex> lock(store_->read_mu());
      TREATY_RETURN_IF_ERROR(CheckClaimsFree(wanted, id, false));
    }
    extra["claims"] = json::array();
    for (const auto& c : wanted) extra["claims"].push_back(ToHex(c.hash));
  }
  p.extra_json = extra.dump();
  std::string request = json{{"start", def->name()}, {"version", a.version}, {"id", a.instance_id},
                             {"roles", roles}, {"input", p.input_json}}
                            .dump();
  {
    // The id must be free: no instance and no start in flight.
    std::lock_guard<std::mutex> lock(store_->mu());
    bool replay = false;
    if (!a.idempotency_key.empty()) {
      Stmt s = store_->db().Prepare("SELECT 1 FROM idempotency WHERE key = ?");
      s.Bind(1, a.idempotency_key);
      replay = s.Step();
    }
    if (!replay && !a.instance_id.empty()) {
      if (store_->GetInstanceLocked(id)) return Status::AlreadyExists("instance '" + id + "' already exists");
      Stmt s = store_->db().Prepare(
          "SELECT 1 FROM proposals WHERE kind = 'start' AND instance = ? AND status IN ('pending', 'sealed')");
      s.Bind(1, id);
      if (s.Step()) return Status::AlreadyExists("instance '" + id + "' is already being started");
    }
  }
  return Submit(std::move(p), a.idempotency_key, request, a.wait, a.timeout);
}

Result<ProposalRow> Node::TriggerStep(const StepArgs& a) {
  if (a.instance_id.empty()) return Status::InvalidArgument("instance_id is required");
  if (a.step.empty()) return Status::InvalidArgument("step is required");
  TREATY_ASSIGN_OR_RETURN(Value input, ParseObject(a.input_json, opts_.max_input_bytes, "input_json"));
  // Serialised once: the idempotency record and the proposal share it.
  const std::string canonical_input = input.ToCanonicalJson();
  std::string request = json{{"instance", a.instance_id}, {"step", a.step}, {"input", canonical_input}}.dump();

  // A retry with a known key skips the preflight: it gets the original result.
  if (auto known = KnownKey(a.idempotency_key, request, a.wait, a.timeout)) return std::move(*known);

  std::shared_ptr<const InstanceRow> cached = instance_cache_.Get(a.instance_id);
  Result<ProposalRow> p = PreflightStep(a, input, canonical_input, cached ? cached : StoredInstance(a.instance_id));
  if (!p.ok() && cached) {
    // The cache can be a moment behind the store (it is filled after the
    // commit): a refusal is given only on the row as stored.
    auto stored = StoredInstance(a.instance_id);
    if (!stored || stored->position != cached->position) p = PreflightStep(a, input, canonical_input, stored);
  }
  if (!p.ok()) {
    // A call with the same key may have been stored, even applied, since
    // the lookup above: the caller gets that result, not a refusal of the
    // step it already made.
    if (auto known = KnownKey(a.idempotency_key, request, a.wait, a.timeout)) return std::move(*known);
    return p.status();
  }
  return Submit(std::move(p).value(), a.idempotency_key, request, a.wait, a.timeout);
}

std::optional<Result<ProposalRow>> Node::KnownKey(const std::string& key, const std::string& request, bool wait,
                                                  std::chrono::milliseconds timeout) {
  if (key.empty()) return std::nullopt;
  std::string known_id, known_request;
  {
    std::lock_guard<std::mutex> lock(store_->read_mu());
    Stmt s = store_->read_db().Prepare("SELECT proposal, request FROM idempotency WHERE key = ?");
    s.Bind(1, key);
    if (s.Step()) {
      known_id = s.Text(0);
      known_request = s.Text(1);
    }
  }
  if (known_id.empty()) return std::nullopt;
  if (known_request != request)
    return Result<ProposalRow>(Status::AlreadyExists("idempotency key '" + key + "' was used for a different request"));
  return WaitApplied(known_id, wait, timeout);
}

std::shared_ptr<const InstanceRow> Node::StoredInstance(const std::string& id) {
  auto stored = store_->GetInstance(id);
  if (!stored) return nullptr;
  return std::make_shared<const InstanceRow>(std::move(*stored));
}

Result<ProposalRow> Node::PreflightStep(const StepArgs& a, const Value& input, const std::string& canonical_input,
                                        const std::shared_ptr<const InstanceRow>& inst) {
  if (!inst) return Status::NotFound("no instance '" + a.instance_id + "'");
  Digest hash{};
  DigestFromHex(inst->def_hash, &hash);
  auto def = registry_->FindByHash(hash);
  if (!def)
    return Status::FailedPrecondition("instance '" + a.instance_id + "' runs definition " + inst->definition +
                                      " with hash " + inst->def_hash + ", which this node has not loaded");
  // Preflight on a scratch copy: fast errors for the caller; the commit is
  // the applier's, in ledger order.
  auto snap = runtime::Snapshot::FromJson(inst->snapshot_json);
  if (!snap.ok()) return snap.status();
  auto machine = def->Restore(*snap);
  if (!machine.ok()) return machine.status();
  std::vector<std::string> roles = RolesOf(inst->roles_json, opts_.party);
  runtime::StepCall call;
  call.step = a.step;
  call.party = opts_.party;
  call.roles = &roles;
  call.input = &input;
  call.chain_time_ms = std::max(NowMs(), inst->updated_ms);
  runtime::ApplyResult r = (*machine)->Apply(call);
  if (!r.accepted()) return RejectStatus(r);
  // Unique keys this step would set: taken ones fail fast; free ones are
  // claimed on the ledger right after the step's pin.
  json claims = json::array();
  {
    auto wanted = ClaimsFor(*def, snap->data, (*machine)->Data());
    if (!wanted.empty()) {  // most steps set no unique key: no reader lock for them
      std::lock_guard<std::mutex> lock(store_->read_mu());
      TREATY_RETURN_IF_ERROR(CheckClaimsFree(wanted, a.instance_id, false));
    }
    for (const auto& c : wanted) claims.push_back(ToHex(c.hash));
  }

  ProposalRow p;
  p.id = TimeOrderedId();
  p.kind = "step";
  p.instance = a.instance_id;
  p.step = a.step;
  p.input_json = canonical_input;
  p.author = opts_.party;
  p.status = "pending";
  p.proposed_ms = NowMs();
  p.extra_json = claims.empty() ? "{}" : json{{"claims", claims}}.dump();
  return p;
}

Result<ProposalRow> Node::Submit(ProposalRow p, const std::string& key, const std::string& request, bool wait,
                                 std::chrono::milliseconds timeout) {
  // Group commit: the batcher persists queued proposals and seals them in
  // one transaction; this call returns once its proposal is durable.
  auto item = std::make_shared<Intake>();
  item->proposal = std::move(p);
  item->key = key;
  item->request = request;
  item->submitted_id = item->proposal.id;
  std::future<Status> persisted = item->done.get_future();
  std::shared_ptr<Waiter> w;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (stop_) return Status::Unavailable("the node is shutting down");
    // Registered before the batcher can seal it, so the applier cannot
    // apply it unseen: one sleep for the whole step, no store read.
    if (wait) w = item->waiter = RegisterWaiterLocked(item->submitted_id);
    intake_.push_back(item);
    proposal_waiting_ = true;
  }
  proposed_.notify_one();
  if (!wait) {
    Status st = persisted.get();
    if (!st.ok()) return st;
    return WaitApplied(item->proposal.id, false, timeout);
  }
  std::optional<ProposalRow> row;
  std::optional<Status> failed;
  std::string moved_to;
  auto deadline = std::chrono::steady_clock::now() + (timeout.count() > 0 ? timeout : opts_.wait_timeout);
  {
    std::unique_lock<std::mutex> lock(mu_);
    w->cv.wait_until(lock, deadline, [&] { return w->row || w->failed || !w->moved_to.empty() || stop_; });
    row = w->row;  // copies: a retry with the same key may share the waiter
    failed = w->failed;
    moved_to = w->moved_to;
    ReleaseWaiterLocked(item->submitted_id, w);
  }
  if (failed) return *failed;
  if (!moved_to.empty()) return WaitApplied(moved_to, true, deadline);  // within the same timeout
  if (row) return *row;
  // Timed out or stopping: the outcome is not known yet. Once the batcher
  // has handled the proposal, the caller gets it as stored (pending).
  Status st = persisted.get();
  if (!st.ok()) return st;
  return WaitApplied(item->proposal.id, false, timeout);
}

std::shared_ptr<Node::Waiter> Node::RegisterWaiterLocked(const std::string& id) {
  auto& slot = waiting_[id];
  if (!slot) slot = std::make_shared<Waiter>();
  ++slot->callers;
  return slot;
}

void Node::ReleaseWaiterLocked(const std::string& id, const std::shared_ptr<Waiter>& w) {
  if (--w->callers == 0) waiting_.erase(id);
}

Result<ProposalRow> Node::WaitApplied(const std::string& id, bool wait, std::chrono::milliseconds timeout) {
  return WaitApplied(id, wait, std::chrono::steady_clock::now() + (timeout.count() > 0 ? timeout : opts_.wait_timeout));
}

Result<ProposalRow> Node::WaitApplied(const std::string& id, bool wait,
                                      std::chrono::steady_clock::time_point deadline) {
  std::shared_ptr<Waiter> w;
  if (wait) {
    std::lock_guard<std::mutex> lock(mu_);
    w = RegisterWaiterLocked(id);
  }
  // Registered first, then read: an outcome applied in between is either in
  // the store or handed over in the waiter.
  auto p = store_->GetProposal(id);
  std::unique_lock<std::mutex> lock(mu_);
  if (p && wait && p->status != "confirmed" && p->status != "rejected") {
    w->cv.wait_until(lock, deadline, [&] { return w->row.has_value() || stop_; });
    if (w->row) p = *w->row;
  }
  if (w) ReleaseWaiterLocked(id, w);
  if (!p) return Status::Internal("proposal " + id + " vanished");
  return *p;
}

Result<AttestationWait> Node::WaitAttested(const ProposalRow& p, std::chrono::steady_clock::time_point deadline) {
  AttestationWait out;
  auto entry = store_->HistoryEntryOf(p.instance, p.id);
  if (!entry.ok()) return entry.status();
  if (!*entry) {
    if (p.status == "rejected" && p.kind == "start") return out;  // no instance, nothing attested
    return Status::FailedPrecondition("proposal " + p.id + " has not been applied here yet");
  }
  const auto& [seq, ours, roles_json] = **entry;
  std::vector<std::string> members = MembersOf(roles_json);
  while (true) {
    uint64_t gen;
    {
      std::lock_guard<std::mutex> lock(mu_);
      gen = attested_generation_;
    }
    auto rows = store_->AttestationsAt(p.instance, seq);
    if (!rows.ok()) return rows.status();
    out = AttestationWait{};
    for (const auto& m : members) {
      if (m == opts_.party) {
        out.attested.push_back(m);
        continue;
      }
      auto it = std::find_if(rows->begin(), rows->end(), [&](const AttestationRow& r) { return r.party == m; });
      if (it == rows->end()) out.missing.push_back(m);
      else if (it->attested == ours) out.attested.push_back(m);
      else out.mismatched.push_back(m);
    }
    out.all = out.missing.empty() && out.mismatched.empty();
    if (out.missing.empty() || std::chrono::steady_clock::now() >= deadline) return out;
    std::unique_lock<std::mutex> lock(mu_);
    attested_.wait_until(lock, deadline, [&] { return attested_generation_ != gen || stop_.load(); });
    if (stop_) return out;
  }
}

void Node::WaitForEvents(int64_t offset, std::chrono::milliseconds timeout) {
  if (store_->LastEventOffset() > offset) return;
  std::unique_lock<std::mutex> lock(mu_);
  uint64_t gen = applied_generation_;
  applied_.wait_for(lock, timeout, [&] { return applied_generation_ != gen || stop_; });
}

// ---------------------------------------------------------------- batching

void Node::BatcherLoop() {
  while (!stop_) {
    {
      // The flag, not the notification, carries the news: a proposal that
      // arrives while we seal is not missed.
      std::unique_lock<std::mutex> lock(mu_);
      proposed_.wait_for(lock, std::chrono::milliseconds(100), [&] { return proposal_waiting_ || stop_; });
      proposal_waiting_ = false;
    }
    {
      // While a batch of ours is still on its way through the ledger and
      // the applier, the next one gathers until it is applied (at most
      // batch_latency): bigger batches under load, so fewer pages written
      // per step, and no wait at all when nothing is in flight.
      std::unique_lock<std::mutex> lock(mu_);
      applied_.wait_for(lock, opts_.batch_latency, [&] {
        return in_flight_ == 0 || intake_.size() >= opts_.batch_max || stop_;
      });
    }
    std::vector<std::shared_ptr<Intake>> intake;
    {
      std::lock_guard<std::mutex> lock(mu_);
      intake.swap(intake_);
    }
    chain::Batch sealed;
    Status st = SealPending(&intake, &sealed);
    for (auto& item : intake) {
      Status result = item->result.ok() ? st : item->result;
      if (item->waiter && (!result.ok() || item->proposal.id != item->submitted_id)) {
        // Its caller sleeps until the outcome: tell it there will be none
        // under the id it registered.
        {
          std::lock_guard<std::mutex> lock(mu_);
          if (!result.ok())
            item->waiter->failed = result;
          else
            item->waiter->moved_to = item->proposal.id;
        }
        item->waiter->cv.notify_all();
      }
      item->done.set_value(result);
    }
    if (!st.ok()) Log("sealing failed: " + st.ToString());
    if (!sealed.pins.empty()) {
      unsent_.push_back(std::move(sealed));
      std::lock_guard<std::mutex> lock(mu_);
      proposal_waiting_ = true;  // more may be pending than one batch holds
      ++in_flight_;
    }
    // Submitting in this thread is deliberate: while the ledger orders this
    // batch, new proposals gather into the next one (docs/performance.md).
    st = SubmitUnsent();
    if (!st.ok()) {
      Log("ledger submit failed, will retry: " + st.ToString());
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
  }
}

Status Node::PersistIntake(std::vector<std::shared_ptr<Intake>>* intake, std::vector<ProposalRow*>* fresh) {
  auto& db = store_->db();
  for (auto& item : *intake) {
    if (!item->key.empty()) {
      Stmt s = db.Prepare("SELECT proposal, request FROM idempotency WHERE key = ?");
      s.Bind(1, item->key);
      if (s.Step()) {  // a concurrent retry with the same key got here first
        if (s.Text(1) != item->request) {
          item->result =
              Status::AlreadyExists("idempotency key '" + item->key + "' was used for a different request");
        } else {
          item->proposal.id = s.Text(0);
        }
        continue;
      }
      Stmt ins = db.Prepare("INSERT INTO idempotency (key, proposal, request) VALUES (?, ?, ?)");
      ins.Bind(1, item->key).Bind(2, item->proposal.id).Bind(3, item->request);
      TREATY_RETURN_IF_ERROR(ins.Run());
    }
    fresh->push_back(&item->proposal);
  }
  return Status::Ok();
}

Status Node::SealPending(std::vector<std::shared_ptr<Intake>>* intake, chain::Batch* sealed) {
  if (intake->empty() && !pending_in_store_) return Status::Ok();  // an idle wake-up: no transaction
  std::lock_guard<std::mutex> lock(store_->mu());
  auto& db = store_->db();
  TREATY_RETURN_IF_ERROR(db.Begin());
  auto fail = [&](Status st) {
    db.Rollback();
    ForgetUncommitted();
    pending_in_store_ = true;  // not known any more: look next time
    return st;
  };
  std::vector<ProposalRow*> fresh;
  if (Status st = PersistIntake(intake, &fresh); !st.ok()) return fail(st);
  // Proposals persisted by an earlier round (more than one batch held, or
  // before a restart) go first; only then this round's, which are written
  // once, already sealed, as long as the batch has room.
  std::vector<ProposalRow> stored;
  if (pending_in_store_) {
    auto pending = store_->PendingProposalsLocked(opts_.batch_max);
    if (!pending.ok()) return fail(pending.status());
    stored = std::move(pending).value();
  }
  size_t room = opts_.batch_max - stored.size();
  for (size_t i = room; i < fresh.size(); ++i)
    if (Status st = store_->InsertProposal(*fresh[i]); !st.ok()) return fail(st);
  bool overflow = stored.size() == opts_.batch_max || fresh.size() > room;
  fresh.resize(std::min(fresh.size(), room));
  std::vector<ProposalRow*> to_seal;
  for (auto& p : stored) to_seal.push_back(&p);
  to_seal.insert(to_seal.end(), fresh.begin(), fresh.end());
  if (to_seal.empty()) {
    Status st = db.Commit();
    if (!st.ok()) return fail(st);
    pending_in_store_ = false;
    return st;
  }
  std::string batch_id = TimeOrderedId();
  json pins = json::array();
  Status st;
  for (size_t i = 0; i < to_seal.size() && st.ok(); ++i) {
    ProposalRow& p = *to_seal[i];
    std::string salt;
    if (p.kind == "start") {
      salt = json::parse(p.extra_json).value("salt", "");
    } else if (const InstanceKeys* k = KeysOf(p.instance)) {
      salt = k->salt;
    }
    // The nonce is spent here, with the seal.
    Result<int64_t> nonce = store_->SpendNonce(p.instance, p.author);
    if (!nonce.ok()) {
      st = nonce.status();
      break;
    }
    p.nonce = *nonce;
    p.pin_hex = ToHex(Pin(salt, p.author, p.nonce));
    p.status = "sealed";
    p.batch = batch_id;
    // Members get the signed proposal from the outbox, written in this
    // same transaction: sealed and sent, or neither.
    if (multi_party() && !(st = SendProposal(p, &p.extra_json)).ok()) break;
    st = i < stored.size() ? store_->UpdateProposal(p) : store_->InsertProposal(p);
    if (!st.ok()) break;
    if (p.kind == "start") {
      // The first pin of a new instance: known to us because we hold the salt.
      if (!(st = store_->ExpectPin(p.pin_hex, p.instance, p.author, p.nonce)).ok()) break;
    }
    pins.push_back(p.pin_hex);
    // Unique-key claims sit right after their step's pin (unique_claims.cc).
    if (p.extra_json.find("\"claims\"") != std::string::npos) {
      json extra = json::parse(p.extra_json, nullptr, false);
      if (extra.is_object() && extra.contains("claims"))
        for (const auto& c : extra["claims"]) pins.push_back(c);
    }
  }
  if (st.ok()) st = store_->InsertBatch(batch_id, pins.dump());
  if (st.ok() && multi_party()) st = FlushOutgoing();
  if (st.ok()) st = db.Commit();
  if (!st.ok()) return fail(st);
  pending_in_store_ = overflow;
  durable_gen_ = ++commit_gen_;
  sealed->id = batch_id;
  sealed->author = opts_.party;
  for (const auto& pin : pins) {
    Digest d{};
    DigestFromHex(pin.get<std::string>(), &d);
    sealed->pins.push_back(d);
  }
  SendCommitted();
  return Status::Ok();
}

Status Node::SubmitUnsent() {
  if (!unsent_loaded_) {
    // After a restart: batches sealed before it that no applied block held.
    std::vector<chain::Batch> stored;
    {
      std::lock_guard<std::mutex> lock(store_->mu());
      Stmt s = store_->db().Prepare("SELECT id, pins FROM batches ORDER BY rowid");
      while (s.Step()) {
        chain::Batch b;
        b.id = s.Text(0);
        b.author = opts_.party;
        for (const auto& pin : json::parse(s.Text(1))) {
          Digest d{};
          DigestFromHex(pin.get<std::string>(), &d);
          b.pins.push_back(d);
        }
        stored.push_back(std::move(b));
      }
      TREATY_RETURN_IF_ERROR(s.status());
    }
    // The store holds every sealed batch no applied block held yet, in
    // sealing order, including any sealed since this process started.
    unsent_ = std::move(stored);
    unsent_loaded_ = true;
  }
  // Retried until the ledger has it (it is idempotent by batch id); never
  // re-sealed with new pins. The applier forgets a batch once a block holds it.
  size_t done = 0;
  Status st;
  for (; done < unsent_.size(); ++done)
    if (!(st = ledger_->Submit(unsent_[done])).ok()) break;
  unsent_.erase(unsent_.begin(), unsent_.begin() + static_cast<std::ptrdiff_t>(done));
  return st;
}

// ---------------------------------------------------------------- applying

void Node::ApplierLoop() {
  uint64_t cursor = static_cast<uint64_t>(store_->Cursor());
  auto next_resend_check = std::chrono::steady_clock::now();
  while (!stop_) {
    uint64_t height = ledger_->WaitForHeight(cursor, std::chrono::milliseconds(200));
    if (multi_party() && std::chrono::steady_clock::now() >= next_resend_check) {
      RequestResends();
      next_resend_check = std::chrono::steady_clock::now() + std::chrono::seconds(1);
    }
    if (height <= cursor) continue;
    auto blocks = ledger_->Read(cursor + 1, 64);
    if (!blocks.ok()) {
      Log("reading the ledger failed, will retry: " + blocks.status().ToString());
      std::this_thread::sleep_for(std::chrono::milliseconds(200));
      continue;
    }
    std::vector<ProposalRow> applied_rows;
    int ours = 0;
    for (const auto& b : *blocks) {
      if (b.height != cursor + 1) {
        Log("ledger returned block " + std::to_string(b.height) + " after " + std::to_string(cursor));
        break;
      }
      Status st = ApplyBlock(b, &applied_rows);
      if (!st.ok()) {
        Log("applying block " + std::to_string(b.height) + " failed, will retry: " + st.ToString());
        std::this_thread::sleep_for(std::chrono::milliseconds(200));
        break;
      }
      cursor = b.height;
      for (const auto& batch : b.batches) ours += batch.author == opts_.party;
    }
    NotifyApplied(&applied_rows, ours);
  }
}

void Node::NotifyApplied(std::vector<ProposalRow>* rows, int our_batches) {
  // Woken after the lock is released: a caller woken while we hold it would
  // only block on it again, and a block's callers wake all at once.
  std::vector<std::shared_ptr<Waiter>> wake;
  {
    std::lock_guard<std::mutex> lock(mu_);
    // Batches sealed before a restart are not counted in flight: stop at 0.
    in_flight_ = std::max(0, in_flight_ - our_batches);
    ++applied_generation_;
    for (auto& r : *rows) {
      auto it = waiting_.find(r.id);
      if (it == waiting_.end()) continue;
      it->second->row = std::move(r);
      wake.push_back(it->second);
    }
  }
  for (const auto& w : wake) w->cv.notify_all();
  applied_.notify_all();  // the batcher and event streams
}

Status Node::ApplyBlock(const chain::Block& b, std::vector<ProposalRow>* applied) {
  size_t first_new = applied->size();
  std::lock_guard<std::mutex> lock(store_->mu());
  auto& db = store_->db();
  TREATY_RETURN_IF_ERROR(db.Begin());
  auto fail = [&](Status st) {
    applied->resize(first_new);  // nothing of a rolled-back block reaches waiters
    db.Rollback();
    ForgetUncommitted();
    return st;
  };
  won_in_block_.clear();
  int64_t idx = 0;
  for (const auto& batch : b.batches) {
    if (batch.author == opts_.party) {
      // On the ledger now: never to be submitted again.
      if (Status st = store_->ForgetBatch(batch.id); !st.ok()) return fail(st);
    }
    for (size_t pos = 0; pos < batch.pins.size(); ++pos) {
      const Digest& pin = batch.pins[pos];
      ++idx;
      const Sequenced at{static_cast<int64_t>(b.height), b.time_ms, idx, &batch.pins, pos};
      std::string pin_hex = ToHex(pin);
      // Recognised pins leave expected_pins as they are applied or queued.
      Result<std::optional<ExpectedPin>> expected = store_->TakeExpectedPin(pin_hex);
      if (!expected.ok()) return fail(expected.status());
      if (!*expected) {
        // Someone else's pin, one of ours whose start has not reached us
        // yet, or a unique-key claim: its first place in ledger order is
        // kept. A claim its step just won is in `claims` already, with its
        // height: no second row (the usual case for a member).
        if (won_in_block_.count(pin_hex)) continue;
        Stmt u = db.Prepare("INSERT OR IGNORE INTO unmatched_pins (pin, height, idx, time_ms) VALUES (?, ?, ?, ?)");
        u.Bind(1, pin_hex).Bind(2, at.height).Bind(3, idx).Bind(4, at.time_ms);
        if (Status st = u.Run(); !st.ok()) return fail(st);
        continue;
      }
      const std::string instance = (*expected)->instance, author = (*expected)->author;
      const int64_t nonce = (*expected)->nonce;
      std::optional<ProposalRow> p = store_->GetProposalByPinLocked(pin_hex);
      if (!p || waiting_instances_.count(instance)) {
        // Recognised, but its data has not arrived (or an earlier pin of the
        // instance waits): the instance is blocked here; others go on.
        if (Status st = QueuePin(instance, author, pin_hex, at); !st.ok()) return fail(st);
      } else {
        if (Status st = ApplyPin(&*p, at); !st.ok()) return fail(st);
        applied->push_back(std::move(*p));
      }
      // Precompute this author's next pin in the instance.
      std::string salt = SaltOf(instance);
      if (!salt.empty())
        if (Status st = Expect(instance, author, nonce + 1, salt); !st.ok()) return fail(st);
      // Anything of the instance queued (here, by Expect, or by a start
      // revealing others' pins) goes as far as its data allows; Drain
      // also notes the instance as blocked.
      if (waiting_instances_.count(instance))
        if (Status st = Drain(instance, applied); !st.ok()) return fail(st);
    }
  }
  if (Status st = store_->SetCursor(static_cast<int64_t>(b.height), ToHex(b.hash)); !st.ok()) return fail(st);
  if (multi_party())
    if (Status st = FlushOutgoing(); !st.ok()) return fail(st);
  Status st = db.Commit();
  if (!st.ok()) return fail(st);
  durable_gen_ = ++commit_gen_;
  PublishInstances(*applied, first_new);
  SendCommitted();
  return st;
}

void Node::PublishInstances(const std::vector<ProposalRow>& rows, size_t from) {
  // Right after the commit, so the preflight's copy lags the store by
  // moments only (and a refusal is checked against the store anyway).
  for (size_t i = from; i < rows.size(); ++i)
    if (rows[i].instance_after) instance_cache_.Publish(rows[i].instance_after);
}

Status Node::NoteBlocked(const std::string& instance, const std::string& pin_hex, const std::string& author,
                         const Sequenced& at) {
  // No log line: most waits end within milliseconds, when the data
  // overtaken by its block arrives; RequestResends logs those that last.
  EventRow ev;
  ev.type = "instance_blocked";
  ev.instance = instance;
  ev.time_ms = at.time_ms;
  ev.height = at.height;
  ev.payload_json = json{{"pin", pin_hex}, {"author", author}}.dump();
  return store_->AppendEvent(ev);
}

void Node::MakeDurable() {
  std::lock_guard<std::mutex> lock(store_->mu());
  if (durable_gen_.load() >= commit_gen_) return;
  // A write is needed for the commit to reach the disk; this one is tiny.
  auto& db = store_->db();
  if (Status st = db.Begin(); !st.ok()) {
    Log("could not make received messages durable, their receipts wait: " + st.ToString());
    return;
  }
  Stmt s = db.Prepare("INSERT OR REPLACE INTO meta (key, value) VALUES ('durable_generation', ?)");
  s.Bind(1, std::to_string(commit_gen_ + 1));
  Status st = s.Run();
  if (st.ok()) st = db.Commit();
  if (st.ok()) {
    durable_gen_ = ++commit_gen_;
  } else {
    db.Rollback();
    Log("could not make received messages durable, their receipts wait: " + st.ToString());
  }
}

const Node::InstanceKeys* Node::KeysOf(const std::string& instance) {
  auto it = keys_.find(instance);
  if (it != keys_.end()) return &it->second;
  auto inst = store_->GetInstanceLocked(instance);
  if (!inst) return nullptr;
  if (keys_.size() > 100000) keys_.clear();  // a bound, not an eviction policy: misses only cost a read
  return &(keys_[instance] = InstanceKeys{inst->salt_hex, inst->roles_json, inst->def_hash});
}

std::string Node::SaltOf(const std::string& instance) {
  const InstanceKeys* k = KeysOf(instance);
  return k ? k->salt : "";
}

Status Node::ApplyPin(ProposalRow* p, const Sequenced& at) {
  if (p->author == opts_.party && p->batch.empty()) {
    // Our own nonce is spent once the ledger has it, even if this copy of
    // the proposal reached us from a member (a restored or shared key);
    // one we sealed here spent it then.
    Stmt n = store_->db().Prepare(
        "INSERT INTO nonces (instance, author, next) VALUES (?, ?, ?) ON CONFLICT(instance, author) DO UPDATE SET "
        "next = MAX(next, excluded.next)");
    n.Bind(1, p->instance).Bind(2, p->author).Bind(3, p->nonce + 1);
    TREATY_RETURN_IF_ERROR(n.Run());
  }
  TREATY_RETURN_IF_ERROR(p->kind == "start" ? ApplyStart(p, at) : ApplyStep(p, at));
  p->height = at.height;
  p->applied_ms = at.time_ms;
  return store_->UpdateProposal(*p);
}

namespace {

// The history entry of a proposal applied at a ledger height and time; the
// outcome and the states after are the caller's.
HistoryRow HistoryFor(const ProposalRow& p, int64_t height, int64_t time_ms) {
  HistoryRow h;
  h.proposal = p.id;
  h.step = p.step;
  h.proposer = p.author;
  h.input_json = p.input_json;
  h.height = height;
  h.proposed_ms = p.proposed_ms;
  h.applied_ms = time_ms;
  return h;
}

}  // namespace

void Node::Reject(ProposalRow* p, const std::string& code, const std::string& reason) {
  p->status = "rejected";
  p->reject_code = code;
  p->reason = reason;
}

Status Node::ApplyStart(ProposalRow* p, const Sequenced& b) {
  json extra = json::parse(p->extra_json, nullptr, false);
  std::string hash_hex = extra.value("hash", "");
  Digest hash{};
  DigestFromHex(hash_hex, &hash);
  auto def = registry_->FindByHash(hash);
  EventRow ev;
  ev.instance = p->instance;
  ev.definition = extra.value("definition", "");
  ev.step = "$start";
  ev.time_ms = b.time_ms;
  ev.height = b.height;
  HistoryRow h = HistoryFor(*p, b.height, b.time_ms);

  if (store_->GetInstanceLocked(p->instance)) {
    Reject(p, "ALREADY_EXISTS", "instance '" + p->instance + "' already exists");
    ev.type = "start_rejected";
    ev.payload_json = json{{"reason", p->reason}}.dump();
    return store_->AppendEvent(ev);
  }
  std::unique_ptr<runtime::Machine> machine;
  if (!def) {
    Reject(p, "DEFINITION_MISSING",
           "definition " + ev.definition + " with hash " + hash_hex + " is not loaded on this node");
  } else {
    machine = def->NewMachine(b.time_ms);
    auto input = Value::FromJson(p->input_json);
    if (input.ok() && input->is_object() && !input->as_object().empty()) {
      runtime::Snapshot s = machine->Save();
      s.data = *input;
      Status ok = defs::CheckData(def->model(), s.data);
      std::string code, reason;
      bool won = false;
      if (ok.ok()) {
        TREATY_ASSIGN_OR_RETURN(won, WinClaims(ClaimsFor(*def, Value::Object(), s.data), p->instance, b, &code,
                                               &reason));
      }
      if (!ok.ok()) {
        Reject(p, "INVALID_DATA", "initial data: " + ok.message());
      } else if (!won) {
        Reject(p, code, reason);
      } else {
        auto m2 = def->Restore(s);
        if (!m2.ok()) return m2.status();
        machine = std::move(m2).value();
      }
    }
  }
  if (p->status == "rejected") {
    ev.type = "start_rejected";
    ev.payload_json = json{{"reason", p->reason}, {"code", p->reject_code}}.dump();
    return store_->AppendEvent(ev);
  }
  InstanceRow r;
  r.id = p->instance;
  r.definition = def->name();
  r.version = def->version();
  r.def_hash = hash_hex;
  r.salt_hex = extra.value("salt", "");
  r.roles_json = extra["roles"].dump();
  r.snapshot_json = machine->Save().ToJson();
  r.states_json = JsonList(machine->ActiveStates());
  r.data_json = machine->Data().ToCanonicalJson();
  r.final = machine->IsFinal();
  r.height = b.height;
  TREATY_RETURN_IF_ERROR(CommittedStateHash(*def, *machine, r.id, p->input_json, p->extra_json, &r.state_hash));
  r.created_ms = r.updated_ms = b.time_ms;
  TREATY_RETURN_IF_ERROR(store_->InsertInstance(r));
  p->status = "confirmed";
  p->instance_after = std::make_shared<const InstanceRow>(std::move(r));
  const InstanceRow& row = *p->instance_after;
  h.outcome = "CONFIRMED";
  h.states_json = row.states_json;
  h.state_hash = row.state_hash;
  int64_t seq = 0;
  TREATY_RETURN_IF_ERROR(store_->AppendHistory(row.id, h, &seq));
  if (multi_party()) {
    // Every other member's first pin in the instance is now expected.
    for (const auto& m : MembersOf(row.roles_json))
      if (m != p->author) TREATY_RETURN_IF_ERROR(Expect(row.id, m, 0, row.salt_hex));
    TREATY_RETURN_IF_ERROR(Attest(row.id, seq, row.roles_json, {"CONFIRMED", "", "", row.state_hash}));
  }
  Log("instance " + row.id + " started (" + row.definition + " v" + std::to_string(row.version) + ") at height " +
      std::to_string(b.height));
  ev.type = "instance_started";
  ev.payload_json = json{{"states", json::parse(row.states_json)}, {"data", json::parse(row.data_json)}}.dump();
  return store_->AppendEvent(ev);
}

Status Node::ApplyStep(ProposalRow* p, const Sequenced& b) {
  auto inst = store_->GetInstanceLocked(p->instance);
  EventRow ev;
  ev.instance = p->instance;
  ev.step = p->step;
  ev.time_ms = b.time_ms;
  ev.height = b.height;
  HistoryRow h = HistoryFor(*p, b.height, b.time_ms);
  if (!inst) {
    Reject(p, "UNKNOWN_INSTANCE", "no instance '" + p->instance + "'");
    return Status::Ok();
  }
  ev.definition = inst->definition;
  Digest hash{};
  DigestFromHex(inst->def_hash, &hash);
  auto def = registry_->FindByHash(hash);
  runtime::ApplyResult result;
  std::unique_ptr<runtime::Machine> machine;
  if (!def) {
    result = runtime::ApplyResult::Reject(runtime::RejectCode::kEvalError, "");
    Reject(p, "DEFINITION_MISSING", "definition hash " + inst->def_hash + " is not loaded on this node");
  } else {
    auto snap = runtime::Snapshot::FromJson(inst->snapshot_json);
    if (!snap.ok()) return snap.status();
    auto m = def->Restore(*snap);
    if (!m.ok()) return m.status();
    machine = std::move(m).value();
    auto input = Value::FromJson(p->input_json);
    Value in = input.ok() ? *input : Value::Object();
    std::vector<std::string> roles = RolesOf(inst->roles_json, p->author);
    runtime::StepCall call;
    call.step = p->step;
    call.party = p->author;
    call.roles = &roles;
    call.input = &in;
    call.chain_time_ms = b.time_ms;
    result = machine->Apply(call);
    if (!result.accepted()) {
      Reject(p, runtime::RejectCodeName(result.code), result.reason);
    } else {
      std::string code, reason;
      TREATY_ASSIGN_OR_RETURN(bool won, WinClaims(ClaimsFor(*def, snap->data, machine->Data()), inst->id, b, &code,
                                                  &reason));
      if (!won) Reject(p, code, reason);
    }
  }
  if (p->status == "rejected") {
    h.outcome = "REJECTED";
    h.reject_code = p->reject_code;
    h.reason = p->reason;
    h.states_json = inst->states_json;
    h.state_hash = inst->state_hash;
    int64_t seq = 0;
    TREATY_RETURN_IF_ERROR(store_->AppendHistory(inst->id, h, &seq));
    if (multi_party())
      TREATY_RETURN_IF_ERROR(
          Attest(inst->id, seq, inst->roles_json, {"REJECTED", p->reject_code, p->reason, inst->state_hash}));
    Log("step " + p->step + " of " + inst->id + " rejected at height " + std::to_string(b.height) + ": " + p->reason);
    ev.type = "step_rejected";
    ev.payload_json = json{{"code", p->reject_code}, {"reason", p->reason}, {"proposal", p->id}}.dump();
    return store_->AppendEvent(ev);
  }
  p->status = "confirmed";
  inst->snapshot_json = machine->Save().ToJson();
  inst->states_json = JsonList(machine->ActiveStates());
  inst->data_json = machine->Data().ToCanonicalJson();
  inst->final = machine->IsFinal();
  inst->position += 1;
  inst->height = b.height;
  TREATY_RETURN_IF_ERROR(
      CommittedStateHash(*def, *machine, inst->id, p->input_json, p->extra_json, &inst->state_hash));
  inst->updated_ms = b.time_ms;
  TREATY_RETURN_IF_ERROR(store_->UpdateInstance(*inst));
  // Moved, not copied: the waiting caller and the preflight's cache share it.
  p->instance_after = std::make_shared<const InstanceRow>(std::move(*inst));
  const InstanceRow& row = *p->instance_after;
  h.outcome = "CONFIRMED";
  h.states_json = row.states_json;
  h.state_hash = row.state_hash;
  int64_t seq = 0;
  TREATY_RETURN_IF_ERROR(store_->AppendHistory(row.id, h, &seq));
  if (multi_party()) TREATY_RETURN_IF_ERROR(Attest(row.id, seq, row.roles_json, {"CONFIRMED", "", "", row.state_hash}));
  ev.type = "step_confirmed";
  ev.payload_json = json{{"states", json::parse(row.states_json)}, {"proposal", p->id}}.dump();
  TREATY_RETURN_IF_ERROR(store_->AppendEvent(ev));
  if (row.final) {
    Log("instance " + row.id + " completed in " + row.states_json);
    ev.type = "instance_completed";
    ev.payload_json = json{{"states", json::parse(row.states_json)}}.dump();
    TREATY_RETURN_IF_ERROR(store_->AppendEvent(ev));
  }
  return Status::Ok();
}

}  // namespace treaty::engine
