// treaty-webhook against a real treatyd and a real HTTP server, all on
// 127.0.0.1 (docs/webhook.md): the request the endpoint receives (method,
// headers, the job's variables), a 2xx completing the job with the mapped
// output, 4xx answers mapped to business errors taking their steps, other
// failures failing the job (retries decremented, retried after the
// definition's backoff, an incident when none are left), timeouts, the
// concurrency limit, SIGTERM finishing the request in flight, waiting for
// a node that is not up yet or went away, and config errors refused at
// start with FILE:LINE:COL.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <sstream>
#include <thread>

#include <nlohmann/json.hpp>

#include "node_client.h"
#include "test_pki.h"
#include "treaty/v1/treaty.grpc.pb.h"
#include "treatyd_process.h"

namespace treaty::testing {
namespace {

namespace pb = ::treaty::v1;
using nlohmann::json;
using Clock = std::chrono::steady_clock;

// The loan's credit check with short retries, so failures reach an
// incident within a test: 3 tries (the worker passes retries - 1 on each
// failure; at 0 an incident), 100ms backoff, then 200ms.
const char* kDefinition = R"(process: wloan
version: 1
roles: [applicant, bank]
data:
  applicant: { type: string }
  amount: { type: integer, minimum: 1 }
  score: { type: integer }
states:
  draft: { initial: true }
  applied: {}
  checked: { final: true }
  referred: { final: true }
  declined: { final: true }
steps:
  apply:
    from: draft
    to: applied
    by: applicant
    input:
      applicant: { type: string, min_length: 1 }
      amount: { type: integer, minimum: 1 }
    set: { applicant: input.applicant, amount: input.amount }
  check:
    from: applied
    to: checked
    by: bank
    input: { score: { type: integer, minimum: 0, maximum: 999 } }
    set: { score: input.score }
    task:
      job:
        type: credit-check
        retries: 3
        backoff: 100ms
        timeout: 5s
        headers: { bureau: test-bureau }
        errors: { DECLINED: decline, NO_FILE: refer }
  decline: { from: applied, to: declined, by: bank }
  refer: { from: applied, to: referred, by: bank }
)";

// The usual endpoint: the score from $.result.score, 404 and 422 mapped.
std::string BureauJob(const std::string& url, const std::string& extra = "", const std::string& timeout = "2s") {
  return "  credit-check:\n"
         "    url: " + url + "\n"
         "    headers: { X-Api-Key: secret-1 }\n"
         "    timeout: " + timeout + "\n"
         "    output: { score: $.result.score }\n"
         "    errors:\n"
         "      404: NO_FILE\n"
         "      422: { field: code, values: { DECLINED: DECLINED } }\n" + extra;
}

std::string ReadFile(const std::string& path) {
  std::ifstream f(path);
  std::stringstream s;
  s << f.rdbuf();
  return s.str();
}

bool Eventually(const std::function<bool()>& done, std::chrono::milliseconds within) {
  auto deadline = Clock::now() + within;
  while (Clock::now() < deadline) {
    if (done()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return done();
}

bool Accepts(int port) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = htons(static_cast<uint16_t>(port));
  bool ok = connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
  close(fd);
  return ok;
}

// A command run to its end: its exit code and its output.
struct Finished {
  int code = -1;
  std::string output;
};

Finished RunToEnd(const std::string& command) {
  Finished r;
  FILE* p = popen((command + " 2>&1").c_str(), "r");
  if (!p) return r;
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, p)) > 0) r.output.append(buf, n);
  int status = pclose(p);
  r.code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return r;
}

