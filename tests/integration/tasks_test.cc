// Human tasks against a real treatyd on loopback: a task opens when its
// state is entered and closes with the step (completed) or another step
// (cancelled, with the reason); the Tasks service's search, claim, assign,
// update and complete; errors that change nothing; claims surviving kill
// -9; one step for concurrent completions; overdue in ledger time.
#include <gtest/gtest.h>

#include <atomic>
#include <fstream>
#include <set>
#include <thread>

#include "node_client.h"
#include "treaty/v1/treaty.grpc.pb.h"
#include "treatyd_process.h"

namespace treaty::testing {
namespace {

namespace pb = ::treaty::v1;

std::string SubmitFor(const std::string& id, int total = 250) {
  return R"({"po_number":"PO-)" + id + R"(","items":[{"sku":"A-1","qty":2}],"total":)" + std::to_string(total) +
         "}";
}

// A definition whose task falls due one second after its state is entered.
const char* kQuick = R"(process: quick
version: 1
roles: [clerk]
states:
  waiting: { initial: true }
  done: { final: true }
steps:
  poke: { from: waiting, to: waiting, by: clerk }
  finish:
    from: waiting
    to: done
    by: clerk
    task: { human: { queue: quick, due: 1s, priority: 70 } }
)";

class Tasks : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string defs = dir_.path() + "/defs";
    ASSERT_EQ(std::system(("mkdir -p " + defs).c_str()), 0);
    // Version 2 of the purchase order: accept and pay are human tasks.
    ASSERT_EQ(std::system(("cp " + std::string(TREATY_SOURCE_DIR) +
                           "/tests/data/valid/purchase-order-tasks.yaml " + defs + "/")
                              .c_str()),
              0);
    std::ofstream(defs + "/quick.yaml") << kQuick;
    Launch();
  }
  void Launch() {
    node_ = std::make_unique<TreatydProcess>(dir_.path() + "/node",
                                             std::vector<std::string>{"--definitions", dir_.path() + "/defs"});
    ASSERT_TRUE(node_->Start()) << node_->Log();
    client_ = std::make_unique<NodeClient>(node_->channel());
    tasks_ = pb::Tasks::NewStub(node_->channel());
  }
  void StartOrder(const std::string& id, const std::string& definition = "purchase-order", int64_t version = 2) {
    pb::StartProcessRequest req;
    req.set_definition(definition);
    req.set_version(version);
    req.set_instance_id(id);
    auto st = client_->StartWith(req);
    ASSERT_TRUE(st.ok()) << st.error_message();
  }
  void Submitted(const std::string& id, int total = 250) {
    StartOrder(id);
    auto st = client_->Step(id, "submit", SubmitFor(id, total));
    ASSERT_TRUE(st.ok()) << st.error_message();
  }
  template <typename Req, typename Resp>
  grpc::Status Call(grpc::Status (pb::Tasks::Stub::*m)(grpc::ClientContext*, const Req&, Resp*), const Req& req,
                    Resp* resp) {
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
    return (tasks_.get()->*m)(&ctx, req, resp);
  }
  std::vector<pb::Task> Search(pb::SearchTasksRequest req, grpc::Status* st = nullptr) {
    pb::SearchTasksResponse resp;
    grpc::Status s = Call(&pb::Tasks::Stub::SearchTasks, req, &resp);
    if (st) *st = s;
    EXPECT_TRUE(st != nullptr || s.ok()) << s.error_message();
    return {resp.tasks().begin(), resp.tasks().end()};
  }
  std::vector<pb::Task> OfInstance(const std::string& id) {
    pb::SearchTasksRequest req;
    req.set_instance_id(id);
    return Search(req);
  }
  grpc::Status Claim(const std::string& id, const std::string& who, bool override_it = false,
                     pb::Task* out = nullptr) {
    pb::ClaimTaskRequest req;
    req.set_task_id(id);
    req.set_assignee(who);
    req.set_allow_override(override_it);
    pb::Task t;
    auto st = Call(&pb::Tasks::Stub::ClaimTask, req, &t);
    if (out) *out = t;
    return st;
  }
  grpc::Status Complete(const std::string& id, const std::string& input = "", pb::CompleteTaskResponse* out = nullptr,
                        const std::string& assignee = "") {
    pb::CompleteTaskRequest req;
    req.set_task_id(id);
    req.set_input_json(input);
    req.set_assignee(assignee);
    pb::CompleteTaskResponse r;
    auto st = Call(&pb::Tasks::Stub::CompleteTask, req, &r);
    if (out) *out = r;
    return st;
  }
  pb::GetTaskResponse Get(const std::string& id, grpc::Status* st = nullptr) {
    pb::GetTaskRequest req;
    req.set_task_id(id);
    pb::GetTaskResponse r;
    auto s = Call(&pb::Tasks::Stub::GetTask, req, &r);
    if (st) *st = s;
    return r;
  }
  // Events of the node so far, oldest first.
  std::vector<pb::Event> Events(const std::string& instance) {
    pb::SubscribeRequest req;
    req.set_instance_id(instance);
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::milliseconds(600));
    auto reader = client_->events()->Subscribe(&ctx, req);
    std::vector<pb::Event> out;
    pb::Event e;
    while (reader->Read(&e)) out.push_back(e);
    return out;
  }

  TempDir dir_;
  std::unique_ptr<TreatydProcess> node_;
  std::unique_ptr<NodeClient> client_;
  std::unique_ptr<pb::Tasks::Stub> tasks_;
};

