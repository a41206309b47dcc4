#include "engine/instance_cache.h"

#include <utility>

namespace treaty::engine {

std::shared_ptr<const InstanceRow> InstanceCache::Get(const std::string& id) const {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = rows_.find(id);
  return it == rows_.end() ? nullptr : it->second;
}

void InstanceCache::Publish(std::shared_ptr<const InstanceRow> row) {
  if (!row || capacity_ == 0) return;
  std::lock_guard<std::mutex> lock(mu_);
  auto it = rows_.find(row->id);
  if (it != rows_.end()) {
    if (it->second->position > row->position) return;  // published out of order: keep the later
    if (row->final) {
      rows_.erase(it);  // its id stays in order_ until evicted: harmless
    } else {
      it->second = std::move(row);
    }
    return;
  }
  if (row->final) return;
  order_.push_back(row->id);
  rows_.emplace(row->id, std::move(row));
  // Ids of rows that left (final) stay in order_, so it is bounded too. An
  // id cached again after leaving may sit in order_ twice; dropping the row
  // at the first is an early eviction, not a wrong row.
  while ((rows_.size() > capacity_ || order_.size() > 2 * capacity_) && !order_.empty()) {
    rows_.erase(order_.front());
    order_.pop_front();
  }
}

size_t InstanceCache::size() const {
  std::lock_guard<std::mutex> lock(mu_);
  return rows_.size();
}

}  // namespace treaty::engine
