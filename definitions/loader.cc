#include "definitions/loader.h"

#include <yaml-cpp/eventhandler.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <fstream>
#include <set>
#include <sstream>
#include <utility>
#include <vector>

#include "definitions/base/suggest.h"
#include "definitions/scalar_positions.h"

namespace treaty::defs {
namespace {

constexpr size_t kMaxFileBytes = 4 << 20;
// Bounds on the YAML tree, aliases expanded: a definition is far smaller,
// and an alias cycle or an alias bomb must not hang the loader.
constexpr size_t kMaxNodes = 200000;
constexpr int kMaxDepth = 64;

bool IsAlpha(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_'; }
bool IsDigit(char c) { return c >= '0' && c <= '9'; }

bool NameWith(std::string_view s, std::string_view extra) {
  if (s.empty() || !IsAlpha(s[0])) return false;
  for (char c : s)
    if (!IsAlpha(c) && !IsDigit(c) && extra.find(c) == std::string_view::npos) return false;
  return true;
}

const std::vector<std::string>& TypeNames() {
  static const std::vector<std::string> kNames = {"string", "integer", "decimal", "boolean", "object", "array", "any"};
  return kNames;
}

std::optional<FieldType> TypeFromName(const std::string& s) {
  static const FieldType kTypes[] = {FieldType::kString, FieldType::kInteger, FieldType::kDecimal, FieldType::kBoolean,
                                     FieldType::kObject, FieldType::kArray,   FieldType::kAny};
  for (size_t i = 0; i < TypeNames().size(); ++i)
    if (TypeNames()[i] == s) return kTypes[i];
  return std::nullopt;
}

// Counts nodes (aliases expanded) and nesting; false when over the bounds.
bool WithinBounds(const YAML::Node& root, std::string* why) {
  std::vector<std::pair<YAML::Node, int>> stack{{root, 1}};
  size_t seen = 0;
  while (!stack.empty()) {
    auto [n, depth] = stack.back();
    stack.pop_back();
    if (++seen > kMaxNodes) {
      *why = "the document has more than " + std::to_string(kMaxNodes) + " nodes (aliases expanded)";
      return false;
    }
    if (depth > kMaxDepth) {
      *why = "the document nests deeper than " + std::to_string(kMaxDepth) + " levels";
      return false;
    }
    if (n.IsMap()) {
      for (auto it = n.begin(); it != n.end(); ++it) {
        stack.emplace_back(it->first, depth + 1);
        stack.emplace_back(it->second, depth + 1);
      }
    } else if (n.IsSequence()) {
      for (auto it = n.begin(); it != n.end(); ++it) stack.emplace_back(*it, depth + 1);
    }
  }
  return true;
}

// One key of a mapping, in document order.
struct Entry {
  std::string name;
  YAML::Node key;
  YAML::Node value;
};

// A mapping with fixed keys, first occurrence of each.
class Keys {
 public:
  void Add(Entry e) { entries_.push_back(std::move(e)); }
  const Entry* Get(std::string_view k) const {
    for (const auto& e : entries_)
      if (e.name == k) return &e;
    return nullptr;
  }

 private:
  std::vector<Entry> entries_;
};

enum class FieldKind { kData, kInput, kProperty, kItems };

// Finds where a second, non-empty YAML document starts. (yaml-cpp 0.7's
// LoadAll loops forever on some malformed input, so documents are not
// loaded that way: the first is loaded on its own, this only looks at the
// second one's first node.)
class SecondDocumentProbe : public YAML::EventHandler {
 public:
  std::optional<YAML::Mark> root;  // first node of the current document, unless null
  bool seen = false;

  void OnDocumentStart(const YAML::Mark&) override {}
  void OnDocumentEnd() override {}
  void OnNull(const YAML::Mark&, YAML::anchor_t) override { seen = true; }
  void OnAlias(const YAML::Mark& m, YAML::anchor_t) override { Node(m); }
  void OnScalar(const YAML::Mark& m, const std::string&, YAML::anchor_t, const std::string&) override { Node(m); }
  void OnSequenceStart(const YAML::Mark& m, const std::string&, YAML::anchor_t, YAML::EmitterStyle::value) override {
    Node(m);
  }
  void OnSequenceEnd() override {}
  void OnMapStart(const YAML::Mark& m, const std::string&, YAML::anchor_t, YAML::EmitterStyle::value) override {
    Node(m);
  }
  void OnMapEnd() override {}

 private:
  void Node(const YAML::Mark& m) {
    if (!seen) root = m;
    seen = true;
  }
};

std::optional<Loc> SecondDocument(const std::string& text) {
  // Another document needs a "---" or "..." marker first.
  if (text.find("---") == std::string::npos && text.find("...") == std::string::npos) return std::nullopt;
  std::istringstream in(text);
  YAML::Parser parser(in);
  SecondDocumentProbe first, second;
  if (!parser.HandleNextDocument(first) || !parser.HandleNextDocument(second) || !second.root) return std::nullopt;
  return Loc{second.root->line + 1, second.root->column + 1};
}

class Loader {
 public:
  Loader(std::string_view src, const std::string& file, Diagnostics* diags) : src_(src), file_(file), diags_(diags) {}

  std::optional<Definition> Run() {
    YAML::Node root;
    std::optional<Loc> second;
    try {
      std::string text(src_);
      root = YAML::Load(text);
      if (root && !root.IsNull()) second = SecondDocument(text);
    } catch (const YAML::Exception& e) {
      Loc loc{e.mark.line + 1, e.mark.column + 1};
      if (e.mark.line < 0) loc = Loc{1, 1};
      Error(loc, "invalid YAML: " + e.msg);
      return std::nullopt;
    } catch (const std::exception& e) {
      Error(Loc{1, 1}, std::string("invalid YAML: ") + e.what());
      return std::nullopt;
    }
    Definition d;
    d.file = file_;
    try {
      if (!root || root.IsNull()) {
        Error(Loc{1, 1}, "empty definition: expected process, version, roles, data, states and steps");
        return std::nullopt;
      }
      if (second) Error(*second, "a definition file holds one YAML document; another one starts here");
      std::string why;
      if (!WithinBounds(root, &why)) {
        Error(Loc{1, 1}, why);
        return std::nullopt;
      }
      Top(root, &d);
    } catch (const std::exception& e) {
      // Not expected: every access above checks the node's kind first.
      Error(Loc{1, 1}, std::string("cannot read the definition: ") + e.what());
    }
    if (errors_ > 0) return std::nullopt;
    return d;
  }

 private:
  // ---- reporting and positions ----

  Loc LocOf(const YAML::Node& n) const {
    YAML::Mark m = n.Mark();
    if (m.line < 0 || m.column < 0) return Loc{1, 1};
    return Loc{m.line + 1, m.column + 1};
  }
  // A value's position; a missing or null value has none of its own (yaml-cpp
  // marks it at the next token), so its key's is used.
  Loc ValueLoc(const Entry& e) const { return e.value.IsNull() ? LocOf(e.key) : LocOf(e.value); }

  void Error(Loc loc, std::string m) {
    ++errors_;
    diags_->Error(loc, std::move(m));
  }
  void Error(const YAML::Node& n, std::string m) { Error(LocOf(n), std::move(m)); }

  // ---- mappings ----

  // Reads a mapping's keys in order, reporting keys that are not plain
  // names and duplicates. `what` names the mapping in messages.
  std::optional<std::vector<Entry>> Entries(const YAML::Node& n, Loc where, const std::string& what,
                                            const std::string& shape) {
    if (!n.IsMap()) {
      Error(n.IsNull() ? where : LocOf(n), what + " must be " + shape);
      return std::nullopt;
    }
    std::vector<Entry> out;
    std::set<std::string> seen;
    for (auto it = n.begin(); it != n.end(); ++it) {
      if (!it->first.IsScalar()) {
        Error(it->first, "keys in " + what + " must be plain names, not " +
                             (it->first.IsMap()        ? "mappings"
                              : it->first.IsSequence() ? "lists"
                                                       : "null"));
        continue;
      }
      std::string k = it->first.Scalar();
      if (!seen.insert(k).second) {
        Error(it->first, "duplicate key '" + k + "' in " + what);
        continue;
      }
      out.push_back({k, it->first, it->second});
    }
    return out;
  }

  // A mapping with a fixed set of keys.
  std::optional<Keys> Fixed(const YAML::Node& n, Loc where, const std::string& what,
                            const std::vector<std::string>& allowed) {
    auto entries = Entries(n, where, what, "a mapping");
    if (!entries) return std::nullopt;
    Keys keys;
    for (auto& e : *entries) {
      if (std::find(allowed.begin(), allowed.end(), e.name) == allowed.end()) {
        Error(e.key, "unknown key '" + e.name + "' in " + what + DidYouMean(e.name, allowed));
        continue;
      }
      keys.Add(std::move(e));
    }
    return keys;
  }

  // A mapping from user-chosen names (states, steps, fields...) in
  // document order; names that break `valid` are reported and skipped.
  std::vector<Entry> Named(const YAML::Node& n, Loc where, const std::string& what, const std::string& kind,
                           bool (*valid)(std::string_view), const std::string& rule) {
    std::vector<Entry> out;
    auto entries = Entries(n, where, what, "a mapping of " + kind + " names");
    if (!entries) return out;
    for (auto& e : *entries) {
      if (!valid(e.name)) {
        Error(e.key, "'" + e.name + "' is not a valid " + kind + " name: " + rule);
        continue;
      }
      out.push_back(std::move(e));
    }
    return out;
  }

  static constexpr const char* kNameRule =
      "names start with a letter or '_' and go on with letters, digits, '_' or '-'";
  static constexpr const char* kFieldRule =
      "field names start with a letter or '_' and go on with letters, digits or '_'";

  // ---- scalars ----

  std::optional<std::string> Str(const Entry& e, const std::string& what) {
    if (!e.value.IsScalar()) {
      Error(ValueLoc(e), what + " must be a string");
      return std::nullopt;
    }
    return e.value.Scalar();
  }

  std::optional<bool> Bool(const YAML::Node& n, Loc where, const std::string& what) {
    if (n.IsScalar()) {
      const std::string& s = n.Scalar();
      if (s == "true" || s == "True" || s == "TRUE") return true;
      if (s == "false" || s == "False" || s == "FALSE") return false;
    }
    Error(n.IsNull() ? where : LocOf(n), what + " must be true or false");
    return std::nullopt;
  }
  std::optional<bool> Bool(const Entry& e, const std::string& what) { return Bool(e.value, LocOf(e.key), what); }

  // A scalar written as a decimal integer that fits int64; nullopt otherwise.
  static std::optional<int64_t> IntOf(const YAML::Node& n) {
    if (!n.IsScalar()) return std::nullopt;
    const std::string& s = n.Scalar();
    char* end = nullptr;
    errno = 0;
    long long v = std::strtoll(s.c_str(), &end, 10);
    if (!s.empty() && (IsDigit(s[0]) || s[0] == '-' || s[0] == '+') && *end == '\0' && errno == 0) return v;
    return std::nullopt;
  }

  std::optional<int64_t> Int(const YAML::Node& n, Loc where, const std::string& what) {
    if (auto v = IntOf(n)) return v;
    Error(n.IsNull() ? where : LocOf(n), what + " must be an integer");
    return std::nullopt;
  }

  std::optional<Decimal> Number(const YAML::Node& n, Loc where, const std::string& what) {
    if (n.IsScalar()) {
      auto d = Decimal::Parse(n.Scalar());
      if (d.ok()) return *d;
    }
    Error(n.IsNull() ? where : LocOf(n), what + " must be a number");
    return std::nullopt;
  }

  // A name or a list of names (from, by, visible_to). An empty list gives
  // none; the caller decides whether that is an error.
  std::vector<NamedRef> Refs(const Entry& e, const std::string& what, const std::string& kind) {
    std::vector<NamedRef> out;
    auto one = [&](const YAML::Node& n, Loc where) {
      if (!n.IsScalar() || n.Scalar().empty()) {
        Error(n.IsNull() ? where : LocOf(n),
              e.value.IsSequence() ? what + " must list " + kind + " names"
                                   : what + " must be a " + kind + " name or a list of " + kind + " names");
        return;
      }
      out.push_back({n.Scalar(), LocOf(n)});
    };
    if (e.value.IsSequence()) {
      for (auto it = e.value.begin(); it != e.value.end(); ++it) one(*it, LocOf(e.value));
    } else {
      one(e.value, LocOf(e.key));
    }
    return out;
  }

  std::optional<Expression> Expr(const Entry& e, const std::string& what) {
    if (!e.value.IsScalar()) {
      Error(ValueLoc(e), what + " must be an expression string");
      return std::nullopt;
    }
    Expression x;
    x.text = e.value.Scalar();
    YAML::Mark m = e.value.Mark();
    x.loc = LocOf(e.value);
    auto located = m.pos >= 0 ? LocateScalar(src_, static_cast<size_t>(m.pos), x.loc, x.text) : std::nullopt;
    if (located) {
      x.loc = located->start;
      x.breaks = std::move(located->breaks);
    } else if (m.pos >= 0 && static_cast<size_t>(m.pos) < src_.size() &&
               (src_[static_cast<size_t>(m.pos)] == '"' || src_[static_cast<size_t>(m.pos)] == '\'')) {
      x.loc.col += 1;  // the text starts after the opening quote
    }
    return x;
  }

  // ---- the definition ----

  void Top(const YAML::Node& root, Definition* d) {
    if (!root.IsMap()) {
      Error(root, "a definition is a YAML mapping with process, version, roles, data, states and steps");
      return;
    }
    Loc at = LocOf(root);
    auto keys =
        Fixed(root, at, "the definition", {"process", "version", "description", "roles", "data", "states", "steps"});
    if (!keys) return;
    if (const Entry* e = keys->Get("process")) {
      d->process_loc = ValueLoc(*e);
      if (auto s = Str(*e, "'process'")) {
        d->process = *s;
        if (!IsProcessName(*s))
          Error(d->process_loc, "'" + *s +
                                    "' is not a valid process name: it starts with a letter or '_' and goes "
                                    "on with letters, digits, '_', '-' or '.'");
      }
    } else {
      Error(at, "missing 'process': every definition names its process");
    }
    if (const Entry* e = keys->Get("version")) {
      d->version_loc = ValueLoc(*e);
      if (auto v = Int(e->value, d->version_loc, "'version'")) {
        d->version = *v;
        if (*v < 1) Error(d->version_loc, "'version' must be 1 or more");
      }
    } else {
      Error(at, "missing 'version': every definition has a version, 1 or more");
    }
    if (const Entry* e = keys->Get("description")) d->description = Str(*e, "'description'").value_or("");
    if (const Entry* e = keys->Get("roles")) {
      Roles(*e, d);
    } else {
      Error(at, "missing 'roles': list the roles that take part");
    }
    if (const Entry* e = keys->Get("data")) {
      if (!e->value.IsNull()) {
        for (const auto& f : Named(e->value, LocOf(e->key), "'data'", "field", IsFieldName, kFieldRule)) {
          FieldSpec spec;
          if (Field(f, FieldKind::kData, "data field '" + f.name + "'", &spec)) d->data.push_back(std::move(spec));
        }
      }
    }
    if (const Entry* e = keys->Get("states")) {
      d->states = States(*e, "'states'");
    } else {
      Error(at, "missing 'states': a definition has at least an initial state");
    }
    if (const Entry* e = keys->Get("steps")) {
      if (!e->value.IsNull()) {
        for (const auto& s : Named(e->value, LocOf(e->key), "'steps'", "step", IsName, kNameRule)) {
          StepSpec step;
          if (Step(s, &step)) d->steps.push_back(std::move(step));
        }
      }
    } else {
      Error(at, "missing 'steps': write 'steps: {}' for a process without steps");
    }
  }

  void Roles(const Entry& e, Definition* d) {
    if (!e.value.IsSequence()) {
      Error(ValueLoc(e), "'roles' must be a list of role names, e.g. [buyer, seller]");
      return;
    }
    std::set<std::string> seen;
    for (auto it = e.value.begin(); it != e.value.end(); ++it) {
      const YAML::Node& r = *it;
      if (!r.IsScalar()) {
        Error(r.IsNull() ? LocOf(e.value) : LocOf(r), "'roles' must list role names");
        continue;
      }
      const std::string& name = r.Scalar();
      if (!IsName(name)) {
        Error(r, "'" + name + "' is not a valid role name: " + kNameRule);
        continue;
      }
      if (!seen.insert(name).second) {
        Error(r, "duplicate role '" + name + "'");
        continue;
      }
      d->roles.push_back({name, LocOf(r)});
    }
  }

  // ---- fields ----

  std::optional<FieldType> Type(const YAML::Node& n, Loc where) {
    if (n.IsScalar())
      if (auto t = TypeFromName(n.Scalar())) return t;
    const char* kExpected = "string, integer, decimal, boolean, object, array or any";
    if (n.IsScalar())
      Error(n, "unknown type '" + n.Scalar() + "': expected " + kExpected + DidYouMean(n.Scalar(), TypeNames()));
    else
      Error(n.IsNull() ? where : LocOf(n), std::string("a type must be one of ") + kExpected);
    return std::nullopt;
  }

  // `name: TYPE` or `name: { type: TYPE, ... }`.
  bool Field(const Entry& e, FieldKind kind, const std::string& what, FieldSpec* f) {
    f->name = kind == FieldKind::kItems ? "" : e.name;
    f->loc = LocOf(e.key);
    f->required = kind != FieldKind::kData;  // data fields start unset; `required` is for input and properties
    if (e.value.IsNull()) {
      Error(e.key, what + " needs a type, e.g. '" + e.name + ": string'");
      return false;
    }
    if (e.value.IsScalar()) {
      auto t = Type(e.value, LocOf(e.key));
      if (!t) return false;
      f->type = *t;
      return true;
    }
    std::vector<std::string> allowed = {"type",       "description", "minimum",    "maximum", "min_length",
                                        "max_length", "enum",        "properties", "items"};
    if (kind == FieldKind::kData) {
      allowed.push_back("visible_to");
      allowed.push_back("unique");
    }
    if (kind == FieldKind::kInput || kind == FieldKind::kProperty) allowed.push_back("required");
    size_t before = errors_;
    auto keys = Fixed(e.value, LocOf(e.key), what, allowed);
    if (!keys) return false;
    bool typed = false;
    if (const Entry* t = keys->Get("type")) {
      if (auto ft = Type(t->value, LocOf(t->key))) {
        f->type = *ft;
        typed = true;
      }
    } else {
      Error(e.value, what + " needs a 'type'");
    }
    if (const Entry* x = keys->Get("description")) f->description = Str(*x, "'description'").value_or("");
    auto is = [&](std::initializer_list<FieldType> types) {
      return std::find(types.begin(), types.end(), f->type) != types.end();
    };
    auto applies = [&](const Entry& x, bool ok, const std::string& to) {
      if (typed && !ok)
        Error(x.key, "'" + x.name + "' applies to " + to + " fields, not " + FieldTypeName(f->type) + " ones");
    };
    auto numeric = [&](const char* key, std::optional<Decimal>* out) {
      if (const Entry* x = keys->Get(key)) {
        applies(*x, is({FieldType::kInteger, FieldType::kDecimal}), "integer and decimal");
        *out = Number(x->value, LocOf(x->key), std::string("'") + key + "'");
      }
    };
    numeric("minimum", &f->minimum);
    numeric("maximum", &f->maximum);
    auto length = [&](const char* key, std::optional<int64_t>* out) {
      if (const Entry* x = keys->Get(key)) {
        applies(*x, is({FieldType::kString, FieldType::kArray}), "string and array");
        *out = Int(x->value, LocOf(x->key), std::string("'") + key + "'");
        if (*out && **out < 0) Error(x->value, std::string("'") + key + "' must not be negative");
      }
    };
    length("min_length", &f->min_length);
    length("max_length", &f->max_length);
    if (f->minimum && f->maximum && Decimal::Compare(*f->minimum, *f->maximum) > 0)
      Error(keys->Get("maximum")->value, "'maximum' is less than 'minimum'");
    if (f->min_length && f->max_length && *f->min_length > *f->max_length)
      Error(keys->Get("max_length")->value, "'max_length' is less than 'min_length'");
    if (const Entry* x = keys->Get("enum")) {
      applies(*x, is({FieldType::kString, FieldType::kInteger, FieldType::kDecimal, FieldType::kBoolean}),
              "string, integer, decimal and boolean");
      if (typed) Enum(*x, f);
    }
    if (const Entry* x = keys->Get("properties")) {
      applies(*x, is({FieldType::kObject}), "object");
      if (!x->value.IsNull()) {
        for (const auto& p :
             Named(x->value, LocOf(x->key), "the properties of " + what, "field", IsFieldName, kFieldRule)) {
          FieldSpec spec;
          if (Field(p, FieldKind::kProperty, "property '" + p.name + "'", &spec))
            f->properties.push_back(std::move(spec));
        }
      }
    }
    if (const Entry* x = keys->Get("items")) {
      applies(*x, is({FieldType::kArray}), "array");
      auto item = std::make_shared<FieldSpec>();
      if (Field(*x, FieldKind::kItems, "the items of " + what, item.get())) f->items = std::move(item);
    }
    if (const Entry* x = keys->Get("required")) f->required = Bool(*x, "'required'").value_or(f->required);
    if (const Entry* x = keys->Get("visible_to")) {
      f->visible_to_loc = ValueLoc(*x);
      std::set<std::string> seen;
      for (const auto& r : Refs(*x, "'visible_to'", "role")) {
        if (!seen.insert(r.name).second) {
          Error(r.loc, "'visible_to' of " + what + " names role '" + r.name + "' twice");
          continue;
        }
        f->visible_to.push_back(r.name);
        f->visible_to_locs.push_back(r.loc);
      }
      if (x->value.IsSequence() && x->value.size() == 0)
        Error(x->value, "'visible_to' must name at least one role (leave it out for a field every role sees)");
    }
    if (const Entry* x = keys->Get("unique")) f->unique = Bool(*x, "'unique'").value_or(false);
    return errors_ == before;
  }

  void Enum(const Entry& x, FieldSpec* f) {
    if (!x.value.IsSequence() || x.value.size() == 0) {
      Error(ValueLoc(x), "'enum' must be a non-empty list of values");
      return;
    }
    for (auto it = x.value.begin(); it != x.value.end(); ++it) {
      const YAML::Node& n = *it;
      Loc where = LocOf(x.value);
      std::optional<Value> v;
      if (!n.IsScalar() && !n.IsNull()) {
        Error(n, "'enum' values must be single values, not lists or mappings");
        continue;
      }
      switch (f->type) {
        case FieldType::kString:
          if (n.IsScalar())
            v = Value::Str(n.Scalar());
          else
            Error(where, "'enum' values of a string field must be strings");
          break;
        case FieldType::kInteger:
          if (auto i = Int(n, where, "'enum' values of an integer field")) v = Value::Int(*i);
          break;
        case FieldType::kDecimal:
          if (auto dv = Number(n, where, "'enum' values of a decimal field")) v = Value::Dec(*dv);
          break;
        case FieldType::kBoolean:
          if (auto b = Bool(n, where, "'enum' values of a boolean field")) v = Value::Bool(*b);
          break;
        default: break;
      }
      if (!v) continue;
      bool dup = false;
      for (const auto& have : f->enum_values) dup = dup || have == *v;
      if (dup) {
        Error(n, "'enum' lists " + v->ToCanonicalJson() + " twice");
        continue;
      }
      f->enum_values.push_back(std::move(*v));
    }
  }

  // ---- states ----

  std::vector<StateSpec> States(const Entry& e, const std::string& what) {
    std::vector<StateSpec> out;
    if (e.value.IsMap() && e.value.size() == 0) {
      Error(e.value, what + " is empty: declare at least an initial state");
      return out;
    }
    for (const auto& s : Named(e.value, LocOf(e.key), what, "state", IsName, kNameRule)) {
      StateSpec state;
      state.name = s.name;
      state.loc = LocOf(s.key);
      if (!s.value.IsNull()) State(s, &state);
      out.push_back(std::move(state));
    }
    return out;
  }

  void State(const Entry& e, StateSpec* s) {
    std::string what = "state '" + s->name + "'";
    auto keys = Fixed(e.value, LocOf(e.key), what,
                      {"initial", "final", "description", "label", "deadline", "states", "regions"});
    if (!keys) return;
    if (const Entry* x = keys->Get("initial")) s->initial = Bool(*x, "'initial'").value_or(false);
    if (const Entry* x = keys->Get("final")) s->final = Bool(*x, "'final'").value_or(false);
    if (const Entry* x = keys->Get("description")) s->description = Str(*x, "'description'").value_or("");
    if (const Entry* x = keys->Get("label")) s->label = Str(*x, "'label'").value_or("");
    if (const Entry* x = keys->Get("deadline")) Deadline(*x, what, s);
    const Entry* sub = keys->Get("states");
    const Entry* regions = keys->Get("regions");
    if (sub && regions) {
      Error(regions->key, what + " has both 'states' and 'regions': a composite state has one or the other");
      return;
    }
    if (sub) s->states = States(*sub, "the states of " + what);
    if (regions) {
      if (regions->value.IsMap() && regions->value.size() == 0) {
        Error(regions->value, "'regions' of " + what + " is empty: declare at least one region");
        return;
      }
      for (const auto& r :
           Named(regions->value, LocOf(regions->key), "the regions of " + what, "region", IsName, kNameRule)) {
        Region region;
        region.name = r.name;
        region.loc = LocOf(r.key);
        std::string rwhat = "region '" + r.name + "'";
        if (auto rk = Fixed(r.value, LocOf(r.key), rwhat, {"states", "description"})) {
          if (const Entry* x = rk->Get("description")) region.description = Str(*x, "'description'").value_or("");
          if (const Entry* x = rk->Get("states")) {
            region.states = States(*x, "the states of " + rwhat);
          } else {
            Error(r.key, rwhat + " needs 'states'");
          }
        }
        s->regions.push_back(std::move(region));
      }
    }
  }

  void Deadline(const Entry& x, const std::string& what, StateSpec* s) {
    s->deadline_loc = ValueLoc(x);
    auto keys = Fixed(x.value, LocOf(x.key), "the deadline of " + what, {"after", "step"});
    if (!keys) return;
    if (const Entry* a = keys->Get("after")) {
      std::optional<int64_t> ms = a->value.IsScalar() ? ParseDuration(a->value.Scalar()) : std::nullopt;
      if (!ms || *ms <= 0) {
        Error(ValueLoc(*a), "'after' must be a positive duration such as 48h, 30m, 10s, 500ms or 7d");
      } else {
        s->deadline_after_ms = ms;
      }
    } else {
      Error(x.key, "the deadline of " + what + " needs 'after', e.g. 'after: 48h'");
    }
    if (const Entry* st = keys->Get("step")) {
      if (auto name = Str(*st, "'step'")) {
        s->deadline_step = *name;
        s->deadline_step_loc = ValueLoc(*st);
      }
    } else {
      Error(x.key, "the deadline of " + what + " needs 'step': the step proposed once it passes");
    }
  }

  // ---- steps ----

  bool Step(const Entry& e, StepSpec* s) {
    s->name = e.name;
    s->loc = LocOf(e.key);
    std::string what = "step '" + s->name + "'";
    auto keys = Fixed(e.value, LocOf(e.key), what,
                      {"from", "to", "by", "label", "description", "input", "guard", "set", "task"});
    if (!keys) return false;
    if (const Entry* x = keys->Get("from")) {
      s->from = Refs(*x, "'from'", "state");
      s->from_loc = ValueLoc(*x);
    } else {
      Error(e.key, what + " needs 'from': the state or states it leaves");
    }
    if (const Entry* x = keys->Get("to")) {
      if (x->value.IsScalar() && !x->value.Scalar().empty()) {
        s->to = {x->value.Scalar(), LocOf(x->value)};
      } else {
        Error(ValueLoc(*x), "'to' must name one state");
      }
    } else {
      Error(e.key, what + " needs 'to': the state it enters");
    }
    if (const Entry* x = keys->Get("by")) {
      s->by = Refs(*x, "'by'", "role");
      s->by_loc = ValueLoc(*x);
    } else {
      Error(e.key, what + " needs 'by': the role or roles that may propose it");
    }
    if (const Entry* x = keys->Get("label")) s->label = Str(*x, "'label'").value_or("");
    if (const Entry* x = keys->Get("description")) s->description = Str(*x, "'description'").value_or("");
    if (const Entry* x = keys->Get("input")) {
      if (!x->value.IsNull()) {
        for (const auto& f : Named(x->value, LocOf(x->key), "the input of " + what, "field", IsFieldName, kFieldRule)) {
          FieldSpec spec;
          if (Field(f, FieldKind::kInput, "input field '" + f.name + "' of " + what, &spec))
            s->input.push_back(std::move(spec));
        }
      }
    }
    if (const Entry* x = keys->Get("guard")) s->guard = Expr(*x, "'guard'");
    if (const Entry* x = keys->Get("set")) {
      if (auto entries =
              Entries(x->value, LocOf(x->key), "'set' of " + what, "a mapping of data fields to expressions")) {
        for (const auto& a : *entries) {
          if (auto ex = Expr(a, "the 'set' of '" + a.name + "'")) s->set.push_back({a.name, LocOf(a.key), *ex});
        }
      }
    }
    if (const Entry* x = keys->Get("task")) Task(*x, what, s);
    return true;
  }

  void Task(const Entry& x, const std::string& what, StepSpec* s) {
    TaskSpec t;
    t.loc = ValueLoc(x);
    auto keys = Fixed(x.value, LocOf(x.key), "'task' of " + what, {"human", "job"});
    if (!keys) return;
    const Entry* human = keys->Get("human");
    const Entry* job = keys->Get("job");
    if (human && job) {
      Error(job->key, "a task is either 'human' or 'job', not both");
      return;
    }
    if (!human && !job) {
      Error(x.key, "'task' of " + what + " needs 'human: { queue: NAME }' or 'job: { type: NAME }'");
      return;
    }
    if (human ? HumanTask(*human, what, &t) : JobTask(*job, what, &t)) s->task = std::move(t);
  }

  // The keys of a human task; all but `queue` are refused under `job:` with
  // a message of their own.
  static const std::vector<std::string>& HumanKeys() {
    static const std::vector<std::string> kKeys = {"queue",           "due",  "priority", "candidate_groups",
                                                   "candidate_users", "form"};
    return kKeys;
  }

  // The keys of a job task; all but `type` are refused under `human:` with
  // a message of their own.
  static const std::vector<std::string>& JobKeys() {
    static const std::vector<std::string> kKeys = {"type", "retries", "backoff", "timeout", "headers", "errors"};
    return kKeys;
  }

  // A required non-empty string, `key` of the task `task_what`.
  std::optional<std::string> TaskName(const Keys& keys, const Entry& kind, const std::string& task_what,
                                      const char* key) {
    const Entry* v = keys.Get(key);
    if (!v) {
      Error(kind.key, task_what + " needs '" + key + "'");
      return std::nullopt;
    }
    auto name = Str(*v, std::string("'") + key + "'");
    if (name && name->empty()) {
      Error(ValueLoc(*v), std::string("'") + key + "' must not be empty");
      return std::nullopt;
    }
    return name;
  }

  bool JobTask(const Entry& job, const std::string& what, TaskSpec* t) {
    std::string jwhat = "the 'job' task of " + what;
    std::vector<std::string> allowed = JobKeys();
    // Human-only keys are let through Fixed to get a clearer message.
    for (const auto& k : HumanKeys())
      if (k != "queue") allowed.push_back(k);
    size_t before = errors_;
    auto keys = Fixed(job.value, LocOf(job.key), jwhat, allowed);
    if (!keys) return false;
    for (const auto& k : HumanKeys())
      if (const Entry* e = keys->Get(k))
        Error(e->key, "'" + k + "' applies to human tasks, not job tasks");
    if (auto type = TaskName(*keys, job, jwhat, "type")) t->job_type = *type;
    if (const Entry* x = keys->Get("retries")) {
      std::optional<int64_t> n = IntOf(x->value);
      if (!n || *n < 0) {
        Error(ValueLoc(*x), "'retries' must be an integer, 0 or more");
      } else {
        t->job_retries = *n;
        t->job_retries_set = true;
      }
    }
    if (const Entry* x = keys->Get("backoff")) {
      std::optional<int64_t> ms = x->value.IsScalar() ? ParseDuration(x->value.Scalar()) : std::nullopt;
      if (!ms || *ms <= 0 || *ms > TaskSpec::kMaxJobBackoffMs) {
        Error(ValueLoc(*x), "'backoff' must be a positive duration of at most 1h such as 500ms, 10s or 1m");
      } else {
        t->job_backoff_ms = ms;
      }
    }
    if (const Entry* x = keys->Get("timeout")) {
      std::optional<int64_t> ms = x->value.IsScalar() ? ParseDuration(x->value.Scalar()) : std::nullopt;
      if (!ms || *ms <= 0) {
        Error(ValueLoc(*x), "'timeout' must be a positive duration such as 48h, 30m, 10s, 500ms or 7d");
      } else {
        t->job_timeout_ms = ms;
      }
    }
    if (const Entry* x = keys->Get("headers")) Headers(*x, what, t);
    if (const Entry* x = keys->Get("errors")) JobErrors(*x, what, t);
    return errors_ == before;
  }

  // headers: { KEY: VALUE }: non-empty keys (distinct, as every mapping's),
  // scalar values kept as their text (`retries: 3` gives "3").
  void Headers(const Entry& x, const std::string& what, TaskSpec* t) {
    auto entries = Entries(x.value, LocOf(x.key), "the headers of the 'job' task of " + what,
                           "a mapping of header names to texts");
    if (!entries) return;
    if (x.value.size() == 0)
      Error(x.value, "'headers' must have at least one header (leave it out for none)");
    for (const auto& h : *entries) {
      if (h.name.empty()) {
        Error(h.key, "header names must not be empty");
        continue;
      }
      if (!h.value.IsScalar()) {
        Error(ValueLoc(h), "header '" + h.name + "' must be a text (numbers and booleans are kept as written), not " +
                               (h.value.IsMap() ? "a mapping" : h.value.IsSequence() ? "a list" : "null"));
        continue;
      }
      t->job_headers.emplace_back(h.name, h.value.Scalar());
    }
  }

  static bool IsErrorCode(std::string_view s) {
    if (s.empty()) return false;
    for (char c : s)
      if (!IsAlpha(c) && !IsDigit(c) && c != '-' && c != '.') return false;
    return true;
  }

  // errors: { CODE: STEP }. Whether each STEP exists and leaves the job
  // step's states is the validator's check.
  void JobErrors(const Entry& x, const std::string& what, TaskSpec* t) {
    auto entries = Entries(x.value, LocOf(x.key), "the errors of the 'job' task of " + what,
                           "a mapping of error codes to step names");
    if (!entries) return;
    if (x.value.size() == 0)
      Error(x.value, "'errors' must map at least one error code (leave it out for none)");
    for (const auto& e : *entries) {
      if (!IsErrorCode(e.name)) {
        Error(e.key, "'" + e.name + "' is not a valid error code: codes are letters, digits, '_', '-' and '.'");
        continue;
      }
      if (!e.value.IsScalar() || e.value.Scalar().empty()) {
        Error(ValueLoc(e), "error '" + e.name + "' must name the step to take when a worker reports it");
        continue;
      }
      t->job_errors.push_back({e.name, e.value.Scalar(), LocOf(e.key), LocOf(e.value)});
    }
  }

  bool HumanTask(const Entry& human, const std::string& what, TaskSpec* t) {
    std::string hwhat = "the 'human' task of " + what;
    std::vector<std::string> allowed = HumanKeys();
    // Job-only keys are let through Fixed to get a clearer message.
    for (const auto& k : JobKeys())
      if (k != "type") allowed.push_back(k);
    size_t before = errors_;
    auto keys = Fixed(human.value, LocOf(human.key), hwhat, allowed);
    if (!keys) return false;
    for (const auto& k : JobKeys())
      if (const Entry* e = keys->Get(k); e && k != "type")
        Error(e->key, "'" + k + "' applies to job tasks, not human tasks");
    if (auto queue = TaskName(*keys, human, hwhat, "queue")) t->human_queue = *queue;
    if (const Entry* x = keys->Get("due")) {
      std::optional<int64_t> ms = x->value.IsScalar() ? ParseDuration(x->value.Scalar()) : std::nullopt;
      if (!ms || *ms <= 0) {
        Error(ValueLoc(*x), "'due' must be a positive duration such as 48h, 30m, 10s, 500ms or 7d");
      } else {
        t->due_ms = ms;
      }
    }
    if (const Entry* x = keys->Get("priority")) {
      std::optional<int64_t> p = IntOf(x->value);
      if (!p || *p < 0 || *p > 100) {
        Error(ValueLoc(*x), "'priority' must be an integer from 0 to 100");
      } else {
        t->priority = static_cast<int>(*p);
        t->priority_set = true;
      }
    }
    if (const Entry* x = keys->Get("candidate_groups")) t->candidate_groups = Candidates(*x, "group");
    if (const Entry* x = keys->Get("candidate_users")) t->candidate_users = Candidates(*x, "user");
    if (const Entry* x = keys->Get("form")) Form(*x, what, t);
    return errors_ == before;
  }

  // candidate_groups / candidate_users: a name or a non-empty list of
  // distinct non-empty names (any text: groups and users are the identity
  // provider's, not the definition's).
  std::vector<std::string> Candidates(const Entry& x, const std::string& kind) {
    std::string what = "'" + x.name + "'";
    std::vector<std::string> out;
    for (const auto& r : Refs(x, what, kind)) {
      if (std::find(out.begin(), out.end(), r.name) != out.end()) {
        Error(r.loc, what + " names " + kind + " '" + r.name + "' twice");
        continue;
      }
      out.push_back(r.name);
    }
    if (x.value.IsSequence() && x.value.size() == 0)
      Error(x.value, what + " must name at least one " + kind + " (leave it out for none)");
    return out;
  }

  // form: { title, description, fields: { FIELD: { label, help, placeholder } } }.
  // Whether each FIELD is an input field of the step is the validator's
  // check.
  void Form(const Entry& x, const std::string& what, TaskSpec* t) {
    TaskForm form;
    form.loc = ValueLoc(x);
    std::string fwhat = "the form of " + what;
    auto keys = Fixed(x.value, LocOf(x.key), fwhat, {"title", "description", "fields"});
    if (!keys) return;
    if (const Entry* e = keys->Get("title")) form.title = Str(*e, "'title'").value_or("");
    if (const Entry* e = keys->Get("description")) form.description = Str(*e, "'description'").value_or("");
    if (const Entry* e = keys->Get("fields"); e && !e->value.IsNull()) {
      if (auto entries = Entries(e->value, LocOf(e->key), "the fields of " + fwhat,
                                 "a mapping of input field names to { label, help, placeholder }")) {
        for (const auto& f : *entries) {
          FormField field;
          field.name = f.name;
          field.loc = LocOf(f.key);
          auto fk = Fixed(f.value, LocOf(f.key), "form field '" + f.name + "' of " + what,
                          {"label", "help", "placeholder"});
          if (!fk) continue;
          if (const Entry* v = fk->Get("label")) field.label = Str(*v, "'label'").value_or("");
          if (const Entry* v = fk->Get("help")) field.help = Str(*v, "'help'").value_or("");
          if (const Entry* v = fk->Get("placeholder")) field.placeholder = Str(*v, "'placeholder'").value_or("");
          form.fields.push_back(std::move(field));
        }
      }
    }
    t->form = std::move(form);
  }

  std::string_view src_;
  std::string file_;
  Diagnostics* diags_;
  size_t errors_ = 0;
};

}  // namespace

bool IsName(std::string_view s) { return NameWith(s, "-"); }
bool IsFieldName(std::string_view s) { return NameWith(s, ""); }
bool IsProcessName(std::string_view s) { return NameWith(s, "-."); }

std::optional<int64_t> ParseDuration(std::string_view text) {
  if (text.empty()) return std::nullopt;
  int64_t total = 0;
  size_t i = 0;
  while (i < text.size()) {
    int64_t n = 0;
    size_t digits = 0;
    while (i < text.size() && IsDigit(text[i])) {
      if (n > (INT64_MAX - 9) / 10) return std::nullopt;
      n = n * 10 + (text[i++] - '0');
      ++digits;
    }
    if (digits == 0) return std::nullopt;
    size_t u = i;
    while (i < text.size() && !IsDigit(text[i])) ++i;
    std::string_view unit = text.substr(u, i - u);
    int64_t mult;
    if (unit == "ms")
      mult = 1;
    else if (unit == "s")
      mult = 1000;
    else if (unit == "m")
      mult = 60 * 1000;
    else if (unit == "h")
      mult = 3600 * 1000;
    else if (unit == "d")
      mult = 24LL * 3600 * 1000;
    else
      return std::nullopt;
    if (n > INT64_MAX / mult || total > INT64_MAX - n * mult) return std::nullopt;
    total += n * mult;
  }
  return total;
}

std::optional<Definition> ParseDefinition(std::string_view yaml_text, const std::string& file, Diagnostics* diags) {
  // yaml-cpp drops a UTF-8 byte order mark and counts positions after it.
  if (yaml_text.substr(0, 3) == "\xEF\xBB\xBF") yaml_text.remove_prefix(3);
  return Loader(yaml_text, file, diags).Run();
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
  if (f.bad()) {
    diags->Error(Loc{1, 1}, "cannot read file");
    return std::nullopt;
  }
  text.resize(static_cast<size_t>(f.gcount()));
  if (text.size() > kMaxFileBytes) {
    diags->Error(Loc{1, 1}, "definition is larger than 4 MiB");
    return std::nullopt;
  }
  return ParseDefinition(text, path, diags);
}

}  // namespace treaty::defs
