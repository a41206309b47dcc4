#include "definitions/schema.h"

namespace treaty::defs {
namespace {

int64_t CodePoints(const std::string& s) {
  int64_t n = 0;
  for (unsigned char c : s)
    if ((c & 0xC0) != 0x80) ++n;
  return n;
}

Status Bad(const std::string& path, const std::string& why) { return Status::InvalidArgument(path + ": " + why); }

bool TypeMatches(FieldType t, const Value& v) {
  switch (t) {
    case FieldType::kString: return v.is_string();
    case FieldType::kInteger: return v.is_int() || (v.is_decimal() && v.as_decimal().IsInteger());
    case FieldType::kDecimal: return v.is_number();
    case FieldType::kBoolean: return v.is_bool();
    case FieldType::kObject: return v.is_object();
    case FieldType::kArray: return v.is_list();
    case FieldType::kAny: return true;
  }
  return false;
}

}  // namespace

Status CheckField(const FieldSpec& spec, const Value& v, const std::string& path) {
  if (v.is_redacted()) return Status::Ok();
  if (!TypeMatches(spec.type, v))
    return Bad(path, std::string("must be ") +
                         (spec.type == FieldType::kInteger || spec.type == FieldType::kArray ||
                                  spec.type == FieldType::kObject || spec.type == FieldType::kAny
                              ? "an "
                              : "a ") +
                         FieldTypeName(spec.type) + ", got " + Value::KindName(v.kind()));
  if (v.is_number()) {
    Decimal d = v.as_number();
    if (spec.minimum && Decimal::Compare(d, *spec.minimum) < 0)
      return Bad(path, "must be at least " + spec.minimum->ToString() + " (got " + d.ToString() + ")");
    if (spec.maximum && Decimal::Compare(d, *spec.maximum) > 0)
      return Bad(path, "must be at most " + spec.maximum->ToString() + " (got " + d.ToString() + ")");
  }
  if (v.is_string() || v.is_list()) {
    int64_t n = v.is_string() ? CodePoints(v.as_string()) : static_cast<int64_t>(v.as_list().size());
    const char* unit = v.is_string() ? "characters" : "items";
    if (spec.min_length && n < *spec.min_length)
      return Bad(path, "must have at least " + std::to_string(*spec.min_length) + " " + unit + " (got " +
                           std::to_string(n) + ")");
    if (spec.max_length && n > *spec.max_length)
      return Bad(path, "must have at most " + std::to_string(*spec.max_length) + " " + unit + " (got " +
                           std::to_string(n) + ")");
  }
  if (!spec.enum_values.empty()) {
    bool found = false;
    for (const auto& e : spec.enum_values) found = found || e == v;
    if (!found) {
      std::string allowed;
      for (size_t i = 0; i < spec.enum_values.size(); ++i)
        allowed += (i ? ", " : "") + spec.enum_values[i].ToCanonicalJson();
      return Bad(path, "must be one of " + allowed + " (got " + v.ToCanonicalJson() + ")");
    }
  }
  if (v.is_object() && !spec.properties.empty()) {
    for (const auto& p : spec.properties) {
      const Value* m = v.Find(p.name);
      if (m == nullptr || m->is_null()) {
        if (p.required) return Bad(path + "." + p.name, "is required");
        continue;
      }
      TREATY_RETURN_IF_ERROR(CheckField(p, *m, path + "." + p.name));
    }
    for (const auto& [k, m] : v.as_object())
      if (spec.FindProperty(k) == nullptr) return Bad(path + "." + k, "is not a declared property");
  }
  if (v.is_list() && spec.items) {
    const auto& l = v.as_list();
    for (size_t i = 0; i < l.size(); ++i)
      TREATY_RETURN_IF_ERROR(CheckField(*spec.items, l[i], path + "[" + std::to_string(i) + "]"));
  }
  return Status::Ok();
}

Status CheckInput(const StepSpec& step, const Value& input) {
  if (!input.is_object()) return Status::InvalidArgument("input: must be a JSON object, got " + std::string(Value::KindName(input.kind())));
  for (const auto& f : step.input) {
    const Value* v = input.Find(f.name);
    if (v == nullptr || v->is_null()) {
      if (f.required) return Bad("input." + f.name, "is required by step '" + step.name + "'");
      continue;
    }
    TREATY_RETURN_IF_ERROR(CheckField(f, *v, "input." + f.name));
  }
  for (const auto& [k, v] : input.as_object()) {
    bool declared = false;
    for (const auto& f : step.input) declared = declared || f.name == k;
    if (!declared) return Bad("input." + k, "step '" + step.name + "' has no input field '" + k + "'");
  }
  return Status::Ok();
}

Status CheckData(const Definition& def, const Value& data) {
  if (!data.is_object()) return Status::InvalidArgument("data: must be an object");
  for (const auto& [k, v] : data.as_object()) {
    const FieldSpec* f = def.FindData(k);
    if (f == nullptr) return Bad("data." + k, "is not a declared data field");
    if (v.is_null()) continue;
    TREATY_RETURN_IF_ERROR(CheckField(*f, v, "data." + k));
  }
  return Status::Ok();
}

expr::TypeInfo TypeOfField(const FieldSpec& f) {
  using K = expr::TypeInfo::Kind;
  expr::TypeInfo t;
  switch (f.type) {
    case FieldType::kString: t.kind = K::kString; break;
    case FieldType::kInteger: t.kind = K::kInt; break;
    case FieldType::kDecimal: t.kind = K::kDecimal; break;
    case FieldType::kBoolean: t.kind = K::kBool; break;
    case FieldType::kObject:
      t.kind = K::kObject;
      t.open = f.properties.empty();
      for (const auto& p : f.properties) t.fields[p.name] = TypeOfField(p);
      break;
    case FieldType::kArray:
      t.kind = K::kList;
      if (f.items) t.element = std::make_shared<expr::TypeInfo>(TypeOfField(*f.items));
      break;
    case FieldType::kAny: t.kind = K::kAny; break;
  }
  t.optional = !f.required;
  t.visible_to = f.visible_to;
  return t;
}

expr::Env EnvForStep(const Definition& def, const StepSpec& step) {
  using K = expr::TypeInfo::Kind;
  expr::Env env;
  env.input.kind = K::kObject;
  for (const auto& f : step.input) env.input.fields[f.name] = TypeOfField(f);
  env.data.kind = K::kObject;
  for (const auto& f : def.data) {
    expr::TypeInfo t = TypeOfField(f);
    t.optional = true;  // data fields start unset
    env.data.fields[f.name] = t;
  }
  env.actor.kind = K::kObject;
  expr::TypeInfo party;
  party.kind = K::kString;
  env.actor.fields["party"] = party;
  expr::TypeInfo roles;
  roles.kind = K::kList;
  roles.element = std::make_shared<expr::TypeInfo>();
  roles.element->kind = K::kString;
  env.actor.fields["roles"] = roles;
  env.chain.kind = K::kObject;
  expr::TypeInfo time;
  time.kind = K::kInt;
  env.chain.fields["time"] = time;
  return env;
}

}  // namespace treaty::defs