TEST_F(Tasks, OpensWhenItsStateIsEnteredWithTheDefinitionsTerms) {
  StartOrder("t-1");
  EXPECT_TRUE(OfInstance("t-1").empty()) << "draft has no human step";
  ASSERT_TRUE(client_->Step("t-1", "submit", SubmitFor("t-1")).ok());
  auto open = OfInstance("t-1");
  ASSERT_EQ(open.size(), 1u);
  const pb::Task& t = open[0];
  EXPECT_EQ(t.task_id(), "t-1:1:accept");
  EXPECT_EQ(t.queue(), "sales-approvals");
  EXPECT_EQ(t.state(), pb::TASK_OPEN);
  EXPECT_EQ(t.priority(), 60);
  ASSERT_EQ(t.candidate_groups_size(), 1);
  EXPECT_EQ(t.candidate_groups(0), "sales");
  ASSERT_TRUE(t.has_due_ms());
  EXPECT_EQ(t.due_ms(), t.created_ms() + 2 * 24 * 3600 * 1000LL) << "due 2d after the state was entered";
  EXPECT_GT(t.created_height(), 0u);
  // GetTask: the data this party sees, the input schema and the form.
  grpc::Status st;
  auto got = Get("t-1:1:accept", &st);
  ASSERT_TRUE(st.ok()) << st.error_message();
  EXPECT_NE(got.instance().data_json().find("PO-t-1"), std::string::npos);
  EXPECT_NE(got.input_schema_json().find("\"type\":\"object\""), std::string::npos);
  EXPECT_NE(got.form_json().find("Accept the order"), std::string::npos);
  auto events = Events("t-1");
  ASSERT_FALSE(events.empty());
  EXPECT_EQ(events.back().type(), "task_opened");
  EXPECT_NE(events.back().payload_json().find("t-1:1:accept"), std::string::npos);
}

TEST_F(Tasks, CompletingProposesTheStepAndClosesTheTask) {
  Submitted("t-2");
  pb::CompleteTaskResponse r;
  auto st = Complete("t-2:1:accept", "", &r);
  ASSERT_TRUE(st.ok()) << st.error_message();
  EXPECT_EQ(r.outcome(), pb::CONFIRMED);
  EXPECT_EQ(r.task().state(), pb::TASK_COMPLETED);
  EXPECT_EQ(r.task().closed_by(), r.proposal_id());
  EXPECT_EQ(r.instance().states(0), "accepted");
  // The next task opened: pay, in the buyer's queue (this node holds every role).
  auto open = OfInstance("t-2");
  std::set<std::string> ids;
  for (const auto& t : open) ids.insert(t.task_id() + "/" + std::to_string(t.state()));
  EXPECT_EQ(ids, (std::set<std::string>{"t-2:1:accept/" + std::to_string(pb::TASK_COMPLETED),
                                        "t-2:2:pay/" + std::to_string(pb::TASK_OPEN)}));
  // A closed task cannot be completed again, and nothing else happened.
  st = Complete("t-2:1:accept");
  EXPECT_EQ(st.error_code(), grpc::FAILED_PRECONDITION);
  EXPECT_NE(st.error_message().find("completed"), std::string::npos) << st.error_message();
  EXPECT_EQ(client_->History("t-2").size(), 3u);
}

