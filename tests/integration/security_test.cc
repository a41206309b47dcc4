// Who may call a node (docs/security.md), against real treatyd processes
// on loopback with certificates made by `openssl` at run time: a node
// that would serve plaintext off loopback, or plaintext unasked, refuses
// to start; a call without a credential, with an unknown, expired or
// revoked token, with an expired certificate, one from another CA or a
// revoked one is refused before any handler (nothing changes); each
// permission of the access file allows and refuses; the tokens file is
// reloaded while the node runs; a task's assignee is the token's user; a
// refusal is logged with the caller's identity; and the `treaty` CLI
// presents certificates and tokens.
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <thread>

#include "prometheus_text.h"
#include "adapters/common/client_channel.h"
#include "treaty/v1/treaty.grpc.pb.h"
#include "test_pki.h"
#include "treatyd_process.h"

namespace treaty::testing {
namespace {

namespace pb = ::treaty::v1;
using treaty::adapters::ClientSecurity;

// One node's roles all bound to it: buyer submits, the seller's `accept`
// is a human task of queue `approvals`, the bank's `check` a job of type
// `score`.
const char* kOrder = R"(process: order
version: 1
roles: [buyer, seller, bank]
states:
  draft: { initial: true }
  submitted: {}
  accepted: {}
  checked: {}
  done: { final: true }
steps:
  submit: { from: draft, to: submitted, by: buyer }
  accept:
    from: submitted
    to: accepted
    by: seller
    task: { human: { queue: approvals } }
  check:
    from: accepted
    to: checked
    by: bank
    task: { job: { type: score, retries: 1, timeout: 20s } }
  finish: { from: checked, to: done, by: buyer }
)";

const char* kAccess = R"(clients:
  alice:
    processes:
      - { definition: order, roles: [buyer] }
  clerk:
    task_queues: [approvals]
  worker:
    job_types: [score]
  auditor: { read_only: true }
  ops: { operator: true }
  mallory:
    processes:
      - { definition: order, roles: ["*"] }
revoked_certificates: []
)";

std::string Sh(const std::string& cmd) { return RunShell(cmd); }

// The node's CA and certificate (TestPki), client certificates for alice
// and mallory, an expired one for alice, and one for alice from another CA.
std::unique_ptr<TestPki> MakePki(const std::string& dir) {
  auto pki = std::make_unique<TestPki>(dir);
  // Each stops at the first failure, which pki->error() keeps.
  (void)(pki->AddCa("other-ca", "other-ca") && pki->Issue("alice", "alice") && pki->Issue("mallory", "mallory") &&
         pki->Issue("alice-expired", "alice", "ca", "-1") && pki->Issue("alice-other", "alice", "other-ca"));
  return pki;
}

class Security : public ::testing::Test {
 protected:
  void SetUp() override {
    pki_ = MakePki(dir_.path());
    ASSERT_TRUE(pki_->ok()) << pki_->error();
    std::string defs = dir_.path() + "/defs";
    ASSERT_EQ(std::system(("mkdir -p " + defs).c_str()), 0);
    std::ofstream(defs + "/order.yaml") << kOrder;
    std::string access = kAccess;
    access.replace(access.find("[]"), 2, "[\"" + pki_->Fingerprint("mallory") + "\"]");
    std::ofstream(dir_.path() + "/access.yaml") << access;
    WriteTokens({{"clerk", "clerk-secret", "", "carol"},
                 {"clerk", "clerk-service", "", ""},
                 {"worker", "worker-secret", "", ""},
                 {"auditor", "auditor-secret", "", ""},
                 {"ops", "ops-secret", "", ""},
                 {"alice", "alice-stale", "2020-01-01T00:00:00Z", ""}});
    node_ = std::make_unique<TreatydProcess>(
        dir_.path() + "/node",
        std::vector<std::string>{"--definitions", defs, "--tls-cert", pki_->Path("node.pem"), "--tls-key",
                                 pki_->Path("node.key"), "--tls-client-ca", pki_->Path("ca.pem"), "--tokens",
                                 dir_.path() + "/tokens.yaml", "--access", dir_.path() + "/access.yaml",
                                 "--metrics", "127.0.0.1:0"});
    ASSERT_TRUE(node_->Start()) << node_->Log();
  }

