// The Tasks service (proto/treaty/v1/treaty.proto): human task queues over
// the node's TaskBook. Reads go to the store's readers; claims and the
// like are the TaskBook's local transactions; CompleteTask proposes the
// task's step like TriggerStep, without holding a thread while it waits.
#include <cstdlib>
#include <limits>

#include "definitions/input_schema.h"
#include "definitions/schema.h"
#include "engine/service_util.h"
#include "engine/services.h"
#include "treaty/v1/treaty.grpc.pb.h"

namespace treaty::engine {
namespace {

using namespace service;  // NOLINT: the services' shared vocabulary

pb::TaskState StateToPb(TaskState s) {
  switch (s) {
    case TaskState::kOpen: return pb::TASK_OPEN;
    case TaskState::kClaimed: return pb::TASK_CLAIMED;
    case TaskState::kCompleted: return pb::TASK_COMPLETED;
    case TaskState::kCancelled: return pb::TASK_CANCELLED;
  }
  return pb::TASK_STATE_UNSPECIFIED;
}

std::optional<TaskState> StateFromPb(int s) {
  switch (s) {
    case pb::TASK_OPEN: return TaskState::kOpen;
    case pb::TASK_CLAIMED: return TaskState::kClaimed;
    case pb::TASK_COMPLETED: return TaskState::kCompleted;
    case pb::TASK_CANCELLED: return TaskState::kCancelled;
    default: return std::nullopt;
  }
}

// Every method on gRPC's callback API. The reads run inline on its
// callback thread (short, never waiting for the writer); a claim or update
// is queued for the TaskBook's writer thread, which answers it after the
// commit it shares with the others queued; a completion holds no thread
// while its step is ordered and applied.
using TasksBase = pb::Tasks::CallbackService;

class TasksService final : public TasksBase {
 public:
  TasksService(Node* node, const access::Authorizer& auth) : node_(node), auth_(auth), blocking_(4) {}
  using Use = access::Authorizer::Use;

  // The reads, answered inline (the callback methods below finish with them).
  grpc::Status AnswerSearch(const pb::SearchTasksRequest* req, pb::SearchTasksResponse* resp) {
    TaskQuery q;
    q.queue = req->queue();
    q.assignee = req->assignee();
    q.candidate_group = req->candidate_group();
    q.candidate_user = req->candidate_user();
    q.definition = req->definition();
    q.instance = req->instance_id();
    for (int s : req->states()) {
      auto state = StateFromPb(s);
      if (!state) return grpc::Status(grpc::INVALID_ARGUMENT, "unknown task state " + std::to_string(s));
      q.states.push_back(*state);
    }
    if (req->has_due_before()) q.due_before = req->due_before();
    if (req->has_due_after()) q.due_after = req->due_after();
    for (auto [has, v, name] : {std::tuple{req->has_priority_min(), req->priority_min(), "priority_min"},
                                std::tuple{req->has_priority_max(), req->priority_max(), "priority_max"}}) {
      if (has && (v < 0 || v > 100))
        return grpc::Status(grpc::INVALID_ARGUMENT,
                            std::string(name) + " must be from 0 to 100, not " + std::to_string(v));
    }
    if (req->has_priority_min()) q.priority_min = req->priority_min();
    if (req->has_priority_max()) q.priority_max = req->priority_max();
    switch (req->order_by()) {
      case pb::TASK_ORDER_CREATED: q.order = TaskQuery::Order::kCreated; break;
      case pb::TASK_ORDER_DUE: q.order = TaskQuery::Order::kDue; break;
      case pb::TASK_ORDER_PRIORITY: q.order = TaskQuery::Order::kPriority; break;
      default:
        return grpc::Status(grpc::INVALID_ARGUMENT, "unknown order_by " + std::to_string(req->order_by()));
    }
    q.descending = req->descending();
    int64_t size = 0;
    if (grpc::Status bad = ParsePage(req->page_size(), req->page_token(), &q.offset, &size); !bad.ok()) return bad;
    q.limit = size + 1;
    int64_t matched = 0;
    auto rows = node_->SearchTasks(q, &matched);
    if (!rows.ok()) return ToGrpc(rows.status());
    // The next page is there if the query named more than this one holds,
    // even when a task named changed since and is left out of this page.
    if (matched > size) resp->set_next_page_token(std::to_string(q.offset + size));
    LabelCache labels;
    for (int64_t n = 0; n < static_cast<int64_t>(rows->size()) && n < size; ++n) {
      FillTask((*rows)[n], resp->add_tasks(), &labels);
    }
    return grpc::Status::OK;
  }

