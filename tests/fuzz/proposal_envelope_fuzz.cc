// libFuzzer target: arbitrary bytes as a proposal envelope and as a
// proposal set (engine/protocol/proposal_envelope.h), the way a member's
// message carries them. Besides crashes, sanitizer reports and hangs, it
// fails when a decoded envelope or set does not survive its own encoding
// (encode, decode, encode again gives the same text and signing digest).
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "engine/protocol/proposal_envelope.h"

using treaty::protocol::ProposalEnvelope;
using treaty::protocol::ProposalSet;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto env = ProposalEnvelope::FromJson(text);
  if (env.ok()) {
    (void)treaty::protocol::VerifyCommitments(*env);
    (void)env->Input();
    std::string json = env->ToJson();
    auto back = ProposalEnvelope::FromJson(json);
    if (!back.ok() || back->ToJson() != json || back->SigningDigest() != env->SigningDigest()) abort();
  } else if (env.status().message().empty()) {
    abort();  // a refusal always says why
  }
  auto value = treaty::Value::FromJson(text);
  if (!value.ok()) return 0;
  auto set = ProposalSet::FromValue(*value);
  if (!set.ok()) {
    if (set.status().message().empty()) abort();
    return 0;
  }
  auto again = ProposalSet::FromValue(set->ToValue());
  if (!again.ok() || again->SigningDigest() != set->SigningDigest() ||
      again->ToValue().ToCanonicalJson() != set->ToValue().ToCanonicalJson())
    abort();
  return 0;
}
