// SVG diagrams of definitions: the node's DOT (GetDefinition's graph_dot)
// laid out and rendered by Graphviz's library (libgvc, layout "dot"), with
// the active states highlighted: their nodes (leaf states) or clusters
// (composite states) filled and given the SVG class "active", so the
// console can restyle them (docs/web.md, "Diagrams").
//
// Thread-safety: one renderer serves every request thread; Graphviz's
// context and its graph reader keep global state and are not thread-safe,
// so Render runs one at a time under a mutex.
#pragma once

#include <mutex>
#include <string>
#include <vector>

struct GVC_s;

namespace treaty::web {

class DiagramRenderer {
 public:
  DiagramRenderer();
  ~DiagramRenderer();
  DiagramRenderer(const DiagramRenderer&) = delete;
  DiagramRenderer& operator=(const DiagramRenderer&) = delete;

  // The SVG of `dot` with the states in `active` (names or paths such as
  // "review/legal") highlighted; false with `error` set when the DOT
  // cannot be read or laid out. Unknown state names are ignored.
  bool Render(const std::string& dot, const std::vector<std::string>& active, std::string* svg, std::string* error);

 private:
  std::mutex mu_;
  GVC_s* gvc_ = nullptr;
};

}  // namespace treaty::web
