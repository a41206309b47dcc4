// The metrics endpoint (treatyd --metrics) against real nodes under load:
// scraped while purchase orders run (every scrape parses, counters never
// go down) and after, where every counter must agree with what the nodes
// report through their API — steps confirmed and rejected with the
// histories, proposals with the steps authored, the apply-latency
// histogram's counts with both, ledger height with Status, open tasks with
// SearchTasks — on one node and at each party of a 3-party network.
#include <gtest/gtest.h>

#include <atomic>
#include <fstream>
#include <sstream>
#include <thread>

#include "definitions/base/signing_key.h"
#include "network_fixture.h"
#include "node_client.h"
#include "prometheus_text.h"
#include "treaty/v1/treaty.grpc.pb.h"
#include "treatyd_process.h"

namespace treaty::testing {
namespace {

namespace pb = ::treaty::v1;

// Scrapes every 20 ms until stopped: each must parse, and a counter never
// goes down between two scrapes.
class Scraper {
 public:
  explicit Scraper(int port) : thread_([this, port] { Loop(port); }) {}
  ~Scraper() { Stop(); }
  void Stop() {
    stop_ = true;
    if (thread_.joinable()) thread_.join();
  }
  int scrapes() const { return scrapes_; }
  const std::vector<std::string>& failures() const { return failures_; }

