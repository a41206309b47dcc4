#include "engine/services.h"

#include <algorithm>
#include <mutex>
#include <condition_variable>
#include <thread>
#include <functional>
#include <deque>
#include <optional>

#include <nlohmann/json.hpp>

#include "definitions/canonical.h"
#include "definitions/dot.h"
#include "engine/service_util.h"
#include "treaty/v1/treaty.grpc.pb.h"

namespace treaty::engine {
namespace {

using namespace service;  // NOLINT: the services' shared vocabulary
using grpc::ServerContext;

// StartProcess and TriggerStep use gRPC's callback API: a waiting call
// holds no thread while its step is ordered and applied — the applier
// answers it after its commit (docs/node.md, "Request threads"). The
// reads stay synchronous.
using ProcessesBase =
    pb::Processes::WithCallbackMethod_StartProcess<pb::Processes::WithCallbackMethod_TriggerStep<pb::Processes::Service>>;

class ProcessesService final : public ProcessesBase {
 public:
  ProcessesService(Node* node, const access::Authorizer& auth) : node_(node), auth_(auth), blocking_(4) {}

  grpc::ServerUnaryReactor* StartProcess(grpc::CallbackServerContext* ctx, const pb::StartProcessRequest* req,
                                         pb::StartProcessResponse* resp) override {
    grpc::ServerUnaryReactor* reactor = ctx->DefaultReactor();
    StartArgs a;
    a.definition = req->definition();
    a.version = req->version();
    a.instance_id = req->instance_id();
    for (const auto& b : req->roles()) a.roles[b.role()] = b.party();
    a.input_json = req->input_json();
    a.idempotency_key = req->idempotency_key();
    a.wait = !req->no_wait();
    if (a.definition.empty()) {
      reactor->Finish(grpc::Status(grpc::INVALID_ARGUMENT, "definition is required"));
      return reactor;
    }
    if (grpc::Status refused = auth_.Start(*ctx, a.definition); !refused.ok()) {
      reactor->Finish(refused);
      return reactor;
    }
    WaitPlan plan;
    if (auto st = Plan(req->wait_for(), req->wait_timeout_ms(), &plan); !st.ok()) {
      reactor->Finish(st);
      return reactor;
    }
    a.timeout = plan.timeout;
    Dispatch(reactor, std::move(a), plan, resp, &Node::StartProcess, &Node::StartProcessAsync,
             &ProcessesService::Started);
    return reactor;
  }

  grpc::ServerUnaryReactor* TriggerStep(grpc::CallbackServerContext* ctx, const pb::TriggerStepRequest* req,
                                        pb::TriggerStepResponse* resp) override {
    grpc::ServerUnaryReactor* reactor = ctx->DefaultReactor();
    StepArgs a;
    a.instance_id = req->instance_id();
    a.step = req->step();
    a.input_json = req->input_json();
    a.idempotency_key = req->idempotency_key();
    a.wait = !req->no_wait();
    if (grpc::Status refused = MayTrigger(*ctx, a); !refused.ok()) {
      reactor->Finish(refused);
      return reactor;
    }
    WaitPlan plan;
    if (auto st = Plan(req->wait_for(), req->wait_timeout_ms(), &plan); !st.ok()) {
      reactor->Finish(st);
      return reactor;
    }
    a.timeout = plan.timeout;
    Dispatch(reactor, std::move(a), plan, resp, &Node::TriggerStep, &Node::TriggerStepAsync,
             &ProcessesService::Stepped);
    return reactor;
  }

  grpc::Status GetInstance(ServerContext* ctx, const pb::GetInstanceRequest* req, pb::Instance* resp) override {
    auto inst = node_->GetInstance(req->instance_id());
    if (!inst.ok()) return ToGrpc(inst.status());
    if (!*inst) return grpc::Status(grpc::NOT_FOUND, "no instance '" + req->instance_id() + "'");
    if (grpc::Status refused = auth_.ReadProcess(*ctx, (*inst)->definition); !refused.ok()) return refused;
    FillInstance(**inst, resp);
    return grpc::Status::OK;
  }

