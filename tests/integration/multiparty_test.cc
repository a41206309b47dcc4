// Three parties and a sequencer, as real processes on loopback: the
// multi-party protocol end to end (DESIGN.md, "Multi-party protocol").
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <fstream>
#include <functional>
#include <sstream>
#include <thread>

#include <nlohmann/json.hpp>

#include "engine/crypto/signing_key.h"
#include "engine/protocol/proposal_envelope.h"
#include "local_network.h"
#include "treaty/v1/treaty.grpc.pb.h"

namespace treaty::testing {
namespace {

namespace pb = ::treaty::v1;
using json = nlohmann::json;

const char* kSubmit = R"({"po_number":"PO-7","items":[{"sku":"BOLT","qty":40}],"total":300})";

bool Eventually(const std::function<bool()>& ok, int timeout_ms = 20000) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  while (std::chrono::steady_clock::now() < deadline) {
    if (ok()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return ok();
}

class Party {
 public:
  explicit Party(std::shared_ptr<grpc::Channel> ch) : p_(pb::Processes::NewStub(ch)), n_(pb::Node::NewStub(ch)) {}

  grpc::Status Start(const std::string& id, const std::map<std::string, std::string>& roles) {
    pb::StartProcessRequest req;
    req.set_definition("purchase-order");
    req.set_instance_id(id);
    for (const auto& [role, party] : roles) {
      auto* b = req.add_roles();
      b->set_role(role);
      b->set_party(party);
    }
    pb::StartProcessResponse resp;
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
    return p_->StartProcess(&ctx, req, &resp);
  }
  grpc::Status Step(const std::string& id, const std::string& step, const std::string& input = "{}",
                    pb::TriggerStepResponse* out = nullptr) {
    pb::TriggerStepRequest req;
    req.set_instance_id(id);
    req.set_step(step);
    req.set_input_json(input);
    pb::TriggerStepResponse resp;
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
    auto st = p_->TriggerStep(&ctx, req, &resp);
    if (out) *out = resp;
    return st;
  }
  std::optional<pb::Instance> Get(const std::string& id) {
    pb::GetInstanceRequest req;
    req.set_instance_id(id);
    pb::Instance resp;
    grpc::ClientContext ctx;
    if (!p_->GetInstance(&ctx, req, &resp).ok()) return std::nullopt;
    return resp;
  }
  std::string State(const std::string& id) {
    auto i = Get(id);
    return i && i->states_size() > 0 ? i->states(0) : "";
  }
  std::vector<pb::HistoryEntry> History(const std::string& id) {
    pb::GetHistoryRequest req;
    req.set_instance_id(id);
    pb::GetHistoryResponse resp;
    grpc::ClientContext ctx;
    p_->GetHistory(&ctx, req, &resp);
    return {resp.entries().begin(), resp.entries().end()};
  }
  pb::StatusResponse Status() {
    pb::StatusResponse resp;
    grpc::ClientContext ctx;
    n_->Status(&ctx, pb::StatusRequest(), &resp);
    return resp;
  }

 private:
  std::unique_ptr<pb::Processes::Stub> p_;
  std::unique_ptr<pb::Node::Stub> n_;
};

const std::map<std::string, std::string> kRoles = {{"buyer", "buyer"}, {"seller", "seller"}, {"bank", "bank"}};

class NetworkTest : public ::testing::Test {
 protected:
  void SetUp() override {
    net_ = std::make_unique<LocalNetwork>(dir_.path());
    ASSERT_TRUE(net_->Start()) << "network did not start; see " << dir_.path();
    for (const auto& p : net_->parties()) parties_[p] = std::make_unique<Party>(net_->node(p).channel());
  }
  Party& at(const std::string& p) { return *parties_.at(p); }
  // Waits until every party shows the instance in `state`.
  bool AllIn(const std::string& id, const std::string& state, int timeout_ms = 20000) {
    return Eventually(
        [&] {
          for (const auto& p : net_->parties())
            if (at(p).State(id) != state) return false;
          return true;
        },
        timeout_ms);
  }
  void ExpectSameStateHash(const std::string& id) {
    auto b = at("buyer").Get(id);
    ASSERT_TRUE(b);
    for (const auto& p : net_->parties()) {
      auto i = at(p).Get(id);
      ASSERT_TRUE(i) << p;
      EXPECT_EQ(i->state_hash(), b->state_hash()) << p << " differs on " << id;
      EXPECT_EQ(i->position(), b->position()) << p;
    }
  }
  // A purchase order the buyer started and submitted, seen as submitted everywhere.
  void Submitted(const std::string& id) {
    ASSERT_TRUE(at("buyer").Start(id, kRoles).ok());
    ASSERT_TRUE(AllIn(id, "draft"));
    pb::TriggerStepResponse r;
    ASSERT_TRUE(at("buyer").Step(id, "submit", kSubmit, &r).ok());
    ASSERT_EQ(r.outcome(), pb::CONFIRMED) << r.reason();
    ASSERT_TRUE(AllIn(id, "submitted"));
  }

  TempDir dir_;
  std::unique_ptr<LocalNetwork> net_;
  std::map<std::string, std::unique_ptr<Party>> parties_;
};

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
  json seller = json::parse(at("seller").Get("po-1")->data_json());
  json bank = json::parse(at("bank").Get("po-1")->data_json());
  EXPECT_EQ(seller["items"][0]["sku"], "BOLT");
  ASSERT_TRUE(bank["items"].is_object()) << bank.dump();
  EXPECT_TRUE(bank["items"].contains("$redacted"));
  EXPECT_EQ(bank["total"], 300);
  auto raw = QueryDb(net_->data_dir("bank") + "/node.db", "SELECT COUNT(*) FROM proposals WHERE input LIKE '%BOLT%'");
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

TEST_F(NetworkTest, RacingAcceptAndCancelResolveIdenticallyAtEveryParty) {
  const int kOrders = 4;
  for (int i = 0; i < kOrders; ++i) Submitted("race-" + std::to_string(i));
  for (int i = 0; i < kOrders; ++i) {
    std::string id = "race-" + std::to_string(i);
    pb::TriggerStepResponse accept, cancel;
    grpc::Status sa, sc;
    std::thread t1([&] { sa = at("seller").Step(id, "accept", "{}", &accept); });
    std::thread t2([&] { sc = at("buyer").Step(id, "cancel", R"({"reason":"found it cheaper"})", &cancel); });
    t1.join();
    t2.join();
    // Either may fail preflight if the other was already applied; exactly one is confirmed.
    int confirmed = (sa.ok() && accept.outcome() == pb::CONFIRMED) + (sc.ok() && cancel.outcome() == pb::CONFIRMED);
    EXPECT_EQ(confirmed, 1) << id << ": accept " << sa.error_message() << " " << accept.reason() << " / cancel "
                            << sc.error_message() << " " << cancel.reason();
    std::string winner = (sa.ok() && accept.outcome() == pb::CONFIRMED) ? "accepted" : "cancelled";
    ASSERT_TRUE(AllIn(id, winner)) << id;
    ExpectSameStateHash(id);
    // The same history, with the same rejections and reasons, everywhere.
    auto ref = at("buyer").History(id);
    for (const auto& p : net_->parties()) {
      auto h = at(p).History(id);
      ASSERT_EQ(h.size(), ref.size()) << p << " " << id;
      for (size_t k = 0; k < h.size(); ++k) {
        EXPECT_EQ(h[k].step(), ref[k].step());
        EXPECT_EQ(h[k].outcome(), ref[k].outcome());
        EXPECT_EQ(h[k].reason(), ref[k].reason());
        EXPECT_EQ(h[k].state_hash(), ref[k].state_hash());
      }
    }
  }
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
  EXPECT_FALSE(at("bank").Get("private-1"));
  std::string db = net_->data_dir("bank") + "/node.db";
  for (const char* sql : {"SELECT COUNT(*) FROM instances", "SELECT COUNT(*) FROM proposals",
                          "SELECT COUNT(*) FROM history", "SELECT COUNT(*) FROM events WHERE instance != ''"})
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
