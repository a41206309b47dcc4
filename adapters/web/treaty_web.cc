// treaty-web: the JSON HTTP API of a node's gRPC services and the browser
// console, in one daemon (docs/web.md). A client of the node's public gRPC
// API only.
//
//   treaty-web --node HOST:PORT --listen HOST:PORT [--console DIR]
//              [--threads N] [--heartbeat-ms MS]
//              [--tls-ca FILE] [--tls-cert FILE --tls-key FILE] [--tls-server-name NAME] [--token-file FILE]
//
// The TLS and token flags are how treaty-web presents itself to the node
// (docs/security.md): one client identity for every HTTP caller
// (docs/web.md, "Who treaty-web is to the node"); $TREATY_TOKEN is the
// token when no --token-file is given.
//   treaty-web --routes        prints the route table and exits
//
// SIGTERM or SIGINT stops taking connections, ends the event streams and
// exits 0.
#include <httplib.h>
#include <grpcpp/grpcpp.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <climits>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <thread>

#include "diagram.h"
#include "adapters/common/client_flags.h"
#include "adapters/common/log.h"
#include "routes.h"

namespace {

using namespace treaty::web;
using treaty::adapters::Log;

// Request bodies above this are refused with 413 (no API message comes
// near it; it bounds the memory one request can take).
constexpr size_t kMaxBody = 1 << 20;

int Usage(const std::string& why) {
  if (!why.empty()) std::fprintf(stderr, "treaty-web: %s\n", why.c_str());
  std::fprintf(stderr,
               "usage: treaty-web --node HOST:PORT --listen HOST:PORT [--console DIR] [--threads N] "
               "[--heartbeat-ms MS]\n"
               "                  %s\n"
               "       treaty-web --routes\n",
               treaty::adapters::kClientSecurityUsage);
  return 2;
}

// "HOST:PORT" (HOST may be "[v6]") split at the last colon; false if the
// port is not 0..65535.
bool SplitAddress(const std::string& a, std::string* host, int* port) {
  size_t colon = a.rfind(':');
  if (colon == std::string::npos || colon == 0) return false;
  *host = a.substr(0, colon);
  if (host->size() > 2 && host->front() == '[' && host->back() == ']') *host = host->substr(1, host->size() - 2);
  std::string p = a.substr(colon + 1);
  if (p.empty() || p.size() > 5 || p.find_first_not_of("0123456789") != std::string::npos) return false;
  *port = std::atoi(p.c_str());
  return *port <= 65535;
}

bool PositiveInt(const std::string& s, int* out) {
  if (s.empty() || s.size() > 7 || s.find_first_not_of("0123456789") != std::string::npos) return false;
  *out = std::atoi(s.c_str());
  return *out > 0;
}

// The build puts the console next to the binary: <bin>/../share/treaty/console.
std::string DefaultConsole() {
  std::error_code ec;
  auto exe = std::filesystem::read_symlink("/proc/self/exe", ec);
  if (ec) return "share/treaty/console";
  return (exe.parent_path().parent_path() / "share" / "treaty" / "console").string();
}

// Errors httplib answers itself (no route, body too large, a request it
// cannot parse) get the API's JSON error body; answers a handler wrote
// already keep theirs.
httplib::Server::HandlerResponse ErrorBodyFor(const httplib::Request& req, httplib::Response& res) {
  if (!res.body.empty()) return httplib::Server::HandlerResponse::Unhandled;
  switch (res.status) {
    case 404:
      SendError(res, 404, "NOT_FOUND", "no route " + req.method + " " + req.path);
      break;
    case 413:
      SendError(res, 413, "PAYLOAD_TOO_LARGE", "the request body is over " + std::to_string(kMaxBody) + " bytes");
      break;
    case 414:
      SendError(res, 414, "URI_TOO_LONG", "the request's path and query are too long");
      break;
    case 400:
      SendError(res, 400, "BAD_REQUEST", "the request could not be read");
      break;
    default:
      SendError(res, res.status, "HTTP_" + std::to_string(res.status), "the request could not be served");
  }
  return httplib::Server::HandlerResponse::Handled;
}

// cpp-httplib listens with a backlog of 5 (CPPHTTPLIB_LISTEN_BACKLOG,
// compiled into Debian's library): when more clients than that connect at
// once, the kernel drops their SYNs and each waits a 1 s retransmission
// (web_bench saw 1 s calls and closed connections). Listening again on the
// bound socket widens the queue; Linux takes a second listen() as a change
// of backlog.
class Server : public httplib::Server {
 public:
  bool WidenBacklog() { return ::listen(svr_sock_, SOMAXCONN) == 0; }
};

}  // namespace

