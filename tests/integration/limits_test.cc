// The node's limits (docs/limits.md) against a real treatyd on loopback:
// an oversized request is RESOURCE_EXHAUSTED and changes nothing; a
// client's streams beyond --max-streams-per-client are refused with the
// limit named (and logged) until one closes; idempotency keys older than
// their age limit or beyond their count limit are forgotten while recent
// ones still deduplicate; a bad limit flag stops the node with a message.
#include <gtest/gtest.h>

#include <chrono>
#include <thread>

#include "treaty/v1/treaty.grpc.pb.h"
#include "node_client.h"
#include "prometheus_text.h"
#include "treatyd_process.h"

namespace treaty::testing {
namespace {

namespace pb = ::treaty::v1;

std::string SubmitFor(const std::string& id) {
  return R"({"po_number":"PO-)" + id + R"(","items":[{"sku":"A-1","qty":2}],"total":250})";
}

class Limits : public ::testing::Test {
 protected:
  void StartNode(std::vector<std::string> flags) {
    node_ = std::make_unique<TreatydProcess>(dir_.path() + "/node", std::move(flags));
    ASSERT_TRUE(node_->Start()) << node_->Log();
    client_ = std::make_unique<NodeClient>(node_->channel());
  }
  TempDir dir_;
  std::unique_ptr<TreatydProcess> node_;
  std::unique_ptr<NodeClient> client_;
};

TEST_F(Limits, AnOversizedRequestIsResourceExhaustedAndChangesNothing) {
  StartNode({"--max-request-bytes", "65536"});
  grpc::Status started = client_->Start("big-1");
  ASSERT_TRUE(started.ok()) << started.error_message() << node_->Log();
  std::string big = R"({"po_number":"PO-big","items":[{"sku":")" + std::string(70000, 'x') + R"(","qty":1}],"total":1})";
  grpc::Status st = client_->Step("big-1", "submit", big);
  EXPECT_EQ(st.error_code(), grpc::RESOURCE_EXHAUSTED) << st.error_message();
  EXPECT_FALSE(st.error_message().empty());
  EXPECT_EQ(client_->Get("big-1").states(0), "draft");
  // Under the limit, the same call goes through.
  ASSERT_TRUE(client_->Step("big-1", "submit", SubmitFor("big-1")).ok());
  EXPECT_EQ(client_->Get("big-1").states(0), "submitted");
}

TEST_F(Limits, AClientsStreamsBeyondTheLimitAreRefusedUntilOneCloses) {
  StartNode({"--max-streams-per-client", "2", "--metrics", "127.0.0.1:0"});
  auto events = pb::Events::NewStub(node_->channel());
  auto jobs = pb::Jobs::NewStub(node_->channel());
  pb::SubscribeRequest sub;
  sub.set_from_now(true);
  grpc::ClientContext c1, c2;
  for (auto* c : {&c1, &c2}) c->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(60));
  auto s1 = events->Subscribe(&c1, sub);
  auto s2 = events->Subscribe(&c2, sub);
  // The node has fixed where each stream starts once it sends its initial
  // metadata: only then may the event they wait for be made.
  s1->WaitForInitialMetadata();
  s2->WaitForInitialMetadata();
  // Both streams are open once each has an event.
  ASSERT_TRUE(client_->Start("st-1").ok());
  pb::Event e;
  ASSERT_TRUE(s1->Read(&e));
  ASSERT_TRUE(s2->Read(&e));

  grpc::ClientContext c3;
  c3.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));  // refused, not left waiting
  auto s3 = events->Subscribe(&c3, sub);
  EXPECT_FALSE(s3->Read(&e));
  grpc::Status st = s3->Finish();
  EXPECT_EQ(st.error_code(), grpc::RESOURCE_EXHAUSTED);
  EXPECT_NE(st.error_message().find("max_streams_per_client = 2"), std::string::npos) << st.error_message();
  EXPECT_NE(st.error_message().find("Subscribe"), std::string::npos) << st.error_message();
  // Job streams count with them.
  grpc::ClientContext c4;
  c4.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
  pb::StreamJobsRequest jr;
  jr.set_type("score");
  jr.set_worker("w");
  auto s4 = jobs->StreamJobs(&c4, jr);
  pb::Job j;
  EXPECT_FALSE(s4->Read(&j));
  st = s4->Finish();
  EXPECT_EQ(st.error_code(), grpc::RESOURCE_EXHAUSTED);
  EXPECT_NE(st.error_message().find("StreamJobs"), std::string::npos) << st.error_message();
  EXPECT_NE(node_->Log().find("refused a stream"), std::string::npos);
  // And counted as refused calls.
  auto text = ScrapeMetrics(LoggedMetricsPort(node_->Log()));
  ASSERT_TRUE(text.has_value()) << node_->Log();
  PromText prom(*text);
  ASSERT_TRUE(prom.ok()) << prom.error();
  EXPECT_EQ(prom.Sum("treaty_calls_refused_total", {{"method", "Subscribe"}, {"reason", "too_many_streams"}}), 1);
  EXPECT_EQ(prom.Sum("treaty_calls_refused_total", {{"method", "StreamJobs"}, {"reason", "too_many_streams"}}), 1);

  // One closes: its slot is free again (released as its handler returns).
  c1.TryCancel();
  (void)s1->Finish();
  bool reopened = false;
  for (int attempt = 0; attempt < 50 && !reopened; ++attempt) {
    grpc::ClientContext c5;
    c5.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
    auto s5 = events->Subscribe(&c5, sub);
    s5->WaitForInitialMetadata();  // started, or refused
    ASSERT_TRUE(client_->Start("st-2-" + std::to_string(attempt)).ok());
    reopened = s5->Read(&e);
    c5.TryCancel();
    (void)s5->Finish();
    if (!reopened) std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  EXPECT_TRUE(reopened);
  c2.TryCancel();
  (void)s2->Finish();
}

