// treaty-webhook: a job worker daemon that does the jobs of configured
// types by calling HTTP endpoints (docs/webhook.md). A client of the
// node's public gRPC API only.
//
//   treaty-webhook --config FILE [--check] [--tls-ca FILE] [--tls-cert FILE --tls-key FILE]
//                  [--tls-server-name NAME] [--token-file FILE]
//
// The TLS and token flags (docs/security.md) override the config's keys of
// the same names; without a token file, $TREATY_TOKEN is the token.
//
// At start the config is checked (exit 1 with FILE:LINE:COL messages when
// it is wrong), then against the node's definitions once the node answers
// (waiting for it while it does not); then each job type's slots serve
// until SIGTERM or SIGINT, which stops taking jobs, finishes the requests
// in flight and exits 0. --check checks the file only and exits.
#include <curl/curl.h>
#include <grpcpp/grpcpp.h>
#include <signal.h>

#include <chrono>
#include <cstdio>
#include <optional>
#include <string>
#include <thread>
#include <tuple>
#include <vector>

#include "definition_check.h"
#include "duration.h"
#include "job_slot.h"
#include "adapters/common/client_flags.h"
#include "adapters/common/log.h"
#include "shutdown.h"
#include "treaty/v1/treaty.grpc.pb.h"
#include "webhook_config.h"

namespace {

namespace pb = ::treaty::v1;
using namespace treaty::webhook;
using treaty::adapters::Log;

constexpr auto kNodeRetry = std::chrono::seconds(2);
constexpr auto kNodeLogEvery = std::chrono::seconds(30);

int Usage(const std::string& why) {
  if (!why.empty()) std::fprintf(stderr, "treaty-webhook: %s\n", why.c_str());
  std::fprintf(stderr, "usage: treaty-webhook --config FILE [--check] %s\n",
               treaty::adapters::kClientSecurityUsage);
  return 2;
}

// A certificate, key or token file that cannot be read: exit code 1, like a config problem.
int FileError(const std::string& why) {
  std::fprintf(stderr, "treaty-webhook: %s\n", why.c_str());
  return 1;
}

bool Transient(const grpc::Status& st) {
  return st.error_code() == grpc::StatusCode::UNAVAILABLE || st.error_code() == grpc::StatusCode::DEADLINE_EXCEEDED;
}

// Every loaded definition with its canonical JSON.
grpc::Status FetchDefinitions(pb::Definitions::Stub* stub, std::vector<LoadedDefinition>* out) {
  auto deadline = [] { return std::chrono::system_clock::now() + std::chrono::seconds(10); };
  pb::ListDefinitionsResponse list;
  {
    grpc::ClientContext ctx;
    ctx.set_deadline(deadline());
    grpc::Status st = stub->ListDefinitions(&ctx, pb::ListDefinitionsRequest(), &list);
    if (!st.ok()) return st;
  }
  for (const auto& d : list.definitions()) {
    pb::GetDefinitionRequest req;
    req.set_name(d.name());
    req.set_version(d.version());
    pb::Definition full;
    grpc::ClientContext ctx;
    ctx.set_deadline(deadline());
    grpc::Status st = stub->GetDefinition(&ctx, req, &full);
    if (!st.ok()) return st;
    out->push_back({full.name(), full.version(), full.canonical_json()});
  }
  return grpc::Status::OK;
}

}  // namespace

