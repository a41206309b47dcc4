// Test fixture for multi-party integration tests: a LocalNetwork of
// buyer, seller and bank, a gRPC client per party, and waits on state.
#pragma once

#include <gtest/gtest.h>

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <thread>

#include <nlohmann/json.hpp>

#include "local_network.h"
#include "node_client.h"
#include "treaty/v1/treaty.grpc.pb.h"

namespace treaty::testing {

namespace pb = ::treaty::v1;
using json = nlohmann::json;

// po_number is unique network-wide: each order gets its own.
inline std::string SubmitFor(const std::string& id) {
  return R"({"po_number":"PO-)" + id + R"(","items":[{"sku":"BOLT","qty":40}],"total":300})";
}

inline bool Eventually(const std::function<bool()>& ok, int timeout_ms = 20000) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  while (std::chrono::steady_clock::now() < deadline) {
    if (ok()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return ok();
}

inline const std::map<std::string, std::string> kRoles = {{"buyer", "buyer"}, {"seller", "seller"}, {"bank", "bank"}};

class NetworkTest : public ::testing::Test {
 protected:
  void SetUp() override {
    net_ = std::make_unique<LocalNetwork>(dir_.path());
    ASSERT_TRUE(net_->Start()) << "network did not start; see " << dir_.path();
    Connect();
  }
  void Connect() {
    for (const auto& p : net_->parties()) parties_[p] = std::make_unique<NodeClient>(net_->node(p).channel());
  }
  NodeClient& at(const std::string& p) { return *parties_.at(p); }
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
    auto b = at("buyer").Find(id);
    ASSERT_TRUE(b);
    for (const auto& p : net_->parties()) {
      auto i = at(p).Find(id);
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
    ASSERT_TRUE(at("buyer").Step(id, "submit", SubmitFor(id), &r).ok());
    ASSERT_EQ(r.outcome(), pb::CONFIRMED) << r.reason();
    ASSERT_TRUE(AllIn(id, "submitted"));
  }

  // The seller's accept and the buyer's cancel of a submitted order, at
  // once: one outcome, the same history with the same reasons and state
  // hashes at every party. Either may fail preflight if the other was
  // already applied. The definition also allows cancel from accepted: when
  // the buyer's node had applied the accept before the cancel's preflight,
  // both are confirmed, in that order. Never is the accept confirmed after
  // the cancel.
  void RaceAcceptAgainstCancel(const std::string& id) {
    pb::TriggerStepResponse accept, cancel;
    grpc::Status sa, sc;
    std::thread t1([&] { sa = at("seller").Step(id, "accept", "{}", &accept); });
    std::thread t2([&] { sc = at("buyer").Step(id, "cancel", R"({"reason":"found it cheaper"})", &cancel); });
    t1.join();
    t2.join();
    bool accepted = sa.ok() && accept.outcome() == pb::CONFIRMED;
    bool cancelled = sc.ok() && cancel.outcome() == pb::CONFIRMED;
    EXPECT_TRUE(accepted || cancelled) << id << ": accept " << sa.error_message() << " / cancel " << sc.error_message();
    if (accepted && cancelled) {
      EXPECT_LT(accept.ledger_height(), cancel.ledger_height()) << id;
    }
    ASSERT_TRUE(AllIn(id, cancelled ? "cancelled" : "accepted")) << id;
    ExpectSameStateHash(id);
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

  // Two drafts submit the same unique po_number at once: both pass
  // preflight, the ledger decides. Exactly one is confirmed; the other
  // stays a draft everywhere, having failed preflight or been rejected
  // with the same reason at every party. Returns the winner.
  std::string RaceForOneNumber(const std::string& a, const std::string& b, const std::string& order) {
    pb::TriggerStepResponse r1, r2;
    grpc::Status s1, s2;
    std::thread t1([&] { s1 = at("buyer").Step(a, "submit", order, &r1); });
    std::thread t2([&] { s2 = at("buyer").Step(b, "submit", order, &r2); });
    t1.join();
    t2.join();
    int confirmed = (s1.ok() && r1.outcome() == pb::CONFIRMED) + (s2.ok() && r2.outcome() == pb::CONFIRMED);
    EXPECT_EQ(confirmed, 1) << s1.error_message() << r1.reason() << " / " << s2.error_message() << r2.reason();
    if (confirmed != 1) return "";
    std::string winner = s1.ok() && r1.outcome() == pb::CONFIRMED ? a : b;
    std::string loser = winner == a ? b : a;
    EXPECT_TRUE(AllIn(winner, "submitted"));
    for (const auto& p : net_->parties()) EXPECT_EQ(at(p).State(loser), "draft") << p;
    auto ref = at("buyer").History(loser);
    if (ref.size() == 2) {
      EXPECT_EQ(ref[1].reject_code(), "UNIQUE_TAKEN");
      EXPECT_NE(ref[1].reason().find("po_number"), std::string::npos) << ref[1].reason();
      for (const auto& p : net_->parties()) {
        EXPECT_TRUE(Eventually([&] { return at(p).History(loser).size() == 2; })) << p;
        auto h = at(p).History(loser);
        if (h.size() == 2) {
          EXPECT_EQ(h[1].reason(), ref[1].reason()) << p;
        }
      }
    }
    return winner;
  }

  TempDir dir_;
  std::unique_ptr<LocalNetwork> net_;
  std::map<std::string, std::unique_ptr<NodeClient>> parties_;
};

}  // namespace treaty::testing
