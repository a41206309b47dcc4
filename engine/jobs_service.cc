// The Jobs service (proto/treaty/v1/treaty.proto): job workers over the
// node's JobBook. Activations, failures, retries, leases and incidents are
// the JobBook's local transactions, answered after their commit on its
// thread; CompleteJob and ThrowError propose a step like TriggerStep, with
// the job's completion key as idempotency key, holding no thread while it
// is ordered and applied.
#include <cstdlib>

#include "definitions/schema.h"
#include "engine/job_messages.h"
#include "engine/job_stream.h"
#include "engine/service_util.h"
#include "engine/services.h"
#include "treaty/v1/treaty.grpc.pb.h"

namespace treaty::engine {
namespace {

using namespace service;  // NOLINT: the services' shared vocabulary

using JobsBase = pb::Jobs::CallbackService;
using Use = access::Authorizer::Use;

class JobsService final : public JobsBase {
 public:
  JobsService(Node* node, const access::Authorizer& auth, std::shared_ptr<StreamLimiter> streams)
      : node_(node), auth_(auth), streams_(std::move(streams)), blocking_(4) {}

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
    if (grpc::Status refused = auth_.JobType(*ctx, req->type(), Use::kWork, "activate"); !refused.ok()) {
      reactor->Finish(refused);
      return reactor;
    }
    JobBook::Activation a;
    a.type = req->type();
    a.worker = req->worker();
    a.max_jobs = req->max_jobs();
    a.lease_ms = req->timeout_ms();
    a.wait_ms = req->request_timeout_ms();
    node_->jobs()->Activate(a, [this, ctx, reactor, resp](Result<std::vector<JobRow>> rows) {
      if (!rows.ok()) return reactor->Finish(ToGrpc(rows.status()));
      if (!rows->empty() && ctx->IsCancelled()) {
        // The caller gave up waiting (its deadline, a cancel): the jobs go
        // back at once rather than sit leased to nobody.
        node_->jobs()->Unsubscribe(0, *rows);
        return reactor->Finish(grpc::Status::CANCELLED);
      }
      for (const auto& j : *rows) FillJob(node_, j, resp->add_jobs(), /*variables=*/true);
      reactor->Finish(grpc::Status::OK);
    });
    return reactor;
  }

  grpc::ServerWriteReactor<pb::Job>* StreamJobs(grpc::CallbackServerContext* ctx,
                                                const pb::StreamJobsRequest* req) override {
    if (grpc::Status refused = auth_.JobType(*ctx, req->type(), Use::kWork, "activate"); !refused.ok())
      return new RefusedJobStream(refused);
    auto slot = AcquireStream(node_, streams_.get(), auth_, *ctx, "StreamJobs");
    if (!slot.ok()) return new RefusedJobStream(ToGrpc(slot.status()));
    return new JobStream(node_, req, std::move(slot).value());
  }

  // ---- completion and thrown errors

  // Once an activation of the job still being written is (so its record
  // and event come before the step that closes it): `next` with the job
  // if it is open and may be finished by this call; otherwise the call is
  // answered here (unknown, closed: the step that closed it, an incident).
  template <typename Req, typename Resp, typename Next>
  grpc::ServerUnaryReactor* WithOpenJob(grpc::CallbackServerContext* ctx, const Req* req, Resp* resp, const char* verb,
                                        Next next) {
    grpc::ServerUnaryReactor* reactor = ctx->DefaultReactor();
    node_->jobs()->Settled(req->key(), [this, ctx, reactor, req, resp, verb, next] {
      auto job = Find(req->key());
      if (!job.ok()) return reactor->Finish(ToGrpc(job.status()));
      if (grpc::Status refused = auth_.JobType(*ctx, job->type, Use::kWork, verb); !refused.ok())
        return reactor->Finish(refused);
      Answer answer = AnswerFor(reactor, resp);
      if (!JobOpen(job->state)) return AnswerClosed(*job, answer);
      if (Status bad = MayFinish(*job, static_cast<int>(req->wait_for())); !bad.ok())
        return reactor->Finish(ToGrpc(bad));
      next(*job, answer);
    });
    return reactor;
  }

  grpc::ServerUnaryReactor* CompleteJob(grpc::CallbackServerContext* ctx, const pb::CompleteJobRequest* req,
                                        pb::CompleteJobResponse* resp) override {
    return WithOpenJob(ctx, req, resp, "complete",
                       [this, req](const JobRow& j, const Answer& a) { CompleteOpen(j, req, a); });
  }

