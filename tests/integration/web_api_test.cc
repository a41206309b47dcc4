// treaty-web's JSON HTTP API (docs/web.md) against a real treatyd and a
// real treaty-web process on 127.0.0.1: every route, the gRPC → HTTP error
// mapping (unknown instance 404 with the node's message, bad JSON 400, a
// step the ledger rejected 409 REJECTED, preflight failures by their
// code), events as Server-Sent Events ending when the client goes, SVG
// diagrams with the active states highlighted, 413 for oversized bodies,
// 404 for unknown routes, garbage that leaves the daemon answering, and
// the route table against adapters/web/openapi.yaml.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>
#include <httplib.h>
#include <yaml-cpp/yaml.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <functional>
#include <mutex>
#include <regex>
#include <set>
#include <sstream>
#include <thread>

#include <nlohmann/json.hpp>

#include "treatyd_process.h"

namespace treaty::testing {
namespace {

using nlohmann::json;
using Clock = std::chrono::steady_clock;

// A job of type `score` waits in `applied` (from docs/jobs.md's tests).
const char* kCheck = R"(process: check
version: 1
roles: [applicant, bank]
data:
  score: { type: integer }
states:
  applied: { initial: true }
  checked: { final: true }
  declined: { final: true }
steps:
  check:
    from: applied
    to: checked
    by: bank
    input: { score: { type: integer, minimum: 0 } }
    set: { score: input.score }
    task:
      job:
        type: score
        retries: 3
        backoff: 100ms
        timeout: 20s
        errors: { DECLINED: decline }
  decline: { from: applied, to: declined, by: bank }
)";

std::string SubmitInput(const std::string& po) {
  return json({{"po_number", po}, {"items", {{{"sku", "A-1"}, {"qty", 2}}}}, {"total", 250}}).dump();
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

// Sends raw bytes on a new connection and reads what comes back until the
// server closes or 2 s pass.
std::string RawExchange(int port, const std::string& bytes) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = htons(static_cast<uint16_t>(port));
  if (connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
    close(fd);
    return "";
  }
  timeval tv{2, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  (void)!send(fd, bytes.data(), bytes.size(), MSG_NOSIGNAL);
  shutdown(fd, SHUT_WR);
  std::string out;
  char buf[4096];
  ssize_t n;
  while ((n = recv(fd, buf, sizeof buf, 0)) > 0) out.append(buf, static_cast<size_t>(n));
  close(fd);
  return out;
}

// A started treaty-web against `node`, on a free port.
struct WebProcess {
  WebProcess(const std::string& dir, const std::string& node, std::vector<std::string> extra = {}) {
    port = FreePort();
    log = dir + "/treaty-web-" + std::to_string(port) + ".log";
    std::vector<std::string> args = {TREATY_WEB, "--node", node, "--listen", "127.0.0.1:" + std::to_string(port),
                                     "--heartbeat-ms", "300"};
    args.insert(args.end(), extra.begin(), extra.end());
    proc = std::make_unique<ChildProcess>(args, log);
  }
  bool Start() { return proc->Start() && Eventually([&] { return Accepts(port); }, std::chrono::seconds(10)); }
  int port = 0;
  std::string log;
  std::unique_ptr<ChildProcess> proc;
};

struct Answer {
  int status = 0;
  std::string content_type;
  std::string body;
  json j;  // the body parsed, when it is JSON
};

class WebApi : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new TempDir();
    std::string defs = dir_->path() + "/defs";
    std::string console = dir_->path() + "/console";
    ASSERT_EQ(std::system(("mkdir -p " + defs + " " + console).c_str()), 0);
    std::ofstream(defs + "/check.yaml") << kCheck;
    std::ofstream(console + "/index.html") << "<!doctype html><title>test console</title>\n";
    node_ = new TreatydProcess(dir_->path() + "/node", {"--definitions", defs});
    ASSERT_TRUE(node_->Start()) << node_->Log();
    web_ = new WebProcess(dir_->path(), node_->address(), {"--console", console});
    ASSERT_TRUE(web_->Start()) << ReadFile(web_->log);
  }
  static void TearDownTestSuite() {
    if (web_ != nullptr) {
      EXPECT_EQ(web_->proc->Stop(), 0) << ReadFile(web_->log);  // SIGTERM ends it cleanly
    }
    delete web_;
    delete node_;
    delete dir_;
  }
  void TearDown() override {
    // Whatever a test sent, the daemon still runs.
    if (web_ != nullptr) {
      EXPECT_TRUE(web_->proc->running()) << ReadFile(web_->log);
    }
  }

