// The definition loader: YAML text to a Definition, with the source
// location of every name. Reports syntax errors, unknown keys (with a "did
// you mean" hint), wrong value shapes, names that are not identifiers and
// duplicate names; all of them, not just the first. Semantic checks
// (reachability, roles, expressions...) are the validator's.
//
// Thread-safety: reentrant.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "definitions/model.h"
#include "definitions/source.h"

namespace treaty::defs {

// nullopt when there was any problem (all reported to `diags`).
std::optional<Definition> ParseDefinition(std::string_view yaml_text, const std::string& file, Diagnostics* diags);
std::optional<Definition> LoadDefinitionFile(const std::string& path, Diagnostics* diags);

// "48h", "30m", "10s", "500ms", "7d" or a plain number of milliseconds.
std::optional<int64_t> ParseDuration(std::string_view text);

}  // namespace treaty::defs
