// The operations of the expression language on Values. Both the
// interpreter (evaluator.cc) and the C++ that EmitCpp generates call these,
// so interpreted and compiled rules agree by construction.
//
// Field access never copies: it yields a pointer into the value tree
// (nullptr for an absent field, which reads as null). Values held only as
// a hash (Redacted) may be passed through but not used: NotVisible()
// reports that.
//
// Valid C++17: generated Boost.MSM machines include this (docs/msm.md).
// Thread-safety: pure functions.
#pragma once

#include <string>
#include <string_view>

#include "definitions/base/status.h"
#include "definitions/expr/expr.h"
#include "definitions/value.h"

namespace treaty::expr::ops {

// The null every absent field reads as.
const Value& Null();
inline const Value& Deref(const Value* v) { return v != nullptr ? *v : Null(); }

// A root value: "input", "data", "actor"; chain is an object {time}.
const Value* Root(const EvalContext& ctx, std::string_view name, Value* chain_scratch);
// base.name; `path` names the whole access for error messages.
Result<const Value*> Member(const Value* base, std::string_view name, const char* path);
Result<const Value*> Index(const Value* base, const Value& index, const char* path);

// PERMISSION_DENIED naming the field.
Status NotVisible(const char* path);

Result<Value> Add(const Value& a, const Value& b);
Result<Value> Sub(const Value& a, const Value& b);
Result<Value> Mul(const Value& a, const Value& b);
Result<Value> Div(const Value& a, const Value& b);
Result<Value> Mod(const Value& a, const Value& b);
Result<Value> Neg(const Value& a);
Result<Value> Not(const Value& a);
// For && and ||: the operand must be a boolean.
Result<bool> Truth(const Value& a, const char* op);
Value Eq(const Value& a, const Value& b);
Value Ne(const Value& a, const Value& b);
Result<Value> Lt(const Value& a, const Value& b);
Result<Value> Le(const Value& a, const Value& b);
Result<Value> Gt(const Value& a, const Value& b);
Result<Value> Ge(const Value& a, const Value& b);
Result<Value> In(const Value& needle, const Value& list);
// Built-in functions: len, sum, abs, min, max.
Result<Value> Call(std::string_view fn, const Value* args, size_t n);

}  // namespace treaty::expr::ops
