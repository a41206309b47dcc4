#include "definitions/loader.h"

#include <yaml-cpp/yaml.h>

#include <fstream>
#include <set>
#include <sstream>

#include "definitions/base/suggest.h"

namespace treaty::defs {
namespace {

constexpr size_t kMaxFileBytes = 4 << 20;

Loc LocOf(const YAML::Node& n) {
  YAML::Mark m = n.Mark();
  if (m.line < 0) return Loc{0, 0};
  return Loc{m.line + 1, m.column + 1};
}

bool IsIdentifier(const std::string& s) {
  if (s.empty() || !(std::isalpha(static_cast<unsigned char>(s[0])) || s[0] == '_')) return false;
  for (char c : s)
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '_') return false;
  return true;
}

bool IsProcessName(const std::string& s) {
  if (s.empty() || !(std::isalpha(static_cast<unsigned char>(s[0])) || s[0] == '_')) return false;
  for (char c : s)
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '_' && c != '-' && c != '.') return false;
  return true;
}

class Loader {
 public:
  Loader(const std::string& file, Diagnostics* diags) : file_(file), diags_(diags) {}

  std::optional<Definition> Run(std::string_view text) {
    YAML::Node root;
    try {
      root = YAML::Load(std::string(text));
    } catch (const YAML::ParserException& e) {
      Loc loc{e.mark.line + 1, e.mark.column + 1};
      if (e.mark.line < 0) loc = Loc{1, 1};
      diags_->Error(loc, "invalid YAML: " + e.msg);
      return std::nullopt;
    } catch (const YAML::Exception& e) {
      diags_->Error(Loc{1, 1}, std::string("invalid YAML: ") + e.what());
      return std::nullopt;
    }
    try {
      Definition d;
      d.file = file_;
      Top(root, &d);
      if (!diags_->empty()) return std::nullopt;
      return d;
    } catch (const YAML::Exception& e) {
      diags_->Error(Loc{1, 1}, std::string("invalid definition: ") + e.what());
      return std::nullopt;
    }
  }

 private:
  void Error(const YAML::Node& n, std::string m) { diags_->Error(LocOf(n), std::move(m)); }

  // Checks a mapping's keys against the allowed ones; reports unknown and
  // duplicate keys. Returns false when `n` is not a mapping.
  bool Keys(const YAML::Node& n, const std::string& what, const std::vector<std::string>& allowed) {
    if (!n.IsMap()) {
      Error(n, what + " must be a mapping");
      return false;
    }
    std::set<std::string> seen;
    for (auto it = n.begin(); it != n.end(); ++it) {
      std::string k = it->first.Scalar();
      if (!seen.insert(k).second) Error(it->first, "duplicate key '" + k + "' in " + what);
      if (std::find(allowed.begin(), allowed.end(), k) == allowed.end())
        Error(it->first, "unknown key '" + k + "' in " + what + DidYouMean(k, allowed));
    }
    return true;
  }

  // Entries of a user-named mapping (states, steps, fields) in document
  // order, with duplicate and identifier checks.
  std::vector<std::pair<YAML::Node, YAML::Node>> Entries(const YAML::Node& n, const std::string& what,
                                                         const std::string& kind) {
    std::vector<std::pair<YAML::Node, YAML::Node>> out;
    if (!n || n.IsNull()) return out;
    if (!n.IsMap()) {
      Error(n, what + " must be a mapping of " + kind + " names");
      return out;
    }
    std::set<std::string> seen;
    for (auto it = n.begin(); it != n.end(); ++it) {
      std::string k = it->first.Scalar();
      if (!it->first.IsScalar()) {
        Error(it->first, kind + " names must be plain names");
        continue;
      }
      if (!IsIdentifier(k)) {
        Error(it->first, "'" + k + "' is not a valid " + kind + " name (letters, digits and '_', not starting with a digit)");
        continue;
      }
      if (!seen.insert(k).second) {
        Error(it->first, "duplicate " + kind + " '" + k + "'");
        continue;
      }
      out.emplace_back(it->first, it->second);
    }
    return out;
  }

  std::optional<std::string> Str(const YAML::Node& n, const std::string& what) {
    if (!n.IsScalar()) {
      Error(n, what + " must be a string");
      return std::nullopt;
    }
    return n.Scalar();
  }

