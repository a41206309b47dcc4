// Static checks of an expression against the declared fields: unknown
// names, mixed types, operators on the wrong kinds. Also lists the fields
// an expression reads, for the validator's visibility rules.
#include "definitions/base/suggest.h"
#include "definitions/expr/ast.h"

namespace treaty::expr {
namespace {

using K = TypeInfo::Kind;

TypeInfo Of(K k) {
  TypeInfo t;
  t.kind = k;
  return t;
}

bool IsNum(K k) { return k == K::kInt || k == K::kDecimal; }

class Checker {
 public:
  explicit Checker(const Env& env) : env_(env) {}

  CheckResult Run(const Node& n) {
    CheckResult r;
    r.type = Visit(n);
    r.problems = std::move(problems_);
    r.reads = std::move(reads_);
    return r;
  }

 private:
  void Problem(int offset, std::string m) { problems_.push_back({offset, std::move(m)}); }

  TypeInfo Visit(const Node& n) {
    switch (n.kind) {
      case Node::Kind::kLiteral:
        switch (n.literal.kind()) {
          case Value::Kind::kNull: return Of(K::kNull);
          case Value::Kind::kBool: return Of(K::kBool);
          case Value::Kind::kInt: return Of(K::kInt);
          case Value::Kind::kDecimal: return Of(K::kDecimal);
          case Value::Kind::kString: return Of(K::kString);
          default: return Of(K::kAny);
        }
      case Node::Kind::kRoot:
      case Node::Kind::kMember:
      case Node::Kind::kIndex: {
        FieldRead read;
        bool ok = true;
        TypeInfo t = Chain(n, &read, &ok);
        if (ok) reads_.push_back(std::move(read));
        return t;
      }
      case Node::Kind::kUnary: {
        TypeInfo a = Visit(*n.kids[0]);
        if (n.op == "!") {
          if (a.kind != K::kBool && a.kind != K::kAny)
            Problem(n.offset, std::string("operator '!' needs a boolean, got ") + KindName(a.kind));
          return Of(K::kBool);
        }
        if (!IsNum(a.kind) && a.kind != K::kAny)
          Problem(n.offset, std::string("unary '-' needs a number, got ") + KindName(a.kind));
        return a.kind == K::kAny ? Of(K::kAny) : Of(a.kind == K::kInt ? K::kInt : K::kDecimal);
      }
      case Node::Kind::kAnd:
      case Node::Kind::kOr: {
        const char* op = n.kind == Node::Kind::kAnd ? "&&" : "||";
        for (const auto& k : n.kids) {
          TypeInfo t = Visit(*k);
          if (t.kind != K::kBool && t.kind != K::kAny)
            Problem(k->offset, std::string("operator '") + op + "' needs booleans, got " + KindName(t.kind));
        }
        return Of(K::kBool);
      }
      case Node::Kind::kBinary:
        return Binary(n);
      case Node::Kind::kList: {
        TypeInfo t = Of(K::kList);
        std::optional<TypeInfo> elem;
        bool mixed = false;
        for (const auto& k : n.kids) {
          TypeInfo e = Visit(*k);
          if (!elem) {
            elem = e;
          } else if (elem->kind != e.kind) {
            mixed = true;
          }
        }
        if (elem && !mixed) t.element = std::make_shared<TypeInfo>(*elem);
        return t;
      }
      case Node::Kind::kCall:
        return Call(n);
    }
    return Of(K::kAny);
  }

