// InstanceCache: the latest committed row of recently applied instances,
// kept in memory so neither the preflight of a new step nor the applier
// reads the store for it.
//
// Rows are published by the Applier as the transaction that wrote them
// commits, with the store's writer lock still held (Applier::Committed):
// so for code holding that lock (the applier) a cached row is never behind
// the store. A row never replaces one of a later position, and a final
// instance (no step can follow) leaves. A miss means "read the store": the
// cache is never the only copy. For the preflight, which reads without the
// lock, a row may be a commit behind: refusals are checked against the store.
//
// Bounded by the bytes of the rows' text: the oldest entries go first, and
// a row larger than a limit is not kept at all.
//
// Thread-safe: every method may be called from any thread.
#pragma once

#include <cstddef>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>

#include "engine/store/node_store.h"

namespace treaty::engine {

class InstanceCache {
 public:
  InstanceCache(size_t budget_bytes, size_t max_row_bytes)
      : budget_bytes_(budget_bytes), max_row_bytes_(max_row_bytes) {}

  // The row, or null when it is not cached.
  std::shared_ptr<const InstanceRow> Get(const std::string& id) const;

  // The row as a committed transaction left it.
  void Publish(std::shared_ptr<const InstanceRow> row);

  size_t size() const;
  size_t bytes() const;

  // What a row counts against the budget.
  static size_t SizeOf(const InstanceRow& r);

 private:
  void EraseLocked(const std::string& id);

  const size_t budget_bytes_, max_row_bytes_;
  mutable std::mutex mu_;
  std::unordered_map<std::string, std::shared_ptr<const InstanceRow>> rows_;
  std::deque<std::string> order_;  // ids in the order first cached: eviction
  size_t bytes_ = 0;
};

}  // namespace treaty::engine
