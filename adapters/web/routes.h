// The route table of treaty-web's JSON API (docs/web.md, adapters/web/
// openapi.yaml): each route's method, path (OpenAPI form, path parameters
// named after the request field they fill) and the gRPC call it makes,
// with the handler that maps the HTTP request onto that call.
//
// Thread-safety: the table is built once before the server starts and only
// read afterwards; handlers run on the server's pool threads at once and
// share only the Backend (gRPC stubs and channel are thread-safe; the
// diagram renderer serialises itself).
#pragma once

#include <httplib.h>
#include <grpcpp/grpcpp.h>

#include <atomic>
#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "diagram.h"
#include "grpc_json.h"
#include "unary_caller.h"

namespace treaty::web {

// What the handlers share: one channel to the node and the SVG renderer.
struct Backend {
  std::shared_ptr<grpc::Channel> channel;
  UnaryCaller* calls = nullptr;  // the unary routes' calls
  DiagramRenderer* diagrams = nullptr;
  std::chrono::milliseconds heartbeat{15000};  // SSE keep-alive comment
  const std::atomic<bool>* stopping = nullptr;
};

// Path parameters by name, e.g. {"instance_id": "po-1"}.
using PathParams = std::map<std::string, std::string>;
using RouteHandler = std::function<void(const httplib::Request&, httplib::Response&, const PathParams&)>;

struct Route {
  std::string method;  // GET, POST, PATCH
  std::string path;    // e.g. /api/v1/instances/{instance_id}/steps/{step}
  std::string rpc;     // e.g. Processes.TriggerStep
  RouteHandler handler;
};

// Every route of the API; handlers are empty without a backend (listing).
std::vector<Route> Routes(Backend* backend);

// Registers the routes on the server (their paths as regular expressions).
void RegisterRoutes(httplib::Server& server, const std::vector<Route>& routes);

// Writes an error answer: the status and {"error":{"code","message"}}.
void SendError(httplib::Response& res, int status, const std::string& code, const std::string& message);
void SendError(httplib::Response& res, const HttpError& e);

}  // namespace treaty::web
