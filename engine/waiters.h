// Waiters: callers waiting for a proposal's outcome, and for what comes
// after it (events, attestations). The applier hands each applied row
// straight to the callers waiting on it instead of every caller re-reading
// the store, and wakes only them: one condition per proposal (with a
// shared one every block woke every waiting caller's thread). A caller
// that submits a proposal registers before the batcher sees it and sleeps
// once for the whole step; the batcher wakes it early only when the
// proposal was not stored under the id it registered (failed, or a
// concurrent request with the same idempotency key was stored first).
//
// Thread-safety: every method may be called from any thread; callers are
// woken after the internal lock is released.
#pragma once

#include <chrono>
#include <condition_variable>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "engine/types.h"

namespace treaty::engine {

class Waiters {
 public:
  using Deadline = std::chrono::steady_clock::time_point;

  // What a waiter learns.
  struct Waiter {
    int callers = 0;
    std::condition_variable cv;
    std::optional<ProposalRow> row;  // applied
    std::optional<Status> failed;    // never stored
    std::string moved_to;            // stored under another id (same idempotency key)
  };

  // One waiter per proposal id, shared by its callers.
  std::shared_ptr<Waiter> Register(const std::string& id);
  void Release(const std::string& id, const std::shared_ptr<Waiter>& w);
  // Sleeps until the waiter learns something, the deadline, or Stop.
  // Returns a copy (a retry with the same key may share the waiter).
  struct Learnt {
    std::optional<ProposalRow> row;
    std::optional<Status> failed;
    std::string moved_to;
  };
  Learnt Wait(const std::shared_ptr<Waiter>& w, Deadline deadline, bool any = true);

  // The batcher: the proposal registered as `id` failed, or moved.
  void Fail(const std::shared_ptr<Waiter>& w, Status st);
  void Move(const std::shared_ptr<Waiter>& w, std::string to);

  // The applier, after a commit: hands applied rows to their waiters (the
  // rows are moved out) and wakes event and attestation waiters.
  // `our_batches`: how many of this node's batches the commit applied.
  void Applied(std::vector<ProposalRow>* rows, int our_batches);
  // Attestations were stored.
  void Attested();

  // The batcher's pacing: our batches sealed and not yet applied.
  void Sealed();
  int InFlight();
  // Waits until nothing of ours is in flight, `ready()` holds, the
  // timeout, or Stop; evaluated under the lock.
  void WaitForApplied(std::chrono::milliseconds timeout, const std::function<bool()>& ready);

  // A generation that changes whenever something was applied (event
  // streams) or attested (WaitAttested): read it, check the store, then
  // wait for it to change.
  uint64_t AppliedGeneration();
  bool WaitAppliedChange(uint64_t seen, std::chrono::milliseconds timeout);
  uint64_t AttestedGeneration();
  bool WaitAttestedChange(uint64_t seen, Deadline deadline);

  void Stop();
  bool stopped();

 private:
  std::mutex mu_;
  std::condition_variable applied_, attested_;
  std::map<std::string, std::shared_ptr<Waiter>> waiting_;
  uint64_t applied_generation_ = 0, attested_generation_ = 0;
  int in_flight_ = 0;
  bool stop_ = false;
};

}  // namespace treaty::engine
