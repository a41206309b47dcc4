#include "definitions/base/env.h"

#include <sys/random.h>

#include <chrono>
#include <cstdio>
#include <cstring>

namespace treaty {
namespace {

class SystemClock final : public Clock {
 public:
  int64_t NowMs() override {
    return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
        .count();
  }
};

void FillFromKernel(uint8_t* out, size_t n) {
  size_t got = 0;
  while (got < n) {
    ssize_t r = getrandom(out + got, n - got, 0);
    if (r > 0) got += static_cast<size_t>(r);  // EINTR: try again
  }
}

// The kernel's bytes, read 4 KiB at a time per thread: a node asks for a
// few random bytes per proposal id, and a system call each cost ~1 % of
// its CPU at saturation.
class KernelRandom final : public RandomSource {
 public:
  void Fill(uint8_t* out, size_t n) override {
    thread_local uint8_t buf[4096];
    thread_local size_t used = sizeof buf;
    if (n > sizeof buf / 4) return FillFromKernel(out, n);
    if (sizeof buf - used < n) {
      FillFromKernel(buf, sizeof buf);
      used = 0;
    }
    std::memcpy(out, buf + used, n);
    std::memset(buf + used, 0, n);  // handed out once
    used += n;
  }
};

std::mutex program_mu;
std::string program_name = "treaty";  // guarded by program_mu

class StderrLogger final : public Logger {
 public:
  void Log(LogLevel level, std::string_view component, std::string_view line) override {
    std::string prefix;
    {
      std::lock_guard<std::mutex> lock(program_mu);
      prefix = program_name;
    }
    if (!component.empty() && component != "node") prefix += ": " + std::string(component);
    const char* tag = level == LogLevel::kError ? "error: " : level == LogLevel::kWarning ? "warning: " : "";
    std::fprintf(stderr, "%s: %s%.*s\n", prefix.c_str(), tag, static_cast<int>(line.size()), line.data());
  }
};

}  // namespace

std::string RandomSource::Hex(size_t bytes) {
  static const char* kDigits = "0123456789abcdef";
  std::string raw(bytes, '\0');
  Fill(reinterpret_cast<uint8_t*>(raw.data()), bytes);
  std::string out(bytes * 2, '0');
  for (size_t i = 0; i < bytes; ++i) {
    out[2 * i] = kDigits[static_cast<uint8_t>(raw[i]) >> 4];
    out[2 * i + 1] = kDigits[static_cast<uint8_t>(raw[i]) & 15];
  }
  return out;
}

Env* Env::Default() {
  static SystemClock clock;
  static KernelRandom random;
  static StderrLogger logger;
  static Env env{&clock, &random, &logger};
  return &env;
}

void Env::SetProgramName(std::string name) {
  std::lock_guard<std::mutex> lock(program_mu);
  program_name = std::move(name);
}

void CapturingLogger::Log(LogLevel level, std::string_view component, std::string_view line) {
  std::string text = std::string(component) + ": " + std::string(line);
  if (echo_) std::fprintf(stderr, "[%d] %s\n", static_cast<int>(level), text.c_str());
  std::lock_guard<std::mutex> lock(mu_);
  lines_.push_back(std::move(text));
}

std::vector<std::string> CapturingLogger::Lines() {
  std::lock_guard<std::mutex> lock(mu_);
  return lines_;
}

bool CapturingLogger::Contains(std::string_view words) {
  std::lock_guard<std::mutex> lock(mu_);
  for (const auto& l : lines_)
    if (l.find(words) != std::string::npos) return true;
  return false;
}

}  // namespace treaty