  std::optional<bool> Bool(const YAML::Node& n, const std::string& what) {
    if (n.IsScalar()) {
      const std::string& s = n.Scalar();
      if (s == "true") return true;
      if (s == "false") return false;
    }
    Error(n, what + " must be true or false");
    return std::nullopt;
  }

  std::optional<int64_t> Int(const YAML::Node& n, const std::string& what) {
    if (n.IsScalar()) {
      const std::string& s = n.Scalar();
      char* end = nullptr;
      errno = 0;
      long long v = std::strtoll(s.c_str(), &end, 10);
      if (!s.empty() && *end == '\0' && errno == 0) return v;
    }
    Error(n, what + " must be an integer");
    return std::nullopt;
  }

  std::optional<Decimal> Number(const YAML::Node& n, const std::string& what) {
    if (n.IsScalar()) {
      auto d = Decimal::Parse(n.Scalar());
      if (d.ok()) return *d;
    }
    Error(n, what + " must be a number");
    return std::nullopt;
  }

  // A list of names, or a single name.
  std::vector<NamedRef> Names(const YAML::Node& n, const std::string& what) {
    std::vector<NamedRef> out;
    auto one = [&](const YAML::Node& e) {
      if (!e.IsScalar() || e.Scalar().empty()) {
        Error(e, what + " must name " + (n.IsSequence() ? "items" : "something"));
        return;
      }
      if (!IsIdentifier(e.Scalar())) {
        Error(e, "'" + e.Scalar() + "' is not a valid name in " + what);
        return;
      }
      out.push_back({e.Scalar(), LocOf(e)});
    };
    if (n.IsSequence()) {
      for (const auto& e : n) one(e);
    } else {
      one(n);
    }
    return out;
  }

  void Top(const YAML::Node& root, Definition* d) {
    if (!root || root.IsNull()) {
      diags_->Error(Loc{1, 1}, "empty definition: expected process, version, roles, states and steps");
      return;
    }
    if (!Keys(root, "the definition", {"process", "version", "description", "roles", "data", "states", "steps"}))
      return;
    if (auto n = root["process"]) {
      d->process_loc = LocOf(n);
      if (auto s = Str(n, "'process'")) {
        d->process = *s;
        if (!IsProcessName(*s)) Error(n, "'" + *s + "' is not a valid process name (letters, digits, '_', '-', '.')");
      }
    } else {
      diags_->Error(Loc{1, 1}, "missing 'process': every definition names its process");
    }
    if (auto n = root["version"]) {
      d->version_loc = LocOf(n);
      if (auto v = Int(n, "'version'")) {
        d->version = *v;
        if (*v < 1) Error(n, "'version' must be 1 or more");
      }
    } else {
      diags_->Error(Loc{1, 1}, "missing 'version'");
    }
    if (auto n = root["description"]) {
      if (auto s = Str(n, "'description'")) d->description = *s;
    }
    if (auto n = root["roles"]) {
      if (!n.IsSequence()) {
        Error(n, "'roles' must be a list of role names");
      } else {
        std::set<std::string> seen;
        for (const auto& r : Names(n, "'roles'")) {
          if (!seen.insert(r.name).second) {
            diags_->Error(r.loc, "duplicate role '" + r.name + "'");
            continue;
          }
          d->roles.push_back(r);
        }
      }
    } else {
      diags_->Error(Loc{1, 1}, "missing 'roles': list the roles that take part");
    }
    for (auto& [k, v] : Entries(root["data"], "'data'", "field")) {
      FieldSpec f;
      if (Field(k, v, "data field '" + k.Scalar() + "'", /*is_data=*/true, &f)) d->data.push_back(std::move(f));
    }
    if (auto n = root["states"]) {
      d->states = States(n, "'states'");
    } else {
      diags_->Error(Loc{1, 1}, "missing 'states'");
    }
    if (auto n = root["steps"]) {
      for (auto& [k, v] : Entries(n, "'steps'", "step")) {
        StepSpec s;
        if (Step(k, v, &s)) d->steps.push_back(std::move(s));
      }
    } else {
      diags_->Error(Loc{1, 1}, "missing 'steps'");
    }
  }