  // treaty_calls_refused_total with these labels, from the node's metrics.
  double Refused(const std::map<std::string, std::string>& labels) {
    int port = LoggedMetricsPort(node_->Log());
    EXPECT_NE(port, 0) << node_->Log();
    auto text = ScrapeMetrics(port);
    EXPECT_TRUE(text.has_value());
    if (!text) return -1;
    PromText prom(*text);
    EXPECT_TRUE(prom.ok()) << prom.error();
    return prom.Sum("treaty_calls_refused_total", labels);
  }

  void WriteTokens(const std::vector<TestToken>& tokens) {
    std::string yaml = TokensYaml(tokens);
    // Written whole and renamed, as an operator's tool would.
    std::ofstream(dir_.path() + "/tokens.yaml.new") << yaml;
    std::rename((dir_.path() + "/tokens.yaml.new").c_str(), (dir_.path() + "/tokens.yaml").c_str());
  }

  std::shared_ptr<grpc::Channel> Channel(ClientSecurity s) {
    if (s.tls_ca.empty()) s.tls_ca = pki_->Path("ca.pem");
    std::string err;
    auto ch = treaty::adapters::MakeClientChannel(node_->address(), s, &err);
    EXPECT_NE(ch, nullptr) << err;
    return ch;
  }
  std::shared_ptr<grpc::Channel> WithToken(const std::string& token) {
    ClientSecurity s;
    s.token = token;
    return Channel(s);
  }
  std::shared_ptr<grpc::Channel> WithCert(const std::string& name) {
    ClientSecurity s;
    s.tls_cert = pki_->Path(name + ".pem");
    s.tls_key = pki_->Path(name + ".key");
    return Channel(s);
  }

  static grpc::Status Status(const std::shared_ptr<grpc::Channel>& ch) {
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
    pb::StatusResponse resp;
    return pb::Node::NewStub(ch)->Status(&ctx, pb::StatusRequest(), &resp);
  }
  static grpc::Status Start(const std::shared_ptr<grpc::Channel>& ch, const std::string& id) {
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
    pb::StartProcessRequest req;
    req.set_definition("order");
    req.set_instance_id(id);
    pb::StartProcessResponse resp;
    return pb::Processes::NewStub(ch)->StartProcess(&ctx, req, &resp);
  }
  static grpc::Status Step(const std::shared_ptr<grpc::Channel>& ch, const std::string& id, const std::string& step) {
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
    pb::TriggerStepRequest req;
    req.set_instance_id(id);
    req.set_step(step);
    pb::TriggerStepResponse resp;
    return pb::Processes::NewStub(ch)->TriggerStep(&ctx, req, &resp);
  }
  // The instance's history as the auditor reads it.
  std::vector<std::string> History(const std::string& id) {
    grpc::ClientContext ctx;
    pb::GetHistoryRequest req;
    req.set_instance_id(id);
    pb::GetHistoryResponse resp;
    auto st = pb::Processes::NewStub(WithToken("auditor-secret"))->GetHistory(&ctx, req, &resp);
    EXPECT_TRUE(st.ok()) << st.error_message();
    std::vector<std::string> out;
    for (const auto& e : resp.entries()) out.push_back(e.step());
    return out;
  }
  bool Exists(const std::string& id) {
    grpc::ClientContext ctx;
    pb::GetInstanceRequest req;
    req.set_instance_id(id);
    pb::Instance resp;
    auto st = pb::Processes::NewStub(WithToken("ops-secret"))->GetInstance(&ctx, req, &resp);
    return st.ok();
  }
  pb::Task OpenTask(const std::string& id) {
    grpc::ClientContext ctx;
    pb::SearchTasksRequest req;
    req.set_queue("approvals");
    req.set_instance_id(id);
    pb::SearchTasksResponse resp;
    auto st = pb::Tasks::NewStub(WithToken("clerk-secret"))->SearchTasks(&ctx, req, &resp);
    EXPECT_TRUE(st.ok()) << st.error_message();
    return resp.tasks_size() > 0 ? resp.tasks(0) : pb::Task();
  }