int main(int argc, char** argv) {
  std::string node, listen, console = DefaultConsole();
  // A connection holds a worker while it is open (cpp-httplib's model):
  // enough for many keep-alive clients and console tabs at once.
  int threads = 256, heartbeat_ms = 15000;
  treaty::adapters::ClientSecurityFlags security;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto value = [&](std::string* out) {
      if (i + 1 >= argc) return false;
      *out = argv[++i];
      return true;
    };
    std::string v;
    if (a == "--routes") {
      for (const auto& r : Routes(nullptr)) std::printf("%-6s %-48s %s\n", r.method.c_str(), r.path.c_str(), r.rpc.c_str());
      return 0;
    } else if (a == "--node") {
      if (!value(&node)) return Usage("--node needs HOST:PORT");
    } else if (a == "--listen") {
      if (!value(&listen)) return Usage("--listen needs HOST:PORT");
    } else if (a == "--console") {
      if (!value(&console)) return Usage("--console needs a DIR");
    } else if (a == "--threads") {
      if (!value(&v) || !PositiveInt(v, &threads)) return Usage("--threads needs a positive number");
    } else if (a == "--heartbeat-ms") {
      if (!value(&v) || !PositiveInt(v, &heartbeat_ms)) return Usage("--heartbeat-ms needs a positive number");
    } else if (treaty::adapters::ClientSecurityFlags::Is(a)) {
      if (!value(&v)) return Usage(a + " needs a value");
      security.Take(a, v);
    } else if (a == "--help" || a == "-h") {
      return Usage("");
    } else {
      return Usage("unknown option " + a);
    }
  }
  if (node.empty()) return Usage("--node HOST:PORT is required");
  if (listen.empty()) return Usage("--listen HOST:PORT is required");
  std::string host;
  int port = 0;
  if (!SplitAddress(listen, &host, &port)) return Usage("--listen: '" + listen + "' is not HOST:PORT");
  std::string err;
  if (!security.Finish(&err)) return Usage(err);
  // A client that goes away mid-answer must not kill the daemon.
  signal(SIGPIPE, SIG_IGN);
  // Signals go to one thread that sigwait()s, never into a request.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGTERM);
  sigaddset(&stop_signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);

  // One channel for every call: gRPC reconnects it when the node returns.
  // Made after the mask: gRPC's threads inherit it, so SIGTERM reaches
  // only the thread that waits for it.
  auto channel = treaty::adapters::MakeClientChannel(node, security.security, &err);
  if (!channel) return Usage(err);

  std::atomic<bool> stopping{false};
  DiagramRenderer diagrams;
  UnaryCaller calls;
  Backend backend;
  backend.channel = channel;
  backend.calls = &calls;
  backend.diagrams = &diagrams;
  backend.heartbeat = std::chrono::milliseconds(heartbeat_ms);
  backend.stopping = &stopping;

  Server server;
  server.new_task_queue = [threads] { return new httplib::ThreadPool(static_cast<size_t>(threads)); };
  server.set_payload_max_length(kMaxBody);
  // Answers go out at once (no Nagle wait on the small JSON bodies), and a
  // client's keep-alive connection serves many requests, not httplib's
  // default 5: a reconnect per five calls costs more than the call.
  server.set_tcp_nodelay(true);
  server.set_keep_alive_max_count(100000);
  server.set_keep_alive_timeout(10);
  server.set_error_handler(httplib::Server::HandlerWithResponse(ErrorBodyFor));
  server.set_exception_handler([](const httplib::Request& req, httplib::Response& res, std::exception_ptr ep) {
    std::string what = "unknown exception";
    try {
      if (ep) std::rethrow_exception(ep);
    } catch (const std::exception& e) {
      what = e.what();
    } catch (...) {
    }
    Log("treaty-web: " + req.method + " " + req.path + " failed: " + what);
    SendError(res, 500, "INTERNAL", "the request failed inside treaty-web (see its log)");
  });
  std::vector<Route> routes = Routes(&backend);
  RegisterRoutes(server, routes);
  bool have_console = std::filesystem::is_directory(console) && server.set_mount_point("/", console);
  if (!have_console) Log("treaty-web: no console at " + console + " (the API is served; --console DIR)");

  if (!server.bind_to_port(host, port)) {
    Log("treaty-web: cannot listen on " + listen);
    return 1;
  }
  if (!server.WidenBacklog()) Log("treaty-web: could not widen the listen backlog; bursts of new connections may wait");
  std::thread([&server, &stopping, stop_signals] {
    int sig = 0;
    sigwait(&stop_signals, &sig);
    Log(std::string("treaty-web: ") + (sig == SIGINT ? "SIGINT" : "SIGTERM") + ": stopping");
    stopping = true;
    server.stop();
  }).detach();
  Log("treaty-web: serving http://" + listen + "/ (API /api/v1, " + std::to_string(routes.size()) + " routes), node " +
      node + (security.security.tls() ? " over TLS" : " in plaintext") +
      (security.security.token.empty() ? "" : " with a bearer token") + (have_console ? ", console " + console : ""));
  server.listen_after_bind();
  Log("treaty-web: stopped");
  return 0;
}
