// ClaimIndex: the unique keys this node has seen won, in memory, over the
// store's append-only `claims` table. A claim is a salted hash, so a
// b-tree keyed by it puts every new claim on a random page: about one WAL
// page per step that claims a key (docs/performance.md). Instead the rows
// are appended (sequential pages) and looked up here, a hash map loaded
// from them when the store opens. Claims a transaction adds join the map
// only when it commits. Memory: ~100 bytes per key ever won.
//
// Thread-safety: Find from any thread; Add and Load by the store's writer
// (its lock held).
#pragma once

#include <cstring>
#include <optional>
#include <shared_mutex>
#include <string>
#include <unordered_map>

#include "definitions/base/sha256.h"

namespace treaty::engine {

struct ClaimOwnerRow {
  std::string instance;
  int64_t height = 0;
};

class ClaimIndex {
 public:
  std::optional<ClaimOwnerRow> Find(const Digest& claim) const {
    std::shared_lock<std::shared_mutex> lock(mu_);
    auto it = map_.find(claim);
    if (it == map_.end()) return std::nullopt;
    return it->second;
  }
  // Keeps the first owner of a claim.
  void Add(const Digest& claim, ClaimOwnerRow owner) {
    std::unique_lock<std::shared_mutex> lock(mu_);
    map_.emplace(claim, std::move(owner));
  }
  size_t size() const {
    std::shared_lock<std::shared_mutex> lock(mu_);
    return map_.size();
  }

 private:
  struct DigestHash {
    size_t operator()(const Digest& d) const {
      size_t h;
      std::memcpy(&h, d.data(), sizeof h);  // a salted hash: its bytes are uniform already
      return h;
    }
  };
  mutable std::shared_mutex mu_;
  std::unordered_map<Digest, ClaimOwnerRow, DigestHash> map_;
};

}  // namespace treaty::engine
