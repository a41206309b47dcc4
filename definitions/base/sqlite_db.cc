#include "definitions/base/sqlite_db.h"

namespace treaty {

Stmt::Stmt(Db* db, const char* sql) : owner_(db), sql_(sql) {
  stmt_ = owner_->Borrow(sql_);
  if (stmt_ == nullptr)
    status_ = Status::Internal(std::string("sqlite prepare: ") + sqlite3_errmsg(owner_->db_) + " in: " + sql);
}

Stmt::~Stmt() {
  if (stmt_ != nullptr) owner_->Return(sql_, stmt_);
}

sqlite3_stmt* Db::Borrow(const std::string& sql) {
  auto it = cache_.find(sql);
  if (it != cache_.end() && !it->second.empty()) {
    sqlite3_stmt* s = it->second.back();
    it->second.pop_back();
    return s;
  }
  sqlite3_stmt* s = nullptr;
  if (sqlite3_prepare_v2(db_, sql.c_str(), -1, &s, nullptr) != SQLITE_OK) {
    sqlite3_finalize(s);
    return nullptr;
  }
  return s;
}

void Db::Return(const std::string& sql, sqlite3_stmt* stmt) {
  sqlite3_reset(stmt);
  sqlite3_clear_bindings(stmt);
  cache_[sql].push_back(stmt);
}

Stmt& Stmt::Bind(int i, int64_t v) {
  if (stmt_) sqlite3_bind_int64(stmt_, i, v);
  return *this;
}
Stmt& Stmt::Bind(int i, std::string_view v) {
  if (stmt_) sqlite3_bind_text(stmt_, i, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT);
  return *this;
}
Stmt& Stmt::BindBlob(int i, std::string_view v) {
  if (stmt_) sqlite3_bind_blob(stmt_, i, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT);
  return *this;
}
Stmt& Stmt::BindDouble(int i, double v) {
  if (stmt_) sqlite3_bind_double(stmt_, i, v);
  return *this;
}
Stmt& Stmt::BindNull(int i) {
  if (stmt_) sqlite3_bind_null(stmt_, i);
  return *this;
}

namespace {

// Statements the fault seam is asked about: those that change rows, not
// the transaction's own BEGIN, COMMIT and ROLLBACK or a PRAGMA.
bool ChangesRows(sqlite3_stmt* stmt, const std::string& sql) {
  if (sqlite3_stmt_readonly(stmt)) return false;
  for (const char* word : {"BEGIN", "COMMIT", "ROLLBACK", "PRAGMA", "SAVEPOINT", "RELEASE"})
    if (sql.rfind(word, 0) == 0) return false;
  return true;
}

}  // namespace

bool Stmt::Step() {
  if (!stmt_) return false;
  if (!stepped_ && owner_->faults_ != nullptr && ChangesRows(stmt_, sql_)) {
    Status st = owner_->faults_->BeforeWrite(sql_);
    if (!st.ok()) {
      status_ = st;
      return false;
    }
  }
  stepped_ = true;
  int rc = sqlite3_step(stmt_);
  if (rc == SQLITE_ROW) return true;
  if (rc != SQLITE_DONE) status_ = Status::Internal(std::string("sqlite: ") + sqlite3_errmsg(owner_->db_));
  return false;
}

Status Stmt::Run() {
  if (!stmt_) return status_;
  while (Step()) {
  }
  return status_;
}

int64_t Stmt::Int(int col) const { return sqlite3_column_int64(stmt_, col); }
std::string Stmt::Blob(int col) const {
  const void* p = sqlite3_column_blob(stmt_, col);
  int n = sqlite3_column_bytes(stmt_, col);
  return p ? std::string(static_cast<const char*>(p), static_cast<size_t>(n)) : std::string();
}
std::string Stmt::Text(int col) const {
  const unsigned char* p = sqlite3_column_text(stmt_, col);
  int n = sqlite3_column_bytes(stmt_, col);
  return p ? std::string(reinterpret_cast<const char*>(p), static_cast<size_t>(n)) : std::string();
}
bool Stmt::IsNull(int col) const { return sqlite3_column_type(stmt_, col) == SQLITE_NULL; }
void Stmt::Reset() {
  if (stmt_) {
    sqlite3_reset(stmt_);
    sqlite3_clear_bindings(stmt_);
  }
  stepped_ = false;
}

Status Db::Commit(std::string_view kind) {
  if (faults_ != nullptr) {
    Status st = faults_->BeforeCommit(kind);
    if (!st.ok()) {
      Rollback();
      return st;
    }
  }
  return Prepare("COMMIT").Run();
}

Db::~Db() {
  for (auto& [sql, stmts] : cache_)
    for (sqlite3_stmt* s : stmts) sqlite3_finalize(s);
  sqlite3_close(db_);
}

Status Db::Open(const std::string& path, bool full_sync, bool background_checkpoint, bool caller_locks) {
  int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | (caller_locks ? SQLITE_OPEN_NOMUTEX : 0);
  if (sqlite3_open_v2(path.c_str(), &db_, flags, nullptr) != SQLITE_OK)
    return Status::Unavailable("cannot open " + path + ": " + (db_ ? sqlite3_errmsg(db_) : "out of memory"));
  sqlite3_busy_timeout(db_, 5000);
  TREATY_RETURN_IF_ERROR(Exec("PRAGMA journal_mode=WAL"));
  TREATY_RETURN_IF_ERROR(Exec(full_sync ? "PRAGMA synchronous=FULL" : "PRAGMA synchronous=NORMAL"));
  full_sync_ = full_sync;
  if (background_checkpoint) TREATY_RETURN_IF_ERROR(Exec("PRAGMA wal_autocheckpoint=8192"));
  return Exec("PRAGMA foreign_keys=ON");
}

uint64_t Db::pages_written() const {
  int current = 0, highest = 0;
  if (db_ == nullptr || sqlite3_db_status(db_, SQLITE_DBSTATUS_CACHE_WRITE, &current, &highest, 0) != SQLITE_OK)
    return 0;
  return static_cast<uint64_t>(current);
}

Status Db::Exec(const std::string& sql) {
  char* err = nullptr;
  if (sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, &err) != SQLITE_OK) {
    std::string m = err ? err : "unknown error";
    sqlite3_free(err);
    return Status::Internal("sqlite: " + m);
  }
  return Status::Ok();
}

