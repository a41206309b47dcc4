#include "engine/store/instance_query.h"

#include <sqlite3.h>

#include <cstdlib>

#include "definitions/expr/ast.h"

namespace treaty::engine {
namespace {

Status Unsupported(const std::string& what) {
  return Status::InvalidArgument("where: " + what +
                                 "; use comparisons of data fields with literals joined by &&, e.g. "
                                 "data.total > 1000 && data.currency == \"EUR\"");
}

bool SafePathPart(const std::string& s) {
  for (char c : s)
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '_') return false;
  return !s.empty();
}

Status Compile(const expr::Node& n, std::string* sql, std::vector<Value>* params) {
  using K = expr::Node::Kind;
  if (n.kind == K::kAnd) {
    *sql += "(";
    TREATY_RETURN_IF_ERROR(Compile(*n.kids[0], sql, params));
    *sql += " AND ";
    TREATY_RETURN_IF_ERROR(Compile(*n.kids[1], sql, params));
    *sql += ")";
    return Status::Ok();
  }
  if (n.kind != K::kBinary) return Unsupported("unsupported expression");
  static const char* kOps[] = {"==", "!=", "<", "<=", ">", ">="};
  std::string op;
  for (const char* o : kOps)
    if (n.op == o) op = o;
  if (op.empty()) return Unsupported("operator '" + n.op + "' is not supported");
  const expr::Node* field = n.kids[0].get();
  const expr::Node* lit = n.kids[1].get();
  if (field->kind == K::kLiteral) std::swap(field, lit);  // 1000 < data.total
  std::string path = expr::FieldPath(*field);
  if (path.rfind("data.", 0) != 0) return Unsupported("the left side must be a data field, e.g. data.total");
  if (lit->kind != K::kLiteral) return Unsupported("the right side must be a literal");
  std::string json_path = "$";
  size_t start = 5;
  while (start <= path.size()) {
    size_t dot = path.find('.', start);
    std::string part = path.substr(start, dot == std::string::npos ? std::string::npos : dot - start);
    if (!SafePathPart(part)) return Unsupported("bad field name '" + part + "'");
    json_path += "." + part;
    if (dot == std::string::npos) break;
    start = dot + 1;
  }
  if (n.kids[0]->kind == K::kLiteral) {  // flip the comparison with the operands
    if (op == "<") op = ">"; else if (op == ">") op = "<"; else if (op == "<=") op = ">="; else if (op == ">=") op = "<=";
  }
  if (lit->literal.is_null()) {
    if (op != "==" && op != "!=") return Unsupported("null can only be compared with == or !=");
    *sql += "json_extract(data, ?) IS " + std::string(op == "==" ? "NULL" : "NOT NULL");
    params->push_back(Value::Str(json_path));
    return Status::Ok();
  }
  *sql += "json_extract(data, ?) " + std::string(op == "==" ? "=" : op) + " ?";
  params->push_back(Value::Str(json_path));
  params->push_back(lit->literal);
  return Status::Ok();
}

}  // namespace

Result<InstanceQuery> CompileInstanceQuery(const std::string& definition, const std::string& state,
                                           const std::string& where, const std::string& order_by) {
  InstanceQuery q;
  std::string cond = "1";
  if (!definition.empty()) {
    cond += " AND definition = ?";
    q.params.push_back(Value::Str(definition));
  }
  if (!state.empty()) {
    // A path ("checks.covered") or a leaf name ("covered").
    cond += " AND EXISTS (SELECT 1 FROM json_each(instances.states) WHERE value = ? OR value LIKE ?)";
    q.params.push_back(Value::Str(state));
    q.params.push_back(Value::Str("%." + state));
  }
  if (!where.empty()) {
    auto p = expr::Parse(where);
    if (!p.node) return Status::InvalidArgument("where: " + p.error->message + " at offset " + std::to_string(p.error->offset));
    std::string sql;
    TREATY_RETURN_IF_ERROR(Compile(*p.node, &sql, &q.params));
    cond += " AND " + sql;
  }
  std::string order = order_by.empty() ? "created" : order_by;
  bool desc = false;
  if (order.size() > 5 && order.substr(order.size() - 5) == " desc") {
    desc = true;
    order = order.substr(0, order.size() - 5);
  }
  std::string col;
  // Instances are numbered in order of creation: `no` is that order, with
  // no index of its own to keep up.
  if (order == "created") col = "no";
  else if (order == "updated") col = "updated_ms";
  else if (order == "id") col = "id";
  else return Status::InvalidArgument("order_by must be created, updated or id (optionally followed by ' desc')");
  q.where_sql = cond;
  q.order_sql = col + (desc ? " DESC" : "") + ", id";
  return q;
}

void BindQuery(treaty::Stmt& s, const InstanceQuery& q, int64_t limit, int64_t offset) {
  int i = 1;
  for (const auto& v : q.params) {
    if (v.is_int()) {
      s.Bind(i, v.as_int());
    } else if (v.is_bool()) {
      s.Bind(i, static_cast<int64_t>(v.as_bool()));
    } else if (v.is_decimal()) {
      // Queries are local reads, not consensus: SQLite compares JSON
      // decimals as REAL, so the bound value is one too.
      s.BindDouble(i, std::strtod(v.as_decimal().ToString().c_str(), nullptr));  // never throws
    } else {
      s.Bind(i, v.is_string() ? v.as_string() : v.ToCanonicalJson());
    }
    ++i;
  }
  s.Bind(i++, limit);
  s.Bind(i, offset);
}

}  // namespace treaty::engine
