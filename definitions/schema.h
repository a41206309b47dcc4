// Schema checks of step inputs and instance data, run by every machine on
// every apply (fast, deterministic, no allocation beyond error messages),
// and the static types and visibility the expression checker sees for
// declared fields.
//
// Errors are INVALID_ARGUMENT with a message that starts with the schema
// path that failed, e.g. "input.items[1].qty: must be at least 1 (got 0)".
// Values this party holds only as a hash (Value::is_redacted) pass: the
// parties that can see them check them.
//
// Types: an integer is accepted where a decimal is declared, never the
// other way round (2.0 is a decimal). Lengths of strings count Unicode
// code points, of arrays items.
//
// Thread-safety: pure functions.
#pragma once

#include <string>
#include <vector>

#include "definitions/base/status.h"
#include "definitions/expr/expr.h"
#include "definitions/model.h"
#include "definitions/value.h"

namespace treaty::defs {

// One value against one field spec; `path` prefixes the message.
Status CheckField(const FieldSpec& spec, const Value& v, const std::string& path);
// The input must be an object; undeclared fields are refused, required
// ones must be present and not null, every present one meets its spec.
Status CheckInput(const StepSpec& step, const Value& input);
// Instance data after `set:`: an object (or null, nothing set yet) of
// declared fields; null or absent fields are unset.
Status CheckData(const Definition& def, const Value& data);

// The static type of a field: its kind, declared members (objects with
// properties are closed, without them open), element type, optional
// (input fields with required: false) and visible_to.
expr::TypeInfo TypeOfField(const FieldSpec& f);

// The roles that may see input field `field` of `step`; empty = every role.
// An input field that `set:` copies as it is (`target: input.field`) into
// data fields restricted by visible_to is restricted the same way: it is
// visible to the union of those fields' roles, or to every role when one
// of them is visible to every role. Any other input field is visible to
// every role. Parses the step's `set:` expressions: call it when loading.
std::vector<std::string> InputVisibleTo(const Definition& def, const StepSpec& step, const std::string& field);

// What the step's guard and `set:` expressions may read: input = the
// step's input fields (visibility from InputVisibleTo), data = the data
// fields (all optional: unset reads as null), actor = {party: string,
// roles: list of string}, chain = {time: integer, ms}.
expr::Env EnvForStep(const Definition& def, const StepSpec& step);

}  // namespace treaty::defs