  static Answer Call(const std::string& method, const std::string& path, const std::string& body = "",
                     int port = 0) {
    httplib::Client c("127.0.0.1", port ? port : web_->port);
    c.set_read_timeout(60, 0);
    httplib::Result r = method == "GET"    ? c.Get(path)
                        : method == "POST" ? c.Post(path, body, "application/json")
                                           : c.Patch(path, body, "application/json");
    Answer a;
    if (!r) return a;
    a.status = r->status;
    a.content_type = r->get_header_value("Content-Type");
    a.body = r->body;
    if (a.content_type.rfind("application/json", 0) == 0) a.j = json::parse(a.body, nullptr, false);
    return a;
  }
  static Answer Get(const std::string& path) { return Call("GET", path); }
  static Answer Post(const std::string& path, const json& body) { return Call("POST", path, body.dump()); }

  // An order started and submitted through the API.
  static void Submitted(const std::string& id) {
    Answer a = Post("/api/v1/instances", {{"definition", "purchase-order"}, {"instance_id", id}});
    ASSERT_EQ(a.status, 200) << a.body;
    a = Post("/api/v1/instances/" + id + "/steps/submit", {{"input_json", SubmitInput("PO-" + id)}});
    ASSERT_EQ(a.status, 200) << a.body;
  }

  static TempDir* dir_;
  static TreatydProcess* node_;
  static WebProcess* web_;
};

TempDir* WebApi::dir_ = nullptr;
TreatydProcess* WebApi::node_ = nullptr;
WebProcess* WebApi::web_ = nullptr;

// The error body's code and message, as the API defines them.
#define EXPECT_ERROR(answer, http, code_name)                                         \
  do {                                                                                \
    EXPECT_EQ((answer).status, http) << (answer).body;                                \
    EXPECT_EQ((answer).content_type, "application/json") << (answer).body;            \
    EXPECT_EQ((answer).j["error"]["code"], code_name) << (answer).body;               \
    EXPECT_TRUE((answer).j["error"]["message"].is_string()) << (answer).body;         \
  } while (0)

TEST_F(WebApi, RouteTableIsTheOpenApiFile) {
  std::set<std::string> served;
  FILE* p = popen((std::string(TREATY_WEB) + " --routes").c_str(), "r");
  ASSERT_NE(p, nullptr);
  char line[512];
  while (fgets(line, sizeof line, p)) {
    std::istringstream s(line);
    std::string method, path;
    s >> method >> path;
    served.insert(method + " " + path);
  }
  ASSERT_EQ(pclose(p), 0);
  std::set<std::string> documented;
  YAML::Node api = YAML::LoadFile(std::string(TREATY_SOURCE_DIR) + "/adapters/web/openapi.yaml");
  for (const auto& path : api["paths"]) {
    for (const auto& op : path.second) {
      std::string method = op.first.as<std::string>();
      if (method == "parameters") continue;
      for (auto& ch : method) ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
      documented.insert(method + " " + path.first.as<std::string>());
    }
  }
  EXPECT_EQ(served, documented);
  EXPECT_GE(served.size(), 28u);
  // And the running server answers each of them (with something other
  // than "no route"), path parameters filled with a name that exists nowhere.
  for (const auto& r : documented) {
    std::string method = r.substr(0, r.find(' '));
    std::string path = std::regex_replace(r.substr(r.find(' ') + 1), std::regex("\\{[a-z_]+\\}"), "none");
    if (path == "/api/v1/events") continue;  // a stream: below
    Answer a = Call(method, path, "{}");
    EXPECT_NE(a.status, 0) << r;
    if (a.status == 404) {
      EXPECT_EQ(a.j["error"]["message"].get<std::string>().find("no route"), std::string::npos) << r;
    }
  }
}