  void CompleteOpen(const JobRow& j, const pb::CompleteJobRequest* req, const Answer& answer) {
    const JobRow* job = &j;
    grpc::ServerUnaryReactor* reactor = answer.reactor;
    Status bad = Status::Ok();
    const defs::StepSpec* step = bad.ok() ? StepOf(node_, *job, job->step) : nullptr;
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
      return;
    }
    std::string text = req->output_json().empty() ? "{}" : req->output_json();
    Propose(*job, job->step, text, req->wait_for() == pb::WAIT_ATTESTED_BY_ALL, req->wait_timeout_ms(), answer);
  }

  grpc::ServerUnaryReactor* ThrowError(grpc::CallbackServerContext* ctx, const pb::ThrowErrorRequest* req,
                                       pb::ThrowErrorResponse* resp) override {
    return WithOpenJob(ctx, req, resp, "throw errors of",
                       [this, req, resp](const JobRow& j, const Answer& a) { ThrowOpen(j, req, resp, a); });
  }

  void ThrowOpen(const JobRow& open_job, const pb::ThrowErrorRequest* req, pb::ThrowErrorResponse* resp,
                 const Answer& answer) {
    const JobRow* job = &open_job;
    grpc::ServerUnaryReactor* reactor = answer.reactor;
    Status bad = CheckName(req->error_code(), "error_code");
    if (bad.ok()) bad = CheckMessage(req->error_message());
    const defs::TaskSpec* spec = bad.ok() ? node_->jobs()->SpecOf(*job) : nullptr;
    if (bad.ok() && spec == nullptr) bad = NotLoaded(*job, job->step);
    if (!bad.ok()) {
      reactor->Finish(ToGrpc(bad));
      return;
    }
    const defs::JobError* mapped = spec->FindJobError(req->error_code());
    if (mapped == nullptr) {
      std::string why = "error code '" + req->error_code() + "' is not mapped by job step '" + job->step + "'" +
                        (req->error_message().empty() ? "" : ": " + req->error_message());
      node_->jobs()->RaiseIncident(job->id, kIncidentUnmappedError, why, std::nullopt,
                                   [this, reactor, resp](Result<JobRow> j) {
                                     if (!j.ok()) return reactor->Finish(ToGrpc(j.status()));
                                     FillJob(node_, *j, resp->mutable_job(), false);
                                     FillIncident(*j, resp->mutable_incident());
                                     reactor->Finish(grpc::Status::OK);
                                   });
      return;
    }
    const defs::StepSpec* step = StepOf(node_, *job, mapped->step);
    if (step == nullptr) {
      reactor->Finish(ToGrpc(NotLoaded(*job, mapped->step)));
      return;
    }
    auto vars = ObjectOf(req->variables_json(), "variables_json");
    if (vars.ok()) {
      if (Status st = defs::CheckInput(*step, *vars); !st.ok())
        vars = Status::InvalidArgument("variables of error '" + req->error_code() + "' as input of step '" +
                                       step->name + "': " + st.message());
    }
    if (!vars.ok()) {
      reactor->Finish(ToGrpc(vars.status()));
      return;
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
  }

  // ---- failures, retries, leases

  grpc::ServerUnaryReactor* FailJob(grpc::CallbackServerContext* ctx, const pb::FailJobRequest* req,
                                    pb::Job* resp) override {
    grpc::ServerUnaryReactor* reactor = ctx->DefaultReactor();
    if (Status bad = CheckMessage(req->error_message()); !bad.ok()) {
      reactor->Finish(ToGrpc(bad));
      return reactor;
    }
    if (grpc::Status refused = MayUse(*ctx, req->key(), Use::kWork, "fail"); !refused.ok()) {
      reactor->Finish(refused);
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
    if (grpc::Status refused = MayUse(*ctx, req->key(), Use::kAdminister, "update the retries of"); !refused.ok()) {
      reactor->Finish(refused);
      return reactor;
    }
    node_->jobs()->UpdateRetries(req->key(), req->retries(), AnswerTo(reactor, resp));
    return reactor;
  }

  grpc::ServerUnaryReactor* UpdateJobTimeout(grpc::CallbackServerContext* ctx, const pb::UpdateJobTimeoutRequest* req,
                                             pb::Job* resp) override {
    grpc::ServerUnaryReactor* reactor = ctx->DefaultReactor();
    if (grpc::Status refused = MayUse(*ctx, req->key(), Use::kAdminister, "update the lease of"); !refused.ok()) {
      reactor->Finish(refused);
      return reactor;
    }
    node_->jobs()->UpdateTimeout(req->key(), req->timeout_ms(), AnswerTo(reactor, resp));
    return reactor;
  }

  // ---- reading

  grpc::ServerUnaryReactor* GetJob(grpc::CallbackServerContext* ctx, const pb::GetJobRequest* req,
                                   pb::Job* resp) override {
    grpc::ServerUnaryReactor* reactor = ctx->DefaultReactor();
    auto job = Find(req->key());
    if (job.ok()) {
      if (grpc::Status refused = auth_.JobType(*ctx, job->type, Use::kRead, "read"); !refused.ok()) {
        reactor->Finish(refused);
        return reactor;
      }
      FillJob(node_, *job, resp, /*variables=*/true);
    }
    reactor->Finish(ToGrpc(job.status()));
    return reactor;
  }

  grpc::ServerUnaryReactor* SearchJobs(grpc::CallbackServerContext* ctx, const pb::SearchJobsRequest* req,
                                       pb::SearchJobsResponse* resp) override {
    grpc::ServerUnaryReactor* reactor = ctx->DefaultReactor();
    grpc::Status refused = req->type().empty()
                               ? auth_.ReadAll(*ctx, "search the jobs of every type (name one in 'type')")
                               : auth_.JobType(*ctx, req->type(), Use::kRead, "read");
    if (!refused.ok()) {
      reactor->Finish(refused);
      return reactor;
    }
    JobQuery q;
    q.type = req->type();
    q.instance = req->instance_id();
    q.definition = req->definition();
    for (int s : req->states()) {
      auto state = JobStateFromPb(s);
      if (!state) {
        reactor->Finish(grpc::Status(grpc::INVALID_ARGUMENT, "unknown job state " + std::to_string(s)));
        return reactor;
      }
      q.states.push_back(*state);
    }
    int64_t size = 0;
    if (grpc::Status bad = ParsePage(req->page_size(), req->page_token(), &q.offset, &size); !bad.ok()) {
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
      FillJob(node_, (*rows)[n], resp->add_jobs(), /*variables=*/false);
    reactor->Finish(grpc::Status::OK);
    return reactor;
  }

  grpc::ServerUnaryReactor* ListIncidents(grpc::CallbackServerContext* ctx, const pb::ListIncidentsRequest* req,
                                          pb::ListIncidentsResponse* resp) override {
    grpc::ServerUnaryReactor* reactor = ctx->DefaultReactor();
    if (grpc::Status refused = auth_.Node(*ctx, "list incidents", /*read=*/true); !refused.ok()) {
      reactor->Finish(refused);
      return reactor;
    }
    int64_t offset = 0, size = 0;
    if (grpc::Status bad = ParsePage(req->page_size(), req->page_token(), &offset, &size); !bad.ok()) {
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
    if (grpc::Status refused = auth_.Node(*ctx, "resolve incidents", /*read=*/false); !refused.ok()) {
      reactor->Finish(refused);
      return reactor;
    }
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
  // The permission to use the job's type; skipped without authentication.
  // An unknown job is the call's own to answer (NOT_FOUND).
  grpc::Status MayUse(const grpc::CallbackServerContext& ctx, const std::string& key, Use use, const char* verb) {
    if (auth_.open()) return grpc::Status::OK;
    auto job = Find(key);
    if (!job.ok()) return grpc::Status::OK;
    return auth_.JobType(ctx, job->type, use, verb);
  }

  Result<JobRow> Find(const std::string& key) {
    if (key.empty()) return Status::InvalidArgument("key is required");
    TREATY_ASSIGN_OR_RETURN(auto j, node_->jobs()->Get(key));
    if (!j) return Status::NotFound("no job '" + key + "' at party " + node_->options().party);
    return std::move(*j);
  }

  JobBook::Done AnswerTo(grpc::ServerUnaryReactor* reactor, pb::Job* resp) {
    return [this, reactor, resp](Result<JobRow> j) {
      if (!j.ok()) return reactor->Finish(ToGrpc(j.status()));
      FillJob(node_, *j, resp, /*variables=*/false);
      reactor->Finish(grpc::Status::OK);
    };
  }

  // A closed job answers a completion or thrown error with the one step
  // that closed it (completed, error_thrown), or why it was cancelled.
  void AnswerClosed(const JobRow& j, const Answer& a) {
    FillJob(node_, j, a.job, false);
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
                                     if (noted.ok()) FillJob(node_, *noted, a.job, false);
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
      FillJob(node_, done, a.job, false);
      return Finish(a, grpc::Status::OK);
    }
    auto now = node_->jobs()->Get(j.id);
    FillJob(node_, now.ok() && *now ? **now : j, a.job, false);
    Finish(a, grpc::Status::OK);
  }

  Node* node_;
  const access::Authorizer& auth_;
  std::shared_ptr<StreamLimiter> streams_;
  BlockingPool blocking_;
};

}  // namespace

std::unique_ptr<grpc::Service> MakeJobsService(Node* node, const access::Authorizer& authorizer,
                                               std::shared_ptr<StreamLimiter> streams) {
  if (!streams) streams = std::make_shared<StreamLimiter>(node->options().limits.max_streams_per_client);
  return std::make_unique<JobsService>(node, authorizer, std::move(streams));
}

}  // namespace treaty::engine
