// treaty: the command-line client of a Treaty node. It speaks only the
// public gRPC API (proto/treaty/v1).
//
//   treaty [--server ADDR] [--json] [--tls-ca FILE] [--tls-cert FILE --tls-key FILE] [--tls-server-name NAME]
//          [--token-file FILE] COMMAND ...   (docs/security.md; $TREATY_TOKEN: the token, $TREATY_TLS_CA: the CA)
//     start DEFINITION [--id ID] [--input JSON] [--version N] [--role ROLE=PARTY]... [--key K] [--no-wait]
//           [--wait here|all] [--timeout MS]
//     step INSTANCE STEP [--input JSON] [--key K] [--no-wait] [--wait here|all] [--timeout MS]
//   --wait all returns once every member of the instance attested the step
//   (or at the timeout, naming those still missing); here (the default)
//   once this node applied it.
//     get INSTANCE
//     list [--definition D] [--state S] [--where EXPR] [--limit N] [--order created|updated|id[ desc]]
//     history INSTANCE
//     watch [--definition D] [--instance I] [--type T]... [--from OFFSET] [--subscription NAME]
//     definitions
//     status
//     tasks [--queue Q] [--assignee A] [--state open|claimed|completed|cancelled]... [--group G] [--user U]
//           [--definition D] [--instance I] [--order created|due|priority[ desc]] [--limit N]
//     task show|claim|unclaim|assign|update|complete ID [--assignee A] [--override] [--input JSON]
//           [--priority N] [--due MS] [--follow-up MS] [--groups G,..] [--users U,..] [--wait here|all]
//     jobs [--type T] [--state activatable|activated|failed|incident|completed|error_thrown|cancelled]...
//          [--instance I] [--definition D] [--limit N]
//     job show|activate|complete|fail|throw|retries|timeout ...   (jobs.cc)
//     incidents [--type T] [--instance I] [--limit N]
//     incident resolve ID
//
// Human-readable output by default, one JSON object per line with --json.
// Exit code 0 on success; on an error, the server's status and message on
// stderr and exit code 1 (2 for usage errors).
#include <grpcpp/grpcpp.h>

#include <cctype>
#include <cstdio>
#include <iostream>
#include <map>
#include <string>
#include <vector>

#include "adapters/common/client_flags.h"
#include "cli_support.h"
#include "jobs.h"
#include "treaty/v1/treaty.grpc.pb.h"

using treaty::cli::Args;
using treaty::cli::Fail;
using treaty::cli::g_json;
using treaty::cli::Join;
using treaty::cli::OutcomeName;
using treaty::cli::Pad;
using treaty::cli::Paged;
using treaty::cli::PrintAttestation;
using treaty::cli::ToJson;
using treaty::cli::Usage;

namespace {

namespace pb = ::treaty::v1;

constexpr const char* kUsage =
    "usage: treaty [--server ADDR] [--json] [--tls-ca FILE] [--tls-cert FILE --tls-key FILE]\n"
    "              [--tls-server-name NAME] [--token-file FILE] COMMAND\n"
    "  (--tls-ca: TLS, the node's certificate checked against FILE; --tls-cert/--tls-key: a client certificate;\n"
    "   --token-file or $TREATY_TOKEN: a bearer token; $TREATY_TLS_CA: the default --tls-ca;\n"
    "   $TREATY_SERVER: the default --server)\n"
    "  start DEFINITION [--id ID] [--input JSON] [--version N] [--role ROLE=PARTY]... [--key K] [--no-wait]\n"
    "        [--wait here|all] [--timeout MS]\n"
    "  step INSTANCE STEP [--input JSON] [--key K] [--no-wait] [--wait here|all] [--timeout MS]\n"
    "  get INSTANCE\n"
    "  list [--definition D] [--state S] [--where EXPR] [--limit N] [--order FIELD[ desc]]\n"
    "  history INSTANCE\n"
    "  watch [--definition D] [--instance I] [--type T]... [--from OFFSET] [--subscription NAME]\n"
    "  definitions\n"
    "  status\n"
    "  tasks [--queue Q] [--assignee A] [--state open|claimed|completed|cancelled]... [--group G] [--user U]\n"
    "        [--definition D] [--instance I] [--order created|due|priority[ desc]] [--limit N]\n"
    "  task show ID\n"
    "  task claim ID [--assignee A] [--override]   (no --assignee: the token's user)\n"
    "  task unclaim ID\n"
    "  task assign ID --assignee A          (an empty assignee unassigns)\n"
    "  task update ID [--priority N] [--due MS|none] [--follow-up MS|none] [--groups G,..] [--users U,..]\n"
    "  task complete ID [--input JSON] [--assignee A] [--wait here|all] [--timeout MS]\n"
    "  jobs [--type T] [--state activatable|activated|failed|incident|completed|error_thrown|cancelled]...\n"
    "       [--instance I] [--definition D] [--limit N]\n"
    "  job show KEY\n"
    "  job activate --type T --worker W [--max N] [--lease MS] [--wait MS]   (--wait: long poll)\n"
    "  job complete KEY [--output JSON] [--wait-all] [--timeout MS]\n"
    "  job fail KEY --retries N [--message M] [--backoff MS]   (N: retries left; 0 raises an incident)\n"
    "  job throw KEY --code C [--message M] [--variables JSON] [--wait-all] [--timeout MS]\n"
    "  job retries KEY N\n"
    "  job timeout KEY MS                    (a new lease of MS from now)\n"
    "  incidents [--type T] [--instance I] [--limit N]\n"
    "  incident resolve ID\n";

}  // namespace