TEST_F(Tasks, ARejectedCompletionLeavesTheTaskOpenWithTheReason) {
  Submitted("t-3", 250);
  ASSERT_TRUE(Complete("t-3:1:accept").ok());
  // The guard wants the order's total.
  auto st = Complete("t-3:2:pay", R"({"amount":100})");
  EXPECT_EQ(st.error_code(), grpc::FAILED_PRECONDITION) << st.error_message();
  EXPECT_NE(st.error_message().find("guard"), std::string::npos) << st.error_message();
  EXPECT_NE(st.error_message().find("the task stays open"), std::string::npos) << st.error_message();
  auto task = Get("t-3:2:pay").task();
  EXPECT_EQ(task.state(), pb::TASK_OPEN);
  // The next attempt is a new proposal, not the rejected one again.
  pb::CompleteTaskResponse r;
  st = Complete("t-3:2:pay", R"({"amount":250})", &r);
  ASSERT_TRUE(st.ok()) << st.error_message();
  EXPECT_EQ(r.outcome(), pb::CONFIRMED);
  EXPECT_EQ(r.task().state(), pb::TASK_COMPLETED);
  EXPECT_TRUE(r.instance().final());
}

TEST_F(Tasks, InputThatFailsTheSchemaIsRefusedBeforeAnythingIsProposed) {
  Submitted("t-4");
  ASSERT_TRUE(Complete("t-4:1:accept").ok());
  size_t before = client_->History("t-4").size();
  auto st = Complete("t-4:2:pay", R"({"amount":"lots"})");
  EXPECT_EQ(st.error_code(), grpc::INVALID_ARGUMENT);
  EXPECT_NE(st.error_message().find("amount"), std::string::npos) << st.error_message();
  st = Complete("t-4:2:pay", R"({"amount":)");
  EXPECT_EQ(st.error_code(), grpc::INVALID_ARGUMENT) << st.error_message();
  st = Complete("t-4:2:pay", R"([1])");
  EXPECT_EQ(st.error_code(), grpc::INVALID_ARGUMENT) << st.error_message();
  EXPECT_EQ(client_->History("t-4").size(), before);
  EXPECT_EQ(Get("t-4:2:pay").task().state(), pb::TASK_OPEN);
}

TEST_F(Tasks, ClaimUnclaimAssignAndOverride) {
  Submitted("t-5");
  const std::string id = "t-5:1:accept";
  pb::Task t;
  ASSERT_TRUE(Claim(id, "alice", false, &t).ok());
  EXPECT_EQ(t.state(), pb::TASK_CLAIMED);
  EXPECT_EQ(t.assignee(), "alice");
  EXPECT_TRUE(Claim(id, "alice").ok()) << "claiming what one holds changes nothing";
  auto st = Claim(id, "bob");
  EXPECT_EQ(st.error_code(), grpc::FAILED_PRECONDITION);
  EXPECT_NE(st.error_message().find("alice"), std::string::npos) << st.error_message();
  EXPECT_EQ(Get(id).task().assignee(), "alice");
  ASSERT_TRUE(Claim(id, "bob", true, &t).ok());
  EXPECT_EQ(t.assignee(), "bob");
  // Completing as someone else than the holder is refused.
  st = Complete(id, "", nullptr, "carol");
  EXPECT_EQ(st.error_code(), grpc::FAILED_PRECONDITION);
  EXPECT_NE(st.error_message().find("bob"), std::string::npos) << st.error_message();
  pb::UnclaimTaskRequest un;
  un.set_task_id(id);
  ASSERT_TRUE(Call(&pb::Tasks::Stub::UnclaimTask, un, &t).ok());
  EXPECT_EQ(t.state(), pb::TASK_OPEN);
  EXPECT_EQ(t.assignee(), "");
  pb::AssignTaskRequest as;
  as.set_task_id(id);
  as.set_assignee("carol");
  ASSERT_TRUE(Call(&pb::Tasks::Stub::AssignTask, as, &t).ok());
  EXPECT_EQ(t.assignee(), "carol");
  EXPECT_EQ(t.state(), pb::TASK_CLAIMED);
  std::vector<std::string> types;
  for (const auto& e : Events("t-5"))
    if (e.type().rfind("task_", 0) == 0) types.push_back(e.type());
  EXPECT_EQ(types, (std::vector<std::string>{"task_opened", "task_claimed", "task_claimed", "task_unclaimed",
                                             "task_assigned"}));
}

