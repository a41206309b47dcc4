// Source positions inside YAML scalars: the line and column each byte of a
// scalar's decoded value was written at, so that a problem at byte k of an
// expression is reported where that byte stands in the file, also after
// escapes ("\"", "\u00e9") and in multi-line (quoted, plain, literal `|`
// and folded `>`) scalars. Columns count bytes, like yaml-cpp's marks.
//
// Thread-safety: pure function.
#pragma once

#include <cstddef>
#include <optional>
#include <string_view>
#include <utility>
#include <vector>

#include "definitions/source.h"

namespace treaty::defs {

struct ScalarPositions {
  Loc start;  // first byte of the value (where it would be, when empty)
  // Same meaning as Expression::breaks: from value offset `first` on, bytes
  // count from source position `second`.
  std::vector<std::pair<int, Loc>> breaks;
};

// `source` is the whole document as yaml-cpp read it (without a byte order
// mark), `pos` the byte offset of yaml-cpp's mark for the scalar (its
// opening quote, its block indicator `|`/`>`, its tag or anchor, or its
// first character), `at` that mark's line and column, `value` the scalar
// as yaml-cpp decoded it. nullopt when the text at `pos` does not decode to
// exactly `value`; callers then fall back on `at`.
std::optional<ScalarPositions> LocateScalar(std::string_view source, size_t pos, Loc at, std::string_view value);

}  // namespace treaty::defs
