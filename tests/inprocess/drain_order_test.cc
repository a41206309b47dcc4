// A step's outcome, reject code and reason are a pure function of the
// ledger order and the data, whatever order a member receives and drains
// things in (DESIGN.md, protocol step 6; issue: a race for a unique key
// gave the loser two different reasons at different members).
//
// Two purchase orders race for one po_number. The ledger orders the
// winner's submit first everywhere; the bank receives one of the two
// proposals late, so it applies the two in the other order than the buyer
// and the seller (the late one drains when its data arrives). Both drain
// orders are forced; every member must record the same history, and the
// whole outcomes they attest must match.
#include <gtest/gtest.h>

#include <thread>

#include <nlohmann/json.hpp>

#include "../integration/treatyd_process.h"
#include "inprocess_network.h"

namespace treaty::testing {
namespace {

using engine::Node;

const std::map<std::string, std::string> kRoles = {{"buyer", "buyer"}, {"seller", "seller"}, {"bank", "bank"}};

// The journal offset of `type` for `instance` at a node, or -1.
int64_t OffsetOf(Node& node, const std::string& instance, const std::string& type) {
  auto events = node.Events(0, 100000);
  if (!events.ok()) return -1;
  for (const auto& e : *events)
    if (e.instance == instance && e.type == type) return e.offset;
  return -1;
}

class DrainOrder : public ::testing::TestWithParam<const char*> {};

TEST_P(DrainOrder, TheLoserOfAUniqueKeyRaceGetsOneReasonAtEveryMember) {
  const std::string late = GetParam();  // whose proposal the bank receives after its block
  TempDir dir;
  InProcessNetwork net(dir.path(), {"buyer", "seller", "bank"});
  ASSERT_TRUE(net.Start().ok());
  Node& buyer = net.node("buyer");
  for (const char* id : {"w", "l"}) {
    engine::StartArgs s;
    s.definition = "purchase-order";
    s.instance_id = id;
    s.roles = kRoles;
    s.wait = false;
    ASSERT_TRUE(buyer.StartProcess(s).ok());
  }
  ASSERT_TRUE(net.Settle());
  const uint64_t base = net.ledger().Height();

  // Both submits pass the preflight (nothing is ordered yet) and are sealed
  // into two batches, ordered winner first.
  net.ledger().Hold();
  for (const char* id : {"w", "l"}) {
    engine::StepArgs a;
    a.instance_id = id;
    a.step = "submit";
    a.input_json = SubmitInput("PO-RACE");
    a.wait = false;
    auto p = buyer.TriggerStep(a);
    ASSERT_TRUE(p.ok()) << p.status().ToString();
  }
  net.Hold([&](const Sent& s) {
    return s.message.peer == "bank" && s.message.kind == "proposals" &&
           s.message.body.find("\"instance\":\"" + late + "\"") != std::string::npos;
  });
  net.Deliver();
  for (int i = 0; i < 500 && net.ledger().Waiting() < 2; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(2));
  ASSERT_EQ(net.ledger().Waiting(), 2u) << "the two submits, one batch each, wait for the ledger";
  net.ledger().Release();
  ASSERT_EQ(net.ledger().Height(), base + 2) << "one block per submit";
  ASSERT_TRUE(net.AllApplied(base + 2));
  net.ReleaseHeld();
  ASSERT_TRUE(net.Settle());

  // The bank really applied them in the other order than the buyer.
  const std::string early = late == "w" ? "l" : "w";
  auto applied_at = [&](Node& n, const std::string& id) {
    return std::max(OffsetOf(n, id, "step_confirmed"), OffsetOf(n, id, "step_rejected"));
  };
  EXPECT_LT(applied_at(net.node("buyer"), "w"), applied_at(net.node("buyer"), "l"));
  EXPECT_LT(applied_at(net.node("bank"), early), applied_at(net.node("bank"), late));

  const std::string reason =
      "po_number \"PO-RACE\" was claimed first at ledger height " + std::to_string(base + 1);
  for (const auto& party : net.parties()) {
    Node& n = net.node(party);
    auto w = n.History("w");
    auto l = n.History("l");
    ASSERT_TRUE(w.ok() && l.ok()) << party;
    ASSERT_EQ(w->size(), 2u) << party;
    ASSERT_EQ(l->size(), 2u) << party;
    EXPECT_EQ(w->back().outcome.outcome, engine::Outcome::kConfirmed) << party;
    EXPECT_EQ(l->back().outcome.outcome, engine::Outcome::kRejected) << party;
    EXPECT_EQ(l->back().outcome.reject_code, engine::RejectCode::kUniqueTaken) << party;
    EXPECT_EQ(l->back().outcome.reason, reason) << party;
    EXPECT_EQ(l->back().outcome, net.node("buyer").History("l")->back().outcome) << party;
    EXPECT_EQ(w->back().outcome, net.node("buyer").History("w")->back().outcome) << party;
    // Every member attested every entry, and all agree on the whole outcome.
    auto attested = n.Attestations("l");
    ASSERT_TRUE(attested.ok());
    int on_last = 0;
    for (const auto& a : *attested)
      if (a.seq == 2) {
        ++on_last;
        EXPECT_EQ(a.attested, l->back().outcome) << party << " holds " << a.party << "'s";
      }
    EXPECT_EQ(on_last, 2) << party;
    EXPECT_EQ(OffsetOf(n, "l", "consistency_fault"), -1) << party;
    EXPECT_EQ(OffsetOf(n, "w", "consistency_fault"), -1) << party;
  }
}

INSTANTIATE_TEST_SUITE_P(BothOrders, DrainOrder, ::testing::Values("w", "l"),
                         [](const auto& info) { return std::string(info.param) == "w" ? "WinnerLate" : "LoserLate"; });

}  // namespace
}  // namespace treaty::testing