int treaty::cli::Usage(const std::string& why) {
  if (!why.empty()) std::cerr << "treaty: " << why << "\n";
  std::cerr << kUsage;
  return 2;
}

namespace {

void PrintInstance(const pb::Instance& i) {
  if (g_json) {
    std::cout << ToJson(i) << "\n";
    return;
  }
  std::cout << "instance    " << i.instance_id() << "\n"
            << "definition  " << i.definition() << " v" << i.version() << " (" << i.definition_hash().substr(0, 16)
            << ")\n"
            << "states      " << Join(i.states()) << (i.final() ? "  (final)" : "") << "\n"
            << "data        " << i.data_json() << "\n"
            << "position    " << i.position() << " steps, ledger height " << i.ledger_height() << "\n"
            << "state hash  " << i.state_hash() << "\n";
  std::cout << "roles      ";
  for (const auto& r : i.roles()) std::cout << " " << r.role() << "=" << r.party();
  std::cout << "\n";
}

// --wait here|all and --timeout MS; false (after a usage message) on a bad value.
template <typename Req>
bool SetWait(const Args& a, Req* req, int* code) {
  std::string wait = a.Get("--wait", "here");
  if (wait == "all") {
    req->set_wait_for(pb::WAIT_ATTESTED_BY_ALL);
  } else if (wait != "here") {
    *code = Usage("--wait takes here or all, not '" + wait + "'");
    return false;
  }
  req->set_wait_timeout_ms(static_cast<uint32_t>(std::stoul(a.Get("--timeout", "0"))));
  return true;
}

int Start(pb::Processes::Stub* p, const Args& a) {
  if (a.positional.size() != 1) return Usage("start needs DEFINITION");
  pb::StartProcessRequest req;
  req.set_definition(a.positional[0]);
  req.set_instance_id(a.Get("--id"));
  req.set_input_json(a.Get("--input"));
  req.set_version(std::stoll(a.Get("--version", "0")));
  req.set_idempotency_key(a.Get("--key"));
  req.set_no_wait(a.Has("--no-wait"));
  if (int code = 0; !SetWait(a, &req, &code)) return code;
  auto range = a.opts.equal_range("--role");
  for (auto it = range.first; it != range.second; ++it) {
    auto eq = it->second.find('=');
    if (eq == std::string::npos) return Usage("--role takes ROLE=PARTY");
    auto* b = req.add_roles();
    b->set_role(it->second.substr(0, eq));
    b->set_party(it->second.substr(eq + 1));
  }
  pb::StartProcessResponse resp;
  grpc::ClientContext ctx;
  auto st = p->StartProcess(&ctx, req, &resp);
  if (!st.ok()) return Fail(st);
  if (g_json) {
    std::cout << ToJson(resp) << "\n";
  } else if (resp.outcome() == pb::CONFIRMED) {
    PrintInstance(resp.instance());
    if (resp.has_attestation()) PrintAttestation(resp.attestation());
  } else {
    std::cout << "instance " << resp.instance_id() << " proposed (" << resp.proposal_id() << "), "
              << OutcomeName(resp.outcome()) << "\n";
  }
  return 0;
}

int Step(pb::Processes::Stub* p, const Args& a) {
  if (a.positional.size() != 2) return Usage("step needs INSTANCE STEP");
  pb::TriggerStepRequest req;
  req.set_instance_id(a.positional[0]);
  req.set_step(a.positional[1]);
  req.set_input_json(a.Get("--input"));
  req.set_idempotency_key(a.Get("--key"));
  req.set_no_wait(a.Has("--no-wait"));
  if (int code = 0; !SetWait(a, &req, &code)) return code;
  pb::TriggerStepResponse resp;
  grpc::ClientContext ctx;
  auto st = p->TriggerStep(&ctx, req, &resp);
  if (!st.ok()) return Fail(st);
  if (g_json) {
    std::cout << ToJson(resp) << "\n";
  } else {
    std::cout << req.step() << " " << OutcomeName(resp.outcome());
    if (resp.outcome() == pb::CONFIRMED)
      std::cout << " at ledger height " << resp.ledger_height() << ": " << req.instance_id() << " is now "
                << Join(resp.instance().states());
    else
      std::cout << " (proposal " << resp.proposal_id() << ")";
    std::cout << "\n";
    if (resp.has_attestation()) PrintAttestation(resp.attestation());
  }
  return 0;
}

int GetCmd(pb::Processes::Stub* p, const Args& a) {
  if (a.positional.size() != 1) return Usage("get needs INSTANCE");
  pb::GetInstanceRequest req;
  req.set_instance_id(a.positional[0]);
  pb::Instance resp;
  grpc::ClientContext ctx;
  auto st = p->GetInstance(&ctx, req, &resp);
  if (!st.ok()) return Fail(st);
  PrintInstance(resp);
  return 0;
}

int List(pb::Processes::Stub* p, const Args& a) {
  pb::ListInstancesRequest req;
  req.set_definition(a.Get("--definition"));
  req.set_state(a.Get("--state"));
  req.set_where(a.Get("--where"));
  req.set_order_by(a.Get("--order"));
  int limit = std::stoi(a.Get("--limit", "1000"));
  if (!g_json)
    std::cout << Pad("INSTANCE", 24) << Pad("DEFINITION", 20) << Pad("STATES", 28) << "DATA\n";
  return Paged<pb::ListInstancesResponse>(
      &req, limit,
      [&](grpc::ClientContext* ctx, pb::ListInstancesResponse* resp) { return p->ListInstances(ctx, req, resp); },
      [](const pb::ListInstancesResponse& resp) {
        for (const auto& i : resp.instances()) {
          if (g_json) {
            std::cout << ToJson(i) << "\n";
          } else {
            std::cout << Pad(i.instance_id(), 24) << Pad(i.definition() + " v" + std::to_string(i.version()), 20)
                      << Pad(Join(i.states()) + (i.final() ? " (final)" : ""), 28) << i.data_json() << "\n";
          }
        }
        return resp.instances_size();
      });
}

// Who attested a step; a member whose state hash differs is marked "!".
std::string Attesters(const pb::HistoryEntry& e) {
  std::string out;
  for (const auto& a : e.attestations()) out += (out.empty() ? "" : ",") + a.party() + (a.matches() ? "" : "!");
  return out.empty() ? "-" : out;
}

int History(pb::Processes::Stub* p, const Args& a) {
  if (a.positional.size() != 1) return Usage("history needs INSTANCE");
  pb::GetHistoryRequest req;
  req.set_instance_id(a.positional[0]);
  pb::GetHistoryResponse resp;
  grpc::ClientContext ctx;
  auto st = p->GetHistory(&ctx, req, &resp);
  if (!st.ok()) return Fail(st);
  bool attested = false;
  for (const auto& e : resp.entries()) attested = attested || e.attestations_size() > 0;
  if (!g_json) std::cout << Pad("#", 4) << Pad("STEP", 12) << Pad("BY", 10) << Pad("OUTCOME", 11) << Pad("HEIGHT", 8)
                         << Pad("STATES AFTER", 22) << (attested ? Pad("ATTESTED BY", 24) : "") << "INPUT / REASON\n";
  for (const auto& e : resp.entries()) {
    if (g_json) {
      std::cout << ToJson(e) << "\n";
      continue;
    }
    std::cout << Pad(std::to_string(e.seq()), 4) << Pad(e.step(), 12) << Pad(e.proposer(), 10)
              << Pad(OutcomeName(e.outcome()), 11) << Pad(std::to_string(e.ledger_height()), 8)
              << Pad(Join(e.states_after()), 22) << (attested ? Pad(Attesters(e), 24) : "")
              << (e.outcome() == pb::REJECTED ? e.reject_code() + ": " + e.reason() : e.input_json()) << "\n";
  }
  return 0;
}

int Watch(pb::Events::Stub* e, const Args& a) {
  pb::SubscribeRequest req;
  req.set_definition(a.Get("--definition"));
  req.set_instance_id(a.Get("--instance"));
  req.set_subscription(a.Get("--subscription"));
  if (a.Has("--from")) {
    req.set_from_offset(std::stoull(a.Get("--from")));
  } else if (!a.Has("--subscription")) {
    req.set_from_now(true);
  }
  auto range = a.opts.equal_range("--type");
  for (auto it = range.first; it != range.second; ++it) req.add_types(it->second);
  grpc::ClientContext ctx;
  auto reader = e->Subscribe(&ctx, req);
  pb::Event ev;
  while (reader->Read(&ev)) {
    if (g_json) {
      std::cout << ToJson(ev) << std::endl;
    } else {
      std::cout << Pad(std::to_string(ev.offset()), 6) << Pad(ev.type(), 20) << Pad(ev.instance_id(), 20)
                << Pad(ev.step(), 12) << ev.payload_json() << std::endl;
    }
  }
  auto st = reader->Finish();
  return st.ok() ? 0 : Fail(st);
}

int Definitions(pb::Definitions::Stub* d) {
  pb::ListDefinitionsResponse resp;
  grpc::ClientContext ctx;
  auto st = d->ListDefinitions(&ctx, pb::ListDefinitionsRequest(), &resp);
  if (!st.ok()) return Fail(st);
  if (!g_json) std::cout << Pad("NAME", 22) << Pad("VERSION", 9) << Pad("RUNTIME", 11) << Pad("HASH", 18) << "STEPS\n";
  for (const auto& def : resp.definitions()) {
    if (g_json) {
      std::cout << ToJson(def) << "\n";
      continue;
    }
    std::cout << Pad(def.name(), 22) << Pad(std::to_string(def.version()), 9) << Pad(def.runtime(), 11)
              << Pad(def.hash().substr(0, 16), 18) << Join(def.steps()) << "\n";
  }
  return 0;
}

int StatusCmd(pb::Node::Stub* n) {
  pb::StatusResponse resp;
  grpc::ClientContext ctx;
  auto st = n->Status(&ctx, pb::StatusRequest(), &resp);
  if (!st.ok()) return Fail(st);
  if (g_json) {
    std::cout << ToJson(resp) << "\n";
    return 0;
  }
  std::cout << "party              " << resp.party() << "\n"
            << "version            " << resp.version() << "\n"
            << "ledger             " << resp.ledger() << "\n"
            << "ledger height      " << resp.ledger_height() << "\n";
  const auto& lh = resp.ledger_health();
  if (!lh.error().empty()) std::cout << "ledger problem     " << lh.error() << "\n";
  if (lh.chain_id() != 0)
    std::cout << "chain id           " << lh.chain_id() << "\n"
              << "pin contract       " << lh.contract() << "\n"
              << "account            " << lh.account() << " (balance " << lh.balance_wei() << " wei)\n"
              << "chain head         block " << lh.head_block() << "\n"
              << "last confirmed     block " << lh.confirmed_block() << " (" << lh.confirmations()
              << " confirmations)\n"
              << "pending txs        " << lh.pending_transactions() << "\n";
  std::cout << "applied height     " << resp.applied_height() << " (lag " << resp.lag() << ")\n"
            << "ledger time        " << resp.ledger_time_ms() << " ms\n"
            << "pending proposals  " << resp.pending_proposals() << "\n"
            << "pending deadlines  " << resp.pending_deadlines() << "\n"
            << "open tasks         " << resp.open_tasks() << " (" << resp.overdue_tasks() << " overdue)\n"
            << "open jobs          " << resp.open_jobs() << " (" << resp.activated_jobs() << " activated)\n"
            << "open incidents     " << resp.incidents() << "\n"
            << "blocked instances  " << (resp.blocked().empty() ? "none" : "") << "\n";
  for (const auto& b : resp.blocked())
    std::cout << "  " << b.instance_id() << " at height " << b.ledger_height() << ", pin " << b.pin().substr(0, 12)
              << ", " << b.waiting_pins() << " pin(s) waiting, for " << b.blocked_ms() << " ms\n";
  if (!resp.members().empty())
    std::cout << "members            " << Join(resp.members()) << "\n"
              << "outbox             " << resp.outbox() << " message(s) awaiting receipts\n"
              << "refused peers      " << resp.refused_connections() << " connection(s)\n";
  return 0;
}

}  // namespace

