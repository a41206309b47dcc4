// Emits C++ for an expression: straight-line calls into ops.h, in the same
// order and with the same error paths as the interpreter (evaluator.cc).
#include <sstream>

#include "definitions/expr/ast.h"

namespace treaty::expr {
namespace {

std::string Quote(const std::string& s) {
  std::string out = "\"";
  for (unsigned char c : s) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += static_cast<char>(c);
    } else if (c < 0x20 || c >= 0x7f || c == '?') {
      char buf[8];
      snprintf(buf, sizeof buf, "\\%03o", c);  // octal escapes cannot run into the next character
      out += buf;
    } else {
      out += static_cast<char>(c);
    }
  }
  return out + "\"";
}

class CppEmitter {
 public:
  std::string Function(const Node& n, std::string_view name) {
    o_ << "static ::treaty::Result<::treaty::Value> " << name
       << "(const ::treaty::expr::EvalContext& ctx) {\n"
       << "  namespace ops = ::treaty::expr::ops;\n";
    std::string v = Emit(n, 1);
    o_ << "  return " << v << ";\n}\n";
    std::string body = o_.str();
    // `ctx` is unused by constant expressions.
    if (body.find("ctx.") == std::string::npos && body.find("(ctx,") == std::string::npos)
      body.insert(body.find("{\n") + 2, "  (void)ctx;\n");
    return body;
  }

 private:
  std::string Indent(int d) const { return std::string(2 * d, ' '); }
  std::string Next(const char* prefix) { return prefix + std::to_string(counter_++); }

  static std::string PathOf(const Node& n) {
    std::string p = FieldPath(n);
    return p.empty() ? "value" : p;
  }

  // Emits a pointer variable for a field reference; returns its name.
  std::string Ref(const Node& n, int d) {
    std::string p = Next("p");
    switch (n.kind) {
      case Node::Kind::kRoot:
        if (n.name == "chain") {
          std::string scratch = Next("chain");
          o_ << Indent(d) << "::treaty::Value " << scratch << ";\n"
             << Indent(d) << "const ::treaty::Value* " << p << " = ops::Root(ctx, \"chain\", &" << scratch << ");\n";
        } else {
          o_ << Indent(d) << "const ::treaty::Value* " << p << " = ctx." << n.name << ";\n";
        }
        return p;
      case Node::Kind::kMember: {
        std::string base = Ref(*n.kids[0], d);
        std::string r = Next("r");
        o_ << Indent(d) << "auto " << r << " = ops::Member(" << base << ", " << Quote(n.name) << ", "
           << Quote(PathOf(n)) << ");\n"
           << Indent(d) << "if (!" << r << ".ok()) return " << r << ".status();\n"
           << Indent(d) << "const ::treaty::Value* " << p << " = *" << r << ";\n";
        return p;
      }
      case Node::Kind::kIndex: {
        std::string base = Ref(*n.kids[0], d);
        std::string idx = Operand(*n.kids[1], d);
        std::string r = Next("r");
        o_ << Indent(d) << "auto " << r << " = ops::Index(" << base << ", " << idx << ", " << Quote(PathOf(n))
           << ");\n"
           << Indent(d) << "if (!" << r << ".ok()) return " << r << ".status();\n"
           << Indent(d) << "const ::treaty::Value* " << p << " = *" << r << ";\n";
        return p;
      }
      default: {
        // Indexing or reading a member of a computed value.
        std::string v = Operand(n, d);
        o_ << Indent(d) << "const ::treaty::Value* " << p << " = &" << v << ";\n";
        return p;
      }
    }
  }

