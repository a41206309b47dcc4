#include "routes.h"

#include <google/protobuf/descriptor.h>

#include <regex>

#include "events_sse.h"
#include "grpc_json.h"
#include "adapters/common/log.h"
#include "treaty/v1/treaty.grpc.pb.h"

namespace treaty::web {

using adapters::Log;
namespace {

namespace pb = ::treaty::v1;
namespace gp = google::protobuf;

enum class Input { kQuery, kBody };

// A call's deadline: long enough for what the request asks the node to
// wait for (a step's wait_timeout_ms, a long poll's request_timeout_ms)
// and then some; 2 minutes covers the node's default wait (30 s).
std::chrono::system_clock::time_point DeadlineFor(const gp::Message& m) {
  int64_t wait_ms = 0;
  for (const char* name : {"wait_timeout_ms", "request_timeout_ms"}) {
    const gp::FieldDescriptor* f = m.GetDescriptor()->FindFieldByName(name);
    if (f == nullptr) continue;
    if (f->cpp_type() == gp::FieldDescriptor::CPPTYPE_UINT32) wait_ms = m.GetReflection()->GetUInt32(m, f);
    if (f->cpp_type() == gp::FieldDescriptor::CPPTYPE_INT64) wait_ms = m.GetReflection()->GetInt64(m, f);
  }
  auto wait = std::max<std::chrono::milliseconds>(std::chrono::minutes(2),
                                                  std::chrono::milliseconds(wait_ms) + std::chrono::seconds(30));
  return std::chrono::system_clock::now() + wait;
}

void SendJson(httplib::Response& res, int status, const std::string& body) {
  res.status = status;
  res.set_content(body, "application/json");
}

// The request message from the HTTP request: the body (POST, PATCH) or the
// query (GET), then the path parameters, which win over either.
// The query string's parameters only: httplib also puts the fields of a
// form-encoded body into Request::params (curl -d sends that content
// type), and a JSON body must stay a body.
httplib::Params QueryOf(const httplib::Request& hr) {
  httplib::Params params;
  size_t q = hr.target.find('?');
  if (q != std::string::npos) httplib::detail::parse_query_text(hr.target.substr(q + 1), params);
  return params;
}

template <class Req>
bool BuildRequest(const httplib::Request& hr, Input input, const PathParams& path, Req* out, httplib::Response& res,
                  const httplib::Params* query_override = nullptr) {
  HttpError err;
  httplib::Params query = query_override ? *query_override : QueryOf(hr);
  if (input == Input::kBody) {
    if (!query.empty()) {
      SendError(res, 400, "BAD_PARAMETER",
                "this route takes its fields in a JSON body, not as query parameters (got '" + query.begin()->first +
                    "')");
      return false;
    }
    if (!ParseBody(hr.body, out, &err)) {
      SendError(res, err.status, err.code, err.message);
      return false;
    }
  } else if (!ApplyQuery(query, out, &err)) {
    SendError(res, err.status, err.code, err.message);
    return false;
  }
  for (const auto& [field, value] : path) {
    if (!SetStringField(out, field, value)) {
      SendError(res, 500, "INTERNAL", "route parameter '" + field + "' names no field of " + out->GetTypeName());
      return false;
    }
  }
  return true;
}

// A successful answer that is nonetheless a rejected step (an outcome of
// REJECTED): 409 with the reason and the whole response.
bool SendIfRejected(const gp::Message& m, httplib::Response& res) {
  const gp::Descriptor* d = m.GetDescriptor();
  const gp::FieldDescriptor* outcome = d->FindFieldByName("outcome");
  if (outcome == nullptr || outcome->cpp_type() != gp::FieldDescriptor::CPPTYPE_ENUM) return false;
  if (m.GetReflection()->GetEnumValue(m, outcome) != pb::REJECTED) return false;
  const gp::FieldDescriptor* reason = d->FindFieldByName("reason");
  std::string why = reason ? m.GetReflection()->GetString(m, reason) : "the step was rejected";
  std::string err = ErrorBody({409, "REJECTED", why, ""});
  // {"error":{...}} plus "response": the error object without its closing brace.
  SendJson(res, 409, err.substr(0, err.size() - 1) + ",\"response\":" + ToJson(m) + "}");
  return true;
}

// A route that is one unary call, made through the backend's UnaryCaller.
template <class Stub, class Req, class Resp>
RouteHandler Unary(Backend* b, std::shared_ptr<Stub> stub, PrepareUnary<Stub, Req, Resp> prepare, Input input) {
  if (!stub) return {};
  UnaryCaller* calls = b->calls;
  return [calls, stub, prepare, input](const httplib::Request& hr, httplib::Response& res, const PathParams& path) {
    Req req;
    if (!BuildRequest(hr, input, path, &req, res)) return;
    grpc::ClientContext ctx;
    ctx.set_deadline(DeadlineFor(req));
    Resp resp;
    grpc::Status st = calls->Call(stub.get(), prepare, &ctx, req, &resp);
    if (!st.ok()) return SendError(res, FromGrpc(st));
    if (SendIfRejected(resp, res)) return;
    SendJson(res, 200, ToJson(resp));
  };
}

void SendSvg(Backend* b, const std::string& dot, const std::vector<std::string>& active, httplib::Response& res) {
  std::string svg, error;
  if (!b->diagrams->Render(dot, active, &svg, &error)) return SendError(res, 500, "INTERNAL", error);
  res.status = 200;
  res.set_header("Cache-Control", "no-store");  // the active states change with every step
  res.set_content(svg, "image/svg+xml");
}

std::vector<std::string> SplitCommas(const std::string& s) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start <= s.size()) {
    size_t comma = s.find(',', start);
    if (comma == std::string::npos) comma = s.size();
    if (comma > start) out.push_back(s.substr(start, comma - start));
    start = comma + 1;
  }
  return out;
}

