// StateHash: the hash of an instance's state that members attest
// (docs/protocol.md, "State hash"). On a single node it is the machine's
// own. In a network, a restricted field enters as its salted commitment,
// which the members who see the value and those who hold only the
// commitment share; the commitment of a field is kept (store) while its
// value is unchanged.
//
// Thread-safety: the writer's (a WriteTxn open).
#pragma once

#include <string>

#include "definitions/runtime/machine.h"
#include "engine/node_context.h"

namespace treaty::engine {

class StateHash {
 public:
  explicit StateHash(const NodeContext* ctx) : ctx_(ctx) {}
  // The state hash (hex) of `m` right after applying a proposal with
  // `input_json` and `extra` to `instance`.
  Result<std::string> Of(WriteTxn& txn, const runtime::DefinitionRuntime& def, const runtime::Machine& m,
                         const std::string& instance, const std::string& input_json, const ProposalExtra& extra);

 private:
  const NodeContext* ctx_;
};

}  // namespace treaty::engine
