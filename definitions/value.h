// Value: the deterministic data model of process instances, step inputs and
// expressions. Integers are 64-bit, decimals are fixed-point (no floating
// point anywhere), objects keep their keys sorted, so every party computes
// byte-identical canonical encodings and hashes.
//
// A Redacted value stands in for a field this party may not see: it holds
// only the digest of the hidden value (see docs/protocol.md).
//
// Thread-safety: plain values; const access from many threads is safe.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "definitions/base/sha256.h"
#include "definitions/base/status.h"

namespace treaty {

// A fixed-point decimal: units / 10^scale, 0 <= scale <= kMaxScale.
class Decimal {
 public:
  static constexpr int kMaxScale = 18;
  Decimal() = default;
  Decimal(__int128 units, int scale) : units_(units), scale_(scale) {}
  static Decimal FromInt(int64_t v) { return Decimal(v, 0); }
  // Parses "-12.3400", "5", "1e3", "2.5E-2". Exponents are folded into the
  // scale; more than kMaxScale fractional digits is an error, not rounding.
  static Result<Decimal> Parse(std::string_view text);

  __int128 units() const { return units_; }
  int scale() const { return scale_; }
  // Shortest exact text: no exponent, no trailing fractional zeros ("1.5", "-3").
  std::string ToString() const;
  // Same value with trailing fractional zeros removed.
  Decimal Normalized() const;
  bool IsInteger() const;

  static Result<Decimal> Add(const Decimal& a, const Decimal& b);
  static Result<Decimal> Sub(const Decimal& a, const Decimal& b);
  static Result<Decimal> Mul(const Decimal& a, const Decimal& b);
  // Quotient with scale max(a.scale, b.scale) + 6 (at most kMaxScale),
  // rounded half to even. Division by zero is an error.
  static Result<Decimal> Div(const Decimal& a, const Decimal& b);
  static int Compare(const Decimal& a, const Decimal& b);  // -1, 0, 1

 private:
  __int128 units_ = 0;
  int scale_ = 0;
};

class Value;
using ValueList = std::vector<Value>;
using ValueObject = std::map<std::string, Value, std::less<>>;

struct Redacted {
  Digest digest{};
  bool operator==(const Redacted& o) const { return digest == o.digest; }
};

class Value {
 public:
  enum class Kind : uint8_t { kNull, kBool, kInt, kDecimal, kString, kList, kObject, kRedacted };

  Value() = default;
  static Value Null() { return Value(); }
  static Value Bool(bool b) { Value v; v.v_ = b; return v; }
  static Value Int(int64_t i) { Value v; v.v_ = i; return v; }
  static Value Dec(Decimal d) { Value v; v.v_ = d; return v; }
  static Value Str(std::string s) { Value v; v.v_ = std::move(s); return v; }
  static Value List(ValueList l) { Value v; v.v_ = std::move(l); return v; }
  static Value Object(ValueObject o = {}) { Value v; v.v_ = std::move(o); return v; }
  static Value Hidden(const Digest& d) { Value v; v.v_ = Redacted{d}; return v; }

  Kind kind() const { return static_cast<Kind>(v_.index()); }
  bool is_null() const { return kind() == Kind::kNull; }
  bool is_bool() const { return kind() == Kind::kBool; }
  bool is_int() const { return kind() == Kind::kInt; }
  bool is_decimal() const { return kind() == Kind::kDecimal; }
  bool is_number() const { return is_int() || is_decimal(); }
  bool is_string() const { return kind() == Kind::kString; }
  bool is_list() const { return kind() == Kind::kList; }
  bool is_object() const { return kind() == Kind::kObject; }
  bool is_redacted() const { return kind() == Kind::kRedacted; }

  bool as_bool() const { return std::get<bool>(v_); }
  int64_t as_int() const { return std::get<int64_t>(v_); }
  const Decimal& as_decimal() const { return std::get<Decimal>(v_); }
  Decimal as_number() const { return is_int() ? Decimal::FromInt(as_int()) : as_decimal(); }
  const std::string& as_string() const { return std::get<std::string>(v_); }
  const ValueList& as_list() const { return std::get<ValueList>(v_); }
  ValueList& mutable_list() { return std::get<ValueList>(v_); }
  const ValueObject& as_object() const { return std::get<ValueObject>(v_); }
  ValueObject& mutable_object() { return std::get<ValueObject>(v_); }
  const Digest& redacted_digest() const { return std::get<Redacted>(v_).digest; }

  // Object member or nullptr (also nullptr when this is not an object).
  const Value* Find(std::string_view key) const;
  // Sets an object member; turns a null value into an empty object first.
  void Set(std::string key, Value v);

  // Structural equality; numbers compare by value, so 2 == 2.0.
  bool operator==(const Value& o) const;
  bool operator!=(const Value& o) const { return !(*this == o); }

  // Canonical JSON: sorted keys, no whitespace, decimals in shortest exact
  // form, redacted values as {"$redacted":"<hex digest>"}. This is the byte
  // string every party hashes.
  std::string ToCanonicalJson() const;
  // Digest of the canonical JSON; for a redacted value, its stored digest.
  Digest ContentDigest() const;
  // Parses JSON exactly: integers that fit int64 become Int, other numbers
  // Decimal from their decimal text (never through double). Objects
  // {"$redacted":"<64 hex>"} become Redacted. Errors name the offset.
  static Result<Value> FromJson(std::string_view text, int max_depth = 64);

  static const char* KindName(Kind k);

 private:
  std::variant<std::monostate, bool, int64_t, Decimal, std::string, ValueList, ValueObject, Redacted> v_;
};

}  // namespace treaty