TEST_F(Tasks, SearchFiltersOrdersAndPages) {
  for (int i = 0; i < 5; ++i) Submitted("s-" + std::to_string(i));
  pb::SearchTasksRequest q;
  q.set_queue("sales-approvals");
  EXPECT_EQ(Search(q).size(), 5u);
  ASSERT_TRUE(Claim("s-1:1:accept", "alice").ok());
  ASSERT_TRUE(Claim("s-3:1:accept", "alice").ok());
  pb::SearchTasksRequest by_assignee;
  by_assignee.set_assignee("alice");
  EXPECT_EQ(Search(by_assignee).size(), 2u);
  pb::SearchTasksRequest open;
  open.add_states(pb::TASK_OPEN);
  EXPECT_EQ(Search(open).size(), 3u);
  pb::SearchTasksRequest claimed;
  claimed.add_states(pb::TASK_CLAIMED);
  EXPECT_EQ(Search(claimed).size(), 2u);
  // A clerk's inbox (a queue's open tasks nobody holds, in creation order)
  // is answered from memory: the same answers, pages and order.
  pb::SearchTasksRequest inbox;
  inbox.set_queue("sales-approvals");
  inbox.add_states(pb::TASK_OPEN);
  std::vector<std::string> ids;
  for (const auto& t : Search(inbox)) ids.push_back(t.instance_id());
  EXPECT_EQ(ids, (std::vector<std::string>{"s-0", "s-2", "s-4"}));
  inbox.set_descending(true);
  inbox.set_page_size(1);
  inbox.set_page_token("1");
  pb::SearchTasksResponse one;
  ASSERT_TRUE(Call(&pb::Tasks::Stub::SearchTasks, inbox, &one).ok());
  ASSERT_EQ(one.tasks_size(), 1);
  EXPECT_EQ(one.tasks(0).instance_id(), "s-2");
  EXPECT_EQ(one.next_page_token(), "2");
  inbox.set_queue("no-such-queue");
  EXPECT_TRUE(Search(inbox).empty());
  pb::SearchTasksRequest held;
  held.set_queue("sales-approvals");
  held.add_states(pb::TASK_CLAIMED);
  ids.clear();
  for (const auto& t : Search(held)) ids.push_back(t.instance_id());
  EXPECT_EQ(ids, (std::vector<std::string>{"s-1", "s-3"}));
  held.add_states(pb::TASK_OPEN);
  EXPECT_EQ(Search(held).size(), 5u);
  pb::SearchTasksRequest group;
  group.set_candidate_group("sales");
  EXPECT_EQ(Search(group).size(), 5u);
  group.set_candidate_group("treasury");
  EXPECT_EQ(Search(group).size(), 0u);
  // Priority and due dates, changed locally.
  pb::UpdateTaskRequest up;
  up.set_task_id("s-4:1:accept");
  up.set_priority(95);
  up.set_due_ms(1000);
  pb::Task t;
  ASSERT_TRUE(Call(&pb::Tasks::Stub::UpdateTask, up, &t).ok());
  EXPECT_EQ(t.priority(), 95);
  pb::SearchTasksRequest urgent;
  urgent.set_priority_min(90);
  auto found = Search(urgent);
  ASSERT_EQ(found.size(), 1u);
  EXPECT_EQ(found[0].task_id(), "s-4:1:accept");
  pb::SearchTasksRequest early;
  early.set_due_before(2000);
  found = Search(early);
  ASSERT_EQ(found.size(), 1u);
  EXPECT_EQ(found[0].task_id(), "s-4:1:accept");
  pb::SearchTasksRequest by_priority;
  by_priority.set_order_by(pb::TASK_ORDER_PRIORITY);
  by_priority.set_descending(true);
  EXPECT_EQ(Search(by_priority).at(0).task_id(), "s-4:1:accept");
  pb::SearchTasksRequest by_due;
  by_due.set_order_by(pb::TASK_ORDER_DUE);
  EXPECT_EQ(Search(by_due).at(0).task_id(), "s-4:1:accept");
  // Pages of two: 2 + 2 + 1, each task once, in creation order.
  pb::SearchTasksRequest page;
  page.set_page_size(2);
  std::vector<std::string> seen;
  int pages = 0;
  do {
    pb::SearchTasksResponse resp;
    ASSERT_TRUE(Call(&pb::Tasks::Stub::SearchTasks, page, &resp).ok());
    for (const auto& x : resp.tasks()) seen.push_back(x.instance_id());
    page.set_page_token(resp.next_page_token());
    ++pages;
  } while (!page.page_token().empty());
  EXPECT_EQ(pages, 3);
  EXPECT_EQ(seen, (std::vector<std::string>{"s-0", "s-1", "s-2", "s-3", "s-4"}));
}