class Webhook : public ::testing::Test {
 protected:
  void SetUp() override {
    // libcurl honours proxy variables; the test's traffic stays on loopback.
    for (const char* v : {"http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY", "all_proxy", "ALL_PROXY"})
      unsetenv(v);
    defs_ = dir_.path() + "/defs";
    ASSERT_EQ(std::system(("mkdir -p " + defs_).c_str()), 0);
    std::ofstream(defs_ + "/wloan.yaml") << kDefinition;
    http_port_ = FreePort();
    http_log_ = dir_.path() + "/requests.jsonl";
    http_ = std::make_unique<ChildProcess>(
        std::vector<std::string>{"/usr/bin/python3", std::string(TREATY_SOURCE_DIR) + "/tests/integration/webhook_http_server.py",
                                 "--port", std::to_string(http_port_), "--log", http_log_},
        dir_.path() + "/http.log");
    ASSERT_TRUE(http_->Launch());
    ASSERT_TRUE(Eventually([&] { return Accepts(http_port_); }, std::chrono::seconds(10)))
        << ReadFile(dir_.path() + "/http.log");
    node_ = std::make_unique<TreatydProcess>(dir_.path() + "/node", std::vector<std::string>{"--definitions", defs_});
  }

  void StartNode() {
    ASSERT_TRUE(node_->Start()) << node_->Log();
    client_ = std::make_unique<NodeClient>(node_->channel());
    jobs_ = pb::Jobs::NewStub(node_->channel());
  }

  std::string Url(const std::string& path = "/bureau") {
    return "http://127.0.0.1:" + std::to_string(http_port_) + path;
  }

  std::string WriteConfig(const std::string& jobs, const std::string& name = "webhook.yaml") {
    std::string path = dir_.path() + "/" + name;
    std::ofstream(path) << "node: " << node_->address() << "\nworker: test-webhook\njobs:\n" << jobs;
    return path;
  }

  // Starts treaty-webhook and waits until its slots serve.
  void StartWebhook(const std::string& config, bool wait_serving = true, std::vector<std::string> flags = {}) {
    webhook_log_ = dir_.path() + "/webhook.log";
    std::vector<std::string> args = {TREATY_WEBHOOK, "--config", config};
    args.insert(args.end(), flags.begin(), flags.end());
    webhook_ = std::make_unique<ChildProcess>(std::move(args), webhook_log_);
    ASSERT_TRUE(webhook_->Launch());
    if (!wait_serving) return;
    ASSERT_TRUE(Eventually([&] { return WebhookLog().find("slot(s)") != std::string::npos; },
                           std::chrono::seconds(10)))
        << WebhookLog();
  }
  std::string WebhookLog() { return ReadFile(webhook_log_); }

  // The node with TLS (a test CA's certificate in DIR/pki), bearer tokens
  // and permissions instead of plaintext: "tester" (the test's own
  // channel) may do everything, "hook" only take credit-check jobs; the
  // tokens are in DIR/tester.token and DIR/hook.token.
  void SecureNode() {
    pki_ = std::make_unique<TestPki>(dir_.path() + "/pki");
    ASSERT_TRUE(pki_->ok()) << pki_->error();
    std::string tester = NewToken(), hook = NewToken();
    std::ofstream(dir_.path() + "/hook.token") << hook << "\n";
    std::ofstream(dir_.path() + "/tokens.yaml") << TokensYaml({{"tester", tester, "", ""}, {"hook", hook, "", ""}});
    std::ofstream(dir_.path() + "/access.yaml") << "clients:\n"
                                                   "  tester: { processes: [{ definition: wloan, roles: [\"*\"] }], "
                                                   "operator: true }\n"
                                                   "  hook: { job_types: [credit-check] }\n";
    adapters::ClientSecurity client;
    client.tls_ca = pki_->Path("ca.pem");
    client.token = tester;
    node_ = std::make_unique<TreatydProcess>(
        dir_.path() + "/node",
        std::vector<std::string>{"--definitions", defs_, "--tls-cert", pki_->Path("node.pem"), "--tls-key",
                                 pki_->Path("node.key"), "--tokens", dir_.path() + "/tokens.yaml", "--access",
                                 dir_.path() + "/access.yaml"},
        client);
    StartNode();
  }

  // A new wloan instance with the applicant, moved to `applied`: its
  // credit-check job opens.
  std::string Apply(const std::string& applicant) {
    std::string id = "wl-" + applicant + "-" + std::to_string(++instances_);
    pb::StartProcessRequest req;
    req.set_definition("wloan");
    req.set_instance_id(id);
    auto st = client_->StartWith(req);
    EXPECT_TRUE(st.ok()) << st.error_message();
    st = client_->Step(id, "apply", json{{"applicant", applicant}, {"amount", 1000}}.dump());
    EXPECT_TRUE(st.ok()) << st.error_message();
    return id;
  }

