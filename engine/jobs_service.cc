// The Jobs service (proto/treaty/v1/treaty.proto): job workers over the
// node's JobBook. Activations, failures, retries, leases and incidents are
// the JobBook's local transactions, answered after their commit on its
// thread; CompleteJob and ThrowError propose a step like TriggerStep, with
// the job's completion key as idempotency key, holding no thread while it
// is ordered and applied.
#include <cstdlib>

#include "definitions/schema.h"
#include "engine/service_util.h"
#include "engine/services.h"
#include "treaty/v1/treaty.grpc.pb.h"

namespace treaty::engine {
namespace {

using namespace service;  // NOLINT: the services' shared vocabulary

// The longest error message a worker may send (a stack trace fits).
constexpr size_t kMaxMessage = 16 * 1024;
constexpr int64_t kMaxOffset = 1'000'000'000;

pb::JobState StateToPb(JobState s) {
  switch (s) {
    case JobState::kActivatable: return pb::JOB_ACTIVATABLE;
    case JobState::kActivated: return pb::JOB_ACTIVATED;
    case JobState::kFailed: return pb::JOB_FAILED;
    case JobState::kIncident: return pb::JOB_INCIDENT;
    case JobState::kCompleted: return pb::JOB_COMPLETED;
    case JobState::kErrorThrown: return pb::JOB_ERROR_THROWN;
    case JobState::kCancelled: return pb::JOB_CANCELLED;
  }
  return pb::JOB_STATE_UNSPECIFIED;
}

std::optional<JobState> StateFromPb(int s) {
  switch (s) {
    case pb::JOB_ACTIVATABLE: return JobState::kActivatable;
    case pb::JOB_ACTIVATED: return JobState::kActivated;
    case pb::JOB_FAILED: return JobState::kFailed;
    case pb::JOB_INCIDENT: return JobState::kIncident;
    case pb::JOB_COMPLETED: return JobState::kCompleted;
    case pb::JOB_ERROR_THROWN: return JobState::kErrorThrown;
    case pb::JOB_CANCELLED: return JobState::kCancelled;
    default: return std::nullopt;
  }
}

Status CheckName(const std::string& v, const char* what) {
  if (v.empty()) return Status::InvalidArgument(std::string(what) + " is required");
  if (v.size() > 256) return Status::InvalidArgument(std::string(what) + " is at most 256 bytes");
  return Status::Ok();
}

Status CheckMessage(const std::string& m) {
  if (m.size() > kMaxMessage)
    return Status::InvalidArgument("error_message is " + std::to_string(m.size()) + " bytes; at most " +
                                   std::to_string(kMaxMessage));
  return Status::Ok();
}

// A JSON object (empty text: {}), or INVALID_ARGUMENT naming the field.
Result<Value> ObjectOf(const std::string& text, const char* field) {
  auto v = Value::FromJson(text.empty() ? "{}" : text);
  if (!v.ok()) return Status::InvalidArgument(std::string(field) + ": " + v.status().message());
  if (!v->is_object()) return Status::InvalidArgument(std::string(field) + " must be a JSON object");
  return std::move(*v);
}

using JobsBase = pb::Jobs::CallbackService;

class JobsService final : public JobsBase {
 public:
  explicit JobsService(Node* node) : node_(node), blocking_(4) {}

  // ---- activation

  grpc::ServerUnaryReactor* ActivateJobs(grpc::CallbackServerContext* ctx, const pb::ActivateJobsRequest* req,
                                         pb::ActivateJobsResponse* resp) override {
    grpc::ServerUnaryReactor* reactor = ctx->DefaultReactor();
    Status bad = CheckName(req->type(), "type");
    if (bad.ok()) bad = CheckName(req->worker(), "worker");
    if (bad.ok() && (req->max_jobs() < 1 || req->max_jobs() > JobBook::kMaxActivate))
      bad = Status::InvalidArgument("max_jobs must be from 1 to " + std::to_string(JobBook::kMaxActivate) + ", not " +
                                    std::to_string(req->max_jobs()));
    if (bad.ok()) bad = CheckLease(req->timeout_ms());
    if (bad.ok() && (req->request_timeout_ms() < 0 || req->request_timeout_ms() > JobBook::kMaxPollMs))
      bad = Status::InvalidArgument("request_timeout_ms must be from 0 to " + std::to_string(JobBook::kMaxPollMs));
    if (!bad.ok()) {
      reactor->Finish(ToGrpc(bad));
      return reactor;
    }
    JobBook::Activation a;
    a.type = req->type();
    a.worker = req->worker();
    a.max_jobs = req->max_jobs();
    a.lease_ms = req->timeout_ms();
    a.wait_ms = req->request_timeout_ms();
    node_->jobs()->Activate(a, [this, reactor, resp](Result<std::vector<JobRow>> rows) {
      if (!rows.ok()) return reactor->Finish(ToGrpc(rows.status()));
      for (const auto& j : *rows) FillJob(j, resp->add_jobs(), /*variables=*/true);
      reactor->Finish(grpc::Status::OK);
    });
    return reactor;
  }

