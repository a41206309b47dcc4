#include "engine/waiters.h"

#include <algorithm>
#include <map>

namespace treaty::engine {

std::shared_ptr<Waiters::Waiter> Waiters::Register(const std::string& id) {
  std::lock_guard<std::mutex> lock(mu_);
  auto& slot = waiting_[id];
  if (!slot) {
    slot = std::make_shared<Waiter>();
    slot->id = id;
  }
  ++slot->callers;
  return slot;
}

void Waiters::Release(const std::string& id, const std::shared_ptr<Waiter>& w) {
  std::lock_guard<std::mutex> lock(mu_);
  if (--w->callers == 0) {
    auto it = waiting_.find(id);
    if (it != waiting_.end() && it->second == w) waiting_.erase(it);
  }
}

Waiters::Learnt Waiters::Wait(const std::shared_ptr<Waiter>& w, Deadline deadline, bool any) {
  std::unique_lock<std::mutex> lock(mu_);
  w->cv.wait_until(lock, deadline, [&] {
    return w->row || (any && (w->failed || !w->moved_to.empty())) || stop_;
  });
  return Learnt{w->row, w->failed, w->moved_to};
}

void Waiters::TakeListeners(const std::shared_ptr<Waiter>& w, bool any,
                            std::vector<std::pair<Listener, Learnt>>* out) {
  if (w->listeners.empty() || !(w->row || (any && (w->failed || !w->moved_to.empty())))) return;
  for (auto& l : w->listeners) {
    out->emplace_back(std::move(l->listener), Learnt{w->row, w->failed, w->moved_to});
    deadlines_.erase(l->due);  // called now: no deadline left to keep
    --w->callers;
  }
  w->listeners.clear();
}

std::shared_ptr<Waiters::Waiter> Waiters::Listen(const std::string& id, Deadline deadline, Listener listener,
                                                 bool any) {
  std::vector<std::pair<Listener, Learnt>> now;
  std::shared_ptr<Waiter> listening;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (stop_) {
      now.emplace_back(std::move(listener), Learnt{std::nullopt, Status::Unavailable("the node is shutting down"), ""});
    } else {
      auto& slot = waiting_[id];
      if (!slot) {
        slot = std::make_shared<Waiter>();
        slot->id = id;
      }
      if (slot->row || (any && (slot->failed || !slot->moved_to.empty()))) {
        now.emplace_back(std::move(listener), Learnt{slot->row, slot->failed, slot->moved_to});
        if (slot->callers == 0) waiting_.erase(id);
      } else {
        auto l = std::make_shared<Listening>();
        l->listener = std::move(listener);
        ++slot->callers;
        slot->listeners.push_back(l);
        bool earliest = deadlines_.empty() || deadline < deadlines_.begin()->first;
        l->due = deadlines_.emplace(deadline, std::make_pair(id, std::weak_ptr<Listening>(l)));
        if (!deadline_thread_.joinable()) deadline_thread_ = std::thread([this] { DeadlineLoop(); });
        else if (earliest) deadline_cv_.notify_one();
        listening = slot;
      }
    }
  }
  for (auto& [f, learnt] : now) f(std::move(learnt));
  return listening;
}

void Waiters::DeadlineLoop() {
  std::unique_lock<std::mutex> lock(mu_);
  while (!stop_) {
    if (deadlines_.empty()) {
      deadline_cv_.wait(lock);
      continue;
    }
    auto due = deadlines_.begin()->first;
    if (std::chrono::steady_clock::now() < due) {
      deadline_cv_.wait_until(lock, due);
      continue;
    }
    std::vector<Listener> expired;
    while (!deadlines_.empty() && deadlines_.begin()->first <= std::chrono::steady_clock::now()) {
      auto [id, weak] = deadlines_.begin()->second;
      deadlines_.erase(deadlines_.begin());
      auto l = weak.lock();
      if (!l || !l->listener) continue;  // called already
      auto it = waiting_.find(id);
      if (it == waiting_.end()) continue;
      auto& ls = it->second->listeners;
      auto pos = std::find(ls.begin(), ls.end(), l);
      if (pos == ls.end()) continue;
      expired.push_back(std::move(l->listener));
      ls.erase(pos);
      if (--it->second->callers == 0) waiting_.erase(it);
    }
    lock.unlock();
    for (auto& f : expired) f(Learnt{});
    lock.lock();
  }
}