TEST_F(WebApi, StatusAndDefinitions) {
  Answer a = Get("/api/v1/status");
  ASSERT_EQ(a.status, 200) << a.body;
  EXPECT_TRUE(a.j["party"].is_string());
  EXPECT_TRUE(a.j.contains("ledger_height"));  // printed even when 0
  EXPECT_TRUE(a.j["blocked_instances"].is_array());

  a = Get("/api/v1/definitions");
  ASSERT_EQ(a.status, 200) << a.body;
  std::set<std::string> names;
  for (const auto& d : a.j["definitions"]) names.insert(d["name"].get<std::string>());
  EXPECT_TRUE(names.count("purchase-order")) << a.body;
  EXPECT_TRUE(names.count("check")) << a.body;

  a = Get("/api/v1/definitions/purchase-order?version=1");
  ASSERT_EQ(a.status, 200) << a.body;
  EXPECT_EQ(a.j["name"], "purchase-order");
  EXPECT_NE(a.j["graph_dot"].get<std::string>().find("digraph"), std::string::npos);

  // Query parameters are typed by the request's fields.
  a = Get("/api/v1/definitions/purchase-order?version=one");
  EXPECT_ERROR(a, 400, "BAD_PARAMETER");
  EXPECT_NE(a.j["error"]["message"].get<std::string>().find("'version'"), std::string::npos) << a.body;
  a = Get("/api/v1/definitions/purchase-order?colour=red");
  EXPECT_ERROR(a, 400, "BAD_PARAMETER");
  EXPECT_NE(a.j["error"]["message"].get<std::string>().find("'colour'"), std::string::npos) << a.body;
  EXPECT_ERROR(Get("/api/v1/definitions/no-such-process"), 404, "NOT_FOUND");
}