  // Pushes the jobs the JobBook activates for it; a job not yet written
  // when the stream ends goes back (Unsubscribe).
  class JobStream final : public grpc::ServerWriteReactor<pb::Job> {
   public:
    JobStream(JobsService* svc, const pb::StreamJobsRequest* req) : svc_(svc) {
      Status bad = CheckName(req->type(), "type");
      if (bad.ok()) bad = CheckName(req->worker(), "worker");
      if (bad.ok()) bad = svc->CheckLease(req->timeout_ms());
      if (bad.ok() && (req->max_active_jobs() < 0 || req->max_active_jobs() > JobBook::kMaxActivate))
        bad = Status::InvalidArgument("max_active_jobs must be from 0 (32) to " +
                                      std::to_string(JobBook::kMaxActivate) + ", not " +
                                      std::to_string(req->max_active_jobs()));
      if (!bad.ok()) {
        finished_ = true;
        Finish(ToGrpc(bad));
        return;
      }
      id_ = svc_->node_->jobs()->Subscribe(req->type(), req->worker(), req->timeout_ms(),
                                           req->max_active_jobs() == 0 ? 32 : req->max_active_jobs(),
                                           [this](JobRow j) { Push(std::move(j)); });
    }
    void OnWriteDone(bool ok) override {
      std::lock_guard<std::mutex> lock(mu_);
      writing_ = false;
      if (!ok) {
        EndLocked(grpc::Status(grpc::UNAVAILABLE, "the stream broke"));
        return;
      }
      queue_.pop_front();  // it reached the transport
      WriteNextLocked();
    }
    void OnCancel() override {
      std::lock_guard<std::mutex> lock(mu_);
      EndLocked(grpc::Status::CANCELLED);
    }
    void OnDone() override {
      std::vector<JobRow> unsent;
      {
        std::lock_guard<std::mutex> lock(mu_);
        for (auto& [row, msg] : queue_) unsent.push_back(std::move(row));
        queue_.clear();
      }
      if (id_ != 0 || !unsent.empty()) svc_->node_->jobs()->Unsubscribe(id_, unsent);
      delete this;
    }

   private:
    // On the JobBook's thread: the row is turned into its message here.
    void Push(JobRow j) {
      pb::Job msg;
      svc_->FillJob(j, &msg, /*variables=*/true);
      std::lock_guard<std::mutex> lock(mu_);
      queue_.emplace_back(std::move(j), std::move(msg));
      if (finished_) return;  // given back by OnDone
      WriteNextLocked();
    }
    void WriteNextLocked() {
      if (writing_ || finished_ || queue_.empty()) return;
      writing_ = true;
      StartWrite(&queue_.front().second);
    }
    void EndLocked(const grpc::Status& st) {
      if (finished_) return;
      finished_ = true;
      Finish(st);
    }
    JobsService* svc_;
    uint64_t id_ = 0;
    std::mutex mu_;
    std::deque<std::pair<JobRow, pb::Job>> queue_;  // mu_: front is being written while writing_
    bool writing_ = false, finished_ = false;       // mu_
  };

  grpc::ServerWriteReactor<pb::Job>* StreamJobs(grpc::CallbackServerContext*,
                                                const pb::StreamJobsRequest* req) override {
    return new JobStream(this, req);
  }

  // ---- completion and thrown errors

