#include "job_slot.h"

#include <algorithm>
#include <chrono>
#include <thread>

#include "job_outcome.h"
#include "job_request.h"
#include "adapters/common/log.h"

namespace treaty::webhook {

using adapters::Log;

namespace pb = ::treaty::v1;

namespace {

constexpr int kReportAttempts = 5;
constexpr auto kReportDeadline = std::chrono::seconds(30);
// The node takes error messages of up to 16 KiB; ours quote at most 512
// bytes of a body, but a refused output is quoted whole, so all are cut.
constexpr size_t kMaxMessageBytes = 4096;

std::string Cut(const std::string& message) { return MessageText(message, kMaxMessageBytes); }

std::string StatusText(const grpc::Status& st) {
  static const char* kNames[] = {"OK", "CANCELLED", "UNKNOWN", "INVALID_ARGUMENT", "DEADLINE_EXCEEDED", "NOT_FOUND",
                                 "ALREADY_EXISTS", "PERMISSION_DENIED", "RESOURCE_EXHAUSTED", "FAILED_PRECONDITION",
                                 "ABORTED", "OUT_OF_RANGE", "UNIMPLEMENTED", "INTERNAL", "UNAVAILABLE", "DATA_LOSS",
                                 "UNAUTHENTICATED"};
  int code = static_cast<int>(st.error_code());
  std::string name = code >= 0 && code <= 16 ? kNames[code] : std::to_string(code);
  return name + (st.error_message().empty() ? "" : ": " + st.error_message());
}

// The node refused what the worker reported (the job stays as it was).
bool Refused(const grpc::Status& st) {
  return st.error_code() == grpc::StatusCode::INVALID_ARGUMENT ||
         st.error_code() == grpc::StatusCode::FAILED_PRECONDITION;
}

}  // namespace

JobSlot::JobSlot(const Endpoint& ep, std::string worker, Connect connect, Shutdown* shutdown, int index)
    : ep_(ep),
      worker_(std::move(worker)),
      connect_(std::move(connect)),
      jobs_(pb::Jobs::NewStub(connect_())),
      shutdown_(shutdown),
      name_(ep.type + "#" + std::to_string(index)) {}

void JobSlot::Run() {
  while (!shutdown_->requested()) {
    pb::ActivateJobsRequest req;
    req.set_type(ep_.type);
    req.set_worker(worker_);
    req.set_max_jobs(1);
    req.set_timeout_ms(0);  // the definition's lease
    req.set_request_timeout_ms(kPollMs);
    pb::ActivateJobsResponse resp;
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::milliseconds(kPollMs) + std::chrono::seconds(10));
    grpc::Status st = jobs_->ActivateJobs(&ctx, req, &resp);
    if (!st.ok()) {
      LogPollError(st);
      if (st.error_code() == grpc::StatusCode::UNAVAILABLE) jobs_ = pb::Jobs::NewStub(connect_());
      shutdown_->WaitFor(std::chrono::seconds(st.error_code() == grpc::StatusCode::UNIMPLEMENTED ? 5 : 1));
      continue;
    }
    if (!last_poll_error_.empty()) {
      Log(name_ + ": activating jobs again");
      last_poll_error_.clear();
    }
    // A job activated for this slot is handled even when a stop came
    // meanwhile: it is in flight, and left alone it would wait for its lease.
    for (const auto& job : resp.jobs()) Handle(job);
  }
}

void JobSlot::LogPollError(const grpc::Status& st) {
  std::string text = StatusText(st);
  if (text == last_poll_error_) return;  // once per distinct error, not once a second
  last_poll_error_ = text;
  Log(name_ + ": ActivateJobs failed (" + text + "); trying again");
}

