// IdentityFile: a party's (or the sequencer's) secret keys on disk, as
// `treatyd init` and `treaty-sequencer init` write them: JSON, mode 0600,
// created once and never overwritten (docs/protocol.md, "Party identity").
//
// Thread-safety: plain values and functions.
#pragma once

#include <string>

#include "definitions/base/signing_key.h"

namespace treaty::crypto {

struct Identity {
  std::string party;
  SigningKey key;
  CurveKeyPair curve;
  std::string endpoint;
};

// Fresh keys for `party`.
Result<Identity> NewIdentity(const std::string& party, const std::string& endpoint);
// ALREADY_EXISTS if the file exists: a party's keys are never replaced.
Status WriteIdentityFile(const std::string& path, const Identity& id);
Result<Identity> LoadIdentityFile(const std::string& path);

}  // namespace treaty::crypto