  grpc::ServerUnaryReactor* CompleteJob(grpc::CallbackServerContext* ctx, const pb::CompleteJobRequest* req,
                                        pb::CompleteJobResponse* resp) override {
    grpc::ServerUnaryReactor* reactor = ctx->DefaultReactor();
    auto job = Find(req->key());
    if (!job.ok()) {
      reactor->Finish(ToGrpc(job.status()));
      return reactor;
    }
    Answer answer = AnswerFor(reactor, resp);
    if (!JobOpen(job->state)) return AnswerClosed(*job, answer), reactor;
    Status bad = MayFinish(*job, static_cast<int>(req->wait_for()));
    const defs::StepSpec* step = bad.ok() ? StepOf(*job, job->step) : nullptr;
    if (bad.ok() && step == nullptr) bad = NotLoaded(*job, job->step);
    std::optional<Value> output;
    if (bad.ok()) {
      auto v = ObjectOf(req->output_json(), "output_json");
      if (!v.ok()) bad = v.status();
      else output = std::move(*v);
    }
    if (bad.ok()) {
      if (Status st = defs::CheckInput(*step, *output); !st.ok())
        bad = Status::InvalidArgument("output of job '" + job->id + "' as input of step '" + job->step + "': " +
                                      st.message() + "; the job stays " + JobStateName(job->state));
    }
    if (!bad.ok()) {
      reactor->Finish(ToGrpc(bad));
      return reactor;
    }
    std::string text = req->output_json().empty() ? "{}" : req->output_json();
    Propose(*job, job->step, text, req->wait_for() == pb::WAIT_ATTESTED_BY_ALL, req->wait_timeout_ms(), answer);
    return reactor;
  }

  grpc::ServerUnaryReactor* ThrowError(grpc::CallbackServerContext* ctx, const pb::ThrowErrorRequest* req,
                                       pb::ThrowErrorResponse* resp) override {
    grpc::ServerUnaryReactor* reactor = ctx->DefaultReactor();
    auto job = Find(req->key());
    if (!job.ok()) {
      reactor->Finish(ToGrpc(job.status()));
      return reactor;
    }
    Answer answer = AnswerFor(reactor, resp);
    if (!JobOpen(job->state)) return AnswerClosed(*job, answer), reactor;
    Status bad = MayFinish(*job, static_cast<int>(req->wait_for()));
    if (bad.ok()) bad = CheckName(req->error_code(), "error_code");
    if (bad.ok()) bad = CheckMessage(req->error_message());
    const defs::TaskSpec* spec = bad.ok() ? node_->jobs()->SpecOf(*job) : nullptr;
    if (bad.ok() && spec == nullptr) bad = NotLoaded(*job, job->step);
    if (!bad.ok()) {
      reactor->Finish(ToGrpc(bad));
      return reactor;
    }
    const defs::JobError* mapped = spec->FindJobError(req->error_code());
    if (mapped == nullptr) {
      std::string why = "error code '" + req->error_code() + "' is not mapped by job step '" + job->step + "'" +
                        (req->error_message().empty() ? "" : ": " + req->error_message());
      node_->jobs()->RaiseIncident(job->id, kIncidentUnmappedError, why, std::nullopt,
                                   [this, reactor, resp](Result<JobRow> j) {
                                     if (!j.ok()) return reactor->Finish(ToGrpc(j.status()));
                                     FillJob(*j, resp->mutable_job(), false);
                                     FillIncident(*j, resp->mutable_incident());
                                     reactor->Finish(grpc::Status::OK);
                                   });
      return reactor;
    }
    const defs::StepSpec* step = StepOf(*job, mapped->step);
    if (step == nullptr) {
      reactor->Finish(ToGrpc(NotLoaded(*job, mapped->step)));
      return reactor;
    }
    auto vars = ObjectOf(req->variables_json(), "variables_json");
    if (vars.ok()) {
      if (Status st = defs::CheckInput(*step, *vars); !st.ok())
        vars = Status::InvalidArgument("variables of error '" + req->error_code() + "' as input of step '" +
                                       step->name + "': " + st.message());
    }
    if (!vars.ok()) {
      reactor->Finish(ToGrpc(vars.status()));
      return reactor;
    }
    resp->set_step(step->name);
    std::string text = req->variables_json().empty() ? "{}" : req->variables_json();
    bool all = req->wait_for() == pb::WAIT_ATTESTED_BY_ALL;
    uint32_t wait_ms = req->wait_timeout_ms();
    std::string step_name = step->name;
    JobRow j = *job;
    node_->jobs()->NoteThrown(job->id, req->error_code(), req->error_message(),
                              [this, answer, j, step_name, text, all, wait_ms](Result<JobRow> noted) {
                                if (!noted.ok()) return answer.reactor->Finish(ToGrpc(noted.status()));
                                Propose(*noted, step_name, text, all, wait_ms, answer);
                              });
    return reactor;
  }

