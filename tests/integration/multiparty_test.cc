// Three parties and a sequencer, as real processes on loopback: the
// multi-party protocol end to end (DESIGN.md, "Multi-party protocol").
#include <gtest/gtest.h>

#include <atomic>
#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <functional>
#include <sstream>
#include <thread>

#include <nlohmann/json.hpp>

#include "definitions/base/signing_key.h"
#include "engine/protocol/proposal_envelope.h"
#include "network_fixture.h"

namespace treaty::testing {
namespace {

namespace pb = ::treaty::v1;
using json = nlohmann::json;

TEST_F(NetworkTest, ThreePartiesConvergeWithAttestationsAndTheBankSeesItemsAsAHash) {
  Submitted("po-1");
  pb::TriggerStepResponse r;
  ASSERT_TRUE(at("seller").Step("po-1", "accept", "{}", &r).ok());
  EXPECT_EQ(r.outcome(), pb::CONFIRMED) << r.reason();
  ASSERT_TRUE(AllIn("po-1", "accepted"));
  ASSERT_TRUE(at("buyer").Step("po-1", "pay", R"({"amount":300})", &r).ok());
  EXPECT_EQ(r.outcome(), pb::CONFIRMED) << r.reason();
  ASSERT_TRUE(AllIn("po-1", "paid"));
  ExpectSameStateHash("po-1");

  // The seller sees the items; the bank holds only their salted commitment.
  json seller = json::parse(at("seller").Find("po-1")->data_json());
  json bank = json::parse(at("bank").Find("po-1")->data_json());
  EXPECT_EQ(seller["items"][0]["sku"], "BOLT");
  ASSERT_TRUE(bank["items"].is_object()) << bank.dump();
  EXPECT_TRUE(bank["items"].contains("$redacted"));
  EXPECT_EQ(bank["total"], 300);
  auto raw = QueryDb(net_->data_dir("bank") + "/node.db",
                     "SELECT (SELECT COUNT(*) FROM journal WHERE input LIKE '%BOLT%') + (SELECT COUNT(*) FROM "
                     "envelopes WHERE body LIKE '%BOLT%') + (SELECT COUNT(*) FROM proposals WHERE input LIKE '%BOLT%')");
  EXPECT_EQ(raw.at(0).at(0), "0") << "the bank stored the items";

  // Every step attested by all three, all agreeing.
  ASSERT_TRUE(Eventually([&] {
    for (const auto& p : net_->parties())
      for (const auto& e : at(p).History("po-1"))
        if (e.attestations_size() != 3) return false;
    return true;
  }));
  for (const auto& p : net_->parties()) {
    auto h = at(p).History("po-1");
    ASSERT_EQ(h.size(), 4u) << p;
    for (const auto& e : h)
      for (const auto& a : e.attestations()) EXPECT_TRUE(a.matches()) << p << " step " << e.seq() << " " << a.party();
  }
  for (const auto& p : net_->parties()) {
    auto s = at(p).Status();
    EXPECT_EQ(s.members_size(), 3) << p;
    EXPECT_EQ(s.blocked_size(), 0) << p;
  }
}

TEST_F(NetworkTest, AWaitForEveryMemberReturnsOnceAllAttestedOrNamesThoseMissing) {
  // Started and attested by all three before the call returns: no polling
  // of the next party before a follow-up call.
  pb::StartProcessRequest start;
  start.set_definition("purchase-order");
  start.set_instance_id("aw-1");
  for (const auto& [role, party] : kRoles) {
    auto* b = start.add_roles();
    b->set_role(role);
    b->set_party(party);
  }
  start.set_wait_for(pb::WAIT_ATTESTED_BY_ALL);
  pb::StartProcessResponse started;
  ASSERT_TRUE(at("buyer").StartWith(start, &started).ok());
  EXPECT_TRUE(started.attestation().all_attested());
  EXPECT_EQ(started.attestation().attested_by_size(), 3);
  // At once, with no wait: the seller and the bank have it applied.
  for (const char* p : {"seller", "bank"}) EXPECT_EQ(at(p).State("aw-1"), "draft") << p;

  pb::TriggerStepRequest submit;
  submit.set_instance_id("aw-1");
  submit.set_step("submit");
  submit.set_input_json(SubmitFor("aw-1"));
  submit.set_wait_for(pb::WAIT_ATTESTED_BY_ALL);
  pb::TriggerStepResponse r;
  ASSERT_TRUE(at("buyer").Trigger(submit, &r).ok());
  EXPECT_EQ(r.outcome(), pb::CONFIRMED);
  EXPECT_TRUE(r.attestation().all_attested());
  std::vector<std::string> by(r.attestation().attested_by().begin(), r.attestation().attested_by().end());
  EXPECT_EQ(by, (std::vector<std::string>{"bank", "buyer", "seller"}));
  EXPECT_EQ(r.attestation().missing_size(), 0);
  // The default wait does not report attestations.
  pb::TriggerStepResponse plain;
  ASSERT_TRUE(at("seller").Step("aw-1", "accept", "{}", &plain).ok());
  EXPECT_FALSE(plain.has_attestation());

  // With the bank down, the step is confirmed here and the wait ends at
  // the timeout, naming the bank.
  ASSERT_TRUE(AllIn("aw-1", "accepted"));
  net_->node("bank").Stop();
  pb::TriggerStepRequest pay;
  pay.set_instance_id("aw-1");
  pay.set_step("pay");
  pay.set_input_json(R"({"amount":300})");
  pay.set_wait_for(pb::WAIT_ATTESTED_BY_ALL);
  pay.set_wait_timeout_ms(1500);
  auto t0 = std::chrono::steady_clock::now();
  ASSERT_TRUE(at("buyer").Trigger(pay, &r).ok());
  EXPECT_GE(std::chrono::steady_clock::now() - t0, std::chrono::milliseconds(1400));
  EXPECT_EQ(r.outcome(), pb::CONFIRMED);
  EXPECT_FALSE(r.attestation().all_attested());
  ASSERT_EQ(r.attestation().missing_size(), 1);
  EXPECT_EQ(r.attestation().missing(0), "bank");
  EXPECT_EQ(r.attestation().attested_by_size(), 2);

  // An unknown wait mode is refused before anything is proposed.
  pb::TriggerStepRequest bad = pay;
  bad.set_wait_for(static_cast<pb::WaitFor>(7));
  EXPECT_EQ(at("buyer").Trigger(bad, &r).error_code(), grpc::INVALID_ARGUMENT);
}

TEST_F(NetworkTest, RacingAcceptAndCancelResolveIdenticallyAtEveryParty) {
  const int kOrders = 4;
  for (int i = 0; i < kOrders; ++i) Submitted("race-" + std::to_string(i));
  for (int i = 0; i < kOrders; ++i) RaceAcceptAgainstCancel("race-" + std::to_string(i));
}

// The seller's `accept` is a human task: it opens at the seller's node only
// (the party holding the role), and a completion racing the buyer's cancel
// ends the same at every party; a task the cancel beat is cancelled with
// the reason.
TEST_F(NetworkTest, TheSellersAcceptTaskRacesTheBuyersCancelAndEndsTheSameEverywhere) {
  const int kOrders = 4;
  for (int i = 0; i < kOrders; ++i) Submitted("task-" + std::to_string(i));
  auto seller_tasks = pb::Tasks::NewStub(net_->node("seller").channel());
  auto task_of = [&](pb::Tasks::Stub* stub, const std::string& id, grpc::Status* st) {
    pb::GetTaskRequest req;
    req.set_task_id(id);
    pb::GetTaskResponse resp;
    grpc::ClientContext ctx;
    *st = stub->GetTask(&ctx, req, &resp);
    return resp.task();
  };
  for (const std::string party : {"buyer", "bank"}) {
    auto stub = pb::Tasks::NewStub(net_->node(party).channel());
    pb::SearchTasksRequest all;
    pb::SearchTasksResponse found;
    grpc::ClientContext ctx;
    ASSERT_TRUE(stub->SearchTasks(&ctx, all, &found).ok());
    EXPECT_EQ(found.tasks_size(), 0) << party << " holds no seller role";
  }
  int completed = 0, cancelled = 0;
  for (int i = 0; i < kOrders; ++i) {
    std::string id = "task-" + std::to_string(i);
    std::string task_id = id + ":1:accept";
    grpc::Status st;
    ASSERT_TRUE(Eventually([&] { return task_of(seller_tasks.get(), task_id, &st).state() == pb::TASK_OPEN; }))
        << st.error_message();
    grpc::Status sa, sc;
    pb::CompleteTaskResponse done;
    pb::TriggerStepResponse cancel;
    std::thread t1([&] {
      pb::CompleteTaskRequest req;
      req.set_task_id(task_id);
      req.set_assignee("sam");
      grpc::ClientContext ctx;
      sa = seller_tasks->CompleteTask(&ctx, req, &done);
    });
    std::thread t2([&] { sc = at("buyer").Step(id, "cancel", R"({"reason":"found it cheaper"})", &cancel); });
    t1.join();
    t2.join();
    bool accept_won = sa.ok() && done.outcome() == pb::CONFIRMED;
    bool cancel_won = sc.ok() && cancel.outcome() == pb::CONFIRMED && !accept_won;
    ASSERT_TRUE(accept_won || cancel_won) << id << ": " << sa.error_message() << " / " << sc.error_message();
    ASSERT_TRUE(AllIn(id, accept_won ? "accepted" : "cancelled")) << id;
    ExpectSameStateHash(id);
    pb::Task t = task_of(seller_tasks.get(), task_id, &st);
    ASSERT_TRUE(st.ok()) << st.error_message();
    if (accept_won) {
      ++completed;
      EXPECT_EQ(t.state(), pb::TASK_COMPLETED) << id;
      EXPECT_EQ(t.closed_by(), done.proposal_id());
    } else {
      ++cancelled;
      EXPECT_EQ(t.state(), pb::TASK_CANCELLED) << id;
      // The cancel's height, as every party's history records it.
      uint64_t height = 0;
      for (const auto& h : at("seller").History(id))
        if (h.step() == "cancel" && h.outcome() == pb::CONFIRMED) height = h.ledger_height();
      EXPECT_EQ(t.close_reason(), "the buyer's cancel was applied first at height " + std::to_string(height));
      if (!sa.ok()) {
        EXPECT_NE(sa.error_message().find("the task stays open"), std::string::npos) << sa.error_message();
      }
    }
    // The same history at every party, rejections and reasons included.
    // The loser's rejection may be ordered in a later block than the
    // winner: a party that is in the final state has not necessarily
    // applied it yet.
    size_t want = 0;
    for (const auto& p : net_->parties()) want = std::max(want, at(p).History(id).size());
    for (const auto& p : net_->parties())
      EXPECT_TRUE(Eventually([&] { return at(p).History(id).size() >= want; })) << p << " " << id;
    auto ref = at("buyer").History(id);
    for (const auto& p : net_->parties()) {
      auto h = at(p).History(id);
      ASSERT_EQ(h.size(), ref.size()) << p << " " << id;
      for (size_t k = 0; k < h.size(); ++k) {
        EXPECT_EQ(h[k].outcome(), ref[k].outcome());
        EXPECT_EQ(h[k].reason(), ref[k].reason());
      }
    }
  }
  EXPECT_EQ(completed + cancelled, kOrders);
}

TEST_F(NetworkTest, AUniqueKeyGoesToTheFirstClaimInLedgerOrderAtEveryParty) {
  for (const char* id : {"u-1", "u-2", "u-3"}) ASSERT_TRUE(at("buyer").Start(id, kRoles).ok());
  ASSERT_TRUE(AllIn("u-3", "draft"));
  const char* order = R"({"po_number":"PO-UNIQUE","items":[{"sku":"A","qty":1}],"total":5})";
  std::string winner = RaceForOneNumber("u-1", "u-2", order);
  ASSERT_FALSE(winner.empty());
  // A later attempt fails fast, naming the field; another number is fine.
  pb::TriggerStepResponse r;
  grpc::Status late = at("buyer").Step("u-3", "submit", order, &r);
  EXPECT_EQ(late.error_code(), grpc::StatusCode::ALREADY_EXISTS) << late.error_message();
  EXPECT_NE(late.error_message().find("po_number"), std::string::npos);
  ASSERT_TRUE(at("buyer").Step("u-3", "submit", R"({"po_number":"PO-OTHER","items":[{"sku":"A","qty":1}],"total":5})", &r).ok());
  EXPECT_EQ(r.outcome(), pb::CONFIRMED) << r.reason();
  // A won claim is recorded once, as the instance's, not also as an
  // unrecognised ledger entry (the proposer holds the data before the pin).
  std::string db = net_->data_dir("buyer") + "/node.db";
  EXPECT_EQ(QueryDb(db, "SELECT instance FROM claims ORDER BY instance"),
            (std::vector<std::vector<std::string>>{{winner}, {"u-3"}}));
  EXPECT_EQ(QueryDb(db, "SELECT count(*) FROM unmatched_pins WHERE pin IN (SELECT lower(hex(claim)) FROM claims WHERE instance = "
                        "'u-3')")[0][0],
            "0");
}

// A decimal with more digits than a double holds crosses the data exchange
// digit for digit: the other member's commitment check passes and both
// hold the same value (a parse through double refused the proposal).
TEST(ExactNetwork, ADecimalBeyondDoublePrecisionReachesTheOtherMemberExactly) {
  TempDir dir;
  std::filesystem::create_directories(dir.path() + "/defs");
  std::ofstream(dir.path() + "/defs/booking.yaml") << R"(process: booking
version: 1
roles: [payer, payee]
data:
  amount: { type: decimal }
states:
  open: { initial: true }
  booked: { final: true }
steps:
  book: { from: open, to: booked, by: payer, input: { amount: decimal }, set: { amount: input.amount } }
)";
  LocalNetwork net(dir.path() + "/net", {"buyer", "seller"}, {"--sync", "normal"},
                   {"--definitions", dir.path() + "/defs"});
  ASSERT_TRUE(net.Start());
  NodeClient buyer(net.node("buyer").channel()), seller(net.node("seller").channel());
  ASSERT_TRUE(buyer.Start("b-1", {{"payer", "buyer"}, {"payee", "seller"}}, nullptr, "booking").ok());
  pb::TriggerStepResponse r;
  grpc::Status st = buyer.Step("b-1", "book", R"({"amount":12345678901234567.891})", &r);
  ASSERT_TRUE(st.ok()) << st.error_message();
  ASSERT_EQ(r.outcome(), pb::CONFIRMED) << r.reason();
  ASSERT_TRUE(Eventually([&] { return seller.State("b-1") == "booked"; })) << seller.State("b-1");
  EXPECT_EQ(seller.Get("b-1").data_json(), R"({"amount":12345678901234567.891})");
  EXPECT_EQ(seller.Get("b-1").state_hash(), buyer.Get("b-1").state_hash());
}

// The network runs as a real one would (LocalNetwork's secure mode): each
// node's API takes TLS with a token of its own party's client only. Another
// party's token, no token, or plaintext reach no handler of the node.
TEST_F(NetworkTest, EachNodeTakesOnlyTlsWithItsOwnPartysToken) {
  ASSERT_TRUE(net_->secure());
  ASSERT_TRUE(at("buyer").Start("t-1", kRoles).ok());
  adapters::ClientSecurity buyers = net_->node("buyer").client();
  std::string err;
  NodeClient buyer_at_seller(adapters::MakeClientChannel(net_->node("seller").address(), buyers, &err));
  grpc::Status st;
  buyer_at_seller.Status(&st);
  EXPECT_EQ(st.error_code(), grpc::UNAUTHENTICATED) << st.error_message();
  adapters::ClientSecurity no_token = buyers;
  no_token.token.clear();
  NodeClient anonymous(adapters::MakeClientChannel(net_->node("seller").address(), no_token, &err));
  anonymous.Status(&st);
  EXPECT_EQ(st.error_code(), grpc::UNAUTHENTICATED) << st.error_message();
  NodeClient plaintext(grpc::CreateChannel(net_->node("seller").address(), grpc::InsecureChannelCredentials()));
  plaintext.Status(&st);
  EXPECT_EQ(st.error_code(), grpc::UNAVAILABLE) << st.error_message();
  // The seller's own client, over TLS with its token, sees the instance.
  EXPECT_TRUE(AllIn("t-1", "draft"));
  at("seller").Status(&st);
  EXPECT_TRUE(st.ok()) << st.error_message();
  EXPECT_NE(net_->node("seller").Log().find("refused a call to /treaty.v1.Node/Status: unknown or revoked bearer token"),
            std::string::npos)
      << net_->node("seller").Log();
}

TEST_F(NetworkTest, APartyThatIsNotAMemberNeverStoresTheInstance) {
  // The bank role goes to the seller: the bank node is not a member.
  ASSERT_TRUE(at("buyer").Start("private-1", {{"buyer", "buyer"}, {"seller", "seller"}, {"bank", "seller"}}).ok());
  ASSERT_TRUE(Eventually([&] { return at("seller").State("private-1") == "draft"; }));
  pb::TriggerStepResponse r;
  ASSERT_TRUE(at("buyer").Step("private-1", "submit", R"({"po_number":"SECRET-PO","items":[{"sku":"X","qty":1}],"total":5})", &r).ok());
  ASSERT_EQ(r.outcome(), pb::CONFIRMED);
  ASSERT_TRUE(Eventually([&] { return at("seller").State("private-1") == "submitted"; }));
  // Let the bank follow the ledger past those pins.
  ASSERT_TRUE(Eventually([&] { return at("bank").Status().applied_height() >= at("buyer").Status().applied_height(); }));
  EXPECT_FALSE(at("bank").Find("private-1"));
  std::string db = net_->data_dir("bank") + "/node.db";
  for (const char* sql : {"SELECT COUNT(*) FROM instances", "SELECT COUNT(*) FROM proposals",
                          "SELECT COUNT(*) FROM journal WHERE instance != ''", "SELECT COUNT(*) FROM envelopes"})
    EXPECT_EQ(QueryDb(db, sql).at(0).at(0), "0") << sql;
  // Nothing of it in the bank's files at all: not the id, not the order number.
  for (const char* f : {"/node.db", "/node.db-wal"}) {
    std::ifstream in(net_->data_dir("bank") + f, std::ios::binary);
    std::stringstream s;
    s << in.rdbuf();
    EXPECT_EQ(s.str().find("SECRET-PO"), std::string::npos) << f;
    EXPECT_EQ(s.str().find("private-1"), std::string::npos) << f;
  }
}

}  // namespace
}  // namespace treaty::testing
