#include "definitions/base/log_line.h"

#include <cstdio>
#include <ctime>

#include <nlohmann/json.hpp>

namespace treaty {

std::string Rfc3339Ms(int64_t ms) {
  std::time_t secs = static_cast<std::time_t>(ms / 1000);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char stamp[40];
  size_t n = std::strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%S", &tm);
  std::snprintf(stamp + n, sizeof stamp - n, ".%03dZ", static_cast<int>(ms % 1000));
  return stamp;
}

const char* LogLevelName(LogLevel level) {
  switch (level) {
    case LogLevel::kWarning: return "warning";
    case LogLevel::kError: return "error";
    case LogLevel::kInfo: break;
  }
  return "info";
}

std::string FormatLogLine(LogFormat format, const LogRecord& r) {
  if (format == LogFormat::kJson) {
    auto text_or_null = [](std::string_view s) {
      return s.empty() ? nlohmann::ordered_json() : nlohmann::ordered_json(std::string(s));
    };
    nlohmann::ordered_json j = {{"time", Rfc3339Ms(r.time_ms)},
                        {"level", LogLevelName(r.level)},
                        {"program", std::string(r.program)},
                        {"component", std::string(r.component.empty() ? "node" : r.component)},
                        {"party", text_or_null(r.party)},
                        {"instance", text_or_null(r.fields.instance)},
                        {"step", text_or_null(r.fields.step)},
                        {"message", std::string(r.message)}};
    // A message is ours but may quote what others sent: invalid UTF-8 is
    // replaced rather than thrown on.
    return j.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace);
  }
  std::string prefix = Rfc3339Ms(r.time_ms);
  prefix += ' ';
  prefix += r.program;
  prefix += ": ";
  if (!r.component.empty() && r.component != "node") {
    prefix += r.component;
    prefix += ": ";
  }
  if (r.level != LogLevel::kInfo) {
    prefix += LogLevelName(r.level);
    prefix += ": ";
  }
  // A message of several lines (a definition's diagnostics) gets the
  // prefix on each: every line of the log starts with its time.
  std::string out;
  std::string_view rest = r.message;
  while (true) {
    size_t nl = rest.find('\n');
    out += prefix;
    out += rest.substr(0, nl);
    if (nl == std::string_view::npos) break;
    rest.remove_prefix(nl + 1);
    if (rest.empty()) break;
    out += '\n';
  }
  return out;
}

}  // namespace treaty