  TempDir dir_;
  std::unique_ptr<TestPki> pki_;
  std::unique_ptr<TreatydProcess> node_;
};

TEST_F(Security, CallsWithoutAValidCredentialAreRefusedBeforeAnyHandler) {
  // No certificate, no token.
  grpc::Status st = Start(Channel({}), "o-none");
  EXPECT_EQ(st.error_code(), grpc::UNAUTHENTICATED) << st.error_message();
  EXPECT_NE(st.error_message().find("a client certificate or a bearer token"), std::string::npos) << st.error_message();
  // An unknown token, an expired one.
  st = Start(WithToken("guessed"), "o-guess");
  EXPECT_EQ(st.error_code(), grpc::UNAUTHENTICATED) << st.error_message();
  st = Start(WithToken("alice-stale"), "o-stale");
  EXPECT_EQ(st.error_code(), grpc::UNAUTHENTICATED);
  EXPECT_NE(st.error_message().find("expired at 2020-01-01T00:00:00Z"), std::string::npos) << st.error_message();
  // A revoked certificate of this CA (mallory may start orders otherwise).
  st = Start(WithCert("mallory"), "o-mallory");
  EXPECT_EQ(st.error_code(), grpc::UNAUTHENTICATED);
  EXPECT_NE(st.error_message().find("is revoked"), std::string::npos) << st.error_message();
  // An expired certificate and one from another CA: the handshake fails.
  st = Start(WithCert("alice-expired"), "o-expired");
  EXPECT_FALSE(st.ok());
  EXPECT_NE(st.error_code(), grpc::PERMISSION_DENIED);
  st = Start(WithCert("alice-other"), "o-other");
  EXPECT_FALSE(st.ok());
  EXPECT_NE(st.error_code(), grpc::PERMISSION_DENIED);
  // Plaintext to a TLS node.
  st = Start(grpc::CreateChannel(node_->address(), grpc::InsecureChannelCredentials()), "o-plain");
  EXPECT_FALSE(st.ok());
  // Nothing was started by any of them.
  for (const char* id : {"o-none", "o-guess", "o-stale", "o-mallory", "o-expired", "o-other", "o-plain"})
    EXPECT_FALSE(Exists(id)) << id;
  // With alice's good certificate the same call goes through.
  st = Start(WithCert("alice"), "o-alice");
  EXPECT_TRUE(st.ok()) << st.error_message();
  EXPECT_TRUE(Exists("o-alice"));
  EXPECT_NE(node_->Log().find("refused a call to /treaty.v1.Processes/StartProcess: unknown or revoked bearer token"),
            std::string::npos)
      << node_->Log();
  // Counted: none, guessed, stale, mallory (the handshake failures and the
  // plaintext client never reach the node's code).
  EXPECT_EQ(Refused({{"method", "StartProcess"}, {"reason", "unauthenticated"}}), 4);
  EXPECT_EQ(Refused({{"reason", "permission_denied"}}), 0);
}

TEST_F(Security, TriggerIsAllowedByRoleAndARefusalChangesNothing) {
  auto alice = WithCert("alice");
  ASSERT_TRUE(Start(alice, "o1").ok());
  grpc::Status st = Step(alice, "o1", "submit");
  ASSERT_TRUE(st.ok()) << st.error_message();
  std::vector<std::string> before = History("o1");
  ASSERT_EQ(before, (std::vector<std::string>{"$start", "submit"}));
  // The seller's step: alice holds buyer only.
  st = Step(alice, "o1", "accept");
  EXPECT_EQ(st.error_code(), grpc::PERMISSION_DENIED);
  EXPECT_EQ(st.error_message(), "client 'alice' may not trigger step 'accept' of order (role seller)");
  EXPECT_EQ(History("o1"), before);
  EXPECT_NE(node_->Log().find("refused: client 'alice' may not trigger step 'accept' of order (role seller)"),
            std::string::npos)
      << node_->Log();
  // The read-only auditor and the operator may not trigger or start.
  st = Step(WithToken("auditor-secret"), "o1", "accept");
  EXPECT_EQ(st.error_code(), grpc::PERMISSION_DENIED);
  EXPECT_NE(st.error_message().find("it is read-only"), std::string::npos) << st.error_message();
  st = Start(WithToken("ops-secret"), "o-ops");
  EXPECT_EQ(st.error_code(), grpc::PERMISSION_DENIED);
  EXPECT_EQ(st.error_message(), "client 'ops' may not start order: it holds no role of order");
  EXPECT_EQ(History("o1"), before);
  EXPECT_FALSE(Exists("o-ops"));
  EXPECT_EQ(Refused({{"method", "trigger"}, {"reason", "permission_denied"}}), 2);
  EXPECT_EQ(Refused({{"method", "start"}, {"reason", "permission_denied"}}), 1);
}

