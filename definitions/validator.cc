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

using K = expr::TypeInfo::Kind;

// Where a state sits in the tree.
struct StateRef {
  const StateSpec* spec = nullptr;
  std::string parent;       // enclosing composite state, "" at the top level
  int region = 0;           // index into the parent's regions
  std::string region_name;  // "" unless the parent has regions
};

class Validator {
 public:
  Validator(const Definition& d, Diagnostics* diags) : d_(d), diags_(diags) {}

  void Run() {
    for (const auto& r : d_.roles) roles_.push_back(r.name);
    if (d_.roles.empty()) Error(d_.process_loc, "process '" + d_.process + "' declares no roles");
    for (const auto& s : d_.steps) step_names_.push_back(s.name);
    for (const auto& f : d_.data) data_names_.push_back(f.name);
    Data();
    Index();
    Steps();
    Reachability();
    WaysOut();
    Deadlines();
    Forms();
    JobErrors();
    for (const auto& s : d_.steps) Expressions(s);
  }

 private:
  void Error(Loc loc, std::string m) { diags_->Error(loc, std::move(m)); }

  bool Sees(const std::vector<std::string>& visible_to, const std::string& role) const {
    return visible_to.empty() || std::find(visible_to.begin(), visible_to.end(), role) != visible_to.end();
  }
  // The declared roles `visible_to` leaves out, joined by ", ".
  std::string HiddenFrom(const std::vector<std::string>& visible_to) const {
    std::string out;
    for (const auto& r : roles_)
      if (!Sees(visible_to, r)) out += (out.empty() ? "" : ", ") + r;
    return out;
  }

  // ---- data ----

  void Data() {
    for (const auto& f : d_.data) {
      for (size_t i = 0; i < f.visible_to.size(); ++i)
        if (!d_.HasRole(f.visible_to[i]))
          Error(i < f.visible_to_locs.size() ? f.visible_to_locs[i] : f.visible_to_loc,
                "'visible_to' of data field '" + f.name + "' names unknown role '" + f.visible_to[i] + "'" +
                    DidYouMean(f.visible_to[i], roles_));
      if (f.unique && f.type != FieldType::kString && f.type != FieldType::kInteger)
        Error(f.loc, "unique data field '" + f.name + "' must be a string or an integer, not " + FieldTypeName(f.type));
      // Every member checks a unique key's claim against the ledger, so
      // every member must see the key (docs/protocol.md, "Unique keys").
      if (f.unique && !f.visible_to.empty() && f.visible_to.size() < d_.roles.size())
        Error(f.visible_to_loc, "unique data field '" + f.name +
                                    "' must be visible to every role: each member checks its claim on the ledger");
    }
  }

  // ---- the state tree ----

  static std::string Level(const std::string& parent, const std::string& region) {
    if (parent.empty()) return "the top level";
    if (!region.empty()) return "region '" + region + "' of '" + parent + "'";
    return "composite state '" + parent + "'";
  }

  void Index() {
    if (d_.states.empty()) Error(d_.process_loc, "process '" + d_.process + "' declares no states");
    Initials(d_.states, Level("", ""), d_.process_loc);
    Walk(d_.states, "", 0, "");
  }

  void Walk(const std::vector<StateSpec>& states, const std::string& parent, int region, const std::string& rname) {
    for (const auto& s : states) {
      if (states_.count(s.name)) {
        Error(s.loc, "duplicate state '" + s.name + "': state names are unique in the whole definition");
        continue;
      }
      states_[s.name] = {&s, parent, region, rname};
      order_.push_back(s.name);
      if (s.final && s.composite()) Error(s.loc, "composite state '" + s.name + "' cannot be final");
      if (!s.states.empty()) {
        Initials(s.states, Level(s.name, ""), s.loc);
        Walk(s.states, s.name, 0, "");
      }
      for (size_t r = 0; r < s.regions.size(); ++r) {
        const Region& reg = s.regions[r];
        if (reg.states.empty()) continue;  // the loader reported it
        Initials(reg.states, Level(s.name, reg.name), reg.loc);
        Walk(reg.states, s.name, static_cast<int>(r), reg.name);
      }
    }
  }

