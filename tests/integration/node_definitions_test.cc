// treatyd's definitions folder (YAML on the reference runtime, modules
// built by `treatyc build`), the Definitions and Node services, the health
// service, event filters, and the config file.
#include <gtest/gtest.h>

#include <grpcpp/generic/generic_stub.h>
#include <sqlite3.h>

#include <condition_variable>
#include <filesystem>
#include <fstream>

#include "treaty/v1/treaty.grpc.pb.h"
#include "local_network.h"
#include "node_client.h"
#include "treatyd_process.h"

namespace treaty::testing {
namespace {

namespace pb = ::treaty::v1;
namespace fs = std::filesystem;

const char* kTiny = R"(process: tiny
version: 2
roles: [clerk]
data:
  n: { type: integer }
states:
  open: { initial: true }
  closed: { final: true }
steps:
  close: { from: open, to: closed, by: clerk, input: { n: integer }, guard: "input.n > 0", set: { n: input.n } }
)";

TEST(NodeDefinitions, LoadsYamlAndModulesFromTheDefinitionsFolder) {
  TempDir dir;
  fs::create_directories(dir.path() + "/defs");
  std::ofstream(dir.path() + "/defs/tiny.yaml") << kTiny;
  std::string claims = std::string(TREATY_SOURCE_DIR) + "/tests/data/machines/claims.yaml";
  std::string cmd = std::string(TREATY_TREATYC) + " build " + claims + " -o " + dir.path() + "/defs/claims.so";
  ASSERT_EQ(std::system(cmd.c_str()), 0) << cmd;

  TreatydProcess node(dir.path() + "/node", {"--definitions", dir.path() + "/defs"});
  ASSERT_TRUE(node.Start()) << node.Log();
  auto defs = pb::Definitions::NewStub(node.channel());
  pb::ListDefinitionsResponse list;
  grpc::ClientContext ctx;
  ASSERT_TRUE(defs->ListDefinitions(&ctx, pb::ListDefinitionsRequest(), &list).ok());
  std::map<std::string, std::string> runtimes;
  for (const auto& d : list.definitions()) runtimes[d.name()] = d.runtime();
  EXPECT_EQ(runtimes["tiny"], "reference");
  EXPECT_EQ(runtimes["insurance-claim"], "msm");
  EXPECT_EQ(runtimes["purchase-order"], "msm");

  pb::GetDefinitionRequest get;
  get.set_name("tiny");
  pb::Definition tiny;
  grpc::ClientContext gctx;
  ASSERT_TRUE(defs->GetDefinition(&gctx, get, &tiny).ok());
  EXPECT_EQ(tiny.version(), 2);
  EXPECT_NE(tiny.graph_dot().find("\"open\" -> \"closed\""), std::string::npos) << tiny.graph_dot();
  EXPECT_NE(tiny.canonical_json().find("\"process\":\"tiny\""), std::string::npos);

  // Both run instances.
  auto p = pb::Processes::NewStub(node.channel());
  for (const char* def : {"tiny", "insurance-claim"}) {
    pb::StartProcessRequest req;
    req.set_definition(def);
    req.set_instance_id(std::string("i-") + def);
    pb::StartProcessResponse resp;
    grpc::ClientContext c;
    ASSERT_TRUE(p->StartProcess(&c, req, &resp).ok()) << def;
  }
  pb::TriggerStepRequest step;
  step.set_instance_id("i-tiny");
  step.set_step("close");
  step.set_input_json(R"({"n":0})");
  pb::TriggerStepResponse sresp;
  grpc::ClientContext c1;
  auto st = p->TriggerStep(&c1, step, &sresp);
  EXPECT_EQ(st.error_code(), grpc::FAILED_PRECONDITION);
  EXPECT_EQ(st.error_message(), "guard of step 'close' is false: input.n > 0");
  step.set_input_json(R"({"n":3})");
  grpc::ClientContext c2;
  ASSERT_TRUE(p->TriggerStep(&c2, step, &sresp).ok());
  EXPECT_TRUE(sresp.instance().final());
  EXPECT_EQ(sresp.instance().data_json(), R"({"n":3})");
}

TEST(NodeDefinitions, InvalidDefinitionInTheFolderStopsTheStart) {
  TempDir dir;
  fs::create_directories(dir.path() + "/defs");
  std::ofstream(dir.path() + "/defs/bad.yaml") << "process: bad\nversion: 1\nroles: [a]\nstates: {}\nsteps: {}\n";
  TreatydProcess node(dir.path() + "/node", {"--definitions", dir.path() + "/defs"});
  EXPECT_FALSE(node.Start());
  EXPECT_NE(node.Log().find("bad.yaml"), std::string::npos) << node.Log();
}

TEST(NodeDefinitions, ConfigFileHealthStatusAndEventFilters) {
  TempDir dir;
  std::ofstream(dir.path() + "/treatyd.yaml") << "party: acme\nsync: normal\n";
  TreatydProcess node(dir.path() + "/node", {"--config", dir.path() + "/treatyd.yaml"});
  ASSERT_TRUE(node.Start()) << node.Log();

  // grpc.health.v1.Health/Check through a generic stub (no generated code needed).
  grpc::GenericStub generic(node.channel());
  grpc::Slice no_bytes{std::string()};
  grpc::ByteBuffer req(&no_bytes, 1), resp;
  grpc::ClientContext hctx;
  std::mutex m;
  std::condition_variable cv;
  bool done = false;
  grpc::Status hst;
  generic.UnaryCall(&hctx, "/grpc.health.v1.Health/Check", grpc::StubOptions(), &req, &resp, [&](grpc::Status s) {
    std::lock_guard<std::mutex> l(m);
    hst = s;
    done = true;
    cv.notify_one();
  });
  {
    std::unique_lock<std::mutex> l(m);
    cv.wait(l, [&] { return done; });
  }
  EXPECT_TRUE(hst.ok()) << hst.error_message();

  auto n = pb::Node::NewStub(node.channel());
  pb::StatusResponse status;
  grpc::ClientContext sctx;
  ASSERT_TRUE(n->Status(&sctx, pb::StatusRequest(), &status).ok());
  EXPECT_EQ(status.party(), "acme");
  EXPECT_EQ(status.version(), "0.1.0");

  auto p = pb::Processes::NewStub(node.channel());
  for (const char* id : {"a", "b"}) {
    pb::StartProcessRequest r;
    r.set_definition("purchase-order");
    r.set_instance_id(id);
    pb::StartProcessResponse sr;
    grpc::ClientContext c;
    ASSERT_TRUE(p->StartProcess(&c, r, &sr).ok());
    EXPECT_EQ(sr.instance().roles(0).party(), "acme");
  }
  auto events = pb::Events::NewStub(node.channel());
  auto collect = [&](pb::SubscribeRequest r, size_t n_events) {
    grpc::ClientContext c;
    c.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(2));
    auto reader = events->Subscribe(&c, r);
    std::vector<pb::Event> out;
    pb::Event e;
    while (out.size() < n_events && reader->Read(&e)) out.push_back(e);
    c.TryCancel();
    return out;
  };
  pb::SubscribeRequest by_instance;
  by_instance.set_instance_id("b");
  auto got = collect(by_instance, 1);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].instance_id(), "b");
  EXPECT_EQ(got[0].type(), "instance_started");
  pb::SubscribeRequest from_offset;
  from_offset.set_from_offset(2);
  got = collect(from_offset, 1);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].offset(), 2u);
  // from_now sees only what happens after it subscribed.
  pb::SubscribeRequest now;
  now.set_from_now(true);
  now.add_types("instance_started");
  std::thread later([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    pb::StartProcessRequest r;
    r.set_definition("purchase-order");
    r.set_instance_id("c");
    pb::StartProcessResponse sr;
    grpc::ClientContext c;
    (void)p->StartProcess(&c, r, &sr);
  });
  got = collect(now, 1);
  later.join();
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].instance_id(), "c");
}

}  // namespace
}  // namespace treaty::testing

