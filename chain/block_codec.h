// BlockCodec: the JSON form of batches and blocks, as the local ledger
// stores them and as the sequencer sends them (docs/protocol.md). Decoding
// checks shapes and sizes and never trusts its input.
//
// Thread-safety: pure functions.
#pragma once

#include <nlohmann/json.hpp>

#include "chain/ledger.h"

namespace treaty::chain {

inline constexpr size_t kMaxPinsPerBatch = 4096;
inline constexpr size_t kMaxBatchIdBytes = 128;

nlohmann::json BatchToJson(const Batch& b);
Result<Batch> BatchFromJson(const nlohmann::json& j);
// Batches only (the body the local ledger stores) or the whole block.
nlohmann::json BatchesToJson(const std::vector<Batch>& batches);
Status BatchesFromJson(const nlohmann::json& j, std::vector<Batch>* out);
nlohmann::json BlockToJson(const Block& b);
Result<Block> BlockFromJson(const nlohmann::json& j);

}  // namespace treaty::chain
