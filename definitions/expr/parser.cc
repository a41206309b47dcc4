// Hand-written lexer and precedence-climbing parser for expressions.
#include <cctype>
#include <cerrno>
#include <cstdio>
#include <cstdlib>

#include "definitions/expr/ast.h"

namespace treaty::expr {
namespace {

constexpr int kMaxLength = 4096;
constexpr int kMaxDepth = 64;

struct Token {
  enum class Type { kEnd, kNumber, kString, kIdent, kOp };
  Type type = Type::kEnd;
  std::string text;  // identifier, operator, number text, or unescaped string
  int offset = 0;
  int end = 0;
};

class Parser {
 public:
  explicit Parser(std::string_view text) : text_(text) {}

  ParseResult Run() {
    ParseResult r;
    if (static_cast<int>(text_.size()) > kMaxLength) {
      r.error = Problem{kMaxLength, "expression is longer than " + std::to_string(kMaxLength) + " bytes"};
      return r;
    }
    if (!Advance()) return Fail();
    if (tok_.type == Token::Type::kEnd) {
      error_ = Problem{0, "empty expression"};
      return Fail();
    }
    NodePtr n = ParseBinary(0);
    if (!n) return Fail();
    if (tok_.type != Token::Type::kEnd) {
      error_ = Problem{tok_.offset, "unexpected '" + tok_.text + "' after the end of the expression"};
      return Fail();
    }
    r.node = n;
    return r;
  }

 private:
  ParseResult Fail() {
    ParseResult r;
    r.error = error_.value_or(Problem{0, "invalid expression"});
    return r;
  }
  bool Error(int offset, std::string message) {
    if (!error_) error_ = Problem{offset, std::move(message)};
    return false;
  }

  // Lexer -----------------------------------------------------------------
  bool Advance() {
    size_t i = pos_;
    while (i < text_.size() && std::isspace(static_cast<unsigned char>(text_[i]))) ++i;
    tok_ = Token{};
    tok_.offset = static_cast<int>(i);
    if (i >= text_.size()) {
      tok_.end = tok_.offset;
      pos_ = i;
      return true;
    }
    char c = text_[i];
    if (std::isdigit(static_cast<unsigned char>(c))) {
      size_t j = i;
      while (j < text_.size() && std::isdigit(static_cast<unsigned char>(text_[j]))) ++j;
      if (j + 1 < text_.size() && text_[j] == '.' && std::isdigit(static_cast<unsigned char>(text_[j + 1]))) {
        ++j;
        while (j < text_.size() && std::isdigit(static_cast<unsigned char>(text_[j]))) ++j;
      }
      if (j < text_.size() && (std::isalpha(static_cast<unsigned char>(text_[j])) || text_[j] == '_'))
        return Error(static_cast<int>(j), "unexpected character '" + std::string(1, text_[j]) + "' in number");
      tok_.type = Token::Type::kNumber;
      tok_.text = std::string(text_.substr(i, j - i));
      pos_ = j;
    } else if (std::isalpha(static_cast<unsigned char>(c)) || c == '_') {
      size_t j = i;
      while (j < text_.size() && (std::isalnum(static_cast<unsigned char>(text_[j])) || text_[j] == '_')) ++j;
      tok_.type = Token::Type::kIdent;
      tok_.text = std::string(text_.substr(i, j - i));
      pos_ = j;
    } else if (c == '"' || c == '\'') {
      size_t j = i + 1;
      std::string s;
      for (;;) {
        if (j >= text_.size()) return Error(static_cast<int>(i), "unterminated string");
        char d = text_[j];
        if (d == c) break;
        if (d == '\\') {
          if (j + 1 >= text_.size()) return Error(static_cast<int>(i), "unterminated string");
          char e = text_[j + 1];
          switch (e) {
            case 'n': s += '\n'; break;
            case 't': s += '\t'; break;
            case '\\': s += '\\'; break;
            case '"': s += '"'; break;
            case '\'': s += '\''; break;
            default:
              return Error(static_cast<int>(j), "unknown escape '\\" + std::string(1, e) + "' in string");
          }
          j += 2;
          continue;
        }
        s += d;
        ++j;
      }
      tok_.type = Token::Type::kString;
      tok_.text = std::move(s);
      pos_ = j + 1;
    } else {
      static const char* kTwo[] = {"==", "!=", "<=", ">=", "&&", "||"};
      tok_.type = Token::Type::kOp;
      for (const char* op : kTwo)
        if (text_.substr(i, 2) == op) {
          tok_.text = op;
          pos_ = i + 2;
          tok_.end = static_cast<int>(pos_);
          return true;
        }
      if (std::string_view("+-*/%<>!()[],.").find(c) == std::string_view::npos) {
        if (c == '=') return Error(static_cast<int>(i), "unexpected '=': use '==' to compare");
        if (c == '&' || c == '|')
          return Error(static_cast<int>(i), "unexpected '" + std::string(1, c) + "': use '" + std::string(2, c) + "'");
        std::string shown = std::isprint(static_cast<unsigned char>(c)) ? std::string(1, c) : "\\x" + [&] {
          char buf[4];
          snprintf(buf, sizeof buf, "%02x", static_cast<unsigned char>(c));
          return std::string(buf);
        }();
        return Error(static_cast<int>(i), "unexpected character '" + shown + "'");
      }
      tok_.text = std::string(1, c);
      pos_ = i + 1;
    }
    tok_.end = static_cast<int>(pos_);
    return true;
  }

