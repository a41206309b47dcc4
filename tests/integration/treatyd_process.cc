#include "treatyd_process.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>
#include <thread>

#include <grpcpp/health_check_service_interface.h>

namespace treaty::testing {

int FreePort() {
  // Below the kernel's ephemeral range (32768 and up on Linux), so no
  // outgoing connection of a test running alongside can take the port
  // between this probe and the server's bind; random, so parallel tests
  // rarely pick the same one, and probed, so a port in use is skipped.
  static thread_local std::mt19937 pick(std::random_device{}() ^ static_cast<unsigned>(getpid()));
  for (int attempt = 0; attempt < 200; ++attempt) {
    int port = 20000 + static_cast<int>(pick() % 12000);
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    int on = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = htons(static_cast<uint16_t>(port));
    bool free = bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
    close(fd);
    if (free) return port;
  }
  return 0;
}

TempDir::TempDir() {
  const char* base = std::getenv("TMPDIR");
  std::string tmpl = std::string(base && *base ? base : "/tmp") + "/treaty-test-XXXXXX";
  path_ = mkdtemp(tmpl.data());
}

TempDir::~TempDir() {
  if (std::getenv("TREATY_KEEP_TEST_DIRS") != nullptr) {
    std::fprintf(stderr, "kept %s\n", path_.c_str());
    return;
  }
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

ChildProcess::ChildProcess(std::vector<std::string> args, std::string log_path)
    : args_(std::move(args)), log_(std::move(log_path)) {}

ChildProcess::~ChildProcess() {
  if (pid_ > 0) Kill();
}

bool ChildProcess::Launch() {
  pid_ = fork();
  if (pid_ == 0) {
    int fd = open(log_.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
    dup2(fd, 2);
    dup2(fd, 1);
    std::vector<char*> argv;
    for (auto& a : args_) argv.push_back(a.data());
    argv.push_back(nullptr);
    execv(argv[0], argv.data());
    _exit(127);
  }
  return pid_ > 0;
}

bool ChildProcess::Start() {
  if (!Launch()) return false;
  std::this_thread::sleep_for(std::chrono::milliseconds(150));
  return !Exited();
}

bool ChildProcess::Exited() {
  if (pid_ <= 0) return true;
  int status;
  if (waitpid(pid_, &status, WNOHANG) != pid_) return false;
  pid_ = -1;
  return true;
}

int ChildProcess::Stop() {
  if (pid_ <= 0) return -1;
  kill(pid_, SIGTERM);
  int status = 0;
  waitpid(pid_, &status, 0);
  pid_ = -1;
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

void ChildProcess::Kill() {
  if (pid_ <= 0) return;
  kill(pid_, SIGKILL);
  int status;
  waitpid(pid_, &status, 0);
  pid_ = -1;
}

TreatydProcess::TreatydProcess(std::string data_dir, std::vector<std::string> extra_args)
    : data_(std::move(data_dir)), extra_(std::move(extra_args)) {
  port_ = FreePort();
  address_ = "127.0.0.1:" + std::to_string(port_);
  log_ = data_ + ".log";
  std::vector<std::string> args = {TREATY_TREATYD, "--data", data_, "--listen", address_};
  args.insert(args.end(), extra_.begin(), extra_.end());
  proc_ = std::make_unique<ChildProcess>(std::move(args), log_);
}

TreatydProcess::~TreatydProcess() = default;  // the ChildProcess kills a running node

bool TreatydProcess::Start() {
  if (!proc_->Launch()) return false;
  channel_ = grpc::CreateChannel(address_, grpc::InsecureChannelCredentials());
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(15);
  while (std::chrono::steady_clock::now() < deadline) {
    if (proc_->Exited()) return false;
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