bool Get(const grpc::Status& st, httplib::Response& res) {
  if (st.ok()) return true;
  SendError(res, FromGrpc(st));
  return false;
}

grpc::ClientContext* WithDeadline(grpc::ClientContext* ctx) {
  ctx->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
  return ctx;
}

// GET /definitions/{name}/diagram.svg?version=N&active=a,b
RouteHandler DefinitionDiagram(Backend* b, std::shared_ptr<pb::Definitions::Stub> defs) {
  if (!defs) return {};
  return [b, defs](const httplib::Request& hr, httplib::Response& res, const PathParams& path) {
    httplib::Params params = QueryOf(hr);
    std::vector<std::string> active;
    for (auto it = params.find("active"); it != params.end() && it->first == "active"; it = params.erase(it))
      for (auto& s : SplitCommas(it->second)) active.push_back(s);
    pb::GetDefinitionRequest req;
    if (!BuildRequest(hr, Input::kQuery, path, &req, res, &params)) return;
    pb::Definition d;
    grpc::ClientContext ctx;
    if (!Get(defs->GetDefinition(WithDeadline(&ctx), req, &d), res)) return;
    SendSvg(b, d.graph_dot(), active, res);
  };
}

// GET /instances/{instance_id}/diagram.svg: its definition's diagram
// (the version it runs) with its active states highlighted.
RouteHandler InstanceDiagram(Backend* b, std::shared_ptr<pb::Processes::Stub> procs,
                             std::shared_ptr<pb::Definitions::Stub> defs) {
  if (!defs) return {};
  return [b, procs, defs](const httplib::Request& hr, httplib::Response& res, const PathParams& path) {
    pb::GetInstanceRequest req;
    if (!BuildRequest(hr, Input::kQuery, path, &req, res)) return;
    pb::Instance inst;
    {
      grpc::ClientContext ctx;
      if (!Get(procs->GetInstance(WithDeadline(&ctx), req, &inst), res)) return;
    }
    pb::GetDefinitionRequest dreq;
    dreq.set_name(inst.definition());
    dreq.set_version(inst.version());
    pb::Definition d;
    grpc::ClientContext ctx;
    if (!Get(defs->GetDefinition(WithDeadline(&ctx), dreq, &d), res)) return;
    SendSvg(b, d.graph_dot(), {inst.states().begin(), inst.states().end()}, res);
  };
}

