#include "definitions/schema.h"

#include <algorithm>

#include "definitions/expr/ast.h"

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
    case FieldType::kInteger: return v.is_int();
    case FieldType::kDecimal: return v.is_number();
    case FieldType::kBoolean: return v.is_bool();
    case FieldType::kObject: return v.is_object();
    case FieldType::kArray: return v.is_list();
    case FieldType::kAny: return true;
  }
  return false;
}

const char* Article(FieldType t) {
  return t == FieldType::kInteger || t == FieldType::kArray || t == FieldType::kObject || t == FieldType::kAny ? "an"
                                                                                                               : "a";
}

// `input.NAME` exactly, as `set:` writes a plain copy.
bool IsPlainInputCopy(const std::string& text, std::string* field) {
  expr::ParseResult p = expr::Parse(text);
  if (!p.node || p.node->kind != expr::Node::Kind::kMember || p.node->kids.empty()) return false;
  const expr::Node& base = *p.node->kids[0];
  if (base.kind != expr::Node::Kind::kRoot || base.name != "input") return false;
  *field = p.node->name;
  return true;
}

// True when some declared role is missing from a non-empty visible_to.
bool HiddenFromSome(const Definition& def, const std::vector<std::string>& visible_to) {
  if (visible_to.empty()) return false;
  for (const auto& r : def.roles)
    if (std::find(visible_to.begin(), visible_to.end(), r.name) == visible_to.end()) return true;
  return false;
}

}  // namespace

Status CheckField(const FieldSpec& spec, const Value& v, const std::string& path) {
  if (v.is_redacted()) return Status::Ok();
  if (!TypeMatches(spec.type, v))
    return Bad(path, std::string("must be ") + Article(spec.type) + " " + FieldTypeName(spec.type) + ", got " +
                         Value::KindName(v.kind()));
  if (v.is_number() && (spec.minimum || spec.maximum)) {
    Decimal d = v.as_number();
    if (spec.minimum && Decimal::Compare(d, *spec.minimum) < 0)
      return Bad(path, "must be at least " + spec.minimum->ToString() + " (got " + d.ToString() + ")");
    if (spec.maximum && Decimal::Compare(d, *spec.maximum) > 0)
      return Bad(path, "must be at most " + spec.maximum->ToString() + " (got " + d.ToString() + ")");
  }
  if ((v.is_string() || v.is_list()) && (spec.min_length || spec.max_length)) {
    int64_t n = v.is_string() ? CodePoints(v.as_string()) : static_cast<int64_t>(v.as_list().size());
    auto count = [&](int64_t bound) {
      return std::to_string(bound) + (v.is_string() ? " character" : " item") + (bound == 1 ? "" : "s");
    };
    if (spec.min_length && n < *spec.min_length)
      return Bad(path, "must have at least " + count(*spec.min_length) + " (got " + std::to_string(n) + ")");
    if (spec.max_length && n > *spec.max_length)
      return Bad(path, "must have at most " + count(*spec.max_length) + " (got " + std::to_string(n) + ")");
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
  if (!input.is_object())
    return Status::InvalidArgument("input: must be an object, got " + std::string(Value::KindName(input.kind())));
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
  if (data.is_null()) return Status::Ok();
  if (!data.is_object())
    return Status::InvalidArgument("data: must be an object, got " + std::string(Value::KindName(data.kind())));
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

std::vector<std::string> InputVisibleTo(const Definition& def, const StepSpec& step, const std::string& field) {
  std::vector<std::string> roles;
  bool copied = false;
  for (const auto& a : step.set) {
    std::string src;
    const FieldSpec* target = def.FindData(a.field);
    if (target == nullptr || !IsPlainInputCopy(a.expr.text, &src) || src != field) continue;
    copied = true;
    if (!HiddenFromSome(def, target->visible_to)) return {};
    roles.insert(roles.end(), target->visible_to.begin(), target->visible_to.end());
  }
  if (!copied || !HiddenFromSome(def, roles)) return {};
  // The union, in the order the definition lists its roles.
  std::vector<std::string> out;
  for (const auto& r : def.roles)
    if (std::find(roles.begin(), roles.end(), r.name) != roles.end()) out.push_back(r.name);
  // Only undeclared roles (the validator reports them): still restricted.
  return out.empty() ? std::vector<std::string>{roles.front()} : out;
}

expr::Env EnvForStep(const Definition& def, const StepSpec& step) {
  using K = expr::TypeInfo::Kind;
  expr::Env env;
  env.input.kind = K::kObject;
  for (const auto& f : step.input) {
    expr::TypeInfo t = TypeOfField(f);
    t.visible_to = InputVisibleTo(def, step, f.name);
    env.input.fields[f.name] = std::move(t);
  }
  env.data.kind = K::kObject;
  for (const auto& f : def.data) {
    expr::TypeInfo t = TypeOfField(f);
    t.optional = true;  // data fields start unset
    env.data.fields[f.name] = std::move(t);
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
