// InstanceKeys: what never changes once an instance has started — its
// salt, roles and definition hash — cached for the writer, which needs
// them for every pin it makes or recognises. A miss reads the store
// through the caller's transaction; an abandoned transaction empties the
// cache (a row it read may be gone).
//
// Thread-safety: writer-side: call only with a WriteTxn open (the store's
// writer lock held).
#pragma once

#include <map>
#include <string>
#include <unordered_map>

#include "engine/store/node_store.h"

namespace treaty::engine {

class InstanceKeys final : public TxnObserver {
 public:
  struct Keys {
    std::string salt_hex, def_hash;
    std::map<std::string, std::string> roles;
  };
  // The instance's keys, or null if the store has no such instance.
  Result<const Keys*> Of(WriteTxn& txn, const std::string& instance);
  // A row the caller has at hand (just inserted or read).
  void Remember(const InstanceRow& row);

  void Abandoned() override { keys_.clear(); }

 private:
  std::unordered_map<std::string, Keys> keys_;
};

// NonceBook: the next nonce of an author's proposals in an instance, for
// the batcher that seals them. A nonce is spent when the proposal that
// carries it is stored sealed (or, inline, applied) — the store's rows are
// the record, this is their index in memory. A miss reads the highest
// nonce the store holds for that author and instance.
//
// Thread-safety: writer-side, like InstanceKeys.
class NonceBook final : public TxnObserver {
 public:
  // The nonce the author's next proposal in the instance takes; spends it.
  Result<int64_t> Spend(WriteTxn& txn, const std::string& instance, const std::string& author);
  // A proposal of `author` with `nonce` was applied (it may have reached
  // us from a member): later ones take higher nonces.
  void Saw(const std::string& instance, const std::string& author, int64_t nonce);

  void Abandoned() override { next_.clear(); }

 private:
  std::unordered_map<std::string, int64_t> next_;  // instance + '\n' + author -> next nonce
};

}  // namespace treaty::engine
