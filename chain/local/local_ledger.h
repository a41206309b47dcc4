// LocalLedger: the embedded ledger for a single node and for tests. Each
// submitted batch becomes the next block, stored in its own SQLite file and
// hash-chained; batching by size and latency happens before, in the node's
// Batcher. Survives restarts: blocks already cut never change.
//
// Thread-safety: all methods may be called concurrently.
#pragma once

#include <condition_variable>
#include <mutex>

#include "chain/ledger.h"
#include "definitions/base/sqlite_db.h"

namespace treaty::chain {

class LocalLedger final : public Ledger {
 public:
  static Result<std::unique_ptr<LocalLedger>> Open(const std::string& path, bool full_sync = true);

  Status Submit(const Batch& batch) override;
  Result<std::vector<Block>> Read(uint64_t from, size_t max) override;
  uint64_t Height() override;
  uint64_t WaitForHeight(uint64_t after, std::chrono::milliseconds timeout) override;
  std::string Describe() const override { return "local:" + path_; }

 private:
  LocalLedger() = default;
  std::mutex mu_;
  std::condition_variable grew_;
  Db db_;
  std::string path_;
  uint64_t height_ = 0;
  int64_t last_time_ms_ = 0;
  Digest last_hash_{};
  Checkpointer checkpointer_;
};

}  // namespace treaty::chain