  grpc::Status AnswerGet(const grpc::CallbackServerContext& ctx, const pb::GetTaskRequest* req,
                         pb::GetTaskResponse* resp) {
    auto t = Find(req->task_id());
    if (!t.ok()) return ToGrpc(t.status());
    if (grpc::Status refused = auth_.Queue(ctx, t->queue, Use::kRead, "read"); !refused.ok()) return refused;
    FillTask(*t, resp->mutable_task());
    auto inst = node_->GetInstance(t->instance);
    if (!inst.ok()) return ToGrpc(inst.status());
    if (*inst) FillInstance(**inst, resp->mutable_instance());
    const defs::StepSpec* step = StepOf(*t);
    resp->set_form_json("{}");
    if (step != nullptr) {
      resp->set_step_description(step->description);
      FillForm(*step, resp);
    }
    return grpc::Status::OK;
  }

  grpc::ServerUnaryReactor* ClaimTask(grpc::CallbackServerContext* ctx, const pb::ClaimTaskRequest* req,
                                       pb::Task* resp) override {
    grpc::ServerUnaryReactor* reactor = ctx->DefaultReactor();
    std::string assignee = req->assignee();
    grpc::Status refused = Checked(*ctx, req->task_id(), Use::kWork, "claim", [&](const TaskRow& t) {
      grpc::Status st = auth_.Assignee(*ctx, req->assignee(), "claim tasks", &assignee);
      if (st.ok() && req->allow_override()) st = auth_.Holder(*ctx, t.assignee, "take over");
      return st;
    });
    if (refused.ok() && assignee.empty())  // no --assignee, and no user in the caller's token
      refused = grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                             "an assignee is required: name one, or call with a token whose entry names a user");
    if (!refused.ok()) {
      reactor->Finish(refused);
      return reactor;
    }
    node_->tasks()->Claim(req->task_id(), assignee, req->allow_override(), AnswerTo(reactor, resp));
    return reactor;
  }

  grpc::ServerUnaryReactor* UnclaimTask(grpc::CallbackServerContext* ctx, const pb::UnclaimTaskRequest* req,
                                       pb::Task* resp) override {
    grpc::ServerUnaryReactor* reactor = ctx->DefaultReactor();
    grpc::Status refused = Checked(*ctx, req->task_id(), Use::kAdminister, "unclaim", [&](const TaskRow& t) {
      return auth_.Holder(*ctx, t.assignee, "unclaim");
    });
    if (!refused.ok()) {
      reactor->Finish(refused);
      return reactor;
    }
    node_->tasks()->Unclaim(req->task_id(), AnswerTo(reactor, resp));
    return reactor;
  }

  grpc::ServerUnaryReactor* AssignTask(grpc::CallbackServerContext* ctx, const pb::AssignTaskRequest* req,
                                       pb::Task* resp) override {
    grpc::ServerUnaryReactor* reactor = ctx->DefaultReactor();
    std::string assignee = req->assignee();
    grpc::Status refused = Checked(*ctx, req->task_id(), Use::kAdminister, "assign", [&](const TaskRow& t) {
      // An empty assignee unassigns: the holder's to give up, or an operator's.
      return req->assignee().empty() ? auth_.Holder(*ctx, t.assignee, "unassign")
                                     : auth_.Assignee(*ctx, req->assignee(), "assign tasks", &assignee);
    });
    if (!refused.ok()) {
      reactor->Finish(refused);
      return reactor;
    }
    node_->tasks()->Assign(req->task_id(), assignee, AnswerTo(reactor, resp));
    return reactor;
  }

