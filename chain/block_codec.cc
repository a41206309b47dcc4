#include "chain/block_codec.h"

namespace treaty::chain {

using json = nlohmann::json;

json BatchToJson(const Batch& b) {
  json pins = json::array();
  for (const auto& p : b.pins) pins.push_back(ToHex(p));
  json j = {{"id", b.id}, {"author", b.author}, {"pins", pins}};
  if (!b.signature.empty()) j["signature"] = b.signature;
  return j;
}

Result<Batch> BatchFromJson(const json& j) {
  if (!j.is_object()) return Status::InvalidArgument("a batch must be an object");
  Batch b;
  auto str = [&](const char* k, std::string* out) {
    auto it = j.find(k);
    if (it == j.end() || !it->is_string()) return false;
    *out = it->get<std::string>();
    return true;
  };
  if (!str("id", &b.id) || b.id.empty() || b.id.size() > kMaxBatchIdBytes)
    return Status::InvalidArgument("a batch needs an id of 1-128 characters");
  if (!str("author", &b.author) || b.author.empty()) return Status::InvalidArgument("a batch needs an author");
  if (j.contains("signature") && !str("signature", &b.signature))
    return Status::InvalidArgument("a batch signature must be a hex string");
  auto pins = j.find("pins");
  if (pins == j.end() || !pins->is_array()) return Status::InvalidArgument("a batch needs a list of pins");
  if (pins->size() > kMaxPinsPerBatch)
    return Status::ResourceExhausted("a batch holds at most " + std::to_string(kMaxPinsPerBatch) + " pins, not " +
                                     std::to_string(pins->size()));
  for (const auto& p : *pins) {
    Digest d;
    if (!p.is_string() || !DigestFromHex(p.get<std::string>(), &d))
      return Status::InvalidArgument("a pin must be 64 hex digits");
    b.pins.push_back(d);
  }
  return b;
}

json BatchesToJson(const std::vector<Batch>& batches) {
  json arr = json::array();
  for (const auto& b : batches) arr.push_back(BatchToJson(b));
  return json{{"batches", arr}};
}

Status BatchesFromJson(const json& j, std::vector<Batch>* out) {
  if (!j.is_object() || !j.contains("batches") || !j["batches"].is_array())
    return Status::DataLoss("a block body needs a list of batches");
  for (const auto& jb : j["batches"]) {
    auto b = BatchFromJson(jb);
    if (!b.ok()) return Status::DataLoss("corrupt batch: " + b.status().message());
    out->push_back(std::move(b).value());
  }
  return Status::Ok();
}

json BlockToJson(const Block& b) {
  json j = BatchesToJson(b.batches);
  j["height"] = b.height;
  j["time_ms"] = b.time_ms;
  j["prev_hash"] = ToHex(b.prev_hash);
  j["hash"] = ToHex(b.hash);
  if (!b.signature.empty()) j["signature"] = b.signature;
  return j;
}

Result<Block> BlockFromJson(const json& j) {
  Block b;
  if (!j.is_object() || !j.contains("height") || !j["height"].is_number_unsigned() || !j.contains("time_ms") ||
      !j["time_ms"].is_number_integer())
    return Status::DataLoss("a block needs a height and a time");
  b.height = j["height"].get<uint64_t>();
  b.time_ms = j["time_ms"].get<int64_t>();
  if (!j.contains("prev_hash") || !j["prev_hash"].is_string() ||
      !DigestFromHex(j["prev_hash"].get<std::string>(), &b.prev_hash) || !j.contains("hash") ||
      !j["hash"].is_string() || !DigestFromHex(j["hash"].get<std::string>(), &b.hash))
    return Status::DataLoss("a block needs prev_hash and hash as 64 hex digits");
  if (j.contains("signature")) {
    if (!j["signature"].is_string()) return Status::DataLoss("a block signature must be a string");
    b.signature = j["signature"].get<std::string>();
  }
  TREATY_RETURN_IF_ERROR(BatchesFromJson(j, &b.batches));
  return b;
}

}  // namespace treaty::chain