  grpc::Status ListInstances(ServerContext* ctx, const pb::ListInstancesRequest* req,
                             pb::ListInstancesResponse* resp) override {
    grpc::Status refused =
        req->definition().empty()
            ? auth_.ReadAll(*ctx, "list the instances of every definition (name one in 'definition')")
            : auth_.ReadProcess(*ctx, req->definition());
    if (!refused.ok()) return refused;
    int64_t size = req->page_size() <= 0 ? 50 : std::min(req->page_size(), 1000);
    int64_t offset = 0;
    if (!req->page_token().empty()) {
      char* end = nullptr;
      offset = std::strtoll(req->page_token().c_str(), &end, 10);
      if (*end != '\0' || offset < 0) return grpc::Status(grpc::INVALID_ARGUMENT, "invalid page_token");
    }
    auto rows = node_->ListInstances(req->definition(), req->state(), req->where(), req->order_by(), size + 1, offset);
    if (!rows.ok()) return ToGrpc(rows.status());
    for (int64_t n = 0; n < static_cast<int64_t>(rows->size()); ++n) {
      if (n == size) {
        resp->set_next_page_token(std::to_string(offset + size));
        break;
      }
      FillInstance((*rows)[n], resp->add_instances());
    }
    return grpc::Status::OK;
  }

  grpc::Status GetHistory(ServerContext* ctx, const pb::GetHistoryRequest* req, pb::GetHistoryResponse* resp) override {
    auto inst = node_->GetInstance(req->instance_id());
    if (!inst.ok()) return ToGrpc(inst.status());
    if (!*inst) return grpc::Status(grpc::NOT_FOUND, "no instance '" + req->instance_id() + "'");
    if (grpc::Status refused = auth_.ReadProcess(*ctx, (*inst)->definition); !refused.ok()) return refused;
    auto history = node_->History(req->instance_id());
    if (!history.ok()) return ToGrpc(history.status());
    auto attestations = node_->Attestations(req->instance_id());
    if (!attestations.ok()) return ToGrpc(attestations.status());
    std::map<int64_t, std::vector<AttestationRow>> attested;
    const std::string& me = node_->options().party;
    for (auto& a : *attestations)
      if (a.party != me) attested[a.seq].push_back(std::move(a));
    for (const auto& h : *history) {
      auto* e = resp->add_entries();
      auto& rows = attested[h.seq];
      if (node_->multi_party()) {
        // This node's attestation is its history entry (signed per set when sent).
        AttestationRow own{req->instance_id(), h.seq, me, h.outcome, ""};
        rows.insert(std::upper_bound(rows.begin(), rows.end(), own,
                                     [](const AttestationRow& a, const AttestationRow& b) { return a.party < b.party; }),
                    own);
      }
      for (const auto& a : rows) {
        auto* pa = e->add_attestations();
        pa->set_party(a.party);
        pa->set_outcome(OutcomeName(a.attested.outcome));
        pa->set_reject_code(CodeText(a.attested.reject_code));
        pa->set_reason(a.attested.reason);
        pa->set_state_hash(a.attested.state_hash);
        pa->set_matches(a.attested == h.outcome);
        pa->set_signature(a.signature);
      }
      e->set_seq(static_cast<uint64_t>(h.seq));
      e->set_proposal_id(h.proposal);
      e->set_step(h.step);
      e->set_proposer(h.proposer);
      e->set_input_json(h.input_json);
      e->set_outcome(h.outcome.outcome == Outcome::kConfirmed ? pb::CONFIRMED : pb::REJECTED);
      e->set_reject_code(CodeText(h.outcome.reject_code));
      e->set_reason(h.outcome.reason);
      e->set_ledger_height(static_cast<uint64_t>(h.height));
      e->set_proposed_ms(h.proposed_ms);
      e->set_applied_ms(h.applied_ms);
      for (const auto& s : JsonStrings(h.states_json)) e->add_states_after(s);
      e->set_state_hash(h.outcome.state_hash);
    }
    return grpc::Status::OK;
  }

