// Composite states, parallel regions and deadlines on the insurance-claim
// fixture, compiled (Boost.MSM submachines and orthogonal regions) and
// interpreted alike.
#include <gtest/gtest.h>

#include "machine_fixtures.h"

namespace treaty::testing {
namespace {

using runtime::RejectCode;
constexpr int64_t kDay = 24LL * 3600 * 1000;

class Claim : public ::testing::TestWithParam<const char*> {
 protected:
  void SetUp() override {
    rt_ = std::string(GetParam()) == "msm" ? Compiled("insurance-claim") : Reference("insurance-claim");
    ASSERT_NE(rt_, nullptr);
    m_ = rt_->NewMachine(kDay);
  }
  runtime::ApplyResult Step(const std::string& step, std::vector<std::string> roles, const std::string& input = "{}",
                            int64_t time = 2 * kDay) {
    Call c;
    c.step = step;
    c.roles = std::move(roles);
    c.input = Json(input);
    c.time_ms = time;
    return m_->Apply(c.Get());
  }
  std::shared_ptr<const runtime::DefinitionRuntime> rt_;
  std::unique_ptr<runtime::Machine> m_;
};

TEST_P(Claim, CompositeStateEntersItsInitialSubstate) {
  auto r = Step("start_review", {"insurer"}, R"({"claim_id":"C-9","amount":800.50})");
  ASSERT_TRUE(r.accepted()) << r.reason;
  EXPECT_EQ(m_->ActiveStates(), std::vector<std::string>{"review.triage"});
  // An assessor is not needed: the amount is under 1000.
  ASSERT_TRUE(Step("assess", {"insurer"}).accepted());
  EXPECT_EQ(m_->ActiveStates(), std::vector<std::string>{"review.assessing"});
  ASSERT_TRUE(Step("reconsider", {"insurer"}).accepted());
  ASSERT_TRUE(Step("back_to_assessing", {"assessor"}).accepted());
  ASSERT_TRUE(Step("reconsider", {"insurer"}).accepted());
  EXPECT_EQ(m_->Data().Find("rounds")->as_int(), 2);
  ASSERT_TRUE(Step("back_to_assessing", {"assessor"}).accepted());
  r = Step("reconsider", {"insurer"});
  EXPECT_EQ(r.code, RejectCode::kGuardFalse);
  EXPECT_EQ(r.reason, "guard of step 'reconsider' is false: data.rounds < 2");
  // Leaving the composite from any substate.
  ASSERT_TRUE(Step("escalate", {"insurer"}).accepted());
  EXPECT_EQ(m_->ActiveStates(), (std::vector<std::string>{"checks.fraud_pending", "checks.coverage_pending"}));
}

TEST_P(Claim, GuardReadsActorRoles) {
  ASSERT_TRUE(Step("start_review", {"insurer"}, R"({"claim_id":"C-9","amount":5000})").accepted());
  auto r = Step("assess", {"insurer"});
  EXPECT_EQ(r.code, RejectCode::kGuardFalse);
  ASSERT_TRUE(Step("assess", {"assessor"}).accepted());
}

TEST_P(Claim, ParallelRegionsMoveIndependently) {
  ASSERT_TRUE(Step("start_review", {"insurer"}, R"({"claim_id":"C-9","amount":1000})").accepted());
  ASSERT_TRUE(Step("escalate", {"insurer"}).accepted());
  ASSERT_TRUE(Step("cover", {"insurer"}, R"({"ratio":0.75})").accepted());
  EXPECT_EQ(m_->ActiveStates(), (std::vector<std::string>{"checks.fraud_pending", "checks.covered"}));
  EXPECT_EQ(m_->Data().Find("approved")->ToCanonicalJson(), "750");
  ASSERT_TRUE(Step("flag", {"auditor"}, R"({"flag":"late"})").accepted());
  EXPECT_EQ(m_->ActiveStates(), (std::vector<std::string>{"checks.fraud_pending", "checks.coverage_pending"}));
  ASSERT_TRUE(Step("clear_fraud", {"auditor"}).accepted());
  EXPECT_EQ(m_->ActiveStates(), (std::vector<std::string>{"checks.fraud_clear", "checks.coverage_pending"}));
  auto r = Step("clear_fraud", {"auditor"});
  EXPECT_EQ(r.code, RejectCode::kNotFromState);
  ASSERT_TRUE(Step("cover", {"insurer"}, R"({"ratio":0.5})").accepted());
  ASSERT_TRUE(Step("finish_coverage", {"insurer"}).accepted());
  EXPECT_EQ(m_->ActiveStates(), (std::vector<std::string>{"checks.fraud_clear", "checks.coverage_done"}));
  r = Step("settle", {"insurer"}, R"({"amount":499.99})");
  EXPECT_EQ(r.code, RejectCode::kGuardFalse);
  ASSERT_TRUE(Step("settle", {"insurer"}, R"({"amount":500})").accepted());
  EXPECT_TRUE(m_->IsFinal());
  EXPECT_EQ(m_->ActiveStates(), std::vector<std::string>{"settled"});
}

TEST_P(Claim, DeadlineStepNeedsLedgerTimePastTheDeadline) {
  // filed was entered at ledger time 1 day; the deadline is 7 days later.
  auto r = Step("auto_close", {"claimant"}, "{}", 7 * kDay);
  EXPECT_EQ(r.code, RejectCode::kGuardFalse);
  EXPECT_EQ(r.reason, "deadline of state 'filed' is not reached: due at ledger time 691200000 ms, now 604800000 ms");
  // Once due, any party may propose it, whatever its roles.
  r = Step("auto_close", {"claimant"}, "{}", 8 * kDay);
  ASSERT_TRUE(r.accepted()) << r.reason;
  EXPECT_EQ(m_->ActiveStates(), std::vector<std::string>{"closed"});
}

TEST_P(Claim, DecimalArithmeticIsExact) {
  ASSERT_TRUE(Step("start_review", {"insurer"}, R"({"claim_id":"C-9","amount":0.30})").accepted());
  ASSERT_TRUE(Step("escalate", {"insurer"}).accepted());
  ASSERT_TRUE(Step("cover", {"insurer"}, R"({"ratio":0.1})").accepted());
  EXPECT_EQ(m_->Data().Find("approved")->ToCanonicalJson(), "0.03");
}

INSTANTIATE_TEST_SUITE_P(Runtimes, Claim, ::testing::Values("msm", "reference"));

}  // namespace
}  // namespace treaty::testing
