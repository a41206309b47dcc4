// Node throughput and latency over real gRPC on loopback (issue #3).
//
// Starts a real treatyd, then measures in one run:
//   limits:  raw SQLite commit rate (WAL, synchronous=FULL, as the node);
//            no-op gRPC unary rate (grpc.health.v1.Health/Check) with the
//            same clients and concurrency;
//   node:    confirmed steps per second at saturation (every call waits for
//            its step to be ordered, applied and committed);
//            p50/p99 latency of confirmed steps at a fixed offered rate.
// Targets: steps/s >= half the no-op gRPC rate; p99 < 20 ms at 1000 steps/s.
// Results go to docs/performance.md.
#include <grpcpp/generic/generic_stub.h>
#include <grpcpp/grpcpp.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "chain/sqlite_db.h"
#include "../integration/treatyd_process.h"
#include "treaty/v1/treaty.grpc.pb.h"

namespace {

namespace pb = ::treaty::v1;
using Clock = std::chrono::steady_clock;

int Flag(int argc, char** argv, const char* name, int def) {
  for (int i = 1; i + 1 < argc; ++i)
    if (std::string(argv[i]) == name) return std::atoi(argv[i + 1]);
  return def;
}

double SqliteCommitRate(const std::string& dir, bool full_sync) {
  treaty::chain::Db db;
  if (!db.Open(dir + "/commit-bench.db", full_sync).ok()) return 0;
  (void)db.Exec("CREATE TABLE t (k INTEGER PRIMARY KEY, v TEXT)");
  auto end = Clock::now() + std::chrono::seconds(2);
  int n = 0;
  auto start = Clock::now();
  while (Clock::now() < end) {
    (void)db.Begin();
    auto s = db.Prepare("INSERT INTO t (v) VALUES ('x')");
    (void)s.Run();
    (void)db.Commit();
    ++n;
  }
  return n / std::chrono::duration<double>(Clock::now() - start).count();
}

double NoopGrpcRate(std::shared_ptr<grpc::Channel> ch, int clients, int seconds) {
  std::atomic<long> calls{0};
  std::atomic<bool> stop{false};
  std::vector<std::thread> threads;
  for (int c = 0; c < clients; ++c) {
    threads.emplace_back([&] {
      grpc::GenericStub stub(ch);
      grpc::Slice no_bytes{std::string()};
      grpc::ByteBuffer empty(&no_bytes, 1);  // HealthCheckRequest{} serialises to no bytes
      while (!stop) {
        grpc::ClientContext ctx;
        grpc::ByteBuffer resp;
        std::mutex m;
        std::condition_variable cv;
        bool done = false;
        grpc::Status st;
        stub.UnaryCall(&ctx, "/grpc.health.v1.Health/Check", grpc::StubOptions(), &empty, &resp,
                       [&](grpc::Status s) {
                         std::lock_guard<std::mutex> l(m);
                         st = s;
                         done = true;
                         cv.notify_one();
                       });
        std::unique_lock<std::mutex> l(m);
        cv.wait(l, [&] { return done; });
        if (st.ok()) ++calls;
      }
    });
  }
  auto start = Clock::now();
  std::this_thread::sleep_for(std::chrono::seconds(seconds));
  stop = true;
  for (auto& t : threads) t.join();
  return calls / std::chrono::duration<double>(Clock::now() - start).count();
}


void CreateInstances(std::shared_ptr<grpc::Channel> ch, const std::string& prefix, int n, int clients) {
  std::atomic<int> next{0};
  std::vector<std::thread> threads;
  for (int c = 0; c < clients; ++c)
    threads.emplace_back([&] {
      auto stub = pb::Processes::NewStub(ch);
      for (int i; (i = next++) < n;) {
        pb::StartProcessRequest req;
        req.set_definition("purchase-order");
        req.set_instance_id(prefix + std::to_string(i));
        pb::StartProcessResponse resp;
        grpc::ClientContext ctx;
        (void)stub->StartProcess(&ctx, req, &resp);
      }
    });
  for (auto& t : threads) t.join();
}

bool Submit(pb::Processes::Stub* stub, const std::string& id) {
  pb::TriggerStepRequest req;
  req.set_instance_id(id);
  req.set_step("submit");
  // po_number is a unique key: one per order.
  req.set_input_json(R"({"po_number":")" + id + R"(","items":[{"sku":"A-1","qty":2}],"total":250})");
  pb::TriggerStepResponse resp;
  grpc::ClientContext ctx;
  auto st = stub->TriggerStep(&ctx, req, &resp);
  return st.ok() && resp.outcome() == pb::CONFIRMED;
}

}  // namespace

