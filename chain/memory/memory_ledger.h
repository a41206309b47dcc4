// MemoryLedger: an ordering kept in memory, for in-process tests of nodes.
// Any number of nodes share one; each gets its own reader (a Ledger), so a
// test can fault one member's deliveries without the others': hold every
// submission back and order it later (Hold/Release), delay one reader
// (it sees no new block until undelayed), and drop, duplicate or reorder
// the blocks of a reader's next read. Submit is idempotent by batch id.
//
// Thread-safety: every method may be called from any thread.
#pragma once

#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "chain/ledger.h"
#include "definitions/base/env.h"

namespace treaty::chain {

class MemoryLedger {
 public:
  explicit MemoryLedger(Clock* clock);
  ~MemoryLedger();

  // The Ledger a node named `name` is given; it lives as long as this.
  Ledger* Reader(const std::string& name);

  // While held, submitted batches wait unordered; Release orders them in
  // submission order, each as a block of its own or all in one block.
  void Hold();
  void Release(bool one_block = false);
  size_t Waiting();  // batches submitted while held

  // Faults of one reader's deliveries.
  void Delay(const std::string& reader, bool delayed);  // sees no new block while delayed
  void DropNext(const std::string& reader);       // the next read skips its first block (a gap)
  void DuplicateNext(const std::string& reader);  // the next read delivers its first block twice
  void ReorderNext(const std::string& reader);    // the next read swaps its first two blocks

  std::vector<Block> Blocks();
  uint64_t Height();

 private:
  class View;
  struct Faults {
    bool delayed = false, drop = false, duplicate = false, reorder = false;
    uint64_t frozen_height = 0;  // what a delayed reader sees
  };
  void CutLocked(std::vector<Batch> batches);
  Status Submit(const Batch& b);
  Result<std::vector<Block>> Read(const std::string& reader, uint64_t from, size_t max);
  uint64_t HeightFor(const std::string& reader);
  uint64_t WaitFor(const std::string& reader, uint64_t after, std::chrono::milliseconds timeout);

  Clock* clock_;
  std::mutex mu_;
  std::condition_variable grew_;
  std::vector<Block> blocks_;
  std::map<std::string, uint64_t> batch_heights_;  // batch id -> height, or 0 while held
  bool held_ = false;
  std::vector<Batch> waiting_;
  std::map<std::string, Faults> faults_;
  std::map<std::string, std::unique_ptr<View>> views_;
};

}  // namespace treaty::chain
