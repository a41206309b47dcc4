// The data exchange's wire messages decoded (docs/protocol.md, "Data
// exchange"): the frame every member-to-member message travels in, the
// receipt a receiver signs, and one attestation item. Pure functions over
// bytes a peer sent, so they never trust their input: every refusal is an
// error value naming what is wrong (the fuzzers in tests/fuzz feed them
// arbitrary bytes).
//
// Thread-safety: pure functions.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "definitions/base/signing_key.h"
#include "definitions/value.h"
#include "engine/types.h"

namespace treaty::engine {

// {"body": ..., "from": party, "id": message id, "kind": name}.
struct ExchangeFrame {
  std::string id, kind, from;
  Value body;  // parsed exactly (numbers never through double)
};
// The frame's text; `body` is JSON text already (spliced in, not re-parsed).
std::string EncodeExchangeFrame(const std::string& id, const std::string& kind, const std::string& from,
                                const std::string& body);
// A frame of at most `max_bytes` (RESOURCE_EXHAUSTED beyond, before any
// parsing); INVALID_ARGUMENT for anything else malformed.
Result<ExchangeFrame> DecodeExchangeFrame(std::string_view bytes, size_t max_bytes);

// {"kind": "receipt", "id": message id, "from": party, "signature": hex}.
struct ReceiptFrame {
  std::string id;
  crypto::Signature signature{};
};
std::string EncodeReceipt(const std::string& id, const std::string& from, const crypto::Signature& signature);
Result<ReceiptFrame> DecodeReceipt(std::string_view bytes);

// One item of an attestations message: {"instance", "seq", "outcome",
// "reject_code" ("" for none), "reason", "state_hash"}.
struct AttestationItem {
  std::string instance;
  int64_t seq = 0;
  AttestedOutcome outcome;
};
Result<AttestationItem> DecodeAttestation(const nlohmann::json& item);

// What a member signs for the attestations of one transaction sent to one
// member: fields "treaty.attestations.v2", attester, number of items, then
// per item: instance, history sequence number, outcome, reject code,
// reason, state hash (hex). Items come from a peer: any shape is hashed.
Digest AttestationSetDigest(const std::string& party, const nlohmann::json& items);

}  // namespace treaty::engine
