#include "engine/instance_cache.h"

#include <utility>

namespace treaty::engine {

size_t InstanceCache::SizeOf(const InstanceRow& r) {
  size_t roles = 0;
  for (const auto& [role, party] : r.roles) roles += role.size() + party.size() + 64;  // a map node each
  // A parsed snapshot (a tree of values) is counted at twice its text.
  size_t parsed = r.snapshot ? 2 * r.snapshot_json.size() : 0;
  return sizeof(InstanceRow) + r.id.size() + r.definition.size() + r.def_hash.size() + r.salt_hex.size() + roles +
         r.snapshot_json.size() + r.states_json.size() + r.data_json.size() + r.state_hash.size() + parsed;
}

std::shared_ptr<const InstanceRow> InstanceCache::Get(const std::string& id) const {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = rows_.find(id);
  return it == rows_.end() ? nullptr : it->second;
}

void InstanceCache::EraseLocked(const std::string& id) {
  auto it = rows_.find(id);
  if (it == rows_.end()) return;
  bytes_ -= SizeOf(*it->second);
  rows_.erase(it);
}

void InstanceCache::Publish(std::shared_ptr<const InstanceRow> row) {
  if (!row) return;
  size_t size = SizeOf(*row);
  std::lock_guard<std::mutex> lock(mu_);
  auto it = rows_.find(row->id);
  bool listed = it != rows_.end();
  if (listed) {
    if (it->second->position > row->position) return;  // published out of order: keep the later
    EraseLocked(row->id);
  }
  if (row->final || size > max_row_bytes_ || size > budget_bytes_) return;  // its id may stay in order_: harmless
  if (!listed) order_.push_back(row->id);
  bytes_ += size;
  rows_.emplace(row->id, std::move(row));
  // Ids of rows that left (final, too large) stay in order_, so it is
  // bounded too. An id cached again after leaving may sit in order_ twice;
  // dropping the row at the first is an early eviction, not a wrong row.
  while ((bytes_ > budget_bytes_ || order_.size() > 2 * rows_.size() + 64) && !order_.empty()) {
    EraseLocked(order_.front());
    order_.pop_front();
  }
}

size_t InstanceCache::size() const {
  std::lock_guard<std::mutex> lock(mu_);
  return rows_.size();
}

size_t InstanceCache::bytes() const {
  std::lock_guard<std::mutex> lock(mu_);
  return bytes_;
}

}  // namespace treaty::engine
