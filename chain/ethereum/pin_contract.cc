#include "chain/ethereum/pin_contract.h"

#include <algorithm>

#include <nlohmann/json.hpp>

#include "chain/ethereum/abi.h"
#include "chain/ethereum/pin_contract_artifacts.h"
#include "definitions/base/sha256.h"

namespace treaty::chain::eth {

namespace {

using abi::Type;
using nlohmann::json;

// What the code calls, as the contract must declare it.
const std::vector<Type> kConstructorInputs = {Type::kAddressArray};
const std::vector<Type> kPinBatchInputs = {Type::kBytes32, Type::kString, Type::kBytes32Array};
const std::vector<Type> kMembersOutputs = {Type::kAddressArray};
// BatchPin's parameters: the author is indexed (topic 1), the rest is data.
const std::vector<Type> kBatchPinInputs = {Type::kAddress, Type::kUint256, Type::kBytes32, Type::kString,
                                           Type::kBytes32Array};
const std::vector<Type> kBatchPinData = {Type::kUint256, Type::kBytes32, Type::kString, Type::kBytes32Array};

Status AbiError(const std::string& what) {
  return Status::FailedPrecondition("the pin contract's ABI does not match the code: " + what);
}

// The one entry of `kind` (and `name`, unless empty) in the ABI.
Result<const json*> FindEntry(const json& entries, std::string_view kind, std::string_view name) {
  const json* found = nullptr;
  for (const json& e : entries) {
    if (!e.is_object()) return AbiError("an entry is not an object");
    auto t = e.find("type");
    if (t == e.end() || !t->is_string() || *t != kind) continue;
    if (!name.empty()) {
      auto n = e.find("name");
      if (n == e.end() || !n->is_string() || *n != name) continue;
    }
    if (found != nullptr) return AbiError(std::string(kind) + " `" + std::string(name) + "` is declared twice");
    found = &e;
  }
  if (found == nullptr) return AbiError("no " + std::string(kind) + " `" + std::string(name) + "`");
  return found;
}

// The types of `entry[field]` ("inputs" or "outputs"), which must be
// `expected`; `indexed` (events only) receives each parameter's flag.
Result<std::vector<Type>> ParamTypes(const json& entry, const char* field, const std::vector<Type>& expected,
                                     const std::string& what, std::vector<bool>* indexed = nullptr) {
  auto params = entry.find(field);
  if (params == entry.end() || !params->is_array()) return AbiError(what + " has no " + field);
  std::vector<Type> types;
  for (const json& p : *params) {
    auto t = p.is_object() ? p.find("type") : p.end();
    if (!p.is_object() || t == p.end() || !t->is_string()) return AbiError(what + " has a parameter with no type");
    Result<Type> type = abi::TypeFromName(t->get<std::string>());
    if (!type.ok()) return AbiError(what + ": " + type.status().message());
    types.push_back(*type);
    if (indexed != nullptr) {
      auto ix = p.find("indexed");
      indexed->push_back(ix != p.end() && ix->is_boolean() && ix->get<bool>());
    }
  }
  if (types != expected)
    return AbiError(what + "'s " + field + " are (" + abi::Signature("", types).substr(1) + ", not (" +
                    abi::Signature("", expected).substr(1));
  return types;
}

std::string_view View(const Hash256& h) { return {reinterpret_cast<const char*>(h.data()), h.size()}; }

}  // namespace

Result<PinContract> PinContract::Load(std::string_view abi_json, std::string_view bytecode_hex) {
  json entries = json::parse(abi_json, nullptr, false);
  if (entries.is_discarded() || !entries.is_array()) return AbiError("it is not a JSON array");
  PinContract c;
  c.abi_json_ = std::string(abi_json);
  if (bytecode_hex.empty() || !FromHex(bytecode_hex, &c.bytecode_))
    return Status::FailedPrecondition("the pin contract's bytecode is not hex");

  TREATY_ASSIGN_OR_RETURN(const json* ctor, FindEntry(entries, "constructor", ""));
  TREATY_RETURN_IF_ERROR(ParamTypes(*ctor, "inputs", kConstructorInputs, "the constructor").status());

  TREATY_ASSIGN_OR_RETURN(const json* pin_batch, FindEntry(entries, "function", "pinBatch"));
  TREATY_ASSIGN_OR_RETURN(std::vector<Type> pin_types,
                          ParamTypes(*pin_batch, "inputs", kPinBatchInputs, "pinBatch"));
  c.pin_batch_selector_ = abi::Selector(abi::Signature("pinBatch", pin_types));

  TREATY_ASSIGN_OR_RETURN(const json* members, FindEntry(entries, "function", "members"));
  TREATY_ASSIGN_OR_RETURN(std::vector<Type> member_types, ParamTypes(*members, "inputs", {}, "members"));
  TREATY_RETURN_IF_ERROR(ParamTypes(*members, "outputs", kMembersOutputs, "members").status());
  c.members_selector_ = abi::Selector(abi::Signature("members", member_types));

  TREATY_ASSIGN_OR_RETURN(const json* event, FindEntry(entries, "event", "BatchPin"));
  std::vector<bool> indexed;
  TREATY_ASSIGN_OR_RETURN(std::vector<Type> event_types,
                          ParamTypes(*event, "inputs", kBatchPinInputs, "BatchPin", &indexed));
  if (indexed != std::vector<bool>{true, false, false, false, false})
    return AbiError("BatchPin must index its author and nothing else");
  auto anonymous = event->find("anonymous");
  if (anonymous != event->end() && (!anonymous->is_boolean() || anonymous->get<bool>()))
    return AbiError("BatchPin is anonymous, so it has no topic to filter on");
  c.batch_pin_topic_ = abi::EventTopic(abi::Signature("BatchPin", event_types));
  return c;
}

Result<const PinContract*> PinContract::Get() {
  static const Result<PinContract> compiled = Load(kTreatyPinsAbiJson, kTreatyPinsBytecodeHex);
  if (!compiled.ok()) return compiled.status();
  return &compiled.value();
}

Result<std::string> PinContract::DeployData(const std::vector<std::string>& member_addresses) const {
  TREATY_ASSIGN_OR_RETURN(std::string args, abi::Encode({abi::Value::AddressArray(member_addresses)}));
  return bytecode_ + args;
}

std::string PinContract::PinBatchCall(const Hash256& batch_hash, std::string_view batch_ref,
                                      const std::vector<Hash256>& pins) const {
  // No address among the arguments, so encoding cannot fail.
  Result<std::string> args = abi::Encode({abi::Value::Bytes32(batch_hash), abi::Value::String(std::string(batch_ref)),
                                          abi::Value::Bytes32Array(pins)});
  return pin_batch_selector_ + args.value();
}

std::string PinContract::MembersCall() const { return members_selector_; }

Result<std::vector<std::string>> PinContract::DecodeMembers(std::string_view returned) const {
  Result<std::vector<abi::Value>> values = abi::Decode(kMembersOutputs, returned);
  if (!values.ok()) return Status::InvalidArgument("members() returned malformed data: " + values.status().message());
  return std::move((*values)[0].addresses);
}

Result<BatchPinEvent> PinContract::DecodeBatchPin(const std::vector<Hash256>& topics, std::string_view data) const {
  if (topics.size() != 2)
    return Status::InvalidArgument("a BatchPin log has 2 topics (the event, the author), not " +
                                   std::to_string(topics.size()));
  if (topics[0] != batch_pin_topic_) return Status::InvalidArgument("the log's topic 0 is not BatchPin's");
  if (std::any_of(topics[1].begin(), topics[1].begin() + 12, [](uint8_t b) { return b != 0; }))
    return Status::InvalidArgument("BatchPin's author topic has non-zero bytes in the padding of an address");
  Result<std::vector<abi::Value>> values = abi::Decode(kBatchPinData, data);
  if (!values.ok()) return Status::InvalidArgument("BatchPin's data is malformed: " + values.status().message());
  BatchPinEvent event;
  event.author = std::string(View(topics[1]).substr(12));
  Result<uint64_t> timestamp = abi::ToUint64((*values)[0]);
  if (!timestamp.ok()) return Status::InvalidArgument("BatchPin's timestamp: " + timestamp.status().message());
  event.timestamp = *timestamp;
  event.batch_hash = (*values)[1].word;
  event.batch_ref = std::move((*values)[2].bytes);
  event.pins = std::move((*values)[3].words);
  if (event.batch_ref.size() > kMaxBatchRefBytes)
    return Status::InvalidArgument("BatchPin's batchRef has " + std::to_string(event.batch_ref.size()) +
                                   " bytes, more than the contract's " + std::to_string(kMaxBatchRefBytes));
  if (event.pins.size() > kMaxPins)
    return Status::InvalidArgument("BatchPin carries " + std::to_string(event.pins.size()) +
                                   " pins, more than the contract's " + std::to_string(kMaxPins));
  return event;
}

}  // namespace treaty::chain::eth
