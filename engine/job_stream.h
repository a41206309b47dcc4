// JobStream: one StreamJobs call (proto/treaty/v1/treaty.proto). It
// subscribes to the JobBook for its type and writes the jobs the JobBook
// activates for it, one write at a time; jobs not yet written when the
// stream ends go back to the JobBook, activatable again (Unsubscribe).
//
// Thread-safety: gRPC calls its reactions and the JobBook its pushes from
// their own threads; its queue and flags are guarded by its mutex. It
// deletes itself in OnDone, after unsubscribing, so no push comes later.
#pragma once

#include <deque>
#include <mutex>
#include <utility>

#include <grpcpp/grpcpp.h>

#include "engine/node.h"
#include "engine/stream_limiter.h"
#include "treaty/v1/treaty.pb.h"

namespace treaty::engine::service {

class JobStream final : public grpc::ServerWriteReactor<::treaty::v1::Job> {
 public:
  // Checks the request (a refusal finishes the call) and subscribes,
  // holding `slot` (one of its client's streams) until done.
  JobStream(Node* node, const ::treaty::v1::StreamJobsRequest* req, std::unique_ptr<StreamLimiter::Slot> slot);
  void OnWriteDone(bool ok) override;
  void OnCancel() override;
  void OnDone() override;

 private:
  // On the JobBook's thread: the row is turned into its message here.
  void Push(JobRow j);
  void WriteNextLocked();
  void EndLocked(const grpc::Status& st);

  Node* node_;
  std::unique_ptr<StreamLimiter::Slot> slot_;
  uint64_t id_ = 0;
  std::mutex mu_;
  std::deque<std::pair<JobRow, ::treaty::v1::Job>> queue_;  // mu_: front is being written while writing_
  bool writing_ = false, finished_ = false;                 // mu_
};

}  // namespace treaty::engine::service
