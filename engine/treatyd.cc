// treatyd: one party's Treaty node.
//
//   treatyd --data DIR [--listen ADDR] [--definitions DIR] [--party NAME] [--sync full|normal]
//           [--batch-latency MS] [--deadline-grace MS] [--metrics HOST:PORT] [--log-format text|json]
//           [--config FILE]
//           (--tls-cert FILE --tls-key FILE [--tls-client-ca FILE] [--tokens FILE] | --plaintext)
//           [--access FILE]
//   treatyd init --data DIR --party NAME [--endpoint tcp://HOST:PORT]
//       creates the party's identity (secp256k1 signing key, CURVE key pair)
//       in DIR/identity.json and prints its entry for the network file
//
// Listens on 127.0.0.1:7420 by default: with TLS and authenticated
// clients, or plaintext on loopback only when --plaintext asks for it
// (docs/security.md). Runs the definitions compiled into
// it, the modules built by `treatyc build` (*.so) and YAML definitions
// (*.yaml, on the interpreted reference runtime) found in the definitions
// folder. One line per notable event on stderr, stamped with the UTC time
// (text, or one JSON object per line with --log-format json); with
// --metrics, Prometheus text at http://HOST:PORT/metrics
// (docs/operations.md). SIGTERM or SIGINT shuts it
// down cleanly. Refuses to start when another node holds the data folder or
// the folder was written by an incompatible version.
#include <fcntl.h>
#include <signal.h>
#include <sys/file.h>
#include <unistd.h>

#include <yaml-cpp/yaml.h>

#include <atomic>
#include <charconv>
#include <csignal>
#include <cstdio>
#include <filesystem>
#include <optional>
#include <iostream>

#include <grpcpp/ext/proto_server_reflection_plugin.h>
#include <grpcpp/grpcpp.h>
#include <grpcpp/health_check_service_interface.h>

#include "chain/ethereum/ethereum_ledger.h"
#include "chain/local/local_ledger.h"
#include "chain/network.h"
#include "chain/sequencer/sequencer_ledger.h"
#include "engine/exchange/data_exchange.h"
#include "definitions/base/identity_file.h"
#include "definitions/runtime/reference_machine.h"
#include "definitions/validator.h"
#include "definitions/base/signing_key.h"
#include "engine/limits.h"
#include "engine/access/server_security.h"
#include "engine/metrics/node_gauges.h"
#include "engine/metrics/prometheus_metrics.h"
#include "engine/services.h"

