// Graphviz DOT rendering of a definition: states (initial marked by an
// entry arrow, final as double circles), steps as edges labelled with the
// step and its roles, composite states and parallel regions as clusters.
//
// Thread-safety: pure function.
#pragma once

#include <string>

#include "definitions/model.h"

namespace treaty::defs {

std::string GraphvizDot(const Definition& def);

}  // namespace treaty::defs
