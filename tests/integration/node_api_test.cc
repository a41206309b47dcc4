// The public API against a real treatyd on loopback: the purchase-order
// lifecycle, precise errors that change nothing, idempotency across a
// restart, racing conflicting steps, crash safety under kill -9, durable
// event subscriptions, queries, and the data-folder lock.
#include <gtest/gtest.h>

#include <atomic>
#include <functional>
#include <map>
#include <set>
#include <thread>

#include "treaty/v1/treaty.grpc.pb.h"
#include "node_client.h"
#include "treatyd_process.h"

namespace treaty::testing {
namespace {

namespace pb = ::treaty::v1;

const char* kSubmit = R"({"po_number":"PO-1","items":[{"sku":"A-1","qty":2}],"total":250})";
// po_number is unique network-wide: each order of a test gets its own.
std::string SubmitFor(const std::string& id) {
  return R"({"po_number":"PO-)" + id + R"(","items":[{"sku":"A-1","qty":2}],"total":250})";
}

class NodeApi : public ::testing::Test {
 protected:
  void SetUp() override {
    node_ = std::make_unique<TreatydProcess>(dir_.path() + "/node");
    ASSERT_TRUE(node_->Start()) << node_->Log();
    client_ = std::make_unique<NodeClient>(node_->channel());
  }
  void Restart(bool crash) {
    if (crash) {
      node_->Kill();
    } else {
      ASSERT_EQ(node_->Stop(), 0) << node_->Log();
    }
    node_ = std::make_unique<TreatydProcess>(dir_.path() + "/node");
    ASSERT_TRUE(node_->Start()) << node_->Log();
    client_ = std::make_unique<NodeClient>(node_->channel());
  }
  // An order in `submitted`, from where accept and cancel conflict.
  void StartSubmitted(const std::string& id) {
    ASSERT_TRUE(client_->Start(id).ok());
    ASSERT_TRUE(client_->Step(id, "submit", SubmitFor(id)).ok());
  }
  // Runs call(client, i) for i in [0, n) on n threads with their own
  // clients, released together so the calls overlap; returns when all end.
  void AllAtOnce(int n, const std::function<void(NodeClient&, int)>& call) {
    std::atomic<int> ready{0};
    std::vector<std::thread> threads;
    for (int i = 0; i < n; ++i)
      threads.emplace_back([&, i] {
        NodeClient c(node_->channel());
        ++ready;
        while (ready.load() < n) std::this_thread::yield();
        call(c, i);
      });
    for (auto& t : threads) t.join();
  }
  TempDir dir_;
  std::unique_ptr<TreatydProcess> node_;
  std::unique_ptr<NodeClient> client_;
};

TEST_F(NodeApi, PurchaseOrderLifecycle) {
  pb::StartProcessResponse started;
  ASSERT_TRUE(client_->Start("po-1", &started).ok());
  EXPECT_EQ(started.outcome(), pb::CONFIRMED);
  EXPECT_EQ(started.instance().states(0), "draft");
  pb::TriggerStepResponse r;
  ASSERT_TRUE(client_->Step("po-1", "submit", kSubmit, "", &r).ok());
  EXPECT_EQ(r.outcome(), pb::CONFIRMED);
  EXPECT_EQ(r.instance().states(0), "submitted");
  EXPECT_GT(r.ledger_height(), 0u);
  ASSERT_TRUE(client_->Step("po-1", "accept").ok());
  ASSERT_TRUE(client_->Step("po-1", "pay", R"({"amount":250})", "", &r).ok());
  EXPECT_TRUE(r.instance().final());
  EXPECT_EQ(r.instance().position(), 3u);
  EXPECT_EQ(r.instance().data_json(),
            R"({"items":[{"qty":2,"sku":"A-1"}],"paid":250,"po_number":"PO-1","total":250})");
  auto h = client_->History("po-1");
  ASSERT_EQ(h.size(), 4u);
  EXPECT_EQ(h[0].step(), "$start");
  EXPECT_EQ(h[1].step(), "submit");
  EXPECT_EQ(h[3].step(), "pay");
  EXPECT_EQ(h[3].outcome(), pb::CONFIRMED);
  EXPECT_EQ(h[3].states_after(0), "paid");
  EXPECT_LE(h[1].ledger_height(), h[2].ledger_height());
  EXPECT_EQ(h[1].proposer(), "node");
  EXPECT_EQ(h[1].input_json(), R"({"items":[{"qty":2,"sku":"A-1"}],"po_number":"PO-1","total":250})");
  auto st = client_->Status();
  EXPECT_EQ(st.applied_height(), st.ledger_height());
  EXPECT_EQ(st.lag(), 0u);
}

TEST_F(NodeApi, BadInputGetsPreciseErrorsAndChangesNothing) {
  ASSERT_TRUE(client_->Start("po-1").ok());
  ASSERT_TRUE(client_->Step("po-1", "submit", kSubmit).ok());
  auto before = client_->Get("po-1");
  size_t history = client_->History("po-1").size();

  auto st = client_->Step("po-404", "accept");
  EXPECT_EQ(st.error_code(), grpc::NOT_FOUND);
  EXPECT_EQ(st.error_message(), "no instance 'po-404'");
  st = client_->Step("po-1", "ship");
  EXPECT_EQ(st.error_code(), grpc::NOT_FOUND);
  EXPECT_EQ(st.error_message(), "process 'purchase-order' has no step 'ship'");
  st = client_->Step("po-1", "pay", R"({"amount":250})");
  EXPECT_EQ(st.error_code(), grpc::FAILED_PRECONDITION);
  EXPECT_EQ(st.error_message(), "step 'pay' is not allowed from state 'submitted'");
  st = client_->Step("po-1", "cancel", R"({"reason":42})");
  EXPECT_EQ(st.error_code(), grpc::INVALID_ARGUMENT);
  EXPECT_EQ(st.error_message(), "input.reason: must be a string, got integer");
  st = client_->Step("po-1", "accept", "{not json");
  EXPECT_EQ(st.error_code(), grpc::INVALID_ARGUMENT);
  EXPECT_EQ(st.error_message().rfind("input_json: invalid JSON at offset ", 0), 0u) << st.error_message();
  st = client_->Step("po-1", "accept", "[1,2]");
  EXPECT_EQ(st.error_code(), grpc::INVALID_ARGUMENT);
  std::string big = R"({"reason":")" + std::string(2 << 20, 'x') + "\"}";
  st = client_->Step("po-1", "cancel", big);
  EXPECT_EQ(st.error_code(), grpc::RESOURCE_EXHAUSTED);
  EXPECT_NE(st.error_message().find("the limit is 1048576"), std::string::npos) << st.error_message();
  st = client_->Start("x", nullptr, "no-such-process");
  EXPECT_EQ(st.error_code(), grpc::NOT_FOUND);
  EXPECT_EQ(st.error_message(), "no definition 'no-such-process' is loaded");
  st = client_->Start("po-1");
  EXPECT_EQ(st.error_code(), grpc::ALREADY_EXISTS);
  st = client_->Start("bad id!");
  EXPECT_EQ(st.error_code(), grpc::INVALID_ARGUMENT);