 private:
  // Whether the caller holds a role that may propose the step. An unknown
  // instance or step passes: the node answers it (NOT_FOUND, ...).
  grpc::Status MayTrigger(const grpc::CallbackServerContext& ctx, const StepArgs& a) {
    if (auth_.open()) return grpc::Status::OK;
    auto inst = node_->GetInstance(a.instance_id);
    if (!inst.ok() || !*inst) return grpc::Status::OK;
    auto def = node_->registry()->Find((*inst)->definition, (*inst)->version);
    const defs::StepSpec* step = def ? def->model().FindStep(a.step) : nullptr;
    if (step == nullptr) return grpc::Status::OK;
    return auth_.Trigger(ctx, def->model(), *step);
  }

  // The whole call's deadline, and whether it waits for every member.
  struct WaitPlan {
    bool all = false;
    std::chrono::milliseconds timeout{0};
    std::chrono::steady_clock::time_point deadline;
  };

  // Runs a proposing call to its answer: on the blocking pool when it
  // waits for every member's attestation, else without holding a thread.
  template <typename Args, typename Resp>
  void Dispatch(grpc::ServerUnaryReactor* reactor, Args a, const WaitPlan& plan, Resp* resp,
                Result<ProposalRow> (Node::*sync)(const Args&), void (Node::*async)(const Args&, Proposer::Done),
                grpc::Status (ProcessesService::*answer)(Result<ProposalRow>, const WaitPlan&, bool, Resp*)) {
    const bool wait = a.wait;
    if (plan.all && wait) {
      blocking_.Run([this, a = std::move(a), plan, resp, reactor, sync, answer] {
        reactor->Finish((this->*answer)((node_->*sync)(a), plan, a.wait, resp));
      });
      return;
    }
    (node_->*async)(a, [this, plan, wait, resp, reactor, answer](Result<ProposalRow> p) {
      reactor->Finish((this->*answer)(std::move(p), plan, wait, resp));
    });
  }

  // A call's answer, filled from its outcome (and, when it waits for every
  // member, their attestations: only on the blocking pool).
  grpc::Status Started(Result<ProposalRow> p, const WaitPlan& plan, bool wait, pb::StartProcessResponse* resp) {
    if (!p.ok()) return ToGrpc(p.status());
    resp->set_instance_id(p->instance);
    resp->set_proposal_id(p->id);
    resp->set_outcome(OutcomeOf(p->status));
    std::string attested;
    std::optional<pb::AttestationStatus> attestation;
    if (auto st = AwaitAttestations(plan, wait, *p, &attestation, &attested); !st.ok()) return st;
    if (attestation) *resp->mutable_attestation() = std::move(*attestation);
    if (p->status == ProposalStatus::kRejected) return RejectedStatus(*p, p->reason + attested);
    if (p->status == ProposalStatus::kConfirmed) FillInstanceAfter(*p, resp->mutable_instance());
    return grpc::Status::OK;
  }

