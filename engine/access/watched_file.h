// WatchedFile<T>: a configuration file parsed into T and parsed again when
// it changes while the node runs (the tokens and access files), so tokens
// and permissions can be added and revoked without a restart. A thread
// looks at the file's modification time, size and inode every `period`;
// a changed file that does not parse leaves the last good T in force (and
// is logged), and is tried again at the next look, so a file caught half
// written is picked up once it is whole.
//
// Thread-safety: Get() may be called from any thread; it hands out the
// current T, which is never changed once parsed (a reload swaps it).
#pragma once

#include <sys/stat.h>

#include <chrono>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "definitions/base/env.h"
#include "definitions/base/status.h"

namespace treaty::engine::access {

template <typename T>
class WatchedFile {
 public:
  using Parse = std::function<Result<T>(const std::string& path)>;

  // Parses the file once: an error here is the caller's to report (a node
  // refuses to start with a bad file). `what` names it in log lines.
  static Result<std::unique_ptr<WatchedFile>> Open(std::string path, std::string what, Parse parse, Env* env,
                                                  std::chrono::milliseconds period = std::chrono::milliseconds(250)) {
    std::unique_ptr<WatchedFile> f(new WatchedFile(std::move(path), std::move(what), std::move(parse), env, period));
    Stamp s = StampOf(f->path_);
    auto first = f->parse_(f->path_);
    if (!first.ok()) return first.status();
    f->current_ = std::make_shared<const T>(std::move(first).value());
    f->stamp_ = s;
    f->thread_ = std::thread([p = f.get()] { p->Watch(); });
    return f;
  }

  ~WatchedFile() {
    {
      std::lock_guard<std::mutex> l(mu_);
      stop_ = true;
    }
    cv_.notify_all();
    if (thread_.joinable()) thread_.join();
  }

  std::shared_ptr<const T> Get() const {
    std::lock_guard<std::mutex> l(mu_);
    return current_;
  }

  const std::string& path() const { return path_; }

 private:
  struct Stamp {
    int64_t mtime_ns = -1, size = -1;
    uint64_t inode = 0;
    bool operator==(const Stamp&) const = default;
  };

  WatchedFile(std::string path, std::string what, Parse parse, Env* env, std::chrono::milliseconds period)
      : path_(std::move(path)), what_(std::move(what)), parse_(std::move(parse)), env_(env), period_(period) {}

  static Stamp StampOf(const std::string& path) {
    struct stat st {};
    if (::stat(path.c_str(), &st) != 0) return Stamp{};
    return Stamp{static_cast<int64_t>(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec,
                 static_cast<int64_t>(st.st_size), static_cast<uint64_t>(st.st_ino)};
  }

  void Watch() {
    std::unique_lock<std::mutex> l(mu_);
    while (!cv_.wait_for(l, period_, [this] { return stop_; })) {
      Stamp s = StampOf(path_);
      if (s == stamp_) continue;
      l.unlock();
      auto next = parse_(path_);
      l.lock();
      if (!next.ok()) {
        // Logged once per change; the stamp is kept so the next look tries again.
        if (failed_ != s) env_->Log("access", what_ + " " + path_ + " not reloaded, the last good one stays in force: " +
                                                  next.status().message(), LogLevel::kError);
        failed_ = s;
        continue;
      }
      current_ = std::make_shared<const T>(std::move(next).value());
      stamp_ = s;
      failed_ = Stamp{};
      env_->Log("access", what_ + " " + path_ + " reloaded");
    }
  }

  const std::string path_, what_;
  const Parse parse_;
  Env* const env_;
  const std::chrono::milliseconds period_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::shared_ptr<const T> current_;  // mu_
  Stamp stamp_, failed_;              // mu_ (the watcher's)
  bool stop_ = false;                 // mu_
  std::thread thread_;
};

}  // namespace treaty::engine::access
