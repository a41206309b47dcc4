// The expression language: parsing and precedence, errors with offsets,
// static checks, evaluation of every operator, visibility and emitted C++.
#include <gtest/gtest.h>

#include "definitions/expr/ast.h"
#include "definitions/expr/expr.h"

namespace treaty::expr {
namespace {

Value J(const std::string& s) {
  auto v = Value::FromJson(s);
  EXPECT_TRUE(v.ok()) << s;
  return v.ok() ? *v : Value();
}

struct Ctx {
  Value input = J(R"({"amount":250,"price":"19.99","qty":3,"name":"Ann","tags":["a","b"],"ratio":0.25})");
  Value data = J(R"({"total":250,"items":[{"sku":"x","qty":2},{"sku":"y","qty":5}],"big":9223372036854775807})");
  Value actor = J(R"({"party":"acme","roles":["buyer","bank"]})");
  EvalContext Get() const {
    EvalContext c;
    c.input = &input;
    c.data = &data;
    c.actor = &actor;
    c.chain_time_ms = 1700000000000;
    return c;
  }
};

Result<Value> Eval(const std::string& text, const Ctx& ctx = Ctx()) {
  auto p = Parse(text);
  if (!p.node) return Status::InvalidArgument("parse: " + p.error->message);
  return Evaluate(*p.node, ctx.Get());
}

std::string Show(const std::string& text, const Ctx& ctx = Ctx()) {
  auto r = Eval(text, ctx);
  return r.ok() ? r->ToCanonicalJson() : std::string(StatusCodeName(r.status().code())) + ": " + r.status().message();
}

TEST(Expr, Precedence) {
  EXPECT_EQ(Show("1 + 2 * 3"), "7");
  EXPECT_EQ(Show("(1 + 2) * 3"), "9");
  EXPECT_EQ(Show("10 - 4 - 3"), "3");
  EXPECT_EQ(Show("2 * 3 == 6 && !false || 1 > 2"), "true");
  EXPECT_EQ(Show("-input.qty * 2"), "-6");
  EXPECT_EQ(Show("\"b\" in input.tags"), "true");
  EXPECT_EQ(Show("1 < 2 == true"), "true");
}

TEST(Expr, Arithmetic) {
  EXPECT_EQ(Show("7 / 2"), "3");
  EXPECT_EQ(Show("-7 / 2"), "-3");
  EXPECT_EQ(Show("-7 % 3"), "-1");
  EXPECT_EQ(Show("7 / 2.0"), "3.5");
  EXPECT_EQ(Show("1 / 3.0"), "0.3333333");
  EXPECT_EQ(Show("0.1 + 0.2 == 0.3"), "true");
  EXPECT_EQ(Show("input.ratio * data.total"), "62.5");
  EXPECT_EQ(Show("\"a\" + \"b\""), "\"ab\"");
  EXPECT_EQ(Show("data.big + 1"), "OUT_OF_RANGE: integer overflow in '+'");
  EXPECT_EQ(Show("1 / 0"), "OUT_OF_RANGE: division by zero");
  EXPECT_EQ(Show("1.5 % 2"), "INVALID_ARGUMENT: operator '%' needs integers, got decimal and integer");
  EXPECT_EQ(Show("input.name + 1"), "INVALID_ARGUMENT: operator '+' needs numbers, got string and integer");
  EXPECT_EQ(Show("data.missing + 1"), "INVALID_ARGUMENT: operator '+' needs numbers, got null and integer");
}

TEST(Expr, ComparisonsAndLogic) {
  EXPECT_EQ(Show("input.amount == data.total"), "true");
  EXPECT_EQ(Show("input.amount == 250.00"), "true");
  EXPECT_EQ(Show("\"abc\" < \"abd\""), "true");
  EXPECT_EQ(Show("input.name < 3"), "INVALID_ARGUMENT: operator '<' cannot compare string with integer");
  EXPECT_EQ(Show("data.missing == null"), "true");
  // Short-circuit: the right side is never evaluated.
  EXPECT_EQ(Show("false && 1 / 0 == 1"), "false");
  EXPECT_EQ(Show("true || 1 / 0 == 1"), "true");
  EXPECT_EQ(Show("1 && true"), "INVALID_ARGUMENT: operator '&&' needs booleans, got integer");
}

TEST(Expr, FieldsListsAndFunctions) {
  EXPECT_EQ(Show("data.items[1].sku"), "\"y\"");
  EXPECT_EQ(Show("data.items[9]"), "null");
  EXPECT_EQ(Show("len(data.items)"), "2");
  EXPECT_EQ(Show("len(\"h\u00e9llo\")"), "5");
  EXPECT_EQ(Show("sum([1, 2.5, 3])"), "6.5");
  EXPECT_EQ(Show("abs(-4)"), "4");
  EXPECT_EQ(Show("min(3, 2.5)"), "2.5");
  EXPECT_EQ(Show("max(\"a\", \"b\")"), "\"b\"");
  EXPECT_EQ(Show("\"buyer\" in actor.roles && actor.party == \"acme\""), "true");
  EXPECT_EQ(Show("chain.time > 0"), "true");
  EXPECT_EQ(Show("input.name.first"), "INVALID_ARGUMENT: cannot read 'first' of a string in input.name.first");
  EXPECT_EQ(Show("[input.qty, 1]"), "[3,1]");
}

TEST(Expr, RedactedValuesPassThroughButCannotBeUsed) {
  Ctx ctx;
  ctx.data.Set("items", Value::Hidden(Sha256Of("x")));
  auto copy = Eval("data.items", ctx);
  ASSERT_TRUE(copy.ok());
  EXPECT_TRUE(copy->is_redacted());
  EXPECT_EQ(Show("len(data.items)", ctx), "PERMISSION_DENIED: field data.items is not visible to this party");
  EXPECT_EQ(Show("data.items == null", ctx), "PERMISSION_DENIED: field data.items is not visible to this party");
  EXPECT_EQ(Show("data.items[0]", ctx), "PERMISSION_DENIED: field data.items[0] is not visible to this party");
}

TEST(Expr, ParseErrorsHaveOffsets) {
  struct Case {
    const char* text;
    int offset;
    const char* message;
  } cases[] = {
      {"input.amount ==", 15, "unexpected end of expression"},
      {"(1 + 2", 6, "expected ')' to close '(', found end of expression"},
      {"1 + #", 4, "unexpected character '#'"},
      {"\"abc", 0, "unterminated string"},
      {"a = 1", 2, "unexpected '=': use '==' to compare"},
      {"a & b", 2, "unexpected '&': use '&&'"},
      {"len(1, ", 7, "unexpected end of expression"},
      {"1 2", 2, "unexpected '2' after the end of the expression"},
      {"99999999999999999999", 0, "integer literal 99999999999999999999 does not fit in 64 bits"},
      {"", 0, "empty expression"},
      {"input.", 6, "expected a field name after '.'"},
      {"\"\\q\"", 1, "unknown escape '\\q' in string"},
  };
  for (const auto& c : cases) {
    auto p = Parse(c.text);
    ASSERT_FALSE(p.node) << c.text;
    ASSERT_TRUE(p.error) << c.text;
    EXPECT_EQ(p.error->offset, c.offset) << c.text;
    EXPECT_EQ(p.error->message, c.message) << c.text;
  }
}

TEST(Expr, NestingAndLengthAreBounded) {
  std::string deep(500, '(');
  deep += "1" + std::string(500, ')');
  auto p = Parse(deep);
  ASSERT_TRUE(p.error);
  EXPECT_EQ(p.error->message, "expression nests deeper than 64 levels");
  EXPECT_TRUE(Parse(std::string(5000, '1')).error);
  std::string bangs(1000, '!');
  EXPECT_TRUE(Parse(bangs + "true").error);
}

Env TestEnv() {
  using K = TypeInfo::Kind;
  Env env;
  env.input.kind = K::kObject;
  env.input.fields["amount"].kind = K::kInt;
  env.input.fields["name"].kind = K::kString;
  env.data.kind = K::kObject;
  env.data.fields["total"].kind = K::kInt;
  env.data.fields["items"].kind = K::kList;
  env.data.fields["items"].visible_to = {"buyer"};
  env.actor.kind = K::kObject;
  env.actor.fields["roles"].kind = K::kList;
  env.chain.kind = K::kObject;
  env.chain.fields["time"].kind = K::kInt;
  return env;
}

std::vector<std::string> Problems(const std::string& text) {
  auto p = Parse(text);
  EXPECT_TRUE(p.node) << text;
  std::vector<std::string> out;
  if (!p.node) return out;
  for (const auto& pr : Check(*p.node, TestEnv()).problems) out.push_back(std::to_string(pr.offset) + ": " + pr.message);
  return out;
}

TEST(Expr, CheckerFindsUnknownFieldsAndMixedTypes) {
  using L = std::vector<std::string>;
  EXPECT_EQ(Problems("input.amount == data.total"), L{});
  EXPECT_EQ(Problems("data.totla > 1"), L{"0: unknown field 'data.totla' (did you mean 'total'?)"});
  EXPECT_EQ(Problems("input.name == 3"), L{"0: cannot compare string with integer"});
  EXPECT_EQ(Problems("1 + input.name"), L{"0: operator '+' cannot combine integer with string"});
  EXPECT_EQ(Problems("!input.amount"), L{"0: operator '!' needs a boolean, got integer"});
  EXPECT_EQ(Problems("inptu.amount"), L{"0: unknown name 'inptu': expressions read input, data, actor and chain (did you mean 'input'?)"});
  EXPECT_EQ(Problems("lenn(data.items)"), L{"0: unknown function 'lenn' (did you mean 'len'?)"});
  EXPECT_EQ(Problems("1 in input.amount"), L{"5: operator 'in' needs a list on its right, got integer"});
  EXPECT_EQ(Problems("len(1)"), L{"0: len() needs a list or a string, got integer"});
}

TEST(Expr, CheckerReportsReadsWithVisibility) {
  auto p = Parse("len(data.items) > 0 && input.amount == data.total");
  ASSERT_TRUE(p.node);
  auto r = Check(*p.node, TestEnv());
  ASSERT_EQ(r.reads.size(), 3u);
  EXPECT_EQ(r.reads[0].root, "data");
  EXPECT_EQ(r.reads[0].path, std::vector<std::string>{"items"});
  EXPECT_EQ(r.reads[0].offset, 4);
  EXPECT_EQ(r.reads[0].visible_to, std::vector<std::string>{"buyer"});
  EXPECT_EQ(r.reads[1].root, "input");
  EXPECT_EQ(r.type.kind, TypeInfo::Kind::kBool);
}

TEST(Expr, EmittedCppCallsTheSharedOperations) {
  auto p = Parse("input.amount == data.total && \"bank\" in actor.roles");
  ASSERT_TRUE(p.node);
  std::string cpp = EmitCpp(*p.node, "guard_pay");
  EXPECT_EQ(cpp.rfind("static ::treaty::Result<::treaty::Value> guard_pay(const ::treaty::expr::EvalContext& ctx) {", 0), 0u)
      << cpp;
  EXPECT_NE(cpp.find(", \"amount\", \"input.amount\")"), std::string::npos) << cpp;
  EXPECT_NE(cpp.find("ops::Truth("), std::string::npos) << cpp;
  EXPECT_NE(cpp.find("ops::In("), std::string::npos) << cpp;
  EXPECT_NE(cpp.find("ops::NotVisible(\"input.amount\")"), std::string::npos) << cpp;
  // Deterministic: same tree, same text.
  EXPECT_EQ(cpp, EmitCpp(*p.node, "guard_pay"));
  // Decimal literals keep their scale (division depends on it).
  auto d = Parse("1 / 3.00");
  EXPECT_NE(EmitCpp(*d.node, "f").find("Decimal::Parse(\"3.00\")"), std::string::npos);
}

}  // namespace
}  // namespace treaty::expr

namespace treaty::expr {
namespace {

// Found by the fuzzer: indexing and member access on computed values.
TEST(Expr, ComputedBases) {
  EXPECT_EQ(Show("[10, 20][1]"), "20");
  EXPECT_EQ(Show("[input.qty][0] + 1"), "4");
  EXPECT_EQ(Show("0[0]"), "INVALID_ARGUMENT: only arrays can be indexed, not integer (value)");
  auto p = Parse("i[0[0]].y");
  ASSERT_TRUE(p.node);
  EXPECT_FALSE(Check(*p.node, TestEnv()).problems.empty());
}

}  // namespace
}  // namespace treaty::expr
