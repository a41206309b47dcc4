#include "definitions/value.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <stack>

namespace treaty {
namespace {

constexpr __int128 Pow10(int n) {
  __int128 r = 1;
  for (int i = 0; i < n; ++i) r *= 10;
  return r;
}

// |value| must stay below 10^36 so that aligning scales cannot overflow.
// constexpr: definitions register during static initialisation and parse
// decimals before any dynamic initialiser of this file would have run.
constexpr __int128 kDecimalLimit = Pow10(36);

bool InRange(__int128 u) { return u < kDecimalLimit && u > -kDecimalLimit; }

Status Overflow() { return Status::OutOfRange("decimal overflow"); }

// Brings both to the same scale; fails on overflow.
bool Align(const Decimal& a, const Decimal& b, __int128* ua, __int128* ub, int* scale) {
  int s = std::max(a.scale(), b.scale());
  __int128 x = a.units(), y = b.units();
  if (__builtin_mul_overflow(x, Pow10(s - a.scale()), &x)) return false;
  if (__builtin_mul_overflow(y, Pow10(s - b.scale()), &y)) return false;
  *ua = x;
  *ub = y;
  *scale = s;
  return true;
}

// Divides with rounding half to even.
__int128 DivRoundHalfEven(__int128 n, __int128 d) {
  __int128 q = n / d, r = n % d;
  if (r == 0) return q;
  __int128 twice = r < 0 ? -r * 2 : r * 2;
  __int128 ad = d < 0 ? -d : d;
  bool negative = (n < 0) != (d < 0);
  if (twice > ad || (twice == ad && (q % 2 != 0))) q += negative ? -1 : 1;
  return q;
}

std::string Int128ToString(__int128 v) {
  if (v == 0) return "0";
  bool neg = v < 0;
  unsigned __int128 u = neg ? -static_cast<unsigned __int128>(v) : static_cast<unsigned __int128>(v);
  std::string s;
  while (u > 0) {
    s.push_back(static_cast<char>('0' + static_cast<int>(u % 10)));
    u /= 10;
  }
  if (neg) s.push_back('-');
  std::reverse(s.begin(), s.end());
  return s;
}

}  // namespace

Result<Decimal> Decimal::Parse(std::string_view text) {
  size_t i = 0;
  bool neg = false;
  if (i < text.size() && (text[i] == '-' || text[i] == '+')) neg = text[i++] == '-';
  __int128 units = 0;
  int scale = 0, digits = 0;
  bool dot = false;
  for (; i < text.size(); ++i) {
    char c = text[i];
    if (c == '.') {
      if (dot) return Status::InvalidArgument("invalid decimal '" + std::string(text) + "'");
      dot = true;
      continue;
    }
    if (c == 'e' || c == 'E') break;
    if (c < '0' || c > '9') return Status::InvalidArgument("invalid decimal '" + std::string(text) + "'");
    units = units * 10 + (c - '0');
    ++digits;
    if (dot) ++scale;
    if (!InRange(units)) return Status::OutOfRange("decimal '" + std::string(text) + "' is too large");
  }
  if (digits == 0) return Status::InvalidArgument("invalid decimal '" + std::string(text) + "'");
  if (i < text.size()) {  // exponent
    ++i;
    bool eneg = false;
    if (i < text.size() && (text[i] == '-' || text[i] == '+')) eneg = text[i++] == '-';
    if (i >= text.size()) return Status::InvalidArgument("invalid decimal '" + std::string(text) + "'");
    int exp = 0;
    for (; i < text.size(); ++i) {
      if (text[i] < '0' || text[i] > '9') return Status::InvalidArgument("invalid decimal '" + std::string(text) + "'");
      exp = exp * 10 + (text[i] - '0');
      if (exp > 1000) return Status::OutOfRange("decimal '" + std::string(text) + "' is out of range");
    }
    if (eneg) {
      scale += exp;
    } else {
      while (exp > 0 && scale > 0) { --scale; --exp; }
      for (; exp > 0; --exp) {
        units *= 10;
        if (!InRange(units)) return Status::OutOfRange("decimal '" + std::string(text) + "' is too large");
      }
    }
  }
  Decimal d(neg ? -units : units, scale);
  if (scale > kMaxScale) {
    d = d.Normalized();
    if (d.scale_ > kMaxScale)
      return Status::OutOfRange("decimal '" + std::string(text) + "' has more than 18 fractional digits");
  }
  return d;
}

std::string Decimal::ToString() const {
  Decimal n = Normalized();
  std::string digits = Int128ToString(n.units_ < 0 ? -n.units_ : n.units_);
  std::string out = n.units_ < 0 ? "-" : "";
  if (n.scale_ == 0) return out + digits;
  if (static_cast<int>(digits.size()) <= n.scale_) digits.insert(0, n.scale_ - digits.size() + 1, '0');
  out += digits.substr(0, digits.size() - n.scale_);
  out += '.';
  out += digits.substr(digits.size() - n.scale_);
  return out;
}

Decimal Decimal::Normalized() const {
  Decimal d = *this;
  while (d.scale_ > 0 && d.units_ % 10 == 0) {
    d.units_ /= 10;
    --d.scale_;
  }
  if (d.units_ == 0) d.scale_ = 0;
  return d;
}

bool Decimal::IsInteger() const { return Normalized().scale_ == 0; }

Result<Decimal> Decimal::Add(const Decimal& a, const Decimal& b) {
  __int128 x, y, r;
  int s;
  if (!Align(a, b, &x, &y, &s) || __builtin_add_overflow(x, y, &r) || !InRange(r)) return Overflow();
  return Decimal(r, s);
}

Result<Decimal> Decimal::Sub(const Decimal& a, const Decimal& b) {
  __int128 x, y, r;
  int s;
  if (!Align(a, b, &x, &y, &s) || __builtin_sub_overflow(x, y, &r) || !InRange(r)) return Overflow();
  return Decimal(r, s);
}

Result<Decimal> Decimal::Mul(const Decimal& a, const Decimal& b) {
  __int128 r;
  if (__builtin_mul_overflow(a.units_, b.units_, &r)) return Overflow();
  int s = a.scale_ + b.scale_;
  if (s > kMaxScale) {
    r = DivRoundHalfEven(r, Pow10(s - kMaxScale));
    s = kMaxScale;
  }
  if (!InRange(r)) return Overflow();
  return Decimal(r, s);
}

Result<Decimal> Decimal::Div(const Decimal& a, const Decimal& b) {
  if (b.units_ == 0) return Status::OutOfRange("division by zero");
  int s = std::min(std::max(a.scale_, b.scale_) + 6, kMaxScale);
  // a/b = (ua / 10^sa) / (ub / 10^sb) ; want units at scale s:
  // q = ua * 10^(s - sa + sb) / ub
  int shift = s - a.scale_ + b.scale_;
  __int128 n = a.units_;
  if (shift >= 0) {
    if (__builtin_mul_overflow(n, Pow10(shift), &n)) return Overflow();
    n = DivRoundHalfEven(n, b.units_);
  } else {
    __int128 d;
    if (__builtin_mul_overflow(b.units_, Pow10(-shift), &d)) return Overflow();
    n = DivRoundHalfEven(n, d);
  }
  if (!InRange(n)) return Overflow();
  return Decimal(n, s);
}

int Decimal::Compare(const Decimal& a, const Decimal& b) {
  __int128 x, y;
  int s;
  if (!Align(a, b, &x, &y, &s)) {
    // Only reachable for extreme magnitudes: compare signs then magnitude.
    Decimal na = a.Normalized(), nb = b.Normalized();
    if (na.units_ < 0 && nb.units_ >= 0) return -1;
    if (na.units_ >= 0 && nb.units_ < 0) return 1;
    // Same sign, cannot align: the one with the smaller scale is larger in magnitude.
    bool bigger_a = na.scale_ < nb.scale_;
    if (na.units_ < 0) bigger_a = !bigger_a;
    return bigger_a ? 1 : -1;
  }
  return x < y ? -1 : (x > y ? 1 : 0);
}

const Value* Value::Find(std::string_view key) const {
  if (!is_object()) return nullptr;
  const auto& o = as_object();
  auto it = o.find(key);
  return it == o.end() ? nullptr : &it->second;
}

void Value::Set(std::string key, Value v) {
  if (is_null()) v_ = ValueObject{};
  mutable_object()[std::move(key)] = std::move(v);
}

bool Value::operator==(const Value& o) const {
  if (is_number() && o.is_number()) {
    if (is_int() && o.is_int()) return as_int() == o.as_int();
    return Decimal::Compare(as_number(), o.as_number()) == 0;
  }
  if (kind() != o.kind()) return false;
  switch (kind()) {
    case Kind::kNull: return true;
    case Kind::kBool: return as_bool() == o.as_bool();
    case Kind::kString: return as_string() == o.as_string();
    case Kind::kList: return as_list() == o.as_list();
    case Kind::kObject: return as_object() == o.as_object();
    case Kind::kRedacted: return redacted_digest() == o.redacted_digest();
    default: return false;
  }
}

const char* Value::KindName(Kind k) {
  switch (k) {
    case Kind::kNull: return "null";
    case Kind::kBool: return "boolean";
    case Kind::kInt: return "integer";
    case Kind::kDecimal: return "decimal";
    case Kind::kString: return "string";
    case Kind::kList: return "array";
    case Kind::kObject: return "object";
    case Kind::kRedacted: return "redacted";
  }
  return "?";
}

namespace {

void AppendJsonString(std::string* out, const std::string& s) {
  out->push_back('"');
  for (unsigned char c : s) {
    switch (c) {
      case '"': *out += "\\\""; break;
      case '\\': *out += "\\\\"; break;
      case '\n': *out += "\\n"; break;
      case '\r': *out += "\\r"; break;
      case '\t': *out += "\\t"; break;
      case '\b': *out += "\\b"; break;
      case '\f': *out += "\\f"; break;
      default:
        if (c < 0x20) {
          char buf[8];
          snprintf(buf, sizeof buf, "\\u%04x", c);
          *out += buf;
        } else {
          out->push_back(static_cast<char>(c));
        }
    }
  }
  out->push_back('"');
}

void AppendCanonical(std::string* out, const Value& v) {
  switch (v.kind()) {
    case Value::Kind::kNull: *out += "null"; break;
    case Value::Kind::kBool: *out += v.as_bool() ? "true" : "false"; break;
    case Value::Kind::kInt: *out += std::to_string(v.as_int()); break;
    case Value::Kind::kDecimal: *out += v.as_decimal().ToString(); break;
    case Value::Kind::kString: AppendJsonString(out, v.as_string()); break;
    case Value::Kind::kList: {
      out->push_back('[');
      bool first = true;
      for (const auto& e : v.as_list()) {
        if (!first) out->push_back(',');
        first = false;
        AppendCanonical(out, e);
      }
      out->push_back(']');
      break;
    }
    case Value::Kind::kObject: {
      out->push_back('{');
      bool first = true;
      for (const auto& [k, e] : v.as_object()) {
        if (!first) out->push_back(',');
        first = false;
        AppendJsonString(out, k);
        out->push_back(':');
        AppendCanonical(out, e);
      }
      out->push_back('}');
      break;
    }
    case Value::Kind::kRedacted:
      *out += "{\"$redacted\":\"" + ToHex(v.redacted_digest()) + "\"}";
      break;
  }
}

// SAX handler that builds a Value without ever converting through double.
class ValueBuilder : public nlohmann::json_sax<nlohmann::json> {
 public:
  explicit ValueBuilder(int max_depth) : max_depth_(max_depth) {}