  // ---- failures, retries, leases

  grpc::ServerUnaryReactor* FailJob(grpc::CallbackServerContext* ctx, const pb::FailJobRequest* req,
                                    pb::Job* resp) override {
    grpc::ServerUnaryReactor* reactor = ctx->DefaultReactor();
    if (Status bad = CheckMessage(req->error_message()); !bad.ok()) {
      reactor->Finish(ToGrpc(bad));
      return reactor;
    }
    std::optional<int64_t> backoff;
    if (req->has_backoff_ms()) backoff = req->backoff_ms();
    node_->jobs()->Fail(req->key(), req->retries(), req->error_message(), backoff, AnswerTo(reactor, resp));
    return reactor;
  }

  grpc::ServerUnaryReactor* UpdateJobRetries(grpc::CallbackServerContext* ctx, const pb::UpdateJobRetriesRequest* req,
                                             pb::Job* resp) override {
    grpc::ServerUnaryReactor* reactor = ctx->DefaultReactor();
    node_->jobs()->UpdateRetries(req->key(), req->retries(), AnswerTo(reactor, resp));
    return reactor;
  }

  grpc::ServerUnaryReactor* UpdateJobTimeout(grpc::CallbackServerContext* ctx, const pb::UpdateJobTimeoutRequest* req,
                                             pb::Job* resp) override {
    grpc::ServerUnaryReactor* reactor = ctx->DefaultReactor();
    node_->jobs()->UpdateTimeout(req->key(), req->timeout_ms(), AnswerTo(reactor, resp));
    return reactor;
  }

  // ---- reading

  grpc::ServerUnaryReactor* GetJob(grpc::CallbackServerContext* ctx, const pb::GetJobRequest* req,
                                   pb::Job* resp) override {
    grpc::ServerUnaryReactor* reactor = ctx->DefaultReactor();
    auto job = Find(req->key());
    if (job.ok()) FillJob(*job, resp, /*variables=*/true);
    reactor->Finish(ToGrpc(job.status()));
    return reactor;
  }

  grpc::ServerUnaryReactor* SearchJobs(grpc::CallbackServerContext* ctx, const pb::SearchJobsRequest* req,
                                       pb::SearchJobsResponse* resp) override {
    grpc::ServerUnaryReactor* reactor = ctx->DefaultReactor();
    JobQuery q;
    q.type = req->type();
    q.instance = req->instance_id();
    q.definition = req->definition();
    for (int s : req->states()) {
      auto state = StateFromPb(s);
      if (!state) {
        reactor->Finish(grpc::Status(grpc::INVALID_ARGUMENT, "unknown job state " + std::to_string(s)));
        return reactor;
      }
      q.states.push_back(*state);
    }
    int64_t size = 0;
    if (grpc::Status bad = Page(req->page_size(), req->page_token(), &q.offset, &size); !bad.ok()) {
      reactor->Finish(bad);
      return reactor;
    }
    q.limit = size + 1;
    auto rows = node_->jobs()->Search(q);
    if (!rows.ok()) {
      reactor->Finish(ToGrpc(rows.status()));
      return reactor;
    }
    if (static_cast<int64_t>(rows->size()) > size) resp->set_next_page_token(std::to_string(q.offset + size));
    for (int64_t n = 0; n < static_cast<int64_t>(rows->size()) && n < size; ++n)
      FillJob((*rows)[n], resp->add_jobs(), /*variables=*/false);
    reactor->Finish(grpc::Status::OK);
    return reactor;
  }