TEST_F(Security, TaskQueuesAndTheAuthenticatedUserAsAssignee) {
  auto alice = WithCert("alice");
  ASSERT_TRUE(Start(alice, "o2").ok());
  ASSERT_TRUE(Step(alice, "o2", "submit").ok());
  pb::Task task;
  for (int i = 0; i < 100 && task.task_id().empty(); ++i) {
    task = OpenTask("o2");
    if (task.task_id().empty()) std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  ASSERT_FALSE(task.task_id().empty());
  auto clerk = pb::Tasks::NewStub(WithToken("clerk-secret"));
  {  // alice has no grant of the queue
    grpc::ClientContext ctx;
    pb::SearchTasksRequest req;
    req.set_queue("approvals");
    pb::SearchTasksResponse resp;
    grpc::Status st = pb::Tasks::NewStub(alice)->SearchTasks(&ctx, req, &resp);
    EXPECT_EQ(st.error_code(), grpc::PERMISSION_DENIED);
    EXPECT_EQ(st.error_message(), "client 'alice' may not read tasks of queue 'approvals'");
  }
  {  // the clerk acts for carol: claiming for dave is refused, nothing changes
    grpc::ClientContext ctx;
    pb::ClaimTaskRequest req;
    req.set_task_id(task.task_id());
    req.set_assignee("dave");
    pb::Task resp;
    grpc::Status st = clerk->ClaimTask(&ctx, req, &resp);
    EXPECT_EQ(st.error_code(), grpc::PERMISSION_DENIED);
    EXPECT_EQ(st.error_message(),
              "client 'clerk' (user 'carol') may not claim tasks for 'dave': it acts for user 'carol' (operators only)");
    EXPECT_EQ(OpenTask("o2").assignee(), "");
  }
  {  // no assignee: carol's claim
    grpc::ClientContext ctx;
    pb::ClaimTaskRequest req;
    req.set_task_id(task.task_id());
    pb::Task resp;
    grpc::Status st = clerk->ClaimTask(&ctx, req, &resp);
    ASSERT_TRUE(st.ok()) << st.error_message();
    EXPECT_EQ(resp.assignee(), "carol");
  }
  {  // alice may not complete it; the clerk (carol) may
    grpc::ClientContext ctx;
    pb::CompleteTaskRequest req;
    req.set_task_id(task.task_id());
    pb::CompleteTaskResponse resp;
    grpc::Status st = pb::Tasks::NewStub(alice)->CompleteTask(&ctx, req, &resp);
    EXPECT_EQ(st.error_code(), grpc::PERMISSION_DENIED);
    EXPECT_EQ(History("o2"), (std::vector<std::string>{"$start", "submit"}));
    grpc::ClientContext ctx2;
    st = clerk->CompleteTask(&ctx2, req, &resp);
    ASSERT_TRUE(st.ok()) << st.error_message();
    EXPECT_EQ(resp.outcome(), pb::CONFIRMED);
    EXPECT_EQ(History("o2"), (std::vector<std::string>{"$start", "submit", "accept"}));
  }
}

TEST_F(Security, JobTypesReadOnlyAndOperator) {
  auto alice = WithCert("alice");
  ASSERT_TRUE(Start(alice, "o3").ok());
  ASSERT_TRUE(Step(alice, "o3", "submit").ok());
  // The task's step through an operator-free path: the clerk completes it.
  pb::Task task;
  for (int i = 0; i < 100 && task.task_id().empty(); ++i) {
    task = OpenTask("o3");
    if (task.task_id().empty()) std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  {
    grpc::ClientContext ctx;
    pb::CompleteTaskRequest req;
    req.set_task_id(task.task_id());
    pb::CompleteTaskResponse resp;
    ASSERT_TRUE(pb::Tasks::NewStub(WithToken("clerk-secret"))->CompleteTask(&ctx, req, &resp).ok());
  }
  auto activate = [](const std::shared_ptr<grpc::Channel>& ch, const std::string& type, pb::ActivateJobsResponse* out) {
    grpc::ClientContext ctx;
    pb::ActivateJobsRequest req;
    req.set_type(type);
    req.set_worker("w1");
    req.set_max_jobs(5);
    req.set_timeout_ms(20000);
    req.set_request_timeout_ms(3000);
    return pb::Jobs::NewStub(ch)->ActivateJobs(&ctx, req, out);
  };
  pb::ActivateJobsResponse jobs;
  grpc::Status st = activate(alice, "score", &jobs);
  EXPECT_EQ(st.error_code(), grpc::PERMISSION_DENIED);
  EXPECT_EQ(st.error_message(), "client 'alice' may not activate jobs of type 'score'");
  st = activate(WithToken("worker-secret"), "payments", &jobs);
  EXPECT_EQ(st.error_code(), grpc::PERMISSION_DENIED);
  st = activate(WithToken("worker-secret"), "score", &jobs);
  ASSERT_TRUE(st.ok()) << st.error_message();
  ASSERT_EQ(jobs.jobs_size(), 1);
  {
    grpc::ClientContext ctx;
    pb::CompleteJobRequest req;
    req.set_key(jobs.jobs(0).key());
    pb::CompleteJobResponse resp;
    // The auditor reads jobs but may not complete one.
    grpc::Status refused = pb::Jobs::NewStub(WithToken("auditor-secret"))->CompleteJob(&ctx, req, &resp);
    EXPECT_EQ(refused.error_code(), grpc::PERMISSION_DENIED);
    EXPECT_EQ(History("o3"), (std::vector<std::string>{"$start", "submit", "accept"}));
    grpc::ClientContext ctx2;
    st = pb::Jobs::NewStub(WithToken("worker-secret"))->CompleteJob(&ctx2, req, &resp);
    ASSERT_TRUE(st.ok()) << st.error_message();
    EXPECT_EQ(History("o3"), (std::vector<std::string>{"$start", "submit", "accept", "check"}));
  }
  // Read-only: every instance, but not the seller's step; the operator
  // reads the status and incidents, alice does not.
  {
    grpc::ClientContext ctx;
    pb::ListInstancesRequest req;
    pb::ListInstancesResponse resp;
    EXPECT_TRUE(pb::Processes::NewStub(WithToken("auditor-secret"))->ListInstances(&ctx, req, &resp).ok());
    EXPECT_EQ(resp.instances_size(), 1);
    grpc::ClientContext ctx2;
    st = pb::Processes::NewStub(alice)->ListInstances(&ctx2, req, &resp);
    EXPECT_EQ(st.error_code(), grpc::PERMISSION_DENIED);
    grpc::ClientContext ctx3;
    req.set_definition("order");
    EXPECT_TRUE(pb::Processes::NewStub(alice)->ListInstances(&ctx3, req, &resp).ok());
  }
  EXPECT_TRUE(Status(WithToken("ops-secret")).ok());
  EXPECT_TRUE(Status(WithToken("auditor-secret")).ok());
  st = Status(alice);
  EXPECT_EQ(st.error_code(), grpc::PERMISSION_DENIED);
  EXPECT_EQ(st.error_message(), "client 'alice' may not read the node's status: it is neither operator nor read_only");
  {
    grpc::ClientContext ctx;
    pb::ListIncidentsRequest req;
    pb::ListIncidentsResponse resp;
    EXPECT_TRUE(pb::Jobs::NewStub(WithToken("ops-secret"))->ListIncidents(&ctx, req, &resp).ok());
    grpc::ClientContext ctx2;
    pb::ResolveIncidentRequest r;
    r.set_incident_id("nothing");
    pb::Incident inc;
    st = pb::Jobs::NewStub(WithToken("auditor-secret"))->ResolveIncident(&ctx2, r, &inc);
    EXPECT_EQ(st.error_code(), grpc::PERMISSION_DENIED);
    EXPECT_EQ(st.error_message(), "client 'auditor' may not resolve incidents: it is not an operator");
  }
}

TEST_F(Security, TheTokensFileIsReloadedWhileTheNodeRuns) {
  auto worker = WithToken("worker-secret");
  auto late = WithToken("late-secret");
  ASSERT_TRUE(Status(WithToken("ops-secret")).ok());
  EXPECT_EQ(Status(late).error_code(), grpc::UNAUTHENTICATED);
  // ops rotates: the worker's token is revoked, a new operator token added.
  WriteTokens({{"ops", "late-secret", "", ""}, {"clerk", "clerk-secret", "", "carol"}});
  grpc::Status st;
  for (int i = 0; i < 100; ++i) {
    st = Status(late);
    if (st.ok()) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  ASSERT_TRUE(st.ok()) << st.error_message();
  st = Status(WithToken("ops-secret"));
  EXPECT_EQ(st.error_code(), grpc::UNAUTHENTICATED);
  EXPECT_EQ(st.error_message(), "unknown or revoked bearer token");
  grpc::ClientContext ctx;
  pb::ActivateJobsRequest req;
  req.set_type("score");
  req.set_worker("w");
  req.set_max_jobs(1);
  req.set_timeout_ms(1000);
  pb::ActivateJobsResponse resp;
  st = pb::Jobs::NewStub(worker)->ActivateJobs(&ctx, req, &resp);
  EXPECT_EQ(st.error_code(), grpc::UNAUTHENTICATED);
  // A broken file leaves the last good one in force.
  std::ofstream(dir_.path() + "/tokens.yaml") << "tokens: [ {name: x, sha256: nothex} ]\n";
  std::this_thread::sleep_for(std::chrono::milliseconds(700));
  EXPECT_TRUE(Status(late).ok());
  EXPECT_NE(node_->Log().find("not reloaded, the last good one stays in force"), std::string::npos) << node_->Log();
}

TEST_F(Security, TheCliPresentsCertificatesAndTokens) {
  std::ofstream(dir_.path() + "/ops.token") << "ops-secret\n";
  std::string cli = std::string(TREATY_TREATY_CLI) + " --server " + node_->address() + " --tls-ca " +
                    pki_->Path("ca.pem");
  std::string out = Sh(cli + " --token-file " + dir_.path() + "/ops.token status");
  EXPECT_EQ(out.rfind("rc=0", 0), 0u) << out;
  // The name checked in the node's certificate may be given.
  out = Sh("TREATY_TOKEN=ops-secret " + cli + " --tls-server-name localhost status");
  EXPECT_EQ(out.rfind("rc=0", 0), 0u) << out;
  std::string alice = cli + " --tls-cert " + pki_->Path("alice.pem") + " --tls-key " + pki_->Path("alice.key");
  out = Sh(alice + " start order --id o-cli");
  EXPECT_EQ(out.rfind("rc=0", 0), 0u) << out;
  out = Sh(alice + " step o-cli submit");
  EXPECT_EQ(out.rfind("rc=0", 0), 0u) << out;
  out = Sh(alice + " step o-cli accept");
  EXPECT_EQ(out.rfind("rc=1", 0), 0u) << out;
  EXPECT_NE(out.find("PERMISSION_DENIED"), std::string::npos) << out;
  EXPECT_NE(out.find("client 'alice' may not trigger step 'accept' of order (role seller)"), std::string::npos) << out;
  out = Sh(cli + " status");
  EXPECT_EQ(out.rfind("rc=1", 0), 0u) << out;
  EXPECT_NE(out.find("UNAUTHENTICATED"), std::string::npos) << out;
  EXPECT_EQ(History("o-cli"), (std::vector<std::string>{"$start", "submit"}));
  // `task claim` without --assignee claims for the token's user (the
  // clerk's token acts for carol); the CA from $TREATY_TLS_CA.
  pb::Task task = OpenTask("o-cli");
  ASSERT_FALSE(task.task_id().empty());
  std::string clerk = "TREATY_TOKEN=clerk-secret TREATY_TLS_CA=" + pki_->Path("ca.pem") + " " +
                      std::string(TREATY_TREATY_CLI) + " --server " + node_->address();
  out = Sh(clerk + " task claim " + task.task_id());
  EXPECT_EQ(out.rfind("rc=0", 0), 0u) << out;
  EXPECT_NE(out.find("claimed by carol"), std::string::npos) << out;
  EXPECT_EQ(OpenTask("o-cli").assignee(), "carol");
}

// gRPC's AuthContext is the connection's (grpc/grpc#28809): every call on
// one connection must still be its own caller. Calls with different tokens
// on one channel, and calls with and without a token on a channel with a
// client certificate, each act as their own credential says; and many
// calls in flight on one connection (what gRPC's unsynchronised property
// array did not survive while the node added a property per call) leave
// the node running with every answer right.
TEST_F(Security, EachCallOnASharedConnectionIsItsOwnCaller) {
  auto status_as = [](const std::shared_ptr<grpc::Channel>& ch, const std::string& token) {
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(20));
    if (!token.empty()) ctx.AddMetadata("authorization", "Bearer " + token);
    pb::StatusResponse resp;
    return pb::Node::NewStub(ch)->Status(&ctx, pb::StatusRequest(), &resp);
  };
  auto shared = Channel({});  // TLS, no credential of its own: one connection
  ASSERT_TRUE(status_as(shared, "ops-secret").ok());
  grpc::Status st = status_as(shared, "worker-secret");
  EXPECT_EQ(st.error_code(), grpc::PERMISSION_DENIED);
  EXPECT_EQ(st.error_message(),
            "client 'worker' may not read the node's status: it is neither operator nor read_only");
  // A user belongs to its token's calls only.
  st = status_as(shared, "clerk-secret");
  EXPECT_EQ(st.error_code(), grpc::PERMISSION_DENIED);
  EXPECT_EQ(st.error_message().rfind("client 'clerk' (user 'carol') may not", 0), 0u) << st.error_message();
  st = status_as(shared, "clerk-service");
  EXPECT_EQ(st.error_code(), grpc::PERMISSION_DENIED);
  EXPECT_EQ(st.error_message().rfind("client 'clerk' may not", 0), 0u) << st.error_message();
  EXPECT_TRUE(status_as(shared, "ops-secret").ok());
  // No token after tokens: refused, not the earlier callers.
  EXPECT_EQ(status_as(shared, "").error_code(), grpc::UNAUTHENTICATED);
  // With alice's certificate: a token call is the token's, the next call
  // without one is alice again.
  auto alice = WithCert("alice");
  ASSERT_TRUE(status_as(alice, "ops-secret").ok());
  st = status_as(alice, "");
  EXPECT_EQ(st.error_code(), grpc::PERMISSION_DENIED);
  EXPECT_EQ(st.error_message().rfind("client 'alice' may not", 0), 0u) << st.error_message();

  // Many calls in flight on the shared connection, two identities.
  constexpr int kThreads = 8, kCalls = 400;
  std::atomic<int> wrong{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t)
    threads.emplace_back([&, t] {
      for (int i = 0; i < kCalls; ++i) {
        bool ops = (t + i) % 2 == 0;
        grpc::Status s = status_as(shared, ops ? "ops-secret" : "worker-secret");
        if (ops ? !s.ok() : s.error_code() != grpc::PERMISSION_DENIED) ++wrong;
      }
    });
  for (auto& th : threads) th.join();
  EXPECT_EQ(wrong.load(), 0);
  EXPECT_TRUE(node_->running()) << node_->Log();
  EXPECT_TRUE(status_as(shared, "ops-secret").ok());
}

// A claim without an assignee by a client whose token names no user is
// refused with what to do, and changes nothing.
TEST_F(Security, AClaimWithoutAssigneeNeedsAUser) {
  std::ofstream(dir_.path() + "/service.token") << "clerk-service\n";
  ASSERT_TRUE(Start(WithCert("alice"), "o-anon").ok());
  ASSERT_TRUE(Step(WithCert("alice"), "o-anon", "submit").ok());
  pb::Task task = OpenTask("o-anon");
  ASSERT_FALSE(task.task_id().empty());
  // The clerk's service token: the queue, but no user.
  std::string out = Sh(std::string(TREATY_TREATY_CLI) + " --server " + node_->address() + " --tls-ca " +
                       pki_->Path("ca.pem") + " --token-file " + dir_.path() + "/service.token task claim " +
                       task.task_id());
  EXPECT_EQ(out.rfind("rc=1", 0), 0u) << out;
  EXPECT_NE(out.find("an assignee is required: name one, or call with a token whose entry names a user"),
            std::string::npos)
      << out;
  EXPECT_TRUE(OpenTask("o-anon").assignee().empty());
}

// A node that must not start, and why it says so.
std::string RefusedStart(const std::vector<std::string>& args, const std::string& dir) {
  std::vector<std::string> all = {TREATY_TREATYD, "--data", dir + "/node"};
  all.insert(all.end(), args.begin(), args.end());
  ChildProcess p(all, dir + "/refused.log");
  EXPECT_TRUE(p.Launch());
  for (int i = 0; i < 200 && !p.Exited(); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(25));
  EXPECT_FALSE(p.running()) << "treatyd started with " << args.size() << " arguments";
  std::ifstream f(dir + "/refused.log");
  std::stringstream s;
  s << f.rdbuf();
  return s.str();
}

TEST(SecurityStart, AnOpenApiRefusesToStart) {
  TempDir dir;
  std::string port = std::to_string(FreePort());
  std::string log = RefusedStart({"--listen", "127.0.0.1:" + port}, dir.path());
  EXPECT_NE(log.find("refusing to start: the API on 127.0.0.1:" + port +
                     " would be plaintext: give --tls-cert FILE --tls-key FILE"),
            std::string::npos)
      << log;
  log = RefusedStart({"--listen", "0.0.0.0:" + port, "--plaintext"}, dir.path());
  EXPECT_NE(log.find("refusing to start: --plaintext is allowed only on a loopback address (127.0.0.1, ::1, localhost), "
                     "not on 0.0.0.0:" + port),
            std::string::npos)
      << log;
  TestPki pki(dir.path());
  ASSERT_TRUE(pki.ok()) << pki.error();
  log = RefusedStart({"--listen", "127.0.0.1:" + port, "--tls-cert", pki.Path("node.pem"), "--tls-key",
                      pki.Path("node.key")},
                     dir.path());
  EXPECT_NE(log.find("refusing to start: TLS needs a client authentication"), std::string::npos) << log;
}

TEST(SecurityStart, PlaintextOnLoopbackWithTokens) {
  TempDir dir;
  std::ofstream(dir.path() + "/tokens.yaml") << "tokens:\n  - name: dev\n    sha256: " + Sha256Hex("dev-secret") +
                                                     "\n";
  TreatydProcess node(dir.path() + "/node", {"--plaintext", "--tokens", dir.path() + "/tokens.yaml"});
  ASSERT_TRUE(node.Start()) << node.Log();
  std::string err;
  ClientSecurity s;
  grpc::ClientContext ctx;
  pb::StatusResponse resp;
  grpc::Status st = pb::Node::NewStub(node.channel())->Status(&ctx, pb::StatusRequest(), &resp);
  EXPECT_EQ(st.error_code(), grpc::UNAUTHENTICATED);
  s.token = "dev-secret";
  grpc::ClientContext ctx2;
  st = pb::Node::NewStub(treaty::adapters::MakeClientChannel(node.address(), s, &err))
           ->Status(&ctx2, pb::StatusRequest(), &resp);
  EXPECT_TRUE(st.ok()) << st.error_message();
  EXPECT_NE(node.Log().find("api: plaintext (loopback only), bearer tokens from"), std::string::npos) << node.Log();
}

}  // namespace
}  // namespace treaty::testing
