// NodeStore: the node's SQLite database (WAL, one file): instances,
// proposals, batches, nonces, expected pins, history, events,
// subscriptions, idempotency keys and the ledger cursor. The applier
// commits each block in one transaction through it, so a crash at any
// point resumes exactly at the last committed block.
//
// Two connections: the writer (mu(), db()) for every transaction, and a
// reader (read_mu(), read_db()) for queries, so API reads do not queue
// behind the applier's block transactions; WAL lets them run side by side
// and the reader sees every committed transaction.
//
// Thread-safety: every method locks the mutex of the connection it uses;
// the *Locked methods expect the caller to hold mu().
#pragma once

#include <algorithm>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "definitions/base/sqlite_db.h"
#include "definitions/base/status.h"

namespace treaty::engine {

inline constexpr int kSchemaVersion = 2;

struct InstanceRow {
  std::string id, definition, def_hash, salt_hex, roles_json, snapshot_json, states_json, data_json, state_hash;
  int64_t version = 0;
  bool final = false;
  int64_t position = 0, height = 0, created_ms = 0, updated_ms = 0;
};

struct ProposalRow {
  std::string id, kind, instance, step, input_json, author, pin_hex, status, batch, reject_code, reason, extra_json;
  int64_t nonce = -1, height = 0, proposed_ms = 0, applied_ms = 0;
  // Not stored: the instance as this proposal left it, set by the applier
  // for the callers waiting on it (they answer with it, no store read).
  std::shared_ptr<const InstanceRow> instance_after;
};

struct EventRow {
  int64_t offset = 0;
  std::string type, instance, definition, step, payload_json;
  int64_t time_ms = 0, height = 0;
};

struct HistoryRow {
  int64_t seq = 0;
  std::string proposal, step, proposer, input_json, outcome, reject_code, reason, states_json, state_hash;
  int64_t height = 0, proposed_ms = 0, applied_ms = 0;
};

// A data-exchange message to a member, as the outbox stores it.
struct OutboxMessage {
  std::string id, peer, kind, body;  // body: JSON text
};

// Delay before an outbox message sent `attempts` times without a receipt
// goes again: 250 ms doubling to 5 s, so a member back after minutes is
// served within seconds.
inline int64_t OutboxBackoffMs(int64_t attempts) {
  return attempts >= 5 ? 5000 : std::min<int64_t>(5000, int64_t{250} << attempts);
}

// The whole outcome of an applied step as a member attests it: two members
// that differ in any part of it (a reason's words included) have diverged.
struct AttestedOutcome {
  std::string outcome, reject_code, reason, state_hash;
  bool operator==(const AttestedOutcome&) const = default;
};

struct AttestationRow {
  std::string instance;
  int64_t seq = 0;
  std::string party;
  AttestedOutcome attested;
  std::string signature;
};

// A pin this node waits for: whose, in which instance, which nonce.
struct ExpectedPin {
  std::string instance, author;
  int64_t nonce = 0;
};

// An instance whose next recognised pin has no data yet.
struct BlockedRow {
  std::string instance, pin;
  int64_t height = 0, since_ms = 0, waiting = 0;  // waiting: pins queued behind, this one included
};

class NodeStore {
 public:
  // Creates the schema or checks that an existing file has this version.
  Status Open(const std::string& path, const std::string& party, bool full_sync = true);

  std::mutex& mu() { return mu_; }
  treaty::Db& db() { return db_; }  // callers hold mu()
  std::mutex& read_mu() { return read_mu_; }
  treaty::Db& read_db() { return read_db_; }  // callers hold read_mu()

  // All of these lock mu().
  std::optional<InstanceRow> GetInstance(const std::string& id);
  std::optional<ProposalRow> GetProposal(const std::string& id);
  std::vector<HistoryRow> History(const std::string& instance);
  std::vector<EventRow> Events(int64_t after, size_t max);
  int64_t LastEventOffset();
  int64_t Cursor();
  // The last applied block's height and hash, if any.
  std::optional<std::pair<int64_t, std::string>> LedgerTip();
  int64_t Acked(const std::string& subscription);
  Status Ack(const std::string& subscription, int64_t offset);
  int64_t PendingProposals();
  int64_t PendingCount();  // proposals not yet sealed
  std::vector<AttestationRow> Attestations(const std::string& instance);
  Result<std::vector<AttestationRow>> AttestationsAt(const std::string& instance, int64_t seq);
  // The history entry a proposal made: its sequence number, its whole
  // outcome and the instance's roles; nullopt if none (not applied yet).
  struct AppliedEntry {
    int64_t seq = 0;
    AttestedOutcome outcome;
    std::string roles_json;
  };
  Result<std::optional<AppliedEntry>> HistoryEntryOf(const std::string& instance, const std::string& proposal);
  std::vector<BlockedRow> Blocked();
  int64_t OutboxSize();

  // Lock mu() yourself.
  static InstanceRow ReadInstance(treaty::Stmt& s);
  static ProposalRow ReadProposal(treaty::Stmt& s);
  // Insert: a new row. Update: the columns that change after insertion
  // (cheaper than a replace, which rewrites every index entry).
  Status InsertInstance(const InstanceRow& r);
  Status UpdateInstance(const InstanceRow& r);
  Status InsertProposal(const ProposalRow& r);
  Status UpdateProposal(const ProposalRow& r);
  std::optional<ProposalRow> GetProposalLocked(const std::string& id);
  std::optional<ProposalRow> GetProposalByPinLocked(const std::string& pin_hex);
  // Proposals not yet sealed, oldest first.
  Result<std::vector<ProposalRow>> PendingProposalsLocked(size_t max);
  std::optional<InstanceRow> GetInstanceLocked(const std::string& id);
  Status AppendEvent(const EventRow& e);
  // Sets *seq (if given) to the entry's sequence number in the instance.
  Status AppendHistory(const std::string& instance, const HistoryRow& h, int64_t* seq = nullptr);
  Status SetCursor(int64_t height, const std::string& block_hash);
  // The pin protocol's rows (docs/protocol.md). SpendNonce returns the
  // nonce the author's next proposal in the instance takes (0 first).
  Result<int64_t> SpendNonce(const std::string& instance, const std::string& author);
  // The author's next pin in the instance, recognised when a block holds it.
  Status ExpectPin(const std::string& pin_hex, const std::string& instance, const std::string& author,
                   int64_t nonce);
  // Removes and returns an expected pin; nullopt if the pin is not expected.
  Result<std::optional<ExpectedPin>> TakeExpectedPin(const std::string& pin_hex);
  // A sealed batch until a block holds it (resubmitted after a restart).
  Status InsertBatch(const std::string& id, const std::string& pins_json);
  Status ForgetBatch(const std::string& id);
  // A unique key won at `height`; a second claim of the same key by the
  // same step is ignored.
  Status InsertClaim(const std::string& claim_hex, const std::string& instance, const std::string& field,
                     int64_t height);
  // A message for a member, counted as sent once: the caller hands it to
  // the data exchange after the commit, and the row brings a resend at
  // `resend_ms` (OutboxBackoffMs) until the member's receipt deletes it.
  Status EnqueueOutbox(const OutboxMessage& m, int64_t now_ms, int64_t resend_ms);

 private:
  std::mutex mu_;
  treaty::Db db_;
  std::mutex read_mu_;
  treaty::Db read_db_;
  treaty::Checkpointer checkpointer_;  // last member: stops before the connections close
};

}  // namespace treaty::engine
