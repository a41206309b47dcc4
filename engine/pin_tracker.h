// PinTracker: which pins this node waits for and which wait for their data
// (DESIGN.md, protocol step 5). For every author of every instance it is
// in, the node precomputes the author's next pin (expected pins), so a
// block's pins are recognised by a lookup. A recognised pin whose data has
// not arrived — or that sits behind one in the same instance — is queued,
// in ledger order, and the instance is blocked there; other instances go
// on. A pin nobody recognises yet is remembered with its first ledger
// position, because a start proposal arriving late may reveal it.
//
// The queue is drained by the Applier (the only code that applies pins);
// this class keeps the rows and the set of instances with queued pins.
//
// Thread-safety: the writer's (every method with a WriteTxn open).
#pragma once

#include <set>
#include <string>

#include "engine/node_context.h"

namespace treaty::engine {

class PinTracker final : public TxnObserver {
 public:
  explicit PinTracker(const NodeContext* ctx) : ctx_(ctx) {}

  // Expects `author`'s pin with `nonce` in the instance. A pin sequenced
  // before we could recognise it (its start came late) is queued at its
  // ledger position instead, and the author's next one expected.
  Status Expect(WriteTxn& txn, const std::string& instance, const std::string& author, int64_t nonce,
                const std::string& salt_hex);
  // The pin, if expected: whose, in which instance (and it is no longer expected).
  Result<std::optional<ExpectedPin>> Recognise(WriteTxn& txn, const std::string& pin_hex) {
    return txn.TakeExpectedPin(pin_hex);
  }
  // A recognised pin that waits (for its data, or behind one that does).
  Status Queue(WriteTxn& txn, const std::string& instance, const std::string& author, const std::string& pin_hex,
               const LedgerPosition& at);
  Result<bool> HasQueued(WriteTxn& txn, const std::string& instance);
  // The instance's queue is empty now.
  void Drained(const std::string& instance) { waiting_.erase(instance); }

  // Events: an instance starts waiting at a pin (once per pin), or ends.
  Status NoteBlocked(WriteTxn& txn, const std::string& instance, const WriteTxn::QueuedPin& head);
  Status NoteUnblocked(WriteTxn& txn, const std::string& instance, int64_t waited_ms);

  void Abandoned() override { stale_ = true; }

 private:
  Status Load(WriteTxn& txn);

  const NodeContext* ctx_;
  std::set<std::string> waiting_;  // instances with queued pins, as committed plus the open transaction
  bool stale_ = true;              // reload from the store before use
};

}  // namespace treaty::engine
