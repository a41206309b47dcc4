#include "chain/sequencer/sequencer_wire.h"

#include <algorithm>

#include "chain/block_codec.h"

namespace treaty::chain {

using json = nlohmann::json;

Status DecodeSequencerRequest(std::string_view frame, size_t max_bytes, SequencerRequest* out) {
  if (frame.size() > max_bytes)
    return Status::ResourceExhausted("a request of " + std::to_string(frame.size()) + " bytes is over the limit of " +
                                     std::to_string(max_bytes) + " (--max-message-bytes)");
  json req = json::parse(frame, nullptr, false);
  if (req.is_discarded() || !req.is_object()) return Status::InvalidArgument("a request must be a JSON object with an op");
  out->req = std::move(req);
  const json& r = out->req;
  auto op = r.find("op");
  if (op == r.end() || !op->is_string()) return Status::InvalidArgument("a request must be a JSON object with an op");
  const std::string& name = op->get_ref<const std::string&>();
  if (name == "height") {
    out->op = SequencerRequest::Op::kHeight;
    return Status::Ok();
  }
  if (name == "submit") {
    out->op = SequencerRequest::Op::kSubmit;
    auto b = r.find("batch");
    if (b == r.end()) return Status::InvalidArgument("submit needs a batch");
    TREATY_ASSIGN_OR_RETURN(out->batch, BatchFromJson(*b));
    return Status::Ok();
  }
  if (name == "read") {
    out->op = SequencerRequest::Op::kRead;
    auto from = r.find("from");
    if (from == r.end() || !from->is_number_integer() || (from->is_number_unsigned() ? from->get<uint64_t>() < 1
                                                                                     : from->get<int64_t>() < 1))
      return Status::InvalidArgument("read needs from, a height of at least 1");
    out->from = from->get<uint64_t>();
    // nlohmann's parser makes every non-negative integer unsigned, so
    // unsigned values are read as such (clamped), negative ones as signed.
    auto integer = [](const json& v) -> int64_t {
      if (v.is_number_unsigned()) return static_cast<int64_t>(std::min<uint64_t>(v.get<uint64_t>(), INT64_MAX));
      return v.is_number_integer() ? v.get<int64_t>() : 0;
    };
    auto max = r.find("max");
    int64_t asked = max != r.end() ? integer(*max) : 0;
    out->max = asked <= 0 ? kMaxReadBlocks : std::min<size_t>(static_cast<size_t>(asked), kMaxReadBlocks);
    auto wait = r.find("wait_ms");
    out->wait_ms = wait != r.end() ? std::clamp<int64_t>(integer(*wait), 0, 60000) : 0;
    return Status::Ok();
  }
  return Status::InvalidArgument("unknown op '" + name + "'; ops are submit, read, height");
}

Result<json> DecodeSequencerReply(std::string_view frame, uint64_t req_id) {
  json r = json::parse(frame, nullptr, false);
  if (r.is_discarded() || !r.is_object()) return Status::NotFound("an unreadable reply");
  auto id = r.find("req");
  if (id == r.end() || !id->is_number_unsigned() || id->get<uint64_t>() != req_id)
    return Status::NotFound("a reply to another request");
  auto error = r.find("error");
  if (error != r.end()) {
    auto text = [&](const char* k) {
      auto it = r.find(k);
      return it != r.end() && it->is_string() ? it->get<std::string>() : std::string();
    };
    std::string code = text("code");
    std::string message = "sequencer: " + text("error");
    if (code == "PERMISSION_DENIED") return Status::PermissionDenied(message);
    if (code == "INVALID_ARGUMENT") return Status::InvalidArgument(message);
    if (code == "RESOURCE_EXHAUSTED") return Status::ResourceExhausted(message);
    return Status::Unavailable(message);
  }
  return r;
}

uint64_t ReplyHeight(const json& r) {
  auto h = r.is_object() ? r.find("height") : r.end();
  return h != r.end() && h->is_number_unsigned() ? h->get<uint64_t>() : 0;
}

Result<std::vector<Block>> DecodeReadReply(const json& r, uint64_t from) {
  auto blocks = r.find("blocks");
  if (!r.is_object() || blocks == r.end() || !blocks->is_array()) return Status::DataLoss("sequencer read without blocks");
  if (blocks->size() > kMaxReadBlocks)
    return Status::DataLoss("sequencer sent " + std::to_string(blocks->size()) + " blocks, more than " +
                            std::to_string(kMaxReadBlocks));
  std::vector<Block> out;
  uint64_t expect = from;
  for (const auto& jb : *blocks) {
    TREATY_ASSIGN_OR_RETURN(Block b, BlockFromJson(jb));
    if (b.height != expect)
      return Status::DataLoss("sequencer sent block " + std::to_string(b.height) + " where " + std::to_string(expect) +
                              " was due");
    ++expect;
    out.push_back(std::move(b));
  }
  return out;
}

}  // namespace treaty::chain
