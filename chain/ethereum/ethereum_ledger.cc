#include "chain/ethereum/ethereum_ledger.h"

#include <algorithm>
#include <cstdio>
#include <set>

#include "definitions/base/sha256.h"
#include "definitions/base/env.h"

namespace treaty::chain {

namespace {

using Clock = std::chrono::steady_clock;

std::string Hex0x(std::string_view raw) {
  return "0x" + ToHex(reinterpret_cast<const uint8_t*>(raw.data()), raw.size());
}

// The tip over the base fee a pin transaction offers (1 gwei, geth's
// default suggestion).
constexpr uint64_t kPriorityFeeWei = 1'000'000'000;

// Through the process's logger: its timestamp and format (docs/operations.md).
void Log(const std::string& line) { Env::Default()->Log("ethereum", line); }

}  // namespace

Result<std::unique_ptr<EthereumLedger>> EthereumLedger::Open(Options options, Network network,
                                                             const crypto::SigningKey* signer) {
  if (!network.ethereum)
    return Status::FailedPrecondition(
        "the network file has no ethereum section (chain_id, contract, start_block): deploy the pin contract first");
  if (signer == nullptr) return Status::InvalidArgument("the ethereum ledger needs the party's key");
  std::unique_ptr<EthereumLedger> l(new EthereumLedger());
  l->opts_ = std::move(options);
  l->network_ = std::move(network);
  l->info_ = *l->network_.ethereum;
  TREATY_ASSIGN_OR_RETURN(l->contract_, eth::PinContract::Get());
  std::string secret;
  if (!FromHex(signer->SecretHex(), &secret) || secret.size() != l->secret_.size())
    return Status::Internal("the party's secret key is not 32 bytes");
  std::copy(secret.begin(), secret.end(), l->secret_.begin());
  TREATY_ASSIGN_OR_RETURN(l->account_, eth::AddressOf(l->secret_));
  for (const auto& m : l->network_.members) {
    TREATY_ASSIGN_OR_RETURN(std::string a, eth::AddressOfPublicKey(m.signing_key));
    l->member_by_account_[a] = m.name;
  }
  TREATY_RETURN_IF_ERROR(l->journal_.Open(l->opts_.journal_path));
  l->rpc_ = std::make_unique<eth::JsonRpcClient>(l->opts_.rpc_url);
  l->api_ = std::make_unique<eth::EthApi>(l->rpc_.get());
  {
    auto all = l->journal_.All();
    if (!all.ok()) return all.status();
    l->pending_ = all->size();
  }
  l->sender_ = std::thread([p = l.get()] { p->SenderLoop(); });
  return l;
}

EthereumLedger::~EthereumLedger() {
  {
    std::lock_guard<std::mutex> lock(stop_mu_);
    stop_ = true;
  }
  stop_cv_.notify_all();
  if (sender_.joinable()) sender_.join();
}

std::string EthereumLedger::Describe() const {
  return "ethereum:" + opts_.rpc_url + " (chain " + std::to_string(info_.chain_id) + ", contract " +
         Hex0x(info_.contract) + ")";
}

void EthereumLedger::NoteError(const std::string& what) {
  std::lock_guard<std::mutex> lock(health_mu_);
  if (error_ != what) Log(what);
  error_ = what;
}

void EthereumLedger::NoteOk(const std::string& area) {
  std::lock_guard<std::mutex> lock(health_mu_);
  if (!error_.empty() && error_.rfind(area, 0) == 0) {
    Log(area + ": fine again (was: " + error_ + ")");
    error_.clear();
  }
}

Status EthereumLedger::EnsureReady() {
  if (ready_) return Status::Ok();
  auto id = api_->ChainId();
  if (!id.ok()) {
    NoteError("rpc: the endpoint " + opts_.rpc_url + " does not answer: " + id.status().message());
    return Status::Unavailable("the Ethereum endpoint " + opts_.rpc_url + " does not answer: " + id.status().message());
  }
  if (*id != info_.chain_id) {
    std::string m = "chain: the endpoint " + opts_.rpc_url + " serves chain " + std::to_string(*id) +
                    ", the network file names chain " + std::to_string(info_.chain_id);
    NoteError(m);
    return Status::FailedPrecondition(m);
  }
  TREATY_RETURN_IF_ERROR(journal_.Bind(account_, info_.chain_id));
  auto count = api_->TransactionCount(account_, "latest");
  if (!count.ok()) return Status::Unavailable("reading the account's nonce: " + count.status().message());
  TREATY_ASSIGN_OR_RETURN(auto max_nonce, journal_.MaxNonce());
  // Journaled transactions keep their nonces (they are resent as they are);
  // the next one follows whichever is higher.
  next_nonce_ = std::max(*count, max_nonce ? *max_nonce + 1 : 0);
  ready_ = true;
  NoteOk("rpc");
  NoteOk("chain");
  return Status::Ok();
}

void EthereumLedger::RefreshHead(std::chrono::milliseconds max_age) {
  std::lock_guard<std::mutex> lock(head_mu_);
  if (head_known_ && Clock::now() - head_at_ < max_age) return;
  auto n = api_->BlockNumber();
  head_at_ = Clock::now();
  if (!n.ok()) {
    NoteError("rpc: the endpoint " + opts_.rpc_url + " does not answer: " + n.status().message());
    return;
  }
  NoteOk("rpc");
  // A chain that went backwards (a restarted dev chain, a re-org) does not
  // lower what was already served; Read checks the links.
  head_ = *n;
  head_known_ = true;
}

uint64_t EthereumLedger::ConfirmedHeight() const {
  if (!head_known_) return 0;
  uint64_t head = head_;
  if (head < info_.confirmations) return 0;
  uint64_t confirmed = head - info_.confirmations;
  if (confirmed < info_.start_block) return 0;
  return confirmed - info_.start_block + 1;
}

uint64_t EthereumLedger::Height() {
  RefreshHead(std::chrono::milliseconds(250));
  return ConfirmedHeight();
}

uint64_t EthereumLedger::WaitForHeight(uint64_t after, std::chrono::milliseconds timeout) {
  auto deadline = Clock::now() + timeout;
  while (true) {
    RefreshHead(opts_.head_poll);
    uint64_t h = ConfirmedHeight();
    if (h > after || Clock::now() >= deadline) return h;
    std::unique_lock<std::mutex> lock(stop_mu_);
    if (stop_cv_.wait_for(lock, std::min(opts_.head_poll, std::chrono::duration_cast<std::chrono::milliseconds>(
                                                              deadline - Clock::now())),
                          [&] { return stop_; }))
      return h;
  }
}

void EthereumLedger::TrustFrom(uint64_t height, const Digest& hash) {
  std::lock_guard<std::mutex> lock(read_mu_);
  served_[height] = hash;
}

Result<std::vector<Block>> EthereumLedger::Read(uint64_t from, size_t max) {
  if (from == 0) return Status::InvalidArgument("ledger heights start at 1");
  uint64_t top = ConfirmedHeight();
  if (top < from) return std::vector<Block>();
  uint64_t last = std::min<uint64_t>(top, from + std::min(max, opts_.max_blocks_per_read) - 1);
  uint64_t a = info_.start_block + from - 1, b = info_.start_block + last - 1;
  TREATY_ASSIGN_OR_RETURN(auto headers, api_->Headers(a, b));
  TREATY_ASSIGN_OR_RETURN(auto logs, api_->Logs(info_.contract, contract_->batch_pin_topic(), a, b));
  if (headers.size() != b - a + 1) return Status::DataLoss("the endpoint returned a wrong number of block headers");

  std::lock_guard<std::mutex> lock(read_mu_);
  std::vector<Block> out;
  for (size_t i = 0; i < headers.size(); ++i) {
    const eth::BlockHeader& h = headers[i];
    uint64_t height = from + i;
    if (h.number != a + i) return Status::DataLoss("the endpoint returned block " + std::to_string(h.number) +
                                                   " for block " + std::to_string(a + i));
    Digest parent{};
    std::copy(h.parent_hash.begin(), h.parent_hash.end(), parent.begin());
    if (i > 0) {
      if (h.parent_hash != headers[i - 1].hash)
        return Status::Unavailable("the chain changed while it was read (block " + std::to_string(h.number) +
                                   "); reading again");
    } else if (auto prev = served_.find(height - 1); prev != served_.end() && prev->second != parent) {
      // Below the confirmation depth nothing may change; if it did, two
      // histories exist and the node must not pick one silently.
      std::string m = "chain: block " + std::to_string(h.number) + " no longer follows the block applied at ledger height " +
                      std::to_string(height - 1) + ": the chain re-organised deeper than " +
                      std::to_string(info_.confirmations) + " confirmations; applying stops";
      NoteError(m);
      return Status::DataLoss(m);
    }
    Block blk;
    blk.height = height;
    blk.time_ms = static_cast<int64_t>(h.timestamp) * 1000;
    blk.prev_hash = parent;
    std::copy(h.hash.begin(), h.hash.end(), blk.hash.begin());
    out.push_back(std::move(blk));
  }
  // Logs in chain order; each must come from the block read above.
  std::sort(logs.begin(), logs.end(), [](const eth::LogEntry& x, const eth::LogEntry& y) {
    return x.block_number != y.block_number ? x.block_number < y.block_number : x.log_index < y.log_index;
  });
  for (const auto& lg : logs) {
    if (lg.removed) continue;
    if (lg.block_number < a || lg.block_number > b)
      return Status::DataLoss("eth_getLogs returned a log of block " + std::to_string(lg.block_number) +
                              " outside " + std::to_string(a) + ".." + std::to_string(b));
    if (lg.block_hash != headers[lg.block_number - a].hash)
      return Status::Unavailable("the chain changed while it was read (logs of block " +
                                 std::to_string(lg.block_number) + "); reading again");
    if (lg.address != info_.contract) continue;
    auto ev = contract_->DecodeBatchPin(lg.topics, lg.data);
    std::string where = "block " + std::to_string(lg.block_number) + " log " + std::to_string(lg.log_index);
    if (!ev.ok()) {
      Log(where + ": a malformed BatchPin event is ignored: " + ev.status().message());
      continue;
    }
    auto member = member_by_account_.find(ev->author);
    if (member == member_by_account_.end()) {
      Log(where + ": pins from account " + Hex0x(ev->author) + ", not a member of the network file, are ignored");
      continue;
    }
    Batch batch;
    batch.id = ev->batch_ref;
    batch.author = member->second;
    for (const auto& p : ev->pins) {
      Digest d{};
      std::copy(p.begin(), p.end(), d.begin());
      batch.pins.push_back(d);
    }
    Digest want = BatchDigest(batch);
    if (!std::equal(want.begin(), want.end(), ev->batch_hash.begin())) {
      Log(where + ": batch " + batch.id + " of '" + batch.author + "' does not match its batch hash; ignored");
      continue;
    }
    out[lg.block_number - a].batches.push_back(std::move(batch));
  }
  for (const auto& blk : out) served_[blk.height] = blk.hash;
  while (served_.size() > 1024) served_.erase(served_.begin());
  // Everything below `from` is applied: its transactions are done with.
  {
    std::lock_guard<std::mutex> jl(mu_);
    if (Status st = journal_.Prune(a); !st.ok()) Log("pruning the journal: " + st.ToString());
  }
  return out;
}

Result<eth::U256> EthereumLedger::GasPrice() {
  if (Clock::now() - gas_price_at_ < std::chrono::seconds(1)) return gas_price_;
  // Twice the latest base fee plus a fixed tip: room for the base fee to
  // rise for several full blocks before the transaction waits. Not a
  // multiple of eth_gasPrice: that suggestion follows the prices recent
  // transactions paid, which on a chain carrying mostly our own would feed
  // back and double every round.
  TREATY_ASSIGN_OR_RETURN(auto base, api_->BaseFee());
  if (base) {
    eth::U256 p = eth::MulDiv(*base, 2, 1);
    eth::U256 tip = eth::U256Of(kPriorityFeeWei);
    unsigned carry = 0;
    for (int i = 31; i >= 0; --i) {
      unsigned sum = p[static_cast<size_t>(i)] + tip[static_cast<size_t>(i)] + carry;
      p[static_cast<size_t>(i)] = static_cast<uint8_t>(sum & 0xff);
      carry = sum >> 8;
    }
    gas_price_ = p;
  } else {
    TREATY_ASSIGN_OR_RETURN(gas_price_, api_->GasPrice());  // a chain without base fees prices by itself
  }
  gas_price_at_ = Clock::now();
  return gas_price_;
}

Result<eth::JournalTx> EthereumLedger::Sign(const std::string& batch_id, const std::string& data, uint64_t nonce,
                                           const eth::U256& gas_price, uint64_t gas_limit, size_t pins) {
  eth::LegacyTransaction tx;
  tx.nonce = nonce;
  tx.gas_price = gas_price;
  tx.gas_limit = gas_limit;
  tx.to = info_.contract;
  tx.data = data;
  tx.chain_id = info_.chain_id;
  TREATY_ASSIGN_OR_RETURN(std::string raw, eth::SignLegacy(tx, secret_));
  eth::JournalTx j;
  j.batch_id = batch_id;
  j.nonce = nonce;
  j.data = data;
  j.raw = raw;
  j.hash = eth::Keccak256(raw);
  j.gas_price = gas_price;
  j.gas_limit = gas_limit;
  j.pins = pins;
  j.signed_at_block = head_;
  return j;
}

bool EthereumLedger::Send(const eth::JournalTx& tx) {
  {
    std::lock_guard<std::mutex> lock(sent_mu_);
    last_sent_[tx.batch_id] = Clock::now();
  }
  auto sent = api_->SendRawTransaction(tx.raw);
  if (sent.ok()) {
    NoteOk("funds");
    NoteOk("send");
    return true;
  }
  const std::string& m = sent.status().message();
  std::string lower = m;
  std::transform(lower.begin(), lower.end(), lower.begin(), [](unsigned char c) { return std::tolower(c); });
  // Already known: resending is how a lost transaction comes back, so the
  // node's "already known" is success.
  if (lower.find("already known") != std::string::npos || lower.find("already imported") != std::string::npos) return true;
  if (lower.find("base fee") != std::string::npos || lower.find("underpriced") != std::string::npos ||
      lower.find("fee too low") != std::string::npos)
    return false;
  if (lower.find("insufficient funds") != std::string::npos) {
    auto bal = api_->Balance(account_);
    NoteError("funds: account " + Hex0x(account_) + " cannot pay for its pin transactions (balance " +
              (bal.ok() ? eth::ToDecimal(*bal) : std::string("unknown")) + " wei): " + m +
              "; they are sent again once it can");
    return true;
  }
  if (lower.find("nonce too low") != std::string::npos) return true;  // mined already, or taken: the resend pass decides
  if (sent.status().code() == StatusCode::kUnavailable) {
    NoteError("rpc: the endpoint " + opts_.rpc_url + " does not answer: " + m);
    return true;
  }
  NoteError("send: sending the transaction of batch " + tx.batch_id + " failed: " + m);
  return true;
}

void EthereumLedger::Reprice(eth::JournalTx r, const std::string& why) {
  gas_price_at_ = {};  // the cached price is what the chain just refused
  auto price = GasPrice();
  if (!price.ok()) return;
  eth::U256 use = std::max(eth::MulDiv(r.gas_price, 5, 4), *price);
  Log("the transaction of batch " + r.batch_id + " (nonce " + std::to_string(r.nonce) + ") " + why +
      "; signed again at " + eth::ToDecimal(use) + " wei per gas");
  r.earlier_hashes.push_back(r.hash);
  Resign(r, r.nonce, use, r.gas_limit);
}

Status EthereumLedger::Submit(const Batch& batch) {
  if (batch.pins.empty()) {
    // A tick asks ledger time to move. A chain that makes blocks on a
    // timer moves it by itself; only a chain that mines on transactions
    // (instant mining) needs a pin-less transaction.
    RefreshHead(opts_.head_poll);
    std::lock_guard<std::mutex> lock(mu_);
    if (head_ > tick_head_) {
      tick_head_ = head_;
      return Status::Ok();
    }
  }
  if (batch.pins.size() > eth::PinContract::kMaxPins)
    return Status::InvalidArgument("a batch of " + std::to_string(batch.pins.size()) + " pins is more than the contract takes (" +
                                   std::to_string(eth::PinContract::kMaxPins) + ")");
  if (batch.id.empty() || batch.id.size() > eth::PinContract::kMaxBatchRefBytes)
    return Status::InvalidArgument("a batch id must have 1 to " + std::to_string(eth::PinContract::kMaxBatchRefBytes) + " bytes");
  std::lock_guard<std::mutex> lock(mu_);
  TREATY_RETURN_IF_ERROR(EnsureReady());
  TREATY_ASSIGN_OR_RETURN(auto known, journal_.Find(batch.id));
  if (known) return Status::Ok();  // the sender thread sees it through

  std::vector<eth::Hash256> pins;
  pins.reserve(batch.pins.size());
  for (const auto& p : batch.pins) {
    eth::Hash256 h{};
    std::copy(p.begin(), p.end(), h.begin());
    pins.push_back(h);
  }
  Digest digest = BatchDigest(batch);
  eth::Hash256 batch_hash{};
  std::copy(digest.begin(), digest.end(), batch_hash.begin());
  std::string data = contract_->PinBatchCall(batch_hash, batch.id, pins);
  // The estimate is also the membership check: the contract refuses a
  // non-member here, before any nonce is used.
  auto gas = api_->EstimateGas(account_, info_.contract, data);
  if (!gas.ok()) {
    if (gas.status().code() == StatusCode::kFailedPrecondition) {
      std::string m = "contract: the pin contract " + Hex0x(info_.contract) + " refuses account " + Hex0x(account_) +
                      ": " + gas.status().message();
      NoteError(m);
      return Status::PermissionDenied(m);
    }
    return Status::Unavailable("estimating the pin transaction's gas: " + gas.status().message());
  }
  NoteOk("contract");
  TREATY_ASSIGN_OR_RETURN(eth::U256 price, GasPrice());
  uint64_t limit = *gas + *gas / 4 + 5000;
  TREATY_ASSIGN_OR_RETURN(eth::JournalTx tx, Sign(batch.id, data, next_nonce_, price, limit, batch.pins.size()));
  // On disk before the chain can see it.
  TREATY_RETURN_IF_ERROR(journal_.Insert(tx));
  ++next_nonce_;
  ++pending_;
  if (!Send(tx)) Reprice(tx, "was refused as priced below the chain's base fee");
  return Status::Ok();
}

void EthereumLedger::SenderLoop() {
  auto next_balance = Clock::now();
  while (true) {
    {
      std::unique_lock<std::mutex> lock(stop_mu_);
      if (stop_cv_.wait_for(lock, opts_.resend_every, [&] { return stop_; })) return;
    }
    RefreshHead(opts_.head_poll);
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (!EnsureReady().ok()) continue;
    }
    if (Clock::now() >= next_balance) {
      auto bal = api_->Balance(account_);
      if (bal.ok()) {
        std::lock_guard<std::mutex> lock(health_mu_);
        balance_ = *bal;
      }
      next_balance = Clock::now() + std::chrono::seconds(2);
    }
    ResendPass();
  }
}

