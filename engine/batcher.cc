#include "engine/batcher.h"

#include "engine/member_protocol.h"

namespace treaty::engine {

void Batcher::Start() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = false;
  }
  thread_ = std::thread([this] { Loop(); });
}

void Batcher::Stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (stop_ && !thread_.joinable()) return;
    stop_ = true;
  }
  proposed_.notify_all();
  if (thread_.joinable()) thread_.join();
  std::vector<std::shared_ptr<Intake>> left;
  {
    std::lock_guard<std::mutex> lock(mu_);
    left.swap(intake_);
  }
  for (auto& item : left) {
    Status st = Status::Unavailable("the node is shutting down");
    item->done.set_value(st);
    if (item->on_persisted) item->on_persisted(st);
  }
}

Status Batcher::Submit(std::shared_ptr<Intake> item) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (stop_) return Status::Unavailable("the node is shutting down");
    intake_.push_back(std::move(item));
    proposal_waiting_ = true;
  }
  proposed_.notify_one();
  return Status::Ok();
}

void Batcher::Tick() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (stop_) return;
    tick_ = true;
  }
  proposed_.notify_one();
}

chain::Batch Batcher::TickBatch() const {
  chain::Batch b;
  b.id = ctx_->TimeOrderedId();
  b.author = ctx_->party();
  return b;
}

void Batcher::Loop() {
  const bool inline_ledger = ledger_->Inline() != nullptr;
  while (true) {
    bool tick = false;
    {
      // The flag, not the notification, carries the news: a proposal that
      // arrives while we seal is not missed.
      std::unique_lock<std::mutex> lock(mu_);
      proposed_.wait_for(lock, std::chrono::milliseconds(100), [&] { return proposal_waiting_ || tick_ || stop_; });
      if (stop_) return;
      proposal_waiting_ = false;
      tick = tick_;
      tick_ = false;
    }
    if (!inline_ledger) {
      // While a batch of ours is still on its way through the ledger and
      // the applier, the next one gathers until it is applied (at most
      // batch_latency): bigger batches under load, so fewer pages written
      // per step, and no wait at all when nothing is in flight.
      waiters_->WaitForApplied(ctx_->opts.batch_latency, [&] {
        std::lock_guard<std::mutex> lock(mu_);
        return intake_.size() >= ctx_->opts.batch_max || stop_;
      });
    }
    std::vector<std::shared_ptr<Intake>> intake;
    {
      std::lock_guard<std::mutex> lock(mu_);
      intake.swap(intake_);
    }
    chain::Batch sealed;
    Status st = Seal(&intake, &sealed, tick);
    // Said before the callers hear it.
    if (!st.ok()) ctx_->Log("sealing failed: " + st.ToString(), LogLevel::kError);
    for (auto& item : intake) {
      Status result = item->result.ok() ? st : item->result;
      // Its caller sleeps until the outcome: tell it there will be none
      // under the id it registered.
      if (item->waiter && !result.ok()) waiters_->Fail(item->waiter, result);
      else if (item->waiter && item->proposal.id != item->submitted_id) waiters_->Move(item->waiter, item->proposal.id);
      item->done.set_value(result);
      if (item->on_persisted) item->on_persisted(result);
    }
    if (inline_ledger) continue;  // ordered and applied already
    if (!sealed.pins.empty()) {
      unsent_.push_back(std::move(sealed));
      waiters_->Sealed();
      std::lock_guard<std::mutex> lock(mu_);
      proposal_waiting_ = true;  // more may be pending than one batch holds
    } else if (tick && st.ok()) {
      // Nothing to order, but ledger time must move: a batch with no pins.
      // Not kept in the store: if it is lost, the deadline watcher asks again.
      if (Status t = ledger_->Submit(TickBatch()); !t.ok())
        ctx_->Log("submitting a tick to the ledger failed: " + t.ToString(), LogLevel::kWarning);
    }
    // Submitting in this thread is deliberate: while the ledger orders this
    // batch, new proposals gather into the next one (docs/performance.md).
    st = SubmitUnsent();
    if (!st.ok()) {
      ctx_->Log("ledger submit failed, will retry: " + st.ToString(), LogLevel::kWarning);
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
      std::lock_guard<std::mutex> lock(mu_);
      proposal_waiting_ = true;  // retry even if nothing new comes
    }
  }
}