  bool WaitForState(const std::string& id, const std::string& state,
                    std::chrono::milliseconds within = std::chrono::seconds(10)) {
    return Eventually([&] { return client_->State(id) == state; }, within);
  }

  // The instance's one job, as the node has it now.
  pb::Job JobOf(const std::string& id) {
    pb::SearchJobsRequest req;
    req.set_instance_id(id);
    pb::SearchJobsResponse resp;
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
    auto st = jobs_->SearchJobs(&ctx, req, &resp);
    EXPECT_TRUE(st.ok()) << st.error_message();
    return resp.jobs_size() > 0 ? resp.jobs(resp.jobs_size() - 1) : pb::Job();
  }

  std::vector<pb::Incident> Incidents(const std::string& id) {
    pb::ListIncidentsRequest req;
    req.set_instance_id(id);
    pb::ListIncidentsResponse resp;
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
    auto st = jobs_->ListIncidents(&ctx, req, &resp);
    EXPECT_TRUE(st.ok()) << st.error_message();
    return {resp.incidents().begin(), resp.incidents().end()};
  }

  pb::Incident WaitForIncident(const std::string& id, std::chrono::milliseconds within = std::chrono::seconds(10)) {
    std::vector<pb::Incident> found;
    Eventually([&] { return !(found = Incidents(id)).empty(); }, within);
    return found.empty() ? pb::Incident() : found.front();
  }

  // The requests the server received for the instance's job, in order.
  std::vector<json> RequestsFor(const std::string& id) {
    std::vector<json> out;
    std::istringstream lines(ReadFile(http_log_));
    std::string line;
    while (std::getline(lines, line)) {
      json r = json::parse(line, nullptr, false);
      if (r.is_object() && r["headers"].value("Treaty-Instance", "") == id) out.push_back(r);
    }
    return out;
  }

  std::string StepInput(const std::string& id, const std::string& step) {
    for (const auto& e : client_->History(id))
      if (e.step() == step) return e.input_json();
    return "";
  }

  TempDir dir_;
  std::unique_ptr<TestPki> pki_;
  std::string defs_;
  int http_port_ = 0;
  std::string http_log_;
  std::unique_ptr<ChildProcess> http_;
  std::unique_ptr<TreatydProcess> node_;
  std::unique_ptr<NodeClient> client_;
  std::unique_ptr<pb::Jobs::Stub> jobs_;
  std::unique_ptr<ChildProcess> webhook_;
  std::string webhook_log_;
  int instances_ = 0;
};

TEST_F(Webhook, PostsTheVariablesAndCompletesWithTheMappedField) {
  StartNode();
  StartWebhook(WriteConfig(BureauJob(Url())));
  std::string id = Apply("score-720");
  ASSERT_TRUE(WaitForState(id, "checked")) << client_->State(id) << "\n" << WebhookLog();
  EXPECT_EQ(json::parse(StepInput(id, "check")), json({{"score", 720}}));  // not the body's "bureau"
  EXPECT_EQ(json::parse(client_->Get(id).data_json())["score"], 720);

  auto requests = RequestsFor(id);
  ASSERT_EQ(requests.size(), 1u);
  const json& r = requests[0];
  EXPECT_EQ(r["method"], "POST");
  EXPECT_EQ(r["path"], "/bureau");
  EXPECT_EQ(r["headers"]["Content-Type"], "application/json");
  EXPECT_EQ(r["headers"]["X-Api-Key"], "secret-1");
  EXPECT_EQ(r["headers"]["Treaty-Job-Type"], "credit-check");
  EXPECT_EQ(r["headers"]["Treaty-Step"], "check");
  EXPECT_EQ(r["headers"]["Treaty-Retries"], "3");
  std::string key = r["headers"]["Treaty-Job-Key"];
  EXPECT_EQ(key.rfind(id + ":", 0), 0u) << key;
  EXPECT_EQ(key.substr(key.size() - 6), ":check") << key;
  // The body is the job's variables: the instance's data.
  json body = json::parse(r["body"].get<std::string>());
  EXPECT_EQ(body["applicant"], "score-720");
  EXPECT_EQ(body["amount"], 1000);
  EXPECT_FALSE(body.contains("job"));

  pb::Job job = JobOf(id);
  EXPECT_EQ(job.key(), key);
  EXPECT_EQ(job.state(), pb::JOB_COMPLETED);
  EXPECT_EQ(job.worker(), "test-webhook");
  EXPECT_EQ(webhook_->Stop(), 0) << WebhookLog();
}

