#include "engine/deadline_watcher.h"

#include <algorithm>
#include <optional>

#include "engine/batcher.h"
#include "engine/proposer.h"

namespace treaty::engine {

namespace {

using SteadyClock = std::chrono::steady_clock;

constexpr auto kWakeEvery = std::chrono::milliseconds(200);
constexpr auto kTickEvery = std::chrono::seconds(1);
constexpr auto kFirstBackoff = std::chrono::milliseconds(1000);
constexpr auto kMaxBackoff = std::chrono::milliseconds(30000);
constexpr int64_t kLoadPage = 512;

bool HoldsOneOf(const std::vector<std::string>& held, const std::vector<defs::NamedRef>& by) {
  for (const auto& need : by)
    if (std::find(held.begin(), held.end(), need.name) != held.end()) return true;
  return false;
}

bool Same(const DeadlineWatcher::Pending& a, const DeadlineWatcher::Pending& b) {
  return a.state == b.state && a.step == b.step && a.entered_ms == b.entered_ms;
}

}  // namespace

std::vector<DeadlineWatcher::Pending> DeadlineWatcher::DeadlinesOf(const NodeContext& ctx, const InstanceRow& row) {
  std::vector<Pending> out;
  if (row.final) return out;
  const runtime::Snapshot* snap = row.snapshot.get();
  std::optional<runtime::Snapshot> parsed;
  if (snap == nullptr) {
    auto r = runtime::Snapshot::FromJson(row.snapshot_json);
    if (!r.ok()) return out;  // the applier reports a damaged snapshot when it next touches the row
    parsed = std::move(r).value();
    snap = &*parsed;
  }
  if (!snap->timers.is_object() || snap->timers.as_object().empty()) return out;
  auto def = ctx.DefinitionByHash(row.def_hash);
  if (!def) return out;
  const std::vector<std::string> held = RolesOf(row.roles, ctx.party());
  for (const auto& [name, entered] : snap->timers.as_object()) {
    if (!entered.is_int()) continue;
    const defs::StateSpec* state = def->model().FindState(name);
    if (state == nullptr || !state->deadline_after_ms) continue;
    const defs::StepSpec* step = def->model().FindStep(state->deadline_step);
    if (step == nullptr) continue;
    Pending p;
    p.state = name;
    p.step = step->name;
    p.entered_ms = entered.as_int();
    p.due_ms = p.entered_ms + *state->deadline_after_ms;
    p.by_role = HoldsOneOf(held, step->by);
    out.push_back(std::move(p));
  }
  return out;
}

std::string DeadlineWatcher::KeyOf(const std::string& instance, const Pending& p) {
  return "treaty.deadline:" + instance + "/" + p.state + "/" + std::to_string(p.entered_ms) + "/" + p.step;
}

Status DeadlineWatcher::Load() {
  int64_t after = 0;
  size_t instances = 0;
  while (true) {
    TREATY_ASSIGN_OR_RETURN(std::vector<InstanceRow> rows, ctx_->store->InstancesWithTimers(after, kLoadPage));
    for (const auto& row : rows) {
      after = std::max(after, row.no);
      auto found = DeadlinesOf(*ctx_, row);
      if (found.empty()) continue;
      ++instances;
      std::vector<Entry> entries;
      for (auto& p : found) entries.push_back(Entry{std::move(p)});
      std::lock_guard<std::mutex> lock(mu_);
      pending_[row.id] = std::move(entries);
    }
    if (rows.size() < static_cast<size_t>(kLoadPage)) break;
  }
  if (instances > 0) ctx_->Log(std::to_string(instances) + " instance(s) with pending deadlines");
  return Status::Ok();
}

void DeadlineWatcher::Start() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (!stop_) return;
    stop_ = false;
    changed_ = true;  // look at what Load found at once
  }
  thread_ = std::thread([this] { Loop(); });
}

void DeadlineWatcher::Stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void DeadlineWatcher::Learn(const InstanceRow& row) {
  std::vector<Pending> found = DeadlinesOf(*ctx_, row);
  std::lock_guard<std::mutex> lock(mu_);
  auto it = pending_.find(row.id);
  if (found.empty()) {
    if (it != pending_.end()) pending_.erase(it);
    return;
  }
  std::vector<Entry> entries;
  for (auto& p : found) {
    Entry e{std::move(p)};
    // The same deadline (state entered at the same time) keeps what was
    // done about it: a proposal already made is not made again.
    if (it != pending_.end())
      for (const auto& old : it->second)
        if (Same(old.p, e.p)) {
          e.proposed = old.proposed;
          e.retry_at = old.retry_at;
          e.backoff = old.backoff;
        }
    entries.push_back(std::move(e));
  }
  pending_[row.id] = std::move(entries);
  changed_ = true;
  wake_.notify_one();
}