int main(int argc, char** argv) {
  int clients = Flag(argc, argv, "--clients", 32);
  int saturation_steps = Flag(argc, argv, "--steps", 4000);
  int rate = Flag(argc, argv, "--rate", 1000);
  int seconds = Flag(argc, argv, "--seconds", 4);

  bool full_sync = Flag(argc, argv, "--full-sync", 1) != 0;
  treaty::testing::TempDir dir;
  treaty::testing::TreatydProcess node(dir.path() + "/node", {"--sync", full_sync ? "full" : "normal"});
  if (!node.Start()) {
    std::fprintf(stderr, "treatyd did not start:\n%s\n", node.Log().c_str());
    return 1;
  }
  auto ch = node.channel();
  std::printf("machine: %u hardware threads\n", std::thread::hardware_concurrency());

  double sqlite_rate = SqliteCommitRate(dir.path(), full_sync);
  std::printf("limit  sqlite commits/s (WAL, synchronous=%s, as the node): %.0f\n", full_sync ? "FULL" : "NORMAL",
              sqlite_rate);
  double noop = NoopGrpcRate(ch, clients, 3);
  std::printf("limit  no-op gRPC unary calls/s (%d clients): %.0f\n", clients, noop);

  // Saturation: every client submits on its own instances and waits.
  CreateInstances(ch, "s-", saturation_steps, clients);
  std::atomic<int> next{0}, ok{0};
  auto start = Clock::now();
  {
    std::vector<std::thread> threads;
    for (int c = 0; c < clients; ++c)
      threads.emplace_back([&] {
        auto stub = pb::Processes::NewStub(ch);
        for (int i; (i = next++) < saturation_steps;)
          if (Submit(stub.get(), "s-" + std::to_string(i))) ++ok;
      });
    for (auto& t : threads) t.join();
  }
  double elapsed = std::chrono::duration<double>(Clock::now() - start).count();
  double steps_per_s = ok / elapsed;
  std::printf("node   confirmed steps/s at saturation (%d clients): %.0f (%d of %d confirmed)\n", clients,
              steps_per_s, ok.load(), saturation_steps);
  std::printf("ratio  steps/s : no-op gRPC = %.2f (target >= 0.50)\n", steps_per_s / noop);

  // Fixed offered rate: steps scheduled every 1/rate s; latency counts from
  // the scheduled time (open loop), so queueing shows up in the tail.
  int total = rate * seconds;
  CreateInstances(ch, "r-", total, clients);
  std::vector<double> latency_ms(total, -1);
  auto t0 = Clock::now() + std::chrono::milliseconds(100);
  std::atomic<int> idx{0};
  {
    std::vector<std::thread> threads;
    for (int c = 0; c < std::max(clients, rate / 20); ++c)
      threads.emplace_back([&] {
        auto stub = pb::Processes::NewStub(ch);
        for (int i; (i = idx++) < total;) {
          auto due = t0 + std::chrono::microseconds(static_cast<int64_t>(i) * 1000000 / rate);
          std::this_thread::sleep_until(due);
          if (Submit(stub.get(), "r-" + std::to_string(i)))
            latency_ms[i] = std::chrono::duration<double, std::milli>(Clock::now() - due).count();
        }
      });
    for (auto& t : threads) t.join();
  }
  std::vector<double> done;
  for (double l : latency_ms)
    if (l >= 0) done.push_back(l);
  std::sort(done.begin(), done.end());
  auto pct = [&](double p) { return done.empty() ? 0.0 : done[std::min(done.size() - 1, static_cast<size_t>(p * done.size()))]; };
  std::printf("node   at %d steps/s offered for %d s: %zu confirmed, p50 %.1f ms, p99 %.1f ms, max %.1f ms (target p99 < 20 ms)\n",
              rate, seconds, done.size(), pct(0.50), pct(0.99), done.empty() ? 0.0 : done.back());
  node.Stop();
  return 0;
}
