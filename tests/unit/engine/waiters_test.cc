// Waiters' listeners, the callers that do not block (gRPC's callback
// API): each is called exactly once — with the applied row, a failure or a
// move, at its deadline with nothing, or at Stop — and never again after.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <thread>

#include "engine/waiters.h"

namespace treaty::engine {
namespace {

using namespace std::chrono_literals;

struct Heard {
  std::atomic<int> calls{0};
  Waiters::Learnt last;
  std::mutex mu;
  Waiters::Listener Listener() {
    return [this](Waiters::Learnt l) {
      std::lock_guard<std::mutex> lock(mu);
      last = std::move(l);
      ++calls;
    };
  }
};

bool Eventually(const std::function<bool()>& ok) {
  for (int i = 0; i < 300; ++i) {
    if (ok()) return true;
    std::this_thread::sleep_for(10ms);
  }
  return ok();
}

TEST(Waiters, AListenerHearsTheAppliedRowOnceAndNotItsDeadline) {
  Waiters w;
  Heard h;
  w.Listen("p-1", std::chrono::steady_clock::now() + 200ms, h.Listener());
  std::vector<ProposalRow> rows(1);
  rows[0].id = "p-1";
  rows[0].status = ProposalStatus::kConfirmed;
  w.Applied(&rows, 0);
  ASSERT_EQ(h.calls.load(), 1);
  EXPECT_TRUE(h.last.row.has_value());
  EXPECT_EQ(h.last.row->status, ProposalStatus::kConfirmed);
  std::this_thread::sleep_for(400ms);  // past its deadline: not called again
  EXPECT_EQ(h.calls.load(), 1);
}

TEST(Waiters, AListenerHearsNothingAtItsDeadline) {
  Waiters w;
  Heard early, late;
  auto now = std::chrono::steady_clock::now();
  w.Listen("p-late", now + 400ms, late.Listener());
  w.Listen("p-early", now + 100ms, early.Listener());  // an earlier deadline wakes the thread sooner
  ASSERT_TRUE(Eventually([&] { return early.calls.load() == 1; }));
  EXPECT_EQ(late.calls.load(), 0);
  EXPECT_FALSE(early.last.row || early.last.failed || !early.last.moved_to.empty());
  ASSERT_TRUE(Eventually([&] { return late.calls.load() == 1; }));
  // Applied after the deadline: nobody is listening any more.
  std::vector<ProposalRow> rows(1);
  rows[0].id = "p-late";
  w.Applied(&rows, 0);
  EXPECT_EQ(late.calls.load(), 1);
}

TEST(Waiters, FailAndMoveReachTheListenerOfTheBatchersItem) {
  Waiters w;
  Heard failed, moved;
  auto deadline = std::chrono::steady_clock::now() + 10s;
  auto wf = w.Listen("p-f", deadline, failed.Listener());
  auto wm = w.Listen("p-m", deadline, moved.Listener());
  ASSERT_TRUE(wf && wm);
  w.Fail(wf, Status::AlreadyExists("key used for another request"));
  w.Move(wm, "p-other");
  ASSERT_EQ(failed.calls.load(), 1);
  ASSERT_EQ(moved.calls.load(), 1);
  EXPECT_EQ(failed.last.failed->code(), StatusCode::kAlreadyExists);
  EXPECT_EQ(moved.last.moved_to, "p-other");
}

TEST(Waiters, StopTellsEveryListenerOnceAndLaterListenersAtOnce) {
  Heard h, after;
  {
    Waiters w;
    w.Listen("p-1", std::chrono::steady_clock::now() + 10s, h.Listener());
    w.Stop();
    ASSERT_EQ(h.calls.load(), 1);
    EXPECT_EQ(h.last.failed->code(), StatusCode::kUnavailable);
    w.Listen("p-2", std::chrono::steady_clock::now() + 10s, after.Listener());
    EXPECT_EQ(after.calls.load(), 1);
  }
  EXPECT_EQ(h.calls.load(), 1);  // not again at destruction
}

TEST(Waiters, ABlockingCallerAndAListenerShareOneProposal) {
  Waiters w;
  Heard h;
  auto deadline = std::chrono::steady_clock::now() + 5s;
  auto blocking = w.Register("p-1");
  w.Listen("p-1", deadline, h.Listener());
  std::thread applier([&] {
    std::this_thread::sleep_for(50ms);
    std::vector<ProposalRow> rows(1);
    rows[0].id = "p-1";
    w.Applied(&rows, 0);
  });
  Waiters::Learnt got = w.Wait(blocking, deadline);
  w.Release("p-1", blocking);
  applier.join();
  EXPECT_TRUE(got.row.has_value());
  EXPECT_EQ(h.calls.load(), 1);
  EXPECT_TRUE(h.last.row.has_value());
}

}  // namespace
}  // namespace treaty::engine
