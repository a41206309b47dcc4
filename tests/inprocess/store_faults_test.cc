// The node under faults it cannot be put in from outside: a commit of a
// chosen kind that fails, a crash between any two writes of a step's path
// (on the embedded ledger, as a single node runs, and on a shared ledger,
// as a member runs), blocks delivered twice, out of order or with a gap,
// and a clock that stands still until the test moves it. After each, the
// node reports what happened, and once restarted nothing is lost and
// nothing is applied twice.
#include <gtest/gtest.h>

#include <thread>

#include "../integration/treatyd_process.h"
#include "faults.h"
#include "inprocess_network.h"

namespace treaty::testing {
namespace {

using engine::Node;

engine::StartArgs StartOf(const std::string& id, std::map<std::string, std::string> roles = {}) {
  engine::StartArgs s;
  s.definition = "purchase-order";
  s.instance_id = id;
  s.roles = std::move(roles);
  return s;
}

engine::StepArgs StepOf(const std::string& id, const std::string& step, const std::string& input,
                        const std::string& key = "") {
  engine::StepArgs a;
  a.instance_id = id;
  a.step = step;
  a.input_json = input;
  a.idempotency_key = key;
  a.timeout = std::chrono::milliseconds(3000);
  return a;
}

size_t Entries(Node& n, const std::string& id, const std::string& step) {
  auto h = n.History(id);
  size_t k = 0;
  if (h.ok())
    for (const auto& e : *h) k += e.step == step;
  return k;
}

size_t EventsOf(Node& n, const std::string& id, const std::string& type) {
  auto events = n.Events(0, 100000);
  size_t k = 0;
  if (events.ok())
    for (const auto& e : *events) k += e.instance == id && e.type == type;
  return k;
}

TEST(SingleNode, AFailedCommitIsReportedChangesNothingAndTheStepGoesThroughLater) {
  TempDir dir;
  InProcessNetwork net(dir.path(), {"acme"}, /*embedded=*/true);
  ASSERT_TRUE(net.Start().ok());
  ASSERT_TRUE(net.node("acme").StartProcess(StartOf("o-1")).ok());
  FailNthCommit fail("seal+apply", 1);
  net.SetFaults("acme", &fail);

  auto p = net.node("acme").TriggerStep(StepOf("o-1", "submit", SubmitInput("PO-1"), "k-1"));
  ASSERT_FALSE(p.ok());
  EXPECT_EQ(p.status().code(), StatusCode::kAborted) << p.status().ToString();
  EXPECT_NE(p.status().message().find("injected failure"), std::string::npos) << p.status().ToString();
  EXPECT_EQ(fail.failed(), 1);
  EXPECT_TRUE(net.log().Contains("sealing failed"));
  EXPECT_EQ(Entries(net.node("acme"), "o-1", "submit"), 0u);
  EXPECT_EQ(net.node("acme").GetInstance("o-1")->value().position, 0);

  // The same call again (same key): stored and applied once.
  p = net.node("acme").TriggerStep(StepOf("o-1", "submit", SubmitInput("PO-1"), "k-1"));
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  EXPECT_EQ(p->status, engine::ProposalStatus::kConfirmed);
  net.Crash("acme");
  net.SetFaults("acme", nullptr);
  ASSERT_TRUE(net.Start().ok());
  EXPECT_EQ(Entries(net.node("acme"), "o-1", "submit"), 1u);
  EXPECT_EQ(EventsOf(net.node("acme"), "o-1", "step_confirmed"), 1u);
  auto again = net.node("acme").TriggerStep(StepOf("o-1", "submit", SubmitInput("PO-1"), "k-1"));
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->id, p->id);
  EXPECT_EQ(Entries(net.node("acme"), "o-1", "submit"), 1u);
}

TEST(SingleNode, AUniqueKeyIsTakenOnlyByACommittedStepAndStaysTakenAcrossARestart) {
  TempDir dir;
  InProcessNetwork net(dir.path(), {"acme"}, /*embedded=*/true);
  ASSERT_TRUE(net.Start().ok());
  for (const char* id : {"u-1", "u-2", "u-3"}) ASSERT_TRUE(net.node("acme").StartProcess(StartOf(id)).ok());
  // A claim whose transaction fails to commit is not taken.
  FailNthCommit fail("seal+apply", 1);
  net.SetFaults("acme", &fail);
  EXPECT_FALSE(net.node("acme").TriggerStep(StepOf("u-1", "submit", SubmitInput("PO-U"))).ok());
  net.SetFaults("acme", nullptr);
  auto won = net.node("acme").TriggerStep(StepOf("u-2", "submit", SubmitInput("PO-U")));
  ASSERT_TRUE(won.ok()) << won.status().ToString();
  EXPECT_EQ(won->status, engine::ProposalStatus::kConfirmed);
  // Taken now: refused before anything is proposed, also after a restart.
  auto taken = net.node("acme").TriggerStep(StepOf("u-3", "submit", SubmitInput("PO-U")));
  EXPECT_EQ(taken.status().code(), StatusCode::kAlreadyExists) << taken.status().ToString();
  net.Crash("acme");
  ASSERT_TRUE(net.Start().ok());
  taken = net.node("acme").TriggerStep(StepOf("u-3", "submit", SubmitInput("PO-U")));
  EXPECT_EQ(taken.status().code(), StatusCode::kAlreadyExists) << taken.status().ToString();
  EXPECT_NE(taken.status().message().find("po_number \"PO-U\""), std::string::npos) << taken.status().ToString();
  EXPECT_EQ(Entries(net.node("acme"), "u-2", "submit"), 1u);
  EXPECT_EQ(Entries(net.node("acme"), "u-1", "submit"), 0u);
}

// How many writes a step's path makes on `party`'s store, from the call to
// its outcome here (messages to members are not delivered meanwhile).
int WritesOfAStep(bool embedded) {
  TempDir dir;
  std::vector<std::string> parties = embedded ? std::vector<std::string>{"buyer"}
                                              : std::vector<std::string>{"buyer", "seller"};
  InProcessNetwork net(dir.path(), parties, embedded);
  if (!net.Start().ok()) return -1;
  auto roles = embedded ? std::map<std::string, std::string>{}
                        : std::map<std::string, std::string>{{"buyer", "buyer"}, {"seller", "seller"}, {"bank", "seller"}};
  if (!net.node("buyer").StartProcess(StartOf("o-1", roles)).ok() || !net.Settle()) return -1;
  CrashAtWrite count(0);
  net.SetFaults("buyer", &count);
  auto p = net.node("buyer").TriggerStep(StepOf("o-1", "submit", SubmitInput("PO-1"), "k-1"));
  if (!p.ok() || p->status != engine::ProposalStatus::kConfirmed) return -1;
  return count.writes();
}

// Crashes `buyer` before its k-th write of a step, restarts it, and checks
// that the step is either applied once or not at all, and that the same
// call (same idempotency key) then gives exactly one application.
void CrashAtEveryWrite(bool embedded) {
  int writes = WritesOfAStep(embedded);
  ASSERT_GT(writes, 3) << "the step's path must write";
  for (int k = 1; k <= writes; ++k) {
    SCOPED_TRACE("crash before write #" + std::to_string(k) + " of " + std::to_string(writes));
    TempDir dir;
    std::vector<std::string> parties = embedded ? std::vector<std::string>{"buyer"}
                                                : std::vector<std::string>{"buyer", "seller"};
    InProcessNetwork net(dir.path(), parties, embedded);
    ASSERT_TRUE(net.Start().ok());
    auto roles = embedded ? std::map<std::string, std::string>{}
                          : std::map<std::string, std::string>{{"buyer", "buyer"}, {"seller", "seller"}, {"bank", "seller"}};
    ASSERT_TRUE(net.node("buyer").StartProcess(StartOf("o-1", roles)).ok());
    ASSERT_TRUE(net.Settle());
    CrashAtWrite crash(k);
    net.SetFaults("buyer", &crash);
    auto step = StepOf("o-1", "submit", SubmitInput("PO-1"), "k-1");
    step.timeout = std::chrono::milliseconds(400);
    auto first = net.node("buyer").TriggerStep(step);
    // Dead before the outcome: the caller got an error or a pending proposal.
    EXPECT_TRUE(!first.ok() || first->status != engine::ProposalStatus::kConfirmed) << crash.crashed_at();
    ASSERT_TRUE(crash.crashed());
    net.Crash("buyer");
    net.SetFaults("buyer", nullptr);
    ASSERT_TRUE(net.Start().ok());
    ASSERT_TRUE(net.Settle());
    EXPECT_LE(Entries(net.node("buyer"), "o-1", "submit"), 1u) << crash.crashed_at();
    step.timeout = std::chrono::milliseconds(5000);
    auto retry = net.node("buyer").TriggerStep(step);
    ASSERT_TRUE(retry.ok()) << retry.status().ToString() << " after a crash at " << crash.crashed_at();
    EXPECT_EQ(retry->status, engine::ProposalStatus::kConfirmed) << crash.crashed_at();
    ASSERT_TRUE(net.Settle());
    for (const auto& party : net.parties()) {
      EXPECT_EQ(Entries(net.node(party), "o-1", "submit"), 1u) << party << " after a crash at " << crash.crashed_at();
      EXPECT_EQ(EventsOf(net.node(party), "o-1", "step_confirmed"), 1u) << party;
      auto inst = net.node(party).GetInstance("o-1");
      ASSERT_TRUE(inst.ok() && *inst) << party;
      EXPECT_EQ((*inst)->position, 1) << party;
      EXPECT_EQ((*inst)->state_hash, net.node("buyer").GetInstance("o-1")->value().state_hash) << party;
    }
  }
}

TEST(SingleNode, ACrashBeforeAnyWriteOfAStepLosesNothingAndDoublesNothing) { CrashAtEveryWrite(true); }

TEST(Members, ACrashBeforeAnyWriteOfTheProposersStepLosesNothingAndDoublesNothing) { CrashAtEveryWrite(false); }

TEST(Members, EachKindOfCommitThatFailsIsRetriedAndTheMembersConverge) {
  // The proposer's seal and apply, and the other member's receive, each
  // fail once; the node says so, retries, and both end in the same state.
  for (const auto& [party, kind] : std::vector<std::pair<std::string, std::string>>{
           {"buyer", "seal"}, {"buyer", "apply"}, {"seller", "receive"}, {"seller", "apply"}}) {
    SCOPED_TRACE(party + " " + kind);
    TempDir dir;
    InProcessNetwork net(dir.path(), {"buyer", "seller"});
    ASSERT_TRUE(net.Start().ok());
    auto roles = std::map<std::string, std::string>{{"buyer", "buyer"}, {"seller", "seller"}, {"bank", "seller"}};
    ASSERT_TRUE(net.node("buyer").StartProcess(StartOf("o-1", roles)).ok());
    ASSERT_TRUE(net.Settle());
    FailNthCommit fail(kind, 1);
    net.SetFaults(party, &fail);
    auto p = net.node("buyer").TriggerStep(StepOf("o-1", "submit", SubmitInput("PO-1"), "k-1"));
    if (!p.ok()) p = net.node("buyer").TriggerStep(StepOf("o-1", "submit", SubmitInput("PO-1"), "k-1"));
    ASSERT_TRUE(p.ok()) << p.status().ToString();
    ASSERT_TRUE(net.Settle());
    for (int i = 0; i < 100 && Entries(net.node("seller"), "o-1", "submit") == 0; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
      net.Settle();
    }
    EXPECT_EQ(fail.failed(), 1);
    EXPECT_TRUE(net.log().Contains("injected failure of " + kind)) << "the node reports the failed commit";
    for (const auto& m : net.parties()) {
      EXPECT_EQ(Entries(net.node(m), "o-1", "submit"), 1u) << m;
      EXPECT_EQ(net.node(m).GetInstance("o-1")->value().state_hash,
                net.node("buyer").GetInstance("o-1")->value().state_hash)
          << m;
    }
  }
}

TEST(Ledger, BlocksDeliveredTwiceOutOfOrderOrWithAGapAreAppliedOnceInOrder) {
  TempDir dir;
  InProcessNetwork net(dir.path(), {"buyer", "seller"});
  ASSERT_TRUE(net.Start().ok());
  auto roles = std::map<std::string, std::string>{{"buyer", "buyer"}, {"seller", "seller"}, {"bank", "seller"}};
  for (const char* id : {"d-1", "d-2"}) ASSERT_TRUE(net.node("buyer").StartProcess(StartOf(id, roles)).ok());
  ASSERT_TRUE(net.Settle());
  Node& buyer = net.node("buyer");
  // Two new blocks reach the seller at once, swapped.
  net.ledger().Delay("seller", true);
  ASSERT_TRUE(buyer.TriggerStep(StepOf("d-1", "submit", SubmitInput("PO-D1"))).ok());
  ASSERT_TRUE(buyer.TriggerStep(StepOf("d-2", "submit", SubmitInput("PO-D2"))).ok());
  net.Deliver();
  net.ledger().ReorderNext("seller");
  net.ledger().Delay("seller", false);
  ASSERT_TRUE(net.Settle());
  // The next block delivered twice, then the one after with a gap before it.
  net.ledger().DuplicateNext("seller");
  ASSERT_TRUE(buyer.TriggerStep(StepOf("d-1", "cancel", "{}")).ok());
  ASSERT_TRUE(net.Settle());
  net.ledger().Delay("seller", true);
  ASSERT_TRUE(buyer.TriggerStep(StepOf("d-2", "cancel", "{}")).ok());
  ASSERT_TRUE(net.node("buyer").TriggerStep(StepOf("d-2", "cancel", "{}")).status().code() ==
              StatusCode::kFailedPrecondition);
  net.ledger().DropNext("seller");
  net.ledger().Delay("seller", false);
  ASSERT_TRUE(net.Settle());
  EXPECT_TRUE(net.log().Contains("ledger returned block")) << "the gap is reported";
  for (const char* id : {"d-1", "d-2"}) {
    auto b = buyer.History(id);
    auto s = net.node("seller").History(id);
    ASSERT_TRUE(b.ok() && s.ok());
    ASSERT_EQ(s->size(), 3u) << id;
    ASSERT_EQ(b->size(), s->size()) << id;
    for (size_t i = 0; i < b->size(); ++i) {
      EXPECT_EQ((*s)[i].step, (*b)[i].step) << id;
      EXPECT_EQ((*s)[i].outcome, (*b)[i].outcome) << id;
    }
  }
  EXPECT_EQ(net.node("seller").AppliedHeight(), net.ledger().Height());
}

TEST(Clock, TimeStandsStillUntilTheTestMovesIt) {
  TempDir dir;
  InProcessNetwork net(dir.path(), {"buyer", "seller"});
  ASSERT_TRUE(net.Start().ok());
  const int64_t t0 = net.clock().NowMs();
  auto roles = std::map<std::string, std::string>{{"buyer", "buyer"}, {"seller", "seller"}, {"bank", "seller"}};
  ASSERT_TRUE(net.node("buyer").StartProcess(StartOf("t-1", roles)).ok());
  ASSERT_TRUE(net.Settle());
  // Ledger time is the clock's, to the millisecond, on every member.
  EXPECT_EQ(net.node("seller").GetInstance("t-1")->value().created_ms, t0);

  // The seller's copy of the submit is held: its pin arrives first and the
  // instance is blocked there. A member asks for a resend only after a
  // second of its own clock, however long the test really waits.
  net.Hold([](const Sent& s) { return s.message.peer == "seller" && s.message.kind == "proposals"; });
  ASSERT_TRUE(net.node("buyer").TriggerStep(StepOf("t-1", "submit", SubmitInput("PO-T"))).ok());
  ASSERT_TRUE(net.AllApplied(net.ledger().Height()));
  auto blocked = net.node("seller").Check();
  ASSERT_TRUE(blocked.ok());
  ASSERT_EQ(blocked->blocked.size(), 1u);
  EXPECT_EQ(blocked->blocked[0].since_ms, t0);
  auto resends = [&] {
    int n = 0;
    for (const auto& s : net.Queued()) n += s.from == "seller" && s.message.kind == "resend";
    return n;
  };
  std::this_thread::sleep_for(std::chrono::milliseconds(1500));
  EXPECT_EQ(resends(), 0) << "time stood still";
  net.clock().Advance(1500);
  for (int i = 0; i < 300 && resends() == 0; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  EXPECT_EQ(resends(), 1) << "a second and a half of the seller's time later";
  EXPECT_TRUE(net.log().Contains("blocked for 1500 ms"));

  // The resend request is answered by the buyer; the block lifts.
  net.Hold([](const Sent& s) { return s.message.peer == "seller" && s.message.kind == "proposals" &&
                                      s.from == "buyer" && s.message.body.find("\"set\"") != std::string::npos; });
  ASSERT_TRUE(net.Settle());
  EXPECT_EQ(net.node("seller").Check()->blocked.size(), 0u);
  EXPECT_EQ(Entries(net.node("seller"), "t-1", "submit"), 1u);
}

}  // namespace
}  // namespace treaty::testing