namespace {

constexpr const char* kVersion = "0.1.0";
// Request threads kept idle between calls (see where the server is built).
constexpr int kIdleRequestThreads = 256;

struct Options {
  std::string data;
  std::string listen = "127.0.0.1:7420";
  std::string definitions;
  std::string party = "node";
  std::string ledger = "local";
  std::string config;
  std::string sync = "full";
  std::string network;  // a multi-party network file
  std::optional<std::string> batch_latency;  // ms; unset: NodeOptions' default
  std::string batch_latency_from = "--batch-latency";  // for the error message
  std::optional<std::string> deadline_grace;  // ms; unset: NodeOptions' default
  std::string deadline_grace_from = "--deadline-grace";
  treaty::engine::Limits limits;  // docs/limits.md
  treaty::engine::access::SecurityOptions security;
  std::string metrics;  // HOST:PORT of the metrics endpoint; empty: none
  std::string log_format = "text";
  std::string log_format_from = "--log-format";
};

void Log(const std::string& line);

// The reason is a log line (with its time); the usage text is not.
int Usage(const std::string& why) {
  Log(why);
  std::cerr << "usage: treatyd --data DIR [--listen ADDR] [--definitions DIR] [--party NAME] "
               "[--ledger local|sequencer[://HOST:PORT]|ethereum://HOST:PORT] [--network FILE] [--sync full|normal] [--batch-latency MS] "
               "[--deadline-grace MS] [--metrics HOST:PORT] [--log-format text|json] [--config FILE]\n"
               "       (--tls-cert FILE --tls-key FILE [--tls-client-ca FILE] [--tokens FILE] | --plaintext) "
               "[--access FILE]\n       "
            << treaty::engine::LimitFlagsUsage() << "\n";
  return 2;
}

// Through the process's logger: its timestamp and format (docs/operations.md).
void Log(const std::string& line) { treaty::Env::Default()->Log("node", line); }

// The config file holds the same settings as the flags (flags win).
bool LoadConfig(const std::string& path, Options* o, std::string* err) {
  try {
    YAML::Node c = YAML::LoadFile(path);
    for (auto it = c.begin(); it != c.end(); ++it) {
      std::string k = it->first.Scalar(), v = it->second.Scalar();
      if (k == "data") o->data = v;
      else if (k == "listen") o->listen = v;
      else if (k == "definitions") o->definitions = v;
      else if (k == "party") o->party = v;
      else if (k == "ledger") o->ledger = v;
      else if (k == "sync") o->sync = v;
      else if (k == "network") o->network = v;
      else if (k == "metrics") o->metrics = v;
      else if (k == "log_format") {
        o->log_format = v;
        o->log_format_from = "log_format in " + path;
      } else if (k == "batch_latency") {
        o->batch_latency = v;
        o->batch_latency_from = "batch_latency in " + path;
      } else if (k == "tls_cert") o->security.tls_cert = v;
      else if (k == "tls_key") o->security.tls_key = v;
      else if (k == "tls_client_ca") o->security.tls_client_ca = v;
      else if (k == "tokens") o->security.tokens = v;
      else if (k == "access") o->security.access = v;
      else if (k == "plaintext") {
        if (v != "true" && v != "false") {
          *err = path + ": plaintext must be true or false, not '" + v + "'";
          return false;
        }
        o->security.plaintext = v == "true";
      } else if (k == "deadline_grace") {
        o->deadline_grace = v;
        o->deadline_grace_from = "deadline_grace in " + path;
      }
      else {
        bool limit = false;
        if (!treaty::engine::SetLimit(k, v, &o->limits, &limit, err)) {
          *err = path + ": " + *err;
          return false;
        }
        if (!limit) {
          *err = path + ": unknown setting '" + k + "'";
          return false;
        }
      }
    }
  } catch (const YAML::Exception& e) {
    *err = path + ": " + e.what();
    return false;
  }
  return true;
}

treaty::Status LoadDefinitions(const std::string& dir) {
  auto& reg = treaty::runtime::Registry::Global();
  for (const auto& d : reg.List()) Log("definition " + d->name() + " v" + std::to_string(d->version()) + " (compiled in)");
  if (dir.empty()) return treaty::Status::Ok();
  std::error_code ec;
  if (!std::filesystem::is_directory(dir, ec)) return treaty::Status::NotFound("definitions folder " + dir + " does not exist");
  TREATY_RETURN_IF_ERROR(reg.LoadDirectory(dir));
  std::vector<std::string> yamls;
  for (const auto& e : std::filesystem::directory_iterator(dir, ec))
    if (e.path().extension() == ".yaml" || e.path().extension() == ".yml") yamls.push_back(e.path().string());
  std::sort(yamls.begin(), yamls.end());
  for (const auto& f : yamls) {
    treaty::defs::Diagnostics diags(f);
    auto def = treaty::defs::CheckFile(f, &diags);
    if (!def) {
      for (const auto& d : diags.items()) Log(d.ToString());
      return treaty::Status::InvalidArgument("definition " + f + " is invalid");
    }
    // The same definition compiled in takes precedence (same hash: no-op).
    TREATY_RETURN_IF_ERROR(reg.Add(treaty::runtime::MakeReferenceRuntime(std::move(*def))));
  }
  for (const auto& d : reg.List())
    Log("definition " + d->name() + " v" + std::to_string(d->version()) + " sha256 " + treaty::ToHex(d->hash()).substr(0, 16) +
        " runtime " + d->kind());
  return treaty::Status::Ok();
}

// `treatyd init`: a party's keys. The secret file is created 0600 and never
// overwritten.
int Init(int argc, char** argv) {
  std::string data, party, endpoint = "tcp://127.0.0.1:7421";
  for (int i = 2; i + 1 < argc; i += 2) {
    std::string a = argv[i];
    if (a == "--data") data = argv[i + 1];
    else if (a == "--party") party = argv[i + 1];
    else if (a == "--endpoint") endpoint = argv[i + 1];
    else return Usage("init: unknown option " + a);
  }
  if (data.empty() || party.empty()) return Usage("init needs --data DIR and --party NAME");
  std::error_code ec;
  std::filesystem::create_directories(data, ec);
  std::string path = data + "/identity.json";
  auto id = treaty::crypto::NewIdentity(party, endpoint);
  treaty::Status st = id.ok() ? treaty::crypto::WriteIdentityFile(path, *id) : id.status();
  if (!st.ok()) {
    Log(st.message());
    return 1;
  }
  const auto* key = &id->key;
  const auto* curve = &id->curve;
  // The public half, ready to paste into the network file.
  std::cout << "- name: " << party << "\n  signing_key: " << treaty::crypto::Hex(key->public_key())
            << "\n  curve_key: \"" << curve->public_z85 << "\"\n  endpoint: " << endpoint << "\n";
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  treaty::Env::SetProgramName("treatyd");
  if (argc > 1 && std::string(argv[1]) == "init") return Init(argc, argv);
  Options o;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto value = [&](std::string* out) {
      if (i + 1 >= argc) return false;
      *out = argv[++i];
      return true;
    };
    bool ok = true;
    if (a == "--data") ok = value(&o.data);
    else if (a == "--listen") ok = value(&o.listen);
    else if (a == "--definitions") ok = value(&o.definitions);
    else if (a == "--party") ok = value(&o.party);
    else if (a == "--ledger") ok = value(&o.ledger);
    else if (a == "--sync") ok = value(&o.sync);
    else if (a == "--network") ok = value(&o.network);
    else if (a == "--tls-cert") ok = value(&o.security.tls_cert);
    else if (a == "--tls-key") ok = value(&o.security.tls_key);
    else if (a == "--tls-client-ca") ok = value(&o.security.tls_client_ca);
    else if (a == "--tokens") ok = value(&o.security.tokens);
    else if (a == "--access") ok = value(&o.security.access);
    else if (a == "--plaintext") o.security.plaintext = true;
    else if (a == "--metrics") ok = value(&o.metrics);
    else if (a == "--log-format") {
      ok = value(&o.log_format);
      o.log_format_from = a;
    } else if (a == "--batch-latency") {
      ok = value(&o.batch_latency.emplace());
      o.batch_latency_from = a;
    } else if (a == "--deadline-grace") {
      ok = value(&o.deadline_grace.emplace());
      o.deadline_grace_from = a;
    }
    else if (a == "--config") {
      ok = value(&o.config);
      std::string err;
      if (ok && !LoadConfig(o.config, &o, &err)) return Usage(err);
    } else if (a == "--version") {
      std::cout << "treatyd " << kVersion << "\n";
      return 0;
    } else {
      bool limit = false;
      std::string err;
      if (!treaty::engine::SetLimit(a, i + 1 < argc ? argv[i + 1] : "", &o.limits, &limit, &err)) return Usage(err);
      if (!limit) return Usage("unknown option " + a);
      ++i;
    }
    if (!ok) return Usage(a + " needs a value");
  }
  if (o.log_format != "text" && o.log_format != "json")
    return Usage(o.log_format_from + " must be text or json, not '" + o.log_format + "'");
  treaty::Env::SetLogFormat(o.log_format == "json" ? treaty::LogFormat::kJson : treaty::LogFormat::kText);
  if (o.data.empty()) return Usage("--data DIR is required");
  const bool on_sequencer = o.ledger == "sequencer" || o.ledger.rfind("sequencer://", 0) == 0;
  const bool on_ethereum = o.ledger.rfind("ethereum://", 0) == 0;
  const bool shared_ledger = on_sequencer || on_ethereum;
  if (o.ledger != "local" && !shared_ledger)
    return Usage("ledger '" + o.ledger + "' is not available; use local, sequencer[://HOST:PORT] or ethereum://HOST:PORT");
  if (on_ethereum) {
    // HOST:PORT of the EVM node's JSON-RPC over HTTP.
    std::string hp = o.ledger.substr(std::string("ethereum://").size());
    auto colon = hp.rfind(':');
    int port = colon == std::string::npos ? 0 : std::atoi(hp.c_str() + colon + 1);
    if (colon == std::string::npos || colon == 0 || port <= 0 || port > 65535 ||
        hp.find_first_not_of("0123456789", colon + 1) != std::string::npos)
      return Usage("--ledger ethereum://HOST:PORT names the EVM node's JSON-RPC endpoint, not '" + o.ledger + "'");
  }
  if (shared_ledger && o.network.empty()) return Usage("--ledger " + o.ledger + " needs --network FILE");
  if (!o.network.empty() && !shared_ledger)
    return Usage("--network needs a shared ledger: --ledger sequencer or ethereum://HOST:PORT (the local ledger orders for one node only)");
  if (o.sync != "full" && o.sync != "normal") return Usage("--sync must be full or normal");
  std::optional<std::chrono::milliseconds> batch_latency;
  if (o.batch_latency) {
    const std::string& v = *o.batch_latency;
    int ms = -1;
    auto [p, ec] = std::from_chars(v.data(), v.data() + v.size(), ms);
    if (v.empty() || ec != std::errc() || p != v.data() + v.size() || ms < 0 || ms > 1000)
      return Usage(o.batch_latency_from + " must be a whole number of milliseconds from 0 to 1000, not '" + v + "'");
    batch_latency = std::chrono::milliseconds(ms);
  }
  std::optional<std::chrono::milliseconds> deadline_grace;
  if (o.deadline_grace) {
    const std::string& v = *o.deadline_grace;
    int64_t ms = -1;
    auto [p, ec] = std::from_chars(v.data(), v.data() + v.size(), ms);
    if (v.empty() || ec != std::errc() || p != v.data() + v.size() || ms < 0 || ms > 86400000)
      return Usage(o.deadline_grace_from + " must be a whole number of milliseconds from 0 to 86400000, not '" + v +
                   "'");
    deadline_grace = std::chrono::milliseconds(ms);
  }
  bool full_sync = o.sync == "full";
  // Who may call the API, checked before anything is opened.
  auto security = treaty::engine::access::MakeServerSecurity(o.security, o.listen, treaty::Env::Default());
  if (!security.ok()) {
    Log("refusing to start: " + security.status().message());
    return 2;
  }