  // Emits code computing `n`; returns a C++ expression of type
  // const ::treaty::Value& that stays valid for the rest of the function.
  std::string Emit(const Node& n, int d) {
    switch (n.kind) {
      case Node::Kind::kLiteral: {
        std::string t = Next("k");
        o_ << Indent(d) << "static const ::treaty::Value " << t << " = " << Literal(n) << ";\n";
        return t;
      }
      case Node::Kind::kRoot:
      case Node::Kind::kMember:
      case Node::Kind::kIndex:
        return "ops::Deref(" + Ref(n, d) + ")";
      case Node::Kind::kUnary: {
        std::string a = Operand(*n.kids[0], d);
        return Store(n.op == "!" ? "ops::Not(" + a + ")" : "ops::Neg(" + a + ")", d);
      }
      case Node::Kind::kAnd:
      case Node::Kind::kOr: {
        bool is_and = n.kind == Node::Kind::kAnd;
        const char* op = is_and ? "\"&&\"" : "\"||\"";
        std::string t = Next("t");
        o_ << Indent(d) << "::treaty::Value " << t << ";\n" << Indent(d) << "{\n";
        std::string a = Operand(*n.kids[0], d + 1);
        std::string ta = Next("b");
        o_ << Indent(d + 1) << "auto " << ta << " = ops::Truth(" << a << ", " << op << ");\n"
           << Indent(d + 1) << "if (!" << ta << ".ok()) return " << ta << ".status();\n"
           << Indent(d + 1) << "if (*" << ta << " != " << (is_and ? "true" : "false") << ") {\n"
           << Indent(d + 2) << t << " = ::treaty::Value::Bool(*" << ta << ");\n"
           << Indent(d + 1) << "} else {\n";
        std::string b = Operand(*n.kids[1], d + 2);
        std::string tb = Next("b");
        o_ << Indent(d + 2) << "auto " << tb << " = ops::Truth(" << b << ", " << op << ");\n"
           << Indent(d + 2) << "if (!" << tb << ".ok()) return " << tb << ".status();\n"
           << Indent(d + 2) << t << " = ::treaty::Value::Bool(*" << tb << ");\n"
           << Indent(d + 1) << "}\n"
           << Indent(d) << "}\n";
        return t;
      }
      case Node::Kind::kBinary: {
        std::string a = Operand(*n.kids[0], d);
        std::string b = Operand(*n.kids[1], d);
        static const std::pair<const char*, const char*> kOps[] = {
            {"+", "Add"}, {"-", "Sub"}, {"*", "Mul"}, {"/", "Div"}, {"%", "Mod"}, {"<", "Lt"},
            {"<=", "Le"}, {">", "Gt"},  {">=", "Ge"}, {"in", "In"}};
        if (n.op == "==" || n.op == "!=") {
          std::string t = Next("t");
          o_ << Indent(d) << "const ::treaty::Value " << t << " = ops::" << (n.op == "==" ? "Eq" : "Ne") << "(" << a
             << ", " << b << ");\n";
          return t;
        }
        for (const auto& [sym, fn] : kOps)
          if (n.op == sym) return Store(std::string("ops::") + fn + "(" + a + ", " + b + ")", d);
        return "ops::Null()";
      }
      case Node::Kind::kList: {
        std::string l = Next("l");
        std::vector<std::string> elems;
        for (const auto& k : n.kids) elems.push_back(Operand(*k, d));
        o_ << Indent(d) << "::treaty::ValueList " << l << ";\n";
        for (const auto& e : elems) o_ << Indent(d) << l << ".push_back(" << e << ");\n";
        std::string t = Next("t");
        o_ << Indent(d) << "const ::treaty::Value " << t << " = ::treaty::Value::List(std::move(" << l << "));\n";
        return t;
      }
      case Node::Kind::kCall: {
        std::vector<std::string> args;
        for (const auto& k : n.kids) args.push_back(Operand(*k, d));
        std::string arr = Next("a");
        if (args.empty()) {
          return Store("ops::Call(" + Quote(n.name) + ", nullptr, 0)", d);
        }
        o_ << Indent(d) << "const ::treaty::Value " << arr << "[] = {";
        for (size_t i = 0; i < args.size(); ++i) o_ << (i ? ", " : "") << args[i];
        o_ << "};\n";
        return Store("ops::Call(" + Quote(n.name) + ", " + arr + ", " + std::to_string(args.size()) + ")", d);
      }
    }
    return "ops::Null()";
  }

  // A value used by an operation must be visible.
  std::string Operand(const Node& n, int d) {
    std::string v = Emit(n, d);
    if (n.kind == Node::Kind::kRoot || n.kind == Node::Kind::kMember || n.kind == Node::Kind::kIndex) {
      o_ << Indent(d) << "if (" << v << ".is_redacted()) return ops::NotVisible(" << Quote(PathOf(n)) << ");\n";
    }
    return v;
  }

  std::string Store(const std::string& call, int d) {
    std::string r = Next("r"), t = Next("t");
    o_ << Indent(d) << "auto " << r << " = " << call << ";\n"
       << Indent(d) << "if (!" << r << ".ok()) return " << r << ".status();\n"
       << Indent(d) << "const ::treaty::Value " << t << " = std::move(" << r << ").value();\n";
    return t;
  }

  static std::string Literal(const Node& n) {
    const ::treaty::Value& v = n.literal;
    switch (v.kind()) {
      case ::treaty::Value::Kind::kBool: return v.as_bool() ? "::treaty::Value::Bool(true)" : "::treaty::Value::Bool(false)";
      case ::treaty::Value::Kind::kInt:
        if (v.as_int() == INT64_MIN) return "::treaty::Value::Int(INT64_MIN)";
        return "::treaty::Value::Int(" + std::to_string(v.as_int()) + "LL)";
      case ::treaty::Value::Kind::kDecimal:
        // The literal's own text keeps its scale, which division depends on.
        return "::treaty::Value::Dec(::treaty::Decimal::Parse(" + Quote(n.name) + ").value())";
      case ::treaty::Value::Kind::kString: return "::treaty::Value::Str(" + Quote(v.as_string()) + ")";
      default: return "::treaty::Value()";
    }
  }

  std::ostringstream o_;
  int counter_ = 0;
};

}  // namespace

std::string EmitCpp(const Node& node, std::string_view function_name) {
  return CppEmitter().Function(node, function_name);
}

}  // namespace treaty::expr
