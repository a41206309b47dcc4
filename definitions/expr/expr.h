// The expression language of guards and `set:` — public facade.
//
// Deterministic by construction: 64-bit integers with overflow errors,
// fixed-point decimals, strings, booleans, lists; no floating point, no
// clock, no randomness. Roots: input, data, actor, chain (chain.time is the
// ledger timestamp in milliseconds). See docs/definitions.md.
//
// Three consumers: the validator (Parse + Check), the reference machine
// (Evaluate) and the MSM code generator (EmitCpp, whose output calls the
// same operations as Evaluate, from expr/ops.h).
//
// Thread-safety: parsed trees are immutable and may be shared; all
// functions here are reentrant.
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "definitions/base/status.h"
#include "definitions/value.h"

namespace treaty::expr {

struct Node;  // expr/ast.h
using NodePtr = std::shared_ptr<const Node>;

// A problem at a 0-based byte offset into the expression text.
struct Problem {
  int offset = 0;
  std::string message;
};

struct ParseResult {
  NodePtr node;                   // set on success
  std::optional<Problem> error;   // set on failure
};
ParseResult Parse(std::string_view text);

// Static type of a field or expression.
struct TypeInfo {
  enum class Kind { kAny, kNull, kBool, kInt, kDecimal, kString, kList, kObject };
  Kind kind = Kind::kAny;
  std::map<std::string, TypeInfo> fields;  // kObject: declared members
  bool open = false;                       // kObject: undeclared members allowed (typed any)
  std::shared_ptr<TypeInfo> element;       // kList: element type (null = any)
  bool optional = false;                   // may be absent (reads as null)
  std::vector<std::string> visible_to;     // roles that may see it; empty = every role
};
const char* KindName(TypeInfo::Kind k);

// What an expression may read: the four roots and their declared members.
struct Env {
  TypeInfo input;  // kObject
  TypeInfo data;   // kObject
  TypeInfo actor;  // kObject: party (string), roles (list of string)
  TypeInfo chain;  // kObject: time (integer, ms)
};

// One field the expression reads, e.g. root "data", path {"total"}.
struct FieldRead {
  std::string root;
  std::vector<std::string> path;
  int offset = 0;
  std::vector<std::string> visible_to;  // of the outermost declared field read
};

struct CheckResult {
  TypeInfo type;
  std::vector<Problem> problems;  // unknown fields, mixed types, bad operators
  std::vector<FieldRead> reads;
};
CheckResult Check(const Node& node, const Env& env);

// Values an expression is evaluated against. Absent roots read as null.
struct EvalContext {
  const Value* input = nullptr;
  const Value* data = nullptr;
  const Value* actor = nullptr;
  int64_t chain_time_ms = 0;
};

// Errors: PERMISSION_DENIED when a redacted (not visible) value is used,
// OUT_OF_RANGE for overflow and division by zero, INVALID_ARGUMENT for a
// type mismatch only detectable at run time (e.g. a null in arithmetic).
Result<Value> Evaluate(const Node& node, const EvalContext& ctx);

// Emits a C++ function
//   static ::treaty::Result<::treaty::Value> NAME(const ::treaty::expr::EvalContext& ctx)
// computing the same result as Evaluate through expr/ops.h. Deterministic
// output (same tree, same text), so generated files are reproducible.
std::string EmitCpp(const Node& node, std::string_view function_name);

}  // namespace treaty::expr