TEST_F(WebApi, PurchaseOrderThroughTheApiWithItsTask) {
  Answer a = Post("/api/v1/instances", {{"definition", "purchase-order"}, {"instance_id", "web-1"}});
  ASSERT_EQ(a.status, 200) << a.body;
  EXPECT_EQ(a.j["outcome"], "CONFIRMED");
  EXPECT_EQ(a.j["instance"]["states"], json::array({"draft"}));
  a = Post("/api/v1/instances/web-1/steps/submit", {{"input_json", SubmitInput("PO-web-1")}});
  ASSERT_EQ(a.status, 200) << a.body;
  EXPECT_EQ(a.j["instance"]["states"], json::array({"submitted"}));
  EXPECT_NE(a.j["ledger_height"], "0");

  a = Get("/api/v1/instances/web-1");
  ASSERT_EQ(a.status, 200) << a.body;
  EXPECT_EQ(a.j["position"], "1");
  a = Get("/api/v1/instances?definition=purchase-order&state=submitted&where=" +
          httplib::detail::encode_query_param("data.po_number == \"PO-web-1\"") + "&page_size=10");
  ASSERT_EQ(a.status, 200) << a.body;
  ASSERT_EQ(a.j["instances"].size(), 1u) << a.body;
  EXPECT_EQ(a.j["instances"][0]["instance_id"], "web-1");
  EXPECT_ERROR(Get("/api/v1/instances?page_size=ten"), 400, "BAD_PARAMETER");
  EXPECT_ERROR(Get("/api/v1/instances?where=" + httplib::detail::encode_query_param("data.total >")), 400,
               "INVALID_ARGUMENT");

  a = Get("/api/v1/instances/web-1/history");
  ASSERT_EQ(a.status, 200) << a.body;
  ASSERT_EQ(a.j["entries"].size(), 2u);
  EXPECT_EQ(a.j["entries"][1]["step"], "submit");
  EXPECT_FALSE(a.j["entries"][1]["state_hash"].get<std::string>().empty());

  // The seller's accept is a human task in sales-approvals.
  a = Get("/api/v1/tasks?queue=sales-approvals&states=TASK_OPEN,TASK_CLAIMED&instance_id=web-1");
  ASSERT_EQ(a.status, 200) << a.body;
  ASSERT_EQ(a.j["tasks"].size(), 1u) << a.body;
  std::string task = a.j["tasks"][0]["task_id"];
  EXPECT_EQ(a.j["tasks"][0]["step"], "accept");
  EXPECT_ERROR(Get("/api/v1/tasks?states=TASK_SLEEPING"), 400, "BAD_PARAMETER");
  std::string t = "/api/v1/tasks/" + task;
  a = Get(t);
  ASSERT_EQ(a.status, 200) << a.body;
  EXPECT_EQ(a.j["task"]["state"], "TASK_OPEN");
  EXPECT_EQ(a.j["instance"]["instance_id"], "web-1");
  EXPECT_TRUE(a.j["input_schema_json"].is_string());

  a = Post(t + "/claim", {{"assignee", "ann"}});
  ASSERT_EQ(a.status, 200) << a.body;
  EXPECT_EQ(a.j["state"], "TASK_CLAIMED");
  EXPECT_EQ(a.j["assignee"], "ann");
  // Held by ann: bob's claim is refused with the node's reason.
  a = Post(t + "/claim", {{"assignee", "bob"}});
  EXPECT_ERROR(a, 412, "FAILED_PRECONDITION");
  a = Post(t + "/unclaim", json::object());
  ASSERT_EQ(a.status, 200) << a.body;
  EXPECT_EQ(a.j["state"], "TASK_OPEN");
  a = Post(t + "/assign", {{"assignee", "bob"}});
  ASSERT_EQ(a.status, 200) << a.body;
  EXPECT_EQ(a.j["assignee"], "bob");
  a = Call("PATCH", t, json({{"priority", 80}, {"candidate_groups", {{"names", {"sales"}}}}}).dump());
  ASSERT_EQ(a.status, 200) << a.body;
  EXPECT_EQ(a.j["priority"], 80);
  EXPECT_EQ(a.j["candidate_groups"], json::array({"sales"}));
  a = Post(t + "/complete", {{"assignee", "bob"}});
  ASSERT_EQ(a.status, 200) << a.body;
  EXPECT_EQ(a.j["outcome"], "CONFIRMED");
  EXPECT_EQ(a.j["task"]["state"], "TASK_COMPLETED");
  EXPECT_EQ(a.j["instance"]["states"], json::array({"accepted"}));

  // A preflight refusal maps by its gRPC code: the guard is false (412),
  // the input breaks the step's schema (400); nothing is proposed.
  a = Post("/api/v1/instances/web-1/steps/pay", {{"input_json", R"({"amount":1})"}});
  EXPECT_ERROR(a, 412, "FAILED_PRECONDITION");
  a = Post("/api/v1/instances/web-1/steps/pay", {{"input_json", R"({"amount":"lots"})"}});
  EXPECT_ERROR(a, 400, "INVALID_ARGUMENT");
  a = Post("/api/v1/instances/web-1/steps/pay", {{"input_json", R"({"amount":250})"}});
  ASSERT_EQ(a.status, 200) << a.body;
  EXPECT_EQ(a.j["instance"]["final"], true);
  EXPECT_EQ(Get("/api/v1/instances/web-1/history").j["entries"].size(), 4u);
}

