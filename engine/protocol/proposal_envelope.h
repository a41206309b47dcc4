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
// A ProposalSet signs several proposals of one author at once: the author
// signs SHA-256(fields "treaty.proposals.v1", author, count, then each
// proposal's signing digest, raw and unframed). A proposal covered by a
// set carries no signature of its own; one verification per message then
// covers all its proposals (a sealed batch sends one message per member).
//
// Thread-safety: plain values and pure functions.
#pragma once

#include <optional>
#include <set>
#include <string>
#include <vector>

#include "definitions/value.h"
#include "definitions/base/signing_key.h"

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
  // Absent when a ProposalSet's signature covers this proposal.
  std::optional<crypto::Signature> signature;

  // The digest the author signs.
  Digest SigningDigest() const;
  // The input as this party sees it: hidden fields as Value::Hidden(commitment).
  Value Input() const;
  std::string ToJson() const;
  static Result<ProposalEnvelope> FromJson(std::string_view json);
  // From an already (exactly) parsed value: a member's message holds it.
  static Result<ProposalEnvelope> FromValue(const Value& v);
};

struct ProposalSet {
  std::string author;
  std::vector<Digest> proposals;  // signing digests, in message order
  crypto::Signature signature{};

  Digest SigningDigest() const;
  bool Covers(const Digest& proposal) const;
  // {"author","proposals":[hex…],"signature"}
  Value ToValue() const;
  static Result<ProposalSet> FromValue(const Value& v);
};

ProposalSet SignProposalSet(const std::string& author, std::vector<Digest> proposals, const crypto::SigningKey& key);

Digest FieldCommitment(const std::string& salt_hex, const std::string& name, const Value& value);

// Salts every field and commits, without a signature (a ProposalSet will
// cover it). `input` must be an object.
Result<ProposalEnvelope> CommitProposal(const std::string& instance, const std::string& step, const std::string& author,
                                        int64_t nonce, const Digest& definition_hash, const Value& input);
// CommitProposal, then signs the proposal alone.
Result<ProposalEnvelope> SealProposal(const std::string& instance, const std::string& step, const std::string& author,
                                      int64_t nonce, const Digest& definition_hash, const Value& input,
                                      const crypto::SigningKey& key);

// A copy without the values (and salts) of `hidden` fields.
ProposalEnvelope RedactFor(const ProposalEnvelope& full, const std::set<std::string>& hidden);

// OK when the fields are in name order and every visible value matches its
// commitment (INVALID_ARGUMENT otherwise). No signature is checked.
Status VerifyCommitments(const ProposalEnvelope& p);

// OK when the proposal's own signature is the author's and its commitments
// hold. PERMISSION_DENIED for a missing or bad signature.
Status VerifyProposal(const ProposalEnvelope& p, const crypto::PublicKey& author_key);

// OK when `set` is the proposal author's, covers the proposal's signing
// digest, its signature is the author's, and the commitments hold. The
// set's signature is checked once: `*set_valid` caches the answer for the
// next proposal of the same set. PERMISSION_DENIED otherwise.
Status VerifyProposalInSet(const ProposalEnvelope& p, const ProposalSet& set, const crypto::PublicKey& author_key,
                           std::optional<bool>* set_valid);

}  // namespace treaty::protocol
