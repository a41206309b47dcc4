// libFuzzer target: arbitrary bytes through the expression parser, checker,
// interpreter and C++ emitter. Must not crash, hang or trip sanitizers.
#include <cstddef>
#include <cstdint>
#include <string>

#include "definitions/expr/expr.h"

namespace {

treaty::expr::Env MakeEnv() {
  using K = treaty::expr::TypeInfo::Kind;
  treaty::expr::Env env;
  env.input.kind = K::kObject;
  env.input.fields["amount"].kind = K::kInt;
  env.input.fields["tags"].kind = K::kList;
  env.data.kind = K::kObject;
  env.data.open = true;
  env.actor.kind = K::kObject;
  env.chain.kind = K::kObject;
  env.chain.fields["time"].kind = K::kInt;
  return env;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const treaty::expr::Env env = MakeEnv();
  static const treaty::Value input =
      *treaty::Value::FromJson(R"({"amount":9223372036854775807,"tags":["a",1,2.5,null],"o":{"x":[[]]}})");
  static const treaty::Value doc = *treaty::Value::FromJson(R"({"total":-9223372036854775807,"d":0.000000000000000001})");
  std::string text(reinterpret_cast<const char*>(data), size);
  auto parsed = treaty::expr::Parse(text);
  if (!parsed.node) return 0;
  (void)treaty::expr::Check(*parsed.node, env);
  treaty::expr::EvalContext ctx;
  ctx.input = &input;
  ctx.data = &doc;
  ctx.chain_time_ms = 42;
  (void)treaty::expr::Evaluate(*parsed.node, ctx);
  (void)treaty::expr::EmitCpp(*parsed.node, "f");
  return 0;
}