  grpc::ServerUnaryReactor* ListIncidents(grpc::CallbackServerContext* ctx, const pb::ListIncidentsRequest* req,
                                          pb::ListIncidentsResponse* resp) override {
    grpc::ServerUnaryReactor* reactor = ctx->DefaultReactor();
    int64_t offset = 0, size = 0;
    if (grpc::Status bad = Page(req->page_size(), req->page_token(), &offset, &size); !bad.ok()) {
      reactor->Finish(bad);
      return reactor;
    }
    auto rows = node_->Incidents(req->type(), req->instance_id(), size + 1, offset);
    if (!rows.ok()) {
      reactor->Finish(ToGrpc(rows.status()));
      return reactor;
    }
    if (static_cast<int64_t>(rows->size()) > size) resp->set_next_page_token(std::to_string(offset + size));
    for (int64_t n = 0; n < static_cast<int64_t>(rows->size()) && n < size; ++n)
      FillIncident((*rows)[n], resp->add_incidents());
    reactor->Finish(grpc::Status::OK);
    return reactor;
  }

  grpc::ServerUnaryReactor* ResolveIncident(grpc::CallbackServerContext* ctx, const pb::ResolveIncidentRequest* req,
                                            pb::Incident* resp) override {
    grpc::ServerUnaryReactor* reactor = ctx->DefaultReactor();
    node_->jobs()->ResolveIncident(req->incident_id(), [this, reactor, resp](Result<JobRow> j) {
      if (!j.ok()) return reactor->Finish(ToGrpc(j.status()));
      FillIncident(*j, resp);
      resp->set_resolved(true);
      resp->set_resolved_ms(j->updated_ms);
      reactor->Finish(grpc::Status::OK);
    });
    return reactor;
  }

 private:
  // Where a completion's or thrown error's answer goes: the call, its
  // job, and the proposal's fields of either response.
  struct Answer {
    grpc::ServerUnaryReactor* reactor;
    pb::Job* job;
    std::function<void(const ProposalRow&)> set;
    std::function<pb::Instance*()> instance;
    std::function<pb::AttestationStatus*()> attestation;
  };
  template <typename Resp>
  static Answer AnswerFor(grpc::ServerUnaryReactor* reactor, Resp* resp) {
    Answer a;
    a.reactor = reactor;
    a.job = resp->mutable_job();
    a.set = [resp](const ProposalRow& p) {
      resp->set_proposal_id(p.id);
      resp->set_outcome(OutcomeOf(p.status));
      resp->set_ledger_height(static_cast<uint64_t>(p.height));
    };
    a.instance = [resp] { return resp->mutable_instance(); };
    a.attestation = [resp] { return resp->mutable_attestation(); };
    return a;
  }
  static void Finish(const Answer& a, const grpc::Status& st) { a.reactor->Finish(st); }

  Status CheckLease(int64_t ms) const {
    if (ms < 0 || ms > JobBook::kMaxLeaseMs)
      return Status::InvalidArgument("timeout_ms must be from 0 (the definition's) to " +
                                     std::to_string(JobBook::kMaxLeaseMs) + ", not " + std::to_string(ms));
    return Status::Ok();
  }

  static grpc::Status Page(int32_t page_size, const std::string& token, int64_t* offset, int64_t* size) {
    *size = page_size <= 0 ? 50 : std::min(page_size, 1000);
    *offset = 0;
    if (token.empty()) return grpc::Status::OK;
    char* end = nullptr;
    *offset = std::strtoll(token.c_str(), &end, 10);
    if (*end != '\0' || *offset < 0 || *offset > kMaxOffset)
      return grpc::Status(grpc::INVALID_ARGUMENT, "invalid page_token");
    return grpc::Status::OK;
  }

  Result<JobRow> Find(const std::string& key) {
    if (key.empty()) return Status::InvalidArgument("key is required");
    TREATY_ASSIGN_OR_RETURN(auto j, node_->jobs()->Get(key));
    if (!j) return Status::NotFound("no job '" + key + "' at party " + node_->options().party);
    return std::move(*j);
  }

  const defs::StepSpec* StepOf(const JobRow& j, const std::string& step) {
    auto def = node_->registry()->Find(j.definition, j.version);
    return def ? def->model().FindStep(step) : nullptr;
  }

  static Status NotLoaded(const JobRow& j, const std::string& step) {
    return Status::FailedPrecondition("definition " + j.definition + " v" + std::to_string(j.version) +
                                      " with step '" + step + "' is not loaded on this node");
  }

