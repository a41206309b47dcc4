// The definition loader: YAML text to a Definition, with the source
// location of every name. Reports YAML syntax errors, unknown keys (with a
// "did you mean" hint), wrong value shapes, names that are not valid,
// unknown field types and duplicate names or keys; all of them, not just
// the first, each at its line and column. Semantic checks (initial states,
// reachability, roles, expressions...) are the validator's (validator.h).
//
// Names (docs/definitions.md, "Names"):
//   states, steps, roles, regions  [A-Za-z_][A-Za-z0-9_-]*
//   data, input and property fields [A-Za-z_][A-Za-z0-9_]*  (expressions
//                                    read them as data.NAME, where '-'
//                                    would be a minus)
//   the process                     [A-Za-z_][A-Za-z0-9_.-]*
//
// yaml-cpp exceptions never leave these functions: they become diagnostics.
//
// Thread-safety: reentrant; no shared state.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "definitions/model.h"
#include "definitions/source.h"

namespace treaty::defs {

// The Definition when there was no problem at this stage; nullopt (and
// every problem in `diags`) otherwise.
std::optional<Definition> ParseDefinition(std::string_view yaml_text, const std::string& file, Diagnostics* diags);
// Reads the file (at most 4 MiB) and parses it.
std::optional<Definition> LoadDefinitionFile(const std::string& path, Diagnostics* diags);

// A duration in milliseconds: one or more number-unit pairs, units ms, s,
// m, h, d ("500ms", "48h", "1h30m", "7d"). nullopt when malformed or when
// it overflows 64 bits.
std::optional<int64_t> ParseDuration(std::string_view text);

// The naming rules above.
bool IsName(std::string_view s);
bool IsFieldName(std::string_view s);
bool IsProcessName(std::string_view s);

}  // namespace treaty::defs
