#include "definitions/input_schema.h"

#include <algorithm>

namespace treaty::defs {
namespace {

constexpr const char* kDialect = "https://json-schema.org/draft/2020-12/schema";

void SetText(ValueObject* o, const char* key, const std::string& text) {
  if (!text.empty()) (*o)[key] = Value::Str(text);
}

const char* JsonType(FieldType t) {
  switch (t) {
    case FieldType::kString: return "string";
    case FieldType::kInteger: return "integer";
    case FieldType::kDecimal: return "number";
    case FieldType::kBoolean: return "boolean";
    case FieldType::kObject: return "object";
    case FieldType::kArray: return "array";
    case FieldType::kAny: return nullptr;
  }
  return nullptr;
}

Value Bound(const Decimal& d) {
  Decimal n = d.Normalized();
  // An integral bound that fits int64 is written as an integer ("1", not "1.0").
  if (n.IsInteger() && n.units() >= INT64_MIN && n.units() <= INT64_MAX)
    return Value::Int(static_cast<int64_t>(n.units()));
  return Value::Dec(n);
}

Value Field(const FieldSpec& f, const FormField* form);

// properties + required of a list of fields; form fields by name if any.
void Members(const std::vector<FieldSpec>& fields, const TaskForm* form, ValueObject* o) {
  ValueObject props;
  std::vector<std::string> required;
  for (const auto& f : fields) {
    props[f.name] = Field(f, form ? form->FindField(f.name) : nullptr);
    if (f.required) required.push_back(f.name);
  }
  std::sort(required.begin(), required.end());
  (*o)["properties"] = Value::Object(std::move(props));
  if (!required.empty()) {
    ValueList names;
    for (auto& r : required) names.push_back(Value::Str(std::move(r)));
    (*o)["required"] = Value::List(std::move(names));
  }
}

Value Field(const FieldSpec& f, const FormField* form) {
  ValueObject o;
  if (const char* t = JsonType(f.type)) o["type"] = Value::Str(t);
  SetText(&o, "title", form ? form->label : "");
  SetText(&o, "description", form && !form->help.empty() ? form->help : f.description);
  if (f.minimum) o["minimum"] = Bound(*f.minimum);
  if (f.maximum) o["maximum"] = Bound(*f.maximum);
  bool items = f.type == FieldType::kArray;
  if (f.min_length) o[items ? "minItems" : "minLength"] = Value::Int(*f.min_length);
  if (f.max_length) o[items ? "maxItems" : "maxLength"] = Value::Int(*f.max_length);
  if (!f.enum_values.empty()) o["enum"] = Value::List(f.enum_values);
  if (!f.properties.empty()) {
    Members(f.properties, nullptr, &o);
    o["additionalProperties"] = Value::Bool(false);
  }
  if (f.items) o["items"] = Field(*f.items, nullptr);
  return Value::Object(std::move(o));
}

}  // namespace

Value InputJsonSchemaValue(const StepSpec& step) {
  const TaskForm* form = step.task && step.task->form ? &*step.task->form : nullptr;
  ValueObject o;
  o["$schema"] = Value::Str(kDialect);
  o["type"] = Value::Str("object");
  Members(step.input, form, &o);
  o["additionalProperties"] = Value::Bool(false);
  SetText(&o, "title", form && !form->title.empty() ? form->title : step.label);
  SetText(&o, "description", form && !form->description.empty() ? form->description : step.description);
  return Value::Object(std::move(o));
}

std::string InputJsonSchema(const StepSpec& step) { return InputJsonSchemaValue(step).ToCanonicalJson(); }

}  // namespace treaty::defs
