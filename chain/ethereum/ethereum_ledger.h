// EthereumLedger: the Ledger of a node on an `ethereum` network: the pin
// contract (chain/ethereum/TreatyPins.sol) on any EVM chain, reached over
// JSON-RPC. docs/protocol.md, "The ethereum ledger".
//
// Submitting: a batch becomes one pinBatch transaction, signed with the
// party's key (its Ethereum account), written to the TxJournal before it
// is sent, and from then on the ledger's own business: a sender thread
// resends it while the chain does not know it, bumps its fee when it waits
// too long, and moves it to a new nonce only if another transaction of the
// account took its nonce. The batch and its pins never change.
//
// Reading: ledger height h is the chain's block start_block + h - 1 (the
// block that created the contract is height 1), served only once
// `confirmations` blocks lie on top of it. A block's batches are its
// BatchPin events in log order; a block's time is its timestamp. Each
// block served must link to the one served before it (or, after a
// restart, to the one the node applied last): if the chain re-organised
// deeper than the confirmation depth, reading stops with DataLoss rather
// than apply a second history. Events from accounts that are not members
// of the network file, or whose batch hash does not match their pins, are
// logged and ignored.
//
// An unreachable endpoint, a wrong chain or an account without funds is
// reported by Health() and logged once per change; nothing is lost: the
// journal keeps what is to send, and reading resumes where it stopped.
//
// Thread-safety: all methods may be called concurrently.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include "chain/ethereum/eth_api.h"
#include "chain/ethereum/json_rpc.h"
#include "chain/ethereum/pin_contract.h"
#include "chain/ethereum/tx_journal.h"
#include "chain/ledger.h"
#include "chain/network.h"
#include "definitions/base/signing_key.h"

namespace treaty::chain {

class EthereumLedger final : public Ledger {
 public:
  struct Options {
    std::string rpc_url;       // http://HOST:PORT
    std::string journal_path;  // <data>/ethereum.db
    std::chrono::milliseconds head_poll{100};
    std::chrono::milliseconds resend_every{500};
    // A transaction the chain knows but has not mined after this many
    // blocks is signed again with a higher fee (same nonce, same batch).
    uint64_t bump_after_blocks = 4;
    size_t max_blocks_per_read = 64;
  };

  // Fails only on local problems (journal, network file, contract build);
  // an unreachable endpoint is a health state, not a start failure.
  static Result<std::unique_ptr<EthereumLedger>> Open(Options options, Network network,
                                                      const crypto::SigningKey* signer);
  ~EthereumLedger() override;

  Status Submit(const Batch& batch) override;
  Result<std::vector<Block>> Read(uint64_t from, size_t max) override;
  uint64_t Height() override;
  uint64_t WaitForHeight(uint64_t after, std::chrono::milliseconds timeout) override;
  std::string Describe() const override;
  void TrustFrom(uint64_t height, const Digest& hash) override;
  LedgerHealth Health() override;

 private:
  EthereumLedger() = default;
  // Chain id checked, journal bound, next nonce known. Caller holds mu_.
  Status EnsureReady();
  // Polls the head if the last poll is older than `max_age`.
  void RefreshHead(std::chrono::milliseconds max_age);
  uint64_t ConfirmedHeight() const;
  Result<eth::U256> GasPrice();
  Result<eth::JournalTx> Sign(const std::string& batch_id, const std::string& data, uint64_t nonce,
                              const eth::U256& gas_price, uint64_t gas_limit, size_t pins);
  // Sends the signed bytes; false only when the chain refuses them as
  // priced below its base fee (the caller signs again at today's price).
  bool Send(const eth::JournalTx& tx);
  // Signs an underpriced row again at the chain's current price. Caller
  // holds mu_.
  void Reprice(eth::JournalTx row, const std::string& why);
  // Signs the row's batch again (new nonce, fee or gas), journals, sends.
  // Caller holds mu_.
  void Resign(eth::JournalTx row, uint64_t nonce, const eth::U256& gas_price, uint64_t gas_limit);
  void SenderLoop();
  void ResendPass();
  void NoteError(const std::string& what);
  void NoteOk(const std::string& area);

  Options opts_;
  Network network_;
  EthereumInfo info_;
  const eth::PinContract* contract_ = nullptr;
  std::unique_ptr<eth::JsonRpcClient> rpc_;
  std::unique_ptr<eth::EthApi> api_;
  eth::Secret secret_{};
  std::string account_;  // 20 bytes
  std::map<std::string, std::string> member_by_account_;

  std::mutex mu_;  // journal_, next_nonce_, ready_, gas price cache
  eth::TxJournal journal_;
  bool ready_ = false;
  uint64_t next_nonce_ = 0;
  eth::U256 gas_price_{};
  std::chrono::steady_clock::time_point gas_price_at_{};
  uint64_t tick_head_ = 0;

  std::mutex sent_mu_;
  std::map<std::string, std::chrono::steady_clock::time_point> last_sent_;  // batch id -> last send

  std::mutex head_mu_;  // serialises head polls
  std::atomic<uint64_t> head_{0};
  std::atomic<bool> head_known_{false};
  std::chrono::steady_clock::time_point head_at_{};

  std::mutex read_mu_;
  std::map<uint64_t, Digest> served_;  // ledger height -> block hash, recent

  std::mutex health_mu_;
  std::string error_;             // current problem, empty when fine
  std::map<std::string, std::string> errors_by_area_;
  eth::U256 balance_{};
  std::atomic<uint64_t> pending_{0};

  std::mutex stop_mu_;
  std::condition_variable stop_cv_;
  bool stop_ = false;
  std::thread sender_;
};

}  // namespace treaty::chain
