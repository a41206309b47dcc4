#include "treatyd_process.h"

#include <chrono>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <thread>

#include <grpcpp/health_check_service_interface.h>

namespace treaty::testing {

TreatydProcess::TreatydProcess(std::string data_dir, std::vector<std::string> extra_args,
                               adapters::ClientSecurity client)
    : data_(std::move(data_dir)), extra_(std::move(extra_args)), client_(std::move(client)) {
  port_ = FreePort();
  address_ = "127.0.0.1:" + std::to_string(port_);
  log_ = data_ + ".log";
  std::vector<std::string> args = {TREATY_TREATYD, "--data", data_, "--listen", address_};
  // Plaintext on loopback (the development mode) unless the test asks for TLS.
  bool chosen = false;
  for (const auto& a : extra_) {
    tls_ = tls_ || a == "--tls-cert";
    chosen = chosen || a == "--tls-cert" || a == "--plaintext";
  }
  if (!chosen) args.push_back("--plaintext");
  args.insert(args.end(), extra_.begin(), extra_.end());
  proc_ = std::make_unique<ChildProcess>(std::move(args), log_);
}

TreatydProcess::~TreatydProcess() = default;  // the ChildProcess kills a running node

bool TreatydProcess::Start() {
  if (!proc_->Launch()) return false;
  std::string err;
  channel_ = adapters::MakeClientChannel(address_, client_, &err);
  if (!channel_) {
    std::fprintf(stderr, "TreatydProcess: no channel to %s: %s\n", address_.c_str(), err.c_str());
    return false;
  }
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(15);
  while (std::chrono::steady_clock::now() < deadline) {
    if (proc_->Exited()) return false;
    if (tls_ && !client_.tls()) {
      if (Log().find(" listening on ") != std::string::npos) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
      continue;
    }
    if (channel_->WaitForConnected(std::chrono::system_clock::now() + std::chrono::milliseconds(200))) return true;
  }
  return false;
}

int TreatydProcess::Stop() { return proc_->Stop(); }

void TreatydProcess::Kill() { proc_->Kill(); }

std::string TreatydProcess::Log() const {
  std::ifstream f(log_);
  std::stringstream s;
  s << f.rdbuf();
  return s.str();
}

}  // namespace treaty::testing