  bool IsOp(const char* op) const { return tok_.type == Token::Type::kOp && tok_.text == op; }
  bool Expect(const char* op, const std::string& what) {
    if (!IsOp(op)) {
      std::string got = tok_.type == Token::Type::kEnd ? "end of expression" : "'" + tok_.text + "'";
      return Error(tok_.offset, "expected '" + std::string(op) + "' " + what + ", found " + got);
    }
    return Advance();
  }

  // Parser ----------------------------------------------------------------
  static int Precedence(const Token& t) {
    if (t.type == Token::Type::kIdent && t.text == "in") return 4;
    if (t.type != Token::Type::kOp) return -1;
    const std::string& o = t.text;
    if (o == "||") return 1;
    if (o == "&&") return 2;
    if (o == "==" || o == "!=") return 3;
    if (o == "<" || o == "<=" || o == ">" || o == ">=") return 4;
    if (o == "+" || o == "-") return 5;
    if (o == "*" || o == "/" || o == "%") return 6;
    return -1;
  }

  NodePtr ParseBinary(int min_prec) {
    if (++depth_ > kMaxDepth) {
      Error(tok_.offset, "expression nests deeper than " + std::to_string(kMaxDepth) + " levels");
      return nullptr;
    }
    NodePtr lhs = ParseUnary();
    while (lhs) {
      int prec = Precedence(tok_);
      if (prec < 0 || prec < min_prec) break;
      std::string op = tok_.text;
      if (!Advance()) return nullptr;
      NodePtr rhs = ParseBinary(prec + 1);
      if (!rhs) return nullptr;
      auto n = std::make_shared<Node>();
      n->kind = op == "&&" ? Node::Kind::kAnd : op == "||" ? Node::Kind::kOr : Node::Kind::kBinary;
      n->op = op;
      n->offset = lhs->offset;
      n->end = rhs->end;
      n->kids = {lhs, rhs};
      lhs = n;
    }
    --depth_;
    return lhs;
  }

  NodePtr ParseUnary() {
    if (IsOp("!") || IsOp("-")) {
      if (++depth_ > kMaxDepth) {
        Error(tok_.offset, "expression nests deeper than " + std::to_string(kMaxDepth) + " levels");
        return nullptr;
      }
      auto n = std::make_shared<Node>();
      n->kind = Node::Kind::kUnary;
      n->op = tok_.text;
      n->offset = tok_.offset;
      if (!Advance()) return nullptr;
      // A minus before a number literal is part of the literal.
      if (n->op == "-" && tok_.type == Token::Type::kNumber) {
        NodePtr lit = ParsePostfix();
        --depth_;
        if (!lit) return nullptr;
        if (lit->kind == Node::Kind::kLiteral && lit->literal.is_number()) {
          auto neg = std::make_shared<Node>(*lit);
          neg->offset = n->offset;
          neg->name = "-" + lit->name;
          if (lit->literal.is_int()) {
            neg->literal = Value::Int(-lit->literal.as_int());
          } else {
            const Decimal& d = lit->literal.as_decimal();
            neg->literal = Value::Dec(Decimal(-d.units(), d.scale()));
          }
          return neg;
        }
        n->kids = {lit};
        n->end = lit->end;
        return n;
      }
      NodePtr operand = ParseUnary();
      --depth_;
      if (!operand) return nullptr;
      n->kids = {operand};
      n->end = operand->end;
      return n;
    }
    return ParsePostfix();
  }

  NodePtr ParsePostfix() {
    NodePtr n = ParsePrimary();
    while (n) {
      if (IsOp(".")) {
        if (!Advance()) return nullptr;
        if (tok_.type != Token::Type::kIdent) {
          Error(tok_.offset, "expected a field name after '.'");
          return nullptr;
        }
        auto m = std::make_shared<Node>();
        m->kind = Node::Kind::kMember;
        m->name = tok_.text;
        m->offset = n->offset;
        m->end = tok_.end;
        m->kids = {n};
        if (!Advance()) return nullptr;
        n = m;
      } else if (IsOp("[")) {
        if (!Advance()) return nullptr;
        NodePtr idx = ParseBinary(0);
        if (!idx) return nullptr;
        int end = tok_.end;
        if (!Expect("]", "after index")) return nullptr;
        auto m = std::make_shared<Node>();
        m->kind = Node::Kind::kIndex;
        m->offset = n->offset;
        m->end = end;
        m->kids = {n, idx};
        n = m;
      } else {
        break;
      }
    }
    return n;
  }

