// Jobs against a real treatyd on loopback (issue #17).
//
// In one run, on one node:
//   plain:    confirmed `check` steps per second by TriggerStep from
//             --clients clients (32), each on its own instance — the limit
//             jobs are judged against;
//   jobs:     completed jobs per second end to end: --workers C++ workers
//             (8), each a StreamJobs stream and --slots completers (4), so
//             as many calls are in flight as plain's clients make; a job is
//             streamed to a worker, which completes it at once
//             (CompleteJob, waiting for the step's confirmation);
//   latency:  instances started at --rate per second (500) for --seconds
//             (10) while the workers stream: the time from a job's opening
//             (its opened_ms, node time, same clock) to its arrival at a
//             worker.
// Targets: jobs/s >= 0.5 x plain steps/s; activation latency p99 < 10 ms at
// 500 jobs/s. Results go to docs/performance.md.
#include <grpcpp/grpcpp.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <deque>
#include <fstream>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "../integration/treatyd_process.h"
#include "bench_util.h"
#include "treaty/v1/treaty.grpc.pb.h"

namespace {

using namespace treaty::bench;  // NOLINT: the benchmark's own helpers
namespace pb = ::treaty::v1;

const char* kDefinition = R"(process: jobcheck
version: 1
roles: [bank]
data:
  score: { type: integer }
states:
  applied: { initial: true }
  checked: { final: true }
steps:
  check:
    from: applied
    to: checked
    by: bank
    input: { score: integer }
    set: { score: input.score }
    task: { job: { type: bench } }
)";

int64_t NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// Instances PREFIX0..n-1: each opens its `check` job.
void Started(std::shared_ptr<grpc::Channel> ch, const std::string& prefix, int n, int clients) {
  std::atomic<int> next{0};
  std::vector<std::thread> threads;
  for (int c = 0; c < clients; ++c)
    threads.emplace_back([&] {
      treaty::testing::NodeClient client(ch);
      for (int i; (i = next++) < n;)
        if (!client.Start(prefix + std::to_string(i), {}, nullptr, "jobcheck").ok())
          std::fprintf(stderr, "instance %s%d was not started\n", prefix.c_str(), i);
    });
  for (auto& t : threads) t.join();
}


// A job worker: one stream, `slots` threads completing what it receives.
class Worker {
 public:
  Worker(std::shared_ptr<grpc::Channel> ch, const std::string& name, int slots) : stub_(pb::Jobs::NewStub(ch)) {
    pb::StreamJobsRequest req;
    req.set_type("bench");
    req.set_worker(name);
    reader_ = stub_->StreamJobs(&ctx_, req);
    receive_ = std::thread([this] { Receive(); });
    for (int i = 0; i < slots; ++i) completers_.emplace_back([this] { Complete(); });
  }
  ~Worker() {
    ctx_.TryCancel();
    receive_.join();
    {
      std::lock_guard<std::mutex> lock(mu_);
      stop_ = true;
    }
    cv_.notify_all();
    for (auto& t : completers_) t.join();
  }
  static std::atomic<int> completed, failed;
  static std::mutex latency_mu;
  static std::vector<double> latency_ms;  // opened -> arrived

 private:
  void Receive() {
    pb::Job j;
    while (reader_->Read(&j)) {
      double waited = static_cast<double>(NowMs() - j.opened_ms());
      {
        std::lock_guard<std::mutex> lock(latency_mu);
        latency_ms.push_back(waited);
      }
      std::lock_guard<std::mutex> lock(mu_);
      queue_.push_back(j.key());
      cv_.notify_one();
    }
  }
  void Complete() {
    while (true) {
      std::string key;
      {
        std::unique_lock<std::mutex> lock(mu_);
        cv_.wait(lock, [&] { return stop_ || !queue_.empty(); });
        if (queue_.empty()) return;
        key = std::move(queue_.front());
        queue_.pop_front();
      }
      pb::CompleteJobRequest req;
      req.set_key(key);
      req.set_output_json(R"({"score":700})");
      pb::CompleteJobResponse r;
      grpc::ClientContext ctx;
      auto st = stub_->CompleteJob(&ctx, req, &r);
      if (st.ok() && r.outcome() == pb::CONFIRMED) ++completed;
      else ++failed;
    }
  }
  std::unique_ptr<pb::Jobs::Stub> stub_;
  grpc::ClientContext ctx_;
  std::unique_ptr<grpc::ClientReader<pb::Job>> reader_;
  std::thread receive_;
  std::vector<std::thread> completers_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::string> queue_;
  bool stop_ = false;
};
std::atomic<int> Worker::completed{0}, Worker::failed{0};
std::mutex Worker::latency_mu;
std::vector<double> Worker::latency_ms;

double Percentile(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  return v[std::min(v.size() - 1, static_cast<size_t>(p * static_cast<double>(v.size())))];
}

}  // namespace

