// Node throughput and latency over real gRPC on loopback (issue #3).
//
// Starts a real treatyd, then measures in one run:
//   limits:  raw SQLite commit rate (WAL, synchronous=FULL, as the node);
//            the store's floor of a step (SQLite alone, bench_util.h),
//            and the protocol's (the same plus the seal's writes);
//            the node's own store work for a step, alone, on its schema
//            (node_store_floor.h);
//            no-op gRPC unary rate (grpc.health.v1.Health/Check) with the
//            same clients and concurrency; and the ceilings these set on
//            the ratio: a step costs at least a call plus the floor (the
//            cores), and SQLite has one writer per file (the writer);
//   node:    confirmed steps per second at saturation (each throughput is
//            the best over the concurrency levels of --clients) (every call waits for
//            its step to be ordered, applied and committed);
//            p50/p99 latency of confirmed steps at a fixed offered rate.
// Targets (issue #15): steps/s >= 0.25 x the no-op gRPC rate, node CPU per
// step <= 0.15 ms, <= 8 KiB and <= 2 WAL pages written per step at
// saturation; p99 < 20 ms at 1000 steps/s.
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

#include "../integration/treatyd_process.h"
#include "bench_util.h"
#include "node_store_floor.h"
#include "treaty/v1/treaty.grpc.pb.h"

namespace {

using namespace treaty::bench;  // NOLINT: the benchmark's own helpers

// *ms_per_call gets the machine's CPU (node and clients) per call.
double NoopGrpcRate(std::shared_ptr<grpc::Channel> ch, int clients, int seconds, pid_t node, double* ms_per_call) {
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
  CpuMeter cpu({{"node", node}, {"clients", 0}});
  std::this_thread::sleep_for(std::chrono::seconds(seconds));
  stop = true;
  for (auto& t : threads) t.join();
  *ms_per_call = cpu.Print("no-op gRPC (per call)", static_cast<int>(calls));
  return calls / std::chrono::duration<double>(Clock::now() - start).count();
}


}  // namespace

// The store floor's shape: batches as the node's at saturation, as many
// instances as the saturation phase steps.
constexpr int kFloorBatch = 32;
constexpr int kFloorInstances = 20000;
// The node's own store work: batches as large as the node's largest.
constexpr int kNodeFloorBatch = 256;

