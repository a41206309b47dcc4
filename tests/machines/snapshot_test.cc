// Save/restore: a machine restored from its saved active states and data
// continues exactly like the original, without replaying history.
#include <gtest/gtest.h>

#include "machine_fixtures.h"

namespace treaty::testing {
namespace {

using runtime::Snapshot;

void ExpectSame(const runtime::Machine& a, const runtime::Machine& b) {
  EXPECT_EQ(a.ActiveStates(), b.ActiveStates());
  EXPECT_EQ(a.Data().ToCanonicalJson(), b.Data().ToCanonicalJson());
  EXPECT_EQ(a.Timers().ToCanonicalJson(), b.Timers().ToCanonicalJson());
  EXPECT_EQ(a.StateHash(), b.StateHash());
  EXPECT_EQ(a.IsFinal(), b.IsFinal());
}

// Restores after every step (through the JSON form, as the node stores it)
// and checks the copy and the original answer the next step alike.
void RunWithRestores(const std::string& process, uint64_t seed, int steps) {
  auto rt = Compiled(process);
  ASSERT_NE(rt, nullptr);
  InputGenerator gen(seed);
  auto original = rt->NewMachine(5);
  int64_t now = 10;
  for (int i = 0; i < steps; ++i) {
    auto json = original->Save().ToJson();
    auto snap = Snapshot::FromJson(json);
    ASSERT_TRUE(snap.ok()) << snap.status().ToString();
    auto copy = rt->Restore(*snap);
    ASSERT_TRUE(copy.ok()) << copy.status().ToString();
    ExpectSame(*original, **copy);

    const auto& model = rt->model();
    const auto& step = model.steps[gen.Uniform(0, static_cast<int>(model.steps.size()) - 1)];
    Call c;
    c.step = step.name;
    c.roles = {model.roles[gen.Uniform(0, static_cast<int>(model.roles.size()) - 1)].name};
    c.input = gen.ForStep(step, original->Data());
    now += gen.Uniform(0, 3 * 24 * 3600) * 1000LL;
    c.time_ms = now;
    auto a = original->Apply(c.Get());
    auto b = (*copy)->Apply(c.Get());
    EXPECT_EQ(a.code, b.code);
    EXPECT_EQ(a.reason, b.reason);
    ExpectSame(*original, **copy);
    if (original->IsFinal()) original = rt->NewMachine(now);
  }
}

TEST(Snapshot, PurchaseOrderRestoresAtEveryStep) { RunWithRestores("purchase-order", 1, 400); }
TEST(Snapshot, ClaimRestoresCompositeAndParallelStates) { RunWithRestores("insurance-claim", 2, 600); }
TEST(Snapshot, LetterOfCreditRestores) { RunWithRestores("letter-of-credit", 3, 600); }

TEST(Snapshot, RefusesStatesTheDefinitionDoesNotHave) {
  auto rt = Compiled("insurance-claim");
  ASSERT_NE(rt, nullptr);
  for (const char* bad : {"nowhere", "review", "review.nowhere", "triage", "checks.fraud_pending.x"}) {
    Snapshot s;
    s.active_states = {bad};
    s.data = Value::Object();
    auto r = rt->Restore(s);
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_EQ(r.status().code(), StatusCode::kDataLoss) << bad;
  }
  // Both regions of a parallel state must be named.
  Snapshot s;
  s.active_states = {"checks.fraud_pending"};
  s.data = Value::Object();
  EXPECT_FALSE(rt->Restore(s).ok());
  s.active_states = {"checks.fraud_clear", "checks.covered"};
  auto ok = rt->Restore(s);
  ASSERT_TRUE(ok.ok()) << ok.status().ToString();
  EXPECT_EQ((*ok)->ActiveStates(), s.active_states);
}

TEST(Snapshot, JsonRoundTrip) {
  Snapshot s;
  s.active_states = {"checks.fraud_clear", "checks.covered"};
  s.data = Json(R"({"amount":12.50,"notes":"x"})");
  s.timers = Json(R"({"filed":5})");
  auto back = Snapshot::FromJson(s.ToJson());
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(back->active_states, s.active_states);
  EXPECT_EQ(back->data, s.data);
  EXPECT_EQ(back->timers, s.timers);
  EXPECT_FALSE(Snapshot::FromJson("{\"states\":7}").ok());
  EXPECT_FALSE(Snapshot::FromJson("not json").ok());
}

}  // namespace
}  // namespace treaty::testing
