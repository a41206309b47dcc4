// treaty-sequencer: the ordering service of a private Treaty network.
//
//   treaty-sequencer init --data DIR [--endpoint tcp://HOST:PORT]
//       creates the sequencer's signing key in DIR/identity.json and prints
//       the `sequencer:` entry for the network file
//   treaty-sequencer --data DIR --network FILE [--listen ADDR]
//           [--block-latency MS] [--block-pins N] [--sync full|normal] [--max-message-bytes N]
//           [--log-format text|json] [--metrics HOST:PORT]
//       serves members' batches and the block stream (docs/protocol.md)
#include <fcntl.h>
#include <signal.h>
#include <sys/file.h>
#include <unistd.h>

#include <filesystem>
#include <iostream>
#include <thread>

#include "chain/network.h"
#include "chain/sequencer/sequencer_metrics.h"
#include "chain/sequencer/sequencer_service.h"
#include "definitions/base/env.h"
#include "definitions/base/identity_file.h"

namespace {

std::atomic<bool> g_stop{false};

// Through the process's logger: its timestamp and format (docs/operations.md).
void Log(const std::string& line) { treaty::Env::Default()->Log("node", line); }

int Usage(const std::string& why) {
  Log(why);
  std::cerr << "usage: treaty-sequencer init --data DIR [--endpoint tcp://HOST:PORT]\n"
               "       treaty-sequencer --data DIR --network FILE [--listen ADDR] [--block-latency MS] "
               "[--block-pins N] [--sync full|normal] [--max-message-bytes N] [--log-format text|json] "
               "[--metrics HOST:PORT]\n";
  return 2;
}

int Init(int argc, char** argv) {
  std::string data, endpoint = "tcp://127.0.0.1:7400";
  for (int i = 2; i < argc; i += 2) {
    std::string a = argv[i];
    if (i + 1 >= argc) return Usage(a + " needs a value");
    if (a == "--data") data = argv[i + 1];
    else if (a == "--endpoint") endpoint = argv[i + 1];
    else return Usage("init: unknown option " + a);
  }
  if (data.empty()) return Usage("init needs --data DIR");
  std::error_code ec;
  std::filesystem::create_directories(data, ec);
  auto id = treaty::crypto::NewIdentity("sequencer", endpoint);
  treaty::Status st = id.ok() ? treaty::crypto::WriteIdentityFile(data + "/identity.json", *id) : id.status();
  if (!st.ok()) {
    Log(st.message());
    return 1;
  }
  std::cout << "sequencer:\n  signing_key: " << treaty::crypto::Hex(id->key.public_key())
            << "\n  endpoint: " << endpoint << "\n";
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  treaty::Env::SetProgramName("treaty-sequencer");
  if (argc > 1 && std::string(argv[1]) == "init") return Init(argc, argv);
  std::string data, network_path, listen, sync = "full", log_format = "text", metrics_at;
  const treaty::chain::SequencerOptions defaults;  // the flags default to the service's own
  int latency_ms = static_cast<int>(defaults.block_latency.count());
  int pins = static_cast<int>(defaults.block_max_pins);
  long long max_message_bytes = static_cast<long long>(defaults.max_message_bytes);
  for (int i = 1; i < argc; i += 2) {
    std::string a = argv[i];
    if (i + 1 >= argc) return Usage(a + " needs a value");
    std::string v = argv[i + 1];
    if (a == "--data") data = v;
    else if (a == "--network") network_path = v;
    else if (a == "--listen") listen = v;
    else if (a == "--sync") sync = v;
    else if (a == "--block-latency") latency_ms = std::atoi(v.c_str());
    else if (a == "--block-pins") pins = std::atoi(v.c_str());
    else if (a == "--max-message-bytes") max_message_bytes = std::atoll(v.c_str());
    else if (a == "--log-format") log_format = v;
    else if (a == "--metrics") metrics_at = v;
    else return Usage("unknown option " + a);
  }
  if (log_format != "text" && log_format != "json") return Usage("--log-format must be text or json, not '" + log_format + "'");
  treaty::Env::SetLogFormat(log_format == "json" ? treaty::LogFormat::kJson : treaty::LogFormat::kText);
  if (data.empty() || network_path.empty()) return Usage("--data DIR and --network FILE are required");
  if (sync != "full" && sync != "normal") return Usage("--sync must be full or normal");
  if (latency_ms < 0 || latency_ms > 10000) return Usage("--block-latency must be 0-10000 ms");
  if (pins < 1 || pins > 65536) return Usage("--block-pins must be 1-65536");
  if (max_message_bytes < (64 << 10) || max_message_bytes > (1 << 30))
    return Usage("--max-message-bytes must be 65536-1073741824 (docs/limits.md)");

  treaty::defs::Diagnostics diags(network_path);
  auto network = treaty::chain::LoadNetworkFile(network_path, &diags);
  if (!network) {
    for (const auto& d : diags.items()) Log(d.ToString());
    return 1;
  }
  auto id = treaty::crypto::LoadIdentityFile(data + "/identity.json");
  if (!id.ok()) {
    Log(id.status().message());
    return 1;
  }
  if (network->sequencer && network->sequencer->signing_key != id->key.public_key()) {
    Log("this sequencer's key " + treaty::crypto::Hex(id->key.public_key()) + " is not the one " + network_path +
        " names; refusing to sign blocks members would refuse");
    return 1;
  }
  if (listen.empty()) listen = network->sequencer ? network->sequencer->endpoint : id->endpoint;

  int lock_fd = open((data + "/LOCK").c_str(), O_RDWR | O_CREAT, 0644);
  if (lock_fd < 0 || flock(lock_fd, LOCK_EX | LOCK_NB) != 0) {
    Log("data folder " + data + " is locked by another treaty-sequencer; refusing to start");
    return 1;
  }
  struct sigaction sa {};
  sa.sa_handler = [](int) { g_stop = true; };
  sigaction(SIGTERM, &sa, nullptr);
  sigaction(SIGINT, &sa, nullptr);

  treaty::chain::SequencerOptions opts;
  opts.db_path = data + "/blocks.db";
  opts.listen = listen;
  opts.block_latency = std::chrono::milliseconds(latency_ms);
  opts.block_max_pins = static_cast<size_t>(pins);
  opts.max_message_bytes = static_cast<size_t>(max_message_bytes);
  opts.full_sync = sync == "full";
  auto svc = treaty::chain::SequencerService::Open(opts, *network, std::move(id->key));
  if (!svc.ok()) {
    Log("refusing to start: " + svc.status().message());
    return 1;
  }
  // Declared after the service: destroyed (and no longer scraping) first.
  std::unique_ptr<treaty::chain::SequencerMetrics> metrics;
  if (!metrics_at.empty()) {
    auto m = treaty::chain::SequencerMetrics::Serve(metrics_at, &(*svc)->stats());
    if (!m.ok()) {
      Log("refusing to start: " + m.status().message());
      return 1;
    }
    metrics = std::move(m).value();
    Log("metrics on http://" + metrics_at.substr(0, metrics_at.rfind(':')) + ":" + std::to_string(metrics->port()) +
        "/metrics");
  }
  treaty::Status st = (*svc)->Run(&g_stop);
  if (!st.ok()) {
    Log(st.message());
    return 1;
  }
  return 0;
}