  // Root, member and index chains; fills the read it amounts to.
  TypeInfo Chain(const Node& n, FieldRead* read, bool* ok) {
    if (n.kind != Node::Kind::kRoot && n.kind != Node::Kind::kMember && n.kind != Node::Kind::kIndex) {
      // Indexing or reading a member of a computed value: not a field read.
      *ok = false;
      return Visit(n);
    }
    if (n.kind == Node::Kind::kRoot) {
      read->root = n.name;
      read->offset = n.offset;
      if (n.name == "input") return env_.input;
      if (n.name == "data") return env_.data;
      if (n.name == "actor") return env_.actor;
      if (n.name == "chain") return env_.chain;
      Problem(n.offset, "unknown name '" + n.name + "': expressions read input, data, actor and chain" +
                            DidYouMean(n.name, {"input", "data", "actor", "chain"}));
      *ok = false;
      return Of(K::kAny);
    }
    if (n.kind == Node::Kind::kIndex) {
      TypeInfo base = Chain(*n.kids[0], read, ok);
      TypeInfo idx = Visit(*n.kids[1]);
      if (idx.kind != K::kInt && idx.kind != K::kAny)
        Problem(n.kids[1]->offset, std::string("list index must be an integer, got ") + KindName(idx.kind));
      if (base.kind == K::kList) {
        TypeInfo e = base.element ? *base.element : Of(K::kAny);
        e.optional = true;  // out of range reads null
        return e;
      }
      if (base.kind != K::kAny && *ok)
        Problem(n.offset, std::string("cannot index a ") + KindName(base.kind) + " (" + FieldPath(*n.kids[0]) + ")");
      return Of(K::kAny);
    }
    // Member.
    bool computed = n.kids[0]->kind != Node::Kind::kRoot && n.kids[0]->kind != Node::Kind::kMember &&
                    n.kids[0]->kind != Node::Kind::kIndex;
    TypeInfo base = Chain(*n.kids[0], read, ok);
    if (!*ok && !computed) return Of(K::kAny);
    if (n.kids[0]->kind == Node::Kind::kRoot || !read->path.empty()) read->path.push_back(n.name);
    if (base.kind == K::kAny) return Of(K::kAny);
    if (base.kind != K::kObject) {
      Problem(n.offset, "cannot read field '" + n.name + "' of a " + KindName(base.kind) + " (" +
                            FieldPath(*n.kids[0]) + ")");
      *ok = false;
      return Of(K::kAny);
    }
    auto it = base.fields.find(n.name);
    if (it == base.fields.end()) {
      if (base.open) return Of(K::kAny);
      std::vector<std::string> names;
      for (const auto& [k, v] : base.fields) names.push_back(k);
      std::string path = FieldPath(n);
      Problem(n.offset, "unknown field '" + (path.empty() ? n.name : path) + "'" + DidYouMean(n.name, names));
      *ok = false;
      return Of(K::kAny);
    }
    if (n.kids[0]->kind == Node::Kind::kRoot) read->visible_to = it->second.visible_to;
    return it->second;
  }

  TypeInfo Binary(const Node& n) {
    TypeInfo a = Visit(*n.kids[0]), b = Visit(*n.kids[1]);
    const std::string& o = n.op;
    K ka = a.kind, kb = b.kind;
    bool any = ka == K::kAny || kb == K::kAny;
    auto mix = [&](const std::string& what) {
      Problem(n.offset, what + " " + KindName(ka) + " with " + KindName(kb));
    };
    if (o == "+" || o == "-" || o == "*" || o == "/") {
      if (o == "+" && ka == K::kString && kb == K::kString) return Of(K::kString);
      if (o == "+" && ka == K::kList && kb == K::kList) return Of(K::kList);
      if (any) return Of(K::kAny);
      if (IsNum(ka) && IsNum(kb)) return Of(ka == K::kInt && kb == K::kInt ? K::kInt : K::kDecimal);
      mix("operator '" + o + "' cannot combine");
      return Of(K::kAny);
    }
    if (o == "%") {
      if ((ka != K::kInt && ka != K::kAny) || (kb != K::kInt && kb != K::kAny)) mix("operator '%' needs integers, got");
      return Of(K::kInt);
    }
    if (o == "<" || o == "<=" || o == ">" || o == ">=") {
      bool ok = any || (IsNum(ka) && IsNum(kb)) || (ka == K::kString && kb == K::kString);
      if (!ok) mix("cannot compare");
      return Of(K::kBool);
    }
    if (o == "==" || o == "!=") {
      bool ok = any || ka == kb || (IsNum(ka) && IsNum(kb)) || ka == K::kNull || kb == K::kNull;
      if (!ok) mix("cannot compare");
      return Of(K::kBool);
    }
    if (o == "in") {
      if (kb != K::kList && kb != K::kAny && kb != K::kNull) {
        Problem(n.kids[1]->offset, std::string("operator 'in' needs a list on its right, got ") + KindName(kb));
      } else if (kb == K::kList && b.element && ka != K::kAny && ka != K::kNull) {
        K ke = b.element->kind;
        if (ke != K::kAny && ke != ka && !(IsNum(ke) && IsNum(ka)))
          Problem(n.offset, std::string("cannot look for ") + KindName(ka) + " in a list of " + KindName(ke));
      }
      return Of(K::kBool);
    }
    return Of(K::kAny);
  }