  grpc::Status Stepped(Result<ProposalRow> p, const WaitPlan& plan, bool wait, pb::TriggerStepResponse* resp) {
    if (!p.ok()) return ToGrpc(p.status());
    resp->set_proposal_id(p->id);
    resp->set_outcome(OutcomeOf(p->status));
    resp->set_ledger_height(static_cast<uint64_t>(p->height));
    std::string attested;
    std::optional<pb::AttestationStatus> attestation;
    if (auto st = AwaitAttestations(plan, wait, *p, &attestation, &attested); !st.ok()) return st;
    if (attestation) *resp->mutable_attestation() = std::move(*attestation);
    if (p->status == ProposalStatus::kRejected) {
      // The ledger ordered a conflicting step first: same reason at every party.
      return RejectedStatus(*p, p->reason + " (rejected at ledger height " + std::to_string(p->height) + ")" + attested);
    }
    if (p->status == ProposalStatus::kConfirmed) FillInstanceAfter(*p, resp->mutable_instance());
    return grpc::Status::OK;
  }
  grpc::Status Plan(pb::WaitFor wait_for, uint32_t timeout_ms, WaitPlan* plan) {
    if (wait_for != pb::WAIT_CONFIRMED_HERE && wait_for != pb::WAIT_ATTESTED_BY_ALL)
      return grpc::Status(grpc::INVALID_ARGUMENT, "unknown wait_for " + std::to_string(static_cast<int>(wait_for)));
    plan->all = wait_for == pb::WAIT_ATTESTED_BY_ALL;
    plan->timeout = timeout_ms > 0 ? std::chrono::milliseconds(timeout_ms) : node_->options().wait_timeout;
    plan->deadline = std::chrono::steady_clock::now() + plan->timeout;
    return grpc::Status::OK;
  }
  grpc::Status AwaitAttestations(const WaitPlan& plan, bool wait, const ProposalRow& p,
                                 std::optional<pb::AttestationStatus>* status, std::string* note) {
    return service::AwaitAttestations(node_, plan.all, wait, plan.deadline, p, status, note);
  }

  // The instance as the confirmed proposal left it, handed over by the
  // applier; a retry that finds the proposal applied long ago gets the
  // instance as it is now.
  void FillInstanceAfter(const ProposalRow& p, pb::Instance* out) {
    if (p.instance_after) {
      FillInstance(*p.instance_after, out);
    } else if (auto inst = node_->GetInstance(p.instance); inst.ok() && *inst) {
      FillInstance(**inst, out);
    }
  }

  Node* node_;
  const access::Authorizer& auth_;
  BlockingPool blocking_;
};

class EventsService final : public pb::Events::Service {
 public:
  EventsService(Node* node, const access::Authorizer& auth, std::shared_ptr<StreamLimiter> streams)
      : node_(node), auth_(auth), streams_(std::move(streams)) {}

  // A client sees the events of the definitions it may read; naming
  // another definition is refused.
  grpc::Status Subscribe(ServerContext* ctx, const pb::SubscribeRequest* req, grpc::ServerWriter<pb::Event>* w) override {
    if (!req->definition().empty()) {
      if (grpc::Status refused = auth_.ReadProcess(*ctx, req->definition()); !refused.ok()) return refused;
    } else if (grpc::Status refused = auth_.Listed(*ctx); !refused.ok()) {
      return refused;
    }
    const auto visible = auth_.EventFilter(*ctx);
    auto slot = AcquireStream(node_, streams_.get(), auth_, *ctx, "Subscribe");
    if (!slot.ok()) return ToGrpc(slot.status());
    int64_t after = 0;
    if (!req->subscription().empty()) {
      auto acked = node_->Acked(req->subscription());
      if (!acked.ok()) return ToGrpc(acked.status());
      after = *acked;
    } else if (req->from_now()) {
      auto last = node_->LastEventOffset();
      if (!last.ok()) return ToGrpc(last.status());
      after = *last;
    } else if (req->from_offset() > 0) {
      after = static_cast<int64_t>(req->from_offset()) - 1;
    }
    std::set<std::string> types(req->types().begin(), req->types().end());
    // The stream's start is fixed now: tell the client at once, so one that
    // reads current state after this answer (treaty-web's pages) misses
    // nothing in between. The first offset this stream may send goes with it.
    ctx->AddInitialMetadata("treaty-after-offset", std::to_string(after));
    w->SendInitialMetadata();
    while (!ctx->IsCancelled()) {
      auto events = node_->Events(after, 256);
      if (!events.ok()) return ToGrpc(events.status());
      for (const auto& e : *events) {
        after = e.offset;
        if (!req->definition().empty() && e.definition != req->definition()) continue;
        if (!req->instance_id().empty() && e.instance != req->instance_id()) continue;
        if (!types.empty() && !types.count(e.type)) continue;
        if (!visible(e.definition)) continue;
        pb::Event out;
        out.set_offset(static_cast<uint64_t>(e.offset));
        out.set_type(e.type);
        out.set_instance_id(e.instance);
        out.set_definition(e.definition);
        out.set_step(e.step);
        out.set_payload_json(e.payload_json);
        out.set_time_ms(e.time_ms);
        out.set_ledger_height(static_cast<uint64_t>(e.height));
        if (!w->Write(out)) return grpc::Status::OK;  // client went away
      }
      if (events->empty()) node_->WaitForEvents(after, std::chrono::milliseconds(250));
    }
    return grpc::Status::OK;
  }

