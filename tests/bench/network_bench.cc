// Three-party throughput and latency over real processes on loopback
// (issue #4): a treaty-sequencer and the buyer's, seller's and bank's
// treatyd. The buyer's clients submit orders all three are members of; a
// step counts when the buyer has it confirmed (ordered by the sequencer,
// applied and committed; the proposal signed and sent to both members).
// In the same run, the limits: secp256k1 sign and verify rates, the ZeroMQ
// CURVE round trip on loopback, the SQLite commit rate, and the
// single-party figure (one treatyd, embedded ledger, same clients). Both
// throughputs are the best over the concurrency levels of `--clients`
// (bench_util.h: kClientLevels).
// Targets: three-party steps/s >= a third of the single-party figure; p99
// under 50 ms at 500 steps/s. Results go to docs/performance.md.
#include <zmq.hpp>

#include <cstdio>
#include <memory>
#include <set>

#include "../integration/local_network.h"
#include "../integration/treatyd_process.h"
#include "bench_util.h"
#include "definitions/base/signing_key.h"

namespace {

using namespace treaty::bench;  // NOLINT: the benchmark's own helpers

double Rate(const std::function<void()>& op, double seconds = 1.0) {
  auto end = Clock::now() + std::chrono::duration<double>(seconds);
  long n = 0;
  auto start = Clock::now();
  while (Clock::now() < end) {
    for (int i = 0; i < 16; ++i) op();
    n += 16;
  }
  return n / std::chrono::duration<double>(Clock::now() - start).count();
}

// Median round trip of a small message over CURVE-encrypted ZeroMQ on loopback.
double ZmqRoundTripUs() {
  auto server_keys = treaty::crypto::GenerateCurveKeyPair().value();
  auto client_keys = treaty::crypto::GenerateCurveKeyPair().value();
  int port = treaty::testing::FreePort();
  std::string endpoint = "tcp://127.0.0.1:" + std::to_string(port);
  zmq::context_t ctx(1);
  zmq::socket_t server(ctx, zmq::socket_type::router);
  server.set(zmq::sockopt::curve_server, 1);
  server.set(zmq::sockopt::curve_secretkey, server_keys.secret_z85);
  server.bind(endpoint);
  zmq::socket_t client(ctx, zmq::socket_type::dealer);
  client.set(zmq::sockopt::curve_serverkey, server_keys.public_z85);
  client.set(zmq::sockopt::curve_publickey, client_keys.public_z85);
  client.set(zmq::sockopt::curve_secretkey, client_keys.secret_z85);
  client.connect(endpoint);
  std::thread echo([&] {
    for (int i = 0; i < 2100; ++i) {
      zmq::message_t id, body;
      (void)server.recv(id);
      (void)server.recv(body);
      server.send(id, zmq::send_flags::sndmore);
      server.send(body, zmq::send_flags::none);
    }
  });
  std::vector<double> us;
  std::string payload(512, 'x');
  for (int i = 0; i < 2100; ++i) {
    auto t = Clock::now();
    client.send(zmq::buffer(payload));
    zmq::message_t reply;
    (void)client.recv(reply);
    if (i >= 100) us.push_back(std::chrono::duration<double, std::micro>(Clock::now() - t).count());
  }
  echo.join();
  std::sort(us.begin(), us.end());
  return us[us.size() / 2];
}

// Waits until every member has applied everything ordered so far and
// holds nothing unsent or blocked: a phase measures its own load, not the
// backlog the previous one left at the slower members. Says how long it
// waited, or that the network never went quiet (the phase runs anyway).
std::string WaitQuiet(treaty::testing::LocalNetwork& net) {
  auto start = Clock::now();
  std::map<std::string, std::unique_ptr<treaty::testing::NodeClient>> clients;
  for (const auto& p : net.parties())
    clients[p] = std::make_unique<treaty::testing::NodeClient>(net.node(p).channel());
  int quiet_polls = 0;
  while (quiet_polls < 2 && Clock::now() - start < std::chrono::seconds(60)) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    std::set<uint64_t> heights;
    bool quiet = true;
    for (auto& [party, client] : clients) {
      auto st = client->Status();
      heights.insert(st.applied_height());
      quiet = quiet && st.lag() == 0 && st.outbox() == 0 && st.pending_proposals() == 0 && st.blocked_size() == 0;
    }
    quiet_polls = quiet && heights.size() == 1 ? quiet_polls + 1 : 0;
  }
  char out[64];
  std::snprintf(out, sizeof out, "%s %.1f s", quiet_polls >= 2 ? "quiet after" : "NOT quiet after",
                std::chrono::duration<double>(Clock::now() - start).count());
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  setvbuf(stdout, nullptr, _IOLBF, 0);  // progress shows as it happens
  std::vector<int> levels = ListFlag(argc, argv, "--clients", kClientLevels);
  if (levels.empty()) levels = {32};
  int clients = levels.front();  // for the fixed-rate phase
  int steps = Flag(argc, argv, "--steps", 6000);  // per concurrency level
  int rate = Flag(argc, argv, "--rate", 500);
  int seconds = Flag(argc, argv, "--seconds", 10);  // 5,000 samples: a p99 is not one hiccup
  int windows = Flag(argc, argv, "--windows", 3);  // fixed-rate windows at most (bench_util.h)
  bool full_sync = Flag(argc, argv, "--full-sync", 1) != 0;
  std::vector<std::string> sync = {"--sync", full_sync ? "full" : "normal"};
  std::vector<std::string> node_only = NodeTuningArgs(argc, argv);  // treatyd only, not the sequencer
  std::vector<std::string> single_args = sync;
  single_args.insert(single_args.end(), node_only.begin(), node_only.end());
  treaty::testing::TempDir dir;
  std::printf("machine: %u hardware threads\n", std::thread::hardware_concurrency());