void JobSlot::Handle(const pb::Job& job) {
  HttpRequest req = BuildJobRequest(ep_, job);
  HttpResponse resp = http_.Send(req);
  std::string http = name_ + " job " + job.key() + " (retries " + std::to_string(job.retries()) + "): " + ep_.method +
                     " " + ep_.url + " -> " +
                     (resp.transport_ok ? "HTTP " + std::to_string(resp.status) : resp.transport_error) + " in " +
                     std::to_string(resp.elapsed_ms) + " ms";
  JobOutcome outcome = DecideJobOutcome(ep_, resp);
  switch (outcome.kind) {
    case JobOutcome::Kind::kComplete: Complete(job, outcome.output_json, http); break;
    case JobOutcome::Kind::kThrowError: Throw(job, outcome.error_code, outcome.message, http); break;
    case JobOutcome::Kind::kFail: Fail(job, outcome.message, http); break;
  }
}

void JobSlot::Complete(const pb::Job& job, const std::string& output, const std::string& http) {
  pb::CompleteJobRequest req;
  req.set_key(job.key());
  req.set_output_json(output);
  pb::CompleteJobResponse resp;
  grpc::Status st = Report(&pb::Jobs::Stub::CompleteJob, req, &resp);
  if (st.ok()) {
    Log(http + "; completed, step " + pb::Outcome_Name(resp.outcome()));
  } else if (Refused(st)) {
    // The output does not fit the step's input, or the step's preflight
    // refused it (a guard): the job would stay activated until its lease
    // ends, so it is failed now, with the reason. (A job that is no longer
    // activated refuses the FailJob too, which is logged.)
    Fail(job, "the node refused the completion with the response's output " + output + ": " + StatusText(st), http);
  } else {
    Log(http + "; CompleteJob failed (" + StatusText(st) + ")");
  }
}

void JobSlot::Throw(const pb::Job& job, const std::string& code, const std::string& message, const std::string& http) {
  pb::ThrowErrorRequest req;
  req.set_key(job.key());
  req.set_error_code(code);
  req.set_error_message(Cut(message));
  pb::ThrowErrorResponse resp;
  grpc::Status st = Report(&pb::Jobs::Stub::ThrowError, req, &resp);
  if (Refused(st))
    // As for a refused completion: failed now rather than left to its lease.
    Fail(job, "the node refused business error " + code + ": " + StatusText(st) + " (" + message + ")", http);
  else if (!st.ok()) Log(http + "; ThrowError " + code + " failed (" + StatusText(st) + ")");
  else if (resp.step().empty()) Log(http + "; threw " + code + ", unmapped: incident " + resp.incident().incident_id());
  else Log(http + "; threw " + code + ", step " + resp.step() + " " + pb::Outcome_Name(resp.outcome()));
}

void JobSlot::Fail(const pb::Job& job, const std::string& message, const std::string& http) {
  pb::FailJobRequest req;
  req.set_key(job.key());
  req.set_retries(std::max(job.retries() - 1, 0));
  req.set_error_message(Cut(message));  // no backoff_ms: the definition's backoff applies
  pb::Job resp;
  grpc::Status st = Report(&pb::Jobs::Stub::FailJob, req, &resp);
  if (!st.ok()) Log(http + "; FailJob failed (" + StatusText(st) + "): " + message);
  else if (!resp.incident_id().empty()) Log(http + "; failed, no retries left: incident " + resp.incident_id() + ": " + message);
  else Log(http + "; failed, " + std::to_string(resp.retries()) + " retries left: " + message);
}

template <typename Req, typename Resp>
grpc::Status JobSlot::Report(grpc::Status (pb::Jobs::Stub::*method)(grpc::ClientContext*, const Req&, Resp*),
                             const Req& req, Resp* resp) {
  grpc::Status st;
  for (int attempt = 1; attempt <= kReportAttempts; ++attempt) {
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + kReportDeadline);
    st = (jobs_.get()->*method)(&ctx, req, resp);
    if (st.error_code() != grpc::StatusCode::UNAVAILABLE) return st;
    Log(name_ + ": node unavailable reporting job " + req.key() + " (" + StatusText(st) + "), attempt " +
        std::to_string(attempt) + " of " + std::to_string(kReportAttempts));
    std::this_thread::sleep_for(std::chrono::seconds(1));
    jobs_ = pb::Jobs::NewStub(connect_());
  }
  return st;
}

}  // namespace treaty::webhook
