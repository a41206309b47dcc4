// Limits: the node's bounds on what callers and members may make it hold
// (docs/limits.md): the gRPC API's largest request, the data exchange's
// largest message, open streams per client, and how many idempotency keys
// are kept and for how long. Each is a treatyd flag (--max-request-bytes)
// and a config key (max_request_bytes) of the same name.
//
// Thread-safety: a plain value, set before the node starts.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace treaty::engine {

struct Limits {
  // A larger gRPC request is RESOURCE_EXHAUSTED before any handler runs.
  int64_t max_request_bytes = 4 << 20;
  // DataExchange::set_max_message_bytes; the same across the network.
  int64_t member_max_message_bytes = 4 << 20;
  // Events.Subscribe and Jobs.StreamJobs open at once, per client identity.
  int64_t max_streams_per_client = 16;
  // Idempotency keys older than this are forgotten (a retry after it is a
  // new request), and beyond this many the oldest are.
  int64_t idempotency_key_max_age_ms = int64_t{7} * 24 * 3600 * 1000;
  int64_t idempotency_keys_max = 1000000;
};

// Sets the limit named `key` ("max_request_bytes", or the flag spelling
// "--max-request-bytes") from `value`, a whole number in the limit's range.
// Returns false with *err set for an unknown key or a bad value; *known
// says whether `key` names a limit at all (other settings pass through).
bool SetLimit(std::string_view key, const std::string& value, Limits* limits, bool* known, std::string* err);

// "--max-request-bytes N ..." for the usage line.
std::string LimitFlagsUsage();

}  // namespace treaty::engine