TEST_F(WebApi, ErrorsAreJsonWithTheNodesMessage) {
  Answer a = Get("/api/v1/instances/no-such-order");
  EXPECT_ERROR(a, 404, "NOT_FOUND");
  EXPECT_NE(a.j["error"]["message"].get<std::string>().find("no instance 'no-such-order'"), std::string::npos)
      << a.body;
  EXPECT_ERROR(Get("/api/v1/instances/no-such-order/history"), 404, "NOT_FOUND");
  EXPECT_ERROR(Get("/api/v1/instances/no-such-order/diagram.svg"), 404, "NOT_FOUND");
  EXPECT_ERROR(Post("/api/v1/instances/no-such-order/steps/submit", json::object()), 404, "NOT_FOUND");

  a = Call("POST", "/api/v1/instances", "{\"definition\": \"purchase-order\", ");
  EXPECT_ERROR(a, 400, "BAD_JSON");
  EXPECT_NE(a.j["error"]["message"].get<std::string>().find("StartProcessRequest"), std::string::npos) << a.body;
  a = Call("POST", "/api/v1/instances", R"({"definition":"purchase-order","colour":"red"})");
  EXPECT_ERROR(a, 400, "BAD_JSON");
  EXPECT_NE(a.j["error"]["message"].get<std::string>().find("colour"), std::string::npos) << a.body;
  a = Call("POST", "/api/v1/instances", R"({"definition":"purchase-order","version":"x"})");
  EXPECT_ERROR(a, 400, "BAD_JSON");
  a = Call("POST", "/api/v1/instances", R"([1,2])");
  EXPECT_ERROR(a, 400, "BAD_JSON");
  EXPECT_ERROR(Post("/api/v1/instances", {{"definition", "no-such-process"}}), 404, "NOT_FOUND");
  EXPECT_ERROR(Post("/api/v1/instances", json::object()), 400, "INVALID_ARGUMENT");
  // A POST takes its fields in the body.
  EXPECT_ERROR(Call("POST", "/api/v1/instances?definition=purchase-order", ""), 400, "BAD_PARAMETER");
  // The same instance id twice.
  ASSERT_EQ(Post("/api/v1/instances", {{"definition", "purchase-order"}, {"instance_id", "web-dup"}}).status, 200);
  EXPECT_ERROR(Post("/api/v1/instances", {{"definition", "purchase-order"}, {"instance_id", "web-dup"}}), 409,
               "ALREADY_EXISTS");

  // Routes that do not exist: JSON 404s.
  a = Get("/api/v1/no-such-thing");
  EXPECT_ERROR(a, 404, "NOT_FOUND");
  EXPECT_NE(a.j["error"]["message"].get<std::string>().find("no route GET /api/v1/no-such-thing"),
            std::string::npos);
  EXPECT_ERROR(Call("POST", "/api/v1/status", "{}"), 404, "NOT_FOUND");
  EXPECT_ERROR(Call("PATCH", "/api/v1/instances/x", "{}"), 404, "NOT_FOUND");
  EXPECT_ERROR(Get("/api/v1/instances/a/b/c/d"), 404, "NOT_FOUND");
}

// Accept and cancel race from `submitted`: callers whose step passed the
// node's preflight are ordered by the ledger, and all but the first are
// rejected there — 409 REJECTED with the reason; those refused before
// anything was proposed get 412. The 409s are exactly the history's
// REJECTED entries.
TEST_F(WebApi, StepTheLedgerRejectedIs409WithTheReason) {
  constexpr int kRacers = 8;
  int rejected_seen = 0;
  for (int round = 0; round < 20 && rejected_seen == 0; ++round) {
    std::string id = "web-race-" + std::to_string(round);
    ASSERT_NO_FATAL_FAILURE(Submitted(id));
    std::vector<Answer> answers(kRacers);
    std::atomic<int> ready{0};
    std::vector<std::thread> threads;
    for (int i = 0; i < kRacers; ++i)
      threads.emplace_back([&, i] {
        ++ready;
        while (ready.load() < kRacers) std::this_thread::yield();
        answers[i] = Post("/api/v1/instances/" + id + "/steps/" + (i % 2 ? "accept" : "cancel"), json::object());
      });
    for (auto& t : threads) t.join();
    int ok = 0, rejected = 0;
    for (const auto& a : answers) {
      if (a.status == 200) {
        ++ok;
      } else if (a.status == 409) {
        ++rejected;
        EXPECT_EQ(a.j["error"]["code"], "REJECTED") << a.body;
        EXPECT_NE(a.j["error"]["message"].get<std::string>().find("is not allowed from state"), std::string::npos)
            << a.body;
        EXPECT_NE(a.j["error"]["message"].get<std::string>().find("rejected at ledger height"), std::string::npos)
            << a.body;
        // The node's StepRejection detail, not the message, made it a 409.
        const json& r = a.j["error"]["rejection"];
        EXPECT_EQ(r["instance_id"], id) << a.body;
        EXPECT_TRUE(r["step"] == "accept" || r["step"] == "cancel") << a.body;
        EXPECT_EQ(r["reject_code"], "NOT_FROM_STATE") << a.body;
        EXPECT_FALSE(r["proposal_id"].get<std::string>().empty()) << a.body;
        EXPECT_NE(r["ledger_height"], "0") << a.body;
      } else {
        EXPECT_FALSE(a.j["error"].contains("rejection")) << a.body;
        EXPECT_ERROR(a, 412, "FAILED_PRECONDITION");
      }
    }
    EXPECT_EQ(ok, 1) << id;
    int history_rejected = 0;
    Answer history = Get("/api/v1/instances/" + id + "/history");
    for (const auto& e : history.j["entries"])
      if (e["outcome"] == "REJECTED") ++history_rejected;
    EXPECT_EQ(rejected, history_rejected) << id;
    rejected_seen += rejected;
  }
  EXPECT_GT(rejected_seen, 0) << "no racer passed preflight in 20 rounds";
}

