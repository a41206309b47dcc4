#include "engine/waiters.h"

#include <algorithm>

namespace treaty::engine {

std::shared_ptr<Waiters::Waiter> Waiters::Register(const std::string& id) {
  std::lock_guard<std::mutex> lock(mu_);
  auto& slot = waiting_[id];
  if (!slot) slot = std::make_shared<Waiter>();
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

void Waiters::Fail(const std::shared_ptr<Waiter>& w, Status st) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    w->failed = std::move(st);
  }
  w->cv.notify_all();
}

void Waiters::Move(const std::shared_ptr<Waiter>& w, std::string to) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    w->moved_to = std::move(to);
  }
  w->cv.notify_all();
}

void Waiters::Applied(std::vector<ProposalRow>* rows, int our_batches) {
  // Woken after the lock is released: a caller woken while we hold it would
  // only block on it again, and a block's callers wake all at once.
  std::vector<std::shared_ptr<Waiter>> wake;
  {
    std::lock_guard<std::mutex> lock(mu_);
    // Batches sealed before a restart are not counted in flight: stop at 0.
    in_flight_ = std::max(0, in_flight_ - our_batches);
    ++applied_generation_;
    for (auto& r : *rows) {
      auto it = waiting_.find(r.id);
      if (it == waiting_.end()) continue;
      it->second->row = std::move(r);
      wake.push_back(it->second);
    }
  }
  for (const auto& w : wake) w->cv.notify_all();
  applied_.notify_all();  // the batcher and event streams
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
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
    for (auto& [id, w] : waiting_) all.push_back(w);
  }
  for (const auto& w : all) w->cv.notify_all();
  applied_.notify_all();
  attested_.notify_all();
}

bool Waiters::stopped() {
  std::lock_guard<std::mutex> lock(mu_);
  return stop_;
}

}  // namespace treaty::engine