void EthereumLedger::ResendPass() {
  std::vector<eth::JournalTx> rows;
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto all = journal_.All();
    if (!all.ok()) {
      Log("reading the journal: " + all.status().ToString());
      return;
    }
    rows = std::move(all).value();
  }
  {
    // Forget send times of batches the journal no longer holds.
    std::set<std::string> live;
    for (const auto& r : rows) live.insert(r.batch_id);
    std::lock_guard<std::mutex> lock(sent_mu_);
    for (auto it = last_sent_.begin(); it != last_sent_.end();)
      it = live.count(it->first) ? std::next(it) : last_sent_.erase(it);
  }
  uint64_t head = head_;
  uint64_t confirmed_evm = head >= info_.confirmations ? head - info_.confirmations : 0;
  size_t pending = 0;
  for (const auto& r : rows)
    if (r.mined_block == 0 || r.mined_block > confirmed_evm || r.reverted) ++pending;
  pending_ = pending;
  if (rows.empty()) return;
  // The count first: a transaction mined after it still shows its receipt
  // below, so "nonce taken and no receipt of ours" is never a race.
  auto count = api_->TransactionCount(account_, "latest");
  if (!count.ok()) return;
  std::vector<eth::Hash256> hashes;
  std::vector<std::pair<size_t, size_t>> span;  // rows[i] -> [begin, end) in hashes
  for (const auto& r : rows) {
    size_t begin = hashes.size();
    hashes.push_back(r.hash);
    hashes.insert(hashes.end(), r.earlier_hashes.begin(), r.earlier_hashes.end());
    span.emplace_back(begin, hashes.size());
  }
  auto receipts = api_->TransactionReceipts(hashes);
  if (!receipts.ok()) return;
  for (size_t i = 0; i < rows.size(); ++i) {
    eth::JournalTx r = rows[i];
    std::optional<eth::Receipt> got;
    for (size_t k = span[i].first; k < span[i].second; ++k)
      if ((*receipts)[k]) got = (*receipts)[k];
    if (got) {
      std::lock_guard<std::mutex> lock(mu_);
      bool reverted = !got->success;
      if (got->block_number != r.mined_block || reverted != r.reverted) {
        if (reverted)
          Log("the transaction of batch " + r.batch_id + " (nonce " + std::to_string(r.nonce) + ") reverted in block " +
              std::to_string(got->block_number));
        (void)journal_.SetMined(r.batch_id, got->block_number, reverted);
      }
      if (!reverted || got->block_number > confirmed_evm) continue;
      // A confirmed revert (out of gas, say) used the nonce and pinned
      // nothing: the same batch goes again under a new nonce with more gas.
      if (r.earlier_hashes.size() >= 8) continue;  // said in the log; an operator looks
      Log("batch " + r.batch_id + " is sent again after its transaction reverted");
      r.earlier_hashes.push_back(r.hash);
      Resign(r, next_nonce_++, r.gas_price, r.gas_limit * 2);
      continue;
    }
    if (r.mined_block != 0) {
      std::lock_guard<std::mutex> lock(mu_);
      (void)journal_.SetMined(r.batch_id, 0, false);  // re-organised out
    }
    if (*count > r.nonce) {
      // Another transaction of this account took the nonce: the batch
      // moves to a fresh one (its pins unchanged).
      std::lock_guard<std::mutex> lock(mu_);
      Log("nonce " + std::to_string(r.nonce) + " of batch " + r.batch_id +
          " was used by another transaction; it moves to nonce " + std::to_string(next_nonce_));
      r.earlier_hashes.push_back(r.hash);
      Resign(r, next_nonce_++, r.gas_price, r.gas_limit);
      continue;
    }
    // Just sent: give the chain a moment. By the clock, not by blocks: a
    // chain that mines only on transactions makes no blocks while an
    // account's next nonce is missing.
    {
      std::lock_guard<std::mutex> lock(sent_mu_);
      auto sent = last_sent_.find(r.batch_id);
      if (sent != last_sent_.end() && Clock::now() - sent->second < std::chrono::seconds(1)) continue;
    }
    auto known = api_->TransactionKnown(r.hash);
    if (!known.ok()) continue;
    if (!*known) {
      // Lost (a restarted chain, a dropped pool): the same bytes again, or
      // a new signing if the chain's price has passed them.
      if (!Send(r)) {
        std::lock_guard<std::mutex> lock(mu_);
        Reprice(r, "was dropped and its price is below the chain's base fee");
      }
      continue;
    }
    if (head < r.signed_at_block + opts_.bump_after_blocks) continue;
    // Known but not mined for a while. Only the account's next nonce can be
    // mined; the ones behind it wait for it, not for a better price. And
    // only a price the chain has moved past is raised: the same nonce and
    // batch at the higher of 125% and the current price (a replacement
    // needs at least 10% more).
    if (r.nonce != *count) continue;
    std::lock_guard<std::mutex> lock(mu_);
    auto price = GasPrice();
    if (!price.ok() || !(r.gas_price < *price)) continue;
    Reprice(r, "waited " + std::to_string(head - r.signed_at_block) + " blocks below the chain's price");
  }
}