TEST_F(WebApi, EventsStreamAsServerSentEventsUntilTheClientGoes) {
  std::mutex mu;
  std::string received;
  std::atomic<bool> stop{false};
  std::thread reader([&] {
    httplib::Client c("127.0.0.1", web_->port);
    c.set_read_timeout(30, 0);
    c.Get("/api/v1/events?instance_id=web-ev&types=step_confirmed,instance_started",
          [&](const char* data, size_t n) {
            std::lock_guard<std::mutex> lock(mu);
            received.append(data, n);
            return !stop.load();
          });
  });
  auto seen = [&](const std::string& s) {
    std::lock_guard<std::mutex> lock(mu);
    return received.find(s) != std::string::npos;
  };
  ASSERT_TRUE(Eventually([&] { return seen(": subscribed"); }, std::chrono::seconds(10)));
  ASSERT_NO_FATAL_FAILURE(Submitted("web-ev"));
  ASSERT_TRUE(Eventually([&] { return seen("event: step_confirmed\n"); }, std::chrono::seconds(10))) << received;
  {
    std::lock_guard<std::mutex> lock(mu);
    // event, id, data: the Event in JSON, one block per event.
    std::smatch m;
    ASSERT_TRUE(std::regex_search(received, m, std::regex("event: step_confirmed\nid: ([0-9]+)\ndata: (.*)\n\n")))
        << received;
    json e = json::parse(m[2].str());
    EXPECT_EQ(e["type"], "step_confirmed");
    EXPECT_EQ(e["instance_id"], "web-ev");
    EXPECT_EQ(e["step"], "submit");
    EXPECT_EQ(e["offset"], m[1].str());
    EXPECT_NE(received.find("event: instance_started\n"), std::string::npos);
  }
  // The client goes: the daemon notices at its next write (heartbeats
  // every 300 ms here) and cancels the subscription.
  stop = true;
  reader.join();
  EXPECT_TRUE(Eventually([&] { return ReadFile(web_->log).find("closed: the client went away") != std::string::npos; },
                         std::chrono::seconds(5)))
      << ReadFile(web_->log);
  // A bad filter is a 400 before any stream starts.
  EXPECT_ERROR(Get("/api/v1/events?from_offset=-1"), 400, "BAD_PARAMETER");
}

