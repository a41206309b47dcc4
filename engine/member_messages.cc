#include "engine/member_messages.h"

namespace treaty::engine {

using json = nlohmann::json;

std::string EncodeExchangeFrame(const std::string& id, const std::string& kind, const std::string& from,
                                const std::string& body) {
  return "{\"body\":" + body + ",\"from\":" + json(from).dump() + ",\"id\":" + json(id).dump() +
         ",\"kind\":" + json(kind).dump() + "}";
}

Result<ExchangeFrame> DecodeExchangeFrame(std::string_view bytes, size_t max_bytes) {
  if (bytes.size() > max_bytes)
    return Status::ResourceExhausted("a message of " + std::to_string(bytes.size()) + " bytes is over the limit of " +
                                     std::to_string(max_bytes) + " (member_max_message_bytes)");
  // Exactly: a decimal in a proposal must reach its commitment check digit
  // for digit, so never through a double.
  TREATY_ASSIGN_OR_RETURN(Value parsed, Value::FromJson(bytes));
  if (!parsed.is_object()) return Status::InvalidArgument("a message must be a JSON object");
  const Value* id = parsed.Find("id");
  const Value* kind = parsed.Find("kind");
  const Value* from = parsed.Find("from");
  if (id == nullptr || !id->is_string() || kind == nullptr || !kind->is_string() || from == nullptr ||
      !from->is_string() || parsed.Find("body") == nullptr)
    return Status::InvalidArgument("a message needs 'id', 'kind' and 'from' (strings) and a 'body'");
  ExchangeFrame f;
  f.id = id->as_string();
  f.kind = kind->as_string();
  f.from = from->as_string();
  f.body = std::move(parsed.mutable_object().find("body")->second);
  return f;
}

std::string EncodeReceipt(const std::string& id, const std::string& from, const crypto::Signature& signature) {
  return json{{"kind", "receipt"}, {"id", id}, {"from", from}, {"signature", crypto::Hex(signature)}}.dump();
}

Result<ReceiptFrame> DecodeReceipt(std::string_view bytes) {
  json r = json::parse(bytes, nullptr, false);
  if (r.is_discarded() || !r.is_object()) return Status::InvalidArgument("a receipt must be a JSON object");
  auto text = [&](const char* key) -> const std::string* {
    auto it = r.find(key);
    return it != r.end() && it->is_string() ? it->get_ptr<const std::string*>() : nullptr;
  };
  const std::string* kind = text("kind");
  const std::string* id = text("id");
  const std::string* sig = text("signature");
  if (kind == nullptr || *kind != "receipt" || id == nullptr || sig == nullptr)
    return Status::InvalidArgument("a receipt needs kind \"receipt\", an 'id' and a 'signature'");
  TREATY_ASSIGN_OR_RETURN(crypto::Signature s, crypto::SignatureFromHex(*sig));
  return ReceiptFrame{*id, s};
}

Result<AttestationItem> DecodeAttestation(const json& body) {
  auto text = [&](const char* key) { return body.contains(key) && body[key].is_string(); };
  if (!body.is_object() || !text("instance") || !body.contains("seq") || !body["seq"].is_number_integer() ||
      !text("outcome") || !text("reject_code") || !text("reason") || !text("state_hash"))
    return Status::InvalidArgument("malformed attestation");
  auto outcome = OutcomeFromName(body["outcome"].get<std::string>());
  std::string code_text = body["reject_code"].get<std::string>();
  auto code = runtime::RejectCodeFromName(code_text.empty() ? "ACCEPTED" : code_text);
  if (!outcome || !code) return Status::InvalidArgument("malformed attestation: unknown outcome or reject code");
  AttestationItem a;
  a.instance = body["instance"].get<std::string>();
  a.seq = body["seq"].get<int64_t>();
  a.outcome = AttestedOutcome{*outcome, *code, body["reason"].get<std::string>(), body["state_hash"].get<std::string>()};
  return a;
}

Digest AttestationSetDigest(const std::string& party, const json& items) {
  // Items come from a peer before its signature is checked: a field of
  // another type (or an item that is no object) hashes as absent, never
  // throws (json::value() does: the fuzzer's regress-attestation-* seeds).
  auto text = [](const json& i, const char* key) {
    auto it = i.is_object() ? i.find(key) : i.end();
    return it != i.end() && it->is_string() ? it->get<std::string>() : std::string();
  };
  Sha256 h;
  h.UpdateField("treaty.attestations.v2");
  h.UpdateField(party);
  h.UpdateField(std::to_string(items.size()));
  for (const auto& i : items) {
    auto seq = i.is_object() ? i.find("seq") : i.end();
    h.UpdateField(text(i, "instance"));
    h.UpdateField(std::to_string(seq != i.end() && seq->is_number_integer() ? seq->get<int64_t>() : int64_t{0}));
    h.UpdateField(text(i, "outcome"));
    h.UpdateField(text(i, "reject_code"));
    h.UpdateField(text(i, "reason"));
    h.UpdateField(text(i, "state_hash"));
  }
  return h.Finish();
}

}  // namespace treaty::engine
