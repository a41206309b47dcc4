// Env: what a daemon takes from the world outside its store and ledger —
// the wall clock, randomness and where its log lines go — behind small
// interfaces, so that tests can hold time still and move it, fix the
// random source, and read what was logged (after LevelDB's Env). Engine
// and chain code reach these only through an Env they were given; only
// Env::Default() touches the system.
//
// Thread-safety: every method of the default implementations and of
// ManualClock, CapturingLogger may be called from any thread.
#pragma once

#include <atomic>
#include <cstdint>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

namespace treaty {

class Clock {
 public:
  virtual ~Clock() = default;
  // Wall time in milliseconds since the Unix epoch. Never decides what a
  // step does (that is ledger time); stamps proposals, waits and logs.
  virtual int64_t NowMs() = 0;
};

class RandomSource {
 public:
  virtual ~RandomSource() = default;
  // Fills `out` with `n` bytes fit for salts and ids (unpredictable).
  virtual void Fill(uint8_t* out, size_t n) = 0;
  // `bytes` random bytes as lowercase hex.
  std::string Hex(size_t bytes);
};

enum class LogLevel { kInfo, kWarning, kError };

// What a line is about, for lines that concern one instance or one step
// (empty: none). The JSON log format carries them as fields of their own,
// so a post-mortem can select every line of an instance.
struct LogFields {
  std::string_view instance;
  std::string_view step;
};

// How the default logger writes a line (docs/operations.md): text is
// "TIME PROGRAM: [COMPONENT: ][warning: |error: ]LINE", json one object per
// line.
enum class LogFormat { kText, kJson };

class Logger {
 public:
  virtual ~Logger() = default;
  // One line, without its newline; `component` names the daemon part
  // ("node", "exchange", ...).
  virtual void Log(LogLevel level, std::string_view component, std::string_view line,
                   const LogFields& fields = {}) = 0;
};

struct Env {
  Clock* clock;
  RandomSource* random;
  Logger* logger;
  // The system's clock, the kernel's random source (getrandom) and
  // stderr, each line stamped with the UTC time to the millisecond and the
  // program's name (SetProgramName), in the format SetLogFormat chose; the
  // party (SetLogParty) is a field of JSON lines.
  static Env* Default();
  static void SetProgramName(std::string name);
  static void SetLogFormat(LogFormat format);
  static void SetLogParty(std::string party);

  int64_t NowMs() const { return clock->NowMs(); }
  void Log(std::string_view component, std::string_view line, LogLevel level = LogLevel::kInfo,
           const LogFields& fields = {}) const {
    logger->Log(level, component, line, fields);
  }
};

// A clock that moves only when told to (tests).
class ManualClock final : public Clock {
 public:
  explicit ManualClock(int64_t start_ms) : now_(start_ms) {}
  int64_t NowMs() override { return now_.load(); }
  void Set(int64_t ms) { now_.store(ms); }
  void Advance(int64_t ms) { now_.fetch_add(ms); }

 private:
  std::atomic<int64_t> now_;
};

// Keeps every line (tests); optionally also prints them.
class CapturingLogger final : public Logger {
 public:
  explicit CapturingLogger(bool echo = false) : echo_(echo) {}
  void Log(LogLevel level, std::string_view component, std::string_view line, const LogFields& fields) override;
  std::vector<std::string> Lines();
  bool Contains(std::string_view words);

 private:
  bool echo_;
  std::mutex mu_;
  std::vector<std::string> lines_;
};

}  // namespace treaty