TEST_F(Tasks, BadRequestsGetPreciseErrorsAndChangeNothing) {
  Submitted("t-6");
  auto st = Claim("no-such-task", "alice");
  EXPECT_EQ(st.error_code(), grpc::NOT_FOUND);
  EXPECT_NE(st.error_message().find("no-such-task"), std::string::npos);
  grpc::Status gst;
  Get("nope", &gst);
  EXPECT_EQ(gst.error_code(), grpc::NOT_FOUND);
  EXPECT_EQ(Complete("nope").error_code(), grpc::NOT_FOUND);
  EXPECT_EQ(Claim("t-6:1:accept", "").error_code(), grpc::INVALID_ARGUMENT);
  pb::UpdateTaskRequest up;
  up.set_task_id("t-6:1:accept");
  up.set_priority(101);
  pb::Task t;
  st = Call(&pb::Tasks::Stub::UpdateTask, up, &t);
  EXPECT_EQ(st.error_code(), grpc::INVALID_ARGUMENT);
  EXPECT_NE(st.error_message().find("101"), std::string::npos) << st.error_message();
  pb::SearchTasksRequest bad;
  bad.set_page_token("x");
  Search(bad, &gst);
  EXPECT_EQ(gst.error_code(), grpc::INVALID_ARGUMENT);
  bad = {};
  bad.set_priority_min(-1);
  Search(bad, &gst);
  EXPECT_EQ(gst.error_code(), grpc::INVALID_ARGUMENT);
  auto task = Get("t-6:1:accept").task();
  EXPECT_EQ(task.priority(), 60);
  EXPECT_EQ(task.assignee(), "");
  EXPECT_EQ(task.state(), pb::TASK_OPEN);
}

TEST_F(Tasks, AnotherStepCancelsTheTaskWithTheReason) {
  Submitted("t-7");
  pb::TriggerStepResponse r;
  ASSERT_TRUE(client_->Step("t-7", "cancel", R"({"reason":"found it cheaper"})", "", &r).ok());
  auto t = Get("t-7:1:accept").task();
  EXPECT_EQ(t.state(), pb::TASK_CANCELLED);
  EXPECT_EQ(t.close_reason(), "the buyer's cancel was applied first at height " + std::to_string(r.ledger_height()));
  EXPECT_EQ(t.closed_by(), r.proposal_id());
  auto st = Complete("t-7:1:accept");
  EXPECT_EQ(st.error_code(), grpc::FAILED_PRECONDITION);
  EXPECT_NE(st.error_message().find("cancel"), std::string::npos) << st.error_message();
  int cancelled = 0;
  for (const auto& e : Events("t-7")) cancelled += e.type() == "task_cancelled";
  EXPECT_EQ(cancelled, 1);
}

