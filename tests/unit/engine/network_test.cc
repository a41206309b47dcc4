// The network file: members with their keys and endpoints, and a precise
// FILE:LINE:COL error for every mistake.
#include <gtest/gtest.h>

#include "chain/network.h"

namespace treaty::chain {
namespace {

std::string Member(const std::string& name, const crypto::SigningKey& k, const std::string& curve, int port) {
  return "  - name: " + name + "\n    signing_key: " + crypto::Hex(k.public_key()) + "\n    curve_key: \"" + curve +
         "\"\n    endpoint: tcp://127.0.0.1:" + std::to_string(port) + "\n";
}

TEST(Network, LoadsMembers) {
  auto a = crypto::SigningKey::Generate();
  auto b = crypto::SigningKey::Generate();
  auto ca = crypto::GenerateCurveKeyPair();
  auto cb = crypto::GenerateCurveKeyPair();
  std::string yaml = "network: trade\nmembers:\n" + Member("buyer", *a, ca->public_z85, 7421) +
                     Member("seller", *b, cb->public_z85, 7422);
  defs::Diagnostics d("net.yaml");
  auto net = ParseNetwork(yaml, "net.yaml", &d);
  ASSERT_TRUE(net.has_value()) << (d.empty() ? "" : d.items()[0].ToString());
  EXPECT_EQ(net->name, "trade");
  ASSERT_EQ(net->members.size(), 2u);
  EXPECT_EQ(net->Find("seller")->endpoint, "tcp://127.0.0.1:7422");
  EXPECT_EQ(net->FindBySigningKey(a->public_key())->name, "buyer");
  EXPECT_EQ(net->Find("bank"), nullptr);
}

TEST(Network, EveryMistakeIsReportedWithItsPosition) {
  auto a = crypto::SigningKey::Generate();
  auto ca = crypto::GenerateCurveKeyPair();
  std::string yaml = "members:\n" + Member("buyer", *a, ca->public_z85, 7421) + Member("buyer", *a, ca->public_z85, 0) +
                     "  - name: bank\n    signing_key: 02abc\n    curve_key: short\n    endpoint: http://x\n    colour: red\n";
  defs::Diagnostics d("net.yaml");
  EXPECT_FALSE(ParseNetwork(yaml, "net.yaml", &d).has_value());
  std::vector<std::string> lines;
  for (const auto& x : d.items()) lines.push_back(x.ToString());
  EXPECT_EQ(lines, (std::vector<std::string>{
                       "net.yaml:6:11: error: duplicate member 'buyer'",
                       "net.yaml:7:18: error: signing_key of 'buyer' is already another member's",
                       "net.yaml:8:16: error: curve_key of 'buyer' is already another member's",
                       "net.yaml:9:15: error: endpoint of 'buyer' must be tcp://HOST:PORT, not 'tcp://127.0.0.1:0'",
                       "net.yaml:11:18: error: signing_key of 'bank': a public key must be 66 hex digits",
                       "net.yaml:12:16: error: curve_key of 'bank' must be 40 Z85 characters",
                       "net.yaml:13:15: error: endpoint of 'bank' must be tcp://HOST:PORT, not 'http://x'",
                       "net.yaml:14:5: error: unknown key 'colour' in a member"}));
}

TEST(Network, TheSequencerAndTheClaimSalt) {
  auto a = crypto::SigningKey::Generate();
  auto s = crypto::SigningKey::Generate();
  auto ca = crypto::GenerateCurveKeyPair();
  std::string salt(64, 'a');
  std::string yaml = "network: trade\nclaim_salt: " + salt + "\nsequencer:\n  signing_key: " +
                     crypto::Hex(s->public_key()) + "\n  endpoint: tcp://127.0.0.1:7400\nmembers:\n" +
                     Member("buyer", *a, ca->public_z85, 7421);
  defs::Diagnostics d("net.yaml");
  auto net = ParseNetwork(yaml, "net.yaml", &d);
  ASSERT_TRUE(net.has_value()) << (d.empty() ? "" : d.items()[0].ToString());
  ASSERT_TRUE(net->sequencer.has_value());
  EXPECT_EQ(net->sequencer->signing_key, s->public_key());
  EXPECT_EQ(net->sequencer->endpoint, "tcp://127.0.0.1:7400");
  EXPECT_EQ(net->claim_salt, salt);

  std::string bad = "claim_salt: nothex\nsequencer:\n  signing_key: 02ab\n  endpoint: udp://x\n  port: 1\nmembers:\n" +
                    Member("buyer", *a, ca->public_z85, 7421);
  defs::Diagnostics d2("net.yaml");
  EXPECT_FALSE(ParseNetwork(bad, "net.yaml", &d2).has_value());
  std::vector<std::string> lines;
  for (const auto& x : d2.items()) lines.push_back(x.ToString());
  EXPECT_EQ(lines, (std::vector<std::string>{
                       "net.yaml:1:13: error: claim_salt must be 64 hex digits (32 random bytes shared by the members)",
                       "net.yaml:3:16: error: signing_key of the sequencer: a public key must be 66 hex digits",
                       "net.yaml:4:13: error: endpoint of the sequencer must be tcp://HOST:PORT, not 'udp://x'",
                       "net.yaml:5:3: error: unknown key 'port' in the sequencer"}));
}

TEST(Network, EmptyOrMalformedFiles) {
  defs::Diagnostics d("n.yaml");
  EXPECT_FALSE(ParseNetwork("members: []\n", "n.yaml", &d).has_value());
  EXPECT_EQ(d.items().at(0).ToString(), "n.yaml:1:10: error: 'members' must list at least one member");
  defs::Diagnostics d2("n.yaml");
  EXPECT_FALSE(ParseNetwork("members: [\n", "n.yaml", &d2).has_value());
  EXPECT_EQ(d2.items().at(0).ToString().rfind("n.yaml:", 0), 0u);
  defs::Diagnostics d3("n.yaml");
  EXPECT_FALSE(ParseNetwork("memberz: x\n", "n.yaml", &d3).has_value());
  EXPECT_EQ(d3.items().at(0).message, "unknown key 'memberz' in the network file (did you mean 'members'?)");
}

}  // namespace
}  // namespace treaty::chain
