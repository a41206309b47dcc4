// How a daemon's log line is written: the UTC timestamp (RFC 3339 with
// milliseconds, "2026-11-30T10:47:31.123Z") and the whole line, as text or
// as one JSON object (docs/operations.md, "Logs"). Pure functions; the
// default logger (env.cc) and the adapters' log share them, so every
// daemon's lines look alike.
//
// Thread-safety: pure functions, callable from any thread.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "definitions/base/env.h"

namespace treaty {

// ms since the Unix epoch as "YYYY-MM-DDTHH:MM:SS.mmmZ".
std::string Rfc3339Ms(int64_t ms);

struct LogRecord {
  int64_t time_ms = 0;
  LogLevel level = LogLevel::kInfo;
  std::string_view program;    // "treatyd"
  std::string_view component;  // "node", "exchange", ...
  std::string_view party;      // empty: unknown
  std::string_view message;
  LogFields fields;
};

// The line without its newline. Text: "TIME PROGRAM: [COMPONENT: ]
// [warning: |error: ]MESSAGE" (the component "node" is left out, as it
// always was); JSON: {"time","level","program","component","party",
// "instance","step","message"}, absent fields null.
std::string FormatLogLine(LogFormat format, const LogRecord& r);

const char* LogLevelName(LogLevel level);  // "info", "warning", "error"

}  // namespace treaty
