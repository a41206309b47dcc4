#include "chain/memory/memory_ledger.h"

#include <algorithm>

namespace treaty::chain {

class MemoryLedger::View final : public Ledger {
 public:
  View(MemoryLedger* l, std::string name) : l_(l), name_(std::move(name)) {}
  Status Submit(const Batch& batch) override { return l_->Submit(batch); }
  Result<std::vector<Block>> Read(uint64_t from, size_t max) override { return l_->Read(name_, from, max); }
  uint64_t Height() override { return l_->HeightFor(name_); }
  uint64_t WaitForHeight(uint64_t after, std::chrono::milliseconds timeout) override {
    return l_->WaitFor(name_, after, timeout);
  }
  std::string Describe() const override { return "memory:" + name_; }

 private:
  MemoryLedger* l_;
  std::string name_;
};

MemoryLedger::MemoryLedger(Clock* clock) : clock_(clock) {}
MemoryLedger::~MemoryLedger() = default;

Ledger* MemoryLedger::Reader(const std::string& name) {
  std::lock_guard<std::mutex> lock(mu_);
  auto& v = views_[name];
  if (!v) v = std::make_unique<View>(this, name);
  return v.get();
}

void MemoryLedger::CutLocked(std::vector<Batch> batches) {
  Block b;
  b.height = blocks_.size() + 1;
  b.time_ms = std::max(clock_->NowMs(), blocks_.empty() ? int64_t{0} : blocks_.back().time_ms);
  if (!blocks_.empty()) b.prev_hash = blocks_.back().hash;
  b.batches = std::move(batches);
  for (const auto& batch : b.batches) batch_heights_[batch.id] = b.height;
  b.hash = BlockHash(b);
  blocks_.push_back(std::move(b));
}

Status MemoryLedger::Submit(const Batch& batch) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (batch_heights_.count(batch.id)) return Status::Ok();
    if (held_) {
      batch_heights_[batch.id] = 0;
      waiting_.push_back(batch);
      return Status::Ok();
    }
    CutLocked({batch});
  }
  grew_.notify_all();
  return Status::Ok();
}

void MemoryLedger::Hold() {
  std::lock_guard<std::mutex> lock(mu_);
  held_ = true;
}

size_t MemoryLedger::Waiting() {
  std::lock_guard<std::mutex> lock(mu_);
  return waiting_.size();
}

void MemoryLedger::Release(bool one_block) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    held_ = false;
    std::vector<Batch> waiting;
    waiting.swap(waiting_);
    if (one_block && !waiting.empty()) {
      CutLocked(std::move(waiting));
    } else {
      for (auto& b : waiting) CutLocked({std::move(b)});
    }
  }
  grew_.notify_all();
}

void MemoryLedger::Delay(const std::string& reader, bool delayed) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    Faults& f = faults_[reader];
    f.delayed = delayed;
    f.frozen_height = blocks_.size();
  }
  grew_.notify_all();
}

void MemoryLedger::DropNext(const std::string& reader) {
  std::lock_guard<std::mutex> lock(mu_);
  faults_[reader].drop = true;
}

void MemoryLedger::DuplicateNext(const std::string& reader) {
  std::lock_guard<std::mutex> lock(mu_);
  faults_[reader].duplicate = true;
}

void MemoryLedger::ReorderNext(const std::string& reader) {
  std::lock_guard<std::mutex> lock(mu_);
  faults_[reader].reorder = true;
}

std::vector<Block> MemoryLedger::Blocks() {
  std::lock_guard<std::mutex> lock(mu_);
  return blocks_;
}

uint64_t MemoryLedger::Height() {
  std::lock_guard<std::mutex> lock(mu_);
  return blocks_.size();
}

uint64_t MemoryLedger::HeightFor(const std::string& reader) {
  std::lock_guard<std::mutex> lock(mu_);
  const Faults& f = faults_[reader];
  return f.delayed ? f.frozen_height : blocks_.size();
}

uint64_t MemoryLedger::WaitFor(const std::string& reader, uint64_t after, std::chrono::milliseconds timeout) {
  std::unique_lock<std::mutex> lock(mu_);
  auto visible = [&] {
    const Faults& f = faults_[reader];
    return f.delayed ? f.frozen_height : blocks_.size();
  };
  grew_.wait_for(lock, timeout, [&] { return visible() > after; });
  return visible();
}

Result<std::vector<Block>> MemoryLedger::Read(const std::string& reader, uint64_t from, size_t max) {
  std::lock_guard<std::mutex> lock(mu_);
  Faults& f = faults_[reader];
  uint64_t end = f.delayed ? f.frozen_height : blocks_.size();
  std::vector<Block> out;
  for (uint64_t h = std::max<uint64_t>(from, 1); h <= end && out.size() < max; ++h) out.push_back(blocks_[h - 1]);
  if (!out.empty() && f.drop) {
    out.erase(out.begin());
    f.drop = false;
  }
  if (!out.empty() && f.duplicate) {
    out.insert(out.begin(), out.front());
    f.duplicate = false;
  }
  if (out.size() >= 2 && f.reorder) {
    std::swap(out[0], out[1]);
    f.reorder = false;
  }
  return out;
}

}  // namespace treaty::chain
