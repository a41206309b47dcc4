// Log lines of the adapters' daemons (treaty-webhook, treaty-web) on
// stderr, prefixed with the UTC time to the millisecond
// ("2026-11-30T10:47:31.123Z "), so logs of several processes line up.
//
// Thread-safety: Log may be called from any thread; lines never interleave.
#pragma once

#include <string>

namespace treaty::adapters {

void Log(const std::string& line);

}  // namespace treaty::adapters