int main(int argc, char** argv) {
  std::string config_path;
  bool check_only = false;
  treaty::adapters::ClientSecurityFlags flags;  // given on the command line
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--config" && i + 1 < argc) config_path = argv[++i];
    else if (treaty::adapters::ClientSecurityFlags::Is(a) && i + 1 < argc) flags.Take(a, argv[++i]);
    else if (a == "--check") check_only = true;
    else if (a == "--help" || a == "-h") return Usage("");
    else if (a == "--config" || treaty::adapters::ClientSecurityFlags::Is(a)) return Usage(a + " needs a value");
    else return Usage("unknown option " + a);
  }
  if (config_path.empty()) return Usage("--config FILE is required");

  // Signals go to one thread that sigwait()s, never into a request.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGTERM);
  sigaddset(&stop_signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);
  Shutdown shutdown;
  std::thread([&shutdown, stop_signals] {
    int sig = 0;
    sigwait(&stop_signals, &sig);
    Log(std::string("treaty-webhook: ") + (sig == SIGINT ? "SIGINT" : "SIGTERM") +
        ": taking no more jobs, finishing those in flight");
    shutdown.Request();
  }).detach();

  std::vector<std::string> errors;
  auto config = LoadWebhookConfig(config_path, &errors);
  if (!config) {
    for (const auto& e : errors) Log(e);
    return 1;
  }
  if (check_only) {
    std::printf("%s: ok, %zu job type(s)\n", config_path.c_str(), config->endpoints.size());
    return 0;
  }
  if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
    Log("treaty-webhook: libcurl could not be initialised");
    return 1;
  }

  // The command line's flags over the config's keys; then $TREATY_TOKEN
  // and $TREATY_TLS_CA for what neither gave.
  treaty::adapters::ClientSecurityFlags security;
  const NodeSecurity& file = config->security;
  for (auto [flag, from_file, from_flags] :
       {std::tuple{"--tls-ca", &file.tls_ca, &flags.security.tls_ca},
        std::tuple{"--tls-cert", &file.tls_cert, &flags.security.tls_cert},
        std::tuple{"--tls-key", &file.tls_key, &flags.security.tls_key},
        std::tuple{"--tls-server-name", &file.tls_server_name, &flags.security.tls_server_name},
        std::tuple{"--token-file", &file.token_file, &flags.token_file}})
    security.Take(flag, from_flags->empty() ? *from_file : *from_flags);
  std::string err;
  if (!security.Finish(&err)) return FileError(err);
  // Every file is read once here, so a wrong path stops the daemon at start.
  auto channel_config = treaty::adapters::ReadClientChannelConfig(security.security, &err);
  if (!channel_config) return FileError(err);

  Log("treaty-webhook: config " + config_path + ", node " + config->node + (security.security.tls() ? " (TLS" : " (plaintext") +
      (security.security.token.empty() ? "" : ", bearer token") + "), worker " + config->worker);
  // A new channel for each try while the node does not answer (and for a
  // slot whose node went away): an existing channel's reconnection lags
  // seconds behind the node's return (gRPC's reconnect backoff).
  JobSlot::Connect connect = [node = config->node, c = *channel_config] {
    return treaty::adapters::MakeClientChannel(node, c);
  };

  // The job types are checked against the node's definitions before any
  // job is taken; while the node does not answer, the daemon waits for it.
  std::vector<LoadedDefinition> defs;
  std::optional<std::chrono::steady_clock::time_point> last_log;
  for (;;) {
    defs.clear();
    grpc::Status st = FetchDefinitions(pb::Definitions::NewStub(connect()).get(), &defs);
    if (st.ok()) break;
    if (!Transient(st)) {
      Log("treaty-webhook: reading the definitions of node " + config->node + " failed: " + st.error_message());
      return 1;
    }
    auto now = std::chrono::steady_clock::now();
    if (!last_log || now - *last_log >= kNodeLogEvery) {
      Log("treaty-webhook: node " + config->node + " does not answer (" + st.error_message() +
          "); checking the job types against its definitions once it does, trying every 2s");
      last_log = now;
    }
    if (shutdown.WaitFor(std::chrono::duration_cast<std::chrono::milliseconds>(kNodeRetry))) {
      Log("treaty-webhook: stopped before the node answered");
      return 0;
    }
  }
  DefinitionCheck check = CheckAgainstDefinitions(*config, defs);
  for (const auto& w : check.warnings) Log("warning: " + w);
  if (!check.errors.empty()) {
    for (const auto& e : check.errors) Log(e);
    return 1;
  }

  std::vector<std::unique_ptr<JobSlot>> slots;
  for (const auto& ep : config->endpoints) {
    Log("treaty-webhook: job type " + ep.type + ": " + std::to_string(ep.concurrency) + " slot(s), " + ep.method + " " +
        ep.url + ", timeout " + FormatDuration(ep.timeout_ms));
    for (int i = 1; i <= ep.concurrency; ++i)
      slots.push_back(std::make_unique<JobSlot>(ep, config->worker, connect, &shutdown, i));
  }
  std::vector<std::thread> threads;
  for (auto& slot : slots) threads.emplace_back([s = slot.get()] { s->Run(); });
  for (auto& t : threads) t.join();
  curl_global_cleanup();
  Log("treaty-webhook: stopped");
  return 0;
}
