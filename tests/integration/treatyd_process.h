// Test harness for real processes: ChildProcess runs any binary with its
// output in a log file; TreatydProcess starts a real treatyd on 127.0.0.1
// with a free port and its own data
// folder, waits until it serves, and stops it by PID (SIGTERM, or SIGKILL
// to simulate a crash).
#pragma once

#include <signal.h>
#include <sys/types.h>

#include <memory>
#include <string>
#include <vector>

#include <grpcpp/grpcpp.h>

namespace treaty::testing {

// A child process writing stdout and stderr to a log file, stopped by PID.
class ChildProcess {
 public:
  ChildProcess(std::vector<std::string> args, std::string log_path);
  ~ChildProcess();
  // Forks and execs; false only if fork fails.
  bool Launch();
  // Launch, then true if the process still runs 150 ms later.
  bool Start();
  // True (and no longer running) once the process has exited.
  bool Exited();
  // SIGTERM and wait; returns the exit status.
  int Stop();
  // SIGKILL and wait: a crash.
  void Kill();
  bool running() const { return pid_ > 0; }
  pid_t pid() const { return pid_; }

 private:
  std::vector<std::string> args_;
  std::string log_;
  pid_t pid_ = -1;
};

class TreatydProcess {
 public:
  explicit TreatydProcess(std::string data_dir, std::vector<std::string> extra_args = {});
  ~TreatydProcess();

  // Starts the process; false if it did not become healthy in time.
  bool Start();
  // SIGTERM and wait; returns the exit status.
  int Stop();
  // SIGKILL and wait: a crash.
  void Kill();
  bool running() const { return proc_->running(); }
  pid_t pid() const { return proc_->pid(); }
  const std::string& address() const { return address_; }
  const std::string& log_path() const { return log_; }
  std::string Log() const;
  std::shared_ptr<grpc::Channel> channel() const { return channel_; }

 private:
  std::string data_;
  std::vector<std::string> extra_;
  std::string address_;
  std::string log_;
  int port_ = 0;
  std::unique_ptr<ChildProcess> proc_;
  std::shared_ptr<grpc::Channel> channel_;
};

// A fresh temporary folder, removed with the object.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

// A loopback TCP port free now, outside the ephemeral range (0 if none).
int FreePort();

}  // namespace treaty::testing
