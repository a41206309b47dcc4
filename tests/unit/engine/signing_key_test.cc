// Party keys: signatures verify, and every forgery is refused.
#include <gtest/gtest.h>

#include "definitions/base/signing_key.h"

namespace treaty::crypto {
namespace {

TEST(SigningKey, SignVerifyAndDeterminism) {
  auto key = SigningKey::Generate();
  ASSERT_TRUE(key.ok());
  Digest d = Sha256Of("proposal bytes");
  Signature s = key->Sign(d);
  EXPECT_TRUE(Verify(key->public_key(), d, s));
  EXPECT_EQ(Hex(s), Hex(key->Sign(d)));  // RFC 6979
  auto again = SigningKey::FromHex(key->SecretHex());
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->public_key(), key->public_key());
  EXPECT_EQ(Hex(key->public_key()).size(), 66u);
  EXPECT_TRUE(Hex(key->public_key()).rfind("02", 0) == 0 || Hex(key->public_key()).rfind("03", 0) == 0);
}

TEST(SigningKey, ForgeriesAreRefused) {
  auto key = SigningKey::Generate();
  auto other = SigningKey::Generate();
  ASSERT_TRUE(key.ok() && other.ok());
  Digest d = Sha256Of("accept po-1");
  Signature s = key->Sign(d);
  EXPECT_FALSE(Verify(other->public_key(), d, s));             // someone else's key
  EXPECT_FALSE(Verify(key->public_key(), Sha256Of("cancel po-1"), s));  // another message
  Signature flipped = s;
  flipped[10] ^= 1;
  EXPECT_FALSE(Verify(key->public_key(), d, flipped));         // a changed signature
  Signature zero{};
  EXPECT_FALSE(Verify(key->public_key(), d, zero));
  PublicKey bad{};
  EXPECT_FALSE(Verify(bad, d, s));                             // not a curve point
}

TEST(SigningKey, KnownVector) {
  // Secret key 1: the public key is the generator point G.
  auto one = SigningKey::FromHex("0000000000000000000000000000000000000000000000000000000000000001");
  ASSERT_TRUE(one.ok());
  EXPECT_EQ(Hex(one->public_key()), "0279be667ef9dcbbac55a06295ce870b07029bfcdb2dce28d959f2815b16f81798");
}

TEST(SigningKey, MalformedInputIsRejectedWithAReason) {
  EXPECT_EQ(SigningKey::FromHex("00").status().message(), "a secret key must be 64 hex digits");
  EXPECT_EQ(SigningKey::FromHex(std::string(64, '0')).status().message(), "not a valid secp256k1 secret key");
  EXPECT_EQ(SigningKey::FromHex(std::string(64, 'f')).status().message(), "not a valid secp256k1 secret key");
  EXPECT_FALSE(PublicKeyFromHex(std::string(66, '0')).ok());
  EXPECT_FALSE(SignatureFromHex("zz").ok());
}

TEST(CurveKeys, GeneratesZ85Pairs) {
  auto pair = GenerateCurveKeyPair();
  ASSERT_TRUE(pair.ok()) << pair.status().ToString();
  EXPECT_EQ(pair->public_z85.size(), 40u);
  EXPECT_EQ(pair->secret_z85.size(), 40u);
  EXPECT_NE(pair->public_z85, GenerateCurveKeyPair()->public_z85);
}

}  // namespace
}  // namespace treaty::crypto
