#include "definitions/validator.h"

#include <algorithm>
#include <functional>
#include <map>
#include <set>

#include "definitions/base/suggest.h"
#include "definitions/expr/ast.h"
#include "definitions/loader.h"
#include "definitions/schema.h"

namespace treaty::defs {
namespace {

class Validator {
 public:
  Validator(const Definition& d, Diagnostics* diags) : d_(d), diags_(diags) {}

  void Run() {
    if (d_.roles.empty()) diags_->Error(d_.process_loc, "process '" + d_.process + "' declares no roles");
    for (const auto& r : d_.roles) roles_.push_back(r.name);
    Data();
    Index();
    Initials("the top level", d_.states, d_.process_loc);
    Steps();
    Reachability();
    WaysOut();
    Deadlines();
    for (const auto& s : d_.steps) Expressions(s);
  }

 private:
  void Error(Loc loc, std::string m) { diags_->Error(loc, std::move(m)); }

  bool RestrictedRoles(const std::vector<std::string>& visible, std::string* hidden_from) const {
    if (visible.empty()) return false;
    std::string out;
    for (const auto& r : roles_)
      if (std::find(visible.begin(), visible.end(), r) == visible.end()) out += (out.empty() ? "" : ", ") + r;
    if (hidden_from) *hidden_from = out;
    return !out.empty();
  }

  void Data() {
    for (const auto& f : d_.data) {
      for (const auto& r : f.visible_to)
        if (!d_.HasRole(r))
          Error(f.visible_to_loc, "'visible_to' of data field '" + f.name + "' names unknown role '" + r + "'" +
                                      DidYouMean(r, roles_));
      if (f.unique && f.type != FieldType::kString && f.type != FieldType::kInteger)
        Error(f.loc, "unique data field '" + f.name + "' must be a string or an integer");
    }
  }

  // Flattens the state tree: parent composite and region of every state.
  void Index() {
    std::function<void(const std::vector<StateSpec>&, const std::string&, int)> walk =
        [&](const std::vector<StateSpec>& states, const std::string& parent, int region) {
          for (const auto& s : states) {
            if (states_.count(s.name)) {
              Error(s.loc, "duplicate state '" + s.name + "': state names are unique in the whole definition");
              continue;
            }
            states_[s.name] = {&s, parent, region};
            order_.push_back(s.name);
            if (s.final && s.composite()) Error(s.loc, "composite state '" + s.name + "' cannot be final");
            if (!s.states.empty()) {
              Initials("composite state '" + s.name + "'", s.states, s.loc);
              walk(s.states, s.name, 0);
            }
            for (size_t r = 0; r < s.regions.size(); ++r) {
              if (s.regions[r].states.empty()) {
                Error(s.regions[r].loc, "region '" + s.regions[r].name + "' has no states");
                continue;
              }
              Initials("region '" + s.regions[r].name + "'", s.regions[r].states, s.regions[r].loc);
              walk(s.regions[r].states, s.name, static_cast<int>(r));
            }
          }
        };
    walk(d_.states, "", 0);
    if (d_.states.empty()) Error(d_.process_loc, "process '" + d_.process + "' declares no states");
  }

  void Initials(const std::string& where, const std::vector<StateSpec>& states, Loc where_loc) {
    const StateSpec* first = nullptr;
    for (const auto& s : states) {
      if (!s.initial) continue;
      if (first != nullptr) {
        Error(s.loc, "state '" + s.name + "' is a second initial state in " + where + " (the first is '" +
                         first->name + "')");
      } else {
        first = &s;
      }
    }
    if (first == nullptr && !states.empty())
      Error(states.front().loc.line ? states.front().loc : where_loc,
            "no initial state in " + where + ": mark one state with 'initial: true'");
  }

  struct StateRef {
    const StateSpec* spec = nullptr;
    std::string parent;
    int region = 0;
  };

  const StateRef* Find(const NamedRef& r, const std::string& step, const char* role) {
    auto it = states_.find(r.name);
    if (it != states_.end()) return &it->second;
    Error(r.loc, "step '" + step + "' " + role + " unknown state '" + r.name + "'" + DidYouMean(r.name, order_));
    return nullptr;
  }

  void Steps() {
    for (const auto& s : d_.steps) {
      if (s.by.empty()) Error(s.loc, "step '" + s.name + "' names no role in 'by'");
      for (const auto& r : s.by)
        if (!d_.HasRole(r.name))
          Error(r.loc, "step '" + s.name + "' is by unknown role '" + r.name + "'" + DidYouMean(r.name, roles_));
      if (s.from.empty()) Error(s.loc, "step '" + s.name + "' names no state in 'from'");
      const StateRef* to = s.to.name.empty() ? nullptr : Find(s.to, s.name, "goes to");
      for (const auto& f : s.from) {
        const StateRef* from = Find(f, s.name, "comes from");
        if (from == nullptr) continue;
        if (from->spec->final)
          Error(f.loc, "step '" + s.name + "' leaves final state '" + f.name + "'; final states have no way out");
        if (to == nullptr) continue;
        if (from->parent != to->parent || from->region != to->region) {
          std::string fp = from->parent.empty() ? "the top level" : "'" + from->parent + "'";
          std::string tp = to->parent.empty() ? "the top level" : "'" + to->parent + "'";
          Error(f.loc, "step '" + s.name + "' goes from '" + f.name + "' (in " + fp + ") to '" + s.to.name +
                           "' (in " + tp + "); a step stays within one composite state or region" +
                           (from->parent.empty() ? "" : ": to leave '" + from->parent + "', step from it"));
        }
      }
    }
  }

