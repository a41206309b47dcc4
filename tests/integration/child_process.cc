#include "child_process.h"

#include <mutex>
#include <set>

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
#include <random>
#include <thread>

namespace treaty::testing {

int FreePort() {
  // Below the kernel's ephemeral range (32768 and up on Linux), so no
  // outgoing connection of a test running alongside can take the port
  // between this probe and the server's bind; random, so parallel tests
  // rarely pick the same one, and probed, so a port in use is skipped.
  static thread_local std::mt19937 pick(std::random_device{}() ^ static_cast<unsigned>(getpid()));
  // A port handed out is not bound until its server starts (a network's
  // anvil, sequencer and nodes get theirs before any of them runs): never
  // hand it out twice in one process.
  static std::mutex mu;
  static std::set<int> given;
  for (int attempt = 0; attempt < 200; ++attempt) {
    int port = 20000 + static_cast<int>(pick() % 12000);
    {
      std::lock_guard<std::mutex> lock(mu);
      if (given.count(port)) continue;
    }
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    int on = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = htons(static_cast<uint16_t>(port));
    bool free = bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
    close(fd);
    if (free) {
      std::lock_guard<std::mutex> lock(mu);
      given.insert(port);
      return port;
    }
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

}  // namespace treaty::testing
