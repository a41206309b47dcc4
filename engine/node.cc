#include "engine/node.h"

namespace treaty::engine {

namespace {

NodeContext MakeContext(NodeOptions opts, NodeStore* store, runtime::Registry* registry) {
  NodeContext c;
  c.opts = std::move(opts);
  c.store = store;
  c.registry = registry;
  return c;
}

}  // namespace

Node::Node(NodeOptions opts, NodeStore* store, chain::Ledger* ledger, runtime::Registry* registry)
    : ctx_(MakeContext(std::move(opts), store, registry)),
      ledger_(ledger),
      pins_(&ctx_),
      claims_(&ctx_),
      state_hash_(&ctx_),
      tasks_(&ctx_, &waiters_),
      jobs_(&ctx_, &waiters_),
      applier_(&ctx_, ledger,
               Applier::Parts{&pins_, &claims_, &state_hash_, &keys_, &nonces_, &cache_, &waiters_, &tasks_, &jobs_}),
      batcher_(&ctx_, ledger, &waiters_, &applier_, &nonces_, &keys_),
      proposer_(&ctx_, &batcher_, &waiters_, &cache_, &claims_),
      deadlines_(&ctx_, &proposer_, &batcher_, [this] { return applier_.LedgerTimeMs(); }) {
  applier_.SetDeadlines(&deadlines_);
  tasks_.SetDueListener([this](int64_t ms) { deadlines_.WantLedgerTime(ms); });
  if (ctx_.multi_party()) {
    members_ = std::make_unique<MemberProtocol>(&ctx_, &applier_, &keys_, &waiters_);
    applier_.SetMembers(members_.get());
    batcher_.SetMembers(members_.get());
  }
  // In-memory state that follows the store learns of every transaction's end.
  store->AddObserver(&applier_);
  store->AddObserver(&keys_);
  store->AddObserver(&nonces_);
  store->AddObserver(&pins_);
  store->AddObserver(&tasks_);
  store->AddObserver(&jobs_);
  if (members_) store->AddObserver(members_.get());
}

Node::~Node() { Stop(); }

Status Node::Start() {
  // Before anything is applied: tasks of a store upgraded from schema 3.
  TREATY_RETURN_IF_ERROR(tasks_.Load());
  TREATY_RETURN_IF_ERROR(tasks_.OpenMissing());  // an upgraded store's, until done
  TREATY_RETURN_IF_ERROR(jobs_.Load());
  TREATY_RETURN_IF_ERROR(jobs_.OpenMissing());
  // Before anything is applied: the deadlines the store holds (a node that
  // was down when one passed proposes it now); the applier tells of the rest.
  TREATY_RETURN_IF_ERROR(deadlines_.Load());
  TREATY_RETURN_IF_ERROR(applier_.Start());
  batcher_.Start();
  tasks_.Start();
  jobs_.Start();
  // Ledger time is known now: the next due date an idle node must reach.
  TREATY_RETURN_IF_ERROR(tasks_.WantNextDue());
  deadlines_.Start();
  started_ = true;
  return Status::Ok();
}

void Node::Stop() {
  if (!started_) return;
  started_ = false;
  deadlines_.Stop();  // it proposes through the batcher
  waiters_.Stop();
  tasks_.Stop();
  jobs_.Stop();
  batcher_.Stop();
  applier_.Stop();
}

Result<std::vector<InstanceRow>> Node::ListInstances(const std::string& definition, const std::string& state,
                                                     const std::string& where, const std::string& order_by,
                                                     int64_t limit, int64_t offset) {
  TREATY_ASSIGN_OR_RETURN(InstanceQuery q, CompileInstanceQuery(definition, state, where, order_by));
  return ctx_.store->ListInstances(q, limit, offset);
}

void Node::WaitForEvents(int64_t offset, std::chrono::milliseconds timeout) {
  uint64_t gen = waiters_.AppliedGeneration();
  auto last = ctx_.store->LastEventOffset();
  if (last.ok() && *last > offset) return;
  waiters_.WaitAppliedChange(gen, timeout);
}

uint64_t Node::AppliedHeight() {
  auto cursor = ctx_.store->Cursor();
  if (!cursor.ok()) {
    ctx_.Log("reading the ledger cursor failed: " + cursor.status().ToString(), LogLevel::kWarning);
    return 0;
  }
  return static_cast<uint64_t>(*cursor);
}

Result<Node::Health> Node::Check() {
  Health h;
  h.ledger_height = ledger_->Height();
  TREATY_ASSIGN_OR_RETURN(int64_t cursor, ctx_.store->Cursor());
  h.applied_height = static_cast<uint64_t>(cursor);
  TREATY_ASSIGN_OR_RETURN(h.in_flight, ctx_.store->ProposalsInFlight());
  TREATY_ASSIGN_OR_RETURN(h.blocked, ctx_.store->Blocked());
  h.store_pages_written = ctx_.store->PagesWritten();
  h.store_commits = ctx_.store->Commits();
  h.ledger_time_ms = LedgerTimeMs();
  h.pending_deadlines = PendingDeadlines();
  TREATY_ASSIGN_OR_RETURN(auto tasks, ctx_.store->TaskCounts());
  h.open_tasks = tasks.first;
  h.overdue_tasks = tasks.second;
  TREATY_ASSIGN_OR_RETURN(auto jobs, ctx_.store->CountJobs());
  h.open_jobs = jobs.open;
  h.activated_jobs = jobs.activated;
  h.incidents = jobs.incidents;
  if (multi_party()) {
    TREATY_ASSIGN_OR_RETURN(h.outbox, ctx_.store->OutboxSize());
  }
  return h;
}

std::vector<Status> Node::Receive(const std::vector<Inbound>& messages, uint64_t* generation) {
  if (!members_) return std::vector<Status>(messages.size(), Status::FailedPrecondition("not a network node"));
  return members_->Receive(messages, generation);
}

void Node::MakeDurable() {
  Status st = ctx_.store->MakeDurable();
  if (!st.ok())
    ctx_.Log("could not make received messages durable, their receipts wait: " + st.ToString(), LogLevel::kWarning);
}

void Node::SetOutboxListener(std::function<void(std::vector<OutboxMessage>)> send) {
  if (members_) members_->SetOutboxListener(std::move(send));
}

}  // namespace treaty::engine
