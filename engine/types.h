// The node's vocabulary: what a proposal is and where it stands, how an
// applied one ended, and the rows the store keeps. Text names appear only
// at the edges (the store's columns, the wire, the API); inside the node
// these are enums and structs, parsed once.
//
// Thread-safety: plain values.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "definitions/base/sha256.h"
#include "definitions/base/status.h"
#include "definitions/runtime/machine.h"
#include "engine/job_types.h"
#include "engine/task_types.h"

namespace treaty::engine {

using runtime::RejectCode;
using runtime::RejectCodeFromName;
using runtime::RejectCodeName;

enum class ProposalKind { kStart, kStep };
const char* KindName(ProposalKind k);  // "start", "step"
std::optional<ProposalKind> KindFromName(std::string_view name);

// Where a proposal stands. Pending: stored, not yet in a batch. Sealed: in
// a batch of ours, nonce spent. Received: a member's, stored until its pin
// is applied. Confirmed and rejected: applied (the history has it).
enum class ProposalStatus { kPending, kSealed, kReceived, kConfirmed, kRejected };
const char* StatusName(ProposalStatus s);  // "pending", ...
std::optional<ProposalStatus> StatusFromName(std::string_view name);
inline bool Applied(ProposalStatus s) { return s == ProposalStatus::kConfirmed || s == ProposalStatus::kRejected; }

// How an applied proposal ended, as history and attestations say it.
enum class Outcome { kConfirmed, kRejected };
const char* OutcomeName(Outcome o);  // "CONFIRMED", "REJECTED"
std::optional<Outcome> OutcomeFromName(std::string_view name);

// A rejection's gRPC-style status code (services, preflight).
StatusCode StatusForReject(RejectCode code);

// What a proposal carries besides its step and input, parsed once: a
// start's terms, the unique-key claims it places after its pin, and the
// salted commitments of its input fields (multi-party).
struct ProposalExtra {
  std::string definition;  // starts: process name, version, definition hash (hex)
  int64_t version = 0;
  std::string hash_hex;
  std::map<std::string, std::string> roles;  // starts: role -> party
  std::string salt_hex;                      // starts: the instance's salt (64 hex)
  std::vector<Digest> claims;                // unique-key claims, in batch order after the pin
  std::map<std::string, std::string> commitments;  // input field -> commitment (hex)

  std::string ToJson() const;
  static Result<ProposalExtra> FromJson(std::string_view text);
};

// Canonical JSON of a role -> party map, as instance rows keep it.
std::string RolesJson(const std::map<std::string, std::string>& roles);
Result<std::map<std::string, std::string>> RolesFromJson(std::string_view text);
// The parties bound to any role, sorted, once each.
std::vector<std::string> MembersOf(const std::map<std::string, std::string>& roles);
// The roles `party` holds.
std::vector<std::string> RolesOf(const std::map<std::string, std::string>& roles, const std::string& party);

struct InstanceRow {
  int64_t no = 0;  // the store's ordinal, in order of creation
  std::string id, definition, def_hash, salt_hex, snapshot_json, states_json, data_json, state_hash;
  std::map<std::string, std::string> roles;
  int64_t version = 0;
  bool final = false;
  int64_t position = 0, height = 0, created_ms = 0, updated_ms = 0;
  // Not stored: snapshot_json parsed, when the row was made by the applier
  // (it had the machine's snapshot at hand), so a row from the cache is
  // restored without parsing its JSON again. Null for a row read from the store.
  std::shared_ptr<const runtime::Snapshot> snapshot;

  // The machine's snapshot: the parsed one if the row has it.
  Result<runtime::Snapshot> ParsedSnapshot() const {
    if (snapshot) return *snapshot;
    return runtime::Snapshot::FromJson(snapshot_json);
  }
};

struct ProposalRow {
  std::string id;
  ProposalKind kind = ProposalKind::kStep;
  std::string instance, step, input_json, author, pin_hex, batch;
  ProposalStatus status = ProposalStatus::kPending;
  RejectCode reject_code = RejectCode::kNone;
  std::string reason;
  ProposalExtra extra;
  int64_t nonce = -1, height = 0, proposed_ms = 0, applied_ms = 0;
  // Set by the applier, not stored with the proposal: its entry in the
  // instance's history, and the instance as it left it (the waiting caller
  // answers with it, no store read).
  int64_t history_seq = 0;
  std::shared_ptr<const InstanceRow> instance_after;
  // Not stored: the definition its instance runs, set by the proposer and
  // the applier (empty if unknown), for metrics and logs.
  std::string definition;
};

// The whole outcome of an applied step as a member attests it: two members
// that differ in any part of it (a reason's words included) have diverged.
struct AttestedOutcome {
  Outcome outcome = Outcome::kConfirmed;
  RejectCode reject_code = RejectCode::kNone;
  std::string reason, state_hash;
  bool operator==(const AttestedOutcome&) const = default;
};

struct HistoryRow {
  int64_t seq = 0;  // in the instance, from 1
  std::string proposal, step, proposer, input_json, states_json;
  AttestedOutcome outcome;
  int64_t nonce = -1, height = 0, proposed_ms = 0, applied_ms = 0;
};

struct EventRow {
  int64_t offset = 0;
  std::string type, instance, definition, step, payload_json;
  int64_t time_ms = 0, height = 0;
};

struct AttestationRow {
  std::string instance;
  int64_t seq = 0;
  std::string party;
  AttestedOutcome attested;
  std::string signature;
};

// A data-exchange message to a member, as the outbox stores it.
struct OutboxMessage {
  std::string id, peer, kind, body;  // body: JSON text
};

// Delay before an outbox message sent `attempts` times without a receipt
// goes again: 250 ms doubling to 5 s, so a member back after minutes is
// served within seconds.
int64_t OutboxBackoffMs(int64_t attempts);

// A pin this node waits for: whose, in which instance, which nonce.
struct ExpectedPin {
  std::string instance, author;
  int64_t nonce = 0;
};

// Where and when a pin was sequenced.
struct LedgerPosition {
  int64_t height = 0, time_ms = 0, idx = 0;  // idx: place in the block, from 1
  bool operator<(const LedgerPosition& o) const { return height != o.height ? height < o.height : idx < o.idx; }
};

// An instance whose next recognised pin has no data yet.
struct BlockedRow {
  std::string instance, pin;
  int64_t height = 0, since_ms = 0, waiting = 0;  // waiting: pins queued behind, this one included
};

}  // namespace treaty::engine