  grpc::Status Ack(ServerContext* ctx, const pb::AckRequest* req, pb::AckResponse* resp) override {
    if (grpc::Status refused = auth_.Listed(*ctx); !refused.ok()) return refused;
    if (req->subscription().empty()) return grpc::Status(grpc::INVALID_ARGUMENT, "subscription is required");
    auto last = node_->LastEventOffset();
    if (!last.ok()) return ToGrpc(last.status());
    if (static_cast<int64_t>(req->offset()) > *last)
      return grpc::Status(grpc::OUT_OF_RANGE, "offset " + std::to_string(req->offset()) + " has not been delivered");
    Status st = node_->Ack(req->subscription(), static_cast<int64_t>(req->offset()));
    if (!st.ok()) return ToGrpc(st);
    auto acked = node_->Acked(req->subscription());
    if (!acked.ok()) return ToGrpc(acked.status());
    resp->set_acked_offset(static_cast<uint64_t>(*acked));
    return grpc::Status::OK;
  }

 private:
  Node* node_;
  const access::Authorizer& auth_;
  std::shared_ptr<StreamLimiter> streams_;
};

// Any client the access file lists may read the definitions.
class DefinitionsService final : public pb::Definitions::Service {
 public:
  DefinitionsService(Node* node, const access::Authorizer& auth) : node_(node), auth_(auth) {}

  static void Fill(const runtime::DefinitionRuntime& d, pb::Definition* out) {
    out->set_name(d.name());
    out->set_version(d.version());
    out->set_hash(ToHex(d.hash()));
    out->set_runtime(d.kind());
    for (const auto& r : d.model().roles) out->add_roles(r.name);
    for (const auto& s : d.model().steps) out->add_steps(s.name);
  }

  grpc::Status ListDefinitions(ServerContext* ctx, const pb::ListDefinitionsRequest*,
                               pb::ListDefinitionsResponse* resp) override {
    if (grpc::Status refused = auth_.Listed(*ctx); !refused.ok()) return refused;
    for (const auto& d : node_->registry()->List()) Fill(*d, resp->add_definitions());
    return grpc::Status::OK;
  }

  grpc::Status GetDefinition(ServerContext* ctx, const pb::GetDefinitionRequest* req, pb::Definition* resp) override {
    if (grpc::Status refused = auth_.Listed(*ctx); !refused.ok()) return refused;
    auto d = node_->registry()->Find(req->name(), req->version());
    if (!d) return grpc::Status(grpc::NOT_FOUND, "no definition '" + req->name() + "' is loaded");
    Fill(*d, resp);
    resp->set_canonical_json(defs::CanonicalJson(d->model()));
    resp->set_graph_dot(defs::GraphvizDot(d->model()));
    return grpc::Status::OK;
  }

 private:
  Node* node_;
  const access::Authorizer& auth_;
};

class NodeService final : public pb::Node::Service {
 public:
  NodeService(Node* node, std::string version, const access::Authorizer& auth)
      : node_(node), version_(std::move(version)), auth_(auth) {}

