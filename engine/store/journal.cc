// NodeStore: the journal, one append-only log of everything applied and
// everything that happened. A row is either a history entry (hseq set: a
// start or a step applied to an instance, with its whole outcome) or an
// event only (a rejected start, an instance's completion, node events such
// as a blocked instance or a refused message). Its sequence number is the
// event offset that subscribers acknowledge. One row per applied step
// serves the history, the event stream and the proposal's outcome, so a
// step writes one row, appended, instead of one in each of three tables.
#include <nlohmann/json.hpp>

#include "engine/store/node_store.h"
#include "engine/store/rows.h"

namespace treaty::engine {

using json = nlohmann::json;
using store::Damaged;

namespace {

Result<AttestedOutcome> ReadOutcome(Stmt& s, int col, const std::string& where) {
  AttestedOutcome o;
  auto outcome = OutcomeFromName(s.Text(col));
  if (!outcome) return Damaged("journal", "outcome '" + s.Text(col) + "' of " + where);
  o.outcome = *outcome;
  auto code = RejectCodeFromName(s.Text(col + 1).empty() ? "ACCEPTED" : s.Text(col + 1));
  if (!code) return Damaged("journal", "reject code '" + s.Text(col + 1) + "' of " + where);
  o.reject_code = *code;
  o.reason = s.Text(col + 2);
  o.state_hash = s.Text(col + 3);
  return o;
}

std::string CodeText(RejectCode c) { return c == RejectCode::kNone ? "" : RejectCodeName(c); }

}  // namespace

Result<int64_t> WriteTxn::AppendHistory(const InstanceRow& inst, const HistoryRow& h, const std::string& event_type,
                                        const std::string& payload_json) {
  Stmt s = db().Prepare(
      "INSERT INTO journal (type, instance, instance_no, hseq, proposal, step, proposer, nonce, input, outcome, "
      "reject_code, reason, height, proposed_ms, time_ms, states, state_hash, payload) VALUES (?1, ?2, ?3, "
      "(SELECT IFNULL(MAX(hseq), 0) + 1 FROM journal WHERE instance_no = ?3 AND hseq IS NOT NULL), ?4, ?5, ?6, ?7, "
      "?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17) RETURNING hseq");
  s.Bind(1, event_type).Bind(2, inst.id).Bind(3, inst.no).Bind(4, h.proposal).Bind(5, h.step).Bind(6, h.proposer);
  s.Bind(7, h.nonce).Bind(8, h.input_json).Bind(9, OutcomeName(h.outcome.outcome));
  s.Bind(10, CodeText(h.outcome.reject_code)).Bind(11, h.outcome.reason).Bind(12, h.height);
  s.Bind(13, h.proposed_ms).Bind(14, h.applied_ms).Bind(15, h.states_json).Bind(16, h.outcome.state_hash);
  if (payload_json.empty()) s.BindNull(17);
  else s.Bind(17, payload_json);
  TREATY_RETURN_IF_ERROR(store::ExpectRow(s, "history insert"));
  int64_t seq = s.Int(0);
  s.Reset();  // completes the insert
  return seq;
}

Status WriteTxn::AppendUnattached(const ProposalRow& p, const std::string& event_type, const std::string& definition,
                                  int64_t height, int64_t time_ms) {
  Stmt s = db().Prepare(
      "INSERT INTO journal (type, instance, proposal, step, proposer, nonce, input, outcome, reject_code, reason, "
      "height, proposed_ms, time_ms, definition, payload) VALUES (?, ?, ?, ?, ?, ?, ?, 'REJECTED', ?, ?, ?, ?, ?, "
      "NULLIF(?, ''), ?)");
  s.Bind(1, event_type).Bind(2, p.instance).Bind(3, p.id).Bind(4, p.step).Bind(5, p.author).Bind(6, p.nonce);
  s.Bind(7, p.input_json).Bind(8, CodeText(p.reject_code)).Bind(9, p.reason).Bind(10, height);
  s.Bind(11, p.proposed_ms).Bind(12, time_ms).Bind(13, definition);
  json payload = {{"reason", p.reason}, {"code", CodeText(p.reject_code)}};
  if (p.kind == ProposalKind::kStep) payload["proposal"] = p.id;
  s.Bind(14, payload.dump());
  return s.Run();
}

Status WriteTxn::AppendEvent(const EventRow& e) {
  Stmt s = db().Prepare(
      "INSERT INTO journal (type, instance, instance_no, step, height, time_ms, payload, definition) VALUES (?1, ?2, "
      "(SELECT no FROM instances WHERE id = ?2), ?3, ?4, ?5, ?6, NULLIF(?7, ''))");
  s.Bind(1, e.type).Bind(2, e.instance).Bind(3, e.step).Bind(4, e.height).Bind(5, e.time_ms);
  s.Bind(6, e.payload_json).Bind(7, e.definition);
  return s.Run();
}

Result<std::optional<AttestedOutcome>> WriteTxn::HistoryOutcomeAt(const std::string& instance, int64_t seq) {
  Stmt s = db().Prepare(
      "SELECT outcome, reject_code, reason, state_hash FROM journal WHERE instance_no = (SELECT no FROM instances "
      "WHERE id = ?) AND hseq = ?");
  s.Bind(1, instance).Bind(2, seq);
  TREATY_ASSIGN_OR_RETURN(bool found, store::HasRow(s));
  if (!found) return std::optional<AttestedOutcome>();
  TREATY_ASSIGN_OR_RETURN(AttestedOutcome o, ReadOutcome(s, 0, instance + " #" + std::to_string(seq)));
  return std::optional<AttestedOutcome>(std::move(o));
}

Result<std::optional<int64_t>> WriteTxn::LastNonce(const std::string& instance, const std::string& author) {
  Stmt s = db().Prepare(
      "SELECT MAX(n) FROM (SELECT nonce AS n FROM journal WHERE instance_no = (SELECT no FROM instances WHERE id = "
      "?1) AND hseq IS NOT NULL AND proposer = ?2 UNION ALL SELECT nonce FROM proposals WHERE instance = ?1 AND "
      "author = ?2 AND nonce >= 0)");
  s.Bind(1, instance).Bind(2, author);
  TREATY_RETURN_IF_ERROR(store::ExpectRow(s, "nonce query"));
  if (s.IsNull(0)) return std::optional<int64_t>();
  return std::optional<int64_t>(s.Int(0));
}

Result<std::optional<std::string>> WriteTxn::AppliedProposal(const std::string& instance, const std::string& author,
                                                             int64_t nonce) {
  Stmt s = db().Prepare(
      "SELECT proposal FROM journal WHERE instance_no = (SELECT no FROM instances WHERE id = ?) AND hseq IS NOT NULL "
      "AND proposer = ? AND nonce = ?");
  s.Bind(1, instance).Bind(2, author).Bind(3, nonce);
  TREATY_ASSIGN_OR_RETURN(bool found, store::HasRow(s));
  if (!found) return std::optional<std::string>();
  return std::optional<std::string>(s.Text(0));
}

Result<bool> WriteTxn::ProposalIdUsed(const std::string& id) {
  Stmt s = db().Prepare(
      "SELECT EXISTS (SELECT 1 FROM proposals WHERE id = ?1) OR EXISTS (SELECT 1 FROM journal WHERE proposal = ?1)");
  s.Bind(1, id);
  TREATY_RETURN_IF_ERROR(store::ExpectRow(s, "id query"));
  return s.Int(0) != 0;
}

Result<std::vector<HistoryRow>> NodeStore::History(const std::string& instance) {
  ReaderLease lease = LeaseReader();
  Db& read_db = lease.db();
  Stmt s = read_db.Prepare(
      "SELECT hseq, proposal, step, proposer, input, height, proposed_ms, time_ms, states, nonce, outcome, "
      "reject_code, reason, state_hash FROM journal WHERE instance_no = (SELECT no FROM instances WHERE id = ?) AND "
      "hseq IS NOT NULL ORDER BY hseq");
  s.Bind(1, instance);
  std::vector<HistoryRow> out;
  while (s.Step()) {
    HistoryRow h;
    h.seq = s.Int(0);
    h.proposal = s.Text(1);
    h.step = s.Text(2);
    h.proposer = s.Text(3);
    h.input_json = s.Text(4);
    h.height = s.Int(5);
    h.proposed_ms = s.Int(6);
    h.applied_ms = s.Int(7);
    h.states_json = s.Text(8);
    h.nonce = s.Int(9);
    TREATY_ASSIGN_OR_RETURN(h.outcome, ReadOutcome(s, 10, instance + " #" + std::to_string(h.seq)));
    out.push_back(std::move(h));
  }
  TREATY_RETURN_IF_ERROR(s.status());
  return out;
}

Result<std::optional<NodeStore::AppliedEntry>> NodeStore::HistoryEntryOf(const std::string& instance,
                                                                         const std::string& proposal) {
  ReaderLease lease = LeaseReader();
  Db& read_db = lease.db();
  Stmt s = read_db.Prepare(
      "SELECT j.hseq, i.roles, j.outcome, j.reject_code, j.reason, j.state_hash FROM journal j JOIN instances i ON "
      "i.no = j.instance_no WHERE j.proposal = ? AND j.instance = ? AND j.hseq IS NOT NULL");
  s.Bind(1, proposal).Bind(2, instance);
  TREATY_ASSIGN_OR_RETURN(bool found, store::HasRow(s));
  if (!found) return std::optional<AppliedEntry>();
  AppliedEntry e;
  e.seq = s.Int(0);
  auto roles = RolesFromJson(s.Text(1));
  if (!roles.ok()) return Damaged("instances", "roles of " + instance + ": " + roles.status().message());
  e.roles = std::move(roles).value();
  TREATY_ASSIGN_OR_RETURN(e.outcome, ReadOutcome(s, 2, instance + " #" + std::to_string(e.seq)));
  return std::optional<AppliedEntry>(std::move(e));
}

Result<std::vector<EventRow>> NodeStore::Events(int64_t after, size_t max) {
  ReaderLease lease = LeaseReader();
  Db& read_db = lease.db();
  Stmt s = read_db.Prepare(
      "SELECT j.seq, j.type, j.instance, COALESCE(j.definition, i.definition, ''), j.step, j.payload, j.time_ms, "
      "j.height, j.proposal, j.states, j.reject_code, j.reason FROM journal j LEFT JOIN instances i ON i.no = "
      "j.instance_no WHERE j.seq > ? ORDER BY j.seq LIMIT ?");
  s.Bind(1, after).Bind(2, static_cast<int64_t>(max));
  std::vector<EventRow> out;
  while (s.Step()) {
    EventRow e;
    e.offset = s.Int(0);
    e.type = s.Text(1);
    e.instance = s.Text(2);
    e.definition = s.Text(3);
    e.step = s.Text(4);
    e.time_ms = s.Int(6);
    e.height = s.Int(7);
    if (!s.IsNull(5)) {
      e.payload_json = s.Text(5);
    } else if (e.type == "step_confirmed") {
      // A step's event is its history entry: the payload is made from it.
      auto states = json::parse(s.Text(9), nullptr, false);
      if (states.is_discarded()) return Damaged("journal", "states of event " + std::to_string(e.offset));
      e.payload_json = json{{"states", states}, {"proposal", s.Text(8)}}.dump();
    } else if (e.type == "step_rejected") {
      e.payload_json = json{{"code", s.Text(10)}, {"reason", s.Text(11)}, {"proposal", s.Text(8)}}.dump();
    } else {
      e.payload_json = "{}";
    }
    out.push_back(std::move(e));
  }
  TREATY_RETURN_IF_ERROR(s.status());
  return out;
}

Result<int64_t> NodeStore::LastEventOffset() {
  ReaderLease lease = LeaseReader();
  Db& read_db = lease.db();
  Stmt s = read_db.Prepare("SELECT IFNULL(MAX(seq), 0) FROM journal");
  TREATY_RETURN_IF_ERROR(store::ExpectRow(s, "offset query"));
  return s.Int(0);
}

Result<std::optional<ProposalRow>> NodeStore::GetProposal(const std::string& id) {
  ReaderLease lease = LeaseReader();
  Db& read_db = lease.db();
  {
    static const std::string sql = std::string("SELECT ") + store::kProposalCols + " FROM proposals WHERE id = ?";
    Stmt s = read_db.Prepare(sql.c_str());
    s.Bind(1, id);
    if (s.Step()) {
      TREATY_ASSIGN_OR_RETURN(ProposalRow p, store::ReadProposal(s));
      return std::optional<ProposalRow>(std::move(p));
    }
    TREATY_RETURN_IF_ERROR(s.status());
  }
  // Applied: its journal row holds what the caller is told.
  Stmt s = read_db.Prepare(
      "SELECT type, instance, step, proposer, nonce, input, height, proposed_ms, time_ms, hseq, outcome, reject_code, "
      "reason, state_hash FROM journal WHERE proposal = ?");
  s.Bind(1, id);
  TREATY_ASSIGN_OR_RETURN(bool found, store::HasRow(s));
  if (!found) return std::optional<ProposalRow>();
  ProposalRow p;
  p.id = id;
  std::string type = s.Text(0);
  p.kind = type == "instance_started" || type == "start_rejected" ? ProposalKind::kStart : ProposalKind::kStep;
  p.instance = s.Text(1);
  p.step = s.Text(2);
  p.author = s.Text(3);
  p.nonce = s.Int(4);
  p.input_json = s.Text(5);
  p.height = s.Int(6);
  p.proposed_ms = s.Int(7);
  p.applied_ms = s.Int(8);
  p.history_seq = s.IsNull(9) ? 0 : s.Int(9);
  TREATY_ASSIGN_OR_RETURN(AttestedOutcome o, ReadOutcome(s, 10, "proposal " + id));
  p.status = o.outcome == Outcome::kConfirmed ? ProposalStatus::kConfirmed : ProposalStatus::kRejected;
  p.reject_code = o.reject_code;
  p.reason = o.reason;
  return std::optional<ProposalRow>(std::move(p));
}

}  // namespace treaty::engine
