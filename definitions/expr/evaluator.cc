// The expression interpreter: the reference machine's way to run guards
// and assignments. Every operation goes through ops.h, like the emitted C++.
#include <deque>

#include "definitions/expr/ast.h"
#include "definitions/expr/ops.h"

namespace treaty::expr {
namespace {

class Evaluator {
 public:
  explicit Evaluator(const EvalContext& ctx) : ctx_(ctx) {}

  // A field reference: root, member or index chain.
  Result<const Value*> Ref(const Node& n) {
    switch (n.kind) {
      case Node::Kind::kRoot:
        if (n.name != "input" && n.name != "data" && n.name != "actor" && n.name != "chain")
          return Status::InvalidArgument("unknown name '" + n.name + "'");
        return ops::Root(ctx_, n.name, &chain_);
      case Node::Kind::kMember: {
        auto base = Ref(*n.kids[0]);
        if (!base.ok()) return base;
        return ops::Member(*base, n.name, Path(n).c_str());
      }
      case Node::Kind::kIndex: {
        auto base = Ref(*n.kids[0]);
        if (!base.ok()) return base;
        auto idx = Operand(*n.kids[1]);
        if (!idx.ok()) return idx.status();
        return ops::Index(*base, *idx, Path(n).c_str());
      }
      default: {
        // Indexing or reading a member of a computed value.
        auto v = Operand(n);
        if (!v.ok()) return v.status();
        scratch_.push_back(std::move(v).value());
        return &scratch_.back();
      }
    }
  }

  Result<Value> Eval(const Node& n) {
    switch (n.kind) {
      case Node::Kind::kLiteral:
        return n.literal;
      case Node::Kind::kRoot:
      case Node::Kind::kMember:
      case Node::Kind::kIndex: {
        auto r = Ref(n);
        if (!r.ok()) return r.status();
        return ops::Deref(*r);
      }
      case Node::Kind::kUnary: {
        auto a = Operand(*n.kids[0]);
        if (!a.ok()) return a;
        return n.op == "!" ? ops::Not(*a) : ops::Neg(*a);
      }
      case Node::Kind::kAnd:
      case Node::Kind::kOr: {
        bool is_and = n.kind == Node::Kind::kAnd;
        const char* op = is_and ? "&&" : "||";
        auto a = Operand(*n.kids[0]);
        if (!a.ok()) return a;
        auto ta = ops::Truth(*a, op);
        if (!ta.ok()) return ta.status();
        if (*ta != is_and) return Value::Bool(*ta);  // short-circuit
        auto b = Operand(*n.kids[1]);
        if (!b.ok()) return b;
        auto tb = ops::Truth(*b, op);
        if (!tb.ok()) return tb.status();
        return Value::Bool(*tb);
      }
      case Node::Kind::kBinary: {
        auto a = Operand(*n.kids[0]);
        if (!a.ok()) return a;
        auto b = Operand(*n.kids[1]);
        if (!b.ok()) return b;
        const std::string& o = n.op;
        if (o == "+") return ops::Add(*a, *b);
        if (o == "-") return ops::Sub(*a, *b);
        if (o == "*") return ops::Mul(*a, *b);
        if (o == "/") return ops::Div(*a, *b);
        if (o == "%") return ops::Mod(*a, *b);
        if (o == "==") return ops::Eq(*a, *b);
        if (o == "!=") return ops::Ne(*a, *b);
        if (o == "<") return ops::Lt(*a, *b);
        if (o == "<=") return ops::Le(*a, *b);
        if (o == ">") return ops::Gt(*a, *b);
        if (o == ">=") return ops::Ge(*a, *b);
        if (o == "in") return ops::In(*a, *b);
        return Status::Internal("unknown operator " + o);
      }
      case Node::Kind::kList: {
        ValueList l;
        for (const auto& k : n.kids) {
          auto e = Operand(*k);
          if (!e.ok()) return e;
          l.push_back(std::move(e).value());
        }
        return Value::List(std::move(l));
      }
      case Node::Kind::kCall: {
        std::vector<Value> args;
        for (const auto& k : n.kids) {
          auto e = Operand(*k);
          if (!e.ok()) return e;
          args.push_back(std::move(e).value());
        }
        return ops::Call(n.name, args.data(), args.size());
      }
    }
    return Status::Internal("unknown node");
  }

  // A value used by an operation: it must be visible.
  Result<Value> Operand(const Node& n) {
    auto v = Eval(n);
    if (v.ok() && v->is_redacted()) return ops::NotVisible(Path(n).c_str());
    return v;
  }

 private:
  static std::string Path(const Node& n) {
    std::string p = FieldPath(n);
    return p.empty() ? "value" : p;
  }

  const EvalContext& ctx_;
  Value chain_;
  std::deque<Value> scratch_;  // computed bases; deque keeps addresses stable
};

}  // namespace

Result<Value> Evaluate(const Node& node, const EvalContext& ctx) { return Evaluator(ctx).Eval(node); }

}  // namespace treaty::expr