TEST_F(WebApi, DiagramsHighlightTheActiveStates) {
  ASSERT_NO_FATAL_FAILURE(Submitted("web-svg"));
  Answer a = Get("/api/v1/instances/web-svg/diagram.svg");
  ASSERT_EQ(a.status, 200) << a.body;
  EXPECT_EQ(a.content_type, "image/svg+xml");
  ASSERT_NE(a.body.find("<svg"), std::string::npos);
  // Graphviz writes each node as <g id="nodeN" class="node[ CLASS]"><title>NAME</title>...
  auto node_group = [](const std::string& svg, const std::string& name) {
    std::smatch m;
    std::regex re("<g id=\"node[0-9]+\" class=\"([^\"]*)\">\\s*<title>" + name + "</title>([\\s\\S]*?)</g>");
    return std::regex_search(svg, m, re) ? m[1].str() + "|" + m[2].str() : std::string();
  };
  std::string submitted = node_group(a.body, "submitted");
  ASSERT_FALSE(submitted.empty()) << a.body;
  EXPECT_EQ(submitted.substr(0, submitted.find('|')), "node active");
  EXPECT_NE(submitted.find("fill=\"#ffd966\""), std::string::npos) << submitted;
  std::string draft = node_group(a.body, "draft");
  EXPECT_EQ(draft.substr(0, draft.find('|')), "node");
  EXPECT_EQ(draft.find("#ffd966"), std::string::npos);

  a = Get("/api/v1/definitions/purchase-order/diagram.svg?active=accepted,paid");
  ASSERT_EQ(a.status, 200) << a.body;
  EXPECT_EQ(node_group(a.body, "accepted").substr(0, 11), "node active");
  EXPECT_EQ(node_group(a.body, "paid").substr(0, 11), "node active");
  EXPECT_EQ(node_group(a.body, "submitted").substr(0, 5), "node|");
  a = Get("/api/v1/definitions/purchase-order/diagram.svg");
  ASSERT_EQ(a.status, 200);
  EXPECT_EQ(a.body.find("node active"), std::string::npos);
  EXPECT_ERROR(Get("/api/v1/definitions/purchase-order/diagram.svg?version=x"), 400, "BAD_PARAMETER");
}

TEST_F(WebApi, JobsAndIncidents) {
  Answer a = Post("/api/v1/instances", {{"definition", "check"}, {"instance_id", "web-job"}});
  ASSERT_EQ(a.status, 200) << a.body;
  std::string key = "web-job:0:check";
  std::string j = "/api/v1/jobs/" + key;
  a = Get("/api/v1/jobs?type=score&states=JOB_ACTIVATABLE&instance_id=web-job");
  ASSERT_EQ(a.status, 200) << a.body;
  ASSERT_EQ(a.j["jobs"].size(), 1u) << a.body;
  EXPECT_EQ(a.j["jobs"][0]["key"], key);
  a = Get(j);
  ASSERT_EQ(a.status, 200) << a.body;
  EXPECT_EQ(a.j["retries"], 3);

  a = Post("/api/v1/jobs/activate", {{"type", "score"}, {"worker", "w1"}, {"max_jobs", 5}});
  ASSERT_EQ(a.status, 200) << a.body;
  ASSERT_EQ(a.j["jobs"].size(), 1u) << a.body;
  EXPECT_EQ(a.j["jobs"][0]["state"], "JOB_ACTIVATED");
  a = Post(j + "/timeout", {{"timeout_ms", 60000}});
  ASSERT_EQ(a.status, 200) << a.body;
  // Failed with no retries left: an incident.
  a = Post(j + "/fail", {{"retries", 0}, {"error_message", "bureau down"}});
  ASSERT_EQ(a.status, 200) << a.body;
  EXPECT_EQ(a.j["state"], "JOB_INCIDENT");
  a = Get("/api/v1/incidents?instance_id=web-job");
  ASSERT_EQ(a.status, 200) << a.body;
  ASSERT_EQ(a.j["incidents"].size(), 1u) << a.body;
  // "<job key>#<n>": the '#' (and ':') percent-encoded in the path.
  std::string incident = httplib::detail::encode_query_param(a.j["incidents"][0]["incident_id"].get<std::string>());
  EXPECT_NE(a.j["incidents"][0]["message"].get<std::string>().find("bureau down"), std::string::npos) << a.body;
  // Resolving with 0 retries is refused until retries are given.
  EXPECT_ERROR(Post("/api/v1/incidents/" + incident + "/resolve", json::object()), 412, "FAILED_PRECONDITION");
  a = Post(j + "/retries", {{"retries", 2}});
  ASSERT_EQ(a.status, 200) << a.body;
  EXPECT_EQ(a.j["retries"], 2);
  a = Post("/api/v1/incidents/" + incident + "/resolve", json::object());
  ASSERT_EQ(a.status, 200) << a.body;
  EXPECT_EQ(a.j["resolved"], true);

  a = Post("/api/v1/jobs/activate", {{"type", "score"}, {"worker", "w1"}, {"max_jobs", 1}});
  ASSERT_EQ(a.j["jobs"].size(), 1u) << a.body;
  EXPECT_ERROR(Post(j + "/complete", {{"output_json", R"({"score":-1})"}}), 400, "INVALID_ARGUMENT");
  a = Post(j + "/complete", {{"output_json", R"({"score":640})"}});
  ASSERT_EQ(a.status, 200) << a.body;
  EXPECT_EQ(a.j["outcome"], "CONFIRMED");
  EXPECT_EQ(a.j["instance"]["states"], json::array({"checked"}));

  // A business error takes the step the definition maps it to.
  ASSERT_EQ(Post("/api/v1/instances", {{"definition", "check"}, {"instance_id", "web-job2"}}).status, 200);
  ASSERT_EQ(Post("/api/v1/jobs/activate", {{"type", "score"}, {"worker", "w1"}, {"max_jobs", 1}}).j["jobs"].size(), 1u);
  a = Post("/api/v1/jobs/web-job2:0:check/throw", {{"error_code", "DECLINED"}, {"error_message", "no"}});
  ASSERT_EQ(a.status, 200) << a.body;
  EXPECT_EQ(a.j["step"], "decline");
  EXPECT_EQ(a.j["instance"]["states"], json::array({"declined"}));
  EXPECT_ERROR(Get("/api/v1/jobs/no-such-job"), 404, "NOT_FOUND");
}