int main(int argc, char** argv) {
  int clients = Flag(argc, argv, "--clients", 32);
  int workers = Flag(argc, argv, "--workers", 8);
  int slots = Flag(argc, argv, "--slots", 4);
  int n = Flag(argc, argv, "--jobs", 4000);
  int rate = Flag(argc, argv, "--rate", 500);
  int seconds = Flag(argc, argv, "--seconds", 10);
  treaty::testing::TempDir dir;
  std::string defs = dir.path() + "/defs";
  if (std::system(("mkdir -p " + defs).c_str()) != 0) return 1;
  std::ofstream(defs + "/jobcheck.yaml") << kDefinition;
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

  Started(ch, "p-", n, clients);
  std::this_thread::sleep_for(std::chrono::milliseconds(600));
  double plain = 0, plain_node_ms = 0;
  {
    CpuMeter cpu(procs);
    double node0 = CpuSeconds(node.pid());
    plain = PlainStepRate(ch, "p-", n, clients, "check", R"({"score":700})");
    plain_node_ms = (CpuSeconds(node.pid()) - node0) * 1000 / n;
    std::printf("limit  plain TriggerStep(check) confirmed steps/s with %d clients: %.0f\n", clients, plain);
    cpu.Print("plain ", n);
  }

  Started(ch, "j-", n, clients);  // n activatable jobs, no worker yet
  std::this_thread::sleep_for(std::chrono::milliseconds(600));
  double jobs = 0, jobs_node_ms = 0;
  {
    CpuMeter cpu(procs);
    DiskMeter disk(ch, procs);
    double node0 = CpuSeconds(node.pid());
    auto start = Clock::now();
    {
      std::vector<std::unique_ptr<Worker>> pool;
      for (int w = 0; w < workers; ++w) pool.push_back(std::make_unique<Worker>(ch, "w" + std::to_string(w), slots));
      while (Worker::completed + Worker::failed < n &&
             Clock::now() - start < std::chrono::seconds(300))
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    double secs = std::chrono::duration<double>(Clock::now() - start).count();
    jobs = Worker::completed / secs;
    jobs_node_ms = (CpuSeconds(node.pid()) - node0) * 1000 / std::max(1, Worker::completed.load());
    std::printf("jobs   streamed -> worker -> CompleteJob -> confirmed, completed jobs/s with %d workers x %d slots: "
                "%.0f (%d completed, %d failed)\n",
                workers, slots, jobs, Worker::completed.load(), Worker::failed.load());
    cpu.Print("jobs  ", Worker::completed);
    disk.Print("jobs  ", Worker::completed);
  }
  std::printf("ratio  jobs/s : plain steps/s = %.2f (target >= 0.5)\n", plain > 0 ? jobs / plain : 0.0);
  std::printf("cpu    node, ms of CPU per plain step %.3f, per job %.3f (activation + completion)\n", plain_node_ms,
              jobs_node_ms);

  // Activation latency at a fixed opening rate, the workers streaming.
  Worker::completed = 0;
  Worker::failed = 0;
  {
    std::lock_guard<std::mutex> lock(Worker::latency_mu);
    Worker::latency_ms.clear();
  }
  int total = rate * seconds;
  {
    std::vector<std::unique_ptr<Worker>> pool;
    for (int w = 0; w < workers; ++w) pool.push_back(std::make_unique<Worker>(ch, "l" + std::to_string(w), slots));
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    FsyncProbe probe(dir.path());
    // Starts on a fixed schedule, from enough threads that a slow start
    // does not hold up the next (open loop).
    auto t0 = Clock::now();
    std::atomic<int> next{0};
    std::vector<std::thread> openers;
    for (int c = 0; c < clients; ++c)
      openers.emplace_back([&] {
        treaty::testing::NodeClient client(ch);
        for (int i; (i = next++) < total;) {
          std::this_thread::sleep_until(t0 + std::chrono::microseconds(int64_t{1000000} * i / rate));
          pb::StartProcessRequest req;
          req.set_definition("jobcheck");
          req.set_instance_id("l-" + std::to_string(i));
          req.set_no_wait(true);
          (void)client.StartWith(req);
        }
      });
    for (auto& t : openers) t.join();
    double offered = total / std::chrono::duration<double>(Clock::now() - t0).count();
    auto deadline = Clock::now() + std::chrono::seconds(60);
    while (Worker::completed + Worker::failed < total && Clock::now() < deadline)
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    std::vector<double> lat;
    {
      std::lock_guard<std::mutex> lock(Worker::latency_mu);
      lat = Worker::latency_ms;
    }
    std::printf("latency jobs opened at %.0f/s for %d s, %zu pushed to %d streaming workers: opened -> arrived p50 "
                "%.1f ms, p99 %.1f ms, max %.1f ms (target p99 < 10 ms); %d completed\n",
                offered, seconds, lat.size(), workers, Percentile(lat, 0.5), Percentile(lat, 0.99),
                Percentile(lat, 1.0), Worker::completed.load());
    // A job's opening is a durable block commit: its fsync is on the path.
    std::printf("limit  the disk meanwhile, a 4 KiB write + fdatasync every 10 ms: %s\n", probe.Summary().c_str());
  }
  node.Stop();
  return 0;
}