  std::error_code ec;
  std::filesystem::create_directories(o.data, ec);
  if (ec) {
    Log("cannot create data folder " + o.data + ": " + ec.message());
    return 1;
  }
  // One node per data folder: the lock is released by the kernel on exit.
  std::string lock_path = o.data + "/LOCK";
  int lock_fd = open(lock_path.c_str(), O_RDWR | O_CREAT, 0644);
  if (lock_fd < 0 || flock(lock_fd, LOCK_EX | LOCK_NB) != 0) {
    Log("data folder " + o.data + " is locked by another treatyd; refusing to start");
    return 1;
  }

  // Block the signals before any thread starts; a dedicated thread waits.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  treaty::Status st = LoadDefinitions(o.definitions);
  if (!st.ok()) {
    Log(st.ToString());
    return 1;
  }
  // A network member: its identity, the network file, the data exchange.
  std::optional<treaty::chain::Network> network;
  std::optional<treaty::crypto::Identity> identity;
  if (!o.network.empty()) {
    treaty::defs::Diagnostics diags(o.network);
    network = treaty::chain::LoadNetworkFile(o.network, &diags);
    if (!network) {
      for (const auto& d : diags.items()) Log(d.ToString());
      return 1;
    }
    auto id = treaty::crypto::LoadIdentityFile(o.data + "/identity.json");
    if (!id.ok()) {
      Log("refusing to start: " + id.status().message());
      return 1;
    }
    identity = std::move(id).value();
    if (o.party == "node") o.party = identity->party;
    if (identity->party != o.party) {
      Log("refusing to start: identity.json belongs to '" + identity->party + "', not '" + o.party + "'");
      return 1;
    }
    const treaty::chain::Member* me = network->Find(o.party);
    if (me == nullptr || me->signing_key != identity->key.public_key()) {
      Log("refusing to start: " + o.network + " does not list party '" + o.party + "' with this node's signing key");
      return 1;
    }
  }
  treaty::Env::SetLogParty(o.party);
  // The metrics endpoint serves from here on; the node's gauges once it
  // has started (node_for_metrics), the counters as they are counted.
  std::atomic<treaty::engine::Node*> node_for_metrics{nullptr};
  std::unique_ptr<treaty::engine::PrometheusMetrics> metrics;
  if (!o.metrics.empty()) {
    auto m = treaty::engine::PrometheusMetrics::Serve(o.metrics, [&node_for_metrics] {
      treaty::engine::Node* n = node_for_metrics.load();
      return n ? treaty::engine::ReadNodeGauges(n) : std::vector<treaty::engine::ScrapedValue>{};
    });
    if (!m.ok()) {
      Log("refusing to start: " + m.status().message());
      return 1;
    }
    metrics = std::move(m).value();
    // The port it got (":0" asks the kernel for a free one).
    Log("metrics on http://" + o.metrics.substr(0, o.metrics.rfind(':')) + ":" + std::to_string(metrics->port()) +
        "/metrics");
  }
  if (metrics) (*security)->SetMetrics(metrics.get());
  treaty::engine::NodeStore store;
  st = store.Open(o.data + "/node.db", o.party, full_sync);
  if (!st.ok()) {
    Log("refusing to start: " + st.message());
    return 1;
  }
  // The embedded ledger keeps its blocks in the node's own store.
  treaty::engine::StoreBlockLog block_log(&store);
  std::unique_ptr<treaty::chain::Ledger> ledger;
  if (on_ethereum) {
    treaty::chain::EthereumLedger::Options eo;
    eo.rpc_url = "http://" + o.ledger.substr(std::string("ethereum://").size());
    eo.journal_path = o.data + "/ethereum.db";
    auto l = treaty::chain::EthereumLedger::Open(eo, *network, &identity->key);
    if (!l.ok()) {
      Log("cannot use the ethereum ledger: " + l.status().ToString());
      return 1;
    }
    ledger = std::move(l).value();
  } else if (on_sequencer) {
    std::string endpoint = o.ledger == "sequencer" ? (network->sequencer ? network->sequencer->endpoint : "")
                                                   : "tcp://" + o.ledger.substr(std::string("sequencer://").size());
    auto l = treaty::chain::SequencerLedger::Connect(endpoint, *network, &identity->key);
    if (!l.ok()) {
      Log("cannot use the sequencer: " + l.status().ToString());
      return 1;
    }
    ledger = std::move(l).value();
  } else {
    auto l = treaty::chain::LocalLedger::Open(&block_log, treaty::Env::Default()->clock, "local:" + o.data + "/node.db");
    if (!l.ok()) {
      Log("cannot open the ledger: " + l.status().ToString());
      return 1;
    }
    ledger = std::move(l).value();
  }
  treaty::engine::NodeOptions nopts;
  nopts.party = o.party;
  nopts.limits = o.limits;
  if (batch_latency) nopts.batch_latency = *batch_latency;
  if (deadline_grace) nopts.deadline_grace = *deadline_grace;
  if (metrics) nopts.metrics = metrics.get();
  if (network && !network->claim_salt.empty()) {
    nopts.claim_salt = network->claim_salt;
  } else {
    // Without a shared secret the salt is derived (docs/protocol.md).
    treaty::Sha256 h;
    h.UpdateField("treaty.claim-salt.v1").UpdateField(network ? network->name : o.party);
    nopts.claim_salt = treaty::ToHex(h.Finish());
  }
  if (network) {
    nopts.network = &*network;
    nopts.identity = &*identity;
  }
  treaty::engine::Node node(nopts, &store, ledger.get(), &treaty::runtime::Registry::Global());
  std::unique_ptr<treaty::engine::DataExchange> exchange;
  if (network) {
    exchange = std::make_unique<treaty::engine::DataExchange>(
        &*identity, &*network, &store,
        [&node](std::vector<treaty::engine::DataExchange::Message>& messages, uint64_t* generation) {
          std::vector<treaty::engine::Node::Inbound> in;
          in.reserve(messages.size());
          for (auto& m : messages) in.push_back({m.from, m.kind, std::move(m.body)});
          return node.Receive(in, generation);
        },
        treaty::engine::DataExchange::Durability{[&node] { return node.DurableGeneration(); },
                                                 [&node] { node.MakeDurable(); }});
    exchange->set_max_message_bytes(static_cast<size_t>(o.limits.member_max_message_bytes));
    treaty::engine::DataExchange* ex = exchange.get();
    node.SetOutboxListener([ex](std::vector<treaty::engine::OutboxMessage> m) { ex->Send(std::move(m)); });
    node.SetRefusedCounter([ex] { return ex->refused_connections(); });
    if (metrics) ex->SetMetrics(metrics.get());
    st = exchange->Start();
    if (!st.ok()) {
      Log("refusing to start: " + st.message());
      return 1;
    }
  }

