// TxJournal: the `ethereum` ledger's durable record of the transactions
// this node signed, one per batch, in its own SQLite file beside the
// node's store (<data>/ethereum.db). A transaction is written here, synced,
// before it is sent, so after a crash the node knows every nonce it used
// and resends the very same signed bytes: a batch is never sealed into a
// second transaction while its first may still be mined, and no nonce is
// left as a gap that would stall every later transaction of the account.
// A row leaves the journal once its batch lies in a block the node has
// applied (Prune), not merely mined: until then a restart must find it.
//
// Thread-safety: not thread-safe; the ledger serialises calls.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "chain/ethereum/keccak.h"
#include "chain/ethereum/transaction.h"
#include "definitions/base/sqlite_db.h"
#include "definitions/base/status.h"

namespace treaty::chain::eth {

struct JournalTx {
  std::string batch_id;
  uint64_t nonce = 0;
  std::string data;       // the pinBatch call: what a new signing signs again
  std::string raw;        // the signed transaction as sent
  Hash256 hash{};         // keccak of raw
  std::vector<Hash256> earlier_hashes;  // replaced signings of the same nonce (fee bumps)
  U256 gas_price{};
  uint64_t gas_limit = 0;
  size_t pins = 0;
  uint64_t signed_at_block = 0;  // the head when last (re)signed: how long it has waited
  uint64_t mined_block = 0;      // 0 until a receipt names its block
  bool reverted = false;         // mined, but the contract refused it
};

class TxJournal {
 public:
  Status Open(const std::string& path);
  // Binds the journal to one account and chain; a journal of another
  // account or chain is refused (a copied data folder must not replay
  // someone else's nonces).
  Status Bind(const std::string& account, uint64_t chain_id);

  Result<std::optional<JournalTx>> Find(const std::string& batch_id);
  // Every row, in nonce order.
  Result<std::vector<JournalTx>> All();
  Status Insert(const JournalTx& tx);
  // A fresh signing of the same batch (bumped fee, or a new nonce).
  Status Update(const JournalTx& tx);
  Status SetMined(const std::string& batch_id, uint64_t block, bool reverted);
  // Drops rows mined in blocks below `block` (applied by the node).
  Status Prune(uint64_t below_block);
  // The highest nonce used, if any.
  Result<std::optional<uint64_t>> MaxNonce();

 private:
  Db db_;
};

}  // namespace treaty::chain::eth
