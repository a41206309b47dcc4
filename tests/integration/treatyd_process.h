// Test harness for real treatyd processes: TreatydProcess starts a real
// treatyd on 127.0.0.1 with a free port and its own data folder, waits
// until it serves, and stops it by PID (SIGTERM, or SIGKILL to simulate a
// crash). It passes --plaintext (the development mode) unless the
// arguments give --tls-cert or --plaintext. Given how its clients present
// themselves (`client`: a CA, a token; LocalNetwork's secure mode),
// channel() is such a client's and the node is ready once it answers one;
// a TLS node without them is ready when its log says it listens, and its
// callers make their own channels. ChildProcess, TempDir and FreePort are
// in child_process.h.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include <grpcpp/grpcpp.h>

#include "adapters/common/client_channel.h"
#include "child_process.h"

namespace treaty::testing {

class TreatydProcess {
 public:
  explicit TreatydProcess(std::string data_dir, std::vector<std::string> extra_args = {},
                          adapters::ClientSecurity client = {});
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
  // A channel to the node: the client's of the constructor (TLS, token),
  // else plaintext (useless to a TLS node).
  std::shared_ptr<grpc::Channel> channel() const { return channel_; }
  const adapters::ClientSecurity& client() const { return client_; }

 private:
  std::string data_;
  std::vector<std::string> extra_;
  std::string address_;
  std::string log_;
  int port_ = 0;
  bool tls_ = false;
  adapters::ClientSecurity client_;
  std::unique_ptr<ChildProcess> proc_;
  std::shared_ptr<grpc::Channel> channel_;
};

}  // namespace treaty::testing
