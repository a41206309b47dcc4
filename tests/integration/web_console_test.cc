// The treaty-web console in a real browser: three parties (buyer, seller,
// bank) on a sequencer, a treaty-web for the seller and one for the buyer,
// and adapters/web/test/console_test.js driving Debian's headless
// chromium through puppeteer-core. The script finds the seller's accept
// task in the inbox, claims and completes it, and sees the instance
// page's diagram (open in a second tab) move to accepted without a
// reload; on the buyer's side a bad value in the pay form shows the
// field's error and proposes nothing, a wrong amount shows the guard's
// rejection, the right one pays. This test checks the script's verdict
// and, through gRPC, that the ledger saw exactly those steps.
#include <sys/socket.h>
#include <sys/wait.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "network_fixture.h"

namespace treaty::testing {
namespace {

// True once something accepts TCP connections on 127.0.0.1:port.
bool Listening(int port) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return false;
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = htons(static_cast<uint16_t>(port));
  bool ok = connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
  close(fd);
  return ok;
}

struct Finished {
  int code = -1;
  std::string output;
};

// Runs a shell command to its end; its stdout and stderr together.
Finished RunToEnd(const std::string& command) {
  Finished f;
  FILE* p = popen((command + " 2>&1").c_str(), "r");
  if (p == nullptr) return f;
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, p)) > 0) f.output.append(buf, n);
  int status = pclose(p);
  f.code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return f;
}

std::string Quote(const std::string& s) { return "'" + s + "'"; }

class WebConsole : public NetworkTest {
 protected:
  // The network loads version 2 of the purchase order as well (accept and
  // pay are human tasks with forms), so Submitted() starts that version.
  void SetUp() override {
    std::string defs = dir_.path() + "/defs";
    std::filesystem::create_directories(defs);
    std::filesystem::copy_file(std::string(TREATY_SOURCE_DIR) + "/tests/data/valid/purchase-order-tasks.yaml",
                               defs + "/purchase-order-tasks.yaml");
    net_ = std::make_unique<LocalNetwork>(dir_.path(), std::vector<std::string>{"buyer", "seller", "bank"},
                                          std::vector<std::string>{},
                                          std::vector<std::string>{"--definitions", defs});
    ASSERT_TRUE(net_->Start()) << "network did not start; see " << dir_.path();
    Connect();
  }

  // Starts a treaty-web for the party serving the console from the source
  // tree; returns its port (0 if it did not come up).
  int StartWeb(const std::string& party) {
    int port = FreePort();
    // treaty-web reaches the party's node over TLS with its client's token.
    std::vector<std::string> args = {TREATY_WEB, "--node", net_->node(party).address(), "--listen",
                                     "127.0.0.1:" + std::to_string(port), "--console",
                                     std::string(TREATY_SOURCE_DIR) + "/adapters/web/console"};
    for (const auto& f : net_->client_flags(party)) args.push_back(f);
    auto web = std::make_unique<ChildProcess>(std::move(args), dir_.path() + "/web-" + party + ".log");
    if (!web->Start()) return 0;
    if (!Eventually([&] { return Listening(port); }, 10000)) return 0;
    webs_.push_back(std::move(web));
    return port;
  }

  std::string WebLog(const std::string& party) {
    std::ifstream in(dir_.path() + "/web-" + party + ".log");
    return std::string(std::istreambuf_iterator<char>(in), {});
  }

  std::vector<std::unique_ptr<ChildProcess>> webs_;
};

TEST_F(WebConsole, TasksAreWorkedInTheBrowserAndTheDiagramFollowsLive) {
  ASSERT_TRUE(std::filesystem::exists(TREATY_CHROMIUM))
      << TREATY_CHROMIUM << " is missing: run deploy/setup.sh (Debian's chromium)";
  ASSERT_TRUE(std::filesystem::exists(std::string(TREATY_WEB_TEST_MODULES) + "/puppeteer-core"))
      << "puppeteer-core is not installed in " << TREATY_WEB_TEST_MODULES << ": configure again";

  const std::string id = "web-po-1";
  Submitted(id);
  int seller = StartWeb("seller");
  ASSERT_NE(seller, 0) << WebLog("seller");
  int buyer = StartWeb("buyer");
  ASSERT_NE(buyer, 0) << WebLog("buyer");

  // Kept after the test: the best of them are copied to docs/screenshots.
  std::string shots = std::string(TREATY_BINARY_DIR) + "/web-test/screenshots";
  std::filesystem::create_directories(shots);
  std::string cmd = "NODE_PATH=" + Quote(TREATY_WEB_TEST_MODULES) + " " + Quote(TREATY_NODE_JS) + " " +
                    Quote(std::string(TREATY_SOURCE_DIR) + "/adapters/web/test/console_test.js") +
                    " --url http://127.0.0.1:" + std::to_string(seller) +
                    " --buyer-url http://127.0.0.1:" + std::to_string(buyer) + " --instance " + id +
                    " --chromium " + Quote(TREATY_CHROMIUM) + " --screenshots " + Quote(shots);
  Finished run = RunToEnd(cmd);
  std::printf("%s", run.output.c_str());  // the script's checks, in the test's log
  EXPECT_EQ(run.code, 0) << run.output << "\nseller's treaty-web:\n" << WebLog("seller");
  // The script says what it saw; each of these is a check it made.
  for (const char* seen : {"ok - the seller's inbox lists the accept task",
                           "ok - the instance page shows the diagram in submitted",
                           "ok - claimed", "ok - the accept form has no input fields",
                           "ok - completed: CONFIRMED",
                           "ok - the diagram moved to accepted without a reload",
                           "ok - a bad amount shows the field's error and proposes nothing",
                           "ok - a wrong amount shows the rejection's reason",
                           "ok - paid: the seller's page moved to paid without a reload"}) {
    EXPECT_NE(run.output.find(seen), std::string::npos) << "missing \"" << seen << "\" in:\n" << run.output;
  }
  EXPECT_EQ(run.output.find("not ok"), std::string::npos) << run.output;

  // What the ledger saw: accept and pay once each, nothing for the bad
  // values (the client refused one, the node's preflight the other).
  ASSERT_TRUE(AllIn(id, "paid"));
  auto history = at("seller").History(id);
  std::vector<std::string> steps;
  for (const auto& e : history) {
    EXPECT_EQ(e.outcome(), pb::CONFIRMED) << e.step() << ": " << e.reason();
    steps.push_back(e.step());
  }
  EXPECT_EQ(steps, (std::vector<std::string>{"$start", "submit", "accept", "pay"}));
  ExpectSameStateHash(id);
  for (const char* name : {"tasks.png", "instance-accepted.png", "task-pay-invalid.png", "definition.png", "node.png"})
    EXPECT_TRUE(std::filesystem::exists(shots + "/" + name)) << name;
}

}  // namespace
}  // namespace treaty::testing