  auto after = client_->Get("po-1");
  EXPECT_EQ(after.SerializeAsString(), before.SerializeAsString());
  EXPECT_EQ(client_->History("po-1").size(), history);
}

TEST_F(NodeApi, IdempotencyKeyReturnsTheOriginalResultAlsoAfterRestart) {
  ASSERT_TRUE(client_->Start("po-1").ok());
  pb::TriggerStepResponse first, again;
  ASSERT_TRUE(client_->Step("po-1", "submit", kSubmit, "key-1", &first).ok());
  ASSERT_TRUE(client_->Step("po-1", "submit", kSubmit, "key-1", &again).ok());
  EXPECT_EQ(again.proposal_id(), first.proposal_id());
  EXPECT_EQ(again.outcome(), pb::CONFIRMED);
  ASSERT_TRUE(client_->Step("po-1", "accept", "{}", "key-2").ok());
  // The same key for another request is refused.
  auto st = client_->Step("po-1", "accept", "{}", "key-1");
  EXPECT_EQ(st.error_code(), grpc::ALREADY_EXISTS);

  Restart(/*crash=*/false);
  ASSERT_TRUE(client_->Step("po-1", "submit", kSubmit, "key-1", &again).ok());
  EXPECT_EQ(again.proposal_id(), first.proposal_id());
  pb::TriggerStepResponse accept_again;
  ASSERT_TRUE(client_->Step("po-1", "accept", "{}", "key-2", &accept_again).ok());
  EXPECT_EQ(accept_again.outcome(), pb::CONFIRMED);
  EXPECT_EQ(client_->History("po-1").size(), 3u);  // $start, submit, accept
  // Nothing was applied twice.
  EXPECT_EQ(client_->Get("po-1").position(), 2u);
}

TEST_F(NodeApi, ACallWithoutWaitReturnsOnceItsProposalIsStored) {
  ASSERT_TRUE(client_->Start("nw-1").ok());
  pb::TriggerStepResponse r;
  grpc::Status st = client_->Step("nw-1", "submit", kSubmit, "nw-key", &r, /*no_wait=*/true);
  ASSERT_TRUE(st.ok()) << st.error_message();
  EXPECT_FALSE(r.proposal_id().empty());
  // Stored, pending or (on the embedded ledger, ordered and applied in the
  // same commit) confirmed already; never anything else.
  EXPECT_TRUE(r.outcome() == pb::PENDING || r.outcome() == pb::CONFIRMED) << pb::Outcome_Name(r.outcome());
  // The same call again gets the same proposal, now applied.
  pb::TriggerStepResponse again;
  ASSERT_TRUE(client_->Step("nw-1", "submit", kSubmit, "nw-key", &again).ok());
  EXPECT_EQ(again.proposal_id(), r.proposal_id());
  EXPECT_EQ(again.outcome(), pb::CONFIRMED);
  EXPECT_EQ(client_->History("nw-1").size(), 2u);
  // Refusals come back as errors without waiting too.
  st = client_->Step("nw-1", "submit", kSubmit, "nw-key-2", &r, /*no_wait=*/true);
  EXPECT_EQ(st.error_code(), grpc::FAILED_PRECONDITION) << st.error_message();
  st = client_->Step("nw-1", "accept", "{}", "nw-key", &r, /*no_wait=*/true);
  EXPECT_EQ(st.error_code(), grpc::ALREADY_EXISTS) << st.error_message();
}

TEST_F(NodeApi, RacingConflictingStepsExactlyOneWins) {
  constexpr int kRounds = 4, kRacers = 8;
  for (int round = 0; round < kRounds; ++round) {
    std::string id = "race-" + std::to_string(round);
    ASSERT_NO_FATAL_FAILURE(StartSubmitted(id));
    std::atomic<int> confirmed{0}, rejected{0};
    std::vector<std::string> reasons(kRacers);
    AllAtOnce(kRacers, [&](NodeClient& c, int i) {
      auto st = c.Step(id, i % 2 ? "accept" : "cancel");
      if (st.ok()) {
        ++confirmed;
      } else {
        ++rejected;
        reasons[i] = st.error_message();
        EXPECT_EQ(st.error_code(), grpc::FAILED_PRECONDITION) << st.error_message();
      }
    });
    EXPECT_EQ(confirmed.load(), 1) << id;
    EXPECT_EQ(rejected.load(), kRacers - 1) << id;
    for (const auto& r : reasons) {
      if (!r.empty()) {
        EXPECT_NE(r.find("is not allowed from state"), std::string::npos) << r;
      }
    }
    auto inst = client_->Get(id);
    EXPECT_EQ(inst.position(), 2u);
    // The losers that passed preflight are in the history, rejected, with the reason.
    int hist_confirmed = 0;
    for (const auto& h : client_->History(id))
      if (h.step() != "$start" && h.step() != "submit") {
        if (h.outcome() == pb::CONFIRMED) {
          ++hist_confirmed;
        } else {
          EXPECT_EQ(h.reject_code(), "NOT_FROM_STATE");
        }
      }
    EXPECT_EQ(hist_confirmed, 1);
  }
}

// Callers that send one idempotency key at the same moment, before any of
// them is stored: those with the request stored first all get its result
// (the same proposal, confirmed), those with another request under the key
// are refused, and the step is applied once.
TEST_F(NodeApi, ConcurrentCallsWithOneIdempotencyKeyShareOneResult) {
  constexpr int kRounds = 3, kCallers = 8;
  for (int round = 0; round < kRounds; ++round) {
    std::string id = "same-key-" + std::to_string(round);
    ASSERT_NO_FATAL_FAILURE(StartSubmitted(id));
    std::vector<grpc::Status> status(kCallers);
    std::vector<pb::TriggerStepResponse> resp(kCallers);
    AllAtOnce(kCallers, [&](NodeClient& c, int i) {
      status[i] = c.Step(id, i % 2 ? "accept" : "cancel", "{}", "key-" + id, &resp[i]);
    });
    std::set<std::string> winning_proposals;
    std::set<int> winning_parity, refused_parity;
    for (int i = 0; i < kCallers; ++i) {
      if (status[i].ok()) {
        EXPECT_EQ(resp[i].outcome(), pb::CONFIRMED) << id;
        EXPECT_EQ(resp[i].instance().position(), 2u) << id;  // the instance right after the step
        winning_proposals.insert(resp[i].proposal_id());
        winning_parity.insert(i % 2);
      } else {
        EXPECT_EQ(status[i].error_code(), grpc::ALREADY_EXISTS) << status[i].error_message();
        EXPECT_NE(status[i].error_message().find("was used for a different request"), std::string::npos)
            << status[i].error_message();
        refused_parity.insert(i % 2);
      }
    }
    // One request won the key: every caller that sent it shares its result.
    EXPECT_EQ(winning_proposals.size(), 1u) << id;
    EXPECT_EQ(winning_parity.size(), 1u) << id;
    EXPECT_EQ(refused_parity.size(), 1u) << id;
    EXPECT_NE(*winning_parity.begin(), *refused_parity.begin()) << id;
    EXPECT_EQ(client_->Get(id).position(), 2u) << id;
    EXPECT_EQ(client_->History(id).size(), 3u) << id;  // $start, submit, and the one step
  }
}

// kill -9 in the middle of a stream of steps: after a restart every
// confirmed step is there exactly once, and retries with the same
// idempotency keys get the original results.
TEST_F(NodeApi, CrashSafetyUnderKillNine) {
  constexpr int kInstances = 40;
  for (int i = 0; i < kInstances; ++i) ASSERT_TRUE(client_->Start("c-" + std::to_string(i)).ok());
  std::map<std::string, std::string> confirmed;  // key -> proposal id
  std::mutex mu;
  std::atomic<bool> killed{false};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      NodeClient c(node_->channel());
      for (int i = t; i < kInstances; i += 4) {
        std::string id = "c-" + std::to_string(i);
        for (const char* step : {"submit", "accept"}) {
          pb::TriggerStepResponse r;
          auto st = c.Step(id, step, std::string(step) == "submit" ? SubmitFor(id) : "{}", id + "/" + step, &r);
          if (!st.ok()) return;  // the node died under us
          std::lock_guard<std::mutex> lock(mu);
          confirmed[id + "/" + step] = r.proposal_id();
        }
      }
    });
  }
  // Kill once the stream is under way, not before and not after.
  for (int i = 0; i < 2000; ++i) {
    {
      std::lock_guard<std::mutex> lock(mu);
      if (confirmed.size() >= 8) break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  node_->Kill();
  killed = true;
  for (auto& th : threads) th.join();
  Restart(/*crash=*/true);  // already killed: this starts it again

  // Retry everything with the same keys.
  for (int i = 0; i < kInstances; ++i) {
    std::string id = "c-" + std::to_string(i);
    for (const char* step : {"submit", "accept"}) {
      pb::TriggerStepResponse r;
      std::string key = id + "/" + step;
      auto st = client_->Step(id, step, std::string(step) == "submit" ? SubmitFor(id) : "{}", key, &r);
      ASSERT_TRUE(st.ok()) << key << ": " << st.error_message();
      EXPECT_EQ(r.outcome(), pb::CONFIRMED) << key;
      if (confirmed.count(key)) {
        EXPECT_EQ(r.proposal_id(), confirmed[key]) << key;
      }
    }
    auto h = client_->History(id);
    ASSERT_EQ(h.size(), 3u) << id;  // $start, submit, accept: each exactly once
    EXPECT_EQ(h[1].step(), "submit");
    EXPECT_EQ(h[2].step(), "accept");
    EXPECT_EQ(client_->Get(id).states(0), "accepted");
  }
  EXPECT_FALSE(confirmed.empty()) << "the crash came before any step was confirmed";
  EXPECT_LT(confirmed.size(), 2u * kInstances) << "the crash came after the stream ended";
}

TEST_F(NodeApi, DurableSubscriptionRedeliversWhatWasNotAcked) {
  ASSERT_TRUE(client_->Start("po-1").ok());
  ASSERT_TRUE(client_->Step("po-1", "submit", kSubmit).ok());
  ASSERT_TRUE(client_->Step("po-1", "accept").ok());

  auto read = [&](size_t n) {
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
    pb::SubscribeRequest req;
    req.set_subscription("erp");
    req.set_instance_id("po-1");
    auto reader = client_->events()->Subscribe(&ctx, req);
    std::vector<pb::Event> out;
    pb::Event e;
    while (out.size() < n && reader->Read(&e)) out.push_back(e);
    ctx.TryCancel();
    return out;
  };
  auto first = read(3);
  ASSERT_EQ(first.size(), 3u);
  EXPECT_EQ(first[0].type(), "instance_started");
  EXPECT_EQ(first[1].type(), "step_confirmed");
  EXPECT_EQ(first[1].step(), "submit");
  // Acknowledge only the first: the next connection starts after it.
  pb::AckRequest ack;
  ack.set_subscription("erp");
  ack.set_offset(first[0].offset());
  pb::AckResponse ack_resp;
  grpc::ClientContext actx;
  ASSERT_TRUE(client_->events()->Ack(&actx, ack, &ack_resp).ok());
  Restart(/*crash=*/false);
  auto again = read(2);
  ASSERT_EQ(again.size(), 2u);
  EXPECT_EQ(again[0].offset(), first[1].offset());
  EXPECT_EQ(again[1].offset(), first[2].offset());
}

TEST_F(NodeApi, ListInstancesFiltersByDataAndStateWithPaging) {
  for (int i = 0; i < 7; ++i) {
    std::string id = "q-" + std::to_string(i);
    ASSERT_TRUE(client_->Start(id).ok());
    std::string input = R"({"po_number":"P)" + std::to_string(i) + R"(","items":[{"sku":"a","qty":1}],"total":)" +
                        std::to_string(500 * (i + 1)) + "}";
    ASSERT_TRUE(client_->Step(id, "submit", input).ok());
  }
  ASSERT_TRUE(client_->Step("q-6", "accept").ok());
  auto r = client_->List("data.total > 1000");
  EXPECT_EQ(r.instances_size(), 5);
  r = client_->List("data.total > 1000 && data.po_number == \"P6\"");
  ASSERT_EQ(r.instances_size(), 1);
  EXPECT_EQ(r.instances(0).instance_id(), "q-6");
  r = client_->List("", "accepted");
  ASSERT_EQ(r.instances_size(), 1);
  auto page1 = client_->List("data.total >= 500", "", 3);
  EXPECT_EQ(page1.instances_size(), 3);
  ASSERT_FALSE(page1.next_page_token().empty());
  auto page2 = client_->List("data.total >= 500", "", 3, page1.next_page_token());
  EXPECT_EQ(page2.instances_size(), 3);
  EXPECT_NE(page2.instances(0).instance_id(), page1.instances(0).instance_id());
  grpc::Status st;
  client_->List("data.total > 1 || true", "", 0, "", &st);
  EXPECT_EQ(st.error_code(), grpc::INVALID_ARGUMENT);
  client_->List("data.total >", "", 0, "", &st);
  EXPECT_EQ(st.error_code(), grpc::INVALID_ARGUMENT);
}

TEST_F(NodeApi, DataFolderLockedByAnotherNodeIsRefused) {
  TreatydProcess second(dir_.path() + "/node");
  EXPECT_FALSE(second.Start());
  EXPECT_NE(second.Log().find("is locked by another treatyd; refusing to start"), std::string::npos) << second.Log();
  EXPECT_EQ(node_->Stop(), 0);
  EXPECT_NE(node_->Log().find("received SIGTERM, shutting down"), std::string::npos);
}

}  // namespace
}  // namespace treaty::testing
