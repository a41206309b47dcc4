// Input and data schema checks: every constraint, with the schema path in
// the message; values held only as a hash pass.
#include <gtest/gtest.h>

#include "definitions/schema.h"
#include "definitions/validator.h"

namespace treaty::defs {
namespace {

Definition Def() {
  Diagnostics d("s.yaml");
  auto def = CheckText(R"(process: s
version: 1
roles: [a]
data:
  total: { type: integer, minimum: 1 }
  tags: { type: array, items: { type: string } }
states:
  s0: { initial: true }
  s1: { final: true }
steps:
  go:
    from: s0
    to: s1
    by: a
    input:
      name: { type: string, min_length: 2, max_length: 5 }
      qty: { type: integer, minimum: 1, maximum: 10 }
      price: { type: decimal, minimum: 0.01 }
      currency: { type: string, enum: [EUR, USD] }
      note: { type: string, required: false }
      urgent: { type: boolean, required: false }
      lines:
        type: array
        required: false
        max_length: 2
        items:
          type: object
          properties:
            sku: string
            n: { type: integer, minimum: 1 }
            memo: { type: string, required: false }
)",
                       "s.yaml", &d);
  EXPECT_TRUE(def.has_value()) << (d.empty() ? "" : d.items()[0].ToString());
  return def.value_or(Definition{});
}

std::string In(const std::string& json) {
  static const Definition def = Def();
  auto v = Value::FromJson(json);
  EXPECT_TRUE(v.ok()) << json;
  Status st = CheckInput(def.steps.at(0), *v);
  return st.ok() ? "ok" : st.message();
}

const char* kBase = R"("name":"abc","qty":3,"price":9.5,"currency":"EUR")";
std::string With(const std::string& extra) { return std::string("{") + kBase + (extra.empty() ? "" : "," + extra) + "}"; }

TEST(Schema, AcceptsValidInput) {
  EXPECT_EQ(In(With("")), "ok");
  EXPECT_EQ(In(With(R"("note":"x","urgent":true,"lines":[{"sku":"a","n":1},{"sku":"b","n":2,"memo":"m"}])")), "ok");
  EXPECT_EQ(In(R"({"name":"héllo","qty":10,"price":1,"currency":"USD"})"), "ok");  // 5 code points; int as decimal
}

TEST(Schema, EveryConstraintNamesItsPath) {
  EXPECT_EQ(In("[]"), "input: must be a JSON object, got array");
  EXPECT_EQ(In(R"({"qty":3,"price":9.5,"currency":"EUR"})"), "input.name: is required by step 'go'");
  EXPECT_EQ(In(R"({"name":"a","qty":3,"price":9.5,"currency":"EUR"})"), "input.name: must have at least 2 characters (got 1)");
  EXPECT_EQ(In(R"({"name":"abcdef","qty":3,"price":9.5,"currency":"EUR"})"), "input.name: must have at most 5 characters (got 6)");
  EXPECT_EQ(In(R"({"name":"abc","qty":0,"price":9.5,"currency":"EUR"})"), "input.qty: must be at least 1 (got 0)");
  EXPECT_EQ(In(R"({"name":"abc","qty":11,"price":9.5,"currency":"EUR"})"), "input.qty: must be at most 10 (got 11)");
  EXPECT_EQ(In(R"({"name":"abc","qty":2.5,"price":9.5,"currency":"EUR"})"), "input.qty: must be an integer, got decimal");
  EXPECT_EQ(In(R"({"name":"abc","qty":3,"price":0.001,"currency":"EUR"})"), "input.price: must be at least 0.01 (got 0.001)");
  EXPECT_EQ(In(R"({"name":"abc","qty":3,"price":9.5,"currency":"GBP"})"), "input.currency: must be one of \"EUR\", \"USD\" (got \"GBP\")");
  EXPECT_EQ(In(With(R"("urgent":"yes")")), "input.urgent: must be a boolean, got string");
  EXPECT_EQ(In(With(R"("colour":"red")")), "input.colour: step 'go' has no input field 'colour'");
  EXPECT_EQ(In(With(R"("lines":[{"sku":"a","n":1},{"sku":"b","n":0}])")), "input.lines[1].n: must be at least 1 (got 0)");
  EXPECT_EQ(In(With(R"("lines":[{"n":1}])")), "input.lines[0].sku: is required");
  EXPECT_EQ(In(With(R"("lines":[{"sku":"a","n":1,"x":2}])")), "input.lines[0].x: is not a declared property");
  EXPECT_EQ(In(With(R"("lines":[{"sku":"a","n":1},{"sku":"a","n":1},{"sku":"a","n":1}])")),
            "input.lines: must have at most 2 items (got 3)");
  EXPECT_EQ(In(With(R"("lines":{"sku":"a"})")), "input.lines: must be an array, got object");
}

TEST(Schema, RedactedValuesPass) {
  Value v = *Value::FromJson(With(""));
  v.Set("name", Value::Hidden(Sha256Of("secret")));
  EXPECT_TRUE(CheckInput(Def().steps.at(0), v).ok());
}

TEST(Schema, DataChecks) {
  Definition def = Def();
  EXPECT_TRUE(CheckData(def, *Value::FromJson(R"({"total":3,"tags":["a"]})")).ok());
  EXPECT_EQ(CheckData(def, *Value::FromJson(R"({"total":0})")).message(), "data.total: must be at least 1 (got 0)");
  EXPECT_EQ(CheckData(def, *Value::FromJson(R"({"tags":[1]})")).message(), "data.tags[0]: must be a string, got integer");
  EXPECT_EQ(CheckData(def, *Value::FromJson(R"({"nope":1})")).message(), "data.nope: is not a declared data field");
}

}  // namespace
}  // namespace treaty::defs
