// Drives the purchase-order example through accepted and rejected steps,
// on the compiled Boost.MSM machine and on the reference machine alike.
#include <gtest/gtest.h>

#include "machine_fixtures.h"

namespace treaty::testing {
namespace {

using runtime::RejectCode;

const char* kItems = R"([{"sku":"A-1","qty":2},{"sku":"B-7","qty":1}])";

class PurchaseOrder : public ::testing::TestWithParam<const char*> {
 protected:
  void SetUp() override {
    rt_ = std::string(GetParam()) == "msm" ? Compiled("purchase-order") : Reference("purchase-order");
    ASSERT_NE(rt_, nullptr);
    m_ = rt_->NewMachine(1000);
  }
  runtime::ApplyResult Step(const std::string& step, const std::string& role, const std::string& input = "{}") {
    Call c;
    c.step = step;
    c.party = role + "-org";
    c.roles = {role};
    c.input = Json(input);
    c.time_ms = 2000;
    return m_->Apply(c.Get());
  }
  void Submit() {
    auto r = Step("submit", "buyer", std::string(R"({"po_number":"PO-1","total":250,"items":)") + kItems + "}");
    ASSERT_TRUE(r.accepted()) << r.reason;
  }
  std::shared_ptr<const runtime::DefinitionRuntime> rt_;
  std::unique_ptr<runtime::Machine> m_;
};

TEST_P(PurchaseOrder, HappyPathReachesPaid) {
  EXPECT_EQ(m_->ActiveStates(), std::vector<std::string>{"draft"});
  Submit();
  EXPECT_EQ(m_->ActiveStates(), std::vector<std::string>{"submitted"});
  EXPECT_EQ(m_->Data().Find("total")->as_int(), 250);
  EXPECT_EQ(*m_->Data().Find("items"), Json(kItems));
  ASSERT_TRUE(Step("accept", "seller").accepted());
  EXPECT_FALSE(m_->IsFinal());
  auto r = Step("pay", "buyer", R"({"amount":250})");
  ASSERT_TRUE(r.accepted()) << r.reason;
  EXPECT_EQ(m_->ActiveStates(), std::vector<std::string>{"paid"});
  EXPECT_EQ(m_->Data().Find("paid")->as_int(), 250);
  EXPECT_TRUE(m_->IsFinal());
}

TEST_P(PurchaseOrder, RejectionsSayWhyAndChangeNothing) {
  Submit();
  Digest before = m_->StateHash();
  std::string data_before = m_->Data().ToCanonicalJson();

  auto r = Step("ship", "seller");
  EXPECT_EQ(r.code, RejectCode::kUnknownStep);
  EXPECT_EQ(r.reason, "process 'purchase-order' has no step 'ship'");

  r = Step("pay", "buyer", R"({"amount":250})");
  EXPECT_EQ(r.code, RejectCode::kNotFromState);
  EXPECT_EQ(r.reason, "step 'pay' is not allowed from state 'submitted'");

  r = Step("accept", "buyer");
  EXPECT_EQ(r.code, RejectCode::kWrongRole);
  EXPECT_EQ(r.reason, "step 'accept' needs role seller; party 'buyer-org' holds buyer");

  r = Step("cancel", "buyer", R"({"reason":7})");
  EXPECT_EQ(r.code, RejectCode::kInvalidInput);
  EXPECT_EQ(r.reason.rfind("input.reason", 0), 0u) << r.reason;

  ASSERT_TRUE(Step("accept", "seller").accepted());
  before = m_->StateHash();
  data_before = m_->Data().ToCanonicalJson();
  r = Step("pay", "buyer", R"({"amount":249})");
  EXPECT_EQ(r.code, RejectCode::kGuardFalse);
  EXPECT_EQ(r.reason, "guard of step 'pay' is false: input.amount == data.total");
  EXPECT_EQ(m_->StateHash(), before);
  EXPECT_EQ(m_->Data().ToCanonicalJson(), data_before);
  EXPECT_EQ(m_->ActiveStates(), std::vector<std::string>{"accepted"});
}

TEST_P(PurchaseOrder, SubmitInputIsSchemaChecked) {
  auto r = Step("submit", "buyer", R"({"po_number":"PO-1","total":0,"items":[{"sku":"A","qty":1}]})");
  EXPECT_EQ(r.code, RejectCode::kInvalidInput);
  EXPECT_EQ(r.reason.rfind("input.total", 0), 0u) << r.reason;
  r = Step("submit", "buyer", R"({"po_number":"PO-1","total":5,"items":[{"sku":"A","qty":0}]})");
  EXPECT_EQ(r.code, RejectCode::kInvalidInput);
  EXPECT_EQ(r.reason.rfind("input.items[0].qty", 0), 0u) << r.reason;
  r = Step("submit", "buyer", R"({"po_number":"PO-1","total":5})");
  EXPECT_EQ(r.code, RejectCode::kInvalidInput);
  EXPECT_NE(r.reason.find("items"), std::string::npos) << r.reason;
  EXPECT_EQ(m_->ActiveStates(), std::vector<std::string>{"draft"});
}

// Accept and cancel race from `submitted`: whichever is applied first wins,
// the other is rejected with the same reason in either implementation.
TEST_P(PurchaseOrder, AcceptAndCancelRaceExactlyOneWins) {
  Submit();
  ASSERT_TRUE(Step("accept", "seller").accepted());
  auto r = Step("cancel", "buyer");
  EXPECT_EQ(r.code, RejectCode::kNotFromState);
  EXPECT_EQ(r.reason, "step 'cancel' is not allowed from state 'accepted'");

  m_ = rt_->NewMachine(1000);
  Submit();
  ASSERT_TRUE(Step("cancel", "buyer", R"({"reason":"changed my mind"})").accepted());
  r = Step("accept", "seller");
  EXPECT_EQ(r.code, RejectCode::kNotFromState);
  EXPECT_EQ(r.reason, "step 'accept' is not allowed from state 'cancelled'");
  EXPECT_TRUE(m_->IsFinal());
  EXPECT_EQ(m_->Data().Find("reason")->as_string(), "changed my mind");
}

// The bank holds `items` only as a digest; its state hash still matches
// the buyer's, and a guard reading a hidden value is refused, not guessed.
TEST_P(PurchaseOrder, HiddenFieldsKeepStateHashesEqual) {
  Submit();
  auto bank = rt_->NewMachine(1000);
  Value items = Json(kItems);
  Call c;
  c.step = "submit";
  c.roles = {"buyer"};
  c.time_ms = 2000;
  c.input = Json(R"({"po_number":"PO-1","total":250})");
  c.input.Set("items", Value::Hidden(items.ContentDigest()));
  ASSERT_TRUE(bank->Apply(c.Get()).accepted());
  EXPECT_TRUE(bank->Data().Find("items")->is_redacted());
  EXPECT_EQ(bank->StateHash(), m_->StateHash());

  ASSERT_TRUE(Step("accept", "seller").accepted());
  Call pay;
  pay.step = "pay";
  pay.roles = {"buyer"};
  pay.input = Value::Object();
  pay.input.Set("amount", Value::Hidden(Sha256Of("x")));
  auto r = m_->Apply(pay.Get());
  EXPECT_EQ(r.code, RejectCode::kFieldNotVisible) << r.reason;
}

TEST_P(PurchaseOrder, StateHashDependsOnStateAndData) {
  auto other = rt_->NewMachine(1000);
  EXPECT_EQ(other->StateHash(), m_->StateHash());
  Submit();
  EXPECT_NE(other->StateHash(), m_->StateHash());
  Call c;
  c.step = "submit";
  c.roles = {"buyer"};
  c.time_ms = 2000;
  c.input = Json(std::string(R"({"po_number":"PO-1","total":251,"items":)") + kItems + "}");
  ASSERT_TRUE(other->Apply(c.Get()).accepted());
  EXPECT_EQ(other->ActiveStates(), m_->ActiveStates());
  EXPECT_NE(other->StateHash(), m_->StateHash());
}

INSTANTIATE_TEST_SUITE_P(Runtimes, PurchaseOrder, ::testing::Values("msm", "reference"));

}  // namespace
}  // namespace treaty::testing