TEST_F(Tasks, AClaimSurvivesKillNineAndNoSecondTaskOpens) {
  Submitted("t-8");
  ASSERT_TRUE(Claim("t-8:1:accept", "alice").ok());
  node_->Kill();
  Launch();
  auto tasks = OfInstance("t-8");
  ASSERT_EQ(tasks.size(), 1u);
  EXPECT_EQ(tasks[0].assignee(), "alice");
  EXPECT_EQ(tasks[0].state(), pb::TASK_CLAIMED);
  pb::CompleteTaskResponse r;
  ASSERT_TRUE(Complete("t-8:1:accept", "", &r, "alice").ok());
  EXPECT_EQ(r.task().state(), pb::TASK_COMPLETED);
}

TEST_F(Tasks, ConcurrentCompletionsApplyTheStepOnce) {
  Submitted("t-9");
  constexpr int kCalls = 8;
  std::atomic<int> ready{0}, confirmed{0}, closed{0}, other{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < kCalls; ++i)
    threads.emplace_back([&] {
      auto stub = pb::Tasks::NewStub(node_->channel());
      pb::CompleteTaskRequest req;
      req.set_task_id("t-9:1:accept");
      pb::CompleteTaskResponse r;
      grpc::ClientContext ctx;
      ++ready;
      while (ready.load() < kCalls) std::this_thread::yield();
      auto st = stub->CompleteTask(&ctx, req, &r);
      if (st.ok() && r.outcome() == pb::CONFIRMED) ++confirmed;
      else if (st.error_code() == grpc::FAILED_PRECONDITION) ++closed;  // came after it closed
      else ++other;
    });
  for (auto& t : threads) t.join();
  EXPECT_GE(confirmed.load(), 1);
  EXPECT_EQ(other.load(), 0);
  int accepts = 0;
  for (const auto& h : client_->History("t-9")) accepts += h.step() == "accept";
  EXPECT_EQ(accepts, 1);
}

TEST_F(Tasks, ATaskPastItsDueDateInLedgerTimeIsOverdueEvenOnAnIdleNode) {
  StartOrder("q-1", "quick", 1);
  auto open = OfInstance("q-1");
  ASSERT_EQ(open.size(), 1u);
  EXPECT_FALSE(open[0].overdue());
  EXPECT_EQ(open[0].priority(), 70);
  // Nothing else happens: the node has the ledger make a block once its
  // clock is past the due date (docs/node.md, "Deadlines"), and that
  // block's time makes the task overdue.
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(8);
  pb::Task t;
  do {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    t = Get(open[0].task_id()).task();
  } while (!t.overdue() && std::chrono::steady_clock::now() < deadline);
  EXPECT_TRUE(t.overdue());
  EXPECT_EQ(t.state(), pb::TASK_OPEN);
  auto status = client_->Status();
  EXPECT_EQ(status.open_tasks(), 1u);
  EXPECT_EQ(status.overdue_tasks(), 1u);
  EXPECT_GE(status.ledger_time_ms(), t.due_ms()) << "ledger time reached the due date";
  // A step that stays in the state leaves the task open, and overdue once.
  ASSERT_TRUE(client_->Step("q-1", "poke").ok());
  EXPECT_EQ(Get(open[0].task_id()).task().state(), pb::TASK_OPEN);
  int overdue = 0;
  for (const auto& e : Events("q-1")) overdue += e.type() == "task_overdue";
  EXPECT_EQ(overdue, 1);
}

TEST_F(Tasks, ATaskFallsOverdueOnAnIdleNodeRestartedBeforeItsDueDate) {
  StartOrder("q-2", "quick", 1);
  auto open = OfInstance("q-2");
  ASSERT_EQ(open.size(), 1u);
  node_->Kill();  // before the due date: the restarted node must still make ledger time reach it
  Launch();
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(8);
  pb::Task t;
  do {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    t = Get(open[0].task_id()).task();
  } while (!t.overdue() && std::chrono::steady_clock::now() < deadline);
  EXPECT_TRUE(t.overdue());
}

}  // namespace
}  // namespace treaty::testing
