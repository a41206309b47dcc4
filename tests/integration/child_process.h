// Test harness for real processes: ChildProcess runs any binary with its
// output in a log file and stops it by PID (SIGTERM, or SIGKILL to simulate
// a crash); TempDir is a folder removed with the object; FreePort a
// loopback port for a server to bind.
//
// Thread-safety: one object per thread; FreePort may be called from any.
#pragma once

#include <signal.h>
#include <sys/types.h>

#include <string>
#include <vector>

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
