// InstanceQuery: ListInstances' filters compiled to SQL over SQLite's JSON
// functions, with every literal a bound parameter (never concatenated).
// The `where` language: comparisons of `data.PATH` with a literal joined by
// `&&`, e.g. `data.total > 1000 && data.currency == "EUR"`.
//
// Thread-safety: plain values.
#pragma once

#include <string>
#include <vector>

#include "definitions/base/sqlite_db.h"
#include "definitions/base/status.h"
#include "definitions/value.h"

namespace treaty::engine {

struct InstanceQuery {
  std::string sql;            // "SELECT <cols> FROM instances WHERE ... ORDER BY ... LIMIT ? OFFSET ?"
  std::vector<Value> params;  // bound in order, then limit and offset
};

Result<InstanceQuery> CompileInstanceQuery(const std::string& columns, const std::string& definition,
                                           const std::string& state, const std::string& where,
                                           const std::string& order_by);
void BindQuery(treaty::Stmt& s, const InstanceQuery& q, int64_t limit, int64_t offset);

}  // namespace treaty::engine
