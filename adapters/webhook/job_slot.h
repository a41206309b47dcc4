// One job slot of an endpoint: a loop that long-polls the node for one job
// of the endpoint's type (Jobs.ActivateJobs, max_jobs 1), sends its HTTP
// request, and reports the outcome (CompleteJob, ThrowError or FailJob).
// An endpoint with `concurrency: N` runs N slots, so never more than N of
// its requests are in flight.
//
// On a stop request the slot takes no new job; the poll it is in ends
// within kPollMs and a job it is handling is finished (its request is
// bounded by the endpoint's timeout) and reported.
//
// Thread-safety: Run is called once, on the slot's own thread.
#pragma once

#include <grpcpp/grpcpp.h>

#include <functional>
#include <memory>
#include <string>

#include "http_client.h"
#include "shutdown.h"
#include "treaty/v1/treaty.grpc.pb.h"
#include "webhook_config.h"

namespace treaty::webhook {

// How long one ActivateJobs call waits for a job (long poll).
// Short, because a stop waits for the poll to end: the node's long poll
// cannot be cancelled without losing a job it activates meanwhile.
constexpr int64_t kPollMs = 1000;

class JobSlot {
 public:
  // `connect` makes a channel to the node: the slot makes a new one when
  // the node did not answer, as gRPC's reconnection of a channel that lost
  // its node lags seconds behind the node's return.
  using Connect = std::function<std::shared_ptr<grpc::Channel>()>;
  JobSlot(const Endpoint& ep, std::string worker, Connect connect, Shutdown* shutdown, int index);

  void Run();

 private:
  void Handle(const ::treaty::v1::Job& job);
  void Complete(const ::treaty::v1::Job& job, const std::string& output, const std::string& http);
  void Throw(const ::treaty::v1::Job& job, const std::string& code, const std::string& message,
             const std::string& http);
  void Fail(const ::treaty::v1::Job& job, const std::string& message, const std::string& http);
  // A node call, tried again while the node is unreachable (a few times).
  template <typename Req, typename Resp>
  grpc::Status Report(grpc::Status (::treaty::v1::Jobs::Stub::*method)(grpc::ClientContext*, const Req&, Resp*),
                      const Req& req, Resp* resp);
  void LogPollError(const grpc::Status& st);

  const Endpoint& ep_;
  std::string worker_;
  Connect connect_;
  std::unique_ptr<::treaty::v1::Jobs::Stub> jobs_;
  Shutdown* shutdown_;
  std::string name_;  // "credit-check#2", for the log
  HttpClient http_;
  std::string last_poll_error_;
};

}  // namespace treaty::webhook