  std::optional<FieldType> TypeName(const YAML::Node& n) {
    static const std::vector<std::pair<std::string, FieldType>> kTypes = {
        {"string", FieldType::kString}, {"integer", FieldType::kInteger}, {"decimal", FieldType::kDecimal},
        {"boolean", FieldType::kBoolean}, {"object", FieldType::kObject}, {"array", FieldType::kArray},
        {"any", FieldType::kAny}};
    if (n.IsScalar())
      for (const auto& [name, t] : kTypes)
        if (n.Scalar() == name) return t;
    std::vector<std::string> names;
    for (const auto& [name, t] : kTypes) names.push_back(name);
    Error(n, "unknown type '" + (n.IsScalar() ? n.Scalar() : std::string("?")) +
                 "': expected string, integer, decimal, boolean, object, array or any" +
                 (n.IsScalar() ? DidYouMean(n.Scalar(), names) : ""));
    return std::nullopt;
  }

  // A field spec: `name: type` or `name: { type: ..., ... }`.
  bool Field(const YAML::Node& key, const YAML::Node& v, const std::string& what, bool is_data, FieldSpec* f) {
    f->name = key.IsScalar() ? key.Scalar() : "";
    f->loc = LocOf(key);
    if (is_data) f->required = false;
    if (v.IsScalar()) {
      auto t = TypeName(v);
      if (!t) return false;
      f->type = *t;
      return true;
    }
    std::vector<std::string> keys = {"type",       "description", "minimum", "maximum", "min_length",
                                     "max_length", "enum",        "properties", "items"};
    if (is_data) {
      keys.push_back("visible_to");
      keys.push_back("unique");
    } else {
      keys.push_back("required");
    }
    if (!Keys(v, what, keys)) return false;
    bool ok = true;
    if (auto t = v["type"]) {
      auto ft = TypeName(t);
      if (ft) {
        f->type = *ft;
      } else {
        ok = false;
      }
    } else {
      Error(v, what + " needs a 'type'");
      ok = false;
    }
    if (auto n = v["description"]) {
      if (auto s = Str(n, "'description'")) f->description = *s;
    }
    auto numeric = [&](const char* key, std::optional<Decimal>* out) {
      if (auto n = v[key]) {
        if (f->type != FieldType::kInteger && f->type != FieldType::kDecimal)
          Error(n, std::string("'") + key + "' applies to integer and decimal fields, not " + FieldTypeName(f->type));
        *out = Number(n, std::string("'") + key + "'");
        if (!*out) ok = false;
      }
    };
    numeric("minimum", &f->minimum);
    numeric("maximum", &f->maximum);
    auto length = [&](const char* key, std::optional<int64_t>* out) {
      if (auto n = v[key]) {
        if (f->type != FieldType::kString && f->type != FieldType::kArray)
          Error(n, std::string("'") + key + "' applies to string and array fields, not " + FieldTypeName(f->type));
        *out = Int(n, std::string("'") + key + "'");
        if (!*out) ok = false;
        else if (**out < 0) Error(n, std::string("'") + key + "' must not be negative");
      }
    };
    length("min_length", &f->min_length);
    length("max_length", &f->max_length);
    if (f->minimum && f->maximum && Decimal::Compare(*f->minimum, *f->maximum) > 0)
      Error(v["maximum"], "'maximum' is less than 'minimum'");
    if (f->min_length && f->max_length && *f->min_length > *f->max_length)
      Error(v["max_length"], "'max_length' is less than 'min_length'");
    if (auto n = v["enum"]) {
      if (!n.IsSequence() || n.size() == 0) {
        Error(n, "'enum' must be a non-empty list of values");
        ok = false;
      } else {
        for (const auto& e : n) {
          if (!e.IsScalar()) {
            Error(e, "'enum' values must be scalars");
            ok = false;
            continue;
          }
          Value val;
          if (f->type == FieldType::kString || f->type == FieldType::kAny) {
            val = Value::Str(e.Scalar());
          } else if (f->type == FieldType::kInteger) {
            auto i = Int(e, "an integer 'enum' value");
            if (!i) continue;
            val = Value::Int(*i);
          } else if (f->type == FieldType::kDecimal) {
            auto dv = Number(e, "a decimal 'enum' value");
            if (!dv) continue;
            val = Value::Dec(*dv);
          } else if (f->type == FieldType::kBoolean) {
            auto b = Bool(e, "a boolean 'enum' value");
            if (!b) continue;
            val = Value::Bool(*b);
          } else {
            Error(e, std::string("'enum' does not apply to ") + FieldTypeName(f->type) + " fields");
            continue;
          }
          f->enum_values.push_back(std::move(val));
        }
      }
    }
    if (auto n = v["properties"]) {
      if (f->type != FieldType::kObject) Error(n, "'properties' applies to object fields");
      for (auto& [k, pv] : Entries(n, "'properties'", "field")) {
        FieldSpec p;
        if (Field(k, pv, "property '" + k.Scalar() + "'", false, &p)) f->properties.push_back(std::move(p));
        else ok = false;
      }
    }
    if (auto n = v["items"]) {
      if (f->type != FieldType::kArray) Error(n, "'items' applies to array fields");
      auto item = std::make_shared<FieldSpec>();
      if (Field(n, n, "'items'", false, item.get())) {
        item->name = "";
        f->items = item;
      } else {
        ok = false;
      }
    }
    if (auto n = v["required"]) {
      if (auto b = Bool(n, "'required'")) f->required = *b;
    }
    if (auto n = v["visible_to"]) {
      f->visible_to_loc = LocOf(n);
      if (!n.IsSequence()) {
        Error(n, "'visible_to' must be a list of roles");
      } else {
        for (const auto& r : Names(n, "'visible_to'")) f->visible_to.push_back(r.name);
        if (f->visible_to.empty()) Error(n, "'visible_to' must name at least one role");
      }
    }
    if (auto n = v["unique"]) {
      if (auto b = Bool(n, "'unique'")) f->unique = *b;
    }
    return ok;
  }

