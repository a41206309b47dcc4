// The strict parsing and the U256 arithmetic of chain/ethereum/eth_api.h:
// quantities, data and hashes as a node sends them (and as it must not),
// the wire forms the client sends, MulDiv at the edges of 256 bits, and the
// decoding of revert data.
#include <gtest/gtest.h>

#include <string>

#include "chain/ethereum/eth_api.h"

namespace treaty::chain::eth {
namespace {

using nlohmann::json;

std::string Unhex(const std::string& h) { return *ParseData(json("0x" + h)); }

U256 Max() {
  U256 m;
  m.fill(0xff);
  return m;
}

TEST(EthQuantity, ParsesHexWithPrefixAndAllowsLeadingZeros) {
  EXPECT_EQ(*ParseQuantity(json("0x0")), 0u);
  EXPECT_EQ(*ParseQuantity(json("0x1a")), 26u);
  EXPECT_EQ(*ParseQuantity(json("0X1A")), 26u);
  EXPECT_EQ(*ParseQuantity(json("0x0001")), 1u);
  EXPECT_EQ(*ParseQuantity(json("0xffffffffffffffff")), UINT64_MAX);
  EXPECT_EQ(*ParseQuantity(json("0x00000000000000000000ffffffffffffffff")), UINT64_MAX);
}

TEST(EthQuantity, RefusesWhatIsNotAQuantity) {
  for (const json& bad : {json("0x"), json("1a"), json("x1"), json("0x1g"), json("0x 1"), json(""), json(26),
                          json(nullptr), json::array(), json("0x10000000000000000")}) {
    auto r = ParseQuantity(bad);
    ASSERT_FALSE(r.ok()) << bad.dump();
    EXPECT_EQ(r.status().code(), StatusCode::kDataLoss) << bad.dump();
  }
  EXPECT_NE(ParseQuantity(json("0x10000000000000000")).status().message().find("64 bits"), std::string::npos);
}

TEST(EthQuantity, U256ParsesUpTo256Bits) {
  EXPECT_EQ(*ParseU256(json("0x0")), U256{});
  EXPECT_EQ(*ParseU256(json("0xde0b6b3a7640000")), U256Of(1000000000000000000ull));
  EXPECT_EQ(*ParseU256(json("0x" + std::string(64, 'f'))), Max());
  EXPECT_EQ(*ParseU256(json("0x00" + std::string(64, 'f'))), Max());
  EXPECT_EQ(ParseU256(json("0x1" + std::string(64, '0'))).status().code(), StatusCode::kDataLoss);
  EXPECT_EQ(ParseU256(json("0x")).status().code(), StatusCode::kDataLoss);
  U256 one_at_top{};
  one_at_top[0] = 0x10;
  EXPECT_EQ(*ParseU256(json("0x1" + std::string(63, '0'))), one_at_top);
}

TEST(EthQuantity, WireFormsHaveNoLeadingZeros) {
  EXPECT_EQ(Quantity(0), "0x0");
  EXPECT_EQ(Quantity(255), "0xff");
  EXPECT_EQ(Quantity(4096), "0x1000");
  EXPECT_EQ(Quantity(UINT64_MAX), "0xffffffffffffffff");
  EXPECT_EQ(QuantityU256(U256{}), "0x0");
  EXPECT_EQ(QuantityU256(U256Of(4096)), "0x1000");
  EXPECT_EQ(QuantityU256(Max()), "0x" + std::string(64, 'f'));
  for (uint64_t v : {0ull, 1ull, 0x1234ull, 1ull << 40}) EXPECT_EQ(*ParseQuantity(json(Quantity(v))), v);
}

TEST(EthData, ParsesEvenHexAndChecksTheSize) {
  EXPECT_EQ(*ParseData(json("0x")), "");
  EXPECT_EQ(*ParseData(json("0x00ff41")), std::string("\x00\xff" "A", 3));
  EXPECT_EQ(DataHex(std::string("\x00\xff" "A", 3)), "0x00ff41");
  EXPECT_EQ(DataHex(""), "0x");
  EXPECT_EQ(ParseData(json("0x0")).status().code(), StatusCode::kDataLoss);
  EXPECT_EQ(ParseData(json("00ff")).status().code(), StatusCode::kDataLoss);
  EXPECT_EQ(ParseData(json("0xzz")).status().code(), StatusCode::kDataLoss);
  EXPECT_EQ(ParseData(json(12)).status().code(), StatusCode::kDataLoss);
  EXPECT_TRUE(ParseData(json("0x" + std::string(40, 'a')), 20).ok());
  auto short_address = ParseData(json("0x" + std::string(38, 'a')), 20);
  ASSERT_FALSE(short_address.ok());
  EXPECT_NE(short_address.status().message().find("19 bytes, expected 20"), std::string::npos);
  EXPECT_TRUE(ParseHash(json("0x" + std::string(64, '0'))).ok());
  EXPECT_EQ(ParseHash(json("0x" + std::string(62, '0'))).status().code(), StatusCode::kDataLoss);
  EXPECT_EQ(ParseHash(json("0x" + std::string(66, '0'))).status().code(), StatusCode::kDataLoss);
}

TEST(EthU256, MulDivIsExactBeyond256BitsAndSaturates) {
  EXPECT_EQ(MulDiv(U256Of(100), 12, 10), U256Of(120));
  EXPECT_EQ(MulDiv(U256Of(7), 1, 2), U256Of(3));  // rounded down
  // (2^256 - 1) * 3 / 3: the product needs 258 bits on the way.
  EXPECT_EQ(MulDiv(Max(), 3, 3), Max());
  EXPECT_EQ(MulDiv(Max(), UINT64_MAX, UINT64_MAX), Max());
  EXPECT_EQ(MulDiv(Max(), 2, 1), Max());  // saturated
  EXPECT_EQ(MulDiv(U256Of(5), 1, 0), Max());
  EXPECT_EQ(MulDiv(U256Of(UINT64_MAX), UINT64_MAX, 1),
            *ParseU256(json("0xfffffffffffffffe0000000000000001")));
}

TEST(EthU256, DecimalText) {
  EXPECT_EQ(ToDecimal(U256{}), "0");
  EXPECT_EQ(ToDecimal(U256Of(7)), "7");
  EXPECT_EQ(ToDecimal(U256Of(10000000000000000000ull)), "10000000000000000000");
  EXPECT_EQ(ToDecimal(*ParseU256(json("0x21e19e0c9bab2400000"))), "10000000000000000000000");  // 10000 ETH
  EXPECT_EQ(ToDecimal(Max()), "115792089237316195423570985008687907853269984665640564039457584007913129639935");
}

TEST(EthRevert, DecodesErrorPanicAndCustomErrors) {
  // Error("not a member"), as solc encodes require(false, "not a member").
  std::string error = Unhex("08c379a0" + std::string(62, '0') + "20" + std::string(62, '0') + "0c" +
                            "6e6f742061206d656d626572" + std::string(40, '0'));
  EXPECT_EQ(DecodeRevertReason(error), "\"not a member\"");
  std::string panic = Unhex("4e487b71" + std::string(62, '0') + "11");
  EXPECT_EQ(DecodeRevertReason(panic), "panic 0x11");
  EXPECT_EQ(DecodeRevertReason(Unhex("deadbeef")), "custom error 0xdeadbeef");
  EXPECT_EQ(DecodeRevertReason(""), std::nullopt);
  // A length past the data, an offset past the data: no reason, no crash.
  std::string long_length = error;
  long_length[4 + 32 + 31] = 0x7f;
  EXPECT_EQ(DecodeRevertReason(long_length), std::nullopt);
  std::string far_offset = error;
  far_offset[4 + 31] = 0x70;
  EXPECT_EQ(DecodeRevertReason(far_offset), std::nullopt);
  far_offset[4 + 5] = 0x01;  // an offset over 64 bits
  EXPECT_EQ(DecodeRevertReason(far_offset), std::nullopt);
  EXPECT_EQ(DecodeRevertReason(error.substr(0, 50)), std::nullopt);
}

}  // namespace
}  // namespace treaty::chain::eth
