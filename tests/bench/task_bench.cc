// Human tasks against a real treatyd on loopback (issue #16).
//
// In one run, on one node:
//   plain:   confirmed `accept` steps per second by TriggerStep, 32 clients,
//            each on its own submitted order (the limit the tasks are
//            judged against);
//   tasks:   completed tasks per second by 32 clients, each doing what a
//            task inbox does: SearchTasks (queue, open), ClaimTask on one
//            of the first page, CompleteTask waiting for the step's
//            confirmation (a claim lost to another client searches again);
//   search:  SearchTasks latency with --open-tasks open tasks in the store
//            (default 100,000) for the inbox questions: by queue and state
//            in creation, due and priority order, by candidate group, by
//            assignee.
// Targets: tasks/s >= 0.5 x the plain rate; search p99 < 20 ms at 100,000
// open tasks. Results go to docs/performance.md.
#include <grpcpp/grpcpp.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <functional>
#include <string>
#include <thread>
#include <vector>

#include "../integration/treatyd_process.h"
#include "bench_util.h"
#include "treaty/v1/treaty.grpc.pb.h"

namespace {

using namespace treaty::bench;  // NOLINT: the benchmark's own helpers
namespace pb = ::treaty::v1;

// Orders PREFIX0..n-1 of `definition` (version 0: the highest), submitted.
void SubmittedOrders(std::shared_ptr<grpc::Channel> ch, const std::string& prefix, int n, int clients,
                     int64_t version = 0) {
  std::atomic<int> next{0};
  std::vector<std::thread> threads;
  for (int c = 0; c < clients; ++c)
    threads.emplace_back([&] {
      treaty::testing::NodeClient client(ch);
      for (int i; (i = next++) < n;) {
        std::string id = prefix + std::to_string(i);
        pb::StartProcessRequest req;
        req.set_definition("purchase-order");
        req.set_version(version);
        req.set_instance_id(id);
        if (!client.StartWith(req).ok() || !Submit(&client, id))
          std::fprintf(stderr, "order %s was not submitted\n", id.c_str());
      }
    });
  for (auto& t : threads) t.join();
}


struct TaskRun {
  double per_s = 0;
  int completed = 0, lost_claims = 0, failed = 0;
  double search_ms = 0, claim_ms = 0, complete_ms = 0;  // mean wall time of each call
};

// Clients work the queue until `n` tasks are completed.
TaskRun TaskRate(std::shared_ptr<grpc::Channel> ch, int n, int clients, int page) {
  std::atomic<int> completed{0}, lost{0}, failed{0};
  std::atomic<int64_t> search_us{0}, claim_us{0}, complete_us{0}, searches{0}, claims{0}, completes{0};
  auto since = [](Clock::time_point t0) {
    return std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - t0).count();
  };
  auto start = Clock::now();
  std::vector<std::thread> threads;
  for (int c = 0; c < clients; ++c)
    threads.emplace_back([&, c] {
      auto stub = pb::Tasks::NewStub(ch);
      unsigned tries = 0;
      std::string me = "clerk-" + std::to_string(c);
      while (completed.load() < n) {
        pb::SearchTasksRequest q;
        q.set_queue("sales-approvals");
        q.add_states(pb::TASK_OPEN);
        q.set_page_size(page);
        pb::SearchTasksResponse found;
        grpc::ClientContext sctx;
        auto t0 = Clock::now();
        bool searched = stub->SearchTasks(&sctx, q, &found).ok();
        search_us += since(t0);
        ++searches;
        if (!searched) {
          ++failed;
          continue;
        }
        if (found.tasks_size() == 0) break;
        // Clerk c takes the c-th task of the page (another one after a lost
        // claim), so 32 clerks on one queue rarely reach for the same task.
        int at = (c + static_cast<int>(tries % 7) * 11) % found.tasks_size();
        const pb::Task& pick = found.tasks(at);
        pb::ClaimTaskRequest claim;
        claim.set_task_id(pick.task_id());
        claim.set_assignee(me);
        pb::Task claimed;
        grpc::ClientContext cctx;
        t0 = Clock::now();
        auto st = stub->ClaimTask(&cctx, claim, &claimed);
        claim_us += since(t0);
        ++claims;
        if (!st.ok()) {
          ++tries;
          if (st.error_code() == grpc::FAILED_PRECONDITION) ++lost;  // another clerk was first
          else ++failed;
          continue;
        }
        pb::CompleteTaskRequest done;
        done.set_task_id(pick.task_id());
        done.set_assignee(me);
        pb::CompleteTaskResponse r;
        grpc::ClientContext dctx;
        t0 = Clock::now();
        st = stub->CompleteTask(&dctx, done, &r);
        complete_us += since(t0);
        ++completes;
        if (st.ok() && r.outcome() == pb::CONFIRMED) ++completed;
        else ++failed;
      }
    });
  for (auto& t : threads) t.join();
  double secs = std::chrono::duration<double>(Clock::now() - start).count();
  auto mean = [](int64_t us, int64_t n) { return n ? us / 1000.0 / static_cast<double>(n) : 0.0; };
  return {completed / secs,
          completed.load(),
          lost.load(),
          failed.load(),
          mean(search_us, searches),
          mean(claim_us, claims),
          mean(complete_us, completes)};
}

