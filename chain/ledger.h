// Ledger: the ordering layer every party follows. Members submit batches
// of pins; the ledger orders them into blocks; every member reads the same
// blocks in the same order from any height. Implementations: `local`
// (embedded, chain/local), `sequencer` (chain/sequencer), and for tests an
// in-memory ledger with faults (chain/memory), and `ethereum`
// (chain/ethereum, a pin contract on an EVM chain).
//
// Thread-safety: all methods may be called concurrently.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "definitions/base/sha256.h"
#include "definitions/base/status.h"

namespace treaty::chain {

// A sealed batch: its pins are masked hashes, meaningless to outsiders.
struct Batch {
  std::string id;      // unique; a resubmitted batch is not ordered twice
  std::string author;  // submitting party
  std::vector<Digest> pins;
  std::string signature;  // hex, the author's over BatchDigest; empty on `local`
};

struct Block {
  uint64_t height = 0;  // from 1
  int64_t time_ms = 0;  // the ledger's timestamp: chain.time for every pin in it
  Digest prev_hash{};
  Digest hash{};        // sha256(prev_hash, height, time, batches)
  std::vector<Batch> batches;
  std::string signature;  // hex, the sequencer's over `hash`; empty on `local`
};

// An ordering a node does itself, the moment it seals a batch: the
// embedded `local` ledger of a single node. The node seals a batch, takes
// the block that orders it from Next, and applies it in one transaction of
// its own store, which keeps the blocks (BlockLog); Committed then moves
// the ledger on. Called by one thread at a time (the node's writer).
class InlineLedger {
 public:
  virtual ~InlineLedger() = default;
  // The block that orders `batch` next; nothing changes until Committed.
  virtual Block Next(const Batch& batch) = 0;
  // The transaction that stored `b` committed: it is the ledger's tip.
  virtual void Committed(const Block& b) = 0;
};

// Where an embedded ledger's blocks are kept: the node's own store.
class BlockLog {
 public:
  virtual ~BlockLog() = default;
  virtual Result<std::vector<Block>> ReadBlocks(uint64_t from, size_t max) = 0;
  virtual Result<std::optional<Block>> LastBlock() = 0;
  // Stores one block in a transaction of its own (Ledger::Submit).
  virtual Status Append(const Block& b) = 0;
};

// What an operator needs to see of the ledger beyond heights (`treaty
// status`): whether it answers, and the chain's facts where there is a
// chain. Fields a ledger does not have stay empty or zero.
struct LedgerHealth {
  bool reachable = true;
  std::string error;  // the last problem, e.g. unreachable or out of funds; empty when fine
  uint64_t chain_id = 0;
  std::string contract;       // 0x-hex
  std::string account;        // 0x-hex: this node's account
  std::string balance_wei;    // decimal
  uint64_t head_block = 0;    // the chain's newest block
  uint64_t confirmed_block = 0;  // the newest block deep enough to apply
  uint64_t confirmations = 0;
  uint64_t pending_transactions = 0;  // sent, not yet in a confirmed block
};

class Ledger {
 public:
  virtual ~Ledger() = default;
  // A ledger that orders inline (the embedded one) says so here.
  virtual InlineLedger* Inline() { return nullptr; }
  // Orders the batch. Idempotent by batch id: OK if the ledger already has it.
  virtual Status Submit(const Batch& batch) = 0;
  // Blocks with height >= from, at most max of them, in order.
  virtual Result<std::vector<Block>> Read(uint64_t from, size_t max) = 0;
  virtual uint64_t Height() = 0;
  // Waits until Height() > after or the timeout passes; returns Height().
  virtual uint64_t WaitForHeight(uint64_t after, std::chrono::milliseconds timeout) = 0;
  virtual std::string Describe() const = 0;
  virtual LedgerHealth Health() { return LedgerHealth{}; }
  // The block the reader applied last, from its own records: a ledger that
  // checks links (sequencer) makes the next block link to it, so a restart
  // cannot be served another history. Default: nothing to check.
  virtual void TrustFrom(uint64_t height, const Digest& hash) {
    (void)height;
    (void)hash;
  }
};

Digest BlockHash(const Block& b);
// What a batch's author signs: sha256 of fields "treaty.batch.v1", id,
// author, number of pins, pins (raw, unframed). docs/protocol.md.
Digest BatchDigest(const Batch& b);

}  // namespace treaty::chain
