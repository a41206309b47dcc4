#include "engine/limits.h"

#include <charconv>

namespace treaty::engine {
namespace {

struct Spec {
  const char* key;
  int64_t Limits::*field;
  int64_t min, max;
};

constexpr Spec kSpecs[] = {
    {"max_request_bytes", &Limits::max_request_bytes, 1024, int64_t{1} << 30},
    {"member_max_message_bytes", &Limits::member_max_message_bytes, 64 << 10, int64_t{1} << 30},
    {"max_streams_per_client", &Limits::max_streams_per_client, 1, 100000},
    {"idempotency_key_max_age_ms", &Limits::idempotency_key_max_age_ms, 1000, int64_t{3650} * 24 * 3600 * 1000},
    {"idempotency_keys_max", &Limits::idempotency_keys_max, 1, int64_t{1} << 40},
};

std::string Flag(const char* key) {
  std::string f = std::string("--") + key;
  for (auto& c : f)
    if (c == '_') c = '-';
  return f;
}

}  // namespace

bool SetLimit(std::string_view key, const std::string& value, Limits* limits, bool* known, std::string* err) {
  *known = false;
  for (const Spec& s : kSpecs) {
    if (key != s.key && key != Flag(s.key)) continue;
    *known = true;
    int64_t v = 0;
    auto [p, ec] = std::from_chars(value.data(), value.data() + value.size(), v);
    if (value.empty() || ec != std::errc() || p != value.data() + value.size() || v < s.min || v > s.max) {
      *err = std::string(key) + " must be a whole number from " + std::to_string(s.min) + " to " +
             std::to_string(s.max) + ", not '" + value + "'";
      return false;
    }
    limits->*s.field = v;
    return true;
  }
  return true;
}

std::string LimitFlagsUsage() {
  std::string out;
  for (const Spec& s : kSpecs) out += (out.empty() ? "[" : " [") + Flag(s.key) + " N]";
  return out;
}

}  // namespace treaty::engine