// Idempotency keys are bounded (docs/limits.md): older than the age limit
// or beyond the count limit, the oldest are forgotten, in the sealing
// transaction, at most every minute (half the age limit if shorter) or
// once a tenth of the count limit was added.
Status Batcher::PruneKeys(WriteTxn& txn) {
  const Limits& limits = ctx_->opts.limits;
  int64_t now = ctx_->NowMs();
  int64_t every_ms = std::min<int64_t>(60000, limits.idempotency_key_max_age_ms / 2);
  if (now - keys_pruned_ms_ < every_ms && keys_since_prune_ < std::max<int64_t>(1, limits.idempotency_keys_max / 10))
    return Status::Ok();
  TREATY_ASSIGN_OR_RETURN(int64_t pruned,
                          txn.PruneIdempotencyKeys(now - limits.idempotency_key_max_age_ms, limits.idempotency_keys_max));
  keys_pruned_ms_ = now;
  keys_since_prune_ = 0;
  if (pruned > 0)
    ctx_->Log("forgot " + std::to_string(pruned) + " idempotency keys (older than idempotency_key_max_age_ms = " +
              std::to_string(limits.idempotency_key_max_age_ms) + " or beyond idempotency_keys_max = " +
              std::to_string(limits.idempotency_keys_max) + ")");
  return Status::Ok();
}

Status Batcher::PersistIntake(WriteTxn& txn, std::vector<std::shared_ptr<Intake>>* intake,
                              std::vector<ProposalRow*>* fresh) {
  for (auto& item : *intake) {
    if (!item->key.empty()) {
      TREATY_ASSIGN_OR_RETURN(auto known, txn.IdempotencyKey(item->key));
      if (known) {  // a concurrent retry with the same key got here first
        if (known->request != item->request)
          item->result =
              Status::AlreadyExists("idempotency key '" + item->key + "' was used for a different request");
        else
          item->proposal.id = known->proposal;
        continue;
      }
      TREATY_RETURN_IF_ERROR(txn.InsertIdempotencyKey(item->key, item->proposal.id, item->request, ctx_->NowMs()));
      ++keys_since_prune_;
    }
    fresh->push_back(&item->proposal);
  }
  return PruneKeys(txn);
}

