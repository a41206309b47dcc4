// Schema checks of step inputs and instance data, run on every apply, and
// the static types the expression checker sees for declared fields.
//
// Errors start with the schema path that failed, e.g.
// "input.items[1].qty: must be at least 1 (got 0)". Values this party holds
// only as a hash pass: the parties that can see them check them.
//
// Thread-safety: pure functions.
#pragma once

#include "definitions/base/status.h"
#include "definitions/expr/expr.h"
#include "definitions/model.h"
#include "definitions/value.h"

namespace treaty::defs {

Status CheckField(const FieldSpec& spec, const Value& v, const std::string& path);
// INVALID_ARGUMENT when the input is not an object, lacks a required field,
// has a field the step does not declare, or a field breaks its spec.
Status CheckInput(const StepSpec& step, const Value& input);
// Instance data after `set:`; absent fields are unset.
Status CheckData(const Definition& def, const Value& data);

expr::TypeInfo TypeOfField(const FieldSpec& f);
expr::Env EnvForStep(const Definition& def, const StepSpec& step);

}  // namespace treaty::defs
