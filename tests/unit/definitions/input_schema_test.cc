// A step's input as JSON Schema: every field spec key mapped, form labels
// and help as titles and descriptions, numbers exact, output stable.
#include "definitions/input_schema.h"

#include <gtest/gtest.h>

#include <string>

#include "definitions/validator.h"

namespace treaty::defs {
namespace {

Definition Load(const std::string& yaml) {
  Diagnostics d("s.yaml");
  auto def = CheckText(yaml, "s.yaml", &d);
  EXPECT_TRUE(def.has_value()) << (d.empty() ? "" : d.items()[0].ToString());
  return def.value_or(Definition{});
}

TEST(InputJsonSchema, EveryFieldKeyAndTheForm) {
  Definition d = Load(R"(process: p
version: 1
roles: [a]
states: { s0: { initial: true }, s1: { final: true } }
steps:
  go:
    from: s0
    to: s1
    by: a
    label: Go on
    description: the step's own description
    input:
      name: { type: string, min_length: 1, max_length: 64, description: own text }
      qty: { type: integer, minimum: 1, maximum: 10, enum: [1, 5, 10] }
      price: { type: decimal, minimum: 0.000000000000000001, maximum: 1e3 }
      ok: { type: boolean, required: false }
      lines:
        type: array
        min_length: 1
        max_length: 3
        items: { type: object, properties: { sku: string, n: { type: integer, required: false } } }
      meta: { type: object, required: false }
      blob: any
    task:
      human:
        queue: q
        form:
          title: Order
          fields:
            name: { label: Name, placeholder: "e.g. Ann" }
            qty: { label: Quantity, help: how many }
)");
  ASSERT_EQ(d.steps.size(), 1u);
  EXPECT_EQ(
      InputJsonSchema(d.steps[0]),
      R"({"$schema":"https://json-schema.org/draft/2020-12/schema","additionalProperties":false,)"
      R"("description":"the step's own description",)"
      R"("properties":{"blob":{},)"
      R"("lines":{"items":{"additionalProperties":false,"properties":{"n":{"type":"integer"},)"
      R"("sku":{"type":"string"}},"required":["sku"],"type":"object"},"maxItems":3,"minItems":1,"type":"array"},)"
      R"("meta":{"type":"object"},)"
      R"("name":{"description":"own text","maxLength":64,"minLength":1,"title":"Name","type":"string"},)"
      R"("ok":{"type":"boolean"},)"
      R"("price":{"maximum":1000,"minimum":0.000000000000000001,"type":"number"},)"
      R"("qty":{"description":"how many","enum":[1,5,10],"maximum":10,"minimum":1,"title":"Quantity",)"
      R"("type":"integer"}},)"
      R"("required":["blob","lines","name","price","qty"],"title":"Order","type":"object"})");
}

TEST(InputJsonSchema, NoInputAndNoForm) {
  Definition d = Load(R"(process: p
version: 1
roles: [a]
states: { s0: { initial: true }, s1: { final: true } }
steps:
  go: { from: s0, to: s1, by: a }
  two: { from: s0, to: s1, by: a, label: Two, input: { n: { type: integer, required: false } } }
)");
  EXPECT_EQ(InputJsonSchema(d.steps[0]),
            R"({"$schema":"https://json-schema.org/draft/2020-12/schema","additionalProperties":false,)"
            R"("properties":{},"type":"object"})");
  Value v = InputJsonSchemaValue(d.steps[1]);
  ASSERT_TRUE(v.is_object());
  EXPECT_EQ(v.Find("title")->as_string(), "Two");
  EXPECT_EQ(v.Find("required"), nullptr);  // nothing required
  EXPECT_EQ(v.Find("properties")->Find("n")->ToCanonicalJson(), R"({"type":"integer"})");
}

TEST(InputJsonSchema, FormTextsWinOverTheStepsOwn) {
  Definition d = Load(R"(process: p
version: 1
roles: [a]
states: { s0: { initial: true }, s1: { final: true } }
steps:
  go:
    from: s0
    to: s1
    by: a
    label: Go
    description: step text
    input: { n: { type: integer, description: field text } }
    task: { human: { queue: q, form: { title: Form title, description: form text, fields: { n: { label: N } } } } }
)");
  Value v = InputJsonSchemaValue(d.steps[0]);
  EXPECT_EQ(v.Find("title")->as_string(), "Form title");
  EXPECT_EQ(v.Find("description")->as_string(), "form text");
  const Value* n = v.Find("properties")->Find("n");
  EXPECT_EQ(n->Find("title")->as_string(), "N");
  EXPECT_EQ(n->Find("description")->as_string(), "field text");  // no help: the field's own description
}

}  // namespace
}  // namespace treaty::defs
