#include "definitions/base/env.h"

#include "definitions/base/log_line.h"

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
std::string log_party;                // guarded by program_mu
std::atomic<LogFormat> log_format{LogFormat::kText};

// One write per line, under the lock: lines of several threads never
// interleave.
class StderrLogger final : public Logger {
 public:
  void Log(LogLevel level, std::string_view component, std::string_view line, const LogFields& fields) override {
    const int64_t now =
        std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
            .count();
    std::lock_guard<std::mutex> lock(program_mu);
    LogRecord r{now, level, program_name, component, log_party, line, fields};
    std::string text = FormatLogLine(log_format.load(), r);
    text += '\n';
    std::fwrite(text.data(), 1, text.size(), stderr);
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

void Env::SetLogFormat(LogFormat format) { log_format.store(format); }

void Env::SetLogParty(std::string party) {
  std::lock_guard<std::mutex> lock(program_mu);
  log_party = std::move(party);
}

void CapturingLogger::Log(LogLevel level, std::string_view component, std::string_view line, const LogFields&) {
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