  grpc::ServerUnaryReactor* UpdateTask(grpc::CallbackServerContext* ctx, const pb::UpdateTaskRequest* req,
                                       pb::Task* resp) override {
    grpc::ServerUnaryReactor* reactor = ctx->DefaultReactor();
    TaskBook::Changes c;
    if (grpc::Status bad = UpdateChanges(req, &c); !bad.ok()) {
      reactor->Finish(bad);
      return reactor;
    }
    grpc::Status refused =
        Checked(*ctx, req->task_id(), Use::kAdminister, "update", [](const TaskRow&) { return grpc::Status::OK; });
    if (!refused.ok()) {
      reactor->Finish(refused);
      return reactor;
    }
    node_->tasks()->Update(req->task_id(), c, AnswerTo(reactor, resp));
    return reactor;
  }

  // What an UpdateTask request changes; INVALID_ARGUMENT for a
  // contradiction (the ranges are the TaskBook's to check).
  static grpc::Status UpdateChanges(const pb::UpdateTaskRequest* req, TaskBook::Changes* out) {
    TaskBook::Changes& c = *out;
    if (req->has_due_ms() && req->clear_due())
      return grpc::Status(grpc::INVALID_ARGUMENT, "due_ms and clear_due together: set one");
    if (req->has_follow_up_ms() && req->clear_follow_up())
      return grpc::Status(grpc::INVALID_ARGUMENT, "follow_up_ms and clear_follow_up together: set one");
    for (auto [has, v] : {std::pair{req->has_due_ms(), req->due_ms()}, std::pair{req->has_follow_up_ms(), req->follow_up_ms()}})
      if (has && (v < 0 || v >= std::numeric_limits<int64_t>::max()))
        return grpc::Status(grpc::INVALID_ARGUMENT, "a date is ms of ledger time from 0, not " + std::to_string(v));
    if (req->has_due_ms()) c.due_ms = std::optional<int64_t>(req->due_ms());
    if (req->clear_due()) c.due_ms = std::optional<int64_t>();
    if (req->has_follow_up_ms()) c.follow_up_ms = std::optional<int64_t>(req->follow_up_ms());
    if (req->clear_follow_up()) c.follow_up_ms = std::optional<int64_t>();
    if (req->has_priority()) c.priority = req->priority();
    if (req->has_candidate_groups())
      c.candidate_groups = std::vector<std::string>(req->candidate_groups().names().begin(),
                                                    req->candidate_groups().names().end());
    if (req->has_candidate_users())
      c.candidate_users = std::vector<std::string>(req->candidate_users().names().begin(),
                                                   req->candidate_users().names().end());
    return grpc::Status::OK;
  }

  grpc::ServerUnaryReactor* SearchTasks(grpc::CallbackServerContext* ctx, const pb::SearchTasksRequest* req,
                                         pb::SearchTasksResponse* resp) override {
    grpc::ServerUnaryReactor* reactor = ctx->DefaultReactor();
    grpc::Status refused = req->queue().empty()
                               ? auth_.ReadAll(*ctx, "search the tasks of every queue (name one in 'queue')")
                               : auth_.Queue(*ctx, req->queue(), Use::kRead, "read");
    reactor->Finish(refused.ok() ? AnswerSearch(req, resp) : refused);
    return reactor;
  }

  grpc::ServerUnaryReactor* GetTask(grpc::CallbackServerContext* ctx, const pb::GetTaskRequest* req,
                                         pb::GetTaskResponse* resp) override {
    grpc::ServerUnaryReactor* reactor = ctx->DefaultReactor();
    reactor->Finish(AnswerGet(*ctx, req, resp));
    return reactor;
  }

