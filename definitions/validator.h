// The validator: semantic checks of a loaded Definition. States (initial,
// reachable, a way out), steps (known states, roles, one machine level),
// expressions (parse, known fields, types, visibility), deadlines.
// Each problem is a diagnostic at its exact source location.
//
// Thread-safety: reentrant.
#pragma once

#include <optional>
#include <string>

#include "definitions/model.h"
#include "definitions/source.h"

namespace treaty::defs {

void Validate(const Definition& def, Diagnostics* diags);

// Load + validate, diagnostics sorted by line, column, message.
// nullopt when there is any problem.
std::optional<Definition> CheckFile(const std::string& path, Diagnostics* diags);
std::optional<Definition> CheckText(std::string_view yaml, const std::string& file, Diagnostics* diags);

}  // namespace treaty::defs
