// The daemons' logs: every line of a treatyd's stderr (text) starts with
// its UTC time to the millisecond; with --log-format json every line is
// one JSON object with time, level, program, component, party, instance,
// step and message, and the lines of an applied step carry its instance
// and step; a network's sequencer logs the same way.
#include <gtest/gtest.h>

#include <fstream>
#include <regex>
#include <sstream>

#include <nlohmann/json.hpp>

#include "local_network.h"
#include "node_client.h"
#include "treatyd_process.h"

namespace treaty::testing {
namespace {

namespace pb = ::treaty::v1;
using json = nlohmann::json;

const std::regex kStamp("^\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\d\\.\\d{3}Z");

std::vector<std::string> Lines(const std::string& text) {
  std::vector<std::string> out;
  std::stringstream s(text);
  for (std::string line; std::getline(s, line);) out.push_back(line);
  return out;
}

std::string ReadFile(const std::string& path) {
  std::ifstream f(path);
  std::stringstream s;
  s << f.rdbuf();
  return s.str();
}

// A start, a submit, two accepts without waiting (the second is rejected
// in ledger order unless the preflight refused it) and an order run to
// its end (paid: a final state), then a clean stop.
void RunOrders(TreatydProcess& node) {
  NodeClient c(node.channel());
  const std::string order = R"({"po_number":"PO-L1","items":[{"sku":"A-1","qty":2}],"total":250})";
  ASSERT_TRUE(c.Start("log-1").ok());
  ASSERT_TRUE(c.Step("log-1", "submit", order).ok());
  pb::TriggerStepResponse r;
  for (int k = 0; k < 2; ++k) (void)c.Step("log-1", "accept", "{}", "", &r, /*no_wait=*/true);
  for (int i = 0; i < 100 && c.State("log-1") != "accepted"; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  ASSERT_TRUE(c.Step("log-1", "pay", R"({"amount":250})").ok());
  EXPECT_EQ(node.Stop(), 0) << node.Log();
}

TEST(Logs, EveryTextLineOfTreatydStartsWithItsUtcTime) {
  TempDir dir;
  TreatydProcess node(dir.path() + "/node");
  ASSERT_TRUE(node.Start()) << node.Log();
  ASSERT_NO_FATAL_FAILURE(RunOrders(node));
  auto lines = Lines(node.Log());
  ASSERT_GE(lines.size(), 5u) << node.Log();
  for (const auto& l : lines) {
    EXPECT_TRUE(std::regex_search(l, kStamp)) << l;
    EXPECT_NE(l.find(" treatyd: "), std::string::npos) << l;
  }
  EXPECT_NE(node.Log().find("instance log-1 completed"), std::string::npos) << node.Log();
}

TEST(Logs, JsonFormatWritesOneObjectPerLineWithTheInstanceAndStepOfAppliedSteps) {
  TempDir dir;
  TreatydProcess node(dir.path() + "/node", {"--log-format", "json", "--party", "acme"});
  ASSERT_TRUE(node.Start()) << node.Log();
  ASSERT_NO_FATAL_FAILURE(RunOrders(node));
  auto lines = Lines(node.Log());
  ASSERT_GE(lines.size(), 5u) << node.Log();
  bool started = false, completed = false, stopped = false;
  for (const auto& l : lines) {
    json j = json::parse(l, nullptr, false);
    ASSERT_TRUE(j.is_object()) << l;
    for (const char* f : {"time", "level", "program", "component", "party", "instance", "step", "message"})
      EXPECT_TRUE(j.contains(f)) << f << " missing in " << l;
    ASSERT_TRUE(j["time"].is_string()) << l;
    EXPECT_TRUE(std::regex_match(j["time"].get<std::string>(), std::regex("\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\d\\.\\d{3}Z")))
        << l;
    EXPECT_EQ(j["program"], "treatyd") << l;
    EXPECT_TRUE(j["level"] == "info" || j["level"] == "warning" || j["level"] == "error") << l;
    EXPECT_TRUE(j["message"].is_string()) << l;
    std::string msg = j["message"];
    if (msg.find("instance log-1 started") == 0) {
      started = true;
      EXPECT_EQ(j["instance"], "log-1") << l;
      EXPECT_EQ(j["step"], "$start") << l;
    }
    if (msg.find("instance log-1 completed") == 0) {
      completed = true;
      EXPECT_EQ(j["instance"], "log-1") << l;
      EXPECT_EQ(j["step"], "pay") << l;
    }
    if (msg.find("step accept of log-1 rejected") == 0) {
      EXPECT_EQ(j["instance"], "log-1") << l;
      EXPECT_EQ(j["step"], "accept") << l;
    }
    if (msg.find("stopped at applied height") == 0) stopped = true;
    if (msg.find("party acme listening") == 0) {
      EXPECT_EQ(j["party"], "acme") << l;
      EXPECT_TRUE(j["instance"].is_null()) << l;
    }
  }
  EXPECT_TRUE(started && completed && stopped) << node.Log();
}

TEST(Logs, BadLogFormatIsRefusedWithAPreciseMessage) {
  TempDir dir;
  TreatydProcess node(dir.path() + "/node", {"--log-format", "xml"});
  EXPECT_FALSE(node.Start());
  EXPECT_NE(node.Log().find("--log-format must be text or json, not 'xml'"), std::string::npos) << node.Log();
}

// The sequencer and every node of a network, in json: all lines parse.
TEST(Logs, ANetworksSequencerAndNodesLogJsonLines) {
  TempDir dir;
  {
    LocalNetwork net(dir.path() + "/net", {"buyer", "seller"}, {"--log-format", "json"});
    ASSERT_TRUE(net.Start());
    NodeClient buyer(net.node("buyer").channel());
    ASSERT_TRUE(buyer.Start("net-log-1", {{"buyer", "buyer"}, {"seller", "seller"}, {"bank", "seller"}}).ok());
  }  // stopped: every line is written
  for (const std::string& name : {std::string("sequencer"), std::string("buyer"), std::string("seller")}) {
    std::string text = ReadFile(dir.path() + "/net/" + name + ".log");
    auto lines = Lines(text);
    EXPECT_GE(lines.size(), 1u) << name;
    for (const auto& l : lines) {
      json j = json::parse(l, nullptr, false);
      EXPECT_TRUE(j.is_object() && j.contains("time") && j.contains("message")) << name << ": " << l;
    }
  }
}

}  // namespace
}  // namespace treaty::testing
