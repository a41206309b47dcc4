#include "chain/ethereum/tx_journal.h"

#include <nlohmann/json.hpp>

#include "definitions/base/sha256.h"

namespace treaty::chain::eth {

namespace {

std::string HashText(const Hash256& h) { return ToHex(h.data(), h.size()); }

bool HashFrom(const std::string& text, Hash256* out) {
  std::string raw;
  if (!FromHex(text, &raw) || raw.size() != out->size()) return false;
  std::copy(raw.begin(), raw.end(), out->begin());
  return true;
}

std::string EarlierText(const std::vector<Hash256>& hashes) {
  nlohmann::json a = nlohmann::json::array();
  for (const auto& h : hashes) a.push_back(HashText(h));
  return a.dump();
}

Result<JournalTx> RowOf(const Stmt& s) {
  JournalTx t;
  t.batch_id = s.Text(0);
  t.nonce = static_cast<uint64_t>(s.Int(1));
  t.raw = s.Blob(2);
  std::string gas = s.Blob(4);
  if (!HashFrom(s.Text(3), &t.hash) || gas.size() != t.gas_price.size())
    return Status::DataLoss("ethereum journal: a damaged row for batch " + t.batch_id);
  std::copy(gas.begin(), gas.end(), t.gas_price.begin());
  t.gas_limit = static_cast<uint64_t>(s.Int(5));
  t.pins = static_cast<size_t>(s.Int(6));
  t.signed_at_block = static_cast<uint64_t>(s.Int(7));
  t.mined_block = static_cast<uint64_t>(s.Int(8));
  t.reverted = s.Int(9) != 0;
  t.data = s.Blob(11);
  auto earlier = nlohmann::json::parse(s.Text(10), nullptr, false);
  if (!earlier.is_array()) return Status::DataLoss("ethereum journal: damaged earlier hashes of " + t.batch_id);
  for (const auto& e : earlier) {
    Hash256 h{};
    if (!e.is_string() || !HashFrom(e.get<std::string>(), &h))
      return Status::DataLoss("ethereum journal: damaged earlier hashes of " + t.batch_id);
    t.earlier_hashes.push_back(h);
  }
  return t;
}

constexpr const char* kColumns =
    "batch_id, nonce, raw, hash, gas_price, gas_limit, pins, signed_at_block, mined_block, reverted, earlier, data";

}  // namespace

Status TxJournal::Open(const std::string& path) {
  // Full sync: a transaction's nonce must be on disk before the chain can
  // see it (the point of the journal).
  TREATY_RETURN_IF_ERROR(db_.Open(path, /*full_sync=*/true));
  return db_.Exec(
      "CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value TEXT NOT NULL);"
      "CREATE TABLE IF NOT EXISTS txs(batch_id TEXT PRIMARY KEY, nonce INTEGER NOT NULL, raw BLOB NOT NULL,"
      " hash TEXT NOT NULL, gas_price BLOB NOT NULL, gas_limit INTEGER NOT NULL, pins INTEGER NOT NULL,"
      " signed_at_block INTEGER NOT NULL, mined_block INTEGER NOT NULL DEFAULT 0,"
      " reverted INTEGER NOT NULL DEFAULT 0, earlier TEXT NOT NULL DEFAULT '[]', data BLOB NOT NULL);"
      "CREATE INDEX IF NOT EXISTS txs_nonce ON txs(nonce);");
}

Status TxJournal::Bind(const std::string& account, uint64_t chain_id) {
  std::string want = ToHex(reinterpret_cast<const uint8_t*>(account.data()), account.size()) + "@" + std::to_string(chain_id);
  auto q = db_.Prepare("SELECT value FROM meta WHERE key = 'account'");
  if (q.Step()) {
    if (q.Text(0) != want)
      return Status::FailedPrecondition("the ethereum journal belongs to account " + q.Text(0) + ", not " + want);
    return Status::Ok();
  }
  TREATY_RETURN_IF_ERROR(q.status());
  return db_.Prepare("INSERT INTO meta(key, value) VALUES('account', ?)").Bind(1, want).Run();
}

Result<std::optional<JournalTx>> TxJournal::Find(const std::string& batch_id) {
  auto q = db_.Prepare((std::string("SELECT ") + kColumns + " FROM txs WHERE batch_id = ?").c_str());
  q.Bind(1, batch_id);
  if (q.Step()) {
    TREATY_ASSIGN_OR_RETURN(JournalTx t, RowOf(q));
    return std::optional<JournalTx>(std::move(t));
  }
  TREATY_RETURN_IF_ERROR(q.status());
  return std::optional<JournalTx>();
}

Result<std::vector<JournalTx>> TxJournal::All() {
  auto q = db_.Prepare((std::string("SELECT ") + kColumns + " FROM txs ORDER BY nonce").c_str());
  std::vector<JournalTx> out;
  while (q.Step()) {
    TREATY_ASSIGN_OR_RETURN(JournalTx t, RowOf(q));
    out.push_back(std::move(t));
  }
  TREATY_RETURN_IF_ERROR(q.status());
  return out;
}

Status TxJournal::Insert(const JournalTx& t) {
  return db_
      .Prepare((std::string("INSERT INTO txs(") + kColumns + ") VALUES(?,?,?,?,?,?,?,?,?,?,?,?)").c_str())
      .Bind(1, t.batch_id)
      .Bind(2, static_cast<int64_t>(t.nonce))
      .BindBlob(3, t.raw)
      .Bind(4, HashText(t.hash))
      .BindBlob(5, std::string_view(reinterpret_cast<const char*>(t.gas_price.data()), t.gas_price.size()))
      .Bind(6, static_cast<int64_t>(t.gas_limit))
      .Bind(7, static_cast<int64_t>(t.pins))
      .Bind(8, static_cast<int64_t>(t.signed_at_block))
      .Bind(9, static_cast<int64_t>(t.mined_block))
      .Bind(10, int64_t{t.reverted})
      .Bind(11, EarlierText(t.earlier_hashes))
      .BindBlob(12, t.data)
      .Run();
}

Status TxJournal::Update(const JournalTx& t) {
  auto s = db_.Prepare(
      "UPDATE txs SET nonce = ?, raw = ?, hash = ?, gas_price = ?, gas_limit = ?, signed_at_block = ?,"
      " mined_block = ?, reverted = ?, earlier = ? WHERE batch_id = ?");
  s.Bind(1, static_cast<int64_t>(t.nonce))
      .BindBlob(2, t.raw)
      .Bind(3, HashText(t.hash))
      .BindBlob(4, std::string_view(reinterpret_cast<const char*>(t.gas_price.data()), t.gas_price.size()))
      .Bind(5, static_cast<int64_t>(t.gas_limit))
      .Bind(6, static_cast<int64_t>(t.signed_at_block))
      .Bind(7, static_cast<int64_t>(t.mined_block))
      .Bind(8, int64_t{t.reverted})
      .Bind(9, EarlierText(t.earlier_hashes))
      .Bind(10, t.batch_id);
  return s.Run();
}

Status TxJournal::SetMined(const std::string& batch_id, uint64_t block, bool reverted) {
  return db_.Prepare("UPDATE txs SET mined_block = ?, reverted = ? WHERE batch_id = ?")
      .Bind(1, static_cast<int64_t>(block))
      .Bind(2, int64_t{reverted})
      .Bind(3, batch_id)
      .Run();
}

Status TxJournal::Prune(uint64_t below_block) {
  return db_.Prepare("DELETE FROM txs WHERE mined_block > 0 AND reverted = 0 AND mined_block < ?")
      .Bind(1, static_cast<int64_t>(below_block))
      .Run();
}

Result<std::optional<uint64_t>> TxJournal::MaxNonce() {
  auto q = db_.Prepare("SELECT MAX(nonce) FROM txs");
  if (q.Step() && !q.IsNull(0)) return std::optional<uint64_t>(static_cast<uint64_t>(q.Int(0)));
  TREATY_RETURN_IF_ERROR(q.status());
  return std::optional<uint64_t>();
}

}  // namespace treaty::chain::eth
