// A thin RAII wrapper over SQLite: a connection in WAL mode, prepared
// statements with typed binds and columns, transactions. Errors are Status
// values with SQLite's message.
//
// Thread-safety: a Db is used by one thread at a time (callers hold their
// own mutex); distinct Db objects on one file are safe (SQLite locking).
#pragma once

#include <sqlite3.h>

#include <cstdint>
#include <string>
#include <string_view>

#include "definitions/base/status.h"

namespace treaty::chain {

class Stmt {
 public:
  Stmt(sqlite3* db, const char* sql);
  ~Stmt();
  Stmt(const Stmt&) = delete;
  Stmt& operator=(const Stmt&) = delete;

  bool ok() const { return stmt_ != nullptr; }
  Stmt& Bind(int i, int64_t v);
  Stmt& Bind(int i, std::string_view v);   // text
  Stmt& BindBlob(int i, std::string_view v);
  Stmt& BindNull(int i);
  Stmt& BindDouble(int i, double v);
  // Returns true while rows come; false at the end; sets status on error.
  bool Step();
  Status status() const { return status_; }
  // Runs to completion (for statements without rows).
  Status Run();
  int64_t Int(int col) const;
  std::string Text(int col) const;
  bool IsNull(int col) const;
  void Reset();

 private:
  sqlite3* db_;
  sqlite3_stmt* stmt_ = nullptr;
  Status status_;
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
  Status Open(const std::string& path, bool full_sync = true);
  Status Exec(const std::string& sql);
  sqlite3* raw() const { return db_; }
  Stmt Prepare(const char* sql) { return Stmt(db_, sql); }
  Status Begin() { return Exec("BEGIN IMMEDIATE"); }
  Status Commit() { return Exec("COMMIT"); }
  void Rollback() { (void)Exec("ROLLBACK"); }

 private:
  sqlite3* db_ = nullptr;
};

}  // namespace treaty::chain