namespace treaty::testing {
namespace {

TEST(NodeStartup, RefusesADataFolderOfAnotherVersionOrParty) {
  TempDir dir;
  {
    TreatydProcess node(dir.path() + "/node", {"--party", "acme"});
    ASSERT_TRUE(node.Start()) << node.Log();
    ASSERT_EQ(node.Stop(), 0);
  }
  {
    TreatydProcess other(dir.path() + "/node", {"--party", "globex"});
    EXPECT_FALSE(other.Start());
    EXPECT_NE(other.Log().find("belongs to party 'acme', not 'globex'"), std::string::npos) << other.Log();
  }
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open((dir.path() + "/node/node.db").c_str(), &db), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(db, "UPDATE meta SET value = '99' WHERE key = 'schema_version'", nullptr, nullptr, nullptr),
            SQLITE_OK);
  sqlite3_close(db);
  TreatydProcess node(dir.path() + "/node", {"--party", "acme"});
  EXPECT_FALSE(node.Start());
  EXPECT_NE(node.Log().find("was written by an incompatible version (schema 99, this treatyd uses 5)"),
            std::string::npos)
      << node.Log();
}

TEST(NodeStartup, RefusesASchema2FolderUnchanged) {
  // Schema 3 keeps history and events in one journal: a folder of the
  // earlier layout is refused, not half-read, and left as it was.
  TempDir dir;
  {
    TreatydProcess node(dir.path() + "/node", {"--party", "acme"});
    ASSERT_TRUE(node.Start()) << node.Log();
    ASSERT_EQ(node.Stop(), 0);
  }
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open((dir.path() + "/node/node.db").c_str(), &db), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(db, "UPDATE meta SET value = '2' WHERE key = 'schema_version'", nullptr, nullptr, nullptr),
            SQLITE_OK);
  sqlite3_close(db);
  auto before = QueryDb(dir.path() + "/node/node.db", "SELECT COUNT(*) FROM sqlite_master");
  TreatydProcess node(dir.path() + "/node", {"--party", "acme"});
  EXPECT_FALSE(node.Start());
  EXPECT_NE(node.Log().find("was written by an incompatible version (schema 2, this treatyd uses 5)"),
            std::string::npos)
      << node.Log();
  EXPECT_EQ(QueryDb(dir.path() + "/node/node.db", "SELECT COUNT(*) FROM sqlite_master"), before);
}

}  // namespace
}  // namespace treaty::testing