Status Batcher::Seal(std::vector<std::shared_ptr<Intake>>* intake, chain::Batch* sealed, bool tick) {
  chain::InlineLedger* inline_ledger = ledger_->Inline();
  const bool inline_tick = tick && inline_ledger != nullptr;
  if (intake->empty() && !pending_in_store_ && !inline_tick) return Status::Ok();  // an idle wake-up: no transaction
  std::vector<ProposalRow> applied;
  int ours = 0;
  chain::Block block;
  const auto began = std::chrono::steady_clock::now();
  {
    auto txn_or = ctx_->store->Begin(inline_ledger ? "seal+apply" : "seal");
    if (!txn_or.ok()) {
      pending_in_store_ = true;
      return txn_or.status();
    }
    WriteTxn& txn = **txn_or;
    auto fail = [&](Status st) {
      pending_in_store_ = true;  // not known any more: look next time
      return st;                 // the transaction rolls back as it ends
    };
    std::vector<ProposalRow*> fresh;
    if (Status st = PersistIntake(txn, intake, &fresh); !st.ok()) return fail(st);
    // Proposals stored by an earlier round (more than one batch held, or
    // before a restart) go first; then this round's, which are written
    // once, already sealed, as long as the batch has room (inline: all of
    // them, as they are applied at once and never stored in flight).
    const size_t max = ctx_->opts.batch_max;
    std::vector<ProposalRow> stored;
    if (pending_in_store_) {
      auto pending = txn.PendingProposals(max);
      if (!pending.ok()) return fail(pending.status());
      stored = std::move(pending).value();
    }
    size_t room = inline_ledger ? fresh.size() : max - stored.size();
    for (size_t i = room; i < fresh.size(); ++i)
      if (Status st = txn.InsertProposal(*fresh[i]); !st.ok()) return fail(st);
    bool overflow = stored.size() == max || fresh.size() > room;
    fresh.resize(std::min(fresh.size(), room));
    std::vector<std::pair<ProposalRow*, bool>> to_seal;  // proposal, stored earlier
    for (auto& p : stored) to_seal.emplace_back(&p, true);
    for (ProposalRow* p : fresh) to_seal.emplace_back(p, false);
    if (to_seal.empty() && !inline_tick) {
      if (Status st = txn.Commit(); !st.ok()) return fail(st);
      pending_in_store_ = false;
      return Status::Ok();
    }
    // Built aside: *sealed gets it only once the transaction commits, so a
    // batch whose rows were rolled back is never submitted.
    // (Inline, a tick with nothing to seal orders this batch with no pins.)
    chain::Batch batch = TickBatch();
    std::map<std::string, Applier::Own> own;
    for (auto& [p_ptr, was_stored] : to_seal) {
      ProposalRow& p = *p_ptr;
      std::string salt;
      if (p.kind == ProposalKind::kStart) {
        salt = p.extra.salt_hex;
      } else {
        auto keys = keys_->Of(txn, p.instance);
        if (!keys.ok()) return fail(keys.status());
        if (*keys != nullptr) salt = (*keys)->salt_hex;
      }
      // The nonce is spent here, with the seal.
      auto nonce = nonces_->Spend(txn, p.instance, p.author);
      if (!nonce.ok()) return fail(nonce.status());
      p.nonce = *nonce;
      Digest pin = Pin(salt, p.author, p.nonce);
      p.pin_hex = ToHex(pin);
      p.status = ProposalStatus::kSealed;
      p.batch = batch.id;
      // Members get the signed proposal from the outbox, written in this
      // same transaction: sealed and sent, or neither.
      if (members_ != nullptr)
        if (Status st = members_->SendProposal(txn, &p); !st.ok()) return fail(st);
      if (!inline_ledger) {
        Status st = was_stored ? txn.UpdateProposal(p) : txn.InsertProposal(p);
        // The first pin of a new instance: known to us because we hold the
        // salt (the applier expects every later one).
        if (st.ok() && p.kind == ProposalKind::kStart) st = txn.ExpectPin(p.pin_hex, p.instance, p.author, p.nonce);
        if (!st.ok()) return fail(st);
      }
      batch.pins.push_back(pin);
      // Unique-key claims sit right after their step's pin (unique_claims.h).
      for (const auto& c : p.extra.claims) batch.pins.push_back(c);
      own[p.pin_hex] = Applier::Own{&p, was_stored};
    }
    if (inline_ledger) {
      // Ordered and applied now, in this transaction.
      block = inline_ledger->Next(batch);
      if (Status st = txn.AppendBlock(block); !st.ok()) return fail(st);
      if (Status st = applier_->ApplyBlock(txn, block, &own, &applied, &ours); !st.ok()) return fail(st);
    } else {
      if (Status st = txn.InsertBatch(batch); !st.ok()) return fail(st);
      if (members_ != nullptr)
        if (Status st = members_->Flush(txn); !st.ok()) return fail(st);
    }
    if (Status st = txn.Commit(); !st.ok()) return fail(st);
    pending_in_store_ = overflow;
    if (!inline_ledger) *sealed = std::move(batch);  // to submit; inline: ordered already
  }
  if (inline_ledger) {
    inline_ledger->Committed(block);
    ctx_->metrics()->BlocksCommitted(
        std::chrono::duration<double>(std::chrono::steady_clock::now() - began).count());
    applier_->Published(&applied, ours);
  }
  return Status::Ok();
}

Status Batcher::SubmitUnsent() {
  if (!unsent_loaded_) {
    // After a restart: batches sealed before it that no applied block held.
    // The store holds every one, in sealing order, including any sealed
    // since this process started.
    TREATY_ASSIGN_OR_RETURN(auto txn, ctx_->store->Begin("load batches"));
    TREATY_ASSIGN_OR_RETURN(unsent_, txn->UnorderedBatches(ctx_->party()));
    TREATY_RETURN_IF_ERROR(txn->Commit());
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

}  // namespace treaty::engine
