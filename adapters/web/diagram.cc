#include "diagram.h"

#include <graphviz/cgraph.h>
#include <graphviz/gvc.h>

#include <set>

namespace treaty::web {
namespace {

// Colours of an active state: a warm fill that reads on the default white
// background, and a darker outline.
constexpr const char* kFill = "#ffd966";
constexpr const char* kLine = "#b8860b";

// Graphviz's setters take char* (they do not write through it).
char* C(const std::string& s) { return const_cast<char*>(s.c_str()); }

void Highlight(void* obj, const std::string& style_now) {
  std::string style = style_now.empty() ? "filled" : style_now + ",filled";
  agsafeset(obj, C("style"), C(style), C(""));
  agsafeset(obj, C("fillcolor"), C(kFill), C(""));
  agsafeset(obj, C("color"), C(kLine), C(""));
  agsafeset(obj, C("penwidth"), C("2"), C(""));
  // SVG output puts "class" on the element's group (next to "node" or
  // "cluster"): the console styles active states by it.
  agsafeset(obj, C("class"), C("active"), C(""));
}

// Subgraphs named "cluster_<path>" whose path is one of `paths`.
void HighlightClusters(Agraph_t* g, const std::set<std::string>& paths) {
  for (Agraph_t* sub = agfstsubg(g); sub != nullptr; sub = agnxtsubg(sub)) {
    std::string name = agnameof(sub);
    const std::string prefix = "cluster_";
    if (name.rfind(prefix, 0) == 0 && paths.count(name.substr(prefix.size())) > 0) {
      char* style = agget(sub, C("style"));
      Highlight(sub, style ? style : "");
    }
    HighlightClusters(sub, paths);
  }
}

// Graphviz reports syntax errors through this hook; the last one is the
// error the caller sees (instead of a line on the daemon's stderr).
thread_local std::string* g_errors = nullptr;
int CollectError(char* message) {
  if (g_errors != nullptr && message != nullptr) *g_errors += message;
  return 0;
}

}  // namespace

DiagramRenderer::DiagramRenderer() : gvc_(gvContext()) { agseterrf(CollectError); }

DiagramRenderer::~DiagramRenderer() {
  if (gvc_ != nullptr) gvFreeContext(gvc_);
}

bool DiagramRenderer::Render(const std::string& dot, const std::vector<std::string>& active, std::string* svg,
                             std::string* error) {
  std::lock_guard<std::mutex> lock(mu_);
  if (gvc_ == nullptr) {
    *error = "Graphviz could not be initialised";
    return false;
  }
  std::string messages;
  g_errors = &messages;
  Agraph_t* g = agmemread(dot.c_str());
  g_errors = nullptr;
  if (g == nullptr) {
    *error = "the definition's graph could not be read" + (messages.empty() ? "" : ": " + messages);
    return false;
  }
  // A state's node is named by its leaf name (definitions/dot.cc); a
  // composite state is the cluster "cluster_" + its path. An instance's
  // states are paths, whose last part is the leaf.
  std::set<std::string> paths;
  for (const auto& s : active) {
    if (s.empty()) continue;
    paths.insert(s);
    std::string leaf = s.substr(s.rfind('/') == std::string::npos ? 0 : s.rfind('/') + 1);
    for (const std::string& name : {s, leaf}) {
      Agnode_t* n = agnode(g, C(name), 0);
      if (n == nullptr) continue;
      char* style = agget(n, C("style"));
      Highlight(n, style ? style : "");
      break;
    }
  }
  HighlightClusters(g, paths);

  bool ok = false;
  if (gvLayout(gvc_, g, "dot") != 0) {
    *error = "the definition's graph could not be laid out";
  } else {
    char* data = nullptr;
    unsigned int len = 0;
    if (gvRenderData(gvc_, g, "svg", &data, &len) == 0 && data != nullptr) {
      svg->assign(data, len);
      ok = true;
    } else {
      *error = "the definition's graph could not be rendered as SVG";
    }
    if (data != nullptr) gvFreeRenderData(data);
    gvFreeLayout(gvc_, g);
  }
  agclose(g);
  return ok;
}

}  // namespace treaty::web
