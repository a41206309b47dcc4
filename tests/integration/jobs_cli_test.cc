// The `treaty` CLI's job commands (jobs, job show|activate|complete|fail|
// throw|retries|timeout, incidents, incident resolve, and the job counts of
// status) against a real treatyd on loopback running examples/loan: the
// bank's credit check is a job of type credit-check.
#include <gtest/gtest.h>

#include <sys/wait.h>

#include <cstdio>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "treatyd_process.h"

namespace treaty::testing {
namespace {

using nlohmann::json;

struct CliRun {
  int code;
  std::string out;  // stdout
  std::string err;  // stderr
};

class JobsCli : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string defs = dir_.path() + "/defs";
    ASSERT_EQ(std::system(("mkdir -p " + defs + " && cp " + std::string(TREATY_SOURCE_DIR) +
                           "/examples/loan/loan.yaml " + defs + "/")
                              .c_str()),
              0);
    node_ = std::make_unique<TreatydProcess>(dir_.path() + "/node", std::vector<std::string>{"--definitions", defs});
    ASSERT_TRUE(node_->Start()) << node_->Log();
  }

  // Runs `treaty --server NODE args` through the shell (args are quoted
  // as on a command line).
  CliRun Cli(const std::string& args) {
    std::string err_path = dir_.path() + "/cli.err";
    std::string cmd = std::string(TREATY_TREATY_CLI) + " --server " + node_->address() + " " + args + " 2>" + err_path;
    FILE* p = popen(cmd.c_str(), "r");
    std::string out;
    char buf[4096];
    size_t n;
    while ((n = fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
    int st = pclose(p);
    std::ifstream f(err_path);
    std::stringstream err;
    err << f.rdbuf();
    return {WIFEXITED(st) ? WEXITSTATUS(st) : -1, out, err.str()};
  }

  // The JSON objects a --json command printed, one per line.
  static std::vector<json> Lines(const CliRun& r) {
    std::vector<json> out;
    std::istringstream in(r.out);
    for (std::string line; std::getline(in, line);)
      if (!line.empty()) out.push_back(json::parse(line));
    return out;
  }

  // The line of a table that starts with `first`, or "".
  static std::string Row(const CliRun& r, const std::string& first) {
    std::istringstream in(r.out);
    for (std::string line; std::getline(in, line);)
      if (line.rfind(first + " ", 0) == 0) return line;
    return "";
  }

  // A loan applied for: its credit-check job opens at the bank (this node).
  void Applied(const std::string& id) {
    auto r = Cli("start loan --id " + id + " --role applicant=node --role bank=node");
    ASSERT_EQ(r.code, 0) << r.out << r.err;
    r = Cli("step " + id + " apply --input '{\"applicant\":\"Ada\",\"amount\":1000}'");
    ASSERT_EQ(r.code, 0) << r.out << r.err;
    ASSERT_NE(r.out.find("is now applied"), std::string::npos) << r.out;
  }

  // The key of the instance's credit-check job, read with `--json jobs`.
  std::string CheckKey(const std::string& id) {
    auto r = Cli("--json jobs --type credit-check --instance " + id);
    EXPECT_EQ(r.code, 0) << r.err;
    auto jobs = Lines(r);
    EXPECT_EQ(jobs.size(), 1u) << r.out;
    return jobs.empty() ? "" : jobs[0].value("key", "");
  }

  // The job as `--json job show` prints it.
  json Show(const std::string& key) {
    auto r = Cli("--json job show " + key);
    EXPECT_EQ(r.code, 0) << r.err;
    auto lines = Lines(r);
    return lines.empty() ? json::object() : lines[0];
  }

  TempDir dir_;
  std::unique_ptr<TreatydProcess> node_;
};

TEST_F(JobsCli, ActivatesFailsResolvesAndCompletesAJob) {
  Applied("loan-1");
  std::string key = CheckKey("loan-1");
  ASSERT_FALSE(key.empty());

  auto r = Cli("jobs --type credit-check");
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out.rfind("KEY", 0), 0u) << r.out;
  std::string row = Row(r, key);
  EXPECT_NE(row.find(" credit-check "), std::string::npos) << r.out;
  EXPECT_NE(row.find(" activatable "), std::string::npos) << r.out;
  // A filter that matches nothing leaves the header alone.
  r = Cli("jobs --type payout");
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(Row(r, key), "") << r.out;

  r = Cli("--json job activate --type credit-check --worker cli-worker --lease 60000");
  ASSERT_EQ(r.code, 0) << r.err;
  auto activated = Lines(r);
  ASSERT_EQ(activated.size(), 1u) << r.out;
  EXPECT_EQ(activated[0].value("key", ""), key);
  EXPECT_EQ(activated[0].value("state", ""), "JOB_ACTIVATED");
  EXPECT_EQ(activated[0].value("worker", ""), "cli-worker");
  EXPECT_EQ(activated[0].value("retries", -1), 3);
  EXPECT_EQ(activated[0]["headers"].value("bureau", ""), "acme-credit") << r.out;
  json vars = json::parse(activated[0].value("variables_json", "{}"));
  EXPECT_EQ(vars.value("applicant", ""), "Ada") << r.out;
  EXPECT_EQ(vars.value("amount", 0), 1000) << r.out;
  // Nothing else is activatable: a second activation answers with none.
  r = Cli("job activate --type credit-check --worker other");
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out, "no job of type credit-check activatable\n");