void Waiters::Fail(const std::shared_ptr<Waiter>& w, Status st) {
  std::vector<std::pair<Listener, Learnt>> now;
  {
    std::lock_guard<std::mutex> lock(mu_);
    w->failed = std::move(st);
    TakeListeners(w, true, &now);
    if (auto it = waiting_.find(w->id); w->callers == 0 && it != waiting_.end() && it->second == w)
      waiting_.erase(it);  // only listeners waited: all called
  }
  w->cv.notify_all();
  for (auto& [f, learnt] : now) f(std::move(learnt));
}

void Waiters::Move(const std::shared_ptr<Waiter>& w, std::string to) {
  std::vector<std::pair<Listener, Learnt>> now;
  {
    std::lock_guard<std::mutex> lock(mu_);
    w->moved_to = std::move(to);
    TakeListeners(w, true, &now);
    if (auto it = waiting_.find(w->id); w->callers == 0 && it != waiting_.end() && it->second == w)
      waiting_.erase(it);
  }
  w->cv.notify_all();
  for (auto& [f, learnt] : now) f(std::move(learnt));
}

void Waiters::Applied(std::vector<ProposalRow>* rows, int our_batches) {
  // Woken after the lock is released: a caller woken while we hold it would
  // only block on it again, and a block's callers wake all at once.
  std::vector<std::shared_ptr<Waiter>> wake;
  std::vector<std::pair<Listener, Learnt>> now;
  {
    std::lock_guard<std::mutex> lock(mu_);
    // Batches sealed before a restart are not counted in flight: stop at 0.
    in_flight_ = std::max(0, in_flight_ - our_batches);
    ++applied_generation_;
    for (auto& r : *rows) {
      auto it = waiting_.find(r.id);
      if (it == waiting_.end()) continue;
      std::shared_ptr<Waiter> w = it->second;
      w->row = std::move(r);
      TakeListeners(w, true, &now);
      if (w->callers == 0) waiting_.erase(it);  // only listeners waited: all called
      else wake.push_back(std::move(w));
    }
  }
  for (const auto& w : wake) w->cv.notify_all();
  applied_.notify_all();  // the batcher and event streams
  for (auto& [f, learnt] : now) f(std::move(learnt));
}

void Waiters::Attested() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    ++attested_generation_;
  }
  attested_.notify_all();
}

void Waiters::Sealed() {
  std::lock_guard<std::mutex> lock(mu_);
  ++in_flight_;
}

int Waiters::InFlight() {
  std::lock_guard<std::mutex> lock(mu_);
  return in_flight_;
}

void Waiters::WaitForApplied(std::chrono::milliseconds timeout, const std::function<bool()>& ready) {
  std::unique_lock<std::mutex> lock(mu_);
  applied_.wait_for(lock, timeout, [&] { return in_flight_ == 0 || stop_ || ready(); });
}

uint64_t Waiters::AppliedGeneration() {
  std::lock_guard<std::mutex> lock(mu_);
  return applied_generation_;
}

bool Waiters::WaitAppliedChange(uint64_t seen, std::chrono::milliseconds timeout) {
  std::unique_lock<std::mutex> lock(mu_);
  return applied_.wait_for(lock, timeout, [&] { return applied_generation_ != seen || stop_; });
}

uint64_t Waiters::AttestedGeneration() {
  std::lock_guard<std::mutex> lock(mu_);
  return attested_generation_;
}

bool Waiters::WaitAttestedChange(uint64_t seen, Deadline deadline) {
  std::unique_lock<std::mutex> lock(mu_);
  return attested_.wait_until(lock, deadline, [&] { return attested_generation_ != seen || stop_; });
}

void Waiters::Stop() {
  std::vector<std::shared_ptr<Waiter>> all;
  std::vector<Listener> stopped;
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
    for (auto& [id, w] : waiting_) {
      all.push_back(w);
      for (auto& l : w->listeners) {
        stopped.push_back(std::move(l->listener));
        --w->callers;
      }
      w->listeners.clear();
    }
    deadlines_.clear();  // every listener was taken above
  }
  for (const auto& w : all) w->cv.notify_all();
  applied_.notify_all();
  attested_.notify_all();
  deadline_cv_.notify_all();
  if (deadline_thread_.joinable()) deadline_thread_.join();
  for (auto& f : stopped) f(Learnt{std::nullopt, Status::Unavailable("the node is shutting down"), ""});
}

Waiters::~Waiters() { Stop(); }

bool Waiters::stopped() {
  std::lock_guard<std::mutex> lock(mu_);
  return stop_;
}

}  // namespace treaty::engine
