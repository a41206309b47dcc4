// Log lines of treaty-web on stderr, prefixed with the UTC time to the
// millisecond ("2026-11-30T10:47:31.123Z ").
//
// Thread-safety: Log may be called from any thread; lines never interleave.
#pragma once

#include <string>

namespace treaty::web {

void Log(const std::string& line);

}  // namespace treaty::web
