#include "machine_fixtures.h"

#include <gtest/gtest.h>

#include "definitions/runtime/reference_machine.h"
#include "definitions/runtime/registry.h"

namespace treaty::testing {

std::shared_ptr<const runtime::DefinitionRuntime> Compiled(const std::string& process) {
  auto d = runtime::Registry::Global().Find(process);
  EXPECT_NE(d, nullptr) << process << " is not registered";
  if (d) {
    EXPECT_STREQ(d->kind(), "msm");
  }
  return d;
}

std::shared_ptr<const runtime::DefinitionRuntime> Reference(const std::string& process) {
  auto d = Compiled(process);
  return d ? runtime::MakeReferenceRuntime(d->model()) : nullptr;
}

Value Json(const std::string& text) {
  auto v = Value::FromJson(text);
  EXPECT_TRUE(v.ok()) << v.status().ToString();
  return v.ok() ? *v : Value();
}

namespace {

void CollectNumbers(const Value& v, std::vector<Value>* out) {
  if (v.is_number()) out->push_back(v);
  if (v.is_object())
    for (const auto& [k, e] : v.as_object()) CollectNumbers(e, out);
}

}  // namespace

Value InputGenerator::ForStep(const defs::StepSpec& step, const Value& data) {
  pool_.clear();
  CollectNumbers(data, &pool_);
  Value in = Value::Object();
  for (const auto& f : step.input) {
    if (!f.required && Uniform(0, 3) == 0) continue;
    in.Set(f.name, ForField(f, 0));
  }
  // Now and then break the input so schema rejections are exercised too.
  int mutate = Uniform(0, 19);
  if (mutate == 0 && !step.input.empty()) {
    in.mutable_object().erase(step.input[Uniform(0, static_cast<int>(step.input.size()) - 1)].name);
  } else if (mutate == 1) {
    in.Set("unexpected_field", Value::Int(1));
  } else if (mutate == 2 && !step.input.empty()) {
    in.Set(step.input[0].name, Value::Bool(true));
  }
  return in;
}

Value InputGenerator::ForField(const defs::FieldSpec& f, int depth) {
  if (!f.enum_values.empty()) return f.enum_values[Uniform(0, static_cast<int>(f.enum_values.size()) - 1)];
  switch (f.type) {
    case defs::FieldType::kString: {
      int lo = f.min_length ? static_cast<int>(*f.min_length) : 0;
      int hi = f.max_length ? static_cast<int>(*f.max_length) : lo + 8;
      if (Uniform(0, 15) == 0) hi = lo + 70;  // sometimes too long
      int n = Uniform(lo, std::min(hi, lo + 12));
      std::string s;
      for (int i = 0; i < n; ++i) s.push_back(static_cast<char>('a' + Uniform(0, 25)));
      return Value::Str(s);
    }
    case defs::FieldType::kInteger:
    case defs::FieldType::kDecimal: {
      if (!pool_.empty() && Uniform(0, 1) == 0) return pool_[Uniform(0, static_cast<int>(pool_.size()) - 1)];
      if (f.type == defs::FieldType::kDecimal && f.maximum && Decimal::Compare(*f.maximum, Decimal(1, 0)) == 0)
        return Value::Dec(Decimal(Uniform(0, 100), 2));  // a ratio in [0, 1]
      int64_t lo = -5, hi = 2000;
      if (f.minimum) lo = f.minimum->scale() == 0 ? static_cast<int64_t>(f.minimum->units()) : 1;
      if (f.maximum) hi = f.maximum->scale() == 0 ? static_cast<int64_t>(f.maximum->units()) : 1;
      if (Uniform(0, 9) == 0) lo -= 3;  // sometimes below the minimum
      int64_t v = std::uniform_int_distribution<int64_t>(lo, std::max(lo, hi))(rng_);
      if (f.type == defs::FieldType::kDecimal && Uniform(0, 1) == 0)
        return Value::Dec(Decimal(static_cast<__int128>(v) * 100 + Uniform(0, 99), 2));
      return Value::Int(v);
    }
    case defs::FieldType::kBoolean:
      return Value::Bool(Uniform(0, 1) == 1);
    case defs::FieldType::kArray: {
      ValueList items;
      int lo = f.min_length ? static_cast<int>(*f.min_length) : 0;
      int n = depth > 3 ? lo : Uniform(lo, lo + 3);
      for (int i = 0; i < n; ++i) {
        if (f.items) {
          items.push_back(ForField(*f.items, depth + 1));
        } else {
          items.push_back(Value::Int(i));
        }
      }
      return Value::List(std::move(items));
    }
    case defs::FieldType::kObject: {
      Value o = Value::Object();
      for (const auto& p : f.properties)
        if (p.required || Uniform(0, 1) == 0) o.Set(p.name, ForField(p, depth + 1));
      return o;
    }
    case defs::FieldType::kAny:
      return Value::Int(Uniform(0, 9));
  }
  return Value();
}

}  // namespace treaty::testing