TEST_F(WebApi, BadInputNeverCrashesTheDaemon) {
  // A 2 MiB body: 413, JSON.
  Answer a = Call("POST", "/api/v1/instances", std::string(2 << 20, 'x'));
  EXPECT_ERROR(a, 413, "PAYLOAD_TOO_LARGE");
  // Garbage on the socket: no request line, binary, an endless header, a
  // lying Content-Length, a request cut short.
  for (const std::string& g :
       {std::string("\x00\x01\x02\xff\xfe garbage\r\n\r\n", 20), std::string("GET\r\n\r\n"),
        std::string("GET /api/v1/status HTTP/1.1\r\nX: ") + std::string(100000, 'a') + "\r\n\r\n",
        std::string("POST /api/v1/instances HTTP/1.1\r\nContent-Length: 99999999999999999999\r\n\r\n{}"),
        std::string("POST /api/v1/instances HTTP/1.1\r\nContent-Length: 100\r\n\r\n{\"defin"),
        std::string("GET /api/v1/instances/%ZZ%00 HTTP/1.1\r\n\r\n"), std::string(1 << 16, '\n')}) {
    std::string answer = RawExchange(web_->port, g);
    EXPECT_EQ(answer.find("terminate"), std::string::npos) << answer;
  }
  // Query strings with bad escapes and invalid UTF-8 in JSON.
  EXPECT_NE(Get("/api/v1/instances?where=%ff%fe").status, 0);
  EXPECT_ERROR(Call("POST", "/api/v1/instances", "{\"definition\":\"\xff\xfe\"}"), 400, "BAD_JSON");
  // Still serving.
  EXPECT_TRUE(web_->proc->running());
  EXPECT_EQ(Get("/api/v1/status").status, 200);
}

TEST_F(WebApi, ConsoleIsServedAtTheRoot) {
  Answer a = Get("/");
  ASSERT_EQ(a.status, 200) << a.body;
  EXPECT_NE(a.body.find("test console"), std::string::npos);
  EXPECT_EQ(Get("/index.html").status, 200);
  EXPECT_ERROR(Get("/no-such-file.js"), 404, "NOT_FOUND");
}

TEST_F(WebApi, NodeThatDoesNotAnswerIs503) {
  WebProcess lonely(dir_->path(), "127.0.0.1:" + std::to_string(FreePort()));
  ASSERT_TRUE(lonely.Start()) << ReadFile(lonely.log);
  Answer a = Call("GET", "/api/v1/status", "", lonely.port);
  EXPECT_ERROR(a, 503, "UNAVAILABLE");
  EXPECT_EQ(lonely.proc->Stop(), 0);
}

}  // namespace
}  // namespace treaty::testing
