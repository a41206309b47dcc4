// UniqueClaims: unique business keys (DESIGN.md, "Unique business keys";
// docs/protocol.md, "Unique keys"). A step that sets a `unique: true` data
// field claims the value on the ledger with a salted hash placed right
// after its pin in the same batch. At every node the first appearance of a
// claim in ledger order wins; a later step claiming the same key is
// rejected, and the reason — which names the key and the height where it
// was claimed first — is the same at every node, whatever order it
// applied things in.
//
// Thread-safety: ClaimsFor and CheckFree from any thread; Win, WonInBlock
// and NewBlock are the writer's (a WriteTxn open).
#pragma once

#include <optional>
#include <string>
#include <unordered_set>
#include <vector>

#include "definitions/runtime/machine.h"
#include "engine/node_context.h"

namespace treaty::engine {

class UniqueClaims {
 public:
  explicit UniqueClaims(const NodeContext* ctx) : ctx_(ctx) {}

  struct Claim {
    std::string field, value_text;
    Digest hash{};
  };
  // The claims a data change needs: unique fields set to a new value.
  std::vector<Claim> ClaimsFor(const runtime::DefinitionRuntime& def, const Value& before, const Value& after) const;

  // Preflight: ALREADY_EXISTS when a claim is taken on the ledger already.
  Status CheckFree(const std::vector<Claim>& claims, const std::string& instance);

  // Apply: nullopt when every claim is this step's by ledger order (and
  // records them as won); otherwise the rejection. `batch` holds the
  // entries of the step's batch, its pin at `pos` (null when the step is
  // applied later, from the queue).
  struct Rejection {
    RejectCode code;
    std::string reason;
  };
  Result<std::optional<Rejection>> Win(WriteTxn& txn, const std::vector<Claim>& claims, const std::string& instance,
                                       const LedgerPosition& at, const std::vector<Digest>* batch, size_t pos);

  // Claims won by steps of the block being applied: their own claim pins,
  // which follow them in the batch, are recorded once, as claims, not
  // also as unmatched pins.
  bool WonInBlock(const std::string& pin_hex) const { return won_in_block_.count(pin_hex) > 0; }
  void NewBlock() { won_in_block_.clear(); }

 private:
  const NodeContext* ctx_;
  std::unordered_set<std::string> won_in_block_;
};

}  // namespace treaty::engine
