// The gRPC services of the public API (proto/treaty/v1/treaty.proto) over a
// Node: Processes, Events, Definitions, Node, Tasks and Jobs. Every error is a gRPC
// status with a message a person understands; nothing is changed by a
// failed call.
//
// Thread-safety: gRPC calls these from many threads; they share only the
// Node, which is thread-safe.
#pragma once

#include <memory>
#include <vector>

#include <grpcpp/grpcpp.h>
#include <grpcpp/impl/codegen/service_type.h>

#include "engine/access/authorizer.h"
#include "engine/node.h"
#include "engine/stream_limiter.h"

namespace treaty::engine {

// The services, ready to register on a grpc::ServerBuilder. Each call is
// checked by `authorizer` (engine/access/authorizer.h; it must outlive
// the services) before it reads or changes anything.
std::vector<std::unique_ptr<grpc::Service>> MakeServices(
    Node* node, const std::string& version, const access::Authorizer& authorizer = access::Authorizer::Open());
// The Tasks service alone (tasks_service.cc); MakeServices includes it.
std::unique_ptr<grpc::Service> MakeTasksService(Node* node, const access::Authorizer& authorizer);
// The Jobs service alone (jobs_service.cc); MakeServices includes it.
// `streams` bounds its StreamJobs calls per client (shared with
// Events.Subscribe); null: a limiter of its own from the node's limits.
std::unique_ptr<grpc::Service> MakeJobsService(Node* node, const access::Authorizer& authorizer,
                                               std::shared_ptr<StreamLimiter> streams = nullptr);

// A stream slot for the caller, or the refusal (RESOURCE_EXHAUSTED, logged).
Result<std::unique_ptr<StreamLimiter::Slot>> AcquireStream(Node* node, StreamLimiter* streams,
                                                           const access::Authorizer& auth,
                                                           const grpc::ServerContextBase& ctx, const char* call);

}  // namespace treaty::engine