// ---- human tasks

const char* TaskStateText(pb::TaskState s) {
  switch (s) {
    case pb::TASK_OPEN: return "open";
    case pb::TASK_CLAIMED: return "claimed";
    case pb::TASK_COMPLETED: return "completed";
    case pb::TASK_CANCELLED: return "cancelled";
    default: return "?";
  }
}

std::vector<std::string> SplitNames(const std::string& s) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start <= s.size()) {
    size_t comma = s.find(',', start);
    std::string part = s.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
    if (!part.empty()) out.push_back(part);
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  return out;
}

void PrintTaskRow(const pb::Task& t) {
  if (g_json) {
    std::cout << ToJson(t) << "\n";
    return;
  }
  std::string due = t.has_due_ms() ? std::to_string(t.due_ms()) + (t.overdue() ? " (overdue)" : "") : "-";
  std::cout << Pad(t.task_id(), 36) << Pad(t.queue(), 18) << Pad(TaskStateText(t.state()), 11)
            << Pad(t.assignee().empty() ? "-" : t.assignee(), 12) << Pad(std::to_string(t.priority()), 5) << due
            << "\n";
}

void PrintTask(const pb::Task& t) {
  if (g_json) {
    std::cout << ToJson(t) << "\n";
    return;
  }
  std::cout << "task      " << t.task_id() << "\n"
            << "instance  " << t.instance_id() << " (" << t.definition() << " v" << t.version() << ")\n"
            << "step      " << t.step() << (t.step_label().empty() ? "" : " — " + t.step_label()) << "\n"
            << "queue     " << t.queue() << "\n"
            << "state     " << TaskStateText(t.state()) << (t.close_reason().empty() ? "" : ": " + t.close_reason())
            << "\n"
            << "assignee  " << (t.assignee().empty() ? "-" : t.assignee()) << "\n"
            << "priority  " << t.priority() << "\n";
  if (t.has_due_ms()) std::cout << "due       " << t.due_ms() << (t.overdue() ? " (overdue)" : "") << "\n";
  if (t.has_follow_up_ms()) std::cout << "follow-up " << t.follow_up_ms() << "\n";
  if (t.candidate_groups_size() > 0) std::cout << "groups    " << Join(t.candidate_groups()) << "\n";
  if (t.candidate_users_size() > 0) std::cout << "users     " << Join(t.candidate_users()) << "\n";
}

