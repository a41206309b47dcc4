// The wire decoders a peer's bytes reach (engine/member_messages.h,
// chain/sequencer/sequencer_wire.h): size limits before parsing, precise
// refusals, and the inputs the fuzzers found crashing (tests/fuzz/seeds/*/
// regress-*), each now an error value.
#include <gtest/gtest.h>

#include "chain/sequencer/sequencer_wire.h"
#include "engine/member_messages.h"

namespace treaty {
namespace {

using json = nlohmann::json;

TEST(ExchangeFrame, RoundTripsAndRefusesWhatIsMalformed) {
  std::string text = engine::EncodeExchangeFrame("m-1", "resend", "acme", R"({"items":[{"pin":"ab"}]})");
  auto f = engine::DecodeExchangeFrame(text, 1 << 20);
  ASSERT_TRUE(f.ok()) << f.status().ToString();
  EXPECT_EQ(f->id, "m-1");
  EXPECT_EQ(f->kind, "resend");
  EXPECT_EQ(f->from, "acme");
  EXPECT_EQ(f->body.ToCanonicalJson(), R"({"items":[{"pin":"ab"}]})");
  for (const char* bad : {"", "[]", "{\"id\":1,\"kind\":\"x\",\"from\":\"a\",\"body\":{}}",
                          "{\"id\":\"1\",\"kind\":\"x\",\"from\":\"a\"}", "{\"id\":\"1\""}) {
    auto r = engine::DecodeExchangeFrame(bad, 1 << 20);
    EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument) << bad;
    EXPECT_FALSE(r.status().message().empty());
  }
}

TEST(ExchangeFrame, AFrameOverTheLimitIsRefusedBeforeParsing) {
  std::string text = engine::EncodeExchangeFrame("m-1", "resend", "acme", "\"" + std::string(2000, 'x') + "\"");
  auto r = engine::DecodeExchangeFrame(text, 1000);
  EXPECT_EQ(r.status().code(), StatusCode::kResourceExhausted);
  EXPECT_NE(r.status().message().find("member_max_message_bytes"), std::string::npos);
  EXPECT_TRUE(engine::DecodeExchangeFrame(text, text.size()).ok());
}

TEST(Receipt, RoundTripsAndNeedsAValidSignature) {
  crypto::Signature sig{};
  sig[0] = 1;
  auto r = engine::DecodeReceipt(engine::EncodeReceipt("m-9", "globex", sig));
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->id, "m-9");
  EXPECT_EQ(r->signature, sig);
  EXPECT_FALSE(engine::DecodeReceipt(R"({"kind":"receipt","id":"m","signature":"zz"})").ok());
  EXPECT_FALSE(engine::DecodeReceipt(R"({"kind":"other","id":"m","signature":""})").ok());
  EXPECT_FALSE(engine::DecodeReceipt("{").ok());
}

TEST(Attestation, DecodesAnItemAndRefusesAMalformedOne) {
  json item = {{"instance", "po-1"}, {"seq", 3}, {"outcome", "REJECTED"}, {"reject_code", "GUARD_FALSE"},
               {"reason", "no"}, {"state_hash", "ab"}};
  auto a = engine::DecodeAttestation(item);
  ASSERT_TRUE(a.ok()) << a.status().ToString();
  EXPECT_EQ(a->seq, 3);
  EXPECT_EQ(a->outcome.outcome, engine::Outcome::kRejected);
  item["outcome"] = "MAYBE";
  EXPECT_EQ(engine::DecodeAttestation(item).status().code(), StatusCode::kInvalidArgument);
  EXPECT_FALSE(engine::DecodeAttestation(json::array()).ok());
}

