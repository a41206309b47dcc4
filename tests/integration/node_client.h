// A test's gRPC client of one treatyd: one method per API call the tests
// and benchmarks make, so request building lives in one place.
//
// Thread-safety: one NodeClient may be used from many threads (gRPC's
// generated client classes, held here, are thread-safe).
#pragma once

#include <grpcpp/grpcpp.h>

#include <chrono>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "treaty/v1/treaty.grpc.pb.h"

namespace treaty::testing {

namespace pb = ::treaty::v1;

class NodeClient {
 public:
  explicit NodeClient(std::shared_ptr<grpc::Channel> ch)
      : p_(pb::Processes::NewStub(ch)), e_(pb::Events::NewStub(ch)), n_(pb::Node::NewStub(ch)) {}

  grpc::Status Start(const std::string& id, const std::map<std::string, std::string>& roles = {},
                     pb::StartProcessResponse* out = nullptr, const std::string& definition = "purchase-order") {
    pb::StartProcessRequest req;
    req.set_definition(definition);
    req.set_instance_id(id);
    for (const auto& [role, party] : roles) {
      auto* b = req.add_roles();
      b->set_role(role);
      b->set_party(party);
    }
    return Call(p_.get(), &pb::Processes::Stub::StartProcess, req, out);
  }
  grpc::Status Start(const std::string& id, pb::StartProcessResponse* out,
                     const std::string& definition = "purchase-order") {
    return Start(id, {}, out, definition);
  }
  grpc::Status Step(const std::string& id, const std::string& step, const std::string& input = "{}",
                    const std::string& key = "", pb::TriggerStepResponse* out = nullptr, bool no_wait = false) {
    pb::TriggerStepRequest req;
    req.set_instance_id(id);
    req.set_step(step);
    req.set_input_json(input);
    req.set_idempotency_key(key);
    req.set_no_wait(no_wait);
    return Call(p_.get(), &pb::Processes::Stub::TriggerStep, req, out);
  }
  grpc::Status Step(const std::string& id, const std::string& step, const std::string& input,
                    pb::TriggerStepResponse* out) {
    return Step(id, step, input, "", out);
  }
  // A step with every field of the request the caller's own.
  grpc::Status Trigger(const pb::TriggerStepRequest& req, pb::TriggerStepResponse* out = nullptr) {
    return Call(p_.get(), &pb::Processes::Stub::TriggerStep, req, out);
  }
  grpc::Status StartWith(const pb::StartProcessRequest& req, pb::StartProcessResponse* out = nullptr) {
    return Call(p_.get(), &pb::Processes::Stub::StartProcess, req, out);
  }
  pb::Instance Get(const std::string& id, grpc::Status* st = nullptr) {
    pb::GetInstanceRequest req;
    req.set_instance_id(id);
    pb::Instance resp;
    Keep(Call(p_.get(), &pb::Processes::Stub::GetInstance, req, &resp), st);
    return resp;
  }
  // The instance, or nothing when the node does not have it.
  std::optional<pb::Instance> Find(const std::string& id) {
    grpc::Status st;
    pb::Instance i = Get(id, &st);
    if (!st.ok()) return std::nullopt;
    return i;
  }
  // The first active state, or "" when the node does not have the instance.
  std::string State(const std::string& id) {
    auto i = Find(id);
    return i && i->states_size() > 0 ? i->states(0) : "";
  }
  // Empty (and *st set) when the call fails.
  std::vector<pb::HistoryEntry> History(const std::string& id, grpc::Status* st = nullptr) {
    pb::GetHistoryRequest req;
    req.set_instance_id(id);
    pb::GetHistoryResponse resp;
    Keep(Call(p_.get(), &pb::Processes::Stub::GetHistory, req, &resp), st);
    return {resp.entries().begin(), resp.entries().end()};
  }
  pb::ListInstancesResponse List(const std::string& where, const std::string& state = "", int page = 0,
                                 const std::string& token = "", grpc::Status* st = nullptr) {
    pb::ListInstancesRequest req;
    req.set_where(where);
    req.set_state(state);
    req.set_page_size(page);
    req.set_page_token(token);
    pb::ListInstancesResponse resp;
    Keep(Call(p_.get(), &pb::Processes::Stub::ListInstances, req, &resp), st);
    return resp;
  }
  pb::StatusResponse Status(grpc::Status* st = nullptr) {
    pb::StatusResponse resp;
    Keep(Call(n_.get(), &pb::Node::Stub::Status, pb::StatusRequest(), &resp), st);
    return resp;
  }
  pb::Events::Stub* events() { return e_.get(); }

 private:
  static std::chrono::system_clock::time_point Deadline() {
    return std::chrono::system_clock::now() + std::chrono::seconds(30);
  }
  // One unary call with the test deadline, so a hung node fails the test
  // instead of hanging it. `out` may be null.
  template <typename Stub, typename Req, typename Resp>
  static grpc::Status Call(Stub* stub, grpc::Status (Stub::*method)(grpc::ClientContext*, const Req&, Resp*),
                           const Req& req, Resp* out) {
    Resp resp;
    grpc::ClientContext ctx;
    ctx.set_deadline(Deadline());
    grpc::Status st = (stub->*method)(&ctx, req, &resp);
    if (out) *out = std::move(resp);
    return st;
  }
  static void Keep(const grpc::Status& s, grpc::Status* st) {
    if (st) *st = s;
  }

  std::unique_ptr<pb::Processes::Stub> p_;
  std::unique_ptr<pb::Events::Stub> e_;
  std::unique_ptr<pb::Node::Stub> n_;
};

}  // namespace treaty::testing