int Tasks(pb::Tasks::Stub* t, const Args& a) {
  pb::SearchTasksRequest req;
  req.set_queue(a.Get("--queue"));
  req.set_assignee(a.Get("--assignee"));
  req.set_candidate_group(a.Get("--group"));
  req.set_candidate_user(a.Get("--user"));
  req.set_definition(a.Get("--definition"));
  req.set_instance_id(a.Get("--instance"));
  auto range = a.opts.equal_range("--state");
  for (auto it = range.first; it != range.second; ++it) {
    pb::TaskState s;
    if (!pb::TaskState_Parse("TASK_" + [&] {
          std::string u = it->second;
          for (auto& c : u) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
          return u;
        }(), &s) || s == pb::TASK_STATE_UNSPECIFIED)
      return Usage("--state takes open, claimed, completed or cancelled, not '" + it->second + "'");
    req.add_states(s);
  }
  std::string order = a.Get("--order", "created");
  if (order.size() > 5 && order.substr(order.size() - 5) == " desc") {
    req.set_descending(true);
    order = order.substr(0, order.size() - 5);
  }
  if (order == "created") req.set_order_by(pb::TASK_ORDER_CREATED);
  else if (order == "due") req.set_order_by(pb::TASK_ORDER_DUE);
  else if (order == "priority") req.set_order_by(pb::TASK_ORDER_PRIORITY);
  else return Usage("--order takes created, due or priority (with \" desc\"), not '" + order + "'");
  int limit = std::stoi(a.Get("--limit", "1000"));
  if (!g_json)
    std::cout << Pad("TASK", 36) << Pad("QUEUE", 18) << Pad("STATE", 11) << Pad("ASSIGNEE", 12) << Pad("PRIO", 5)
              << "DUE\n";
  return Paged<pb::SearchTasksResponse>(
      &req, limit,
      [&](grpc::ClientContext* ctx, pb::SearchTasksResponse* resp) { return t->SearchTasks(ctx, req, resp); },
      [](const pb::SearchTasksResponse& resp) {
        for (const auto& task : resp.tasks()) PrintTaskRow(task);
        return resp.tasks_size();
      });
}