  bool null() override { return Put(Value::Null()); }
  bool boolean(bool b) override { return Put(Value::Bool(b)); }
  bool number_integer(number_integer_t v) override { return Put(Value::Int(v)); }
  bool number_unsigned(number_unsigned_t v) override {
    if (v > static_cast<number_unsigned_t>(INT64_MAX)) {
      auto d = Decimal::Parse(std::to_string(v));
      if (!d.ok()) return Fail(d.status().message());
      return Put(Value::Dec(*d));
    }
    return Put(Value::Int(static_cast<int64_t>(v)));
  }
  bool number_float(number_float_t, const string_t& s) override {
    auto d = Decimal::Parse(s);
    if (!d.ok()) return Fail(d.status().message());
    return Put(Value::Dec(*d));
  }
  bool string(string_t& s) override { return Put(Value::Str(std::move(s))); }
  bool binary(binary_t&) override { return Fail("binary values are not supported"); }
  bool start_object(std::size_t) override {
    if (static_cast<int>(stack_.size()) >= max_depth_) return Fail("nesting deeper than " + std::to_string(max_depth_));
    stack_.push_back({Value::Object(), {}});
    return true;
  }
  bool key(string_t& k) override {
    stack_.back().key = std::move(k);
    if (stack_.back().value.Find(stack_.back().key) != nullptr) return Fail("duplicate key \"" + stack_.back().key + "\"");
    return true;
  }
  bool end_object() override {
    Frame f = std::move(stack_.back());
    stack_.pop_back();
    // {"$redacted": "<hex>"} is how a hidden field travels.
    const auto& o = f.value.as_object();
    if (o.size() == 1 && o.begin()->first == "$redacted") {
      const Value& h = o.begin()->second;
      Digest d;
      if (!h.is_string() || !DigestFromHex(h.as_string(), &d))
        return Fail("\"$redacted\" must hold a 64-digit hex digest");
      return Put(Value::Hidden(d));
    }
    return Put(std::move(f.value));
  }
  bool start_array(std::size_t) override {
    if (static_cast<int>(stack_.size()) >= max_depth_) return Fail("nesting deeper than " + std::to_string(max_depth_));
    stack_.push_back({Value::List({}), {}});
    return true;
  }
  bool end_array() override {
    Frame f = std::move(stack_.back());
    stack_.pop_back();
    return Put(std::move(f.value));
  }
  bool parse_error(std::size_t position, const std::string&, const nlohmann::detail::exception& ex) override {
    if (error_.empty()) {
      std::string what = ex.what();
      // nlohmann's text is "[json.exception.parse_error.101] parse error at line 1, column 2: ..."
      auto p = what.find("parse error");
      error_ = "invalid JSON at offset " + std::to_string(position > 0 ? position - 1 : 0) + ": " +
               (p == std::string::npos ? what : what.substr(p));
    }
    return false;
  }

