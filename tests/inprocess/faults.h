// Store faults for in-process tests (DbFaults): fail the Nth commit of one
// kind of transaction, or crash at the Nth write — every write and commit
// after it fails too, as if the process had died there.
//
// Thread-safety: called with the store's writer lock held; the counters
// may be read from the test's thread.
#pragma once

#include <atomic>
#include <string>

#include "definitions/base/sqlite_db.h"

namespace treaty::testing {

class FailNthCommit final : public DbFaults {
 public:
  FailNthCommit(std::string kind, int n) : kind_(std::move(kind)), n_(n) {}
  Status BeforeWrite(std::string_view) override { return Status::Ok(); }
  Status BeforeCommit(std::string_view kind) override {
    if (kind == kind_ && ++seen_ == n_) {
      ++failed_;
      return Status::Aborted("injected failure of " + kind_ + " commit #" + std::to_string(n_));
    }
    return Status::Ok();
  }
  int failed() const { return failed_.load(); }

 private:
  std::string kind_;
  int n_;
  std::atomic<int> seen_{0}, failed_{0};
};

// With at = 0 it only counts writes (to learn how many a path makes).
class CrashAtWrite final : public DbFaults {
 public:
  explicit CrashAtWrite(int at) : at_(at) {}
  Status BeforeWrite(std::string_view sql) override {
    if (crashed_) return Status::Aborted("the process is gone");
    if (++writes_ == at_) {
      crashed_ = true;
      crashed_at_ = std::string(sql);
      return Status::Aborted("simulated crash before write #" + std::to_string(at_));
    }
    return Status::Ok();
  }
  Status BeforeCommit(std::string_view) override {
    return crashed_ ? Status::Aborted("the process is gone") : Status::Ok();
  }
  int writes() const { return writes_.load(); }
  bool crashed() const { return crashed_.load(); }
  std::string crashed_at() const { return crashed_at_; }

 private:
  int at_;
  std::atomic<int> writes_{0};
  std::atomic<bool> crashed_{false};
  std::string crashed_at_;
};

}  // namespace treaty::testing