// A node with TLS and tokens: the config's tls_ca and token_file (relative
// to the config's folder) are presented; the job is done as before.
TEST_F(Webhook, PresentsTheConfigsCaAndTokenToASecureNode) {
  ASSERT_NO_FATAL_FAILURE(SecureNode());
  std::string config = WriteConfig(BureauJob(Url()));
  std::ofstream(config, std::ios::app) << "tls_ca: pki/ca.pem\ntoken_file: hook.token\n";
  StartWebhook(config);
  EXPECT_NE(WebhookLog().find("(TLS, bearer token)"), std::string::npos) << WebhookLog();
  std::string id = Apply("score-720");
  ASSERT_TRUE(WaitForState(id, "checked")) << client_->State(id) << "\n" << WebhookLog();
  EXPECT_EQ(JobOf(id).worker(), "test-webhook");
  EXPECT_EQ(webhook_->Stop(), 0) << WebhookLog();
}

// An unknown token is refused by the node before the webhook takes any
// job: it stops at start with the node's message. The --token-file flag
// wins over the config's key; without any token the node refuses too.
TEST_F(Webhook, ARefusedTokenStopsItAtStartAndTheFlagWinsOverTheConfig) {
  ASSERT_NO_FATAL_FAILURE(SecureNode());
  std::ofstream(dir_.path() + "/stale.token") << "not-a-known-token\n";
  std::string config = WriteConfig(BureauJob(Url()));
  std::ofstream(config, std::ios::app) << "tls_ca: pki/ca.pem\ntoken_file: stale.token\n";
  Finished refused = RunToEnd(std::string(TREATY_WEBHOOK) + " --config " + config);
  EXPECT_EQ(refused.code, 1) << refused.output;
  EXPECT_NE(refused.output.find("unknown or revoked bearer token"), std::string::npos) << refused.output;
  std::string bare = WriteConfig(BureauJob(Url()), "bare.yaml");
  Finished anonymous = RunToEnd("env -u TREATY_TOKEN " + std::string(TREATY_WEBHOOK) + " --config " + bare +
                                " --tls-ca " + pki_->Path("ca.pem"));
  EXPECT_EQ(anonymous.code, 1) << anonymous.output;
  EXPECT_NE(anonymous.output.find("a bearer token ('authorization: Bearer <token>') on every call"),
            std::string::npos)
      << anonymous.output;
  Finished unreadable = RunToEnd(std::string(TREATY_WEBHOOK) + " --config " + bare + " --token-file " +
                                 dir_.path() + "/missing.token");
  EXPECT_EQ(unreadable.code, 1) << unreadable.output;
  EXPECT_NE(unreadable.output.find("--token-file " + dir_.path() + "/missing.token: cannot read the file"),
            std::string::npos)
      << unreadable.output;

  StartWebhook(config, true, {"--token-file", dir_.path() + "/hook.token"});
  std::string id = Apply("score-720");
  ASSERT_TRUE(WaitForState(id, "checked")) << client_->State(id) << "\n" << WebhookLog();
  EXPECT_EQ(webhook_->Stop(), 0) << WebhookLog();
}