int TaskCmd(pb::Tasks::Stub* t, const Args& a) {
  if (a.positional.size() != 2) return Usage("task needs show|claim|unclaim|assign|update|complete ID");
  const std::string& verb = a.positional[0];
  const std::string& id = a.positional[1];
  grpc::ClientContext ctx;
  pb::Task task;
  grpc::Status st;
  if (verb == "show") {
    pb::GetTaskRequest req;
    req.set_task_id(id);
    pb::GetTaskResponse resp;
    st = t->GetTask(&ctx, req, &resp);
    if (!st.ok()) return Fail(st);
    if (g_json) {
      std::cout << ToJson(resp) << "\n";
      return 0;
    }
    PrintTask(resp.task());
    std::cout << "data      " << resp.instance().data_json() << "\n"
              << "input     " << resp.input_schema_json() << "\n";
    if (resp.form_json() != "{}") std::cout << "form      " << resp.form_json() << "\n";
    return 0;
  }
  if (verb == "claim") {
    // Without --assignee the node claims for the token's user (and refuses
    // when the caller has none: "an assignee is required").
    pb::ClaimTaskRequest req;
    req.set_task_id(id);
    req.set_assignee(a.Get("--assignee"));
    req.set_allow_override(a.Has("--override"));
    st = t->ClaimTask(&ctx, req, &task);
  } else if (verb == "unclaim") {
    pb::UnclaimTaskRequest req;
    req.set_task_id(id);
    st = t->UnclaimTask(&ctx, req, &task);
  } else if (verb == "assign") {
    if (!a.Has("--assignee")) return Usage("task assign needs --assignee NAME (empty unassigns)");
    pb::AssignTaskRequest req;
    req.set_task_id(id);
    req.set_assignee(a.Get("--assignee"));
    st = t->AssignTask(&ctx, req, &task);
  } else if (verb == "update") {
    pb::UpdateTaskRequest req;
    req.set_task_id(id);
    if (a.Has("--priority")) req.set_priority(std::stoi(a.Get("--priority")));
    if (a.Has("--due")) {
      if (a.Get("--due") == "none") req.set_clear_due(true);
      else req.set_due_ms(std::stoll(a.Get("--due")));
    }
    if (a.Has("--follow-up")) {
      if (a.Get("--follow-up") == "none") req.set_clear_follow_up(true);
      else req.set_follow_up_ms(std::stoll(a.Get("--follow-up")));
    }
    if (a.Has("--groups"))
      for (const auto& g : SplitNames(a.Get("--groups"))) req.mutable_candidate_groups()->add_names(g);
    if (a.Has("--users"))
      for (const auto& u : SplitNames(a.Get("--users"))) req.mutable_candidate_users()->add_names(u);
    st = t->UpdateTask(&ctx, req, &task);
  } else if (verb == "complete") {
    pb::CompleteTaskRequest req;
    req.set_task_id(id);
    req.set_input_json(a.Get("--input"));
    req.set_assignee(a.Get("--assignee"));
    std::string wait = a.Get("--wait", "here");
    if (wait != "here" && wait != "all") return Usage("--wait takes here or all, not '" + wait + "'");
    req.set_wait_for(wait == "all" ? pb::WAIT_ATTESTED_BY_ALL : pb::WAIT_CONFIRMED_HERE);
    if (a.Has("--timeout")) req.set_wait_timeout_ms(static_cast<uint32_t>(std::stoul(a.Get("--timeout"))));
    pb::CompleteTaskResponse resp;
    st = t->CompleteTask(&ctx, req, &resp);
    if (!st.ok()) return Fail(st);
    if (g_json) {
      std::cout << ToJson(resp) << "\n";
    } else {
      std::cout << "task " << id << " " << TaskStateText(resp.task().state()) << ": " << resp.task().step() << " "
                << OutcomeName(resp.outcome()) << " at ledger height " << resp.ledger_height() << "; "
                << resp.instance().instance_id() << " is now " << Join(resp.instance().states()) << "\n";
      if (resp.has_attestation()) PrintAttestation(resp.attestation());
    }
    return 0;
  } else {
    return Usage("task takes show, claim, unclaim, assign, update or complete, not '" + verb + "'");
  }
  if (!st.ok()) return Fail(st);
  if (g_json) {
    std::cout << ToJson(task) << "\n";
  } else {
    std::cout << "task " << task.task_id() << " " << TaskStateText(task.state())
              << (task.assignee().empty() ? "" : " by " + task.assignee()) << ", priority " << task.priority()
              << "\n";
  }
  return 0;
}

