#include "definitions/dot.h"

#include <sstream>

namespace treaty::defs {
namespace {

std::string Q(const std::string& s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '\n') {
      out += "\\n";  // Graphviz's line break
      continue;
    }
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  return out + "\"";
}

class DotWriter {
 public:
  explicit DotWriter(const Definition& d) : d_(d) {}

  std::string Run() {
    o_ << "digraph " << Q(d_.process + " v" + std::to_string(d_.version)) << " {\n"
       << "  graph [rankdir=LR, compound=true, fontname=\"Helvetica\", label="
       << Q(d_.process + " v" + std::to_string(d_.version)) << ", labelloc=t];\n"
       << "  node [shape=box, style=rounded, fontname=\"Helvetica\"];\n"
       << "  edge [fontname=\"Helvetica\", fontsize=10];\n";
    States(d_.states, "", 1);
    for (const auto& s : d_.steps) {
      std::string roles;
      for (size_t i = 0; i < s.by.size(); ++i) roles += (i ? "|" : "") + s.by[i].name;
      std::string label = (s.label.empty() ? s.name : s.label) + " (" + roles + ")";
      if (s.guard) label += "\n[" + s.guard->text + "]";
      for (const auto& f : s.from) {
        o_ << "  " << NodeOf(f.name) << " -> " << NodeOf(s.to.name) << " [label=" << Q(label);
        if (IsComposite(f.name)) o_ << ", ltail=" << Q("cluster_" + f.name);
        if (IsComposite(s.to.name)) o_ << ", lhead=" << Q("cluster_" + s.to.name);
        o_ << "];\n";
      }
    }
    o_ << "}\n";
    return o_.str();
  }

 private:
  bool IsComposite(const std::string& name) const {
    for (const auto& i : FlattenStates(d_))
      if (i.spec->name == name) return i.spec->composite();
    return false;
  }

  // Edges to a composite attach to its first initial leaf (clusters are not nodes).
  std::string NodeOf(const std::string& name) const {
    for (const auto& i : FlattenStates(d_)) {
      if (i.spec->name != name) continue;
      const StateSpec* s = i.spec;
      while (s->composite()) {
        const std::vector<StateSpec>& subs = s->states.empty() ? s->regions[0].states : s->states;
        const StateSpec* next = &subs.front();
        for (const auto& x : subs)
          if (x.initial) next = &x;
        s = next;
      }
      return Q(s->name);
    }
    return Q(name);
  }

  void States(const std::vector<StateSpec>& states, const std::string& scope, int depth) {
    std::string ind(2 * depth, ' ');
    for (const auto& s : states) {
      if (s.initial) {
        std::string start = "__start_" + (scope.empty() ? std::string("top") : scope) ;
        o_ << ind << Q(start) << " [shape=point, width=0.15, label=\"\"];\n"
           << ind << Q(start) << " -> " << NodeOf(s.name);
        if (s.composite()) o_ << " [lhead=" << Q("cluster_" + s.name) << "]";
        o_ << ";\n";
      }
      if (!s.composite()) {
        o_ << ind << Q(s.name) << " [label=" << Q(s.label.empty() ? s.name : s.label);
        if (s.final) o_ << ", shape=doublecircle, style=\"\"";
        o_ << "];\n";
        continue;
      }
      o_ << ind << "subgraph " << Q("cluster_" + s.name) << " {\n"
         << ind << "  label=" << Q(s.name + (s.regions.empty() ? "" : " (parallel)")) << ";\n";
      States(s.states, s.name, depth + 1);
      for (const auto& r : s.regions) {
        o_ << ind << "  subgraph " << Q("cluster_" + s.name + "_" + r.name) << " {\n"
           << ind << "    label=" << Q(r.name) << "; style=dashed;\n";
        States(r.states, s.name + "_" + r.name, depth + 2);
        o_ << ind << "  }\n";
      }
      o_ << ind << "}\n";
    }
  }

  const Definition& d_;
  std::ostringstream o_;
};

}  // namespace

std::string GraphvizDot(const Definition& def) { return DotWriter(def).Run(); }

}  // namespace treaty::defs