int main(int argc, char** argv) {
  std::vector<int> levels = ListFlag(argc, argv, "--clients", kClientLevels);
  if (levels.empty()) levels = {32};
  int clients = levels.front();  // for the fixed-rate phase
  int saturation_steps = Flag(argc, argv, "--steps", 4000);
  int rate = Flag(argc, argv, "--rate", 1000);
  int seconds = Flag(argc, argv, "--seconds", 4);

  int windows = Flag(argc, argv, "--windows", 3);  // fixed-rate windows at most (bench_util.h)
  bool full_sync = Flag(argc, argv, "--full-sync", 1) != 0;
  treaty::testing::TempDir dir;
  std::vector<std::string> args = {"--sync", full_sync ? "full" : "normal"};
  for (auto& a : NodeTuningArgs(argc, argv)) args.push_back(std::move(a));
  treaty::testing::TreatydProcess node(dir.path() + "/node", args);
  if (!node.Start()) {
    std::fprintf(stderr, "treatyd did not start:\n%s\n", node.Log().c_str());
    return 1;
  }
  auto ch = node.channel();
  std::printf("machine: %u hardware threads\n", std::thread::hardware_concurrency());

  double sqlite_rate = SqliteCommitRate(dir.path(), full_sync);
  std::printf("limit  sqlite commits/s (WAL, synchronous=%s, as the node): %.0f\n", full_sync ? "FULL" : "NORMAL",
              sqlite_rate);
  double floor_rate = 0;
  double floor_us = SqliteStepFloorUs(dir.path(), full_sync, kFloorBatch, kFloorInstances, &floor_rate);
  if (floor_us > 0) {
    std::printf("limit  store floor of a step: %.1f us of CPU, %.0f steps/s on one thread (SQLite alone: instance "
                "updated, history and event appended, one transaction per %d steps, %d instances)\n",
                floor_us, floor_rate, kFloorBatch, kFloorInstances);
  } else {
    std::printf("limit  store floor of a step: NOT MEASURED (a SQLite call failed in %s)\n", dir.path().c_str());
  }
  double seal_rate = 0;
  double seal_us = SqliteStepFloorUs(dir.path(), full_sync, kNodeFloorBatch, kFloorInstances, &seal_rate, true);
  if (seal_us > 0) {
    std::printf("limit  the protocol's floor of a step: %.1f us of CPU, %.0f steps/s on one thread (the store floor "
                "plus a seal transaction per batch: proposal written, nonce spent; %d steps per batch)\n",
                seal_us, seal_rate, kNodeFloorBatch);
  } else {
    std::printf("limit  the protocol's floor of a step: NOT MEASURED (a SQLite call failed in %s)\n",
                dir.path().c_str());
  }
  // The node's own writes, alone, in batches as large as its biggest at
  // saturation: the most a single writer of this schema can carry.
  StoreFloor node_floor = NodeStoreStepFloor(dir.path(), full_sync, kNodeFloorBatch, kFloorInstances);
  if (node_floor.steps_per_s > 0) {
    std::printf("limit  the node's store work alone: %.1f us of CPU per step, %.0f steps/s on one writer thread (its "
                "schema, seal + ledger block + apply transactions, %d steps per batch, %d instances; no gRPC, "
                "JSON or machine)\n",
                node_floor.cpu_us_per_step, node_floor.steps_per_s, kNodeFloorBatch, kFloorInstances);
  } else {
    std::printf("limit  the node's store work alone: NOT MEASURED (a store call failed in %s)\n", dir.path().c_str());
  }
  // Each throughput is the best over the concurrency levels (bench_util.h).
  double noop = 0, noop_ms = 0;
  for (int c : levels) {
    double ms = 0;
    double rate_c = NoopGrpcRate(ch, c, 3, node.pid(), &ms);
    std::printf("limit  no-op gRPC unary calls/s with %d clients: %.0f\n", c, rate_c);
    if (rate_c > noop) noop = rate_c, noop_ms = ms;
  }
  std::printf("limit  no-op gRPC unary calls/s (best of the levels): %.0f\n", noop);
  // A confirmed step is at least a gRPC call plus the store's floor; with
  // every core busy on nothing else that bounds the rate, and the ratio.
  unsigned cores = std::max(1u, std::thread::hardware_concurrency());
  double ceiling = cores * 1000.0 / (noop_ms + floor_us / 1000.0);
  if (floor_us > 0 && noop_ms > 0) std::printf("limit  ceiling: a step costs at least a no-op call (%.3f ms of machine CPU) plus the store floor "
              "(%.3f ms): at most %.0f steps/s on %u cores, ratio at most %.2f\n",
              noop_ms, floor_us / 1000.0, ceiling, cores, noop > 0 ? ceiling / noop : 0.0);
  // However many cores, one writer applies every step: its rate alone is a
  // second ceiling, usually the lower one.
  for (auto [what, writer_rate] : {std::pair{"the store floor", floor_rate}, std::pair{"the protocol's floor", seal_rate},
                                   std::pair{"the node's own store work", node_floor.steps_per_s}})
    if (noop > 0 && writer_rate > 0)
      std::printf("limit  ceiling: one SQLite writer per file; %s alone reaches %.0f steps/s on it, ratio at most %.2f\n",
                  what, writer_rate, writer_rate / noop);

  // Saturation: every client submits on its own instances and waits.
  double steps_per_s = BestSaturation(ch, "node", "s", saturation_steps, levels, {{"node", node.pid()}, {"clients", 0}},
                                      [&](const std::string& prefix, int c) {
                                        CreateInstances(ch, prefix, saturation_steps, c);
                                      });
  std::printf("ratio  steps/s : no-op gRPC = %.2f (target >= 0.25)\n", noop > 0 ? steps_per_s / noop : 0.0);
  std::printf("target at saturation (issue #15): node CPU per confirmed step <= 0.15 ms, KiB written per step <= 8, "
              "WAL pages per step <= 2: the cpu and disk lines of each level above\n");
  // How much of its own writer's limit the node reaches: what is left for
  // the C++ around the store to win.
  if (node_floor.steps_per_s > 0)
    std::printf("ratio  steps/s : the node's store work alone = %.2f\n", steps_per_s / node_floor.steps_per_s);

  JudgedFixedRate("node  ", ch, rate, seconds, clients, 20, windows, dir.path(), [&](int w) {
    std::string prefix = "r" + std::to_string(w) + "-";
    CreateInstances(ch, prefix, rate * seconds, clients);
    return prefix;
  });
  node.Stop();
  return 0;
}