TEST_F(Limits, OldIdempotencyKeysAreForgottenAndRecentOnesStillDeduplicate) {
  StartNode({"--idempotency-key-max-age-ms", "2000"});
  ASSERT_TRUE(client_->Start("ik-1").ok());
  ASSERT_TRUE(client_->Start("ik-2").ok());
  pb::TriggerStepResponse old_first, fresh_first, fresh_again, old_again;
  ASSERT_TRUE(client_->Step("ik-1", "submit", SubmitFor("ik-1"), "old", &old_first).ok());
  std::this_thread::sleep_for(std::chrono::milliseconds(2500));
  // This call's transaction prunes "old" (over 2 s) and stores "fresh".
  ASSERT_TRUE(client_->Step("ik-2", "submit", SubmitFor("ik-2"), "fresh", &fresh_first).ok());
  ASSERT_TRUE(client_->Step("ik-2", "submit", SubmitFor("ik-2"), "fresh", &fresh_again).ok());
  EXPECT_EQ(fresh_again.proposal_id(), fresh_first.proposal_id());  // recent: deduplicated
  EXPECT_EQ(fresh_again.outcome(), pb::CONFIRMED);
  // "old" is forgotten: another request under it is a new one, not
  // ALREADY_EXISTS.
  grpc::Status st = client_->Step("ik-2", "accept", "{}", "old", &old_again);
  ASSERT_TRUE(st.ok()) << st.error_message();
  EXPECT_NE(old_again.proposal_id(), old_first.proposal_id());
  EXPECT_EQ(client_->Get("ik-2").states(0), "accepted");
  EXPECT_NE(node_->Log().find("forgot 1 idempotency keys"), std::string::npos) << node_->Log();
}

TEST_F(Limits, IdempotencyKeysBeyondTheCountLimitAreForgottenOldestFirst) {
  StartNode({"--idempotency-keys-max", "2"});
  std::vector<pb::TriggerStepResponse> first(3);
  for (int i = 0; i < 3; ++i) {
    std::string id = "ic-" + std::to_string(i);
    ASSERT_TRUE(client_->Start(id).ok());
    ASSERT_TRUE(client_->Step(id, "submit", SubmitFor(id), "k" + std::to_string(i), &first[i]).ok());
  }
  pb::TriggerStepResponse again;
  // The two newest still deduplicate.
  ASSERT_TRUE(client_->Step("ic-2", "submit", SubmitFor("ic-2"), "k2", &again).ok());
  EXPECT_EQ(again.proposal_id(), first[2].proposal_id());
  ASSERT_TRUE(client_->Step("ic-1", "submit", SubmitFor("ic-1"), "k1", &again).ok());
  EXPECT_EQ(again.proposal_id(), first[1].proposal_id());
  // The oldest was forgotten: the same call is proposed anew, and
  // rejected (the order is submitted already) instead of answered with
  // the original result.
  grpc::Status st = client_->Step("ic-0", "submit", SubmitFor("ic-0"), "k0", &again);
  EXPECT_EQ(st.error_code(), grpc::FAILED_PRECONDITION) << st.error_message();
  EXPECT_NE(node_->Log().find("forgot 1 idempotency keys"), std::string::npos) << node_->Log();
}

TEST_F(Limits, ABadLimitStopsTheNodeWithAMessage) {
  TempDir dir;
  for (const auto& flags : std::vector<std::vector<std::string>>{{"--max-request-bytes", "12"},
                                                                 {"--max-streams-per-client", "many"},
                                                                 {"--idempotency-keys-max"}}) {
    TreatydProcess node(dir.path() + "/bad", flags);
    EXPECT_FALSE(node.Start());
    EXPECT_NE(node.Log().find(flags[0] + " must be a whole number"), std::string::npos) << node.Log();
  }
}

}  // namespace
}  // namespace treaty::testing
