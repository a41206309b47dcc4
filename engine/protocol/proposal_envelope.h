// ProposalEnvelope: a step proposal as it travels between parties, signed
// by its author so that every member can verify it, including members that
// receive some input fields only as salted commitments (visible_to).
//
// The author commits to each input field with its own random salt:
//   commitment = SHA-256(fields "treaty.field.v1", salt, name, canonical JSON)
// and signs SHA-256(fields "treaty.proposal.v1", instance, step, author,
// nonce, definition hash, number of fields, then name and commitment of each
// field in name order). A member's copy of a hidden field keeps only its
// commitment; the signature still verifies. Byte layout: docs/protocol.md.
//
// Thread-safety: plain values and pure functions.
#pragma once

#include <optional>
#include <set>
#include <string>
#include <vector>

#include "definitions/value.h"
#include "engine/crypto/signing_key.h"

namespace treaty::protocol {

struct FieldCopy {
  std::string name;
  std::optional<Value> value;  // absent in a redacted copy
  std::string salt_hex;        // empty in a redacted copy
  Digest commitment{};
};

struct ProposalEnvelope {
  std::string instance;
  std::string step;
  std::string author;
  int64_t nonce = 0;
  Digest definition_hash{};
  std::vector<FieldCopy> fields;  // sorted by name
  crypto::Signature signature{};

  // The digest the author signs.
  Digest SigningDigest() const;
  // The input as this party sees it: hidden fields as Value::Hidden(commitment).
  Value Input() const;
  std::string ToJson() const;
  static Result<ProposalEnvelope> FromJson(std::string_view json);
  // From an already (exactly) parsed value: a member's message holds it.
  static Result<ProposalEnvelope> FromValue(const Value& v);
};

Digest FieldCommitment(const std::string& salt_hex, const std::string& name, const Value& value);

// Salts every field, commits, signs. `input` must be an object.
Result<ProposalEnvelope> SealProposal(const std::string& instance, const std::string& step, const std::string& author,
                                      int64_t nonce, const Digest& definition_hash, const Value& input,
                                      const crypto::SigningKey& key);

// A copy without the values (and salts) of `hidden` fields.
ProposalEnvelope RedactFor(const ProposalEnvelope& full, const std::set<std::string>& hidden);

// OK when the signature is the author's and every visible value matches
// its commitment. PERMISSION_DENIED for a bad signature, INVALID_ARGUMENT
// for a value that does not match its commitment.
Status VerifyProposal(const ProposalEnvelope& p, const crypto::PublicKey& author_key);

}  // namespace treaty::protocol
