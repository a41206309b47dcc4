// The validator: semantic checks of a loaded Definition, each problem a
// diagnostic at its exact source location (docs/definitions.md lists the
// messages):
//   - roles: at least one; `by` and `visible_to` name declared roles;
//   - states: one initial state per level (top, composite state, region),
//     names unique in the whole tree, every state reachable from the
//     initial state, every non-final state has a way out (a step from it or
//     from an enclosing composite state), no step leaves a final state,
//     composite states are not final;
//   - steps: known states (with a "did you mean" hint), from and to within
//     one machine level (same composite state and region);
//   - expressions: guards and `set:` parse, read declared fields only, mix
//     no types, guards are boolean, `set:` targets are declared data fields
//     of a fitting type, and rules read only fields every role may see
//     (the visibility rules, schema.h InputVisibleTo);
//   - deadlines: the step exists and leaves that state;
//   - tasks: a human task's form describes input fields of its step only;
//     a job task's error steps exist, are other steps, and leave every
//     state the job's step leaves.
//
// Thread-safety: reentrant; no shared state.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "definitions/model.h"
#include "definitions/source.h"

namespace treaty::defs {

// Appends every problem of `def` to `diags` (unsorted).
void Validate(const Definition& def, Diagnostics* diags);

// Load + validate, diagnostics sorted by line, column, message. The
// Definition when there is no problem at all; nullopt otherwise.
std::optional<Definition> CheckFile(const std::string& path, Diagnostics* diags);
std::optional<Definition> CheckText(std::string_view yaml, const std::string& file, Diagnostics* diags);

}  // namespace treaty::defs
