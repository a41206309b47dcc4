// AnvilProcess: a real anvil (npm @foundry-rs/anvil-linux-amd64, the ELF
// named by the compile definition TREATY_ANVIL) on 127.0.0.1 and a free
// port, for tests of the `ethereum` ledger. Start() waits until
// eth_chainId answers; Stop() is SIGTERM and wait, so anvil writes its
// state file; Kill() is SIGKILL (nothing written); Restart() starts it
// again on the same port, loading the state file when there is one.
//
// anvil's dev accounts come from its default mnemonic: the first one's
// secret is kAnvilDevSecret0, funded with 10000 ETH.
//
// Thread-safety: one object per thread.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "child_process.h"

namespace treaty::testing {

inline constexpr const char* kAnvilDevSecret0 = "ac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80";
inline constexpr uint64_t kAnvilDefaultChainId = 31337;

struct AnvilOptions {
  int block_time_s = 0;    // 0: a block per transaction (automine)
  bool no_mining = false;  // --no-mining: blocks only by evm_mine
  std::string state_file;  // --state: loaded at start, written on SIGTERM
  uint64_t chain_id = 0;   // 0: anvil's default, 31337
  bool silent = false;     // --silent: no per-request log lines
  std::vector<std::string> extra_args;
};

class AnvilProcess {
 public:
  using Options = AnvilOptions;

  // `log_path` receives anvil's output (appended across restarts).
  explicit AnvilProcess(std::string log_path, Options options = {});
  ~AnvilProcess();

  // Starts anvil; false if it exited or did not answer eth_chainId in time
  // (the log says why).
  bool Start();
  // SIGTERM and wait; returns the exit status.
  int Stop();
  // SIGKILL and wait.
  void Kill();
  // Stop (if running), then Start on the same port.
  bool Restart();

  bool running() const { return proc_ && proc_->running(); }
  pid_t pid() const { return proc_ ? proc_->pid() : -1; }
  int port() const { return port_; }
  // http://127.0.0.1:PORT
  const std::string& url() const { return url_; }
  const std::string& log_path() const { return log_; }
  std::string Log() const;
  const Options& options() const { return options_; }

 private:
  std::vector<std::string> Args() const;

  std::string log_;
  Options options_;
  int port_ = 0;
  std::string url_;
  std::unique_ptr<ChildProcess> proc_;
};

}  // namespace treaty::testing