  void Enter(const std::string& name, std::set<std::string>* reached) {
    if (!reached->insert(name).second) return;
    const StateSpec* s = states_.at(name).spec;
    for (const auto& sub : s->states)
      if (sub.initial) Enter(sub.name, reached);
    for (const auto& r : s->regions)
      for (const auto& sub : r.states)
        if (sub.initial) Enter(sub.name, reached);
  }

  void Reachability() {
    std::set<std::string> reached;
    for (const auto& s : d_.states)
      if (s.initial) Enter(s.name, &reached);
    for (bool changed = true; changed;) {
      changed = false;
      for (const auto& s : d_.steps) {
        if (!states_.count(s.to.name) || reached.count(s.to.name)) continue;
        for (const auto& f : s.from)
          if (reached.count(f.name)) {
            Enter(s.to.name, &reached);
            changed = true;
            break;
          }
      }
    }
    for (const auto& name : order_) {
      const StateRef& ref = states_.at(name);
      if (reached.count(name)) continue;
      // Report only the outermost unreachable state.
      if (!ref.parent.empty() && !reached.count(ref.parent)) continue;
      Error(ref.spec->loc, "state '" + name + "' is unreachable: no step leads to it from the initial state");
    }
  }

  void WaysOut() {
    std::set<std::string> has_out;
    for (const auto& s : d_.steps)
      for (const auto& f : s.from) has_out.insert(f.name);
    for (const auto& name : order_) {
      const StateRef& ref = states_.at(name);
      if (ref.spec->final) continue;
      bool out = false;
      for (std::string cur = name; !cur.empty(); cur = states_.at(cur).parent)
        if (has_out.count(cur)) out = true;
      if (!out)
        Error(ref.spec->loc, "state '" + name + "' is not final and no step leaves it (nor its enclosing states)");
    }
  }

  void Deadlines() {
    for (const auto& name : order_) {
      const StateSpec* s = states_.at(name).spec;
      if (!s->deadline_after_ms || s->deadline_step.empty()) continue;
      const StepSpec* step = d_.FindStep(s->deadline_step);
      if (step == nullptr) {
        std::vector<std::string> names;
        for (const auto& x : d_.steps) names.push_back(x.name);
        Error(s->deadline_loc, "deadline of state '" + name + "' names unknown step '" + s->deadline_step + "'" +
                                   DidYouMean(s->deadline_step, names));
        continue;
      }
      bool leaves = false;
      for (const auto& f : step->from) leaves = leaves || f.name == name;
      if (!leaves)
        Error(s->deadline_loc,
              "deadline step '" + step->name + "' of state '" + name + "' must leave that state (add it to 'from')");
    }
  }

  static Loc At(const Expression& e, int offset) { return Loc{e.loc.line, e.loc.col + offset}; }

  static bool PlainCopy(const expr::Node& n, std::string* root, std::string* field) {
    if (n.kind != expr::Node::Kind::kMember || n.kids[0]->kind != expr::Node::Kind::kRoot) return false;
    *root = n.kids[0]->name;
    *field = n.name;
    return *root == "input" || *root == "data";
  }

  static bool TypeFits(const FieldSpec& target, const expr::TypeInfo& t) {
    using K = expr::TypeInfo::Kind;
    switch (t.kind) {
      case K::kAny:
      case K::kNull: return true;
      case K::kBool: return target.type == FieldType::kBoolean || target.type == FieldType::kAny;
      case K::kInt:
        return target.type == FieldType::kInteger || target.type == FieldType::kDecimal || target.type == FieldType::kAny;
      case K::kDecimal: return target.type == FieldType::kDecimal || target.type == FieldType::kAny;
      case K::kString: return target.type == FieldType::kString || target.type == FieldType::kAny;
      case K::kList: return target.type == FieldType::kArray || target.type == FieldType::kAny;
      case K::kObject: return target.type == FieldType::kObject || target.type == FieldType::kAny;
    }
    return false;
  }