  auto key = treaty::crypto::SigningKey::Generate().value();
  treaty::Digest d = treaty::Sha256Of("bench");
  auto sig = key.Sign(d);
  std::printf("limit  secp256k1 signatures/s: %.0f\n", Rate([&] { d[0]++; (void)key.Sign(d); }));
  std::printf("limit  secp256k1 verifications/s: %.0f\n",
              Rate([&] { (void)treaty::crypto::Verify(key.public_key(), d, sig); }));
  std::printf("limit  ZeroMQ CURVE round trip (512 B, loopback), median: %.0f us\n", ZmqRoundTripUs());
  std::printf("limit  sqlite commits/s (WAL, synchronous=%s, as the nodes): %.0f\n", full_sync ? "FULL" : "NORMAL",
              SqliteCommitRate(dir.path(), full_sync));

  // The single-party figure, same clients and load.
  double single = 0, single_cpu_ms = 0, three_cpu_ms = 0;
  {
    treaty::testing::TreatydProcess node(dir.path() + "/single", single_args);
    if (!node.Start()) {
      std::fprintf(stderr, "treatyd did not start:\n%s\n", node.Log().c_str());
      return 1;
    }
    single = BestSaturation(node.channel(), "single", "s", steps, levels, {{"node", node.pid()}, {"clients", 0}},
                            [&](const std::string& prefix, int c) { CreateInstances(node.channel(), prefix, steps, c); },
                            &single_cpu_ms);
    node.Stop();
  }

  treaty::testing::LocalNetwork net(dir.path() + "/net", {"buyer", "seller", "bank"}, sync, node_only);
  if (!net.Start()) {
    std::fprintf(stderr, "the network did not start (logs in %s/net)\n", dir.path().c_str());
    return 1;
  }
  const std::map<std::string, std::string> roles = {{"buyer", "buyer"}, {"seller", "seller"}, {"bank", "bank"}};
  auto ch = net.node("buyer").channel();
  // The CPU lines name each process; "3-party" steps count at the buyer.
  double three = BestSaturation(ch, "3-party", "m", steps, levels,
                                {{"buyer", net.node("buyer").pid()},
                                 {"seller", net.node("seller").pid()},
                                 {"bank", net.node("bank").pid()},
                                 {"sequencer", net.sequencer().pid()},
                                 {"clients", 0}},
                                [&](const std::string& prefix, int c) {
                                  auto created = Clock::now();
                                  CreateInstances(ch, prefix, steps, c, roles);
                                  std::printf("3-party started %d orders in %.1f s\n", steps,
                                              std::chrono::duration<double>(Clock::now() - created).count());
                                  std::printf("3-party %s\n", WaitQuiet(net).c_str());
                                },
                                &three_cpu_ms);
  std::printf("ratio  3-party : single-party = %.2f (target >= 0.33)\n", single > 0 ? three / single : 0.0);
  // The three members (and the sequencer and clients) share this machine's
  // cores, and each member applies every step: a 3-party step costs the
  // machine several single-party steps of CPU. When both phases are bound
  // by the cores, the ratio cannot exceed the ratio of their CPU per step.
  unsigned cores = std::max(1u, std::thread::hardware_concurrency());
  if (single_cpu_ms > 0 && three_cpu_ms > 0)
    std::printf("limit  ceiling: a 3-party step costs %.3f ms of the machine's CPU (every process), a single-party step "
                "%.3f ms: on %u cores at most %.0f 3-party steps/s, ratio at most %.2f while the single party is bound "
                "by the cores too\n",
                three_cpu_ms, single_cpu_ms, cores, cores * 1000.0 / three_cpu_ms, single_cpu_ms / three_cpu_ms);

  JudgedFixedRate("3-party", ch, rate, seconds, clients, 50, windows, dir.path(), [&](int w) {
    std::string prefix = "r" + std::to_string(w) + "-";
    CreateInstances(ch, prefix, rate * seconds, clients, roles);
    std::printf("3-party %s\n", WaitQuiet(net).c_str());
    return prefix;
  });
  return 0;
}