  grpc::ServerUnaryReactor* CompleteTask(grpc::CallbackServerContext* ctx, const pb::CompleteTaskRequest* req,
                                         pb::CompleteTaskResponse* resp) override {
    grpc::ServerUnaryReactor* reactor = ctx->DefaultReactor();
    // With an authenticated user the completion is that user's.
    std::optional<pb::CompleteTaskRequest> as_user;
    grpc::Status refused = Checked(*ctx, req->task_id(), Use::kWork, "complete", [&](const TaskRow&) {
      std::string assignee;
      grpc::Status st = auth_.Assignee(*ctx, req->assignee(), "complete tasks", &assignee);
      if (st.ok() && assignee != req->assignee()) {
        as_user = *req;
        as_user->set_assignee(assignee);
      }
      return st;
    });
    if (!refused.ok()) {
      reactor->Finish(refused);
      return reactor;
    }
    auto prepared = Prepare(as_user ? *as_user : *req);
    if (!prepared.ok()) {
      reactor->Finish(ToGrpc(prepared.status()));
      return reactor;
    }
    auto [task, args] = std::move(*prepared);
    bool all = req->wait_for() == pb::WAIT_ATTESTED_BY_ALL;
    auto deadline = std::chrono::steady_clock::now() +
                    (args.timeout.count() > 0 ? args.timeout : node_->options().wait_timeout);
    auto finish = [this, reactor, resp, task, all, deadline](Result<ProposalRow> p) {
      if (!p.ok() || p->status != ProposalStatus::kRejected)
        return reactor->Finish(Completed(std::move(p), task, all, deadline, resp));
      // Rejected at the ledger: the attestations first (a wait only on the
      // pool, with `all`), then the rejection is written down by the
      // TaskBook's writer, which answers the call.
      std::string attested;
      std::optional<pb::AttestationStatus> attestation;
      if (auto st = AwaitAttestations(node_, all, true, deadline, *p, &attestation, &attested); !st.ok())
        return reactor->Finish(st);
      resp->set_proposal_id(p->id);
      resp->set_outcome(OutcomeOf(p->status));
      resp->set_ledger_height(static_cast<uint64_t>(p->height));
      if (attestation) *resp->mutable_attestation() = std::move(*attestation);
      ProposalRow row = std::move(*p);
      node_->tasks()->Rejected(task.id, task.attempts, [reactor, row, attested](Result<TaskRow> noted) {
        std::string after =
            noted.ok() ? "; the task stays open" : "; the task stays open (" + noted.status().ToString() + ")";
        reactor->Finish(RejectedStatus(row, row.reason + " (rejected at ledger height " + std::to_string(row.height) +
                                                ")" + attested + after));
      });
    };
    if (all) {
      blocking_.Run([this, args, finish] { finish(node_->TriggerStep(args)); });
    } else {
      node_->TriggerStepAsync(args, finish);
    }
    return reactor;
  }

 private:
  // The permission to use the task's queue, then `more` (assignees,
  // holders); skipped without authentication. An unknown task is the
  // call's own to answer (NOT_FOUND).
  template <typename More>
  grpc::Status Checked(const grpc::CallbackServerContext& ctx, const std::string& id, Use use, const char* verb,
                       More more) {
    if (auth_.open()) return grpc::Status::OK;
    auto t = Find(id);
    if (!t.ok()) return grpc::Status::OK;
    if (grpc::Status st = auth_.Queue(ctx, t->queue, use, verb); !st.ok()) return st;
    return more(*t);
  }

  Result<TaskRow> Find(const std::string& id) {
    if (id.empty()) return Status::InvalidArgument("task_id is required");
    TREATY_ASSIGN_OR_RETURN(auto t, node_->GetTask(id));
    if (!t) return Status::NotFound("no task '" + id + "' at party " + node_->options().party);
    return std::move(*t);
  }

  const defs::StepSpec* StepOf(const TaskRow& t) {
    auto def = node_->registry()->Find(t.definition, t.version);
    return def ? def->model().FindStep(t.step) : nullptr;
  }

  // A task's step label, the definition looked up once per (definition,
  // version, step) of a page.
  struct LabelCache {
    std::string definition, step;
    int64_t version = -1;
    std::string label;
  };