// What one call costs the node alone, in ms of its CPU: `calls` calls of
// `call(stub, i)` by `clients` threads.
double NodeCpuPerCall(std::shared_ptr<grpc::Channel> ch, pid_t node, int clients, int calls,
                      const std::function<void(pb::Tasks::Stub*, int)>& call) {
  std::atomic<int> next{0};
  double cpu0 = CpuSeconds(node);
  std::vector<std::thread> threads;
  for (int c = 0; c < clients; ++c)
    threads.emplace_back([&] {
      auto stub = pb::Tasks::NewStub(ch);
      for (int i; (i = next++) < calls;) call(stub.get(), i);
    });
  for (auto& t : threads) t.join();
  return (CpuSeconds(node) - cpu0) * 1000 / calls;
}

void SearchLatency(std::shared_ptr<grpc::Channel> ch, const char* what, const pb::SearchTasksRequest& q, int calls) {
  auto stub = pb::Tasks::NewStub(ch);
  std::vector<double> ms;
  int returned = 0;
  for (int i = 0; i < calls; ++i) {
    pb::SearchTasksResponse r;
    grpc::ClientContext ctx;
    auto t0 = Clock::now();
    auto st = stub->SearchTasks(&ctx, q, &r);
    ms.push_back(std::chrono::duration<double, std::milli>(Clock::now() - t0).count());
    if (!st.ok()) {
      std::printf("search %-40s FAILED: %s\n", what, st.error_message().c_str());
      return;
    }
    returned = r.tasks_size();
  }
  std::sort(ms.begin(), ms.end());
  std::printf("search %-40s %d tasks a page: p50 %.2f ms, p99 %.2f ms, max %.2f ms (target p99 < 20 ms)\n", what,
              returned, ms[ms.size() / 2], ms[std::min(ms.size() - 1, ms.size() * 99 / 100)], ms.back());
}

}  // namespace