// Regression (tests/fuzz/seeds/member_message_fuzz/regress-attestation-*):
// the digest of a peer's attestation set, computed before its signature is
// checked, threw nlohmann::type_error on an item field of another type or
// an item that is no object, which ended treatyd (std::terminate on the
// exchange thread). Now such items hash as absent fields; valid items hash
// as before (the signature of a well-formed set is unchanged).
TEST(Attestation, TheSetDigestOfMalformedItemsIsAValueNotAThrow) {
  json bad = json::parse(R"([7, {"instance": 1, "seq": "x", "outcome": null}, [], "s"])");
  Digest d{};
  EXPECT_NO_THROW(d = engine::AttestationSetDigest("acme", bad));
  EXPECT_NE(d, engine::AttestationSetDigest("acme", json::array()));
  json good = json::array({json{{"instance", "po-1"}, {"seq", 3}, {"outcome", "CONFIRMED"}, {"reject_code", ""},
                                {"reason", ""}, {"state_hash", "ab"}}});
  Sha256 h;
  h.UpdateField("treaty.attestations.v2").UpdateField("acme").UpdateField("1");
  h.UpdateField("po-1").UpdateField("3").UpdateField("CONFIRMED").UpdateField("").UpdateField("").UpdateField("ab");
  EXPECT_EQ(engine::AttestationSetDigest("acme", good), h.Finish());
}

TEST(SequencerRequest, DecodesEachOpAndBoundsWhatItAsks) {
  chain::SequencerRequest r;
  ASSERT_TRUE(chain::DecodeSequencerRequest(R"({"op":"read","req":4,"from":2,"max":100000,"wait_ms":-5})", 1 << 20, &r)
                  .ok());
  EXPECT_EQ(r.op, chain::SequencerRequest::Op::kRead);
  EXPECT_EQ(r.from, 2u);
  EXPECT_EQ(r.max, chain::kMaxReadBlocks);
  EXPECT_EQ(r.wait_ms, 0);
  EXPECT_EQ(r.req["req"], 4);
  // Values within bounds are taken as given (the parser makes them unsigned).
  ASSERT_TRUE(chain::DecodeSequencerRequest(R"({"op":"read","req":6,"from":1,"max":3,"wait_ms":500})", 1 << 20, &r)
                  .ok());
  EXPECT_EQ(r.max, 3u);
  EXPECT_EQ(r.wait_ms, 500);
  Status st = chain::DecodeSequencerRequest(R"({"op":"read","req":5,"from":0})", 1 << 20, &r);
  EXPECT_EQ(st.code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(r.req["req"], 5);  // echoed in the error reply
  EXPECT_EQ(chain::DecodeSequencerRequest(R"({"op":"fly"})", 1 << 20, &r).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(chain::DecodeSequencerRequest(R"({"op":"submit"})", 1 << 20, &r).code(), StatusCode::kInvalidArgument);
}

TEST(SequencerRequest, AFrameOverTheLimitIsResourceExhausted) {
  chain::SequencerRequest r;
  std::string big = R"({"op":"height","pad":")" + std::string(5000, 'x') + "\"}";
  Status st = chain::DecodeSequencerRequest(big, 4096, &r);
  EXPECT_EQ(st.code(), StatusCode::kResourceExhausted);
  EXPECT_NE(st.message().find("--max-message-bytes"), std::string::npos);
}

TEST(SequencerReply, ALateOrUnreadableReplyIsNotFoundAndAHeightNeverThrows) {
  EXPECT_EQ(chain::DecodeSequencerReply(R"({"req":2})", 1).status().code(), StatusCode::kNotFound);
  EXPECT_EQ(chain::DecodeSequencerReply("nope", 1).status().code(), StatusCode::kNotFound);
  auto err = chain::DecodeSequencerReply(R"({"req":1,"code":"RESOURCE_EXHAUSTED","error":"too big"})", 1);
  EXPECT_EQ(err.status().code(), StatusCode::kResourceExhausted);
  auto ok = chain::DecodeSequencerReply(R"({"req":1,"height":"high","blocks":[]})", 1);
  ASSERT_TRUE(ok.ok());
  EXPECT_EQ(chain::ReplyHeight(*ok), 0u);
  EXPECT_TRUE(chain::DecodeReadReply(*ok, 1).ok());
  EXPECT_EQ(chain::DecodeReadReply(json{{"blocks", 3}}, 1).status().code(), StatusCode::kDataLoss);
}

}  // namespace
}  // namespace treaty