  static Status MayFinish(const JobRow& j, int wait_for) {
    if (j.state == JobState::kIncident)
      return Status::FailedPrecondition("job '" + j.id + "' has an open incident '" + j.IncidentId() + "' (" +
                                        j.incident_message + "); resolve it first");
    if (wait_for != pb::WAIT_CONFIRMED_HERE && wait_for != pb::WAIT_ATTESTED_BY_ALL)
      return Status::InvalidArgument("unknown wait_for " + std::to_string(wait_for));
    return Status::Ok();
  }

  void FillJob(const JobRow& j, pb::Job* out, bool variables) {
    out->set_key(j.id);
    out->set_type(j.type);
    out->set_instance_id(j.instance);
    out->set_definition(j.definition);
    out->set_version(j.version);
    out->set_step(j.step);
    out->set_state(StateToPb(j.state));
    out->set_retries(static_cast<int32_t>(j.retries));
    out->set_worker(j.worker);
    out->set_deadline_ms(j.deadline_ms);
    out->set_retry_at_ms(j.retry_at_ms);
    out->set_error_message(j.error_message);
    out->set_error_code(j.error_code);
    if (j.state == JobState::kIncident) out->set_incident_id(j.IncidentId());
    out->set_position(static_cast<uint64_t>(j.position));
    out->set_created_ms(j.created_ms);
    out->set_created_height(static_cast<uint64_t>(j.created_height));
    out->set_closed_ms(j.closed_ms);
    out->set_closed_height(static_cast<uint64_t>(j.closed_height));
    out->set_close_reason(j.close_reason);
    out->set_closed_by(j.closed_by);
    out->set_updated_ms(j.updated_ms);
    out->set_failures(static_cast<int32_t>(j.failures));
    out->set_opened_ms(j.opened_ms);
    if (const defs::TaskSpec* spec = node_->jobs()->SpecOf(j)) {
      for (const auto& [k, v] : spec->job_headers) (*out->mutable_headers())[k] = v;
    }
    if (!variables) return;
    auto inst = node_->GetInstance(j.instance);
    out->set_variables_json(inst.ok() && *inst ? (*inst)->data_json : "{}");
  }

  static void FillIncident(const JobRow& j, pb::Incident* out) {
    out->set_incident_id(j.IncidentId());
    out->set_job_key(j.id);
    out->set_type(j.type);
    out->set_instance_id(j.instance);
    out->set_definition(j.definition);
    out->set_step(j.step);
    out->set_kind(j.incident_kind);
    out->set_message(j.incident_message);
    out->set_raised_ms(j.incident_ms);
    out->set_retries(static_cast<int32_t>(j.retries));
  }

  JobBook::Done AnswerTo(grpc::ServerUnaryReactor* reactor, pb::Job* resp) {
    return [this, reactor, resp](Result<JobRow> j) {
      if (!j.ok()) return reactor->Finish(ToGrpc(j.status()));
      FillJob(*j, resp, /*variables=*/false);
      reactor->Finish(grpc::Status::OK);
    };
  }

  // A closed job answers a completion or thrown error with the one step
  // that closed it (completed, error_thrown), or why it was cancelled.
  void AnswerClosed(const JobRow& j, const Answer& a) {
    FillJob(j, a.job, false);
    if (j.state == JobState::kCancelled)
      return Finish(a, grpc::Status(grpc::FAILED_PRECONDITION, "job '" + j.id + "' is cancelled: " + j.close_reason));
    auto p = node_->GetProposal(j.closed_by);
    if (!p.ok()) return Finish(a, ToGrpc(p.status()));
    if (*p) {
      a.set(**p);
      auto inst = node_->GetInstance(j.instance);
      if (inst.ok() && *inst) FillInstance(**inst, a.instance());
    }
    Finish(a, grpc::Status::OK);
  }