  Result<Value> Take() {
    if (!error_.empty()) return Status::InvalidArgument(error_);
    return std::move(root_);
  }

 private:
  struct Frame {
    Value value;
    std::string key;
  };
  bool Put(Value v) {
    if (stack_.empty()) {
      root_ = std::move(v);
      return true;
    }
    Frame& top = stack_.back();
    if (top.value.is_list()) {
      top.value.mutable_list().push_back(std::move(v));
    } else {
      top.value.mutable_object()[top.key] = std::move(v);
    }
    return true;
  }
  bool Fail(std::string m) {
    if (error_.empty()) error_ = "invalid JSON: " + std::move(m);
    return false;
  }

  int max_depth_;
  std::vector<Frame> stack_;
  Value root_;
  std::string error_;
};

}  // namespace

std::string Value::ToCanonicalJson() const {
  std::string out;
  AppendCanonical(&out, *this);
  return out;
}

Digest Value::ContentDigest() const {
  if (is_redacted()) return redacted_digest();
  return Sha256Of(ToCanonicalJson());
}

Result<Value> Value::FromJson(std::string_view text, int max_depth) {
  ValueBuilder b(max_depth);
  bool ok = nlohmann::json::sax_parse(text.begin(), text.end(), &b, nlohmann::json::input_format_t::json, true, false);
  if (!ok) {
    auto r = b.Take();
    if (r.ok()) return Status::InvalidArgument("invalid JSON");
    return r;
  }
  return b.Take();
}

}  // namespace treaty