  r = Cli("status");
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find("open jobs          1 (1 activated)\n"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("open incidents     0\n"), std::string::npos) << r.out;
  r = Cli("--json status");
  json status = Lines(r).at(0);
  EXPECT_EQ(status.value("open_jobs", ""), "1") << r.out;  // uint64: a string in proto3 JSON
  EXPECT_EQ(status.value("activated_jobs", ""), "1") << r.out;

  // Failing with no retries left raises an incident.
  r = Cli("job fail " + key + " --retries 0 --message 'bureau down'");
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find("job " + key + " failed with no retries left: incident "), std::string::npos) << r.out;
  json job = Show(key);
  EXPECT_EQ(job.value("state", ""), "JOB_INCIDENT") << job.dump();
  std::string incident = job.value("incident_id", "");
  ASSERT_FALSE(incident.empty()) << job.dump();
  EXPECT_NE(r.out.find(incident + " raised"), std::string::npos) << r.out;

  r = Cli("incidents");
  ASSERT_EQ(r.code, 0) << r.err;
  row = Row(r, incident);
  EXPECT_NE(row.find(" credit-check "), std::string::npos) << r.out;
  EXPECT_NE(row.find(" no_retries "), std::string::npos) << r.out;
  EXPECT_NE(row.find("bureau down"), std::string::npos) << r.out;
  r = Cli("--json incidents --type credit-check --instance loan-1");
  ASSERT_EQ(r.code, 0) << r.err;
  auto incidents = Lines(r);
  ASSERT_EQ(incidents.size(), 1u) << r.out;
  EXPECT_EQ(incidents[0].value("job_key", ""), key);
  EXPECT_EQ(incidents[0].value("kind", ""), "no_retries");
  r = Cli("incidents --type payout");
  EXPECT_EQ(Row(r, incident), "") << r.out;

  r = Cli("status");
  EXPECT_NE(r.out.find("open jobs          1 (0 activated)\n"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("open incidents     1\n"), std::string::npos) << r.out;

  // Resolving while the job still has no retries is refused, and changes nothing.
  r = Cli("incident resolve " + incident);
  EXPECT_EQ(r.code, 1) << r.out;
  EXPECT_EQ(r.out, "");
  EXPECT_EQ(r.err.rfind("treaty: FAILED_PRECONDITION: ", 0), 0u) << r.err;
  EXPECT_GT(r.err.size(), std::string("treaty: FAILED_PRECONDITION: \n").size()) << r.err;
  EXPECT_EQ(Show(key).value("state", ""), "JOB_INCIDENT");

  r = Cli("job retries " + key + " 2");
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out, "job " + key + " incident, 2 retries left\n");
  r = Cli("incident resolve " + incident);
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out, "incident " + incident + " resolved: job " + key + " is activatable again (2 retries left)\n");
  r = Cli("--json jobs --state activatable --state failed");
  auto open = Lines(r);
  ASSERT_EQ(open.size(), 1u) << r.out;
  EXPECT_EQ(open[0].value("key", ""), key);
  EXPECT_EQ(open[0].value("state", ""), "JOB_ACTIVATABLE");
  r = Cli("incidents");
  EXPECT_EQ(Row(r, incident), "") << r.out;

  // Activated again (human output) and completed: the check step applies.
  r = Cli("job activate --type credit-check --worker cli-worker");
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out.rfind("activated " + key + " for cli-worker until ", 0), 0u) << r.out;
  EXPECT_NE(r.out.find(", 2 retries left\n"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("  headers    bureau=acme-credit\n"), std::string::npos) << r.out;
  r = Cli("job complete " + key + " --output '{\"score\":700}'");
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find("job " + key + " completed: check CONFIRMED at ledger height "), std::string::npos) << r.out;
  EXPECT_NE(r.out.find(": loan-1 is now checked\n"), std::string::npos) << r.out;
  r = Cli("--json get loan-1");
  ASSERT_EQ(r.code, 0) << r.err;
  json instance = Lines(r).at(0);
  EXPECT_EQ(instance["states"], json::array({"checked"})) << r.out;
  EXPECT_EQ(json::parse(instance.value("data_json", "{}")).value("score", 0), 700) << r.out;
  r = Cli("jobs --state completed");
  EXPECT_NE(Row(r, key).find(" completed "), std::string::npos) << r.out;

  r = Cli("status");
  EXPECT_NE(r.out.find("open jobs          0 (0 activated)\n"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("open incidents     0\n"), std::string::npos) << r.out;
}