TEST_F(Webhook, EnvelopeBodyAndTheWholeResponseAsOutput) {
  StartNode();
  StartWebhook(WriteConfig("  credit-check:\n    url: " + Url("/flat") + "\n    body: envelope\n    method: put\n"));
  std::string id = Apply("score-640");
  ASSERT_TRUE(WaitForState(id, "checked")) << client_->State(id) << "\n" << WebhookLog();
  EXPECT_EQ(json::parse(StepInput(id, "check")), json({{"score", 640}}));
  auto requests = RequestsFor(id);
  ASSERT_EQ(requests.size(), 1u);
  EXPECT_EQ(requests[0]["method"], "PUT");
  json body = json::parse(requests[0]["body"].get<std::string>());
  EXPECT_EQ(body["variables"]["applicant"], "score-640");
  EXPECT_EQ(body["job"]["key"], requests[0]["headers"]["Treaty-Job-Key"]);
  EXPECT_EQ(body["job"]["type"], "credit-check");
  EXPECT_EQ(body["job"]["instance_id"], id);
  EXPECT_EQ(body["job"]["step"], "check");
  EXPECT_EQ(body["job"]["retries"], 3);
  EXPECT_EQ(body["job"]["headers"], json({{"bureau", "test-bureau"}}));
  EXPECT_EQ(webhook_->Stop(), 0) << WebhookLog();
}

TEST_F(Webhook, MappedClientErrorsTakeTheirSteps) {
  StartNode();
  StartWebhook(WriteConfig(BureauJob(Url())));
  std::string nofile = Apply("nofile");
  std::string declined = Apply("declined");
  ASSERT_TRUE(WaitForState(nofile, "referred")) << client_->State(nofile) << "\n" << WebhookLog();
  ASSERT_TRUE(WaitForState(declined, "declined")) << client_->State(declined) << "\n" << WebhookLog();
  pb::Job j = JobOf(declined);
  EXPECT_EQ(j.state(), pb::JOB_ERROR_THROWN);
  EXPECT_EQ(j.error_code(), "DECLINED");
  EXPECT_NE(j.error_message().find("HTTP 422"), std::string::npos) << j.error_message();
  EXPECT_EQ(JobOf(nofile).error_code(), "NO_FILE");
  EXPECT_EQ(RequestsFor(nofile).size(), 1u);  // a business error is not retried
  EXPECT_EQ(RequestsFor(declined).size(), 1u);
  EXPECT_EQ(webhook_->Stop(), 0) << WebhookLog();
}

TEST_F(Webhook, FailuresAreRetriedAfterTheBackoffThenRaiseAnIncident) {
  StartNode();
  StartWebhook(WriteConfig(BureauJob(Url())));
  std::string boom = Apply("boom");      // 500
  std::string text = Apply("text");      // 200, not JSON
  std::string frozen = Apply("frozen");  // 422 with a code the config does not map
  std::string flaky = Apply("flaky-1");  // 500 once, then 200
  std::string binary = Apply("binary");  // 500 with bytes that are not UTF-8

  ASSERT_TRUE(WaitForState(flaky, "checked")) << WebhookLog();
  EXPECT_EQ(RequestsFor(flaky).size(), 2u);

  pb::Incident inc = WaitForIncident(boom);
  ASSERT_FALSE(inc.incident_id().empty()) << WebhookLog();
  EXPECT_EQ(inc.kind(), "no_retries");
  EXPECT_EQ(inc.retries(), 0);
  EXPECT_NE(inc.message().find("HTTP 500"), std::string::npos) << inc.message();
  EXPECT_NE(inc.message().find("internal trouble"), std::string::npos) << inc.message();
  EXPECT_EQ(client_->State(boom), "applied");
  // Three tries (retries 3, each failure passing one less, the incident
  // at 0): the second the definition's backoff (100ms) after the first,
  // the third twice that after the second.
  auto tries = RequestsFor(boom);
  ASSERT_EQ(tries.size(), 3u);
  EXPECT_EQ(tries[0]["headers"]["Treaty-Retries"], "3");
  EXPECT_EQ(tries[1]["headers"]["Treaty-Retries"], "2");
  EXPECT_EQ(tries[2]["headers"]["Treaty-Retries"], "1");
  EXPECT_GE(tries[1]["at_ms"].get<int64_t>() - tries[0]["at_ms"].get<int64_t>(), 100);
  EXPECT_GE(tries[2]["at_ms"].get<int64_t>() - tries[1]["at_ms"].get<int64_t>(), 200);
  pb::Job job = JobOf(boom);
  EXPECT_EQ(job.state(), pb::JOB_INCIDENT);
  EXPECT_EQ(job.failures(), 3);

  inc = WaitForIncident(text);
  EXPECT_NE(inc.message().find("not JSON"), std::string::npos) << inc.message();
  // The node keeps messages as UTF-8 text: other bytes come as \xNN.
  inc = WaitForIncident(binary);
  EXPECT_NE(inc.message().find("HTTP 500 from POST " + Url() + ": \\xff\\xfe oops"), std::string::npos)
      << inc.message();
  inc = WaitForIncident(frozen);
  EXPECT_NE(inc.message().find("FROZEN"), std::string::npos) << inc.message();
  EXPECT_EQ(RequestsFor(frozen).size(), 3u);
  EXPECT_EQ(webhook_->Stop(), 0) << WebhookLog();
}

