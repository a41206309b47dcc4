#include "anvil_process.h"

#include <chrono>
#include <fstream>
#include <sstream>
#include <thread>

#include "chain/ethereum/eth_api.h"
#include "chain/ethereum/json_rpc.h"

namespace treaty::testing {

AnvilProcess::AnvilProcess(std::string log_path, Options options)
    : log_(std::move(log_path)), options_(std::move(options)) {
  port_ = FreePort();
  url_ = "http://127.0.0.1:" + std::to_string(port_);
}

AnvilProcess::~AnvilProcess() = default;  // the ChildProcess kills a running anvil

std::vector<std::string> AnvilProcess::Args() const {
  std::vector<std::string> args = {TREATY_ANVIL, "--host", "127.0.0.1", "--port", std::to_string(port_)};
  if (options_.block_time_s > 0) {
    args.push_back("--block-time");
    args.push_back(std::to_string(options_.block_time_s));
  }
  if (options_.no_mining) args.push_back("--no-mining");
  if (!options_.state_file.empty()) {
    args.push_back("--state");
    args.push_back(options_.state_file);
  }
  if (options_.chain_id != 0) {
    args.push_back("--chain-id");
    args.push_back(std::to_string(options_.chain_id));
  }
  if (options_.silent) args.push_back("--silent");
  args.insert(args.end(), options_.extra_args.begin(), options_.extra_args.end());
  return args;
}

bool AnvilProcess::Start() {
  if (port_ == 0) return false;
  proc_ = std::make_unique<ChildProcess>(Args(), log_);
  if (!proc_->Launch()) return false;
  chain::eth::JsonRpcClient rpc(url_, std::chrono::milliseconds(1000));
  chain::eth::EthApi api(&rpc);
  // Loading a large state file takes a while; 30 s is far above it.
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (std::chrono::steady_clock::now() < deadline) {
    if (proc_->Exited()) return false;
    if (api.ChainId().ok()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return false;
}

int AnvilProcess::Stop() { return proc_ ? proc_->Stop() : -1; }

void AnvilProcess::Kill() {
  if (proc_) proc_->Kill();
}

bool AnvilProcess::Restart() {
  if (running()) Stop();
  return Start();
}

std::string AnvilProcess::Log() const {
  std::ifstream f(log_);
  std::stringstream s;
  s << f.rdbuf();
  return s.str();
}

}  // namespace treaty::testing