namespace treaty::testing {
namespace {

TEST(NodeInit, CreatesAPrivateIdentityOnceAndPrintsTheNetworkEntry) {
  TempDir dir;
  std::string cmd = std::string(TREATY_TREATYD) + " init --data " + dir.path() + "/acme --party acme 2>&1";
  FILE* p = popen(cmd.c_str(), "r");
  char buf[1024];
  std::string out;
  while (fgets(buf, sizeof buf, p)) out += buf;
  ASSERT_EQ(pclose(p), 0) << out;
  EXPECT_EQ(out.rfind("- name: acme\n  signing_key: 0", 0), 0u) << out;
  std::string path = dir.path() + "/acme/identity.json";
  EXPECT_EQ(fs::status(path).permissions() & fs::perms::all, fs::perms::owner_read | fs::perms::owner_write);
  std::ifstream f(path);
  std::string identity((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  EXPECT_NE(identity.find("\"signing_secret\":\""), std::string::npos);
  // Never overwritten.
  EXPECT_NE(std::system((std::string(TREATY_TREATYD) + " init --data " + dir.path() + "/acme --party acme 2>/dev/null").c_str()), 0);
  std::ifstream again(path);
  std::string same((std::istreambuf_iterator<char>(again)), std::istreambuf_iterator<char>());
  EXPECT_EQ(same, identity);
}

// --batch-latency (or batch_latency in the config file) bounds how long a
// batch gathers; anything but 0-1000 whole milliseconds is refused before
// the node touches its folder.
TEST(NodeStartup, TakesABatchLatencyAndRefusesABadOne) {
  TempDir dir;
  for (const std::string bad : {"soon", "-1", "1001", "2ms", ""}) {
    TreatydProcess node(dir.path() + "/bad", {"--batch-latency", bad});
    EXPECT_FALSE(node.Start()) << bad;
    EXPECT_NE(node.Log().find("--batch-latency must be a whole number of milliseconds from 0 to 1000, not '" + bad +
                              "'"),
              std::string::npos)
        << node.Log();
  }
  EXPECT_FALSE(std::filesystem::exists(dir.path() + "/bad/node.db"));
  {
    std::ofstream(dir.path() + "/bad.yaml") << "batch_latency: later\n";
    TreatydProcess node(dir.path() + "/bad", {"--config", dir.path() + "/bad.yaml"});
    EXPECT_FALSE(node.Start());
    EXPECT_NE(node.Log().find("batch_latency in " + dir.path() +
                              "/bad.yaml must be a whole number of milliseconds from 0 to 1000, not 'later'"),
              std::string::npos)
        << node.Log();
  }
  // Sealing at once (0) and a value from the config file both run steps.
  std::ofstream(dir.path() + "/ok.yaml") << "batch_latency: 7\n";
  const std::vector<std::vector<std::string>> good = {{"--batch-latency", "0"}, {"--config", dir.path() + "/ok.yaml"}};
  for (size_t i = 0; i < good.size(); ++i) {
    const auto& args = good[i];
    TreatydProcess node(dir.path() + "/node-" + std::to_string(i), args);
    ASSERT_TRUE(node.Start()) << node.Log();
    NodeClient client(node.channel());
    ASSERT_TRUE(client.Start("po-1").ok());
    pb::TriggerStepResponse r;
    ASSERT_TRUE(client.Step("po-1", "submit", R"({"po_number":"PO-1","items":[{"sku":"A-1","qty":2}],"total":250})", "",
                            &r)
                    .ok());
    EXPECT_EQ(r.outcome(), pb::CONFIRMED) << args[0];
  }
}

TEST(NodeStartup, UpgradesASchema3FolderAndOpensTheTasksItsInstancesWaitFor) {
  // Schema 4 adds the task tables: a schema 3 folder is upgraded in place,
  // and an order waiting in `submitted` gets its accept task, once.
  TempDir dir;
  {
    TreatydProcess node(dir.path() + "/node", {"--party", "acme"});
    ASSERT_TRUE(node.Start()) << node.Log();
    NodeClient c(node.channel());
    ASSERT_TRUE(c.Start("old-1").ok());
    ASSERT_TRUE(c.Step("old-1", "submit", R"({"po_number":"PO-old","items":[{"sku":"A","qty":1}],"total":5})").ok());
    ASSERT_EQ(node.Stop(), 0);
  }
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open((dir.path() + "/node/node.db").c_str(), &db), SQLITE_OK);
  // What schema 3 had: no task tables, no task events.
  ASSERT_EQ(sqlite3_exec(db,
                         "DROP TABLE tasks; DROP TABLE task_candidates; DELETE FROM journal WHERE type LIKE 'task_%'; "
                         "UPDATE meta SET value = '3' WHERE key = 'schema_version'",
                         nullptr, nullptr, nullptr),
            SQLITE_OK);
  sqlite3_close(db);
  for (int run = 0; run < 2; ++run) {
    TreatydProcess node(dir.path() + "/node", {"--party", "acme"});
    ASSERT_TRUE(node.Start()) << node.Log();
    auto tasks = pb::Tasks::NewStub(node.channel());
    pb::SearchTasksRequest req;
    pb::SearchTasksResponse resp;
    grpc::ClientContext ctx;
    ASSERT_TRUE(tasks->SearchTasks(&ctx, req, &resp).ok());
    ASSERT_EQ(resp.tasks_size(), 1) << "run " << run;
    EXPECT_EQ(resp.tasks(0).task_id(), "old-1:1:accept");
    EXPECT_EQ(resp.tasks(0).state(), pb::TASK_OPEN);
    ASSERT_EQ(node.Stop(), 0);
  }
  auto version = QueryDb(dir.path() + "/node/node.db", "SELECT value FROM meta WHERE key = 'schema_version'");
  ASSERT_EQ(version.size(), 1u);
  EXPECT_EQ(version[0][0], "5");
}

TEST(NodeStartup, UpgradesASchema4FolderAndOpensTheJobsItsInstancesWaitFor) {
  // Schema 5 adds the jobs table: a schema 4 folder is upgraded in place,
  // and a loan waiting in `applied` gets its credit-check job, once.
  TempDir dir;
  ASSERT_EQ(std::system(("mkdir -p " + dir.path() + "/defs && cp " + std::string(TREATY_SOURCE_DIR) +
                         "/examples/loan/loan.yaml " + dir.path() + "/defs/")
                            .c_str()),
            0);
  std::vector<std::string> args = {"--party", "acme", "--definitions", dir.path() + "/defs"};
  {
    TreatydProcess node(dir.path() + "/node", args);
    ASSERT_TRUE(node.Start()) << node.Log();
    NodeClient c(node.channel());
    ASSERT_TRUE(c.Start("loan-old", {}, nullptr, "loan").ok());
    ASSERT_TRUE(c.Step("loan-old", "apply", R"({"applicant":"Ada","amount":10})").ok());
    ASSERT_EQ(node.Stop(), 0);
  }
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open((dir.path() + "/node/node.db").c_str(), &db), SQLITE_OK);
  // What schema 4 had: no jobs table, no job events.
  ASSERT_EQ(sqlite3_exec(db,
                         "DROP TABLE jobs; DELETE FROM journal WHERE type LIKE 'job_%'; "
                         "UPDATE meta SET value = '4' WHERE key = 'schema_version'",
                         nullptr, nullptr, nullptr),
            SQLITE_OK);
  sqlite3_close(db);
  for (int run = 0; run < 2; ++run) {
    TreatydProcess node(dir.path() + "/node", args);
    ASSERT_TRUE(node.Start()) << node.Log();
    auto jobs = pb::Jobs::NewStub(node.channel());
    pb::SearchJobsRequest req;
    pb::SearchJobsResponse resp;
    grpc::ClientContext ctx;
    ASSERT_TRUE(jobs->SearchJobs(&ctx, req, &resp).ok());
    ASSERT_EQ(resp.jobs_size(), 1) << "run " << run;
    EXPECT_EQ(resp.jobs(0).key(), "loan-old:1:check");
    EXPECT_EQ(resp.jobs(0).state(), pb::JOB_ACTIVATABLE);
    EXPECT_EQ(resp.jobs(0).retries(), 3);
    ASSERT_EQ(node.Stop(), 0);
  }
  EXPECT_TRUE(QueryDb(dir.path() + "/node/node.db", "SELECT 1 FROM meta WHERE key = 'jobs_backfill'").empty());
}

}  // namespace
}  // namespace treaty::testing
