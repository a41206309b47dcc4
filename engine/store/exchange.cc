// NodeStore: what the member protocol keeps — restricted fields'
// commitments, proposal envelopes and the signed sets that covered them,
// members' attestations, and the outbox.
#include "engine/store/node_store.h"
#include "engine/store/rows.h"

namespace treaty::engine {

Result<std::optional<std::string>> WriteTxn::Commitment(const std::string& instance, const std::string& field,
                                                        const std::string& content_hex) {
  Stmt s = db().Prepare("SELECT commitment FROM commitments WHERE instance = ? AND field = ? AND content = ?");
  s.Bind(1, instance).Bind(2, field).Bind(3, content_hex);
  if (s.Step()) return std::optional<std::string>(s.Text(0));
  TREATY_RETURN_IF_ERROR(s.status());
  return std::optional<std::string>();
}

Status WriteTxn::PutCommitment(const std::string& instance, const std::string& field,
                               const std::string& commitment_hex, const std::string& content_hex) {
  Stmt put = db().Prepare(
      "INSERT INTO commitments (instance, field, commitment, content) VALUES (?, ?, ?, ?) ON CONFLICT(instance, "
      "field) DO UPDATE SET commitment = excluded.commitment, content = excluded.content WHERE commitment != "
      "excluded.commitment OR content != excluded.content");
  put.Bind(1, instance).Bind(2, field).Bind(3, commitment_hex).Bind(4, content_hex);
  return put.Run();
}

Status WriteTxn::PutEnvelope(const std::string& pin_hex, const std::string& proposal, const std::string& body,
                             std::optional<int64_t> set_id) {
  Stmt keep = db().Prepare("INSERT OR REPLACE INTO envelopes (pin, proposal, body, set_id) VALUES (?, ?, ?, ?)");
  keep.Bind(1, pin_hex).Bind(2, proposal).Bind(3, body);
  if (set_id) keep.Bind(4, *set_id);
  else keep.BindNull(4);
  return keep.Run();
}

Result<std::optional<WriteTxn::KeptEnvelope>> WriteTxn::Envelope(const std::string& pin_hex) {
  Stmt kept = db().Prepare(
      "SELECT e.proposal, e.body, s.body FROM envelopes e LEFT JOIN proposal_sets s ON s.id = e.set_id WHERE e.pin = "
      "?");
  kept.Bind(1, pin_hex);
  TREATY_ASSIGN_OR_RETURN(bool found, store::HasRow(kept));
  if (!found) return std::optional<KeptEnvelope>();
  return std::optional<KeptEnvelope>(KeptEnvelope{kept.Text(0), kept.Text(1), kept.Text(2)});
}

Result<int64_t> WriteTxn::InsertProposalSet(const std::string& author, const std::string& body) {
  Stmt s = db().Prepare("INSERT INTO proposal_sets (author, body) VALUES (?, ?) RETURNING id");
  s.Bind(1, author).Bind(2, body);
  TREATY_RETURN_IF_ERROR(store::ExpectRow(s, "set insert"));
  int64_t id = s.Int(0);
  s.Reset();
  return id;
}

Result<int64_t> WriteTxn::InsertAttestationSet(const std::string& party, const std::string& body) {
  Stmt s = db().Prepare("INSERT INTO attestation_sets (party, body) VALUES (?, ?) RETURNING id");
  s.Bind(1, party).Bind(2, body);
  TREATY_RETURN_IF_ERROR(store::ExpectRow(s, "set insert"));
  int64_t id = s.Int(0);
  s.Reset();
  return id;
}

namespace {

std::string CodeText(RejectCode c) { return c == RejectCode::kNone ? "" : RejectCodeName(c); }

Result<std::vector<AttestationRow>> ReadAttestations(Stmt& s) {
  std::vector<AttestationRow> out;
  while (s.Step()) {
    AttestationRow a;
    a.instance = s.Text(0);
    a.seq = s.Int(1);
    a.party = s.Text(2);
    auto outcome = OutcomeFromName(s.Text(3));
    auto code = RejectCodeFromName(s.Text(4).empty() ? "ACCEPTED" : s.Text(4));
    if (!outcome || !code) return store::Damaged("attestations", "outcome of " + a.instance + " by " + a.party);
    a.attested = AttestedOutcome{*outcome, *code, s.Text(5), s.Text(6)};
    a.signature = s.Text(7);
    out.push_back(std::move(a));
  }
  TREATY_RETURN_IF_ERROR(s.status());
  return out;
}

constexpr const char* kAttestationCols = "instance, seq, party, outcome, reject_code, reason, state_hash, signature";

}  // namespace

Status WriteTxn::InsertAttestation(const AttestationRow& a) {
  Stmt ins = db().Prepare(
      "INSERT OR IGNORE INTO attestations (instance, seq, party, outcome, reject_code, reason, state_hash, signature) "
      "VALUES (?, ?, ?, ?, ?, ?, ?, ?)");
  ins.Bind(1, a.instance).Bind(2, a.seq).Bind(3, a.party).Bind(4, OutcomeName(a.attested.outcome));
  ins.Bind(5, CodeText(a.attested.reject_code)).Bind(6, a.attested.reason).Bind(7, a.attested.state_hash);
  ins.Bind(8, a.signature);
  return ins.Run();
}

Result<std::vector<AttestationRow>> WriteTxn::AttestationsAt(const std::string& instance, int64_t seq) {
  static const std::string sql =
      std::string("SELECT ") + kAttestationCols + " FROM attestations WHERE instance = ? AND seq = ? ORDER BY party";
  Stmt s = db().Prepare(sql.c_str());
  s.Bind(1, instance).Bind(2, seq);
  return ReadAttestations(s);
}

Result<std::vector<AttestationRow>> NodeStore::AttestationsAt(const std::string& instance, int64_t seq) {
  static const std::string sql =
      std::string("SELECT ") + kAttestationCols + " FROM attestations WHERE instance = ? AND seq = ? ORDER BY party";
  ReaderLease lease = LeaseReader();
  Db& read_db = lease.db();
  Stmt s = read_db.Prepare(sql.c_str());
  s.Bind(1, instance).Bind(2, seq);
  return ReadAttestations(s);
}

Result<std::vector<AttestationRow>> NodeStore::Attestations(const std::string& instance) {
  static const std::string sql =
      std::string("SELECT ") + kAttestationCols + " FROM attestations WHERE instance = ? ORDER BY seq, party";
  ReaderLease lease = LeaseReader();
  Db& read_db = lease.db();
  Stmt s = read_db.Prepare(sql.c_str());
  s.Bind(1, instance);
  return ReadAttestations(s);
}

Status WriteTxn::EnqueueOutbox(const OutboxMessage& m, int64_t now_ms, int64_t resend_ms) {
  Stmt s = db().Prepare(
      "INSERT OR IGNORE INTO outbox (id, peer, kind, body, attempts, next_ms, created_ms, seq) VALUES (?, ?, ?, ?, 1, "
      "?, ?, (SELECT IFNULL(MAX(seq), 0) + 1 FROM outbox))");
  s.Bind(1, m.id).Bind(2, m.peer).Bind(3, m.kind).Bind(4, m.body).Bind(5, resend_ms).Bind(6, now_ms);
  return s.Run();
}

Result<std::vector<WriteTxn::DueMessage>> WriteTxn::TakeDueOutbox(int64_t now_ms, size_t max) {
  std::vector<DueMessage> due;
  {
    Stmt s = db().Prepare(
        "SELECT id, peer, kind, body, attempts FROM outbox WHERE next_ms <= ? ORDER BY next_ms, seq LIMIT ?");
    s.Bind(1, now_ms).Bind(2, static_cast<int64_t>(max));
    while (s.Step()) due.push_back({{s.Text(0), s.Text(1), s.Text(2), s.Text(3)}, s.Int(4)});
    TREATY_RETURN_IF_ERROR(s.status());
  }
  for (const auto& d : due) {
    Stmt u = db().Prepare("UPDATE outbox SET attempts = attempts + 1, next_ms = ? WHERE id = ?");
    u.Bind(1, now_ms + OutboxBackoffMs(d.attempts)).Bind(2, d.message.id);
    TREATY_RETURN_IF_ERROR(u.Run());
  }
  return due;
}

Result<std::optional<int64_t>> WriteTxn::NextOutboxDue() {
  Stmt n = db().Prepare("SELECT MIN(next_ms) FROM outbox");
  TREATY_RETURN_IF_ERROR(store::ExpectRow(n, "outbox query"));
  if (n.IsNull(0)) return std::optional<int64_t>();
  return std::optional<int64_t>(n.Int(0));
}

Status WriteTxn::DeleteOutbox(const std::vector<std::string>& ids) {
  for (const auto& id : ids) {
    Stmt d = db().Prepare("DELETE FROM outbox WHERE id = ?");
    d.Bind(1, id);
    TREATY_RETURN_IF_ERROR(d.Run());
  }
  return Status::Ok();
}

Result<int64_t> NodeStore::OutboxSize() {
  ReaderLease lease = LeaseReader();
  Db& read_db = lease.db();
  Stmt s = read_db.Prepare("SELECT COUNT(*) FROM outbox");
  TREATY_RETURN_IF_ERROR(store::ExpectRow(s, "count"));
  return s.Int(0);
}

}  // namespace treaty::engine
