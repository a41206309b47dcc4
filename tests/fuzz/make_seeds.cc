// fuzz_seeds OUT_DIR: writes the seeds of the wire fuzzers (tests/fuzz/
// seeds/NAME/) from the real encoders, so a seed is what a node sends:
// sealed and redacted proposal envelopes, a proposal set, data-exchange
// frames of each kind, a receipt, sequencer requests and replies, blocks,
// and ABI encodings of the pin contract's tuples. Run by hand when a wire
// format changes (docs/fuzzing.md); the output is checked in.
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>

#include <nlohmann/json.hpp>

#include "chain/block_codec.h"
#include "chain/ethereum/abi.h"
#include "engine/member_messages.h"
#include "engine/protocol/proposal_envelope.h"

namespace {

using json = nlohmann::json;
namespace fs = std::filesystem;
fs::path out_dir;

void Write(const std::string& target, const std::string& name, const std::string& bytes) {
  fs::create_directories(out_dir / target);
  std::ofstream(out_dir / target / name, std::ios::binary) << bytes;
}

treaty::Digest D(char c) {
  treaty::Digest d;
  d.fill(static_cast<uint8_t>(c));
  return d;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: fuzz_seeds OUT_DIR\n");
    return 2;
  }
  out_dir = argv[1];
  using namespace treaty;
  auto key = crypto::SigningKey::FromHex(std::string(63, '0') + "7");
  if (!key.ok()) return 1;

  // Proposal envelopes: sealed, a start with its signed terms, redacted.
  Value input = *Value::FromJson(R"({"amount":"12.50","items":[{"sku":"A-1","qty":3}],"note":"rush","ok":true})");
  auto sealed = protocol::SealProposal("po-1", "approve", "acme", 7, D('\x11'), input, *key);
  auto start = protocol::SealProposal(
      "po-2", "$start", "acme", 0, D('\x22'),
      *Value::FromJson(R"({"$roles":{"buyer":"acme","seller":"globex"},"$salt":")" + std::string(64, 'a') +
                       R"(","$definition":"purchase_order","$version":1,"total":1.5e3})"),
      *key);
  if (!sealed.ok() || !start.ok()) return 1;
  protocol::ProposalEnvelope redacted = protocol::RedactFor(*sealed, {"amount", "note"});
  auto unsigned_env = protocol::CommitProposal("po-1", "ship", "acme", 8, D('\x11'), input);
  auto set = protocol::SignProposalSet("acme", {unsigned_env->SigningDigest(), sealed->SigningDigest()}, *key);
  Write("proposal_envelope_fuzz", "sealed", sealed->ToJson());
  Write("proposal_envelope_fuzz", "start", start->ToJson());
  Write("proposal_envelope_fuzz", "redacted", redacted.ToJson());
  Write("proposal_envelope_fuzz", "set", set.ToValue().ToCanonicalJson());

  // Data-exchange frames, as MemberProtocol::Flush and DataExchange send them.
  std::string proposals = "{\"items\":[{\"envelope\":" + unsigned_env->ToJson() + ",\"proposal\":\"p-1\",\"set\":0}," +
                          "{\"envelope\":" + redacted.ToJson() + ",\"proposal\":\"p-2\"}],\"sets\":[" +
                          set.ToValue().ToCanonicalJson() + "]}";
  json items = json::array({json{{"instance", "po-1"}, {"seq", 3}, {"outcome", "CONFIRMED"}, {"reject_code", ""},
                                 {"reason", ""}, {"state_hash", std::string(64, 'b')}},
                            json{{"instance", "po-1"}, {"seq", 4}, {"outcome", "REJECTED"},
                                 {"reject_code", "GUARD_FALSE"}, {"reason", "amount over limit"},
                                 {"state_hash", std::string(64, 'c')}}});
  json attestations = {{"items", items}, {"party", "acme"}};
  attestations["signature"] = crypto::Hex(key->Sign(engine::AttestationSetDigest("acme", items)));
  Write("member_message_fuzz", "proposals", engine::EncodeExchangeFrame("m-1", "proposals", "acme", proposals));
  Write("member_message_fuzz", "attestations",
        engine::EncodeExchangeFrame("m-2", "attestations", "acme", attestations.dump()));
  Write("member_message_fuzz", "resend",
        engine::EncodeExchangeFrame("m-3", "resend", "acme", json{{"items", {{{"pin", std::string(64, 'd')}}}}}.dump()));
  Write("member_message_fuzz", "receipt", engine::EncodeReceipt("m-1", "globex", key->Sign(D('\x33'))));

  // Batches and blocks, as the sequencer and the local ledger encode them.
  chain::Batch batch{"acme-1700000000000-1", "acme", {D('\x44'), D('\x55')}, ""};
  batch.signature = crypto::Hex(key->Sign(chain::BatchDigest(batch)));
  chain::Block block;
  block.height = 1;
  block.time_ms = 1700000000123;
  block.prev_hash = D('\0');
  block.hash = D('\x66');
  block.signature = crypto::Hex(key->Sign(block.hash));
  block.batches = {batch, chain::Batch{"globex-1", "globex", {D('\x77')}, ""}};
  Write("block_fuzz", "block", chain::BlockToJson(block).dump());
  Write("block_fuzz", "body", chain::BatchesToJson(block.batches).dump());
  Write("sequencer_frame_fuzz", "submit", json{{"op", "submit"}, {"req", 1}, {"batch", chain::BatchToJson(batch)}}.dump());
  Write("sequencer_frame_fuzz", "read", json{{"op", "read"}, {"req", 2}, {"from", 1}, {"max", 256}, {"wait_ms", 500}}.dump());
  Write("sequencer_frame_fuzz", "height", json{{"op", "height"}, {"req", 3}}.dump());
  Write("sequencer_frame_fuzz", "read_reply",
        json{{"req", 1}, {"height", 2}, {"blocks", {chain::BlockToJson(block)}}}.dump());
  Write("sequencer_frame_fuzz", "error_reply",
        json{{"req", 1}, {"code", "PERMISSION_DENIED"}, {"error", "the batch signature is not acme's"}}.dump());

  // ABI: each tuple of ethereum_abi_fuzz.cc, its index as the first byte.
  namespace abi = chain::eth::abi;
  auto abi_seed = [&](char index, const std::vector<abi::Value>& values, const std::string& name) {
    auto enc = abi::Encode(values);
    if (enc.ok()) Write("ethereum_abi_fuzz", name, std::string(1, index) + *enc);
  };
  chain::eth::Hash256 w{};
  w[31] = 9;
  std::string addr(20, '\x12');
  abi_seed(0, {abi::Value::Uint(1700000000), abi::Value::Bytes32(w), abi::Value::String("acme-1700000000000-1"),
               abi::Value::Bytes32Array({w, w})},
           "batch_pin");
  abi_seed(1, {abi::Value::AddressArray({addr, addr})}, "members");
  abi_seed(5, {abi::Value::String(std::string(40, 'x'))}, "string");
  abi_seed(8, {abi::Value::Bytes32Array({}), abi::Value::AddressArray({addr}), abi::Value::String("")}, "mixed");
  return 0;
}
