// Signed proposals: every member verifies the author's signature, also on
// a copy where hidden fields are only salted commitments; any tampering is
// refused with a reason.
#include <gtest/gtest.h>

#include "engine/protocol/proposal_envelope.h"

namespace treaty::protocol {
namespace {

struct Fixture {
  crypto::SigningKey buyer = *crypto::SigningKey::Generate();
  crypto::SigningKey mallory = *crypto::SigningKey::Generate();
  Value input = *Value::FromJson(R"({"items":[{"sku":"A","qty":2}],"po_number":"PO-1","total":250})");
  ProposalEnvelope Seal() {
    return *SealProposal("po-1", "submit", "buyer", 0, Sha256Of("definition"), input, buyer);
  }
};

TEST(ProposalEnvelope, FullAndRedactedCopiesVerify) {
  Fixture f;
  ProposalEnvelope full = f.Seal();
  EXPECT_TRUE(VerifyProposal(full, f.buyer.public_key()).ok());
  EXPECT_EQ(full.Input(), f.input);

  ProposalEnvelope bank = RedactFor(full, {"items"});
  EXPECT_TRUE(VerifyProposal(bank, f.buyer.public_key()).ok());
  Value seen = bank.Input();
  ASSERT_TRUE(seen.Find("items")->is_redacted());
  EXPECT_EQ(seen.Find("total")->as_int(), 250);
  EXPECT_EQ(bank.ToJson().find("\"sku\""), std::string::npos);  // the value never leaves

  // Through the wire form and back.
  auto back = ProposalEnvelope::FromJson(bank.ToJson());
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_TRUE(VerifyProposal(*back, f.buyer.public_key()).ok());
  EXPECT_EQ(back->ToJson(), bank.ToJson());
}

TEST(ProposalSet, OneSignatureCoversEveryProposalAndItsRedactedCopies) {
  Fixture f;
  auto a = *CommitProposal("po-1", "submit", "buyer", 0, Sha256Of("definition"), f.input);
  auto b = *CommitProposal("po-2", "submit", "buyer", 0, Sha256Of("definition"), f.input);
  EXPECT_FALSE(a.signature);
  EXPECT_EQ(a.ToJson().find("\"signature\""), std::string::npos);
  EXPECT_FALSE(VerifyProposal(a, f.buyer.public_key()).ok()) << "no signature of its own";
  ProposalSet set = SignProposalSet("buyer", {a.SigningDigest(), b.SigningDigest()}, f.buyer);

  // Through the wire form: the same set, the same digest.
  auto back = ProposalSet::FromValue(*Value::FromJson(set.ToValue().ToCanonicalJson()));
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(back->SigningDigest(), set.SigningDigest());

  std::optional<bool> valid;
  EXPECT_TRUE(VerifyProposalInSet(a, *back, f.buyer.public_key(), &valid).ok());
  EXPECT_TRUE(VerifyProposalInSet(RedactFor(b, {"items"}), *back, f.buyer.public_key(), &valid).ok());
  ASSERT_TRUE(valid.has_value());  // checked once, remembered for the set's next proposal
  EXPECT_TRUE(*valid);

  // A proposal the set does not cover; a tampered field; another signer;
  // the set's own digest depends on order and author.
  auto c = *CommitProposal("po-3", "submit", "buyer", 0, Sha256Of("definition"), f.input);
  std::optional<bool> v2;
  EXPECT_EQ(VerifyProposalInSet(c, set, f.buyer.public_key(), &v2).code(), StatusCode::kPermissionDenied);
  ProposalEnvelope tampered = a;
  tampered.fields[1].value = Value::Str("PO-2");
  EXPECT_EQ(VerifyProposalInSet(tampered, set, f.buyer.public_key(), &v2).code(), StatusCode::kInvalidArgument);
  ProposalSet forged = SignProposalSet("buyer", {a.SigningDigest()}, f.mallory);
  std::optional<bool> v3;
  EXPECT_EQ(VerifyProposalInSet(a, forged, f.buyer.public_key(), &v3).code(), StatusCode::kPermissionDenied);
  EXPECT_EQ(v3, std::optional<bool>(false));
  ProposalSet swapped = set;
  std::swap(swapped.proposals[0], swapped.proposals[1]);
  EXPECT_NE(swapped.SigningDigest(), set.SigningDigest());
  ProposalSet renamed = set;
  renamed.author = "seller";
  EXPECT_NE(renamed.SigningDigest(), set.SigningDigest());
  std::optional<bool> v4;
  EXPECT_EQ(VerifyProposalInSet(a, renamed, f.buyer.public_key(), &v4).code(), StatusCode::kPermissionDenied);

  EXPECT_FALSE(ProposalSet::FromValue(*Value::FromJson(R"({"author":"buyer","proposals":["ab"],"signature":"00"})")).ok());
  EXPECT_FALSE(ProposalSet::FromValue(*Value::FromJson(R"({"author":"buyer"})")).ok());
}

TEST(ProposalEnvelope, SaltsMakeCommitmentsUnguessable) {
  Fixture f;
  ProposalEnvelope a = f.Seal(), b = f.Seal();
  // Same value, different salts: an outsider cannot test guesses of a hidden total.
  EXPECT_NE(a.fields[2].commitment, b.fields[2].commitment);
}

TEST(ProposalEnvelope, TamperingIsRefused) {
  Fixture f;
  ProposalEnvelope p = f.Seal();
  EXPECT_EQ(VerifyProposal(p, f.mallory.public_key()).code(), StatusCode::kPermissionDenied);

  ProposalEnvelope changed_value = p;
  changed_value.fields[2].value = Value::Int(1);
  Status st = VerifyProposal(changed_value, f.buyer.public_key());
  EXPECT_EQ(st.code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(st.message(), "input field 'total' does not match its commitment");

  ProposalEnvelope recommitted = changed_value;  // a forger recomputes the commitment...
  recommitted.fields[2].commitment = FieldCommitment(recommitted.fields[2].salt_hex, "total", Value::Int(1));
  st = VerifyProposal(recommitted, f.buyer.public_key());  // ...and the signature no longer matches
  EXPECT_EQ(st.code(), StatusCode::kPermissionDenied);
  EXPECT_EQ(st.message(), "signature of proposal po-1/submit #0 is not buyer's");

  for (auto mutate : {+[](ProposalEnvelope& e) { e.step = "cancel"; }, +[](ProposalEnvelope& e) { e.nonce = 1; },
                      +[](ProposalEnvelope& e) { e.instance = "po-2"; }, +[](ProposalEnvelope& e) { e.author = "seller"; },
                      +[](ProposalEnvelope& e) { e.fields.pop_back(); }}) {
    ProposalEnvelope e = p;
    mutate(e);
    EXPECT_EQ(VerifyProposal(e, f.buyer.public_key()).code(), StatusCode::kPermissionDenied);
  }
  ProposalEnvelope dup = p;
  dup.fields.push_back(dup.fields.back());
  EXPECT_EQ(VerifyProposal(dup, f.buyer.public_key()).code(), StatusCode::kInvalidArgument);
}

TEST(ProposalEnvelope, MalformedWireFormsAreRejected) {
  EXPECT_FALSE(ProposalEnvelope::FromJson("{}").ok());
  EXPECT_FALSE(ProposalEnvelope::FromJson("not json").ok());
  Fixture f;
  std::string json = f.Seal().ToJson();
  std::string bad_sig = json;
  bad_sig.replace(bad_sig.find("\"signature\":\"") + 13, 4, "zzzz");
  EXPECT_FALSE(ProposalEnvelope::FromJson(bad_sig).ok());
}

}  // namespace
}  // namespace treaty::protocol