// GET /events: Events.Subscribe as Server-Sent Events.
RouteHandler EventStream(Backend* b) {
  if (!b) return {};
  return [b](const httplib::Request& hr, httplib::Response& res, const PathParams& path) {
    pb::SubscribeRequest req;
    if (!BuildRequest(hr, Input::kQuery, path, &req, res)) return;
    ServeEvents(b->channel, req, hr.get_header_value("Last-Event-ID"), b->heartbeat, b->stopping, res);
  };
}

// "/a/{x}/b" as the regular expression "/a/([^/]+)/b" and the names ["x"].
std::string PathRegex(const std::string& path, std::vector<std::string>* names) {
  std::string re;
  for (size_t i = 0; i < path.size(); ++i) {
    char c = path[i];
    if (c == '{') {
      size_t close = path.find('}', i);
      names->push_back(path.substr(i + 1, close - i - 1));
      re += "([^/]+)";
      i = close;
    } else if (std::string(".+*?()[]^$|\\").find(c) != std::string::npos) {
      re += '\\';
      re += c;
    } else {
      re += c;
    }
  }
  return re;
}

}  // namespace

void SendError(httplib::Response& res, int status, const std::string& code, const std::string& message) {
  SendJson(res, status, ErrorBody({status, code, message, ""}));
}

void SendError(httplib::Response& res, const HttpError& e) { SendJson(res, e.status, ErrorBody(e)); }