void EthereumLedger::Resign(eth::JournalTx r, uint64_t nonce, const eth::U256& gas_price, uint64_t gas_limit) {
  auto fresh = Sign(r.batch_id, r.data, nonce, gas_price, gas_limit, r.pins);
  if (!fresh.ok()) {
    Log("signing batch " + r.batch_id + " again: " + fresh.status().ToString());
    return;
  }
  fresh->earlier_hashes = std::move(r.earlier_hashes);
  if (Status st = journal_.Update(*fresh); !st.ok()) {
    Log("journaling batch " + r.batch_id + ": " + st.ToString());
    return;
  }
  (void)Send(*fresh);  // refused again: the next pass sees it unknown and prices it anew
}

LedgerHealth EthereumLedger::Health() {
  RefreshHead(std::chrono::milliseconds(250));
  LedgerHealth h;
  {
    std::lock_guard<std::mutex> lock(health_mu_);
    h.error = error_;
    h.reachable = error_.rfind("rpc", 0) != 0;
    h.balance_wei = eth::ToDecimal(balance_);
  }
  h.chain_id = info_.chain_id;
  h.contract = Hex0x(info_.contract);
  h.account = Hex0x(account_);
  h.head_block = head_;
  h.confirmations = info_.confirmations;
  h.confirmed_block = head_ >= info_.confirmations ? head_ - info_.confirmations : 0;
  h.pending_transactions = pending_;
  return h;
}

}  // namespace treaty::chain
