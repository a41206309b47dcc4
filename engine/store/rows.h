// Internal to engine/store: the column lists of the tables read in more
// than one file, and the functions that turn a statement's row into a
// struct. Nothing outside engine/store includes this.
//
// Thread-safety: pure functions over a statement the caller owns.
#pragma once

#include <string>
#include <vector>

#include "definitions/base/sqlite_db.h"
#include "engine/types.h"

namespace treaty::engine::store {

inline constexpr const char* kInstanceCols =
    "no, id, definition, version, def_hash, salt, roles, snapshot, states, data, final, position, height, "
    "state_hash, created_ms, updated_ms";
Result<InstanceRow> ReadInstance(Stmt& s);
// Every row the statement returns.
Result<std::vector<InstanceRow>> ReadInstances(Stmt& s);

inline constexpr const char* kProposalCols =
    "id, kind, instance, step, input, author, nonce, pin, status, batch, proposed_ms, extra";
Result<ProposalRow> ReadProposal(Stmt& s);

// A query of at most one row: true with the statement on it, false when
// there is none, or the statement's error.
Result<bool> HasRow(Stmt& s);
// A statement that must return a row (RETURNING, an aggregate): OK on it,
// INTERNAL naming `what` when it returned none, or its error.
Status ExpectRow(Stmt& s, const char* what);

// Text the store wrote itself and reads back: a row it cannot parse is
// damage (DATA_LOSS naming the table), never a silent default.
Status Damaged(const std::string& table, const std::string& what);

}  // namespace treaty::engine::store
