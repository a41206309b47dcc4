// The Solidity ABI codec and the pin contract's calls and event: encodings
// against published vectors (the Solidity documentation's selectors and its
// dynamic-types example), round trips through the compiled contract's ABI,
// and malformed data (truncated, offsets and lengths past the end, dirty
// padding, wrong topics) rejected with an error, never a crash.
#include <gtest/gtest.h>

#include <string>

#include "chain/ethereum/abi.h"
#include "chain/ethereum/keccak.h"
#include "chain/ethereum/pin_contract.h"
#include "chain/ethereum/pin_contract_artifacts.h"

namespace treaty::chain::eth {
namespace {

using abi::Type;
using abi::Value;

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
Hash256 Word(uint64_t v) { return U256Of(v); }
Hash256 Filled(uint8_t b) {
  Hash256 h;
  h.fill(b);
  return h;
}
// A word whose last 20 bytes are `address`.
Hash256 PaddedAddress(const std::string& address) {
  Hash256 h{};
  std::copy(address.begin(), address.end(), h.begin() + 12);
  return h;
}

TEST(Abi, SelectorsMatchTheSolidityDocs) {
  EXPECT_EQ(Hex(abi::Selector("baz(uint32,bool)")), "cdcd77c0");
  EXPECT_EQ(Hex(abi::Selector("sam(bytes,bool,uint256[])")), "a5643bf2");
  EXPECT_EQ(Hex(abi::Selector("f(uint256,uint32[],bytes10,bytes)")), "8be65246");
  EXPECT_EQ(Hex(abi::EventTopic("Transfer(address,address,uint256)")),
            "ddf252ad1be2c89b69c2b068fc378daa952ba7f163c4a11628f55a4df523b3ef");
  EXPECT_EQ(abi::Signature("pinBatch", {Type::kBytes32, Type::kString, Type::kBytes32Array}),
            "pinBatch(bytes32,string,bytes32[])");
  EXPECT_EQ(abi::Signature("members", {}), "members()");
}

TEST(Abi, TypeNamesRoundTripAndOthersAreRefused) {
  for (Type t : {Type::kUint256, Type::kAddress, Type::kBytes32, Type::kString, Type::kBytes32Array,
                 Type::kAddressArray}) {
    Result<Type> back = abi::TypeFromName(abi::TypeName(t));
    ASSERT_TRUE(back.ok());
    EXPECT_EQ(*back, t);
  }
  EXPECT_EQ(abi::TypeFromName("uint32").status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(abi::TypeFromName("uint").status().code(), StatusCode::kInvalidArgument);
}

// The docs' "Use of Dynamic Types" example, f(0x123, [0x456, 0x789],
// "1234567890", "Hello, world!"): uint32[] elements are encoded as full
// words and bytes10 as a right-padded word, so bytes32[] and bytes32 give
// the same bytes, and `bytes` is encoded as `string` is.
const char* kDocsDynamicExample =
    "0000000000000000000000000000000000000000000000000000000000000123"
    "0000000000000000000000000000000000000000000000000000000000000080"
    "3132333435363738393000000000000000000000000000000000000000000000"
    "00000000000000000000000000000000000000000000000000000000000000e0"
    "0000000000000000000000000000000000000000000000000000000000000002"
    "0000000000000000000000000000000000000000000000000000000000000456"
    "0000000000000000000000000000000000000000000000000000000000000789"
    "000000000000000000000000000000000000000000000000000000000000000d"
    "48656c6c6f2c20776f726c642100000000000000000000000000000000000000";

std::vector<Value> DocsExampleValues() {
  Hash256 bytes10{};
  std::string digits = "1234567890";
  std::copy(digits.begin(), digits.end(), bytes10.begin());
  return {Value::Uint(0x123), Value::Bytes32Array({Word(0x456), Word(0x789)}), Value::Bytes32(bytes10),
          Value::String("Hello, world!")};
}
const std::vector<Type> kDocsExampleTypes = {Type::kUint256, Type::kBytes32Array, Type::kBytes32, Type::kString};

TEST(Abi, EncodesTheDocsDynamicExample) {
  Result<std::string> encoded = abi::Encode(DocsExampleValues());
  ASSERT_TRUE(encoded.ok());
  EXPECT_EQ(Hex(*encoded), kDocsDynamicExample);

  Result<std::vector<Value>> decoded = abi::Decode(kDocsExampleTypes, Unhex(kDocsDynamicExample));
  ASSERT_TRUE(decoded.ok()) << decoded.status().message();
  EXPECT_EQ(*decoded, DocsExampleValues());
}

TEST(Abi, EncodesAddressesStringsAndStaticWords) {
  // abi.encode(uint 10, address 0x7A58...6C71, string "0xAA", uint[2] [5, 6]);
  // the static array is two words in the head, as two uint256 are.
  Result<std::string> encoded =
      abi::Encode({Value::Uint(10), Value::Address(Unhex("7a58c0be72be218b41c608b7fe7c5bb630736c71")),
                   Value::String("0xAA"), Value::Uint(5), Value::Uint(6)});
  ASSERT_TRUE(encoded.ok());
  EXPECT_EQ(Hex(*encoded),
            "000000000000000000000000000000000000000000000000000000000000000a"
            "0000000000000000000000007a58c0be72be218b41c608b7fe7c5bb630736c71"
            "00000000000000000000000000000000000000000000000000000000000000a0"
            "0000000000000000000000000000000000000000000000000000000000000005"
            "0000000000000000000000000000000000000000000000000000000000000006"
            "0000000000000000000000000000000000000000000000000000000000000004"
            "3078414100000000000000000000000000000000000000000000000000000000");
  // An address[] (three words of tail: 0x60 to 0xc0), an empty string (its
  // length only) and a string of exactly 32 bytes (no padding).
  encoded = abi::Encode({Value::AddressArray({std::string(20, '\x11'), std::string(20, '\x22')}),
                         Value::String(""), Value::String(std::string(32, 'x'))});
  ASSERT_TRUE(encoded.ok());
  EXPECT_EQ(Hex(*encoded),
            "0000000000000000000000000000000000000000000000000000000000000060"
            "00000000000000000000000000000000000000000000000000000000000000c0"
            "00000000000000000000000000000000000000000000000000000000000000e0"
            "0000000000000000000000000000000000000000000000000000000000000002"
            "0000000000000000000000001111111111111111111111111111111111111111"
            "0000000000000000000000002222222222222222222222222222222222222222"
            "0000000000000000000000000000000000000000000000000000000000000000"
            "0000000000000000000000000000000000000000000000000000000000000020"
            "7878787878787878787878787878787878787878787878787878787878787878");
}

TEST(Abi, AnAddressOfTheWrongSizeIsRefused) {
  EXPECT_EQ(abi::Encode({Value::Address(std::string(19, 'a'))}).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(abi::Encode({Value::AddressArray({std::string(20, 'a'), std::string(21, 'a')})}).status().code(),
            StatusCode::kInvalidArgument);
}

void ExpectInvalid(const std::vector<Type>& types, const std::string& data, const std::string& fragment) {
  Result<std::vector<Value>> r = abi::Decode(types, data);
  ASSERT_FALSE(r.ok()) << "decoded " << Hex(data);
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(r.status().message().find(fragment), std::string::npos) << r.status().message();
}

std::string WordBytes(const Hash256& w) { return std::string(reinterpret_cast<const char*>(w.data()), w.size()); }

TEST(Abi, EveryTruncationIsAnError) {
  const std::string full = Unhex(kDocsDynamicExample);
  for (size_t n = 0; n < full.size(); ++n) {
    Result<std::vector<Value>> r = abi::Decode(kDocsExampleTypes, full.substr(0, n));
    EXPECT_FALSE(r.ok()) << "a prefix of " << n << " bytes decoded";
  }
  ExpectInvalid(kDocsExampleTypes, full.substr(0, 100), "shorter than the 128-byte head");
}

TEST(Abi, OffsetsAndLengthsPastTheEndAreErrors) {
  const std::vector<Type> str = {Type::kString};
  // Offset past the end, at the very end (no room for the length), huge,
  // and not word-aligned.
  ExpectInvalid(str, WordBytes(Word(0x40)) + WordBytes(Word(0)), "leaves no length word");
  ExpectInvalid(str, WordBytes(Word(0x20)), "leaves no length word");
  ExpectInvalid(str, WordBytes(Filled(0xff)) + WordBytes(Word(0)), "offset is larger than the data");
  ExpectInvalid(str, WordBytes(Word(~uint64_t{0} - 31)) + WordBytes(Word(0)), "leaves no length word");
  ExpectInvalid(str, WordBytes(Word(0x21)) + WordBytes(Word(0)) + WordBytes(Word(0)), "not a multiple of 32");
  // A length larger than the data, as a 64-bit value and as a full word.
  ExpectInvalid(str, WordBytes(Word(0x20)) + WordBytes(Word(33)) + WordBytes(Filled('a')), "runs past the data");
  ExpectInvalid(str, WordBytes(Word(0x20)) + WordBytes(Word(~uint64_t{0})), "runs past the data");
  ExpectInvalid(str, WordBytes(Word(0x20)) + WordBytes(Filled(0xff)), "length is larger than the data");
  // An array whose element count times 32 would overflow.
  const std::vector<Type> arr = {Type::kBytes32Array};
  ExpectInvalid(arr, WordBytes(Word(0x20)) + WordBytes(Word(uint64_t{1} << 59)), "run past the data");
  ExpectInvalid(arr, WordBytes(Word(0x20)) + WordBytes(Word(2)) + WordBytes(Word(1)), "run past the data");
}

TEST(Abi, DirtyPaddingAndNonCanonicalDataAreErrors) {
  // An address with a non-zero byte in its padding, alone and in an array.
  Hash256 dirty = PaddedAddress(std::string(20, '\x11'));
  dirty[0] = 1;
  ExpectInvalid({Type::kAddress}, WordBytes(dirty), "padding of an address");
  ExpectInvalid({Type::kAddressArray}, WordBytes(Word(0x20)) + WordBytes(Word(1)) + WordBytes(dirty),
                "element 0 has non-zero bytes in the padding");
  // A string whose padding is not zero.
  std::string hello = WordBytes(Word(0x20)) + WordBytes(Word(5)) + "hello" + std::string(27, '\0');
  ASSERT_TRUE(abi::Decode({Type::kString}, hello).ok());
  std::string dirty_hello = hello;
  dirty_hello.back() = 'x';
  ExpectInvalid({Type::kString}, dirty_hello, "not the canonical encoding");
  // Trailing bytes, and two strings sharing one tail.
  ExpectInvalid({Type::kString}, hello + WordBytes(Word(0)), "not the canonical encoding");
  std::string shared = WordBytes(Word(0x40)) + WordBytes(Word(0x40)) + WordBytes(Word(5)) + "hello" +
                       std::string(27, '\0');
  ExpectInvalid({Type::kString, Type::kString}, shared, "not the canonical encoding");
}

TEST(Abi, AnyCorruptedByteIsAnErrorOrTheSameEncoding) {
  // Each byte of a valid encoding overwritten: the decoder never crashes,
  // and whatever it accepts is exactly the canonical encoding of its result.
  const std::string full = Unhex(kDocsDynamicExample);
  for (size_t i = 0; i < full.size(); ++i) {
    for (char b : {'\x00', '\x01', '\x7f', '\xff'}) {
      std::string data = full;
      data[i] = b;
      Result<std::vector<Value>> r = abi::Decode(kDocsExampleTypes, data);
      if (!r.ok()) continue;
      Result<std::string> again = abi::Encode(*r);
      ASSERT_TRUE(again.ok());
      EXPECT_EQ(*again, data) << "byte " << i;
    }
  }
}

TEST(Abi, ToUint64RefusesLargerValues) {
  EXPECT_EQ(*abi::ToUint64(Value::Uint(1700000000)), 1700000000u);
  Hash256 big{};
  big[23] = 1;
  EXPECT_EQ(abi::ToUint64(Value::Uint256(big)).status().code(), StatusCode::kInvalidArgument);
}

// --- the pin contract -------------------------------------------------------

const PinContract& Contract() {
  Result<const PinContract*> c = PinContract::Get();
  EXPECT_TRUE(c.ok()) << c.status().message();
  return **c;
}

const std::string kAuthor = Unhex("f39fd6e51aad88f6f4ce6ab8827279cfffb92266");

// A BatchPin log's data, as the contract's `emit` encodes it.
std::string EventData(uint64_t timestamp, const Hash256& batch_hash, const std::string& ref,
                      const std::vector<Hash256>& pins) {
  return *abi::Encode({Value::Uint(timestamp), Value::Bytes32(batch_hash), Value::String(ref),
                       Value::Bytes32Array(pins)});
}

TEST(PinContract, TheCompiledAbiGivesTheExpectedSelectorsAndTopic) {
  const PinContract& c = Contract();
  EXPECT_EQ(Hex(c.batch_pin_topic()), Hex(Keccak256("BatchPin(address,uint256,bytes32,string,bytes32[])")));
  EXPECT_EQ(c.MembersCall(), abi::Selector("members()"));
  EXPECT_EQ(c.PinBatchCall(Hash256{}, "", {}).substr(0, 4), abi::Selector("pinBatch(bytes32,string,bytes32[])"));
  EXPECT_EQ(c.abi_json(), kTreatyPinsAbiJson);
}

TEST(PinContract, DeployDataIsTheBytecodeAndTheMembers) {
  const PinContract& c = Contract();
  std::vector<std::string> members = {kAuthor, std::string(20, '\x22')};
  Result<std::string> data = c.DeployData(members);
  ASSERT_TRUE(data.ok());
  std::string args = *abi::Encode({Value::AddressArray(members)});
  ASSERT_GT(data->size(), args.size());
  EXPECT_EQ(Hex(data->substr(0, data->size() - args.size())), kTreatyPinsBytecodeHex);
  EXPECT_EQ(data->substr(data->size() - args.size()), args);
  EXPECT_EQ(c.DeployData({std::string(32, 'a')}).status().code(), StatusCode::kInvalidArgument);
}

TEST(PinContract, PinBatchCallEncodesItsArguments) {
  const PinContract& c = Contract();
  std::vector<Hash256> pins = {Filled(1), Filled(2), Filled(3)};
  std::string call = c.PinBatchCall(Filled(9), "batch/42", pins);
  Result<std::vector<Value>> args =
      abi::Decode({Type::kBytes32, Type::kString, Type::kBytes32Array}, std::string_view(call).substr(4));
  ASSERT_TRUE(args.ok()) << args.status().message();
  EXPECT_EQ((*args)[0].word, Filled(9));
  EXPECT_EQ((*args)[1].bytes, "batch/42");
  EXPECT_EQ((*args)[2].words, pins);
}

TEST(PinContract, ABatchPinLogDecodesExactly) {
  const PinContract& c = Contract();
  std::vector<Hash256> pins = {Filled(0xa1), Filled(0xb2)};
  Result<BatchPinEvent> e = c.DecodeBatchPin({c.batch_pin_topic(), PaddedAddress(kAuthor)},
                                             EventData(1700000123, Filled(7), "ref-1", pins));
  ASSERT_TRUE(e.ok()) << e.status().message();
  EXPECT_EQ(e->author, kAuthor);
  EXPECT_EQ(e->timestamp, 1700000123u);
  EXPECT_EQ(e->batch_hash, Filled(7));
  EXPECT_EQ(e->batch_ref, "ref-1");
  EXPECT_EQ(e->pins, pins);
  // A tick: no pins.
  e = c.DecodeBatchPin({c.batch_pin_topic(), PaddedAddress(kAuthor)}, EventData(5, Hash256{}, "", {}));
  ASSERT_TRUE(e.ok()) << e.status().message();
  EXPECT_TRUE(e->pins.empty());
  EXPECT_EQ(e->timestamp, 5u);
}

void ExpectBadLog(const std::vector<Hash256>& topics, const std::string& data, const std::string& fragment) {
  Result<BatchPinEvent> e = Contract().DecodeBatchPin(topics, data);
  ASSERT_FALSE(e.ok());
  EXPECT_EQ(e.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(e.status().message().find(fragment), std::string::npos) << e.status().message();
}

TEST(PinContract, MalformedBatchPinLogsAreErrors) {
  const PinContract& c = Contract();
  const Hash256 topic = c.batch_pin_topic();
  const std::string good = EventData(10, Filled(7), "r", {Filled(1)});
  ExpectBadLog({topic}, good, "2 topics");
  ExpectBadLog({topic, PaddedAddress(kAuthor), Filled(0)}, good, "2 topics");
  ExpectBadLog({Keccak256("Transfer(address,address,uint256)"), PaddedAddress(kAuthor)}, good, "topic 0");
  Hash256 dirty_author = PaddedAddress(kAuthor);
  dirty_author[11] = 1;
  ExpectBadLog({topic, dirty_author}, good, "padding of an address");
  ExpectBadLog({topic, PaddedAddress(kAuthor)}, good.substr(0, good.size() - 1), "malformed");
  ExpectBadLog({topic, PaddedAddress(kAuthor)}, good + std::string(32, '\0'), "not the canonical");
  ExpectBadLog({topic, PaddedAddress(kAuthor)}, "", "shorter than the 128-byte head");
  // The string's offset pointed past the end.
  std::string far = good;
  far[2 * 32 + 31] = '\x7f';
  far[2 * 32 + 30] = '\x7f';
  ExpectBadLog({topic, PaddedAddress(kAuthor)}, far, "offset");
  // A timestamp beyond 64 bits.
  Hash256 huge{};
  huge[0] = 1;
  std::string late = *abi::Encode({Value::Uint256(huge), Value::Bytes32(Filled(7)), Value::String("r"),
                                   Value::Bytes32Array({})});
  ExpectBadLog({topic, PaddedAddress(kAuthor)}, late, "timestamp");
  // More than the contract allows: the contract would have reverted.
  ExpectBadLog({topic, PaddedAddress(kAuthor)}, EventData(1, Filled(7), std::string(129, 'r'), {}), "batchRef");
  ASSERT_TRUE(
      c.DecodeBatchPin({topic, PaddedAddress(kAuthor)}, EventData(1, Filled(7), std::string(128, 'r'), {})).ok());
  ExpectBadLog({topic, PaddedAddress(kAuthor)},
               EventData(1, Filled(7), "r", std::vector<Hash256>(PinContract::kMaxPins + 1, Filled(1))), "4097 pins");
}

TEST(PinContract, MembersAnswerDecodesStrictly) {
  const PinContract& c = Contract();
  std::vector<std::string> members = {kAuthor, std::string(20, '\x33')};
  Result<std::vector<std::string>> got = c.DecodeMembers(*abi::Encode({Value::AddressArray(members)}));
  ASSERT_TRUE(got.ok()) << got.status().message();
  EXPECT_EQ(*got, members);
  EXPECT_EQ(c.DecodeMembers("").status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(c.DecodeMembers(WordBytes(Word(0x20)) + WordBytes(Word(3)) + WordBytes(PaddedAddress(kAuthor)))
                .status()
                .code(),
            StatusCode::kInvalidArgument);
}

TEST(PinContract, AnAbiThatDoesNotMatchTheCodeIsRefused) {
  const std::string hex(kTreatyPinsBytecodeHex);
  ASSERT_TRUE(PinContract::Load(kTreatyPinsAbiJson, hex).ok());
  auto refused = [&](const std::string& abi_json, const std::string& fragment) {
    Result<PinContract> c = PinContract::Load(abi_json, hex);
    ASSERT_FALSE(c.ok()) << abi_json;
    EXPECT_EQ(c.status().code(), StatusCode::kFailedPrecondition);
    EXPECT_NE(c.status().message().find(fragment), std::string::npos) << c.status().message();
  };
  const std::string abi_json(kTreatyPinsAbiJson);
  auto replaced = [&](const std::string& from, const std::string& to) {
    std::string s = abi_json;
    size_t at = s.find(from);
    EXPECT_NE(at, std::string::npos) << from;
    return at == std::string::npos ? s : s.replace(at, from.size(), to);
  };
  refused("not json", "not a JSON array");
  refused("{}", "not a JSON array");
  refused(replaced("\"name\":\"pinBatch\"", "\"name\":\"pinBatches\""), "no function `pinBatch`");
  refused(replaced("\"name\":\"members\"", "\"name\":\"memberList\""), "no function `members`");
  refused(replaced("\"name\":\"BatchPin\"", "\"name\":\"Pinned\""), "no event `BatchPin`");
  refused(replaced("\"internalType\":\"string\",\"name\":\"batchRef\",\"type\":\"string\"},{\"internalType\":"
                   "\"bytes32[]\",\"name\":\"pins\",\"type\":\"bytes32[]\"}],\"name\":\"pinBatch\"",
                   "\"internalType\":\"string\",\"name\":\"batchRef\",\"type\":\"string\"}],\"name\":\"pinBatch\""),
          "pinBatch's inputs are (bytes32,string), not (bytes32,string,bytes32[])");
  refused(replaced("\"indexed\":true", "\"indexed\":false"), "index its author");
  refused(replaced("\"type\":\"uint256\"", "\"type\":\"uint64\""), "uint64");
  EXPECT_EQ(PinContract::Load(kTreatyPinsAbiJson, "60zz").status().code(), StatusCode::kFailedPrecondition);
}

}  // namespace
}  // namespace treaty::chain::eth
