// GET /api/v1/events: the node's Events.Subscribe stream as Server-Sent
// Events, one "event: <type>", "id: <offset>", "data: <Event JSON>" block
// per event, a comment line as a heartbeat while nothing happens, and an
// "event: error" block if the node ends the stream with an error. The
// subscription is cancelled as soon as a write to the client fails (the
// client went away; the heartbeat finds out within its interval) or the
// daemon stops.
//
// Thread-safety: each call serves one response; it starts a reader thread
// of its own for the gRPC stream and joins it before the response is gone.
#pragma once

#include <httplib.h>
#include <grpcpp/grpcpp.h>

#include <atomic>
#include <chrono>
#include <memory>

#include "treaty/v1/treaty.grpc.pb.h"

namespace treaty::web {

// Makes `res` the event stream of `req` from `channel`. `last_event_id` is
// the client's Last-Event-ID header ("" if none): an EventSource that
// reconnects resumes after it unless the query named a from_offset.
// `stopping` (the daemon's shutdown, outliving the response) ends the
// stream at the next event or heartbeat.
void ServeEvents(std::shared_ptr<grpc::Channel> channel, ::treaty::v1::SubscribeRequest req,
                 const std::string& last_event_id, std::chrono::milliseconds heartbeat,
                 const std::atomic<bool>* stopping, httplib::Response& res);

}  // namespace treaty::web