 private:
  void Loop(int port) {
    double last_confirmed = 0, last_proposed = 0;
    while (!stop_) {
      auto text = ScrapeMetrics(port);
      if (!text) {
        failures_.push_back("a scrape failed");
      } else {
        PromText t(*text);
        if (!t.ok()) failures_.push_back(t.error());
        double confirmed = t.Sum("treaty_steps_confirmed_total"), proposed = t.Sum("treaty_steps_proposed_total");
        if (confirmed < last_confirmed || proposed < last_proposed) failures_.push_back("a counter went down");
        last_confirmed = confirmed;
        last_proposed = proposed;
        ++scrapes_;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
  }
  std::atomic<bool> stop_{false};
  std::atomic<int> scrapes_{0};
  std::vector<std::string> failures_;
  std::thread thread_;
};

// What a node's own API says, for the counters to agree with.
struct Truth {
  int confirmed = 0, rejected = 0, authored = 0;
  std::map<std::string, int> rejected_by_code;
};

Truth HistoriesOf(NodeClient& c, const std::vector<std::string>& ids, const std::string& party) {
  Truth t;
  for (const auto& id : ids) {
    grpc::Status st;
    for (const auto& h : c.History(id, &st)) {
      if (h.outcome() == pb::CONFIRMED) ++t.confirmed;
      else {
        ++t.rejected;
        ++t.rejected_by_code[h.reject_code()];
      }
      if (h.proposer() == party) ++t.authored;
    }
    EXPECT_TRUE(st.ok()) << id << ": " << st.error_message();
  }
  return t;
}

// Open and claimed tasks, every page.
int OpenTasks(const std::shared_ptr<grpc::Channel>& ch) {
  auto tasks = pb::Tasks::NewStub(ch);
  int n = 0;
  std::string token;
  do {
    pb::SearchTasksRequest req;
    req.add_states(pb::TASK_OPEN);
    req.add_states(pb::TASK_CLAIMED);
    req.set_page_size(1000);
    req.set_page_token(token);
    pb::SearchTasksResponse resp;
    grpc::ClientContext ctx;
    grpc::Status st = tasks->SearchTasks(&ctx, req, &resp);
    EXPECT_TRUE(st.ok()) << st.error_message();
    if (!st.ok()) return -1;
    n += resp.tasks_size();
    token = resp.next_page_token();
  } while (!token.empty());
  return n;
}

// Every counter of one node against its API, once it is quiet.
void ExpectAgrees(NodeClient& c, const std::shared_ptr<grpc::Channel>& ch, int port,
                  const std::vector<std::string>& ids, const std::string& party, bool expect_rejections) {
  ASSERT_TRUE(Eventually([&] {
    auto s = c.Status();
    return s.pending_proposals() == 0 && s.applied_height() == s.ledger_height();
  })) << party;
  Truth truth = HistoriesOf(c, ids, party);
  auto status = c.Status();
  auto text = ScrapeMetrics(port);
  ASSERT_TRUE(text) << party;
  PromText m(*text);
  ASSERT_TRUE(m.ok()) << m.error();
  SCOPED_TRACE(party + "'s metrics:\n" + *text);

  EXPECT_EQ(m.Sum("treaty_steps_confirmed_total"), truth.confirmed);
  EXPECT_EQ(m.Sum("treaty_steps_confirmed_total", {{"definition", "purchase-order"}}), truth.confirmed);
  EXPECT_EQ(m.Sum("treaty_steps_rejected_total"), truth.rejected);
  if (expect_rejections) {
    EXPECT_GT(truth.rejected, 0) << "the load caused no rejection in ledger order";
  }
  for (const auto& [code, n] : truth.rejected_by_code)
    EXPECT_EQ(m.Sum("treaty_steps_rejected_total", {{"definition", "purchase-order"}, {"reason", code}}), n) << code;
  EXPECT_EQ(m.Sum("treaty_steps_proposed_total", {{"definition", "purchase-order"}}), truth.authored);
  // One observation per step applied, by outcome; +Inf holds them all.
  EXPECT_EQ(m.Get("treaty_step_apply_latency_seconds_count", {{"outcome", "confirmed"}}), truth.confirmed);
  EXPECT_EQ(m.Get("treaty_step_apply_latency_seconds_count", {{"outcome", "rejected"}}), truth.rejected);
  EXPECT_EQ(m.Get("treaty_step_apply_latency_seconds_bucket", {{"outcome", "confirmed"}, {"le", "+Inf"}}),
            truth.confirmed);
  EXPECT_GT(*m.Get("treaty_step_apply_latency_seconds_sum", {{"outcome", "confirmed"}}), 0);
  // At least one commit applied blocks; never more commits than blocks.
  double commits = *m.Get("treaty_block_commit_seconds_count");
  EXPECT_GE(commits, 1);
  EXPECT_LE(commits, static_cast<double>(status.applied_height()));

  EXPECT_EQ(m.Get("treaty_ledger_height"), static_cast<double>(status.ledger_height()));
  EXPECT_EQ(m.Get("treaty_applied_height"), static_cast<double>(status.applied_height()));
  EXPECT_EQ(m.Get("treaty_ledger_lag_blocks"), 0);
  EXPECT_EQ(m.Get("treaty_blocked_instances"), 0);
  EXPECT_EQ(m.Get("treaty_proposals_in_flight"), 0);
  int open = OpenTasks(ch);
  EXPECT_EQ(m.Get("treaty_open_tasks"), open);
  EXPECT_EQ(m.Get("treaty_open_tasks"), static_cast<double>(status.open_tasks()));
  EXPECT_EQ(m.Get("treaty_open_jobs"), static_cast<double>(status.open_jobs()));
  EXPECT_EQ(m.Get("treaty_open_incidents"), static_cast<double>(status.incidents()));
  EXPECT_EQ(m.Get("treaty_outbox_messages"), static_cast<double>(status.outbox()));
}

std::string Order(const std::string& id) {
  return R"({"po_number":"PO-)" + id + R"(","items":[{"sku":"A-1","qty":2}],"total":250})";
}

TEST(Metrics, OneNodeUnderLoadCountsWhatItsHistoriesHold) {
  TempDir dir;
  const int port = FreePort();
  TreatydProcess node(dir.path() + "/node", {"--metrics", "127.0.0.1:" + std::to_string(port)});
  ASSERT_TRUE(node.Start()) << node.Log();
  EXPECT_EQ(LoggedMetricsPort(node.Log()), port) << node.Log();
  Scraper scraper(port);

  // 8 callers, 25 orders each: start, submit, then three racing accepts;
  // every other order is also paid; every fifth stays submitted, its task
  // open.
  constexpr int kCallers = 8, kOrders = 25;
  std::vector<std::string> ids;
  for (int c = 0; c < kCallers; ++c)
    for (int i = 0; i < kOrders; ++i) ids.push_back("m-" + std::to_string(c) + "-" + std::to_string(i));
  std::vector<std::thread> callers;
  for (int c = 0; c < kCallers; ++c)
    callers.emplace_back([&, c] {
      NodeClient client(node.channel());
      for (int i = 0; i < kOrders; ++i) {
        const std::string& id = ids[c * kOrders + i];
        EXPECT_TRUE(client.Start(id).ok()) << id;
        EXPECT_TRUE(client.Step(id, "submit", Order(id)).ok()) << id;
        if (i % 5 == 4) continue;
        // Three accepts at once: those that pass the preflight together
        // are ordered, and all but the first rejected in ledger order.
        std::vector<std::thread> racers;
        for (int k = 0; k < 3; ++k) racers.emplace_back([&] { (void)client.Step(id, "accept"); });
        for (auto& t : racers) t.join();
        if (i % 2 == 0) {
          EXPECT_TRUE(Eventually([&] { return client.State(id) == "accepted"; })) << id;
          EXPECT_TRUE(client.Step(id, "pay", R"({"amount":250})").ok()) << id;
        }
      }
    });
  for (auto& t : callers) t.join();
  NodeClient client(node.channel());
  ASSERT_NO_FATAL_FAILURE(ExpectAgrees(client, node.channel(), port, ids, "node", /*expect_rejections=*/true));
  scraper.Stop();
  EXPECT_GE(scraper.scrapes(), 3);
  for (const auto& f : scraper.failures()) ADD_FAILURE() << f;
  EXPECT_EQ(node.Stop(), 0) << node.Log();
}

// Each party counts every step it applies (any author) and proposes only
// its own; an unknown peer's connection is counted as refused.
TEST(Metrics, EveryPartyOfAThreePartyNetworkCountsWhatItsHistoriesHold) {
  TempDir dir;
  // Every node and the sequencer serve metrics on a port of the kernel's choosing.
  LocalNetwork net(dir.path() + "/net", {"buyer", "seller", "bank"}, {"--metrics", "127.0.0.1:0"});
  ASSERT_TRUE(net.Start()) << "network did not start; see " << dir.path();
  std::map<std::string, int> ports;
  std::map<std::string, std::unique_ptr<NodeClient>> at;
  for (const auto& p : net.parties()) {
    ports[p] = LoggedMetricsPort(net.node(p).Log());
    ASSERT_GT(ports[p], 0) << net.node(p).Log();
    at[p] = std::make_unique<NodeClient>(net.node(p).channel());
  }
  Scraper scraper(ports["seller"]);

  constexpr int kOrders = 30;
  std::vector<std::string> ids;
  for (int i = 0; i < kOrders; ++i) ids.push_back("n-" + std::to_string(i));
  std::vector<std::thread> buyers;
  for (int c = 0; c < 3; ++c)
    buyers.emplace_back([&, c] {
      NodeClient buyer(net.node("buyer").channel());
      for (int i = c; i < kOrders; i += 3) {
        const std::string& id = ids[i];
        EXPECT_TRUE(buyer.Start(id, kRoles).ok()) << id;
        pb::TriggerStepResponse r;
        // Twice without waiting: the second is rejected in ledger order
        // (or refused by the preflight, if the first was applied already).
        EXPECT_TRUE(buyer.Step(id, "submit", Order(id), "", &r, /*no_wait=*/true).ok()) << id;
        (void)buyer.Step(id, "submit", Order(id), "", &r, /*no_wait=*/true);
      }
    });
  for (auto& t : buyers) t.join();
  // The seller accepts two thirds; the rest keep their task open there.
  for (int i = 0; i < kOrders; ++i) {
    ASSERT_TRUE(Eventually([&] { return at["seller"]->State(ids[i]) == "submitted"; })) << ids[i];
    if (i % 3 == 2) continue;
    pb::TriggerStepResponse r;
    EXPECT_TRUE(at["seller"]->Step(ids[i], "accept", "{}", &r).ok()) << ids[i];
  }
  for (const auto& p : net.parties())
    for (int i = 0; i < kOrders; ++i)
      ASSERT_TRUE(Eventually([&] { return at[p]->State(ids[i]) == (i % 3 == 2 ? "submitted" : "accepted"); }))
          << p << " " << ids[i];
  scraper.Stop();
  EXPECT_GE(scraper.scrapes(), 3);
  for (const auto& f : scraper.failures()) ADD_FAILURE() << f;
  for (const auto& p : net.parties()) {
    ASSERT_TRUE(Eventually([&] { return at[p]->Status().outbox() == 0; })) << p;
    ASSERT_NO_FATAL_FAILURE(ExpectAgrees(*at[p], net.node(p).channel(), ports[p], ids, p, /*expect_rejections=*/p == "buyer"));
  }
  // Tasks: the seller holds the open ones (accept is the seller's).
  EXPECT_EQ(OpenTasks(net.node("seller").channel()), kOrders / 3);

  // The sequencer: every block since it started, the height the members see.
  std::ifstream seq_log(dir.path() + "/net/sequencer.log");
  std::stringstream seq_text;
  seq_text << seq_log.rdbuf();
  int seq_port = LoggedMetricsPort(seq_text.str());
  ASSERT_GT(seq_port, 0) << seq_text.str();
  auto seq = ScrapeMetrics(seq_port);
  ASSERT_TRUE(seq);
  PromText sm(*seq);
  ASSERT_TRUE(sm.ok()) << sm.error();
  const double height = static_cast<double>(at["buyer"]->Status().ledger_height());
  EXPECT_EQ(sm.Get("treaty_sequencer_height"), height) << *seq;
  EXPECT_EQ(sm.Get("treaty_sequencer_blocks_total"), height) << *seq;
  EXPECT_GE(sm.Get("treaty_sequencer_batches_total").value_or(0), height) << *seq;
  EXPECT_EQ(sm.Get("treaty_sequencer_refused_total", {{"reason", "bad_signature"}}), 0) << *seq;

  // A connection with a key the network file does not list is refused and counted.
  auto stranger = crypto::GenerateCurveKeyPair().value();
  (void)SendAsPeer(net.exchange_endpoint("seller"), net.identity("seller")["curve_public"].get<std::string>(),
                   stranger.public_z85, stranger.secret_z85,
                   json{{"id", "x"}, {"kind", "proposals"}, {"from", "stranger"}, {"body", {{"items", json::array()}}}},
                   500);
  ASSERT_TRUE(Eventually([&] {
    auto text = ScrapeMetrics(ports["seller"]);
    if (!text) return false;
    PromText m(*text);
    return m.Sum("treaty_peer_refused_total", {{"reason", "not_a_member"}}) >= 1 &&
           m.Get("treaty_exchange_refused_connections_total").value_or(0) >= 1;
  }));
}

}  // namespace
}  // namespace treaty::testing