  grpc::EnableDefaultHealthCheckService(true);
  grpc::reflection::InitProtoReflectionServerBuilderPlugin();
  grpc::ServerBuilder builder;
  int port = 0;
  builder.AddListeningPort(o.listen, (*security)->credentials, &port);
  // gRPC answers a larger request RESOURCE_EXHAUSTED before any handler runs.
  builder.SetMaxReceiveMessageSize(static_cast<int>(o.limits.max_request_bytes));
  // A waiting TriggerStep holds its thread until the step is applied. With
  // gRPC's default of 2 idle pollers, every thread beyond that exits when
  // its call returns and a new one is created for the next call: under load
  // a thread was created and destroyed per step. Idle threads are kept up to
  // this many; they sleep in the completion queue and stay once created
  // (gRPC ends only pollers over this cap), a few hundred KiB each at most
  // (docs/performance.md).
  builder.SetSyncServerOption(grpc::ServerBuilder::SyncServerOption::MAX_POLLERS, kIdleRequestThreads);
  auto services = treaty::engine::MakeServices(&node, kVersion, (*security)->authorizer_or_open());
  for (auto& s : services) builder.RegisterService(s.get());
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  if (!server || port == 0) {
    Log("cannot listen on " + o.listen);
    return 1;
  }
  st = node.Start();
  if (!st.ok()) {
    Log("refusing to start: " + st.message());
    return 1;
  }
  node_for_metrics.store(&node);
  Log("party " + o.party + " listening on " + o.listen + " (port " + std::to_string(port) + "), data " + o.data +
      ", ledger " + ledger->Describe() + (network ? ", network " + network->name : std::string()) + ", applied height " + std::to_string(node.AppliedHeight()));
  Log("api: " + (*security)->description);

  int sig = 0;
  sigwait(&signals, &sig);
  Log(std::string("received ") + (sig == SIGTERM ? "SIGTERM" : "SIGINT") + ", shutting down");
  server->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(2));
  // No new scrape reads the node from here on; the endpoint stops (and
  // waits for a scrape in progress) once nothing counts any more.
  node_for_metrics.store(nullptr);
  node.Stop();
  if (exchange) exchange->Stop();
  metrics.reset();
  Log("stopped at applied height " + std::to_string(node.AppliedHeight()));
  return 0;
}
