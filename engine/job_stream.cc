#include "engine/job_stream.h"

#include "engine/job_messages.h"
#include "engine/service_util.h"

namespace treaty::engine::service {

JobStream::JobStream(Node* node, const ::treaty::v1::StreamJobsRequest* req, std::unique_ptr<StreamLimiter::Slot> slot)
    : node_(node), slot_(std::move(slot)) {
  Status bad = CheckName(req->type(), "type");
  if (bad.ok()) bad = CheckName(req->worker(), "worker");
  if (bad.ok()) bad = CheckLease(req->timeout_ms());
  if (bad.ok() && (req->max_active_jobs() < 0 || req->max_active_jobs() > JobBook::kMaxActivate))
    bad = Status::InvalidArgument("max_active_jobs must be from 0 (32) to " +
                                  std::to_string(JobBook::kMaxActivate) + ", not " +
                                  std::to_string(req->max_active_jobs()));
  if (!bad.ok()) {
    finished_ = true;
    Finish(ToGrpc(bad));
    return;
  }
  id_ = node_->jobs()->Subscribe(req->type(), req->worker(), req->timeout_ms(),
                                 req->max_active_jobs() == 0 ? 32 : req->max_active_jobs(),
                                 [this](JobRow j) { Push(std::move(j)); });
}

void JobStream::OnWriteDone(bool ok) {
  std::lock_guard<std::mutex> lock(mu_);
  writing_ = false;
  if (!ok) {
    EndLocked(grpc::Status(grpc::UNAVAILABLE, "the stream broke"));
    return;
  }
  queue_.pop_front();  // it reached the transport
  WriteNextLocked();
}

void JobStream::OnCancel() {
  std::lock_guard<std::mutex> lock(mu_);
  EndLocked(grpc::Status::CANCELLED);
}

void JobStream::OnDone() {
  std::vector<JobRow> unsent;
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (auto& [row, msg] : queue_) unsent.push_back(std::move(row));
    queue_.clear();
  }
  if (id_ != 0 || !unsent.empty()) node_->jobs()->Unsubscribe(id_, unsent);
  delete this;
}

// On the JobBook's thread: the row is turned into its message here.
void JobStream::Push(JobRow j) {
  pb::Job msg;
  FillJob(node_, j, &msg, /*variables=*/true);
  std::lock_guard<std::mutex> lock(mu_);
  queue_.emplace_back(std::move(j), std::move(msg));
  if (finished_) return;  // given back by OnDone
  WriteNextLocked();
}

void JobStream::WriteNextLocked() {
  if (writing_ || finished_ || queue_.empty()) return;
  writing_ = true;
  StartWrite(&queue_.front().second);
}

void JobStream::EndLocked(const grpc::Status& st) {
  if (finished_) return;
  finished_ = true;
  Finish(st);
}

}  // namespace treaty::engine::service
