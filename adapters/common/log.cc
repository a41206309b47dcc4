#include "adapters/common/log.h"

#include <chrono>
#include <cstdio>
#include <ctime>
#include <mutex>

namespace treaty::adapters {

void Log(const std::string& line) {
  static std::mutex mu;
  auto now = std::chrono::system_clock::now();
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count();
  std::time_t secs = static_cast<std::time_t>(ms / 1000);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char stamp[32];
  std::strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%S", &tm);
  std::lock_guard<std::mutex> lock(mu);
  std::fprintf(stderr, "%s.%03dZ %s\n", stamp, static_cast<int>(ms % 1000), line.c_str());
  std::fflush(stderr);
}

}  // namespace treaty::adapters