  TypeInfo Call(const Node& n) {
    std::vector<TypeInfo> args;
    for (const auto& k : n.kids) args.push_back(Visit(*k));
    auto arity = [&](size_t want) {
      if (args.size() != want) {
        Problem(n.offset, n.name + "() takes " + std::to_string(want) + " argument" + (want == 1 ? "" : "s") +
                              ", got " + std::to_string(args.size()));
        return false;
      }
      return true;
    };
    auto bad = [&](const char* need, K got) {
      Problem(n.offset, n.name + "() needs " + need + ", got " + KindName(got));
    };
    if (n.name == "len") {
      if (arity(1) && args[0].kind != K::kList && args[0].kind != K::kString && args[0].kind != K::kAny &&
          args[0].kind != K::kNull)
        bad("a list or a string", args[0].kind);
      return Of(K::kInt);
    }
    if (n.name == "sum") {
      if (!arity(1)) return Of(K::kAny);
      if (args[0].kind != K::kList && args[0].kind != K::kAny) {
        bad("a list of numbers", args[0].kind);
        return Of(K::kAny);
      }
      if (args[0].element && IsNum(args[0].element->kind)) return Of(args[0].element->kind);
      if (args[0].element && args[0].element->kind != K::kAny) bad("a list of numbers", args[0].element->kind);
      return Of(K::kAny);
    }
    if (n.name == "abs") {
      if (!arity(1)) return Of(K::kAny);
      if (!IsNum(args[0].kind) && args[0].kind != K::kAny) bad("a number", args[0].kind);
      return Of(args[0].kind == K::kInt ? K::kInt : args[0].kind == K::kDecimal ? K::kDecimal : K::kAny);
    }
    if (n.name == "min" || n.name == "max") {
      if (!arity(2)) return Of(K::kAny);
      K a = args[0].kind, b = args[1].kind;
      if (a == K::kAny || b == K::kAny) return Of(K::kAny);
      if (IsNum(a) && IsNum(b)) return Of(a == K::kInt && b == K::kInt ? K::kInt : K::kDecimal);
      if (a == K::kString && b == K::kString) return Of(K::kString);
      Problem(n.offset, n.name + "() cannot compare " + KindName(a) + " with " + KindName(b));
      return Of(K::kAny);
    }
    Problem(n.offset, "unknown function '" + n.name + "'" + DidYouMean(n.name, {"len", "sum", "abs", "min", "max"}));
    return Of(K::kAny);
  }

  const Env& env_;
  std::vector<expr::Problem> problems_;
  std::vector<FieldRead> reads_;
};

}  // namespace

const char* KindName(TypeInfo::Kind k) {
  switch (k) {
    case K::kAny: return "any";
    case K::kNull: return "null";
    case K::kBool: return "boolean";
    case K::kInt: return "integer";
    case K::kDecimal: return "decimal";
    case K::kString: return "string";
    case K::kList: return "array";
    case K::kObject: return "object";
  }
  return "any";
}

CheckResult Check(const Node& node, const Env& env) { return Checker(env).Run(node); }

}  // namespace treaty::expr
