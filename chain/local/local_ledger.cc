#include "chain/local/local_ledger.h"

#include "chain/block_codec.h"

namespace treaty::chain {
namespace {

int64_t NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

Digest HexDigest(const std::string& hex) {
  Digest d{};
  DigestFromHex(hex, &d);
  return d;
}

}  // namespace

Result<std::unique_ptr<LocalLedger>> LocalLedger::Open(const std::string& path, bool full_sync) {
  std::unique_ptr<LocalLedger> l(new LocalLedger());
  l->path_ = path;
  TREATY_RETURN_IF_ERROR(l->db_.Open(path, full_sync, /*background_checkpoint=*/true));
  TREATY_RETURN_IF_ERROR(l->checkpointer_.Start(path));
  TREATY_RETURN_IF_ERROR(l->db_.Exec(
      "CREATE TABLE IF NOT EXISTS blocks (height INTEGER PRIMARY KEY, time_ms INTEGER NOT NULL, "
      "prev_hash TEXT NOT NULL, hash TEXT NOT NULL, body TEXT NOT NULL);"
      "CREATE TABLE IF NOT EXISTS batch_ids (id TEXT PRIMARY KEY, height INTEGER NOT NULL);"));
  Stmt s = l->db_.Prepare("SELECT height, time_ms, hash FROM blocks ORDER BY height DESC LIMIT 1");
  if (s.Step()) {
    l->height_ = static_cast<uint64_t>(s.Int(0));
    l->last_time_ms_ = s.Int(1);
    l->last_hash_ = HexDigest(s.Text(2));
  }
  TREATY_RETURN_IF_ERROR(s.status());
  return l;
}

Status LocalLedger::Submit(const Batch& batch) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    Stmt dup = db_.Prepare("SELECT height FROM batch_ids WHERE id = ?");
    dup.Bind(1, batch.id);
    if (dup.Step()) return Status::Ok();
    TREATY_RETURN_IF_ERROR(dup.status());
    Block b;
    b.height = height_ + 1;
    b.time_ms = std::max(NowMs(), last_time_ms_);  // ledger time never goes back
    b.prev_hash = last_hash_;
    b.batches.push_back(batch);
    b.hash = BlockHash(b);
    TREATY_RETURN_IF_ERROR(db_.Begin());
    Stmt ins = db_.Prepare("INSERT INTO blocks (height, time_ms, prev_hash, hash, body) VALUES (?, ?, ?, ?, ?)");
    ins.Bind(1, static_cast<int64_t>(b.height)).Bind(2, b.time_ms).Bind(3, ToHex(b.prev_hash)).Bind(4, ToHex(b.hash));
    ins.Bind(5, BatchesToJson(b.batches).dump());
    Status st = ins.Run();
    if (st.ok()) {
      Stmt id = db_.Prepare("INSERT INTO batch_ids (id, height) VALUES (?, ?)");
      id.Bind(1, batch.id).Bind(2, static_cast<int64_t>(b.height));
      st = id.Run();
    }
    if (st.ok()) st = db_.Commit();
    if (!st.ok()) {
      db_.Rollback();
      return st;
    }
    height_ = b.height;
    last_time_ms_ = b.time_ms;
    last_hash_ = b.hash;
  }
  grew_.notify_all();
  return Status::Ok();
}

Result<std::vector<Block>> LocalLedger::Read(uint64_t from, size_t max) {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<Block> out;
  Stmt s = db_.Prepare("SELECT height, time_ms, prev_hash, hash, body FROM blocks WHERE height >= ? ORDER BY height LIMIT ?");
  s.Bind(1, static_cast<int64_t>(from)).Bind(2, static_cast<int64_t>(max));
  while (s.Step()) {
    Block b;
    b.height = static_cast<uint64_t>(s.Int(0));
    b.time_ms = s.Int(1);
    b.prev_hash = HexDigest(s.Text(2));
    b.hash = HexDigest(s.Text(3));
    TREATY_RETURN_IF_ERROR(BatchesFromJson(nlohmann::json::parse(s.Text(4), nullptr, false), &b.batches));
    out.push_back(std::move(b));
  }
  TREATY_RETURN_IF_ERROR(s.status());
  return out;
}

uint64_t LocalLedger::Height() {
  std::lock_guard<std::mutex> lock(mu_);
  return height_;
}

uint64_t LocalLedger::WaitForHeight(uint64_t after, std::chrono::milliseconds timeout) {
  std::unique_lock<std::mutex> lock(mu_);
  grew_.wait_for(lock, timeout, [&] { return height_ > after; });
  return height_;
}

}  // namespace treaty::chain
