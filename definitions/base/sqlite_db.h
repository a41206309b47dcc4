// A thin RAII wrapper over SQLite: a connection in WAL mode, prepared
// statements with typed binds and columns, transactions. Errors are Status
// values with SQLite's message.
//
// Thread-safety: a Db is used by one thread at a time (callers hold their
// own mutex); distinct Db objects on one file are safe (SQLite locking).
#pragma once

#include <sqlite3.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <thread>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "definitions/base/status.h"

namespace treaty {

class Db;

// A seam for fault tests (after LevelDB's Env): a Db with one asks it
// before every statement that writes and before every commit, and a
// non-OK answer fails that call exactly as an error of SQLite's would (the
// caller sees the status; a failed commit is rolled back). Transactions
// carry a kind ("seal", "apply", ...) so a test can fail the Nth of one.
class DbFaults {
 public:
  virtual ~DbFaults() = default;
  virtual Status BeforeWrite(std::string_view sql) = 0;
  virtual Status BeforeCommit(std::string_view txn_kind) = 0;
};

// A prepared statement borrowed from its Db's cache: SQL text is compiled
// once per connection, and the statement goes back to the cache, reset,
// when the Stmt is destroyed.
class Stmt {
 public:
  Stmt(Db* db, const char* sql);
  ~Stmt();
  Stmt(const Stmt&) = delete;
  Stmt& operator=(const Stmt&) = delete;

  bool ok() const { return stmt_ != nullptr; }
  Stmt& Bind(int i, int64_t v);
  Stmt& Bind(int i, std::string_view v);   // text
  Stmt& BindBlob(int i, std::string_view v);
  Stmt& BindNull(int i);
  Stmt& BindTextOrNull(int i, std::string_view v) { return v.empty() ? BindNull(i) : Bind(i, v); }
  Stmt& BindDouble(int i, double v);
  // Returns true while rows come; false at the end; sets status on error.
  bool Step();
  Status status() const { return status_; }
  // Runs to completion (for statements without rows).
  Status Run();
  int64_t Int(int col) const;
  std::string Text(int col) const;
  std::string Blob(int col) const;
  bool IsNull(int col) const;
  void Reset();

 private:
  Db* owner_;
  std::string sql_;
  sqlite3_stmt* stmt_ = nullptr;
  Status status_;
  bool stepped_ = false;  // since the last reset: the fault seam is asked once per execution
};

class Db {
 public:
  Db() = default;
  ~Db();
  Db(const Db&) = delete;
  Db& operator=(const Db&) = delete;

  // Opens (creating) the file in WAL mode. With full_sync
  // (synchronous=FULL) a committed transaction survives a power loss; with
  // synchronous=NORMAL it survives a crash of the process (kill -9) and
  // the database never corrupts, but the last commits before a power loss
  // may be lost. See docs/node.md.
  // With background_checkpoint the connection never checkpoints in a
  // commit; a Checkpointer must then run on the file.
  // With caller_locks the connection takes no mutex of its own
  // (SQLITE_OPEN_NOMUTEX): its user promises one thread at a time, which
  // spares a lock and an unlock in every call.
  Status Open(const std::string& path, bool full_sync = true, bool background_checkpoint = false,
              bool caller_locks = false);
  // Begins a transaction whose commit need not reach the disk at once
  // (synchronous=NORMAL for it alone): for bookkeeping that may be lost in
  // a power cut without harm, e.g. outbox retry times. The next durable
  // commit makes it durable too. End it with CommitRelaxed or
  // RollbackRelaxed.
  Status BeginRelaxed();
  Status CommitRelaxed(std::string_view kind = "");
  void RollbackRelaxed();
  Status Exec(const std::string& sql);
  sqlite3* raw() const { return db_; }
  // Rows changed by the last INSERT, UPDATE or DELETE.
  int Changes() const { return sqlite3_changes(db_); }
  Stmt Prepare(const char* sql) { return Stmt(this, sql); }
  Status Begin();
  // `kind` names the transaction for the fault seam.
  Status Commit(std::string_view kind = "");
  void Rollback() { (void)Prepare("ROLLBACK").Run(); }
  // Pages this connection's commits have written so far (to the WAL, in
  // WAL mode): SQLite's own count (SQLITE_DBSTATUS_CACHE_WRITE). Any
  // thread may ask.
  uint64_t pages_written() const;
  // Tests only: the seam asked before writes and commits (null: none).
  void SetFaults(DbFaults* faults) { faults_ = faults; }
  DbFaults* faults() const { return faults_; }

 private:
  friend class Stmt;
  sqlite3_stmt* Borrow(const std::string& sql);
  void Return(const std::string& sql, sqlite3_stmt* stmt);

  // FULL again after a relaxed transaction; remembered until it succeeds.
  Status RestoreFullSync();

  sqlite3* db_ = nullptr;
  bool full_sync_ = true;
  bool relaxed_ = false;  // synchronous is NORMAL for a relaxed transaction
  DbFaults* faults_ = nullptr;
  std::unordered_map<std::string, std::vector<sqlite3_stmt*>> cache_;
};

// Checkpointer: copies a WAL database's log into the main file from a
// thread of its own, with its own connection. SQLite's automatic
// checkpoint runs inside whichever COMMIT crosses the threshold, and with
// synchronous=FULL that commit then waits for the file's fsync: a latency
// spike for whoever waits on it. Open the writers with
// Db::Open(..., background_checkpoint = true) and start one of these.
//
// Such writers still checkpoint themselves once the log passes 8192
// frames (32 MiB): under a steady stream of commits a checkpoint from
// another connection never reaches the log's end, and SQLite rewinds the
// log only when all of it is copied, so it would grow without bound (2 GB
// in 20 s was seen). The background copy has done most of the work by
// then (it runs every 50 ms by default; the node's store every 200 ms),
// so the writer's own checkpoint is short.
//
// Thread-safety: Start and Stop from the owner's thread.
class Checkpointer {
 public:
  ~Checkpointer() { Stop(); }
  Status Start(const std::string& path, std::chrono::milliseconds every = std::chrono::milliseconds(50));
  void Stop();

 private:
  Db db_;
  std::thread thread_;
  std::mutex mu_;
  std::condition_variable wake_;
  bool stop_ = false;
};

}  // namespace treaty