TEST_F(Webhook, AResponseOutsideTheStepsInputSchemaFailsTheJob) {
  StartNode();
  StartWebhook(WriteConfig(BureauJob(Url())));
  std::string id = Apply("score-5000");  // maximum 999
  pb::Incident inc = WaitForIncident(id);
  ASSERT_FALSE(inc.incident_id().empty()) << WebhookLog();
  EXPECT_NE(inc.message().find("the node refused the completion with the response's output {\"score\":5000}: "
                               "INVALID_ARGUMENT"),
            std::string::npos)
      << inc.message();
  EXPECT_EQ(client_->State(id), "applied");
  EXPECT_EQ(RequestsFor(id).size(), 3u);
  EXPECT_EQ(webhook_->Stop(), 0) << WebhookLog();
}

TEST_F(Webhook, ARequestOverItsTimeoutFailsTheJob) {
  StartNode();
  StartWebhook(WriteConfig(BureauJob(Url(), "", "300ms")));
  std::string id = Apply("slow-1500");
  pb::Incident inc = WaitForIncident(id);
  ASSERT_FALSE(inc.incident_id().empty()) << WebhookLog();
  EXPECT_NE(inc.message().find("timed out"), std::string::npos) << inc.message();
  EXPECT_EQ(RequestsFor(id).size(), 3u);
  EXPECT_EQ(client_->State(id), "applied");
  EXPECT_EQ(webhook_->Stop(), 0) << WebhookLog();
}

TEST_F(Webhook, NeverMoreRequestsInFlightThanTheConcurrency) {
  StartNode();
  StartWebhook(WriteConfig(BureauJob(Url(), "    concurrency: 2\n")));
  std::vector<std::string> ids;
  for (int i = 0; i < 6; ++i) ids.push_back(Apply("slow-500"));
  for (const auto& id : ids) ASSERT_TRUE(WaitForState(id, "checked")) << WebhookLog();
  int most = 0;
  for (const auto& id : ids)
    for (const auto& r : RequestsFor(id)) most = std::max(most, r["in_flight"].get<int>());
  EXPECT_EQ(most, 2);  // two slots, both busy: six jobs of 500ms opened at once
  EXPECT_EQ(webhook_->Stop(), 0) << WebhookLog();
}

TEST_F(Webhook, SigtermFinishesTheRequestInFlightAndExitsZero) {
  StartNode();
  StartWebhook(WriteConfig(BureauJob(Url())));
  std::string id = Apply("slow-800");
  ASSERT_TRUE(Eventually([&] { return !RequestsFor(id).empty(); }, std::chrono::seconds(10))) << WebhookLog();
  EXPECT_EQ(webhook_->Stop(), 0) << WebhookLog();
  EXPECT_EQ(client_->State(id), "checked") << WebhookLog();
  // Stopped: a job opened now stays activatable.
  std::string later = Apply("score-700");
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  EXPECT_EQ(JobOf(later).state(), pb::JOB_ACTIVATABLE);
  EXPECT_TRUE(RequestsFor(later).empty());
}