std::vector<Route> Routes(Backend* b) {
  std::shared_ptr<pb::Node::Stub> node;
  std::shared_ptr<pb::Definitions::Stub> defs;
  std::shared_ptr<pb::Processes::Stub> procs;
  std::shared_ptr<pb::Tasks::Stub> tasks;
  std::shared_ptr<pb::Jobs::Stub> jobs;
  std::shared_ptr<pb::Events::Stub> events;
  if (b != nullptr) {
    // Stubs over the one channel: HTTP/2 multiplexes every call on it.
    node = pb::Node::NewStub(b->channel);
    defs = pb::Definitions::NewStub(b->channel);
    procs = pb::Processes::NewStub(b->channel);
    tasks = pb::Tasks::NewStub(b->channel);
    jobs = pb::Jobs::NewStub(b->channel);
    events = pb::Events::NewStub(b->channel);
  }
  using P = pb::Processes::Stub;
  using T = pb::Tasks::Stub;
  using J = pb::Jobs::Stub;
  const Input Q = Input::kQuery, B = Input::kBody;
  const std::string v1 = "/api/v1";
  return {
      {"GET", v1 + "/status", "Node.Status", Unary(b, node, &pb::Node::Stub::PrepareAsyncStatus, Q)},
      {"GET", v1 + "/definitions", "Definitions.ListDefinitions",
       Unary(b, defs, &pb::Definitions::Stub::PrepareAsyncListDefinitions, Q)},
      {"GET", v1 + "/definitions/{name}", "Definitions.GetDefinition",
       Unary(b, defs, &pb::Definitions::Stub::PrepareAsyncGetDefinition, Q)},
      {"GET", v1 + "/definitions/{name}/diagram.svg", "Definitions.GetDefinition (SVG)", DefinitionDiagram(b, defs)},
      {"GET", v1 + "/instances", "Processes.ListInstances", Unary(b, procs, &P::PrepareAsyncListInstances, Q)},
      {"POST", v1 + "/instances", "Processes.StartProcess", Unary(b, procs, &P::PrepareAsyncStartProcess, B)},
      {"GET", v1 + "/instances/{instance_id}", "Processes.GetInstance", Unary(b, procs, &P::PrepareAsyncGetInstance, Q)},
      {"GET", v1 + "/instances/{instance_id}/history", "Processes.GetHistory", Unary(b, procs, &P::PrepareAsyncGetHistory, Q)},
      {"GET", v1 + "/instances/{instance_id}/diagram.svg", "Processes.GetInstance + Definitions.GetDefinition (SVG)",
       InstanceDiagram(b, procs, defs)},
      {"POST", v1 + "/instances/{instance_id}/steps/{step}", "Processes.TriggerStep",
       Unary(b, procs, &P::PrepareAsyncTriggerStep, B)},
      {"GET", v1 + "/events", "Events.Subscribe (Server-Sent Events)", EventStream(b)},
      {"POST", v1 + "/events/ack", "Events.Ack", Unary(b, events, &pb::Events::Stub::PrepareAsyncAck, B)},
      {"GET", v1 + "/tasks", "Tasks.SearchTasks", Unary(b, tasks, &T::PrepareAsyncSearchTasks, Q)},
      {"GET", v1 + "/tasks/{task_id}", "Tasks.GetTask", Unary(b, tasks, &T::PrepareAsyncGetTask, Q)},
      {"PATCH", v1 + "/tasks/{task_id}", "Tasks.UpdateTask", Unary(b, tasks, &T::PrepareAsyncUpdateTask, B)},
      {"POST", v1 + "/tasks/{task_id}/claim", "Tasks.ClaimTask", Unary(b, tasks, &T::PrepareAsyncClaimTask, B)},
      {"POST", v1 + "/tasks/{task_id}/unclaim", "Tasks.UnclaimTask", Unary(b, tasks, &T::PrepareAsyncUnclaimTask, B)},
      {"POST", v1 + "/tasks/{task_id}/assign", "Tasks.AssignTask", Unary(b, tasks, &T::PrepareAsyncAssignTask, B)},
      {"POST", v1 + "/tasks/{task_id}/complete", "Tasks.CompleteTask", Unary(b, tasks, &T::PrepareAsyncCompleteTask, B)},
      {"GET", v1 + "/jobs", "Jobs.SearchJobs", Unary(b, jobs, &J::PrepareAsyncSearchJobs, Q)},
      {"POST", v1 + "/jobs/activate", "Jobs.ActivateJobs", Unary(b, jobs, &J::PrepareAsyncActivateJobs, B)},
      {"GET", v1 + "/jobs/{key}", "Jobs.GetJob", Unary(b, jobs, &J::PrepareAsyncGetJob, Q)},
      {"POST", v1 + "/jobs/{key}/complete", "Jobs.CompleteJob", Unary(b, jobs, &J::PrepareAsyncCompleteJob, B)},
      {"POST", v1 + "/jobs/{key}/fail", "Jobs.FailJob", Unary(b, jobs, &J::PrepareAsyncFailJob, B)},
      {"POST", v1 + "/jobs/{key}/throw", "Jobs.ThrowError", Unary(b, jobs, &J::PrepareAsyncThrowError, B)},
      {"POST", v1 + "/jobs/{key}/retries", "Jobs.UpdateJobRetries", Unary(b, jobs, &J::PrepareAsyncUpdateJobRetries, B)},
      {"POST", v1 + "/jobs/{key}/timeout", "Jobs.UpdateJobTimeout", Unary(b, jobs, &J::PrepareAsyncUpdateJobTimeout, B)},
      {"GET", v1 + "/incidents", "Jobs.ListIncidents", Unary(b, jobs, &J::PrepareAsyncListIncidents, Q)},
      {"POST", v1 + "/incidents/{incident_id}/resolve", "Jobs.ResolveIncident", Unary(b, jobs, &J::PrepareAsyncResolveIncident, B)},
  };
}

void RegisterRoutes(httplib::Server& server, const std::vector<Route>& routes) {
  for (const auto& r : routes) {
    std::vector<std::string> names;
    std::string re = PathRegex(r.path, &names);
    httplib::Server::Handler h = [names, handler = r.handler](const httplib::Request& req, httplib::Response& res) {
      PathParams path;
      for (size_t i = 0; i < names.size() && i + 1 < req.matches.size(); ++i) path[names[i]] = req.matches[i + 1];
      handler(req, res, path);
    };
    if (r.method == "GET") server.Get(re, h);
    else if (r.method == "POST") server.Post(re, h);
    else if (r.method == "PATCH") server.Patch(re, h);
  }
}

}  // namespace treaty::web