  void FillTask(const TaskRow& t, pb::Task* out, LabelCache* labels = nullptr) {
    out->set_task_id(t.id);
    out->set_instance_id(t.instance);
    out->set_definition(t.definition);
    out->set_version(t.version);
    out->set_step(t.step);
    out->set_queue(t.queue);
    out->set_state(StateToPb(t.state));
    out->set_assignee(t.assignee);
    for (const auto& g : t.candidate_groups) out->add_candidate_groups(g);
    for (const auto& u : t.candidate_users) out->add_candidate_users(u);
    out->set_priority(static_cast<int32_t>(t.priority));
    out->set_position(static_cast<uint64_t>(t.position));
    out->set_created_ms(t.created_ms);
    out->set_created_height(static_cast<uint64_t>(t.created_height));
    if (t.due_ms) out->set_due_ms(*t.due_ms);
    if (t.follow_up_ms) out->set_follow_up_ms(*t.follow_up_ms);
    out->set_overdue(t.overdue);
    out->set_closed_ms(t.closed_ms);
    out->set_closed_height(static_cast<uint64_t>(t.closed_height));
    out->set_close_reason(t.close_reason);
    out->set_closed_by(t.closed_by);
    out->set_updated_ms(t.updated_ms);
    if (labels != nullptr && labels->version == t.version && labels->step == t.step &&
        labels->definition == t.definition) {
      out->set_step_label(labels->label);
      return;
    }
    const defs::StepSpec* step = StepOf(t);
    if (step != nullptr) out->set_step_label(step->label);
    if (labels != nullptr) *labels = {t.definition, t.step, t.version, step ? step->label : ""};
  }


  void FillForm(const defs::StepSpec& step, pb::GetTaskResponse* resp);

  // The TaskBook's answer finishes the call (on its writer thread).
  TaskBook::Done AnswerTo(grpc::ServerUnaryReactor* reactor, pb::Task* resp) {
    return [this, reactor, resp](Result<TaskRow> t) {
      if (!t.ok()) return reactor->Finish(ToGrpc(t.status()));
      FillTask(*t, resp);
      reactor->Finish(grpc::Status::OK);
    };
  }

  // The checks before anything is proposed: the task is open, not held by
  // another, and the input meets the step's schema.
  Result<std::pair<TaskRow, StepArgs>> Prepare(const pb::CompleteTaskRequest& req) {
    TREATY_ASSIGN_OR_RETURN(TaskRow t, Find(req.task_id()));
    if (!TaskActive(t.state))
      return Status::FailedPrecondition("task '" + t.id + "' is " + TaskStateName(t.state) +
                                        (t.close_reason.empty() ? "" : ": " + t.close_reason));
    if (!t.assignee.empty() && !req.assignee().empty() && req.assignee() != t.assignee)
      return Status::FailedPrecondition("task '" + t.id + "' is claimed by '" + t.assignee + "', not '" +
                                        req.assignee() + "'");
    if (req.wait_for() != pb::WAIT_CONFIRMED_HERE && req.wait_for() != pb::WAIT_ATTESTED_BY_ALL)
      return Status::InvalidArgument("unknown wait_for " + std::to_string(static_cast<int>(req.wait_for())));
    std::string text = req.input_json().empty() ? "{}" : req.input_json();
    auto input = Value::FromJson(text);
    if (!input.ok()) return Status::InvalidArgument("input_json: " + input.status().message());
    if (!input->is_object()) return Status::InvalidArgument("input_json must be a JSON object");
    const defs::StepSpec* step = StepOf(t);
    if (step == nullptr)
      return Status::FailedPrecondition("definition " + t.definition + " v" + std::to_string(t.version) +
                                        " with step '" + t.step + "' is not loaded on this node");
    if (Status st = defs::CheckInput(*step, *input); !st.ok())
      return Status::InvalidArgument("input of step '" + t.step + "': " + st.message());
    TREATY_ASSIGN_OR_RETURN(auto keyed, node_->tasks()->NextCompletion(std::move(t)));
    t = std::move(keyed.first);
    StepArgs a;
    a.instance_id = t.instance;
    a.step = t.step;
    a.input_json = text;
    a.idempotency_key = std::move(keyed.second);
    a.wait = true;
    a.timeout = std::chrono::milliseconds(req.wait_timeout_ms());
    return std::make_pair(std::move(t), std::move(a));
  }

