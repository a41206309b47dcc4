// The canonical form of a definition: deterministic compact JSON of
// everything semantic, and its SHA-256, the definition hash every instance
// records (docs/definitions.md, "Canonical form").
//
// The canonical JSON is itself a valid definition (JSON is YAML), so the
// runtime embeds it and parses it back with the same loader.
//
// Thread-safety: pure functions.
#pragma once

#include <string>

#include "definitions/base/sha256.h"
#include "definitions/model.h"

namespace treaty::defs {

std::string CanonicalJson(const Definition& def);
Digest DefinitionHash(const Definition& def);

}  // namespace treaty::defs
