// A step's input as a JSON Schema (draft 2020-12), for UIs and API clients
// that render or pre-check a step's form: type, bounds, lengths, enum,
// properties, items and required fields from the step's `input`, with
// titles and descriptions from its human task's form. It describes the
// check the engine applies (schema.h CheckInput), which stays the one that
// decides; it adds no rule of its own.
//
// Thread-safety: pure function.
#pragma once

#include <string>

#include "definitions/model.h"
#include "definitions/value.h"

namespace treaty::defs {

// The schema as a Value (an object), numbers exact: decimal bounds and enum
// values keep their decimal text, never passing through floating point.
//
//   {"$schema": "https://json-schema.org/draft/2020-12/schema",
//    "type": "object", "additionalProperties": false,
//    "properties": {FIELD: {...}, ...}, "required": [FIELD, ...],
//    "title": form title or step label, "description": form description
//    or step description}
//
// A field: "type" (string, integer, number for decimal, boolean, object,
// array; none for any), "minimum"/"maximum", "minLength"/"maxLength"
// (strings) or "minItems"/"maxItems" (arrays), "enum", "properties" and
// "required" (objects; with properties, "additionalProperties": false, as
// undeclared members are refused), "items" (arrays), "title" (the form
// field's label) and "description" (the form field's help, else the
// field's own description). Empty titles, descriptions and lists are left
// out; "required" lists names sorted. A form's placeholders are not part
// of JSON Schema: they are in StepSpec::task->form.
Value InputJsonSchemaValue(const StepSpec& step);

// InputJsonSchemaValue(step) as compact JSON with sorted keys.
std::string InputJsonSchema(const StepSpec& step);

}  // namespace treaty::defs
