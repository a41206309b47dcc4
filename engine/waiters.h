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
#include <thread>
#include <vector>

#include "engine/types.h"

namespace treaty::engine {

class Waiters {
 public:
  using Deadline = std::chrono::steady_clock::time_point;

  // What a caller learns: the applied row, a failure (never stored), or
  // the id it was stored under instead (same idempotency key); nothing at
  // all when its deadline passed first.
  struct Learnt {
    std::optional<ProposalRow> row;
    std::optional<Status> failed;
    std::string moved_to;
  };
  // A caller that does not block: called once, with what was learnt, or
  // with nothing at its deadline; on the thread that learnt it (the
  // applier's, after its commit) or on the deadline thread.
  using Listener = std::function<void(Learnt)>;

  struct Waiter;
  struct Listening;
  // Listeners by deadline: the deadline thread calls those still waiting.
  using DeadlineMap = std::multimap<Deadline, std::pair<std::string, std::weak_ptr<Listening>>>;
  struct Listening {
    Listener listener;
    DeadlineMap::iterator due;  // its entry, erased when it is called
  };

  struct Waiter {
    std::string id;
    int callers = 0;
    std::condition_variable cv;
    std::optional<ProposalRow> row;
    std::optional<Status> failed;
    std::string moved_to;
    std::vector<std::shared_ptr<Listening>> listeners;
  };

  // One waiter per proposal id, shared by its callers.
  std::shared_ptr<Waiter> Register(const std::string& id);
  void Release(const std::string& id, const std::shared_ptr<Waiter>& w);
  // Sleeps until the waiter learns something, the deadline, or Stop.
  // Returns a copy (a retry with the same key may share the waiter).
  Learnt Wait(const std::shared_ptr<Waiter>& w, Deadline deadline, bool any = true);
  // Without sleeping: `listener` is called once, when the proposal
  // registered as `id` is applied, fails or moves, or at `deadline` (with
  // nothing learnt), or at Stop (failed: UNAVAILABLE). `any` false: only
  // an applied row counts (a caller waiting for a proposal stored already).
  // Returns the waiter it listens on (null if called at once): a batcher
  // item carries it, to Fail or Move it.
  std::shared_ptr<Waiter> Listen(const std::string& id, Deadline deadline, Listener listener, bool any = true);

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
  ~Waiters();

 private:
  // Listeners whose waiter learnt what they wait for: detached under mu_,
  // called after it is released.
  void TakeListeners(const std::shared_ptr<Waiter>& w, bool any, std::vector<std::pair<Listener, Learnt>>* out);
  void DeadlineLoop();

  std::mutex mu_;
  std::condition_variable applied_, attested_;
  // The deadline thread starts with the first listener.
  DeadlineMap deadlines_;
  std::condition_variable deadline_cv_;
  std::thread deadline_thread_;
  std::map<std::string, std::shared_ptr<Waiter>> waiting_;
  uint64_t applied_generation_ = 0, attested_generation_ = 0;
  int in_flight_ = 0;
  bool stop_ = false;
};

}  // namespace treaty::engine