  NodePtr ParsePrimary() {
    auto n = std::make_shared<Node>();
    n->offset = tok_.offset;
    n->end = tok_.end;
    switch (tok_.type) {
      case Token::Type::kEnd:
        Error(tok_.offset, "unexpected end of expression");
        return nullptr;
      case Token::Type::kNumber: {
        n->kind = Node::Kind::kLiteral;
        n->name = tok_.text;  // keeps a decimal's scale for the C++ emitter
        if (tok_.text.find('.') == std::string::npos) {
          errno = 0;
          char* endp = nullptr;
          long long v = std::strtoll(tok_.text.c_str(), &endp, 10);
          if (errno == ERANGE) {
            Error(tok_.offset, "integer literal " + tok_.text + " does not fit in 64 bits");
            return nullptr;
          }
          n->literal = Value::Int(v);
        } else {
          auto d = Decimal::Parse(tok_.text);
          if (!d.ok()) {
            Error(tok_.offset, d.status().message());
            return nullptr;
          }
          n->literal = Value::Dec(*d);
        }
        break;
      }
      case Token::Type::kString:
        n->kind = Node::Kind::kLiteral;
        n->literal = Value::Str(tok_.text);
        break;
      case Token::Type::kIdent: {
        const std::string& id = tok_.text;
        if (id == "true" || id == "false") {
          n->kind = Node::Kind::kLiteral;
          n->literal = Value::Bool(id == "true");
        } else if (id == "null") {
          n->kind = Node::Kind::kLiteral;
        } else if (id == "in") {
          Error(tok_.offset, "unexpected 'in'");
          return nullptr;
        } else {
          n->name = id;
          if (!Advance()) return nullptr;
          if (IsOp("(")) return ParseCall(n);
          n->kind = Node::Kind::kRoot;
          return n;
        }
        break;
      }
      case Token::Type::kOp:
        if (IsOp("(")) {
          if (!Advance()) return nullptr;
          NodePtr inner = ParseBinary(0);
          if (!inner) return nullptr;
          if (!Expect(")", "to close '('")) return nullptr;
          return inner;
        }
        if (IsOp("[")) {
          n->kind = Node::Kind::kList;
          if (!Advance()) return nullptr;
          if (!IsOp("]")) {
            for (;;) {
              NodePtr e = ParseBinary(0);
              if (!e) return nullptr;
              n->kids.push_back(e);
              if (IsOp(",")) {
                if (!Advance()) return nullptr;
                continue;
              }
              break;
            }
          }
          n->end = tok_.end;
          if (!Expect("]", "to close the list")) return nullptr;
          return n;
        }
        Error(tok_.offset, "unexpected '" + tok_.text + "'");
        return nullptr;
    }
    if (!Advance()) return nullptr;
    return n;
  }

  NodePtr ParseCall(std::shared_ptr<Node> n) {
    n->kind = Node::Kind::kCall;
    if (!Advance()) return nullptr;  // '('
    if (!IsOp(")")) {
      for (;;) {
        NodePtr a = ParseBinary(0);
        if (!a) return nullptr;
        n->kids.push_back(a);
        if (IsOp(",")) {
          if (!Advance()) return nullptr;
          continue;
        }
        break;
      }
    }
    n->end = tok_.end;
    if (!Expect(")", "after argument list")) return nullptr;
    return n;
  }

  std::string_view text_;
  size_t pos_ = 0;
  Token tok_;
  int depth_ = 0;
  std::optional<Problem> error_;
};

}  // namespace

ParseResult Parse(std::string_view text) { return Parser(text).Run(); }

std::string FieldPath(const Node& n) {
  if (n.kind == Node::Kind::kRoot) return n.name;
  if (n.kind == Node::Kind::kMember) {
    std::string base = FieldPath(*n.kids[0]);
    return base.empty() ? "" : base + "." + n.name;
  }
  if (n.kind == Node::Kind::kIndex) {
    std::string base = FieldPath(*n.kids[0]);
    if (base.empty()) return "";
    const Node& i = *n.kids[1];
    bool literal = i.kind == Node::Kind::kLiteral && i.literal.is_int();
    return base + "[" + (literal ? std::to_string(i.literal.as_int()) : std::string()) + "]";
  }
  return "";
}

}  // namespace treaty::expr