  void Expressions(const StepSpec& s) {
    expr::Env env = EnvForStep(d_, s);
    // Input fields copied into restricted data fields travel hashed to the
    // roles that may not see them, so they count as restricted too.
    std::map<std::string, std::vector<std::string>> input_visibility;
    std::vector<expr::NodePtr> set_nodes(s.set.size());
    for (size_t i = 0; i < s.set.size(); ++i) {
      auto p = expr::Parse(s.set[i].expr.text);
      set_nodes[i] = p.node;
      std::string root, field;
      const FieldSpec* target = d_.FindData(s.set[i].field);
      if (p.node && target && PlainCopy(*p.node, &root, &field) && root == "input" && !target->visible_to.empty())
        input_visibility[field] = target->visible_to;
    }
    for (auto& [name, t] : env.input.fields) {
      auto it = input_visibility.find(name);
      if (it != input_visibility.end()) t.visible_to = it->second;
    }

    auto check = [&](const Expression& e, const expr::NodePtr& node, const std::string& what,
                     bool allow_restricted) -> std::optional<expr::TypeInfo> {
      if (!node) {
        auto p = expr::Parse(e.text);
        Error(At(e, p.error ? p.error->offset : 0),
              what + " does not parse: " + (p.error ? p.error->message : std::string("invalid expression")));
        return std::nullopt;
      }
      expr::CheckResult r = expr::Check(*node, env);
      for (const auto& pr : r.problems) Error(At(e, pr.offset), what + ": " + pr.message);
      if (!r.problems.empty()) return std::nullopt;
      if (!allow_restricted) {
        for (const auto& read : r.reads) {
          std::string hidden;
          if (RestrictedRoles(read.visible_to, &hidden)) {
            std::string path = read.root;
            for (const auto& p : read.path) path += "." + p;
            Error(At(e, read.offset), what + " reads " + path + ", which " + hidden +
                                          " may not see; every member applies every step, so rules may only read "
                                          "fields all roles see");
          }
        }
      }
      return r.type;
    };

    if (s.guard) {
      auto p = expr::Parse(s.guard->text);
      auto t = check(*s.guard, p.node, "guard of step '" + s.name + "'", false);
      if (t && t->kind != expr::TypeInfo::Kind::kBool && t->kind != expr::TypeInfo::Kind::kAny)
        Error(s.guard->loc, "guard of step '" + s.name + "' must be a boolean expression, not " +
                                expr::KindName(t->kind));
    }
    std::vector<std::string> data_names;
    for (const auto& f : d_.data) data_names.push_back(f.name);
    for (size_t i = 0; i < s.set.size(); ++i) {
      const Assignment& a = s.set[i];
      const FieldSpec* target = d_.FindData(a.field);
      std::string what = "'set' of " + a.field + " in step '" + s.name + "'";
      if (target == nullptr) {
        Error(a.loc, "step '" + s.name + "' sets unknown data field '" + a.field + "'" + DidYouMean(a.field, data_names));
        continue;
      }
      std::string root, field;
      bool copy = set_nodes[i] && PlainCopy(*set_nodes[i], &root, &field);
      auto t = check(a.expr, set_nodes[i], what, copy);
      if (!t) continue;
      if (!TypeFits(*target, *t))
        Error(a.expr.loc, "cannot set data field '" + a.field + "' (" + FieldTypeName(target->type) + ") to " +
                              (t->kind == expr::TypeInfo::Kind::kInt ? "an " : "a ") + expr::KindName(t->kind));
      if (copy) {
        // A copy may carry a hidden value only into a field hidden from at
        // least the same roles, or parties would disagree on its form.
        const auto& src = root == "input" ? env.input.fields : env.data.fields;
        auto it = src.find(field);
        std::string hidden_src, hidden_dst;
        if (it != src.end() && RestrictedRoles(it->second.visible_to, &hidden_src)) {
          for (const auto& r : roles_) {
            bool src_sees = std::find(it->second.visible_to.begin(), it->second.visible_to.end(), r) !=
                            it->second.visible_to.end();
            bool dst_sees = target->visible_to.empty() ||
                            std::find(target->visible_to.begin(), target->visible_to.end(), r) !=
                                target->visible_to.end();
            if (!src_sees && dst_sees) {
              Error(a.expr.loc, what + " copies " + root + "." + field + ", which " + r +
                                    " may not see, into a field " + r + " may see");
              break;
            }
          }
        }
      }
    }
  }

  const Definition& d_;
  Diagnostics* diags_;
  std::vector<std::string> roles_;
  std::map<std::string, StateRef> states_;
  std::vector<std::string> order_;
};

}  // namespace

void Validate(const Definition& def, Diagnostics* diags) { Validator(def, diags).Run(); }

std::optional<Definition> CheckText(std::string_view yaml, const std::string& file, Diagnostics* diags) {
  auto def = ParseDefinition(yaml, file, diags);
  if (def) Validate(*def, diags);
  diags->Sort();
  if (!diags->empty()) return std::nullopt;
  return def;
}

std::optional<Definition> CheckFile(const std::string& path, Diagnostics* diags) {
  auto def = LoadDefinitionFile(path, diags);
  if (def) Validate(*def, diags);
  diags->Sort();
  if (!diags->empty()) return std::nullopt;
  return def;
}

}  // namespace treaty::defs
