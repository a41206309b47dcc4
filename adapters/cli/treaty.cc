// treaty: the command-line client of a Treaty node. It speaks only the
// public gRPC API (proto/treaty/v1).
//
//   treaty [--server ADDR] [--json] COMMAND ...
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
//
// Human-readable output by default, one JSON object per line with --json.
// Exit code 0 on success; on an error, the server's status and message on
// stderr and exit code 1 (2 for usage errors).
#include <google/protobuf/util/json_util.h>
#include <grpcpp/grpcpp.h>

#include <cstdio>
#include <iostream>
#include <map>
#include <string>
#include <vector>

#include "treaty/v1/treaty.grpc.pb.h"

namespace {

namespace pb = ::treaty::v1;

constexpr const char* kUsage =
    "usage: treaty [--server ADDR] [--json] COMMAND\n"
    "  start DEFINITION [--id ID] [--input JSON] [--version N] [--role ROLE=PARTY]... [--key K] [--no-wait]\n"
    "        [--wait here|all] [--timeout MS]\n"
    "  step INSTANCE STEP [--input JSON] [--key K] [--no-wait] [--wait here|all] [--timeout MS]\n"
    "  get INSTANCE\n"
    "  list [--definition D] [--state S] [--where EXPR] [--limit N] [--order FIELD[ desc]]\n"
    "  history INSTANCE\n"
    "  watch [--definition D] [--instance I] [--type T]... [--from OFFSET] [--subscription NAME]\n"
    "  definitions\n"
    "  status\n";

struct Args {
  std::vector<std::string> positional;
  std::multimap<std::string, std::string> opts;
  std::string Get(const std::string& k, const std::string& def = "") const {
    auto it = opts.find(k);
    return it == opts.end() ? def : it->second;
  }
  bool Has(const std::string& k) const { return opts.count(k) > 0; }
};

bool g_json = false;

int Usage(const std::string& why) {
  if (!why.empty()) std::cerr << "treaty: " << why << "\n";
  std::cerr << kUsage;
  return 2;
}

int Fail(const grpc::Status& st) {
  static const char* kNames[] = {"OK", "CANCELLED", "UNKNOWN", "INVALID_ARGUMENT", "DEADLINE_EXCEEDED", "NOT_FOUND",
                                 "ALREADY_EXISTS", "PERMISSION_DENIED", "RESOURCE_EXHAUSTED", "FAILED_PRECONDITION",
                                 "ABORTED", "OUT_OF_RANGE", "UNIMPLEMENTED", "INTERNAL", "UNAVAILABLE", "DATA_LOSS",
                                 "UNAUTHENTICATED"};
  int c = st.error_code();
  std::cerr << "treaty: " << (c >= 0 && c <= 16 ? kNames[c] : "ERROR") << ": " << st.error_message() << "\n";
  return 1;
}

std::string ToJson(const google::protobuf::Message& m) {
  std::string out;
  google::protobuf::util::JsonPrintOptions o;
  o.preserve_proto_field_names = true;
  (void)google::protobuf::util::MessageToJsonString(m, &out, o);
  return out;
}

std::string Join(const google::protobuf::RepeatedPtrField<std::string>& v, const char* sep = ", ") {
  std::string out;
  for (const auto& s : v) out += (out.empty() ? "" : sep) + s;
  return out;
}

const char* OutcomeName(pb::Outcome o) {
  switch (o) {
    case pb::PENDING: return "PENDING";
    case pb::CONFIRMED: return "CONFIRMED";
    case pb::REJECTED: return "REJECTED";
    default: return "?";
  }
}

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

std::string Pad(std::string s, size_t n) {
  if (s.size() < n) s.resize(n, ' ');
  return s;
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

// Who attested, when the call waited for every member.
void PrintAttestation(const pb::AttestationStatus& at) {
  auto join = [](const auto& v) {
    std::string s;
    for (const auto& x : v) s += (s.empty() ? "" : ", ") + x;
    return s;
  };
  if (at.attested_by_size() > 0) std::cout << "attested by " << join(at.attested_by()) << "\n";
  if (at.missing_size() > 0) std::cout << "not attested within the timeout by " << join(at.missing()) << "\n";
  if (at.mismatched_size() > 0) std::cout << "ANOTHER OUTCOME attested by " << join(at.mismatched()) << "\n";
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
  int shown = 0;
  std::string token;
  do {
    req.set_page_size(std::min(limit - shown, 500));
    req.set_page_token(token);
    pb::ListInstancesResponse resp;
    grpc::ClientContext ctx;
    auto st = p->ListInstances(&ctx, req, &resp);
    if (!st.ok()) return Fail(st);
    for (const auto& i : resp.instances()) {
      if (g_json) {
        std::cout << ToJson(i) << "\n";
      } else {
        std::cout << Pad(i.instance_id(), 24) << Pad(i.definition() + " v" + std::to_string(i.version()), 20)
                  << Pad(Join(i.states()) + (i.final() ? " (final)" : ""), 28) << i.data_json() << "\n";
      }
      ++shown;
    }
    token = resp.next_page_token();
  } while (!token.empty() && shown < limit);
  return 0;
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
            << "ledger height      " << resp.ledger_height() << "\n"
            << "applied height     " << resp.applied_height() << " (lag " << resp.lag() << ")\n"
            << "pending proposals  " << resp.pending_proposals() << "\n"
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
    } else if (s == "--no-wait") {
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
  auto ch = grpc::CreateChannel(server, grpc::InsecureChannelCredentials());
  try {
    if (command == "start") return Start(pb::Processes::NewStub(ch).get(), a);
    if (command == "step") return Step(pb::Processes::NewStub(ch).get(), a);
    if (command == "get") return GetCmd(pb::Processes::NewStub(ch).get(), a);
    if (command == "list") return List(pb::Processes::NewStub(ch).get(), a);
    if (command == "history") return History(pb::Processes::NewStub(ch).get(), a);
    if (command == "watch") return Watch(pb::Events::NewStub(ch).get(), a);
    if (command == "definitions") return Definitions(pb::Definitions::NewStub(ch).get());
    if (command == "status") return StatusCmd(pb::Node::NewStub(ch).get());
  } catch (const std::exception& e) {  // std::stoi on a bad number
    return Usage(std::string("bad value: ") + e.what());
  }
  return Usage("unknown command '" + command + "'");
}
