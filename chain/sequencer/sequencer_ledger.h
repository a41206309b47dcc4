// SequencerLedger: the Ledger of a node on a `sequencer` network, a client
// of treaty-sequencer over ZeroMQ. Submit signs the batch with the party's
// key and returns once the sequencer has stored it in a block (retried by
// the caller until then; the sequencer dedupes by batch id). Reads are long
// polls; every block is checked before the node sees it: its hash, its
// link to the previous block and the sequencer's signature. A batch whose
// signature is not its author's is emptied (its pins ignored at every
// honest node) and logged.
//
// Thread-safety: all methods may be called concurrently; submissions,
// reads and height queries use separate sockets, each behind its own mutex.
#pragma once

#include <map>
#include <memory>
#include <mutex>

#include "chain/ledger.h"
#include "chain/network.h"
#include "definitions/base/signing_key.h"

namespace treaty::chain {

class SequencerLedger final : public Ledger {
 public:
  // `endpoint` is tcp://HOST:PORT; `network` names the sequencer's key and
  // the members' keys.
  static Result<std::unique_ptr<SequencerLedger>> Connect(const std::string& endpoint, Network network,
                                                          const crypto::SigningKey* signer);
  ~SequencerLedger() override;

  Status Submit(const Batch& batch) override;
  Result<std::vector<Block>> Read(uint64_t from, size_t max) override;
  uint64_t Height() override;
  uint64_t WaitForHeight(uint64_t after, std::chrono::milliseconds timeout) override;
  std::string Describe() const override { return "sequencer:" + endpoint_; }
  void TrustFrom(uint64_t height, const Digest& hash) override;
  LedgerHealth Health() override;

 private:
  struct Conn;
  SequencerLedger() = default;
  Result<std::vector<Block>> Fetch(uint64_t from, size_t max, std::chrono::milliseconds wait);
  Status Check(Block* b);

  std::string endpoint_;
  Network network_;
  const crypto::SigningKey* signer_ = nullptr;
  std::unique_ptr<Conn> submit_, read_, control_;  // control: Height(), never behind a long poll
  std::mutex cache_mu_;
  std::map<uint64_t, Block> cache_;  // checked blocks not yet read
  std::map<uint64_t, Digest> hashes_;  // recent checked hashes, to check links
  uint64_t height_ = 0;
  std::string last_error_;  // of the last height query; empty when it answered
};

}  // namespace treaty::chain
