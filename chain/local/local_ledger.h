// LocalLedger: the embedded ledger of a single node, the default. It
// orders inline (chain::InlineLedger): the node seals a batch, takes the
// block that orders it and applies it in one transaction of its own store,
// which keeps the blocks (BlockLog); so a step costs one commit, and a
// crash leaves either the block and its effects or neither. Blocks are
// hash-chained and ledger time never goes back; heights and hashes survive
// restarts with the store.
//
// Thread-safety: Next and Committed from one thread at a time (the node's
// writer); Height, WaitForHeight, Read, Describe from any thread.
#pragma once

#include <condition_variable>
#include <memory>
#include <mutex>
#include <set>
#include <string>

#include "chain/ledger.h"
#include "definitions/base/env.h"

namespace treaty::chain {

class LocalLedger final : public Ledger, public InlineLedger {
 public:
  // Continues from the log's last block. `clock` stamps blocks.
  static Result<std::unique_ptr<LocalLedger>> Open(BlockLog* log, Clock* clock, std::string describe);

  InlineLedger* Inline() override { return this; }
  Block Next(const Batch& batch) override;
  void Committed(const Block& b) override;

  // Orders a batch outside a node's transaction, as a block of its own
  // (idempotent by batch id within this process; the node orders inline).
  Status Submit(const Batch& batch) override;
  Result<std::vector<Block>> Read(uint64_t from, size_t max) override;
  uint64_t Height() override;
  uint64_t WaitForHeight(uint64_t after, std::chrono::milliseconds timeout) override;
  std::string Describe() const override { return describe_; }

 private:
  LocalLedger(BlockLog* log, Clock* clock, std::string describe)
      : log_(log), clock_(clock), describe_(std::move(describe)) {}
  BlockLog* log_;
  Clock* clock_;
  std::string describe_;
  std::mutex mu_;
  std::condition_variable grew_;
  uint64_t height_ = 0;
  int64_t last_time_ms_ = 0;
  Digest last_hash_{};
  std::set<std::string> submitted_;  // batch ids Submit ordered
};

}  // namespace treaty::chain