int main(int argc, char** argv) {
  int clients = Flag(argc, argv, "--clients", 32);
  int n = Flag(argc, argv, "--tasks", 4000);
  int open_tasks = Flag(argc, argv, "--open-tasks", 100000);
  int page = Flag(argc, argv, "--page", 50);  // what a clerk's inbox shows, the API's default
  treaty::testing::TempDir dir;
  std::string defs = dir.path() + "/defs";
  if (std::system(("mkdir -p " + defs + " && cp " + std::string(TREATY_SOURCE_DIR) +
                   "/tests/data/valid/purchase-order-tasks.yaml " + defs + "/")
                      .c_str()) != 0)
    return 1;
  std::vector<std::string> args = {"--definitions", defs};
  for (auto& a : NodeTuningArgs(argc, argv)) args.push_back(std::move(a));
  treaty::testing::TreatydProcess node(dir.path() + "/node", args);
  if (!node.Start()) {
    std::fprintf(stderr, "treatyd did not start:\n%s\n", node.Log().c_str());
    return 1;
  }
  auto ch = node.channel();
  std::printf("machine: %u hardware threads\n", std::thread::hardware_concurrency());
  std::vector<std::pair<std::string, pid_t>> procs = {{"node", node.pid()}, {"clients", 0}};

  // The compiled purchase order (version 1), whose accept is a human task.
  SubmittedOrders(ch, "p-", n, clients, 1);
  std::this_thread::sleep_for(std::chrono::milliseconds(600));
  double plain = 0, plain_node_ms = 0, plain_machine_ms = 0;
  {
    CpuMeter cpu(procs);
    double node_cpu0 = CpuSeconds(node.pid()), self0 = CpuSeconds(0);
    plain = PlainStepRate(ch, "p-", n, clients, "accept", "{}");
    plain_node_ms = (CpuSeconds(node.pid()) - node_cpu0) * 1000 / n;
    plain_machine_ms = plain_node_ms + (CpuSeconds(0) - self0) * 1000 / n;
    std::printf("limit  plain TriggerStep(accept) confirmed steps/s with %d clients: %.0f\n", clients, plain);
    cpu.Print("plain ", n);
  }
  SubmittedOrders(ch, "t-", n, clients, 1);
  std::this_thread::sleep_for(std::chrono::milliseconds(600));
  TaskRun run;
  double task_clients_ms = 0;
  {
    CpuMeter cpu(procs);
    DiskMeter disk(ch, procs);
    double self0 = CpuSeconds(0);
    run = TaskRate(ch, n, clients, page);
    if (run.completed > 0) task_clients_ms = (CpuSeconds(0) - self0) * 1000 / run.completed;
    std::printf("tasks  search (a page of %d) -> claim -> complete, completed tasks/s with %d clients: %.0f (%d "
                "completed, %d claims lost to another clerk, %d failed)\n",
                page, clients, run.per_s, run.completed, run.lost_claims, run.failed);
    std::printf("tasks  mean call time: search %.2f ms, claim %.2f ms, complete %.2f ms\n", run.search_ms,
                run.claim_ms, run.complete_ms);
    cpu.Print("tasks ", run.completed);
    disk.Print("tasks ", run.completed);
  }
  std::printf("ratio  tasks/s : plain steps/s = %.2f (target >= 0.5)\n", plain > 0 ? run.per_s / plain : 0.0);
  // The clients share the machine's cores with the node: a task costs the
  // machine at least what its clients spent on it plus a plain step's node
  // work (its completion is one), even if search and claim cost the node
  // nothing; a plain step costs the machine its node and client work.
  if (task_clients_ms > 0)
    std::printf("limit  ceiling: the clients' CPU per task (%.3f ms) plus a plain step's node CPU (%.3f ms) against "
                "a plain step's machine CPU (%.3f ms): ratio at most %.2f on this machine\n",
                task_clients_ms, plain_node_ms, plain_machine_ms,
                plain_machine_ms / (task_clients_ms + plain_node_ms));

  // Where a task's CPU goes: the calls alone, on fresh open tasks.
  SubmittedOrders(ch, "c-", n, clients, 1);
  std::this_thread::sleep_for(std::chrono::milliseconds(600));
  std::printf("cpu    the calls alone: searches start\n");  // a mark for profilers
  std::fflush(stdout);
  double search_cpu = NodeCpuPerCall(ch, node.pid(), clients, n, [page](pb::Tasks::Stub* stub, int) {
    pb::SearchTasksRequest q;
    q.set_queue("sales-approvals");
    q.add_states(pb::TASK_OPEN);
    q.set_page_size(page);
    pb::SearchTasksResponse r;
    grpc::ClientContext ctx;
    (void)stub->SearchTasks(&ctx, q, &r);
  });
  double claim_cpu = NodeCpuPerCall(ch, node.pid(), clients, n, [](pb::Tasks::Stub* stub, int i) {
    pb::ClaimTaskRequest c;
    c.set_task_id("c-" + std::to_string(i) + ":1:accept");
    c.set_assignee("clerk");
    pb::Task t;
    grpc::ClientContext ctx;
    (void)stub->ClaimTask(&ctx, c, &t);
  });
  double complete_cpu = NodeCpuPerCall(ch, node.pid(), clients, n, [](pb::Tasks::Stub* stub, int i) {
    pb::CompleteTaskRequest c;
    c.set_task_id("c-" + std::to_string(i) + ":1:accept");
    pb::CompleteTaskResponse r;
    grpc::ClientContext ctx;
    (void)stub->CompleteTask(&ctx, c, &r);
  });
  std::printf("cpu    node, ms of CPU per call alone (%d clients): search of a page of %d %.3f, claim %.3f, "
              "complete %.3f\n",
              clients, page, search_cpu, claim_cpu, complete_cpu);
  // The node's CPU is what both phases are bound by on this machine: a task
  // costs it at least its three calls done alone, a plain step its one.
  double task_cpu = search_cpu + claim_cpu + complete_cpu;
  if (task_cpu > 0)
    std::printf("limit  ceiling: a task costs the node at least its calls alone (%.3f ms) against %.3f ms for a plain "
                "step: ratio at most %.2f while the node's CPU bounds both\n",
                task_cpu, plain_node_ms, plain_node_ms / task_cpu);

  // Open tasks in the store: version 2's accept has a due date, a priority
  // and a candidate group.
  auto rss = [&] {  // the node's resident memory, KiB
    std::ifstream f("/proc/" + std::to_string(node.pid()) + "/status");
    std::string key;
    long kib = 0;
    while (f >> key)
      if (key == "VmRSS:" && f >> kib) return kib;
    return 0L;
  };
  long rss0 = rss();
  auto t0 = Clock::now();
  SubmittedOrders(ch, "o-", open_tasks, 64, 2);
  std::printf("search %d open tasks made in %.0f s; the node's memory grew by %.1f MiB (instances, their cache "
              "and the open tasks)\n",
              open_tasks, std::chrono::duration<double>(Clock::now() - t0).count(), (rss() - rss0) / 1024.0);
  {
    // A few claimed, so the assignee question has answers.
    auto stub = pb::Tasks::NewStub(ch);
    for (int i = 0; i < 40; ++i) {
      pb::ClaimTaskRequest c;
      c.set_task_id("o-" + std::to_string(i * 997 % open_tasks) + ":1:accept");
      c.set_assignee("alice");
      pb::Task t;
      grpc::ClientContext ctx;
      (void)stub->ClaimTask(&ctx, c, &t);
    }
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(600));
  pb::SearchTasksRequest q;
  q.set_queue("sales-approvals");
  q.add_states(pb::TASK_OPEN);
  SearchLatency(ch, "queue, open, by created (page 50)", q, 300);
  q.set_order_by(pb::TASK_ORDER_DUE);
  SearchLatency(ch, "queue, open, by due (page 50)", q, 300);
  q.set_order_by(pb::TASK_ORDER_PRIORITY);
  q.set_descending(true);
  SearchLatency(ch, "queue, open, by priority desc (page 50)", q, 300);
  pb::SearchTasksRequest g;
  g.set_candidate_group("sales");
  g.add_states(pb::TASK_OPEN);
  SearchLatency(ch, "candidate group, open (page 50)", g, 300);
  pb::SearchTasksRequest a;
  a.set_assignee("alice");
  SearchLatency(ch, "assignee (page 50)", a, 300);
  pb::SearchTasksRequest deep = q;
  deep.set_page_token("5000");
  SearchLatency(ch, "queue, open, by priority, page 101", deep, 300);
  node.Stop();
  return 0;
}
