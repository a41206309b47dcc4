// libFuzzer target: arbitrary bytes as what a member receives over the
// data exchange (engine/member_messages.h): a message frame, decoded as
// the exchange does, then its body as the member protocol reads it —
// attestation sets (their signing digest, each item) and proposal
// messages (each envelope, each set); and as a receipt. Fails on crashes,
// sanitizer reports, hangs, a refusal without a reason, or a frame that
// does not survive EncodeExchangeFrame.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include <nlohmann/json.hpp>

#include "engine/member_messages.h"
#include "engine/protocol/proposal_envelope.h"

namespace {

constexpr size_t kMaxBytes = 1 << 20;

void Attestations(const treaty::engine::ExchangeFrame& f) {
  // As MemberProtocol::Receive reads them: through JSON.
  auto body = nlohmann::json::parse(f.body.ToCanonicalJson(), nullptr, false);
  if (!body.is_object() || !body.contains("items") || !body["items"].is_array()) return;
  (void)treaty::engine::AttestationSetDigest(f.from, body["items"]);
  for (const auto& item : body["items"]) {
    auto a = treaty::engine::DecodeAttestation(item);
    if (!a.ok() && a.status().message().empty()) abort();
  }
}

void Proposals(const treaty::engine::ExchangeFrame& f) {
  if (const treaty::Value* sets = f.body.Find("sets"); sets != nullptr && sets->is_list())
    for (const auto& s : sets->as_list()) (void)treaty::protocol::ProposalSet::FromValue(s);
  const treaty::Value* items = f.body.Find("items");
  if (items == nullptr || !items->is_list()) return;
  for (const auto& item : items->as_list())
    if (const treaty::Value* env = item.Find("envelope")) {
      auto p = treaty::protocol::ProposalEnvelope::FromValue(*env);
      if (p.ok()) (void)treaty::protocol::VerifyCommitments(*p);
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto receipt = treaty::engine::DecodeReceipt(text);
  if (!receipt.ok() && receipt.status().message().empty()) abort();
  auto frame = treaty::engine::DecodeExchangeFrame(text, kMaxBytes);
  if (!frame.ok()) {
    if (frame.status().message().empty()) abort();
    return 0;
  }
  std::string again = treaty::engine::EncodeExchangeFrame(frame->id, frame->kind, frame->from,
                                                          frame->body.ToCanonicalJson());
  auto back = treaty::engine::DecodeExchangeFrame(again, SIZE_MAX);
  if (!back.ok() || back->id != frame->id || back->kind != frame->kind || back->from != frame->from ||
      back->body.ToCanonicalJson() != frame->body.ToCanonicalJson())
    abort();
  if (frame->kind == "attestations") Attestations(*frame);
  if (frame->kind == "proposals") Proposals(*frame);
  return 0;
}
