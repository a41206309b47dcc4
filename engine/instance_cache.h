// InstanceCache: the latest committed row of recently applied instances,
// kept in memory so the preflight of a new step does not read the store.
//
// Only the applier fills it, after the block that wrote the rows committed;
// a row never replaces one of a later position, and a final instance (no
// step can follow) leaves it. A miss means "read the store": the cache is
// never the only copy and never consulted by the applier itself, so a row
// that is a moment behind the store can only make a preflight answer as a
// read racing the commit would. Bounded: the oldest entries go first.
//
// Thread-safe: Get from any thread, Publish from the applier.
#pragma once

#include <cstddef>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>

#include "engine/node_store.h"

namespace treaty::engine {

class InstanceCache {
 public:
  explicit InstanceCache(size_t capacity) : capacity_(capacity) {}

  // The row, or null when it is not cached.
  std::shared_ptr<const InstanceRow> Get(const std::string& id) const;

  // The row as a committed block left it.
  void Publish(std::shared_ptr<const InstanceRow> row);

  size_t size() const;

 private:
  const size_t capacity_;
  mutable std::mutex mu_;
  std::unordered_map<std::string, std::shared_ptr<const InstanceRow>> rows_;
  std::deque<std::string> order_;  // ids in the order first cached: eviction
};

}  // namespace treaty::engine