  // Proposes `step` for the job with its completion key. A key another
  // worker used already (with its own input) answers with that proposal's
  // outcome: the request it recorded is proposed again, which the
  // idempotency key turns into the same proposal.
  void Propose(const JobRow& j, const std::string& step, const std::string& input, bool all, uint32_t wait_ms,
               const Answer& a, int round = 0) {
    StepArgs args;
    args.instance_id = j.instance;
    args.step = step;
    args.input_json = input;
    args.idempotency_key = JobBook::CompletionKey(j);
    args.wait = true;
    args.timeout = std::chrono::milliseconds(wait_ms);
    if (round > 0) {
      // Another completion used the key with its own input first: propose
      // what it recorded, which the key turns into its proposal.
      auto known = node_->IdempotencyKey(args.idempotency_key);
      if (!known.ok()) return Finish(a, ToGrpc(known.status()));
      if (!*known) return Finish(a, grpc::Status(grpc::INTERNAL, "idempotency key of job '" + j.id + "' vanished"));
      auto recorded = json::parse((*known)->request, nullptr, false);
      if (recorded.is_object() && recorded.contains("step") && recorded.contains("input")) {
        args.step = recorded["step"].get<std::string>();
        args.input_json = recorded["input"].is_string() ? recorded["input"].get<std::string>()
                                                        : recorded["input"].dump();
      }
    }
    auto deadline = std::chrono::steady_clock::now() +
                    (args.timeout.count() > 0 ? args.timeout : node_->options().wait_timeout);
    auto finish = [this, a, j, step, input, all, wait_ms, deadline, round](Result<ProposalRow> p) {
      if (!p.ok()) {
        if (p.status().code() == StatusCode::kAlreadyExists && round == 0)
          return Propose(j, step, input, all, wait_ms, a, 1);  // another worker's came first
        // Refused before proposing (a guard, a conflicting state): nothing
        // was proposed and the job is as it was.
        return Finish(a, ToGrpc(Status(p.status().code(), p.status().message() + "; job '" + j.id + "' stays " +
                                                                JobStateName(j.state))));
      }
      Proposed(std::move(*p), j, all, deadline, a);
    };
    if (all) blocking_.Run([this, args, finish] { finish(node_->TriggerStep(args)); });
    else node_->TriggerStepAsync(args, finish);
  }

  void Proposed(ProposalRow p, const JobRow& j, bool all, std::chrono::steady_clock::time_point deadline,
                const Answer& a) {
    a.set(p);
    std::string attested;
    std::optional<pb::AttestationStatus> attestation;
    if (auto st = AwaitAttestations(node_, all, true, deadline, p, &attestation, &attested); !st.ok())
      return Finish(a, st);
    if (attestation) *a.attestation() = std::move(*attestation);
    if (p.instance_after) FillInstance(*p.instance_after, a.instance());
    if (p.status == ProposalStatus::kRejected) {
      // Rejected at the ledger: a machine would only try the same again,
      // so a person looks at it (an incident); the next try is a new key.
      std::string why = "step '" + p.step + "' was rejected at ledger height " + std::to_string(p.height) + ": " +
                        p.reason;
      node_->jobs()->RaiseIncident(j.id, kIncidentStepRejected, why, j.attempts,
                                   [this, a, p, why, attested](Result<JobRow> noted) {
                                     if (noted.ok()) FillJob(*noted, a.job, false);
                                     std::string after = noted.ok() ? "; incident '" + noted->IncidentId() + "' raised"
                                                                    : "; raising the incident failed: " +
                                                                          noted.status().ToString();
                                     Finish(a, RejectedStatus(p, why + attested + after));
                                   });
      return;
    }
    if (p.status == ProposalStatus::kConfirmed && p.instance_after && p.instance_after->position == j.position + 1) {
      // The step came right after the job's state was entered: the applier
      // closed the job by it, in the same transaction, as this says.
      JobRow done = j;
      done.state = p.step == j.step ? JobState::kCompleted : JobState::kErrorThrown;
      done.closed_by = p.id;
      done.closed_height = p.height;
      done.closed_ms = p.applied_ms;
      done.deadline_ms = 0;
      FillJob(done, a.job, false);
      return Finish(a, grpc::Status::OK);
    }
    auto now = node_->jobs()->Get(j.id);
    FillJob(now.ok() && *now ? **now : j, a.job, false);
    Finish(a, grpc::Status::OK);
  }

  Node* node_;
  BlockingPool blocking_;
};

}  // namespace

std::unique_ptr<grpc::Service> MakeJobsService(Node* node) { return std::make_unique<JobsService>(node); }

}  // namespace treaty::engine
