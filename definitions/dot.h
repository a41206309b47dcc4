// Graphviz DOT rendering of a definition (treatyc graph, the Definitions
// service's graph): states as rounded boxes labelled with their label or
// name, final states as double circles, the initial state of every level
// marked by an arrow from a point, steps as edges labelled "name (roles)"
// (then the step's label and its guard in brackets, when it has them),
// composite states as clusters, parallel regions as dashed clusters inside
// them. Edges to or from a composite state attach to its cluster.
//
// Deterministic: the same definition gives the same text, byte for byte.
//
// Thread-safety: pure functions.
#pragma once

#include <string>

#include "definitions/model.h"

namespace treaty::defs {

std::string GraphvizDot(const Definition& def);

}  // namespace treaty::defs
