// Value and Decimal: exact JSON parsing, canonical encoding, fixed-point
// arithmetic with explicit overflow errors.
#include <gtest/gtest.h>

#include "definitions/value.h"

namespace treaty {
namespace {

Decimal D(const char* s) {
  auto d = Decimal::Parse(s);
  EXPECT_TRUE(d.ok()) << s << ": " << d.status().ToString();
  return d.ok() ? *d : Decimal();
}

TEST(Decimal, ParsesExactlyAndPrintsShortest) {
  EXPECT_EQ(D("12.3400").ToString(), "12.34");
  EXPECT_EQ(D("-0.5").ToString(), "-0.5");
  EXPECT_EQ(D("1e3").ToString(), "1000");
  EXPECT_EQ(D("2.5E-2").ToString(), "0.025");
  EXPECT_EQ(D("-0.000").ToString(), "0");
  EXPECT_EQ(D("0.000000000000000001").ToString(), "0.000000000000000001");
  EXPECT_FALSE(Decimal::Parse("0.0000000000000000001").ok());  // 19 fractional digits
  EXPECT_FALSE(Decimal::Parse("1.2.3").ok());
  EXPECT_FALSE(Decimal::Parse("").ok());
  EXPECT_FALSE(Decimal::Parse("1e").ok());
  EXPECT_FALSE(Decimal::Parse("1e99999").ok());
}

TEST(Decimal, Arithmetic) {
  EXPECT_EQ(Decimal::Add(D("0.1"), D("0.2"))->ToString(), "0.3");
  EXPECT_EQ(Decimal::Sub(D("1"), D("0.001"))->ToString(), "0.999");
  EXPECT_EQ(Decimal::Mul(D("1.5"), D("-2.25"))->ToString(), "-3.375");
  EXPECT_EQ(Decimal::Div(D("1"), D("3"))->ToString(), "0.333333");
  EXPECT_EQ(Decimal::Div(D("2"), D("3"))->ToString(), "0.666667");
  // Half to even at the last kept digit.
  EXPECT_EQ(Decimal::Div(D("0.0000005"), D("1"))->ToString(), "0.0000005");
  EXPECT_EQ(Decimal::Div(D("1"), D("8"))->ToString(), "0.125");
  EXPECT_EQ(Decimal::Div(D("0.000001"), D("4"))->ToString(), "0.00000025");
  EXPECT_EQ(Decimal::Div(D("5"), D("0")).status().code(), StatusCode::kOutOfRange);
  EXPECT_EQ(Decimal::Compare(D("2"), D("2.000")), 0);
  EXPECT_EQ(Decimal::Compare(D("-2"), D("1")), -1);
  EXPECT_EQ(Decimal::Compare(D("10.01"), D("10.001")), 1);
  auto big = D("999999999999999999999999999999999");
  EXPECT_FALSE(Decimal::Mul(big, big).ok());
  EXPECT_FALSE(Decimal::Add(D("999999999999999999999999999999999999e0").Normalized(), big).ok());
}

TEST(Value, JsonParsesIntegersAndDecimalsWithoutDoubles) {
  auto v = Value::FromJson(R"({"a":1,"b":0.1,"c":12345678901234567890,"d":[true,null,"x"],"e":-3e2})");
  ASSERT_TRUE(v.ok()) << v.status().ToString();
  EXPECT_TRUE(v->Find("a")->is_int());
  EXPECT_TRUE(v->Find("b")->is_decimal());
  EXPECT_EQ(v->Find("b")->as_decimal().ToString(), "0.1");
  EXPECT_EQ(v->Find("c")->as_decimal().ToString(), "12345678901234567890");
  EXPECT_EQ(v->Find("e")->as_decimal().ToString(), "-300");
  EXPECT_EQ(v->ToCanonicalJson(), R"({"a":1,"b":0.1,"c":12345678901234567890,"d":[true,null,"x"],"e":-300})");
}

TEST(Value, CanonicalJsonSortsKeysAndEscapes) {
  auto v = Value::FromJson("{ \"z\" : 1, \"a\" : \"q\\\"\\n\\u0001\" }");
  ASSERT_TRUE(v.ok());
  EXPECT_EQ(v->ToCanonicalJson(), "{\"a\":\"q\\\"\\n\\u0001\",\"z\":1}");
  EXPECT_EQ(v->ContentDigest(), Sha256Of(v->ToCanonicalJson()));
}

TEST(Value, MalformedJsonNamesTheProblem) {
  for (const char* bad : {"{", "{\"a\":}", "[1,]", "nul", "{\"a\":1,\"a\":2}", "\"\\x\""}) {
    auto v = Value::FromJson(bad);
    ASSERT_FALSE(v.ok()) << bad;
    EXPECT_EQ(v.status().code(), StatusCode::kInvalidArgument);
    EXPECT_EQ(v.status().message().rfind("invalid JSON", 0), 0u) << v.status().message();
  }
  EXPECT_NE(Value::FromJson("{\"a\":1,\"a\":2}").status().message().find("duplicate key \"a\""), std::string::npos);
}

TEST(Value, NestingIsBounded) {
  std::string deep(200, '[');
  deep += std::string(200, ']');
  auto v = Value::FromJson(deep);
  ASSERT_FALSE(v.ok());
  EXPECT_NE(v.status().message().find("nesting deeper than 64"), std::string::npos);
}

TEST(Value, RedactedRoundTrips) {
  Digest d = Sha256Of("secret");
  Value v = Value::Object();
  v.Set("items", Value::Hidden(d));
  auto back = Value::FromJson(v.ToCanonicalJson());
  ASSERT_TRUE(back.ok());
  ASSERT_TRUE(back->Find("items")->is_redacted());
  EXPECT_EQ(back->Find("items")->redacted_digest(), d);
  EXPECT_EQ(back->Find("items")->ContentDigest(), d);
  EXPECT_FALSE(Value::FromJson(R"({"$redacted":"abc"})").ok());
}

TEST(Value, NumbersCompareByValue) {
  EXPECT_EQ(Value::Int(2), Value::Dec(D("2.00")));
  EXPECT_NE(Value::Int(2), Value::Str("2"));
  EXPECT_NE(Value::Int(2), Value::Dec(D("2.01")));
}

}  // namespace
}  // namespace treaty