  void Initials(const std::vector<StateSpec>& states, const std::string& where, Loc where_loc) {
    const StateSpec* first = nullptr;
    for (const auto& s : states) {
      if (!s.initial) continue;
      if (first != nullptr) {
        Error(s.loc,
              "state '" + s.name + "' is a second initial state in " + where + " (the first is '" + first->name + "')");
      } else {
        first = &s;
      }
    }
    if (first == nullptr && !states.empty())
      Error(states.front().loc.line ? states.front().loc : where_loc,
            "no initial state in " + where + ": mark one state with 'initial: true'");
  }

  const StateRef* Find(const NamedRef& r, const std::string& step, const char* verb) {
    auto it = states_.find(r.name);
    if (it != states_.end()) return &it->second;
    Error(r.loc, "step '" + step + "' " + verb + " unknown state '" + r.name + "'" + DidYouMean(r.name, order_));
    return nullptr;
  }

  // ---- steps ----

  void Steps() {
    for (const auto& s : d_.steps) {
      if (s.by.empty()) Error(s.by_loc.line ? s.by_loc : s.loc, "step '" + s.name + "' names no role in 'by'");
      std::set<std::string> seen;
      for (const auto& r : s.by) {
        if (!seen.insert(r.name).second) {
          Error(r.loc, "step '" + s.name + "' names role '" + r.name + "' twice in 'by'");
        } else if (!d_.HasRole(r.name)) {
          Error(r.loc, "step '" + s.name + "' is by unknown role '" + r.name + "'" + DidYouMean(r.name, roles_));
        }
      }
      if (s.from.empty()) Error(s.from_loc.line ? s.from_loc : s.loc, "step '" + s.name + "' names no state in 'from'");
      const StateRef* to = s.to.name.empty() ? nullptr : Find(s.to, s.name, "goes to");
      seen.clear();
      for (const auto& f : s.from) {
        if (!seen.insert(f.name).second) {
          Error(f.loc, "step '" + s.name + "' names state '" + f.name + "' twice in 'from'");
          continue;
        }
        const StateRef* from = Find(f, s.name, "comes from");
        if (from == nullptr) continue;
        if (from->spec->final)
          Error(f.loc, "step '" + s.name + "' leaves final state '" + f.name + "'; final states have no way out");
        if (to == nullptr) continue;
        if (from->parent == to->parent && from->region != to->region) {
          Error(f.loc, "step '" + s.name + "' goes from '" + f.name + "' (in " +
                           Level(from->parent, from->region_name) + ") to '" + s.to.name + "' (in " +
                           Level(to->parent, to->region_name) +
                           "); regions move independently: a step stays within one region");
        } else if (from->parent != to->parent) {
          Error(f.loc, "step '" + s.name + "' goes from '" + f.name + "' (in " +
                           Level(from->parent, from->region_name) + ") to '" + s.to.name + "' (in " +
                           Level(to->parent, to->region_name) + "); a step stays within one composite state or region" +
                           (from->parent.empty() ? "" : ": to leave '" + from->parent + "', step from it"));
        }
      }
    }
  }

  // Entering a state enters the initial state of each of its regions (or
  // of its nested states) and is inside all its enclosing states.
  void Enter(const std::string& name, std::set<std::string>* reached) {
    if (!reached->insert(name).second) return;
    const StateRef& ref = states_.at(name);
    for (const auto& sub : ref.spec->states)
      if (sub.initial && states_.count(sub.name)) Enter(sub.name, reached);
    for (const auto& r : ref.spec->regions)
      for (const auto& sub : r.states)
        if (sub.initial && states_.count(sub.name)) Enter(sub.name, reached);
    for (std::string p = ref.parent; !p.empty(); p = states_.at(p).parent) reached->insert(p);
  }

