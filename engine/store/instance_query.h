// InstanceQuery: ListInstances' filters compiled to SQL over SQLite's JSON
// functions, with every literal a bound parameter (never concatenated).
// The `where` language: comparisons of `data.PATH` with a literal joined by
// `&&`, e.g. `data.total > 1000 && data.currency == "EUR"`.
//
// Part of the store (engine/store): the only other file of the node with SQL.
//
// Thread-safety: plain values.
#pragma once

#include <string>
#include <vector>

#include "definitions/base/sqlite_db.h"
#include "definitions/base/status.h"
#include "definitions/value.h"

namespace treaty::engine {

// A compiled query: its condition and order, run by NodeStore::ListInstances.
struct InstanceQuery {
  std::string where_sql;      // a condition over the instances table
  std::string order_sql;      // "created_ms DESC, id", ...
  std::vector<Value> params;  // bound in order, then limit and offset
};

// INVALID_ARGUMENT with a message for a bad `where` or `order_by`.
Result<InstanceQuery> CompileInstanceQuery(const std::string& definition, const std::string& state,
                                           const std::string& where, const std::string& order_by);
// Binds the query's parameters from 1, then limit and offset.
void BindQuery(treaty::Stmt& s, const InstanceQuery& q, int64_t limit, int64_t offset);

}  // namespace treaty::engine
