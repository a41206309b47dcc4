// Durations in a webhook config, written as in definitions (docs/definitions.md):
// a number and a unit, `ms`, `s`, `m` or `h`, or several of them (`1m30s`).
//
// Thread-safety: pure functions.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

namespace treaty::webhook {

// Milliseconds, or nothing when `text` is not a duration (a number without
// a unit, an unknown unit, an overflow). Zero is returned as 0; callers
// decide whether it is allowed.
std::optional<int64_t> ParseDuration(const std::string& text);

// 1500 → "1500ms", 30000 → "30s", 90000 → "1m30s": for messages.
std::string FormatDuration(int64_t ms);

}  // namespace treaty::webhook