  grpc::Status Completed(Result<ProposalRow> p, const TaskRow& task, bool all,
                         std::chrono::steady_clock::time_point deadline, pb::CompleteTaskResponse* resp) {
    if (!p.ok()) {
      // Refused by the preflight (a guard, a conflicting state): nothing
      // was proposed and the task is as it was.
      StatusCode c = p.status().code();
      if (c == StatusCode::kFailedPrecondition || c == StatusCode::kPermissionDenied ||
          c == StatusCode::kInvalidArgument)
        return ToGrpc(Status(c, p.status().message() + "; the task stays open"));
      return ToGrpc(p.status());
    }
    resp->set_proposal_id(p->id);
    resp->set_outcome(OutcomeOf(p->status));
    resp->set_ledger_height(static_cast<uint64_t>(p->height));
    std::string attested;
    std::optional<pb::AttestationStatus> attestation;
    if (auto st = AwaitAttestations(node_, all, true, deadline, *p, &attestation, &attested); !st.ok()) return st;
    if (attestation) *resp->mutable_attestation() = std::move(*attestation);
    if (p->instance_after) FillInstance(*p->instance_after, resp->mutable_instance());
    if (p->status != ProposalStatus::kConfirmed) {  // still pending at the timeout
      FillTask(task, resp->mutable_task());
      return grpc::Status::OK;
    }
    // The applier closed the task as its step applied (TaskBook::Applied),
    // in the same transaction. When the step came right after the task's
    // state was entered, that closing is known without reading it back;
    // otherwise (other steps came between) the store says how it closed.
    if (!p->instance_after || p->instance_after->position != task.position + 1) {
      auto now = node_->GetTask(task.id);
      if (now.ok() && *now) {
        FillTask(**now, resp->mutable_task());
        return grpc::Status::OK;
      }
      // The step is applied whatever the read says: answer with it, and
      // say why the task shown is the one the call started from.
      node_->options().env->Log("tasks",
                                "reading task " + task.id + " after its step failed: " +
                                    (now.ok() ? std::string("no such task") : now.status().ToString()),
                                LogLevel::kWarning);
      FillTask(task, resp->mutable_task());
      return grpc::Status::OK;
    }
    TaskRow done = task;
    done.state = TaskState::kCompleted;
    done.closed_by = p->id;
    done.closed_height = p->height;
    done.closed_ms = p->applied_ms;
    FillTask(done, resp->mutable_task());
    return grpc::Status::OK;
  }

  Node* node_;
  const access::Authorizer& auth_;
  BlockingPool blocking_;
};

void TasksService::FillForm(const defs::StepSpec& step, pb::GetTaskResponse* resp) {
  resp->set_input_schema_json(defs::InputJsonSchema(step));
  if (!step.task || !step.task->form) return;
  const defs::TaskForm& form = *step.task->form;
  json out = json::object();
  if (!form.title.empty()) out["title"] = form.title;
  if (!form.description.empty()) out["description"] = form.description;
  json fields = json::object();
  for (const auto& f : form.fields) {
    json field = json::object();
    if (!f.label.empty()) field["label"] = f.label;
    if (!f.help.empty()) field["help"] = f.help;
    if (!f.placeholder.empty()) field["placeholder"] = f.placeholder;
    fields[f.name] = std::move(field);
  }
  if (!fields.empty()) out["fields"] = std::move(fields);
  resp->set_form_json(out.dump(-1, ' ', false, json::error_handler_t::replace));
}

}  // namespace

std::unique_ptr<grpc::Service> MakeTasksService(Node* node, const access::Authorizer& authorizer) {
  return std::make_unique<TasksService>(node, authorizer);
}

}  // namespace treaty::engine
