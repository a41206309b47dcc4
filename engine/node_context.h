// NodeContext: what every part of a node shares — its options, its Env,
// its store and the definitions it runs — and the small helpers they all
// use (time, ids, logging). Made once by Node; the parts keep a pointer.
//
// Thread-safety: immutable after construction; the helpers may be called
// from any thread.
#pragma once

#include <string>

#include "definitions/runtime/registry.h"
#include "engine/node_options.h"
#include "engine/store/node_store.h"

namespace treaty::engine {

struct NodeContext {
  NodeOptions opts;
  NodeStore* store = nullptr;
  runtime::Registry* registry = nullptr;

  bool multi_party() const { return opts.network != nullptr && opts.identity != nullptr; }
  const std::string& party() const { return opts.party; }
  Env* env() const { return opts.env; }
  int64_t NowMs() const { return opts.env->NowMs(); }
  void Log(const std::string& line, LogLevel level = LogLevel::kInfo, const LogFields& fields = {}) const {
    opts.env->Log("node", line, level, fields);
  }
  NodeMetrics* metrics() const { return opts.metrics; }
  // A 32-hex-digit id whose first 12 digits are the time in milliseconds:
  // ids made one after another sort together, so inserting them into an
  // index touches the same few pages instead of a random page each time.
  std::string TimeOrderedId() const;
  // The definition an instance runs, by its hash (hex); null if not loaded.
  std::shared_ptr<const runtime::DefinitionRuntime> DefinitionByHash(const std::string& hash_hex) const;
};

// Instance ids a caller may choose: 1-128 letters, digits, - _ . :
bool ValidId(const std::string& id);

// pin = sha256("treaty.pin.v1", salt, author, nonce), length-prefixed
// fields (docs/protocol.md).
Digest Pin(const std::string& salt_hex, const std::string& author, int64_t nonce);

}  // namespace treaty::engine