  void Reachability() {
    std::set<std::string> reached;
    for (const auto& s : d_.states)
      if (s.initial && states_.count(s.name) && states_.at(s.name).spec == &s) Enter(s.name, &reached);
    for (bool changed = true; changed;) {
      changed = false;
      for (const auto& s : d_.steps) {
        if (!states_.count(s.to.name) || reached.count(s.to.name)) continue;
        for (const auto& f : s.from) {
          if (!reached.count(f.name)) continue;
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
    std::set<std::string> stuck;
    for (const auto& name : order_) {  // parents come before their substates
      const StateRef& ref = states_.at(name);
      if (ref.spec->final) continue;
      bool out = false;
      for (std::string cur = name; !cur.empty() && !out; cur = states_.at(cur).parent) out = has_out.count(cur) > 0;
      if (out) continue;
      stuck.insert(name);
      // A stuck composite state is the problem; its substates are stuck with it.
      if (!ref.parent.empty() && stuck.count(ref.parent)) continue;
      Error(ref.spec->loc, "state '" + name + "' is not final and no step leaves it (nor its enclosing states)");
    }
  }

  // A human task's form describes input fields of its own step only.
  void Forms() {
    for (const auto& s : d_.steps) {
      if (!s.task || !s.task->form) continue;
      std::vector<std::string> inputs;
      for (const auto& f : s.input) inputs.push_back(f.name);
      for (const auto& f : s.task->form->fields) {
        if (std::find(inputs.begin(), inputs.end(), f.name) != inputs.end()) continue;
        Error(f.loc, "form of step '" + s.name + "' describes unknown input field '" + f.name + "'" +
                         (inputs.empty() ? ": the step has no input" : DidYouMean(f.name, inputs)));
      }
    }
  }

  // A job's business errors lead to other steps out of the same state:
  // each error step leaves every state the job's step leaves, so whatever
  // state the job was created in, its error step can be taken there.
  void JobErrors() {
    for (const auto& s : d_.steps) {
      if (!s.task) continue;
      for (const auto& e : s.task->job_errors) {
        std::string head = "error '" + e.code + "' of job step '" + s.name + "'";
        const StepSpec* step = d_.FindStep(e.step);
        if (step == nullptr) {
          Error(e.step_loc, head + " names unknown step '" + e.step + "'" + DidYouMean(e.step, step_names_));
          continue;
        }
        if (step == &s) {
          Error(e.step_loc, head + " names the job step itself; an error leads to another step out of its state");
          continue;
        }
        std::vector<std::string> missing;
        for (const auto& f : s.from) {
          bool leaves = false;
          for (const auto& g : step->from) leaves = leaves || g.name == f.name;
          if (!leaves && std::find(missing.begin(), missing.end(), f.name) == missing.end()) missing.push_back(f.name);
        }
        // The job's party proposes the error step: whichever of the job
        // step's roles it holds must be allowed to take it.
        for (const auto& r : s.by) {
          bool allowed = false;
          for (const auto& b : step->by) allowed = allowed || b.name == r.name;
          if (!allowed)
            Error(e.step_loc, "error step '" + step->name + "' of job step '" + s.name + "' must be taken by role '" +
                                  r.name + "' too: the job's party proposes it (add it to its 'by')");
        }
        if (missing.empty()) continue;
        std::string states;
        for (size_t i = 0; i < missing.size(); ++i)
          states += (i == 0 ? "" : i + 1 == missing.size() ? " and " : ", ") + ("'" + missing[i] + "'");
        bool one = missing.size() == 1;
        Error(e.step_loc, "error step '" + step->name + "' of job step '" + s.name + "' must leave " +
                              (one ? "state " : "states ") + states + " too (add " + (one ? "it" : "them") +
                              " to its 'from')");
      }
    }
  }

  void Deadlines() {
    for (const auto& name : order_) {
      const StateSpec* s = states_.at(name).spec;
      if (s->deadline_step.empty()) continue;
      Loc at = s->deadline_step_loc.line ? s->deadline_step_loc : s->deadline_loc;
      const StepSpec* step = d_.FindStep(s->deadline_step);
      if (step == nullptr) {
        Error(at, "deadline of state '" + name + "' names unknown step '" + s->deadline_step + "'" +
                      DidYouMean(s->deadline_step, step_names_));
        continue;
      }
      bool leaves = false;
      for (const auto& f : step->from) leaves = leaves || f.name == name;
      if (!leaves)
        Error(at, "deadline step '" + step->name + "' of state '" + name + "' must leave that state (add '" + name +
                      "' to its 'from')");
      // The node proposes a deadline step by itself, with no input
      // (docs/node.md, "Deadlines"): one that needs input would never fire.
      for (const auto& f : step->input)
        if (f.required)
          Error(f.loc, "input field '" + f.name + "' of deadline step '" + step->name +
                           "' is required, but the node proposes the step with no input when the deadline of state '" +
                           name + "' passes (add 'required: false')");
    }
  }

  // ---- expressions ----

  // `input.NAME` or `data.NAME` exactly: a copy that may carry a hidden value.
  static bool PlainCopy(const expr::Node& n, std::string* root, std::string* field) {
    if (n.kind != expr::Node::Kind::kMember || n.kids.empty() || n.kids[0]->kind != expr::Node::Kind::kRoot)
      return false;
    *root = n.kids[0]->name;
    *field = n.name;
    return *root == "input" || *root == "data";
  }

  static const char* An(K k) { return k == K::kInt || k == K::kList || k == K::kObject || k == K::kAny ? "an" : "a"; }

  static bool KindFits(FieldType target, K k) {
    switch (k) {
      case K::kAny:
      case K::kNull: return true;
      case K::kBool: return target == FieldType::kBoolean;
      case K::kInt: return target == FieldType::kInteger || target == FieldType::kDecimal;
      case K::kDecimal: return target == FieldType::kDecimal;
      case K::kString: return target == FieldType::kString;
      case K::kList: return target == FieldType::kArray;
      case K::kObject: return target == FieldType::kObject;
    }
    return false;
  }

  // "" when a value of type `t` fits `target`; otherwise why not, naming
  // the member at `path` that does not fit.
  static std::string Misfit(const FieldSpec& target, const expr::TypeInfo& t, const std::string& path) {
    if (target.type == FieldType::kAny || t.kind == K::kAny || t.kind == K::kNull) return "";
    if (!KindFits(target.type, t.kind))
      return path + " is " + FieldTypeName(target.type) + ", the value " + An(t.kind) + " " + expr::KindName(t.kind);
    if (t.kind == K::kList && target.items && t.element) return Misfit(*target.items, *t.element, path + "[]");
    if (t.kind == K::kObject && !target.properties.empty() && !t.open) {
      for (const auto& [name, member] : t.fields) {
        const FieldSpec* p = target.FindProperty(name);
        if (p == nullptr) return path + "." + name + " is not a declared property";
        std::string why = Misfit(*p, member, path + "." + name);
        if (!why.empty()) return why;
      }
      for (const auto& p : target.properties)
        if (p.required && !t.fields.count(p.name)) return path + "." + p.name + " is required and the value has none";
    }
    return "";
  }

  // Parses and checks one expression; nullopt after reporting problems.
  std::optional<expr::CheckResult> Check(const Expression& e, const expr::ParseResult& p, const expr::Env& env,
                                         const std::string& what) {
    if (!p.node) {
      Error(e.At(p.error ? p.error->offset : 0),
            what + " does not parse: " + (p.error ? p.error->message : std::string("invalid expression")));
      return std::nullopt;
    }
    expr::CheckResult r = expr::Check(*p.node, env);
    for (const auto& pr : r.problems) Error(e.At(pr.offset), what + ": " + pr.message);
    if (!r.problems.empty()) return std::nullopt;
    return r;
  }

  // Rules may read only what every role sees: every member applies every step.
  void Visibility(const Expression& e, const expr::CheckResult& r, const expr::Env& env, const std::string& what) {
    for (const auto& read : r.reads) {
      std::string hidden;
      std::string path = read.root;
      for (const auto& p : read.path) path += "." + p;
      if (read.path.empty() && (read.root == "data" || read.root == "input")) {
        // The whole root: every field of it.
        const auto& fields = read.root == "data" ? env.data.fields : env.input.fields;
        for (const auto& [name, t] : fields) {
          std::string h = HiddenFrom(t.visible_to);
          if (!h.empty()) {
            hidden = h;
            path = read.root + " (with " + read.root + "." + name + ")";
            break;
          }
        }
      } else {
        hidden = HiddenFrom(read.visible_to);
      }
      if (hidden.empty()) continue;
      Error(e.At(read.offset), what + " reads " + path + ", which " + hidden +
                                   " may not see; every member applies every step, so rules may only read fields "
                                   "all roles see");
    }
  }

  void Expressions(const StepSpec& s) {
    expr::Env env = EnvForStep(d_, s);
    if (s.guard) {
      std::string what = "guard of step '" + s.name + "'";
      auto r = Check(*s.guard, expr::Parse(s.guard->text), env, what);
      if (r) {
        Visibility(*s.guard, *r, env, what);
        if (r->type.kind != K::kBool && r->type.kind != K::kAny)
          Error(s.guard->loc, what + " must be a boolean expression, not " + expr::KindName(r->type.kind));
      }
    }
    for (const Assignment& a : s.set) {
      const FieldSpec* target = d_.FindData(a.field);
      std::string what = "'set' of '" + a.field + "' in step '" + s.name + "'";
      if (target == nullptr) {
        Error(a.loc,
              "step '" + s.name + "' sets unknown data field '" + a.field + "'" + DidYouMean(a.field, data_names_));
        continue;
      }
      expr::ParseResult p = expr::Parse(a.expr.text);
      auto r = Check(a.expr, p, env, what);
      if (!r) continue;
      std::string root, field;
      bool copy = PlainCopy(*p.node, &root, &field);
      if (!copy) Visibility(a.expr, *r, env, what);
      if (!KindFits(target->type, r->type.kind) && target->type != FieldType::kAny) {
        Error(a.expr.loc, "step '" + s.name + "' cannot set data field '" + a.field + "' (" +
                              FieldTypeName(target->type) + ") to " + An(r->type.kind) + " " +
                              expr::KindName(r->type.kind));
      } else if (std::string why = Misfit(*target, r->type, a.field); !why.empty()) {
        Error(a.expr.loc, "step '" + s.name + "' cannot set data field '" + a.field + "' to this value: " + why);
      }
      if (copy) {
        // A copy carries a hidden value only into a field hidden from at
        // least the same roles, or parties would disagree on its form.
        const auto& src = root == "input" ? env.input.fields : env.data.fields;
        auto it = src.find(field);
        if (it == src.end()) continue;
        for (const auto& role : roles_) {
          if (Sees(it->second.visible_to, role) || !Sees(target->visible_to, role)) continue;
          Error(a.expr.loc, what + " copies " + root + "." + field + ", which " + role + " may not see, into a field " +
                                role + " may see");
          break;
        }
      }
    }
  }

  const Definition& d_;
  Diagnostics* diags_;
  std::vector<std::string> roles_;
  std::vector<std::string> step_names_;
  std::vector<std::string> data_names_;
  std::map<std::string, StateRef> states_;
  std::vector<std::string> order_;
};

std::optional<Definition> Finish(std::optional<Definition> def, Diagnostics* diags) {
  size_t before = diags->items().size();
  if (def) Validate(*def, diags);
  bool clean = def.has_value() && diags->items().size() == before;
  diags->Sort();
  if (!clean) return std::nullopt;
  return def;
}

}  // namespace

void Validate(const Definition& def, Diagnostics* diags) { Validator(def, diags).Run(); }

std::optional<Definition> CheckText(std::string_view yaml, const std::string& file, Diagnostics* diags) {
  return Finish(ParseDefinition(yaml, file, diags), diags);
}

std::optional<Definition> CheckFile(const std::string& path, Diagnostics* diags) {
  return Finish(LoadDefinitionFile(path, diags), diags);
}

}  // namespace treaty::defs