  std::vector<StateSpec> States(const YAML::Node& n, const std::string& what) {
    std::vector<StateSpec> out;
    for (auto& [k, v] : Entries(n, what, "state")) {
      StateSpec s;
      s.name = k.Scalar();
      s.loc = LocOf(k);
      std::string w = "state '" + s.name + "'";
      if (!v.IsNull() && Keys(v, w, {"initial", "final", "description", "label", "deadline", "states", "regions"})) {
        if (auto x = v["initial"]) s.initial = Bool(x, "'initial'").value_or(false);
        if (auto x = v["final"]) s.final = Bool(x, "'final'").value_or(false);
        if (auto x = v["description"]) s.description = Str(x, "'description'").value_or("");
        if (auto x = v["label"]) s.label = Str(x, "'label'").value_or("");
        if (auto x = v["deadline"]) {
          s.deadline_loc = LocOf(x);
          if (Keys(x, "the deadline of " + w, {"after", "step"})) {
            if (auto a = x["after"]) {
              s.deadline_after_ms = a.IsScalar() ? ParseDuration(a.Scalar()) : std::nullopt;
              if (!s.deadline_after_ms)
                Error(a, "'after' must be a duration such as 48h, 30m, 10s, 500ms or 7d");
            } else {
              Error(x, "the deadline of " + w + " needs 'after'");
            }
            if (auto st = x["step"]) {
              if (auto name = Str(st, "'step'")) s.deadline_step = *name;
            } else {
              Error(x, "the deadline of " + w + " needs 'step'");
            }
          }
        }
        if (auto x = v["states"]) s.states = States(x, "the states of " + w);
        if (auto x = v["regions"]) {
          if (v["states"]) Error(x, w + " has both 'states' and 'regions'; use one");
          for (auto& [rk, rv] : Entries(x, "the regions of " + w, "region")) {
            Region r;
            r.name = rk.Scalar();
            r.loc = LocOf(rk);
            if (Keys(rv, "region '" + r.name + "'", {"states", "description"})) {
              if (auto rs = rv["states"]) {
                r.states = States(rs, "the states of region '" + r.name + "'");
              } else {
                Error(rv, "region '" + r.name + "' needs 'states'");
              }
            }
            s.regions.push_back(std::move(r));
          }
        }
      }
      out.push_back(std::move(s));
    }
    return out;
  }