  grpc::Status Status(ServerContext* ctx, const pb::StatusRequest*, pb::StatusResponse* resp) override {
    if (grpc::Status refused = auth_.Node(*ctx, "read the node's status", /*read=*/true); !refused.ok()) return refused;
    auto health = node_->Check();
    if (!health.ok()) return ToGrpc(health.status());
    const Node::Health& h = *health;
    resp->set_party(node_->options().party);
    resp->set_ledger_height(h.ledger_height);
    resp->set_applied_height(h.applied_height);
    resp->set_lag(h.ledger_height > h.applied_height ? h.ledger_height - h.applied_height : 0);
    resp->set_version(version_);
    resp->set_ledger(node_->ledger()->Describe());
    resp->set_pending_proposals(static_cast<uint64_t>(h.in_flight));
    resp->set_store_pages_written(h.store_pages_written);
    resp->set_store_commits(h.store_commits);
    resp->set_ledger_time_ms(h.ledger_time_ms);
    resp->set_pending_deadlines(h.pending_deadlines);
    resp->set_open_tasks(static_cast<uint64_t>(h.open_tasks));
    resp->set_overdue_tasks(static_cast<uint64_t>(h.overdue_tasks));
    resp->set_open_jobs(static_cast<uint64_t>(h.open_jobs));
    resp->set_activated_jobs(static_cast<uint64_t>(h.activated_jobs));
    resp->set_incidents(static_cast<uint64_t>(h.incidents));
    {
      chain::LedgerHealth lh = node_->ledger()->Health();
      auto* out = resp->mutable_ledger_health();
      out->set_reachable(lh.reachable);
      out->set_error(lh.error);
      out->set_chain_id(lh.chain_id);
      out->set_contract(lh.contract);
      out->set_account(lh.account);
      out->set_balance_wei(lh.balance_wei);
      out->set_head_block(lh.head_block);
      out->set_confirmed_block(lh.confirmed_block);
      out->set_confirmations(lh.confirmations);
      out->set_pending_transactions(lh.pending_transactions);
    }
    int64_t now = node_->options().env->NowMs();
    for (const auto& b : h.blocked) {
      resp->add_blocked_instances(b.instance);
      auto* pb_b = resp->add_blocked();
      pb_b->set_instance_id(b.instance);
      pb_b->set_pin(b.pin);
      pb_b->set_ledger_height(static_cast<uint64_t>(b.height));
      pb_b->set_blocked_ms(now - b.since_ms);
      pb_b->set_waiting_pins(static_cast<uint64_t>(b.waiting));
    }
    if (node_->multi_party()) {
      for (const auto& m : node_->options().network->members) resp->add_members(m.name);
      resp->set_outbox(static_cast<uint64_t>(h.outbox));
      resp->set_refused_connections(node_->RefusedConnections());
    }
    return grpc::Status::OK;
  }

 private:
  Node* node_;
  std::string version_;
  const access::Authorizer& auth_;
};

}  // namespace

Result<std::unique_ptr<StreamLimiter::Slot>> AcquireStream(Node* node, StreamLimiter* streams,
                                                           const access::Authorizer& auth,
                                                           const grpc::ServerContextBase& ctx, const char* call) {
  auto slot = streams->Acquire(ClientIdentity(ctx, auth.CallerOf(ctx)), call);
  if (!slot.ok()) {
    node->options().env->Log("limits", "refused a stream: " + slot.status().message(), LogLevel::kWarning);
    node->options().metrics->CallRefused(call, "too_many_streams");
  }
  return slot;
}

std::vector<std::unique_ptr<grpc::Service>> MakeServices(Node* node, const std::string& version,
                                                         const access::Authorizer& authorizer) {
  std::vector<std::unique_ptr<grpc::Service>> out;
  // Subscribe and StreamJobs share one count per client (docs/limits.md).
  auto streams = std::make_shared<StreamLimiter>(node->options().limits.max_streams_per_client);
  out.push_back(std::make_unique<ProcessesService>(node, authorizer));
  out.push_back(std::make_unique<EventsService>(node, authorizer, streams));
  out.push_back(std::make_unique<DefinitionsService>(node, authorizer));
  out.push_back(std::make_unique<NodeService>(node, version, authorizer));
  out.push_back(MakeTasksService(node, authorizer));
  out.push_back(MakeJobsService(node, authorizer, streams));
  return out;
}

}  // namespace treaty::engine
