#include "definitions/expr/ops.h"

#include <limits>

namespace treaty::expr::ops {
namespace {

Status TypeError(const std::string& what) { return Status::InvalidArgument(what); }

std::string KindOf(const Value& v) { return Value::KindName(v.kind()); }

Result<Value> Numeric(const Value& a, const Value& b, const char* op) {
  if (!a.is_number() || !b.is_number())
    return TypeError(std::string("operator '") + op + "' needs numbers, got " + KindOf(a) + " and " + KindOf(b));
  return Value();
}

Result<Value> FromDecimal(Result<Decimal> d) {
  if (!d.ok()) return d.status();
  return Value::Dec(*d);
}

Result<int> Compare(const Value& a, const Value& b, const char* op) {
  if (a.is_number() && b.is_number()) {
    if (a.is_int() && b.is_int()) return a.as_int() < b.as_int() ? -1 : (a.as_int() > b.as_int() ? 1 : 0);
    return Decimal::Compare(a.as_number(), b.as_number());
  }
  if (a.is_string() && b.is_string()) {
    int c = a.as_string().compare(b.as_string());
    return c < 0 ? -1 : (c > 0 ? 1 : 0);
  }
  return TypeError(std::string("operator '") + op + "' cannot compare " + KindOf(a) + " with " + KindOf(b));
}

int64_t CodePoints(const std::string& s) {
  int64_t n = 0;
  for (unsigned char c : s)
    if ((c & 0xC0) != 0x80) ++n;
  return n;
}

}  // namespace

const Value& Null() {
  static const Value kNull;
  return kNull;
}

const Value* Root(const EvalContext& ctx, std::string_view name, Value* chain_scratch) {
  if (name == "input") return ctx.input;
  if (name == "data") return ctx.data;
  if (name == "actor") return ctx.actor;
  if (name == "chain") {
    *chain_scratch = Value::Object();
    chain_scratch->Set("time", Value::Int(ctx.chain_time_ms));
    return chain_scratch;
  }
  return nullptr;
}

Result<const Value*> Member(const Value* base, std::string_view name, const char* path) {
  if (base == nullptr || base->is_null()) return static_cast<const Value*>(nullptr);
  if (base->is_redacted()) return NotVisible(path);
  if (!base->is_object())
    return TypeError(std::string("cannot read '") + std::string(name) + "' of a " + KindOf(*base) + " in " + path);
  return base->Find(name);
}

Result<const Value*> Index(const Value* base, const Value& index, const char* path) {
  if (base == nullptr || base->is_null()) return static_cast<const Value*>(nullptr);
  if (base->is_redacted() || index.is_redacted()) return NotVisible(path);
  if (!base->is_list()) return TypeError("only arrays can be indexed, not " + KindOf(*base) + " (" + path + ")");
  if (!index.is_int()) return TypeError(std::string("list index must be an integer, got ") + KindOf(index));
  int64_t i = index.as_int();
  const auto& l = base->as_list();
  if (i < 0 || i >= static_cast<int64_t>(l.size())) return static_cast<const Value*>(nullptr);
  return &l[static_cast<size_t>(i)];
}

Status NotVisible(const char* path) {
  return Status::PermissionDenied(std::string("field ") + path + " is not visible to this party");
}

Result<Value> Add(const Value& a, const Value& b) {
  if (a.is_string() && b.is_string()) return Value::Str(a.as_string() + b.as_string());
  if (a.is_list() && b.is_list()) {
    ValueList l = a.as_list();
    l.insert(l.end(), b.as_list().begin(), b.as_list().end());
    return Value::List(std::move(l));
  }
  auto chk = Numeric(a, b, "+");
  if (!chk.ok()) return chk;
  if (a.is_int() && b.is_int()) {
    int64_t r;
    if (__builtin_add_overflow(a.as_int(), b.as_int(), &r)) return Status::OutOfRange("integer overflow in '+'");
    return Value::Int(r);
  }
  return FromDecimal(Decimal::Add(a.as_number(), b.as_number()));
}

Result<Value> Sub(const Value& a, const Value& b) {
  auto chk = Numeric(a, b, "-");
  if (!chk.ok()) return chk;
  if (a.is_int() && b.is_int()) {
    int64_t r;
    if (__builtin_sub_overflow(a.as_int(), b.as_int(), &r)) return Status::OutOfRange("integer overflow in '-'");
    return Value::Int(r);
  }
  return FromDecimal(Decimal::Sub(a.as_number(), b.as_number()));
}

Result<Value> Mul(const Value& a, const Value& b) {
  auto chk = Numeric(a, b, "*");
  if (!chk.ok()) return chk;
  if (a.is_int() && b.is_int()) {
    int64_t r;
    if (__builtin_mul_overflow(a.as_int(), b.as_int(), &r)) return Status::OutOfRange("integer overflow in '*'");
    return Value::Int(r);
  }
  return FromDecimal(Decimal::Mul(a.as_number(), b.as_number()));
}

Result<Value> Div(const Value& a, const Value& b) {
  auto chk = Numeric(a, b, "/");
  if (!chk.ok()) return chk;
  if (a.is_int() && b.is_int()) {
    if (b.as_int() == 0) return Status::OutOfRange("division by zero");
    if (a.as_int() == std::numeric_limits<int64_t>::min() && b.as_int() == -1)
      return Status::OutOfRange("integer overflow in '/'");
    return Value::Int(a.as_int() / b.as_int());  // truncates toward zero
  }
  return FromDecimal(Decimal::Div(a.as_number(), b.as_number()));
}

Result<Value> Mod(const Value& a, const Value& b) {
  if (!a.is_int() || !b.is_int())
    return TypeError("operator '%' needs integers, got " + KindOf(a) + " and " + KindOf(b));
  if (b.as_int() == 0) return Status::OutOfRange("division by zero");
  if (b.as_int() == -1) return Value::Int(0);
  return Value::Int(a.as_int() % b.as_int());
}

Result<Value> Neg(const Value& a) {
  if (a.is_int()) {
    if (a.as_int() == std::numeric_limits<int64_t>::min()) return Status::OutOfRange("integer overflow in '-'");
    return Value::Int(-a.as_int());
  }
  if (a.is_decimal()) return Value::Dec(Decimal(-a.as_decimal().units(), a.as_decimal().scale()));
  return TypeError("unary '-' needs a number, got " + KindOf(a));
}

Result<Value> Not(const Value& a) {
  if (!a.is_bool()) return TypeError("operator '!' needs a boolean, got " + KindOf(a));
  return Value::Bool(!a.as_bool());
}

Result<bool> Truth(const Value& a, const char* op) {
  if (!a.is_bool()) return TypeError(std::string("operator '") + op + "' needs booleans, got " + KindOf(a));
  return a.as_bool();
}

Value Eq(const Value& a, const Value& b) { return Value::Bool(a == b); }
Value Ne(const Value& a, const Value& b) { return Value::Bool(a != b); }

Result<Value> Lt(const Value& a, const Value& b) {
  auto c = Compare(a, b, "<");
  if (!c.ok()) return c.status();
  return Value::Bool(*c < 0);
}
Result<Value> Le(const Value& a, const Value& b) {
  auto c = Compare(a, b, "<=");
  if (!c.ok()) return c.status();
  return Value::Bool(*c <= 0);
}
Result<Value> Gt(const Value& a, const Value& b) {
  auto c = Compare(a, b, ">");
  if (!c.ok()) return c.status();
  return Value::Bool(*c > 0);
}
Result<Value> Ge(const Value& a, const Value& b) {
  auto c = Compare(a, b, ">=");
  if (!c.ok()) return c.status();
  return Value::Bool(*c >= 0);
}

Result<Value> In(const Value& needle, const Value& list) {
  if (list.is_null()) return Value::Bool(false);
  if (!list.is_list()) return TypeError("operator 'in' needs a list on its right, got " + KindOf(list));
  for (const auto& e : list.as_list()) {
    if (e.is_redacted()) return Status::PermissionDenied("a list element is not visible to this party");
    if (e == needle) return Value::Bool(true);
  }
  return Value::Bool(false);
}

Result<Value> Call(std::string_view fn, const Value* args, size_t n) {
  for (size_t i = 0; i < n; ++i)
    if (args[i].is_redacted()) return Status::PermissionDenied(std::string(fn) + "() argument is not visible to this party");
  auto arity = [&](size_t want) -> Status {
    if (n != want)
      return TypeError(std::string(fn) + "() takes " + std::to_string(want) + " argument" + (want == 1 ? "" : "s"));
    return Status::Ok();
  };
  if (fn == "len") {
    TREATY_RETURN_IF_ERROR(arity(1));
    if (args[0].is_null()) return Value::Int(0);
    if (args[0].is_list()) return Value::Int(static_cast<int64_t>(args[0].as_list().size()));
    if (args[0].is_string()) return Value::Int(CodePoints(args[0].as_string()));
    return TypeError("len() needs a list or a string, got " + KindOf(args[0]));
  }
  if (fn == "sum") {
    TREATY_RETURN_IF_ERROR(arity(1));
    Value acc = Value::Int(0);
    if (args[0].is_null()) return acc;
    if (!args[0].is_list()) return TypeError("sum() needs a list of numbers, got " + KindOf(args[0]));
    for (const auto& e : args[0].as_list()) {
      auto r = Add(acc, e);
      if (!r.ok()) return r.status().code() == StatusCode::kInvalidArgument
                              ? Status::InvalidArgument("sum() needs a list of numbers, found " + KindOf(e))
                              : r.status();
      acc = std::move(r).value();
    }
    return acc;
  }
  if (fn == "abs") {
    TREATY_RETURN_IF_ERROR(arity(1));
    if (!args[0].is_number()) return TypeError("abs() needs a number, got " + KindOf(args[0]));
    if (args[0].is_int() ? args[0].as_int() < 0 : args[0].as_decimal().units() < 0) return Neg(args[0]);
    return args[0];
  }
  if (fn == "min" || fn == "max") {
    TREATY_RETURN_IF_ERROR(arity(2));
    auto c = Compare(args[0], args[1], fn == "min" ? "min" : "max");
    if (!c.ok()) return c.status();
    bool first = fn == "min" ? *c <= 0 : *c >= 0;
    return first ? args[0] : args[1];
  }
  return TypeError("unknown function " + std::string(fn) + "()");
}

}  // namespace treaty::expr::ops