TEST_F(Webhook, WaitsForANodeThatIsNotUpYet) {
  std::string config = WriteConfig(BureauJob(Url()));
  StartWebhook(config, /*wait_serving=*/false);
  ASSERT_TRUE(Eventually([&] { return WebhookLog().find("does not answer") != std::string::npos; },
                         std::chrono::seconds(10)))
      << WebhookLog();
  StartNode();
  ASSERT_TRUE(Eventually([&] { return WebhookLog().find("slot(s)") != std::string::npos; }, std::chrono::seconds(10)))
      << WebhookLog();
  std::string id = Apply("score-610");
  ASSERT_TRUE(WaitForState(id, "checked")) << WebhookLog();
  EXPECT_EQ(webhook_->Stop(), 0) << WebhookLog();
}

TEST_F(Webhook, ResumesTakingJobsWhenTheNodeComesBack) {
  StartNode();
  StartWebhook(WriteConfig(BureauJob(Url())));
  std::string before = Apply("score-700");
  ASSERT_TRUE(WaitForState(before, "checked")) << WebhookLog();
  ASSERT_EQ(node_->Stop(), 0);
  ASSERT_TRUE(Eventually([&] { return WebhookLog().find("ActivateJobs failed (UNAVAILABLE") != std::string::npos; },
                         std::chrono::seconds(10)))
      << WebhookLog();
  StartNode();  // the same port and data
  // The test's own channel may lag behind the node's return too.
  ASSERT_TRUE(Eventually(
      [&] {
        grpc::Status st;
        client_->Status(&st);
        return st.ok();
      },
      std::chrono::seconds(10)));
  std::string after = Apply("score-701");
  ASSERT_TRUE(WaitForState(after, "checked", std::chrono::seconds(5))) << WebhookLog();
  EXPECT_NE(WebhookLog().find("activating jobs again"), std::string::npos) << WebhookLog();
  EXPECT_EQ(webhook_->Stop(), 0) << WebhookLog();
}

TEST_F(Webhook, AStopWhileWaitingForTheNodeExitsZero) {
  StartWebhook(WriteConfig(BureauJob(Url())), /*wait_serving=*/false);
  ASSERT_TRUE(Eventually([&] { return WebhookLog().find("does not answer") != std::string::npos; },
                         std::chrono::seconds(10)))
      << WebhookLog();
  EXPECT_EQ(webhook_->Stop(), 0) << WebhookLog();
}

TEST_F(Webhook, JobTypesOutputFieldsAndCodesTheDefinitionsDoNotKnowAreRefusedAtStart) {
  StartNode();
  std::string config = WriteConfig("  credit-chek:\n"                                   // line 4
                                   "    url: " + Url() + "\n"
                                   "  credit-check:\n"                                  // line 6
                                   "    url: " + Url() + "\n"
                                   "    output: { score: $.score, rating: $.rating }\n"  // line 8
                                   "    errors: { 404: NO_FIEL }\n");                   // line 9
  Finished r = RunToEnd(std::string(TREATY_WEBHOOK) + " --config " + config);
  EXPECT_EQ(r.code, 1) << r.output;
  EXPECT_NE(r.output.find(config + ":4:3: job type 'credit-chek' is not the type of any job step in the node's "
                                   "definitions (their job types: credit-check)"),
            std::string::npos)
      << r.output;
  EXPECT_NE(r.output.find(config + ":8:31: output 'rating' of job type 'credit-check' is not an input field of its "
                                   "steps (wloan v1 step check; their input fields: score)"),
            std::string::npos)
      << r.output;
  EXPECT_NE(r.output.find(config + ":9:20: error code 'NO_FIEL' (errors.404 of job type 'credit-check') is not in "
                                   "the 'errors' of its steps (their codes: DECLINED, NO_FILE)"),
            std::string::npos)
      << r.output;
}

