// Keccak-256, RLP and EIP-155 signing against published vectors: the
// empty and "abc" keccak digests, the RLP examples of Ethereum's wiki and
// the Yellow Paper, and the signed transaction of EIP-155's own example.
#include <gtest/gtest.h>

#include <string>

#include "chain/ethereum/keccak.h"
#include "chain/ethereum/rlp.h"
#include "chain/ethereum/transaction.h"

namespace treaty::chain::eth {
namespace {

std::string Hex(std::string_view b) {
  static const char* d = "0123456789abcdef";
  std::string out;
  for (unsigned char c : b) {
    out += d[c >> 4];
    out += d[c & 15];
  }
  return out;
}
std::string Hex(const Hash256& h) { return Hex(std::string_view(reinterpret_cast<const char*>(h.data()), h.size())); }
std::string Unhex(const std::string& h) {
  std::string out;
  for (size_t i = 0; i + 1 < h.size(); i += 2) out += static_cast<char>(std::stoi(h.substr(i, 2), nullptr, 16));
  return out;
}

TEST(Keccak256, MatchesEthereumsDigests) {
  EXPECT_EQ(Hex(Keccak256("")), "c5d2460186f7233c927e7db2dcc703c0e500b653ca82273b7bfad8045d85a470");
  EXPECT_EQ(Hex(Keccak256("abc")), "4e03657aea45a94fc7d47ba826c8d667c0d1e6e33a64a036ec44f58fa12d6c45");
  // Longer than one block of 136 bytes, and exactly one block.
  EXPECT_EQ(Hex(Keccak256(std::string(200, 'a'))).size(), 64u);
  EXPECT_NE(Keccak256(std::string(136, 'a')), Keccak256(std::string(135, 'a')));
  // The event topic every ERC-20 transfer carries.
  EXPECT_EQ(Hex(Keccak256("Transfer(address,address,uint256)")),
            "ddf252ad1be2c89b69c2b068fc378daa952ba7f163c4a11628f55a4df523b3ef");
}

TEST(Rlp, EncodesTheWikisExamples) {
  EXPECT_EQ(Hex(Rlp::Bytes("dog").Encode()), "83646f67");
  EXPECT_EQ(Hex(Rlp::List({Rlp::Bytes("cat"), Rlp::Bytes("dog")}).Encode()), "c88363617483646f67");
  EXPECT_EQ(Hex(Rlp::Bytes("").Encode()), "80");
  EXPECT_EQ(Hex(Rlp::List({}).Encode()), "c0");
  EXPECT_EQ(Hex(Rlp::Uint(0).Encode()), "80");
  EXPECT_EQ(Hex(Rlp::Bytes(std::string(1, '\0')).Encode()), "00");
  EXPECT_EQ(Hex(Rlp::Uint(15).Encode()), "0f");
  EXPECT_EQ(Hex(Rlp::Uint(1024).Encode()), "820400");
  EXPECT_EQ(Hex(Rlp::Uint(0x80).Encode()), "8180");
  // The set-theoretic representation of three: [ [], [[]], [ [], [[]] ] ].
  Rlp empty = Rlp::List({});
  Rlp one = Rlp::List({empty});
  EXPECT_EQ(Hex(Rlp::List({empty, one, Rlp::List({empty, one})}).Encode()), "c7c0c1c0c3c0c1c0");
  // A string over 55 bytes takes a length of its length.
  std::string lorem = "Lorem ipsum dolor sit amet, consectetur adipisicing elit";
  EXPECT_EQ(Hex(Rlp::Bytes(lorem).Encode()), "b838" + Hex(lorem));
  EXPECT_EQ(Hex(Rlp::Uint256(U256Of(1)).Encode()), "01");
  EXPECT_EQ(Hex(Rlp::Uint256(U256{}).Encode()), "80");
}

TEST(Eip155, SignsTheSpecificationsExample) {
  // EIP-155's example: nonce 9, 20 gwei, 21000 gas, to 0x3535..., 1 ether,
  // chain 1, key 0x4646....
  LegacyTransaction tx;
  tx.nonce = 9;
  tx.gas_price = U256Of(20000000000ULL);
  tx.gas_limit = 21000;
  tx.to = Unhex("3535353535353535353535353535353535353535");
  tx.value = U256Of(1000000000000000000ULL);
  tx.chain_id = 1;
  Secret key{};
  key.fill(0x46);
  EXPECT_EQ(Hex(SigningHash(tx)), "daf5a779ae972f972197303d7b574746c7ef83eadac0f2791ad23db92e4c8e53");
  auto raw = SignLegacy(tx, key);
  ASSERT_TRUE(raw.ok()) << raw.status().ToString();
  EXPECT_EQ(Hex(*raw),
            "f86c098504a817c800825208943535353535353535353535353535353535353535880de0b6b3a76400008025a028ef61340bd939bc"
            "2195fe537567866003e1a15d3c71ff63e1590620aa636276a067cbe9d8997f761aecb703304b3800ccf555c9f3dc64214b297fb1966a"
            "3b6d83");
  auto from = AddressOf(key);
  ASSERT_TRUE(from.ok());
  EXPECT_EQ(Hex(*from), "9d8a62f656a8d1615c1294fd71e9cfb3e4855a4f");
}

TEST(Eip155, RefusesABadRecipientOrKey) {
  LegacyTransaction tx;
  tx.to = "short";
  Secret key{};
  key.fill(0x46);
  EXPECT_EQ(SignLegacy(tx, key).status().code(), StatusCode::kInvalidArgument);
  tx.to.clear();
  Secret zero{};  // not a valid secp256k1 key
  EXPECT_EQ(SignLegacy(tx, zero).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(AddressOf(zero).status().code(), StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace treaty::chain::eth