  bool Step(const YAML::Node& key, const YAML::Node& v, StepSpec* s) {
    s->name = key.Scalar();
    s->loc = LocOf(key);
    std::string w = "step '" + s->name + "'";
    if (!Keys(v, w, {"from", "to", "by", "label", "description", "input", "guard", "set", "task"})) return false;
    if (auto x = v["from"]) {
      s->from = Names(x, "'from'");
    } else {
      Error(v, w + " needs 'from'");
    }
    if (auto x = v["to"]) {
      auto names = Names(x, "'to'");
      if (x.IsSequence()) Error(x, "'to' names one state");
      if (!names.empty()) s->to = names[0];
    } else {
      Error(v, w + " needs 'to'");
    }
    if (auto x = v["by"]) {
      s->by = Names(x, "'by'");
    } else {
      Error(v, w + " needs 'by': the role that may propose it");
    }
    if (auto x = v["label"]) s->label = Str(x, "'label'").value_or("");
    if (auto x = v["description"]) s->description = Str(x, "'description'").value_or("");
    if (auto x = v["input"]) {
      for (auto& [k, fv] : Entries(x, "the input of " + w, "field")) {
        FieldSpec f;
        if (Field(k, fv, "input field '" + k.Scalar() + "'", false, &f)) s->input.push_back(std::move(f));
      }
    }
    if (auto x = v["guard"]) {
      if (auto e = Expr(x, "'guard'")) s->guard = *e;
    }
    if (auto x = v["set"]) {
      if (!x.IsMap()) {
        Error(x, "'set' must map data fields to expressions");
      } else {
        std::set<std::string> seen;
        for (auto it = x.begin(); it != x.end(); ++it) {
          std::string k = it->first.Scalar();
          if (!seen.insert(k).second) {
            Error(it->first, "duplicate key '" + k + "' in 'set'");
            continue;
          }
          auto e = Expr(it->second, "a 'set' expression");
          if (e) s->set.push_back({k, LocOf(it->first), *e});
        }
      }
    }
    if (auto x = v["task"]) {
      TaskSpec t;
      t.loc = LocOf(x);
      if (Keys(x, "'task'", {"human", "job"})) {
        if (auto h = x["human"]) {
          if (Keys(h, "'human'", {"queue"})) {
            if (auto q = h["queue"]) t.human_queue = Str(q, "'queue'").value_or("");
            else Error(h, "'human' needs a 'queue'");
          }
        }
        if (auto j = x["job"]) {
          if (Keys(j, "'job'", {"type"})) {
            if (auto ty = j["type"]) t.job_type = Str(ty, "'type'").value_or("");
            else Error(j, "'job' needs a 'type'");
          }
        }
        if (x["human"] && x["job"]) Error(x, "a task is either 'human' or 'job', not both");
      }
      s->task = t;
    }
    return true;
  }

  std::optional<Expression> Expr(const YAML::Node& n, const std::string& what) {
    if (!n.IsScalar()) {
      Error(n, what + " must be an expression string");
      return std::nullopt;
    }
    Expression e;
    e.text = n.Scalar();
    e.loc = LocOf(n);
    // A quoted scalar's mark is its opening quote; point at the text.
    if (n.Tag() == "!") e.loc.col += 1;
    return e;
  }

  std::string file_;
  Diagnostics* diags_;
};

}  // namespace

std::optional<int64_t> ParseDuration(std::string_view text) {
  size_t i = 0;
  int64_t n = 0;
  while (i < text.size() && text[i] >= '0' && text[i] <= '9') {
    if (n > (INT64_MAX - 9) / 10) return std::nullopt;
    n = n * 10 + (text[i++] - '0');
  }
  if (i == 0) return std::nullopt;
  std::string_view unit = text.substr(i);
  int64_t mult;
  if (unit.empty() || unit == "ms") mult = 1;
  else if (unit == "s") mult = 1000;
  else if (unit == "m") mult = 60 * 1000;
  else if (unit == "h") mult = 3600 * 1000;
  else if (unit == "d") mult = 24LL * 3600 * 1000;
  else return std::nullopt;
  if (n > INT64_MAX / mult) return std::nullopt;
  return n * mult;
}

std::optional<Definition> ParseDefinition(std::string_view yaml_text, const std::string& file, Diagnostics* diags) {
  return Loader(file, diags).Run(yaml_text);
}

std::optional<Definition> LoadDefinitionFile(const std::string& path, Diagnostics* diags) {
  std::ifstream f(path, std::ios::binary);
  if (!f) {
    diags->Error(Loc{1, 1}, "cannot read file");
    return std::nullopt;
  }
  std::string text;
  text.resize(kMaxFileBytes + 1);
  f.read(text.data(), static_cast<std::streamsize>(text.size()));
  text.resize(static_cast<size_t>(f.gcount()));
  if (text.size() > kMaxFileBytes) {
    diags->Error(Loc{1, 1}, "definition is larger than 4 MiB");
    return std::nullopt;
  }
  return ParseDefinition(text, path, diags);
}

}  // namespace treaty::defs