int main(int argc, char** argv) {
  std::string server = "127.0.0.1:7420";
  if (const char* env = std::getenv("TREATY_SERVER")) server = env;
  std::string command;
  Args a;
  static const std::vector<std::string> kFlags = {"--no-wait", "--json"};
  for (int i = 1; i < argc; ++i) {
    std::string s = argv[i];
    if (s == "-h" || s == "--help") {
      std::cout << kUsage;
      return 0;
    }
    if (s == "--json") {
      g_json = true;
    } else if (s == "--no-wait" || s == "--override" || s == "--wait-all") {
      a.opts.emplace(s, "");
    } else if (s.rfind("--", 0) == 0) {
      if (i + 1 >= argc) return Usage(s + " needs a value");
      if (s == "--server") {
        server = argv[++i];
      } else {
        a.opts.emplace(s, argv[++i]);
      }
    } else if (command.empty()) {
      command = s;
    } else {
      a.positional.push_back(s);
    }
  }
  if (command.empty()) return Usage("");
  treaty::adapters::ClientSecurityFlags security;
  for (auto it = a.opts.begin(); it != a.opts.end();) {
    if (!treaty::adapters::ClientSecurityFlags::Is(it->first)) {
      ++it;
      continue;
    }
    security.Take(it->first, it->second);
    it = a.opts.erase(it);
  }
  std::string err;
  if (!security.Finish(&err)) return Usage(err);
  auto ch = treaty::adapters::MakeClientChannel(server, security.security, &err);
  if (!ch) return Usage(err);
  try {
    if (command == "start") return Start(pb::Processes::NewStub(ch).get(), a);
    if (command == "step") return Step(pb::Processes::NewStub(ch).get(), a);
    if (command == "get") return GetCmd(pb::Processes::NewStub(ch).get(), a);
    if (command == "list") return List(pb::Processes::NewStub(ch).get(), a);
    if (command == "history") return History(pb::Processes::NewStub(ch).get(), a);
    if (command == "watch") return Watch(pb::Events::NewStub(ch).get(), a);
    if (command == "definitions") return Definitions(pb::Definitions::NewStub(ch).get());
    if (command == "status") return StatusCmd(pb::Node::NewStub(ch).get());
    if (command == "tasks") return Tasks(pb::Tasks::NewStub(ch).get(), a);
    if (command == "task") return TaskCmd(pb::Tasks::NewStub(ch).get(), a);
    if (command == "jobs") return treaty::cli::JobsCommand(pb::Jobs::NewStub(ch).get(), a);
    if (command == "job") return treaty::cli::JobCommand(pb::Jobs::NewStub(ch).get(), a);
    if (command == "incidents") return treaty::cli::IncidentsCommand(pb::Jobs::NewStub(ch).get(), a);
    if (command == "incident") return treaty::cli::IncidentCommand(pb::Jobs::NewStub(ch).get(), a);
  } catch (const std::exception& e) {  // std::stoi on a bad number
    return Usage(std::string("bad value: ") + e.what());
  }
  return Usage("unknown command '" + command + "'");
}
