// The sequencer's wire (docs/protocol.md, "Sequencer"): a request frame as
// treaty-sequencer decodes it, and a reply as a member's SequencerLedger
// decodes it. Pure functions over bytes a peer sent: every refusal is an
// error value naming what is wrong, never a crash (fuzzed in tests/fuzz).
//
// Thread-safety: pure functions.
#pragma once

#include <cstdint>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "chain/ledger.h"

namespace treaty::chain {

// The most blocks a read returns, and their bytes (the reply's bound).
inline constexpr size_t kMaxReadBlocks = 256;
inline constexpr size_t kMaxReadBytes = 4 << 20;

struct SequencerRequest {
  enum class Op { kSubmit, kRead, kHeight };
  Op op = Op::kHeight;
  // The request as parsed (its "req" is echoed in the reply, also in an
  // error's); null when the frame is not a JSON object.
  nlohmann::json req;
  Batch batch;  // submit
  // read: from a height of at least 1, at most `max` blocks (1 to
  // kMaxReadBlocks), waiting up to `wait_ms` (0 to 60000) for one.
  uint64_t from = 0;
  size_t max = kMaxReadBlocks;
  int64_t wait_ms = 0;
};

// A request frame of at most `max_bytes` (RESOURCE_EXHAUSTED beyond, before
// parsing). On an error *out holds what was parsed (for the echo).
Status DecodeSequencerRequest(std::string_view frame, size_t max_bytes, SequencerRequest* out);

// A reply frame to request `req_id`: NOT_FOUND for an unreadable frame or
// another request's answer (a late one: the caller waits on), the
// sequencer's error as a status, else the reply object.
Result<nlohmann::json> DecodeSequencerReply(std::string_view frame, uint64_t req_id);

// A reply's "height" (0 when absent or not a height: never a throw).
uint64_t ReplyHeight(const nlohmann::json& reply);

// The blocks of a read reply, which must run from `from` without a gap
// (signatures and hash links are the ledger's to check).
Result<std::vector<Block>> DecodeReadReply(const nlohmann::json& reply, uint64_t from);

}  // namespace treaty::chain