TEST_F(Webhook, ConfigErrorsNameTheFileLineColumnAndKey) {
  // No node: these are found in the file alone.
  struct Case {
    std::string yaml;
    std::string message;  // after "FILE:"
  };
  std::vector<Case> cases = {
      {"node: 127.0.0.1:1\ncolour: blue\njobs:\n  a: { url: 'http://127.0.0.1:1/' }\n",
       "2:1: unknown key 'colour' (the keys are node, worker, tls_ca, tls_cert, tls_key, tls_server_name, "
       "token_file, jobs)"},
      {"jobs:\n  a:\n    url: http://127.0.0.1:1/\n    retry: 3\n",
       "4:5: unknown key 'retry' in job type 'a' (the keys are url, method, headers, timeout, concurrency, body, "
       "output, errors)"},
      {"jobs:\n  a: { url: 'http://exa mple.com/' }\n",
       "2:13: 'url' of job type 'a' is not a valid URL: 'http://exa mple.com/' (Bad hostname)"},
      {"jobs:\n  a: { url: 'ftp://example.com/x' }\n",
       "2:13: 'url' of job type 'a' must be an http:// or https:// URL, not 'ftp://example.com/x' (scheme ftp)"},
      {"jobs:\n  a: { url: 'http://127.0.0.1:1/', timeout: 0s }\n",
       "2:45: 'timeout' of job type 'a' must be a duration more than zero such as 5s, 500ms or 1m30s, not '0s'"},
      {"jobs:\n  a: { url: 'http://127.0.0.1:1/', timeout: 5 }\n",
       "2:45: 'timeout' of job type 'a' must be a duration more than zero such as 5s, 500ms or 1m30s, not '5'"},
      {"jobs:\n  a: { url: 'http://127.0.0.1:1/', concurrency: [2] }\n",
       "2:49: 'concurrency' of job type 'a' must be a whole number from 1 to 64, not a list"},
      {"jobs:\n  a: { url: 'http://127.0.0.1:1/', headers: {} }\n",
       "2:45: 'headers' of job type 'a' is an empty mapping (leave the key out instead)"},
      {"jobs: {}\n", "1:7: 'jobs' is an empty mapping"},
      {"jobs:\n  a: { url: 'http://127.0.0.1:1/', errors: { 500: BOOM } }\n",
       "2:46: 'errors' of job type 'a' maps HTTP statuses from 400 to 499, not '500'"},
      {"jobs:\n  a: { url: 'http://127.0.0.1:1/', output: { score: '$.result..score' } }\n",
       "2:53: output 'score' of job type 'a': the path '$.result..score' has an empty key at character 8"},
      {"jobs:\n  a: { method: POST }\n", "2:3: job type 'a' needs 'url'"},
      {"node: localhost\njobs:\n  a: { url: 'http://127.0.0.1:1/' }\n",
       "1:7: 'node' must be HOST:PORT with a port from 1 to 65535, not 'localhost'"},
  };
  int n = 0;
  for (const auto& c : cases) {
    std::string path = dir_.path() + "/bad" + std::to_string(++n) + ".yaml";
    std::ofstream(path) << c.yaml;
    Finished r = RunToEnd(std::string(TREATY_WEBHOOK) + " --config " + path);
    EXPECT_EQ(r.code, 1) << c.yaml << r.output;
    EXPECT_NE(r.output.find(path + ":" + c.message), std::string::npos) << c.yaml << "\n" << r.output;
  }
  Finished missing = RunToEnd(std::string(TREATY_WEBHOOK) + " --config " + dir_.path() + "/none.yaml");
  EXPECT_EQ(missing.code, 1);
  EXPECT_NE(missing.output.find(dir_.path() + "/none.yaml: cannot read the file"), std::string::npos)
      << missing.output;
  // --check reads the file only: the example config is well formed.
  Finished check = RunToEnd(std::string(TREATY_WEBHOOK) + " --check --config " + TREATY_SOURCE_DIR +
                            "/examples/loan/webhook.yaml");
  EXPECT_EQ(check.code, 0) << check.output;
  EXPECT_NE(check.output.find("webhook.yaml: ok, 1 job type(s)"), std::string::npos) << check.output;
  Finished usage = RunToEnd(std::string(TREATY_WEBHOOK));
  EXPECT_EQ(usage.code, 2);
  EXPECT_NE(usage.output.find("usage: treaty-webhook --config FILE"), std::string::npos) << usage.output;
}

}  // namespace
}  // namespace treaty::testing
