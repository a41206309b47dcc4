// Input and data schema checks: every constraint, with the schema path in
// the message; values held only as a hash pass. Also the static types and
// visibility the expression checker gets (TypeOfField, InputVisibleTo,
// EnvForStep).
#include "definitions/schema.h"

#include <gtest/gtest.h>

#include "definitions/validator.h"

namespace treaty::defs {
namespace {

Definition Load(const std::string& yaml) {
  Diagnostics d("s.yaml");
  auto def = CheckText(yaml, "s.yaml", &d);
  EXPECT_TRUE(def.has_value()) << (d.empty() ? "" : d.items()[0].ToString());
  return def.value_or(Definition{});
}

const Definition& Def() {
  static const Definition def = Load(R"(process: s
version: 1
roles: [a]
data:
  total: { type: integer, minimum: 1 }
  tags: { type: array, items: { type: string } }
  rate: { type: decimal, maximum: 1 }
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
      level: { type: integer, enum: [1, 2, 3], required: false }
      ratio: { type: decimal, enum: [0.5, 1], required: false }
      flag: { type: boolean, enum: [true], required: false }
      extra: { type: any, required: false }
      meta: { type: object, required: false }
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
            tags: { type: array, required: false, min_length: 1, items: { type: string, max_length: 3 } }
)");
  return def;
}

std::string In(const std::string& json) {
  auto v = Value::FromJson(json);
  EXPECT_TRUE(v.ok()) << json;
  if (!v.ok()) return "bad json";
  Status st = CheckInput(Def().steps.at(0), *v);
  if (!st.ok()) {
    EXPECT_EQ(st.code(), StatusCode::kInvalidArgument);
  }
  return st.ok() ? "ok" : st.message();
}

const char* kBase = R"("name":"abc","qty":3,"price":9.5,"currency":"EUR")";
std::string With(const std::string& extra) {
  return std::string("{") + kBase + (extra.empty() ? "" : "," + extra) + "}";
}

TEST(Schema, AcceptsValidInput) {
  EXPECT_EQ(In(With("")), "ok");
  EXPECT_EQ(In(With(R"("note":"x","urgent":true,"lines":[{"sku":"a","n":1},{"sku":"b","n":2,"memo":"m"}])")), "ok");
  EXPECT_EQ(In(R"({"name":"héllo","qty":10,"price":1,"currency":"USD"})"), "ok");  // 5 code points; int as decimal
  EXPECT_EQ(In(With(R"("level":2,"ratio":0.50,"flag":true,"extra":[1,"x"],"meta":{"any":"thing"})")), "ok");
  EXPECT_EQ(In(With(R"("note":null,"lines":[])")), "ok");  // null is absent
}

TEST(Schema, TypesNameThePath) {
  EXPECT_EQ(In("[]"), "input: must be an object, got array");
  EXPECT_EQ(In("null"), "input: must be an object, got null");
  EXPECT_EQ(In(R"({"name":"abc","qty":2.5,"price":9.5,"currency":"EUR"})"),
            "input.qty: must be an integer, got decimal");
  EXPECT_EQ(In(R"({"name":"abc","qty":2.0,"price":9.5,"currency":"EUR"})"),
            "input.qty: must be an integer, got decimal");
  EXPECT_EQ(In(R"({"name":"abc","qty":"3","price":9.5,"currency":"EUR"})"),
            "input.qty: must be an integer, got string");
  EXPECT_EQ(In(R"({"name":"abc","qty":3,"price":"9.5","currency":"EUR"})"),
            "input.price: must be a decimal, got string");
  EXPECT_EQ(In(R"({"name":7,"qty":3,"price":9.5,"currency":"EUR"})"), "input.name: must be a string, got integer");
  EXPECT_EQ(In(With(R"("urgent":"yes")")), "input.urgent: must be a boolean, got string");
  EXPECT_EQ(In(With(R"("lines":{"sku":"a"})")), "input.lines: must be an array, got object");
  EXPECT_EQ(In(With(R"("meta":[1])")), "input.meta: must be an object, got array");
}

TEST(Schema, RequiredAndUndeclaredFields) {
  EXPECT_EQ(In(R"({"qty":3,"price":9.5,"currency":"EUR"})"), "input.name: is required by step 'go'");
  EXPECT_EQ(In(R"({"name":null,"qty":3,"price":9.5,"currency":"EUR"})"), "input.name: is required by step 'go'");
  EXPECT_EQ(In(With(R"("colour":"red")")), "input.colour: step 'go' has no input field 'colour'");
  EXPECT_EQ(In(With(R"("lines":[{"n":1}])")), "input.lines[0].sku: is required");
  EXPECT_EQ(In(With(R"("lines":[{"sku":"a","n":1,"x":2}])")), "input.lines[0].x: is not a declared property");
}

TEST(Schema, BoundsLengthsAndEnums) {
  EXPECT_EQ(In(R"({"name":"a","qty":3,"price":9.5,"currency":"EUR"})"),
            "input.name: must have at least 2 characters (got 1)");
  EXPECT_EQ(In(R"({"name":"abcdef","qty":3,"price":9.5,"currency":"EUR"})"),
            "input.name: must have at most 5 characters (got 6)");
  EXPECT_EQ(In(R"({"name":"ééééé€","qty":3,"price":9.5,"currency":"EUR"})"),
            "input.name: must have at most 5 characters (got 6)");
  EXPECT_EQ(In(R"({"name":"abc","qty":0,"price":9.5,"currency":"EUR"})"), "input.qty: must be at least 1 (got 0)");
  EXPECT_EQ(In(R"({"name":"abc","qty":11,"price":9.5,"currency":"EUR"})"), "input.qty: must be at most 10 (got 11)");
  EXPECT_EQ(In(R"({"name":"abc","qty":3,"price":0.001,"currency":"EUR"})"),
            "input.price: must be at least 0.01 (got 0.001)");
  EXPECT_EQ(In(R"({"name":"abc","qty":3,"price":0.010,"currency":"EUR"})"), "ok");  // 0.010 == 0.01
  EXPECT_EQ(In(R"({"name":"abc","qty":3,"price":9.5,"currency":"GBP"})"),
            "input.currency: must be one of \"EUR\", \"USD\" (got \"GBP\")");
  EXPECT_EQ(In(With(R"("level":4)")), "input.level: must be one of 1, 2, 3 (got 4)");
  EXPECT_EQ(In(With(R"("ratio":0.25)")), "input.ratio: must be one of 0.5, 1 (got 0.25)");
  EXPECT_EQ(In(With(R"("ratio":1)")), "ok");  // an integer where a decimal is declared
  EXPECT_EQ(In(With(R"("flag":false)")), "input.flag: must be one of true (got false)");
}

TEST(Schema, NestedPaths) {
  EXPECT_EQ(In(With(R"("lines":[{"sku":"a","n":1},{"sku":"b","n":0}])")),
            "input.lines[1].n: must be at least 1 (got 0)");
  EXPECT_EQ(In(With(R"("lines":[{"sku":"a","n":1},{"sku":"a","n":1},{"sku":"a","n":1}])")),
            "input.lines: must have at most 2 items (got 3)");
  EXPECT_EQ(In(With(R"("lines":[{"sku":"a","n":1,"tags":[]}])")),
            "input.lines[0].tags: must have at least 1 item (got 0)");
  EXPECT_EQ(In(With(R"("lines":[{"sku":"a","n":1,"tags":["ok","long"]}])")),
            "input.lines[0].tags[1]: must have at most 3 characters (got 4)");
  EXPECT_EQ(In(With(R"("lines":[{"sku":"a","n":1,"tags":[5]}])")),
            "input.lines[0].tags[0]: must be a string, got integer");
  EXPECT_EQ(In(With(R"("lines":["x"])")), "input.lines[0]: must be an object, got string");
}

TEST(Schema, RedactedValuesPass) {
  Digest h = Sha256Of("secret");
  Value v = *Value::FromJson(With(""));
  v.Set("name", Value::Hidden(h));  // would be too long or short: unknown here
  EXPECT_TRUE(CheckInput(Def().steps.at(0), v).ok());
  v.Set("lines", Value::Hidden(h));
  EXPECT_TRUE(CheckInput(Def().steps.at(0), v).ok());
  Value line = *Value::FromJson(R"({"sku":"a"})");
  line.Set("n", Value::Hidden(h));
  v.Set("lines", Value::List({line}));
  EXPECT_TRUE(CheckInput(Def().steps.at(0), v).ok());
  // A hidden value does not make an undeclared field acceptable.
  v.Set("colour", Value::Hidden(h));
  EXPECT_EQ(CheckInput(Def().steps.at(0), v).message(), "input.colour: step 'go' has no input field 'colour'");
  // The whole input is never a hash.
  EXPECT_EQ(CheckInput(Def().steps.at(0), Value::Hidden(h)).message(), "input: must be an object, got redacted");
}

TEST(Schema, DataChecks) {
  const Definition& def = Def();
  auto data = [&](const char* json) {
    Status st = CheckData(def, *Value::FromJson(json));
    return st.ok() ? std::string("ok") : st.message();
  };
  EXPECT_EQ(data(R"({"total":3,"tags":["a"],"rate":0.5})"), "ok");
  EXPECT_EQ(data(R"({})"), "ok");
  EXPECT_EQ(data(R"({"total":null})"), "ok");  // unset
  EXPECT_EQ(data(R"({"total":0})"), "data.total: must be at least 1 (got 0)");
  EXPECT_EQ(data(R"({"rate":1.5})"), "data.rate: must be at most 1 (got 1.5)");
  EXPECT_EQ(data(R"({"tags":[1]})"), "data.tags[0]: must be a string, got integer");
  EXPECT_EQ(data(R"({"nope":1})"), "data.nope: is not a declared data field");
  EXPECT_EQ(data(R"([1])"), "data: must be an object, got array");
  EXPECT_TRUE(CheckData(def, Value()).ok());  // nothing set yet
  Value hidden = Value::Object();
  hidden.Set("total", Value::Hidden(Sha256Of("x")));
  EXPECT_TRUE(CheckData(def, hidden).ok());
}

TEST(Schema, TypeOfField) {
  using K = expr::TypeInfo::Kind;
  const StepSpec& go = Def().steps.at(0);
  const FieldSpec* lines = nullptr;
  for (const auto& f : go.input)
    if (f.name == "lines") lines = &f;
  ASSERT_NE(lines, nullptr);
  expr::TypeInfo t = TypeOfField(*lines);
  EXPECT_EQ(t.kind, K::kList);
  EXPECT_TRUE(t.optional);
  ASSERT_NE(t.element, nullptr);
  EXPECT_EQ(t.element->kind, K::kObject);
  EXPECT_FALSE(t.element->open);
  EXPECT_EQ(t.element->fields.at("n").kind, K::kInt);
  EXPECT_FALSE(t.element->fields.at("n").optional);
  EXPECT_TRUE(t.element->fields.at("memo").optional);
  EXPECT_EQ(t.element->fields.at("tags").element->kind, K::kString);
  FieldSpec meta;
  meta.type = FieldType::kObject;
  EXPECT_TRUE(TypeOfField(meta).open);  // no properties: any member
  FieldSpec dec;
  dec.type = FieldType::kDecimal;
  dec.visible_to = {"a"};
  EXPECT_EQ(TypeOfField(dec).kind, K::kDecimal);
  EXPECT_EQ(TypeOfField(dec).visible_to, std::vector<std::string>{"a"});
}

const char* kVisibility = R"(process: v
version: 1
roles: [buyer, seller, bank]
data:
  items: { type: array, visible_to: [buyer, seller] }
  notes: { type: string, visible_to: [buyer] }
  memo:  { type: string, visible_to: [seller] }
  open:  { type: string }
  all3:  { type: string, visible_to: [buyer, seller, bank] }
states:
  s0: { initial: true }
  s1: { final: true }
steps:
  go:
    from: s0
    to: s1
    by: buyer
    input: { items: array, note: string, both: string, shared: string, wide: string, plain: integer }
    set:
      items: input.items
      notes: input.note
      memo: input.both
      open: input.shared
      all3: input.wide
)";

TEST(Schema, InputVisibilityFollowsPlainCopies) {
  Definition def = Load(kVisibility);
  ASSERT_EQ(def.steps.size(), 1u);
  const StepSpec& go = def.steps[0];
  using V = std::vector<std::string>;
  EXPECT_EQ(InputVisibleTo(def, go, "items"), (V{"buyer", "seller"}));
  EXPECT_EQ(InputVisibleTo(def, go, "note"), (V{"buyer"}));
  EXPECT_EQ(InputVisibleTo(def, go, "both"), (V{"seller"}));
  EXPECT_EQ(InputVisibleTo(def, go, "shared"), V{});  // copied into a field everyone sees
  EXPECT_EQ(InputVisibleTo(def, go, "wide"), V{});    // visible_to lists every role
  EXPECT_EQ(InputVisibleTo(def, go, "plain"), V{});   // not copied
  expr::Env env = EnvForStep(def, go);
  EXPECT_EQ(env.input.fields.at("items").visible_to, (V{"buyer", "seller"}));
  EXPECT_EQ(env.input.fields.at("plain").visible_to, V{});
  EXPECT_EQ(env.data.fields.at("notes").visible_to, (V{"buyer"}));
}

TEST(Schema, InputCopiedIntoSeveralFieldsIsVisibleToTheirUnion) {
  std::string yaml = kVisibility;
  yaml.replace(yaml.find("      memo: input.both"), 22, "      memo: input.note");
  Definition def = Load(yaml);
  EXPECT_EQ(InputVisibleTo(def, def.steps[0], "note"), (std::vector<std::string>{"buyer", "seller"}));
  yaml.replace(yaml.find("      open: input.shared"), 24, "      open: input.note");
  def = Load(yaml);
  EXPECT_EQ(InputVisibleTo(def, def.steps[0], "note"), std::vector<std::string>{});
}

TEST(Schema, EnvForStep) {
  using K = expr::TypeInfo::Kind;
  const Definition& def = Def();
  expr::Env env = EnvForStep(def, def.steps.at(0));
  EXPECT_EQ(env.input.kind, K::kObject);
  EXPECT_FALSE(env.input.open);
  EXPECT_EQ(env.input.fields.size(), 12u);
  EXPECT_FALSE(env.input.fields.at("name").optional);
  EXPECT_TRUE(env.input.fields.at("note").optional);
  EXPECT_EQ(env.data.fields.at("total").kind, K::kInt);
  EXPECT_TRUE(env.data.fields.at("total").optional);  // data fields start unset
  EXPECT_EQ(env.actor.fields.at("party").kind, K::kString);
  EXPECT_EQ(env.actor.fields.at("roles").kind, K::kList);
  EXPECT_EQ(env.actor.fields.at("roles").element->kind, K::kString);
  EXPECT_EQ(env.chain.fields.at("time").kind, K::kInt);
  EXPECT_EQ(env.chain.fields.size(), 1u);
}

}  // namespace
}  // namespace treaty::defs
