#include "chain/local/local_ledger.h"

namespace treaty::chain {

Result<std::unique_ptr<LocalLedger>> LocalLedger::Open(BlockLog* log, Clock* clock, std::string describe) {
  std::unique_ptr<LocalLedger> l(new LocalLedger(log, clock, std::move(describe)));
  TREATY_ASSIGN_OR_RETURN(std::optional<Block> last, log->LastBlock());
  if (last) {
    l->height_ = last->height;
    l->last_time_ms_ = last->time_ms;
    l->last_hash_ = last->hash;
  }
  return l;
}

Block LocalLedger::Next(const Batch& batch) {
  std::lock_guard<std::mutex> lock(mu_);
  Block b;
  b.height = height_ + 1;
  b.time_ms = std::max(clock_->NowMs(), last_time_ms_);  // ledger time never goes back
  b.prev_hash = last_hash_;
  b.batches.push_back(batch);
  b.hash = BlockHash(b);
  return b;
}

void LocalLedger::Committed(const Block& b) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    height_ = b.height;
    last_time_ms_ = b.time_ms;
    last_hash_ = b.hash;
  }
  grew_.notify_all();
}

Status LocalLedger::Submit(const Batch& batch) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (submitted_.count(batch.id)) return Status::Ok();
  }
  Block b = Next(batch);
  TREATY_RETURN_IF_ERROR(log_->Append(b));
  {
    std::lock_guard<std::mutex> lock(mu_);
    submitted_.insert(batch.id);
  }
  Committed(b);
  return Status::Ok();
}

Result<std::vector<Block>> LocalLedger::Read(uint64_t from, size_t max) { return log_->ReadBlocks(from, max); }

uint64_t LocalLedger::Height() {
  std::lock_guard<std::mutex> lock(mu_);
  return height_;
}

uint64_t LocalLedger::WaitForHeight(uint64_t after, std::chrono::milliseconds timeout) {
  std::unique_lock<std::mutex> lock(mu_);
  grew_.wait_for(lock, timeout, [&] { return height_ > after; });
  return height_;
}

}  // namespace treaty::chain