void DeadlineWatcher::LedgerAdvanced() {
  std::lock_guard<std::mutex> lock(mu_);
  if (pending_.empty()) return;
  changed_ = true;
  wake_.notify_one();
}

size_t DeadlineWatcher::PendingCount() const {
  std::lock_guard<std::mutex> lock(mu_);
  size_t n = 0;
  for (const auto& [id, entries] : pending_) n += entries.size();
  return n;
}

uint64_t DeadlineWatcher::Proposed() const {
  std::lock_guard<std::mutex> lock(mu_);
  return proposed_;
}

int64_t DeadlineWatcher::ActAt(const Pending& p) const {
  return p.by_role ? p.due_ms : p.due_ms + static_cast<int64_t>(ctx_->opts.deadline_grace.count());
}

void DeadlineWatcher::WantLedgerTime(int64_t ms) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    wanted_.insert(ms);
    changed_ = true;
  }
  wake_.notify_one();
}

void DeadlineWatcher::Loop() {
  SteadyClock::time_point last_tick{};
  std::unique_lock<std::mutex> lock(mu_);
  while (!stop_) {
    wake_.wait_for(lock, kWakeEvery, [&] { return stop_ || changed_; });
    if (stop_) break;
    changed_ = false;
    if (pending_.empty() && wanted_.empty()) continue;
    const int64_t ledger_ms = ledger_time_();
    const int64_t clock_ms = ctx_->NowMs();
    const auto now = SteadyClock::now();
    std::vector<std::pair<std::string, Pending>> due;
    while (!wanted_.empty() && *wanted_.begin() <= ledger_ms) wanted_.erase(wanted_.begin());
    bool want_tick = !wanted_.empty() && *wanted_.begin() <= clock_ms;
    for (const auto& [id, entries] : pending_)
      for (const auto& e : entries) {
        if (e.proposed) continue;
        const int64_t at = ActAt(e.p);
        if (ledger_ms >= at) {
          if (now >= e.retry_at) due.emplace_back(id, e.p);
        } else if (clock_ms >= at) {
          // Our clock says it is time, the ledger's does not yet: a block
          // will tell (the clock never decides whether it has passed).
          want_tick = true;
        }
      }
    if (due.empty() && !(want_tick && now - last_tick >= kTickEvery)) continue;
    lock.unlock();
    std::vector<std::pair<std::string, Pending>> done;
    std::vector<std::pair<std::string, Pending>> failed;
    for (auto& [id, p] : due) {
      StepArgs a;
      a.instance_id = id;
      a.step = p.step;
      a.input_json = "{}";
      a.idempotency_key = KeyOf(id, p);
      a.wait = false;  // returns once the proposal is stored; the applier decides
      Result<ProposalRow> r = proposer_->TriggerStep(a);
      if (r.ok()) {
        ctx_->Log("deadline of state '" + p.state + "' of " + id + " passed (due at ledger time " +
                      std::to_string(p.due_ms) + " ms): proposed step " + p.step,
                  LogLevel::kInfo, {id, p.step});
        done.emplace_back(id, p);
      } else {
        ctx_->Log("proposing deadline step " + p.step + " of " + id + " failed, will retry: " + r.status().ToString(),
                  LogLevel::kWarning, {id, p.step});
        failed.emplace_back(id, p);
      }
    }
    if (want_tick && now - last_tick >= kTickEvery) {
      batcher_->Tick();
      last_tick = now;
    }
    lock.lock();
    auto mark = [&](const std::pair<std::string, Pending>& d, bool ok) {
      auto it = pending_.find(d.first);
      if (it == pending_.end()) return;  // the instance moved on meanwhile
      for (auto& e : it->second) {
        if (!Same(e.p, d.second)) continue;
        if (ok) {
          e.proposed = true;
          ++proposed_;
        } else {
          e.backoff = std::min<std::chrono::milliseconds>(
              kMaxBackoff, e.backoff.count() == 0 ? kFirstBackoff : e.backoff * 2);
          e.retry_at = SteadyClock::now() + e.backoff;
        }
      }
    };
    for (const auto& d : done) mark(d, true);
    for (const auto& d : failed) mark(d, false);
  }
}

}  // namespace treaty::engine