TEST_F(JobsCli, ShowsExtendsLeasesAndThrowsErrors) {
  Applied("loan-2");
  std::string key = CheckKey("loan-2");
  ASSERT_FALSE(key.empty());
  auto r = Cli("job show " + key);
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find("job        " + key + "\n"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("type       credit-check\n"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("instance   loan-2 (loan v1)\n"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("state      activatable\n"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("retries    3 left, 0 failure(s)\n"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("headers    bureau=acme-credit\n"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("variables  {"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("\"applicant\":\"Ada\""), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("opened     20"), std::string::npos) << r.out;
  EXPECT_EQ(r.out.find("closed     "), std::string::npos) << r.out;

  r = Cli("--json job activate --type credit-check --worker w1 --lease 10000 --max 5");
  ASSERT_EQ(r.code, 0) << r.err;
  auto jobs = Lines(r);
  ASSERT_EQ(jobs.size(), 1u) << r.out;
  int64_t first_deadline = std::stoll(jobs[0].value("deadline_ms", "0"));
  r = Cli("job timeout " + key + " 600000");
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out.rfind("job " + key + " leased to w1 until ", 0), 0u) << r.out;
  json job = Show(key);
  EXPECT_EQ(job.value("state", ""), "JOB_ACTIVATED");
  // About 590 s later than the first lease's end (the two calls' clocks differ a little).
  EXPECT_GT(std::stoll(job.value("deadline_ms", "0")), first_deadline + 500000) << job.dump();
  r = Cli("job show " + key);
  EXPECT_NE(r.out.find("worker     w1\n"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("lease      until "), std::string::npos) << r.out;

  // A code the definition does not map raises an incident.
  r = Cli("job throw " + key + " --code BUREAU_ON_FIRE --message 'smoke'");
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find("job " + key + " threw BUREAU_ON_FIRE, which no step maps: incident "), std::string::npos)
      << r.out;
  job = Show(key);
  EXPECT_EQ(job.value("state", ""), "JOB_INCIDENT") << job.dump();
  std::string incident = job.value("incident_id", "");
  r = Cli("--json incidents --instance loan-2");
  auto incidents = Lines(r);
  ASSERT_EQ(incidents.size(), 1u) << r.out;
  EXPECT_EQ(incidents[0].value("incident_id", ""), incident);
  EXPECT_EQ(incidents[0].value("kind", ""), "unmapped_error");
  // Retries were left: it resolves at once.
  r = Cli("incident resolve " + incident);
  ASSERT_EQ(r.code, 0) << r.err;

  // DECLINED maps to the decline step.
  r = Cli("job activate --type credit-check --worker w2");
  ASSERT_EQ(r.code, 0) << r.err;
  r = Cli("job throw " + key + " --code DECLINED --message 'too much debt'");
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find("job " + key + " threw DECLINED: decline CONFIRMED at ledger height "), std::string::npos)
      << r.out;
  EXPECT_NE(r.out.find(": loan-2 is now declined\n"), std::string::npos) << r.out;
  r = Cli("jobs --instance loan-2");
  EXPECT_NE(Row(r, key).find(" error_thrown "), std::string::npos) << r.out;
  job = Show(key);
  EXPECT_EQ(job.value("error_code", ""), "DECLINED") << job.dump();
  r = Cli("job show " + key);
  EXPECT_NE(r.out.find("state      error_thrown"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("error      DECLINED: too much debt\n"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("closed     20"), std::string::npos) << r.out;
}

TEST_F(JobsCli, BadInputGetsThePreciseErrorAndExitCode) {
  Applied("loan-3");
  std::string key = CheckKey("loan-3");
  ASSERT_FALSE(key.empty());

  // An unknown key: NOT_FOUND naming it, for every command taking a key.
  for (const std::string cmd :
       {"job show loan-3:9:check", "job complete loan-3:9:check --output '{\"score\":1}'",
        "job fail loan-3:9:check --retries 1", "job retries loan-3:9:check 1", "job timeout loan-3:9:check 1000",
        "job throw loan-3:9:check --code DECLINED"}) {
    auto r = Cli(cmd);
    EXPECT_EQ(r.code, 1) << cmd << ": " << r.out << r.err;
    EXPECT_EQ(r.out, "") << cmd;
    EXPECT_EQ(r.err.rfind("treaty: NOT_FOUND: ", 0), 0u) << cmd << ": " << r.err;
    EXPECT_NE(r.err.find("loan-3:9:check"), std::string::npos) << cmd << ": " << r.err;
  }
  auto r = Cli("incident resolve loan-3:9:check#1");
  EXPECT_EQ(r.code, 1) << r.out;
  EXPECT_EQ(r.err.rfind("treaty: NOT_FOUND: ", 0), 0u) << r.err;

  r = Cli("job activate --type credit-check --worker w");
  ASSERT_EQ(r.code, 0) << r.err;
  // Negative retries are the node's to refuse: INVALID_ARGUMENT, the job as it was.
  r = Cli("job fail " + key + " --retries -1 --message x");
  EXPECT_EQ(r.code, 1) << r.out;
  EXPECT_EQ(r.err.rfind("treaty: INVALID_ARGUMENT: ", 0), 0u) << r.err;
  r = Cli("job retries " + key + " -1");
  EXPECT_EQ(r.code, 1) << r.out;
  EXPECT_EQ(r.err.rfind("treaty: INVALID_ARGUMENT: ", 0), 0u) << r.err;
  r = Cli("job timeout " + key + " 0");
  EXPECT_EQ(r.code, 1) << r.out;
  EXPECT_EQ(r.err.rfind("treaty: INVALID_ARGUMENT: ", 0), 0u) << r.err;
  // Output failing the step's schema (score at most 999): nothing proposed.
  r = Cli("job complete " + key + " --output '{\"score\":5000}'");
  EXPECT_EQ(r.code, 1) << r.out;
  EXPECT_EQ(r.err.rfind("treaty: INVALID_ARGUMENT: ", 0), 0u) << r.err;
  json job = Show(key);
  EXPECT_EQ(job.value("state", ""), "JOB_ACTIVATED") << job.dump();
  EXPECT_EQ(job.value("retries", -1), 3) << job.dump();
  EXPECT_EQ(job.value("failures", 0), 0) << job.dump();
  r = Cli("get loan-3");
  EXPECT_NE(r.out.find("states      applied\n"), std::string::npos) << r.out;
  r = Cli("job activate --type credit-check --worker w --max 0");
  EXPECT_EQ(r.code, 1) << r.out;
  EXPECT_EQ(r.err.rfind("treaty: INVALID_ARGUMENT: ", 0), 0u) << r.err;
  r = Cli("job activate --type credit-check --worker w --max 1001");
  EXPECT_EQ(r.code, 1) << r.out;
  EXPECT_EQ(r.err.rfind("treaty: INVALID_ARGUMENT: ", 0), 0u) << r.err;

  // Usage errors are the CLI's own: exit code 2, the reason first.
  struct Case {
    std::string args, why;
  };
  for (const auto& c : std::vector<Case>{
           {"jobs --state sleeping",
            "treaty: --state takes activatable, activated, failed, incident, completed, error_thrown or cancelled, "
            "not 'sleeping'\n"},
           {"job retries " + key + " two", "treaty: job retries N takes a whole number, not 'two'\n"},
           {"job fail " + key + " --retries 1x", "treaty: --retries takes a whole number, not '1x'\n"},
           {"job fail " + key, "treaty: job fail needs --retries N (the retries left; 0 raises an incident)\n"},
           {"job activate --type credit-check", "treaty: job activate needs --type T and --worker W\n"},
           {"job throw " + key, "treaty: job throw needs --code C (a business error code)\n"},
           {"job frob " + key,
            "treaty: job takes show, activate, complete, fail, throw, retries or timeout, not 'frob'\n"},
           {"job show", "treaty: job show needs KEY\n"},
           {"incident close x", "treaty: incident takes resolve ID\n"},
       }) {
    r = Cli(c.args);
    EXPECT_EQ(r.code, 2) << c.args << ": " << r.err;
    EXPECT_EQ(r.err.substr(0, c.why.size()), c.why) << c.args;
    EXPECT_NE(r.err.find("usage: treaty"), std::string::npos) << c.args;
  }
  // None of it touched the job.
  EXPECT_EQ(Show(key).value("state", ""), "JOB_ACTIVATED");
}

}  // namespace
}  // namespace treaty::testing
