#include "definitions/dot.h"

#include <map>
#include <sstream>

namespace treaty::defs {
namespace {

// A DOT string: quotes and backslashes escaped, "\n" as Graphviz's line
// break, other control characters as spaces.
std::string Q(const std::string& s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '\n') {
      out += "\\n";
      continue;
    }
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) {
      out += ' ';
      continue;
    }
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  return out + "\"";
}

std::string Duration(int64_t ms) {
  struct Unit {
    int64_t ms;
    const char* name;
  };
  static const Unit kUnits[] = {
      {24LL * 3600 * 1000, "d"}, {3600 * 1000, "h"}, {60 * 1000, "m"}, {1000, "s"}, {1, "ms"}};
  for (const auto& u : kUnits)
    if (ms % u.ms == 0) return std::to_string(ms / u.ms) + u.name;
  return std::to_string(ms) + "ms";
}

// Cluster and marker ids use '/', which names never contain, so they
// cannot clash with a state's id.
class DotWriter {
 public:
  explicit DotWriter(const Definition& d) : d_(d) { Index(d_.states, ""); }

  std::string Run() {
    std::string title = d_.process + " v" + std::to_string(d_.version);
    o_ << "digraph " << Q(title) << " {\n"
       << "  graph [rankdir=LR, compound=true, fontname=\"Helvetica\", label=" << Q(title) << ", labelloc=t];\n"
       << "  node [shape=box, style=rounded, fontname=\"Helvetica\"];\n"
       << "  edge [fontname=\"Helvetica\", fontsize=10];\n";
    States(d_.states, "", 1);
    for (const auto& s : d_.steps) Edges(s);
    o_ << "}\n";
    return o_.str();
  }

 private:
  const StateSpec* Spec(const std::string& name) const {
    auto it = specs_.find(name);
    return it == specs_.end() ? nullptr : it->second;
  }

  bool IsComposite(const std::string& name) const {
    const StateSpec* s = Spec(name);
    return s != nullptr && s->composite();
  }

  // Clusters are not nodes: an edge to or from a composite state attaches
  // to its initial leaf (of its first region) and is clipped at the cluster.
  std::string NodeOf(const std::string& name) const {
    const StateSpec* s = Spec(name);
    if (s == nullptr) return Q(name);
    while (s->composite()) {
      const std::vector<StateSpec>& subs = s->states.empty() ? s->regions.front().states : s->states;
      if (subs.empty()) break;
      const StateSpec* next = &subs.front();
      for (const auto& x : subs)
        if (x.initial) {
          next = &x;
          break;
        }
      s = next;
    }
    return Q(s->name);
  }

  std::string Roles(const StepSpec& s) const {
    std::string out;
    for (size_t i = 0; i < s.by.size(); ++i) out += (i ? ", " : "") + s.by[i].name;
    return out;
  }

  void Edges(const StepSpec& s) {
    std::string label = s.name + " (" + Roles(s) + ")";
    if (!s.label.empty()) label += "\n" + s.label;
    if (s.guard) label += "\n[" + s.guard->text + "]";
    // Who does the step: a person from a queue, or a machine of a job type.
    if (s.task && !s.task->human_queue.empty()) label += "\nhuman task: " + s.task->human_queue;
    if (s.task && !s.task->job_type.empty()) label += "\njob: " + s.task->job_type;
    for (const auto& f : s.from) {
      std::string l = label;
      const StateSpec* from = Spec(f.name);
      bool deadline = from != nullptr && from->deadline_step == s.name && from->deadline_after_ms;
      if (deadline) l += "\nafter " + Duration(*from->deadline_after_ms);
      o_ << "  " << NodeOf(f.name) << " -> " << NodeOf(s.to.name) << " [label=" << Q(l);
      if (deadline) o_ << ", style=dashed";
      if (IsComposite(f.name)) o_ << ", ltail=" << Q("cluster_" + Path(f.name));
      if (IsComposite(s.to.name)) o_ << ", lhead=" << Q("cluster_" + Path(s.to.name));
      o_ << "];\n";
    }
  }

  // Every state by name, and the cluster id of every composite state:
  // the names of the enclosing composite states and regions joined by '/'.
  void Index(const std::vector<StateSpec>& states, const std::string& scope) {
    for (const auto& s : states) {
      specs_.emplace(s.name, &s);
      std::string cluster = Join(scope, s.name);
      clusters_.emplace(s.name, cluster);
      Index(s.states, cluster);
      for (const auto& r : s.regions) Index(r.states, cluster + "/" + r.name);
    }
  }

  std::string Path(const std::string& name) const {
    auto it = clusters_.find(name);
    return it == clusters_.end() ? name : it->second;
  }

  // `scope` is the cluster path of this level ("" at the top).
  void States(const std::vector<StateSpec>& states, const std::string& scope, int depth) {
    std::string ind(2 * static_cast<size_t>(depth), ' ');
    for (const auto& s : states) {
      if (s.initial) {
        std::string start = "start/" + scope;
        o_ << ind << Q(start) << " [shape=point, width=0.15, label=\"\"];\n"
           << ind << Q(start) << " -> " << NodeOf(s.name);
        if (s.composite()) o_ << " [lhead=" << Q("cluster_" + Join(scope, s.name)) << "]";
        o_ << ";\n";
      }
      if (!s.composite()) {
        o_ << ind << Q(s.name) << " [label=" << Q(s.label.empty() ? s.name : s.label);
        if (s.final) o_ << ", shape=doublecircle, style=\"\"";
        o_ << "];\n";
        continue;
      }
      std::string cluster = Join(scope, s.name);
      o_ << ind << "subgraph " << Q("cluster_" + cluster) << " {\n"
         << ind << "  label=" << Q((s.label.empty() ? s.name : s.label) + (s.regions.empty() ? "" : " (parallel)"))
         << "; style=rounded;\n";
      States(s.states, cluster, depth + 1);
      for (const auto& r : s.regions) {
        std::string rc = cluster + "/" + r.name;
        o_ << ind << "  subgraph " << Q("cluster_" + rc) << " {\n"
           << ind << "    label=" << Q(r.name) << "; style=dashed;\n";
        States(r.states, rc, depth + 2);
        o_ << ind << "  }\n";
      }
      o_ << ind << "}\n";
    }
  }

  static std::string Join(const std::string& scope, const std::string& name) {
    return scope.empty() ? name : scope + "/" + name;
  }

  const Definition& d_;
  std::map<std::string, const StateSpec*> specs_;
  std::map<std::string, std::string> clusters_;
  std::ostringstream o_;
};

}  // namespace

std::string GraphvizDot(const Definition& def) { return DotWriter(def).Run(); }

}  // namespace treaty::defs
