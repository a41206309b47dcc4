// The expression syntax tree. Immutable once parsed; nodes are shared
// through NodePtr.
//
// Thread-safety: immutable; share freely.
#pragma once

#include <string>
#include <vector>

#include "definitions/expr/expr.h"

namespace treaty::expr {

struct Node {
  enum class Kind {
    kLiteral,  // literal
    kRoot,     // name: input, data, actor, chain
    kMember,   // kids[0].name
    kIndex,    // kids[0][kids[1]]
    kUnary,    // op kids[0]: "!" or "-"
    kBinary,   // kids[0] op kids[1]: + - * / % == != < <= > >= in
    kAnd,      // kids[0] && kids[1]
    kOr,       // kids[0] || kids[1]
    kList,     // [kids...]
    kCall,     // name(kids...)
  };
  Kind kind = Kind::kLiteral;
  int offset = 0;      // byte offset of the node's first character
  int end = 0;         // byte offset just past the node
  Value literal;
  std::string name;    // root, member or function name
  std::string op;
  std::vector<NodePtr> kids;
};

// "input.items" for a member chain from a root; "" for anything else.
std::string FieldPath(const Node& n);

}  // namespace treaty::expr