Status Db::Begin() {
  // A durable transaction never runs at NORMAL: if restoring FULL after a
  // relaxed one failed, it is retried here and the transaction refused
  // rather than committed without an fsync.
  TREATY_RETURN_IF_ERROR(RestoreFullSync());
  return Prepare("BEGIN IMMEDIATE").Run();
}

Status Db::RestoreFullSync() {
  if (!relaxed_) return Status::Ok();
  TREATY_RETURN_IF_ERROR(Exec("PRAGMA synchronous=FULL"));
  relaxed_ = false;
  return Status::Ok();
}

Status Db::BeginRelaxed() {
  TREATY_RETURN_IF_ERROR(RestoreFullSync());
  if (full_sync_) {
    TREATY_RETURN_IF_ERROR(Exec("PRAGMA synchronous=NORMAL"));
    relaxed_ = true;
  }
  Status st = Prepare("BEGIN IMMEDIATE").Run();
  if (!st.ok()) (void)RestoreFullSync();  // else the next Begin restores it
  return st;
}

void Db::RollbackRelaxed() {
  Rollback();
  (void)RestoreFullSync();  // else the next Begin restores it
}

Status Db::CommitRelaxed(std::string_view kind) {
  Status st = Commit(kind);
  if (!st.ok()) Rollback();
  (void)RestoreFullSync();  // else the next Begin restores it
  return st;
}

Status Checkpointer::Start(const std::string& path, std::chrono::milliseconds every) {
  TREATY_RETURN_IF_ERROR(db_.Open(path, true));
  thread_ = std::thread([this, every] {
    std::unique_lock<std::mutex> lock(mu_);
    while (!wake_.wait_for(lock, every, [this] { return stop_; })) {
      // PASSIVE: copies what no reader still needs, never blocks writers.
      sqlite3_wal_checkpoint_v2(db_.raw(), nullptr, SQLITE_CHECKPOINT_PASSIVE, nullptr, nullptr);
    }
  });
  return Status::Ok();
}

void Checkpointer::Stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
}

}  // namespace treaty
