// The canonical form of a definition: deterministic compact JSON of
// everything semantic, and its SHA-256, the definition hash every instance
// records (docs/definitions.md, "Canonical form and hash").
//
// The JSON uses the YAML key schema of definitions (JSON is YAML), so it is
// itself a valid definition: ParseDefinition(CanonicalJson(d)) gives a
// definition with the same CanonicalJson. The runtime embeds it and parses
// it back with the same loader.
//
// What it holds: names, types, constraints, visible_to, unique, the state
// tree, steps, guard and `set:` texts, tasks (a human task's `due` as
// "<n>ms", its `priority` only when not 50, its candidate lists and form
// only when written; a job task's `retries`, `backoff` and `timeout` only
// when not the defaults 3, 10s and 5m, durations as "<n>ms", its headers
// and errors only when written), deadlines (as "<n>ms"), descriptions and
// labels; no comments, no source positions, no defaults.
// Order: fixed keys sorted; data, input and property fields, roles, `by`,
// `visible_to`, `set:`, candidate groups and users, form fields and a job
// task's headers and errors sorted by name; states, regions, steps and a
// step's `from` in the order written (state and step order is part of the
// generated machine), as JSON objects whose member order the loader keeps;
// `enum` values in the order written (the order of rejection messages).
//
// Thread-safety: pure functions.
#pragma once

#include <string>

#include "definitions/base/sha256.h"
#include "definitions/model.h"

namespace treaty::defs {

std::string CanonicalJson(const Definition& def);
// sha256(CanonicalJson(def)).
Digest DefinitionHash(const Definition& def);

}  // namespace treaty::defs
