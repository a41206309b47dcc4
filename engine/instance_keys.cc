#include "engine/instance_keys.h"

namespace treaty::engine {

namespace {

// A bound, not an eviction policy: a miss costs one read.
constexpr size_t kMaxCached = 100000;

}  // namespace

Result<const InstanceKeys::Keys*> InstanceKeys::Of(WriteTxn& txn, const std::string& instance) {
  auto it = keys_.find(instance);
  if (it != keys_.end()) return &it->second;
  TREATY_ASSIGN_OR_RETURN(std::optional<InstanceRow> row, txn.GetInstance(instance));
  if (!row) return static_cast<const Keys*>(nullptr);
  Remember(*row);
  return &keys_[instance];
}

void InstanceKeys::Remember(const InstanceRow& row) {
  if (keys_.size() > kMaxCached) keys_.clear();
  keys_[row.id] = Keys{row.salt_hex, row.def_hash, row.roles};
}

Result<int64_t> NonceBook::Spend(WriteTxn& txn, const std::string& instance, const std::string& author) {
  std::string key = instance + '\n' + author;
  auto it = next_.find(key);
  if (it == next_.end()) {
    TREATY_ASSIGN_OR_RETURN(std::optional<int64_t> last, txn.LastNonce(instance, author));
    if (next_.size() > kMaxCached) next_.clear();
    it = next_.emplace(key, last ? *last + 1 : 0).first;
  }
  return it->second++;
}

void NonceBook::Saw(const std::string& instance, const std::string& author, int64_t nonce) {
  auto it = next_.find(instance + '\n' + author);
  if (it != next_.end() && it->second <= nonce) it->second = nonce + 1;
}

}  // namespace treaty::engine
