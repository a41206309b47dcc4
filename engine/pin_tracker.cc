#include "engine/pin_tracker.h"

#include <nlohmann/json.hpp>

namespace treaty::engine {

using json = nlohmann::json;

Status PinTracker::Load(WriteTxn& txn) {
  if (!stale_) return Status::Ok();
  TREATY_ASSIGN_OR_RETURN(auto instances, txn.InstancesWithQueuedPins());
  waiting_ = std::set<std::string>(instances.begin(), instances.end());
  stale_ = false;
  return Status::Ok();
}

Status PinTracker::Expect(WriteTxn& txn, const std::string& instance, const std::string& author, int64_t nonce,
                          const std::string& salt_hex) {
  while (true) {
    std::string pin = ToHex(Pin(salt_hex, author, nonce));
    if (ctx_->multi_party()) {
      // Sequenced before we could recognise it (its start came late)?
      TREATY_ASSIGN_OR_RETURN(auto seen, txn.UnmatchedPin(pin));
      if (seen) {
        TREATY_RETURN_IF_ERROR(txn.DeleteUnmatchedPin(pin));
        TREATY_RETURN_IF_ERROR(Queue(txn, instance, author, pin, *seen));
        ++nonce;  // and the author's next one may be there too
        continue;
      }
    }
    return txn.ExpectPin(pin, instance, author, nonce);
  }
}

Status PinTracker::Queue(WriteTxn& txn, const std::string& instance, const std::string& author,
                         const std::string& pin_hex, const LedgerPosition& at) {
  TREATY_RETURN_IF_ERROR(Load(txn));
  TREATY_RETURN_IF_ERROR(txn.QueuePin(instance, author, pin_hex, at, ctx_->NowMs()));
  waiting_.insert(instance);
  return Status::Ok();
}

Result<bool> PinTracker::HasQueued(WriteTxn& txn, const std::string& instance) {
  TREATY_RETURN_IF_ERROR(Load(txn));
  return waiting_.count(instance) > 0;
}

Status PinTracker::NoteBlocked(WriteTxn& txn, const std::string& instance, const WriteTxn::QueuedPin& head) {
  // Said once per pin. No log line: most waits end within milliseconds,
  // when the data overtaken by its block arrives; the member protocol logs
  // those that last (RequestResends).
  if (head.noted) return Status::Ok();
  TREATY_RETURN_IF_ERROR(txn.NoteQueuedPin(instance, head.at));
  EventRow ev;
  ev.type = "instance_blocked";
  ev.instance = instance;
  ev.time_ms = head.at.time_ms;
  ev.height = head.at.height;
  ev.payload_json = json{{"pin", head.pin}, {"author", head.author}}.dump();
  return txn.AppendEvent(ev);
}

Status PinTracker::NoteUnblocked(WriteTxn& txn, const std::string& instance, int64_t waited_ms) {
  // Short waits are routine under load; the log keeps the long ones.
  if (waited_ms >= 1000)
    ctx_->Log("instance " + instance + " unblocked after " + std::to_string(waited_ms) + " ms", LogLevel::kInfo,
              {instance, {}});
  EventRow ev;
  ev.type = "instance_unblocked";
  ev.instance = instance;
  ev.time_ms = ctx_->NowMs();
  ev.payload_json = json{{"blocked_ms", waited_ms}}.dump();
  return txn.AppendEvent(ev);
}

}  // namespace treaty::engine
