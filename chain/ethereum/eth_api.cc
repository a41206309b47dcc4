#include "chain/ethereum/eth_api.h"

#include <algorithm>
#include <utility>

namespace treaty::chain::eth {
namespace {

int HexDigit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// The hex digits after "0x" of a JSON string, or why not.
Result<std::string_view> HexBody(const nlohmann::json& v, const char* kind) {
  if (!v.is_string()) return Status::DataLoss(std::string(kind) + " is not a string: " + v.dump().substr(0, 80));
  const std::string& s = v.get_ref<const std::string&>();
  if (s.size() < 2 || s[0] != '0' || (s[1] != 'x' && s[1] != 'X'))
    return Status::DataLoss(std::string(kind) + " without the 0x prefix: \"" + s.substr(0, 80) + "\"");
  std::string_view body(s);
  body.remove_prefix(2);
  for (char c : body)
    if (HexDigit(c) < 0) return Status::DataLoss(std::string(kind) + " with a non-hex digit: \"" + s.substr(0, 80) + "\"");
  return body;
}

// A quantity's digits without leading zeros ("0x0" and "0x00" are zero;
// "0x" is not a number).
Result<std::string_view> QuantityDigits(const nlohmann::json& v) {
  TREATY_ASSIGN_OR_RETURN(std::string_view d, HexBody(v, "quantity"));
  if (d.empty()) return Status::DataLoss("quantity without digits: \"0x\"");
  while (d.size() > 1 && d[0] == '0') d.remove_prefix(1);
  return d;
}

std::string HexOfBytes(const uint8_t* p, size_t n, bool trim) {
  static const char* kDigits = "0123456789abcdef";
  std::string out = "0x";
  for (size_t i = 0; i < n; ++i) {
    out += kDigits[p[i] >> 4];
    out += kDigits[p[i] & 15];
  }
  if (trim) {
    size_t z = 2;
    while (z + 1 < out.size() && out[z] == '0') ++z;
    out.erase(2, z - 2);
  }
  return out;
}

std::string_view Bytes(const Hash256& h) { return {reinterpret_cast<const char*>(h.data()), h.size()}; }

// `obj[name]` parsed by `parse`; a missing field or a parse failure is
// DataLoss naming the method and the field.
template <typename Parse>
auto Field(const nlohmann::json& obj, const char* name, const std::string& method, Parse parse)
    -> decltype(parse(obj)) {
  auto it = obj.find(name);
  if (it == obj.end()) return Status::DataLoss(method + ": no field \"" + name + "\"");
  auto r = parse(*it);
  if (!r.ok()) return Status::DataLoss(method + ": field \"" + name + "\": " + r.status().message());
  return r;
}

// A top-level result parsed; a failure names the method.
template <typename T>
Result<T> Named(Result<T> r, const std::string& method) {
  if (r.ok()) return r;
  return Status(r.status().code(), method + ": result: " + r.status().message());
}

Status CheckAddress(const std::string& address, const char* what) {
  if (address.size() != 20)
    return Status::InvalidArgument(std::string(what) + ": an address is 20 bytes, not " + std::to_string(address.size()));
  return Status::Ok();
}

Result<std::string> ParseAddress(const nlohmann::json& v) { return ParseData(v, 20); }

Result<BlockHeader> ParseHeader(const nlohmann::json& b, const std::string& method) {
  if (!b.is_object()) return Status::DataLoss(method + ": a block is not an object");
  BlockHeader h;
  TREATY_ASSIGN_OR_RETURN(h.number, Field(b, "number", method, ParseQuantity));
  TREATY_ASSIGN_OR_RETURN(h.hash, Field(b, "hash", method, ParseHash));
  TREATY_ASSIGN_OR_RETURN(h.parent_hash, Field(b, "parentHash", method, ParseHash));
  TREATY_ASSIGN_OR_RETURN(h.timestamp, Field(b, "timestamp", method, ParseQuantity));
  return h;
}

Result<LogEntry> ParseLog(const nlohmann::json& l, const std::string& method) {
  if (!l.is_object()) return Status::DataLoss(method + ": a log is not an object");
  LogEntry e;
  TREATY_ASSIGN_OR_RETURN(e.address, Field(l, "address", method, ParseAddress));
  auto topics = l.find("topics");
  if (topics == l.end() || !topics->is_array()) return Status::DataLoss(method + ": field \"topics\" is not an array");
  for (const auto& t : *topics) {
    auto h = ParseHash(t);
    if (!h.ok()) return Status::DataLoss(method + ": field \"topics\": " + h.status().message());
    e.topics.push_back(*h);
  }
  TREATY_ASSIGN_OR_RETURN(e.data, Field(l, "data", method, [](const nlohmann::json& v) { return ParseData(v); }));
  TREATY_ASSIGN_OR_RETURN(e.block_number, Field(l, "blockNumber", method, ParseQuantity));
  TREATY_ASSIGN_OR_RETURN(e.block_hash, Field(l, "blockHash", method, ParseHash));
  TREATY_ASSIGN_OR_RETURN(e.transaction_hash, Field(l, "transactionHash", method, ParseHash));
  TREATY_ASSIGN_OR_RETURN(e.transaction_index, Field(l, "transactionIndex", method, ParseQuantity));
  TREATY_ASSIGN_OR_RETURN(e.log_index, Field(l, "logIndex", method, ParseQuantity));
  auto removed = l.find("removed");
  if (removed != l.end()) {
    if (!removed->is_boolean()) return Status::DataLoss(method + ": field \"removed\" is not a boolean");
    e.removed = removed->get<bool>();
  }
  return e;
}

Result<std::optional<Receipt>> ParseReceipt(const nlohmann::json& r, const Hash256& expected, const std::string& method) {
  if (r.is_null()) return std::optional<Receipt>();
  if (!r.is_object()) return Status::DataLoss(method + ": a receipt is not an object");
  Receipt out;
  TREATY_ASSIGN_OR_RETURN(out.transaction_hash, Field(r, "transactionHash", method, ParseHash));
  if (out.transaction_hash != expected)
    return Status::DataLoss(method + ": receipt of " + HexOfBytes(out.transaction_hash.data(), 32, false) +
                            " for the request of " + HexOfBytes(expected.data(), 32, false));
  TREATY_ASSIGN_OR_RETURN(out.block_number, Field(r, "blockNumber", method, ParseQuantity));
  TREATY_ASSIGN_OR_RETURN(out.block_hash, Field(r, "blockHash", method, ParseHash));
  TREATY_ASSIGN_OR_RETURN(uint64_t status, Field(r, "status", method, ParseQuantity));
  if (status > 1) return Status::DataLoss(method + ": field \"status\" is " + std::to_string(status) + ", not 0 or 1");
  out.success = status == 1;
  TREATY_ASSIGN_OR_RETURN(out.gas_used, Field(r, "gasUsed", method, ParseQuantity));
  TREATY_ASSIGN_OR_RETURN(out.effective_gas_price, Field(r, "effectiveGasPrice", method, ParseU256));
  auto created = r.find("contractAddress");
  if (created != r.end() && !created->is_null()) {
    TREATY_ASSIGN_OR_RETURN(out.contract_address, Field(r, "contractAddress", method, ParseAddress));
  }
  return std::optional<Receipt>(std::move(out));
}

// The revert data of a node's error object: a hex string, or (some nodes)
// an object holding one under "data".
std::optional<std::string> RevertData(const nlohmann::json& data) {
  const nlohmann::json* d = &data;
  if (d->is_object() && d->contains("data")) d = &(*d)["data"];
  auto bytes = ParseData(*d);
  if (!bytes.ok()) return std::nullopt;
  return *bytes;
}

// A call that can revert (eth_estimateGas, eth_call): a node error is
// FailedPrecondition with the decoded revert reason added when the node
// sent revert data.
Result<nlohmann::json> CallRevertible(JsonRpcClient* rpc, const std::string& method, nlohmann::json params) {
  RpcError err;
  auto r = rpc->Call(method, std::move(params), &err);
  if (r.ok() || r.status().code() != StatusCode::kFailedPrecondition || err.data.is_null()) return r;
  auto data = RevertData(err.data);
  if (!data) return r;
  auto reason = DecodeRevertReason(*data);
  if (!reason) return r;
  return Status::FailedPrecondition(r.status().message() + " (revert reason: " + *reason + ")");
}

uint64_t ReadWord64(std::string_view word) {  // the low 8 bytes of a 32-byte word
  uint64_t v = 0;
  for (size_t i = 24; i < 32; ++i) v = (v << 8) | static_cast<uint8_t>(word[i]);
  return v;
}

bool HighZero(std::string_view word) {
  for (size_t i = 0; i < 24; ++i)
    if (word[i] != 0) return false;
  return true;
}

}  // namespace

std::string Quantity(uint64_t v) {
  if (v == 0) return "0x0";
  static const char* kDigits = "0123456789abcdef";
  std::string digits;
  for (; v > 0; v >>= 4) digits.insert(digits.begin(), kDigits[v & 15]);
  return "0x" + digits;
}

std::string QuantityU256(const U256& v) {
  std::string out = HexOfBytes(v.data(), v.size(), /*trim=*/true);
  return out.size() == 2 ? "0x0" : out;
}

std::string DataHex(std::string_view bytes) {
  return HexOfBytes(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size(), false);
}

Result<uint64_t> ParseQuantity(const nlohmann::json& v) {
  TREATY_ASSIGN_OR_RETURN(std::string_view d, QuantityDigits(v));
  if (d.size() > 16) return Status::DataLoss("quantity over 64 bits: \"" + v.get<std::string>().substr(0, 80) + "\"");
  uint64_t out = 0;
  for (char c : d) out = (out << 4) | static_cast<uint64_t>(HexDigit(c));
  return out;
}

Result<U256> ParseU256(const nlohmann::json& v) {
  TREATY_ASSIGN_OR_RETURN(std::string_view d, QuantityDigits(v));
  if (d.size() > 64) return Status::DataLoss("quantity over 256 bits: \"" + v.get<std::string>().substr(0, 80) + "\"");
  U256 out{};
  size_t nibble = 0;  // from the least significant end
  for (auto it = d.rbegin(); it != d.rend(); ++it, ++nibble) {
    uint8_t x = static_cast<uint8_t>(HexDigit(*it));
    out[31 - nibble / 2] |= static_cast<uint8_t>(nibble % 2 ? x << 4 : x);
  }
  return out;
}

Result<std::string> ParseData(const nlohmann::json& v, std::optional<size_t> size) {
  TREATY_ASSIGN_OR_RETURN(std::string_view d, HexBody(v, "data"));
  if (d.size() % 2 != 0) return Status::DataLoss("data of an odd number of hex digits (" + std::to_string(d.size()) + ")");
  if (size && d.size() / 2 != *size)
    return Status::DataLoss("data of " + std::to_string(d.size() / 2) + " bytes, expected " + std::to_string(*size));
  std::string out(d.size() / 2, '\0');
  for (size_t i = 0; i < out.size(); ++i) out[i] = static_cast<char>(HexDigit(d[2 * i]) << 4 | HexDigit(d[2 * i + 1]));
  return out;
}

Result<Hash256> ParseHash(const nlohmann::json& v) {
  TREATY_ASSIGN_OR_RETURN(std::string bytes, ParseData(v, 32));
  Hash256 h{};
  std::copy(bytes.begin(), bytes.end(), h.begin());
  return h;
}

U256 MulDiv(const U256& v, uint64_t mul, uint64_t div) {
  // Five 64-bit limbs, most significant first: v * mul fits in 320 bits.
  uint64_t limbs[5] = {0, 0, 0, 0, 0};
  for (int i = 0; i < 4; ++i)
    for (int b = 0; b < 8; ++b) limbs[i + 1] = (limbs[i + 1] << 8) | v[static_cast<size_t>(i * 8 + b)];
  unsigned __int128 carry = 0;
  for (int i = 4; i >= 0; --i) {
    unsigned __int128 p = static_cast<unsigned __int128>(limbs[i]) * mul + carry;
    limbs[i] = static_cast<uint64_t>(p);
    carry = p >> 64;
  }
  U256 out{};
  if (div == 0) {  // no quotient: the largest value, so a caller's bound check trips
    out.fill(0xff);
    return out;
  }
  unsigned __int128 rem = 0;
  for (int i = 0; i < 5; ++i) {
    unsigned __int128 cur = (rem << 64) | limbs[i];
    limbs[i] = static_cast<uint64_t>(cur / div);
    rem = cur % div;
  }
  if (limbs[0] != 0) {  // over 256 bits: saturate
    out.fill(0xff);
    return out;
  }
  for (int i = 0; i < 4; ++i)
    for (int b = 0; b < 8; ++b)
      out[static_cast<size_t>(i * 8 + b)] = static_cast<uint8_t>(limbs[i + 1] >> (56 - 8 * b));
  return out;
}

std::string ToDecimal(const U256& v) {
  U256 cur = v;
  std::string digits;
  auto is_zero = [](const U256& x) {
    for (uint8_t b : x)
      if (b) return false;
    return true;
  };
  while (!is_zero(cur)) {
    unsigned rem = 0;
    for (auto& b : cur) {
      unsigned acc = rem << 8 | b;
      b = static_cast<uint8_t>(acc / 10);
      rem = acc % 10;
    }
    digits.insert(digits.begin(), static_cast<char>('0' + rem));
  }
  return digits.empty() ? "0" : digits;
}

std::optional<std::string> DecodeRevertReason(std::string_view data) {
  static constexpr std::string_view kError("\x08\xc3\x79\xa0", 4);  // Error(string)
  static constexpr std::string_view kPanic("\x4e\x48\x7b\x71", 4);  // Panic(uint256)
  if (data.size() < 4) return std::nullopt;
  std::string_view selector = data.substr(0, 4), args = data.substr(4);
  if (selector == kError) {
    if (args.size() < 64) return std::nullopt;
    std::string_view offset_word = args.substr(0, 32);
    if (!HighZero(offset_word)) return std::nullopt;
    uint64_t offset = ReadWord64(offset_word);
    if (offset > args.size() || args.size() - offset < 32) return std::nullopt;
    std::string_view length_word = args.substr(offset, 32);
    if (!HighZero(length_word)) return std::nullopt;
    uint64_t length = ReadWord64(length_word);
    if (length > args.size() - offset - 32) return std::nullopt;
    std::string text(args.substr(offset + 32, length));
    for (char& c : text)
      if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) c = '?';
    return "\"" + text + "\"";
  }
  if (selector == kPanic) {
    if (args.size() != 32) return std::nullopt;
    U256 code{};
    std::copy(args.begin(), args.end(), code.begin());
    return "panic " + QuantityU256(code);
  }
  return "custom error " + DataHex(selector);
}

Result<uint64_t> EthApi::ChainId() {
  TREATY_ASSIGN_OR_RETURN(nlohmann::json r, rpc_->Call("eth_chainId"));
  return Named(ParseQuantity(r), "eth_chainId");
}

Result<uint64_t> EthApi::BlockNumber() {
  TREATY_ASSIGN_OR_RETURN(nlohmann::json r, rpc_->Call("eth_blockNumber"));
  return Named(ParseQuantity(r), "eth_blockNumber");
}

Result<std::vector<BlockHeader>> EthApi::Headers(uint64_t from, uint64_t to) {
  std::vector<BlockHeader> out;
  if (from > to) return out;
  std::vector<RpcCall> calls;
  for (uint64_t n = from;; ++n) {
    calls.push_back({"eth_getBlockByNumber", nlohmann::json::array({Quantity(n), false})});
    if (n == to) break;
  }
  TREATY_ASSIGN_OR_RETURN(std::vector<nlohmann::json> blocks, rpc_->Batch(calls));
  const std::string method = "eth_getBlockByNumber at " + rpc_->url();
  for (size_t i = 0; i < blocks.size(); ++i) {
    const uint64_t n = from + i;
    if (blocks[i].is_null()) return Status::NotFound(method + ": block " + std::to_string(n) + " is not known (above the head)");
    TREATY_ASSIGN_OR_RETURN(BlockHeader h, ParseHeader(blocks[i], method));
    if (h.number != n)
      return Status::DataLoss(method + ": block " + std::to_string(h.number) + " for the request of " + std::to_string(n));
    out.push_back(h);
  }
  return out;
}

Result<std::vector<LogEntry>> EthApi::Logs(const std::string& address, const Hash256& topic0, uint64_t from,
                                           uint64_t to) {
  TREATY_RETURN_IF_ERROR(CheckAddress(address, "eth_getLogs"));
  if (from > to) return std::vector<LogEntry>{};
  nlohmann::json filter = {{"address", DataHex(address)},
                           {"topics", nlohmann::json::array({DataHex(Bytes(topic0))})},
                           {"fromBlock", Quantity(from)},
                           {"toBlock", Quantity(to)}};
  TREATY_ASSIGN_OR_RETURN(nlohmann::json r, rpc_->Call("eth_getLogs", nlohmann::json::array({filter})));
  const std::string method = "eth_getLogs at " + rpc_->url();
  if (!r.is_array()) return Status::DataLoss(method + ": result is not an array");
  std::vector<LogEntry> out;
  out.reserve(r.size());
  for (const auto& l : r) {
    TREATY_ASSIGN_OR_RETURN(LogEntry e, ParseLog(l, method));
    // The filter is the node's to apply; a log outside it is a wrong answer.
    if (e.address != address || e.topics.empty() || e.topics[0] != topic0 || e.block_number < from ||
        e.block_number > to)
      return Status::DataLoss(method + ": a log outside the filter (block " + std::to_string(e.block_number) + ")");
    out.push_back(std::move(e));
  }
  return out;
}

Result<uint64_t> EthApi::TransactionCount(const std::string& address, const std::string& tag) {
  TREATY_RETURN_IF_ERROR(CheckAddress(address, "eth_getTransactionCount"));
  if (tag != "latest" && tag != "pending" && tag != "earliest" && tag != "safe" && tag != "finalized")
    return Status::InvalidArgument("eth_getTransactionCount: unknown block tag \"" + tag + "\"");
  TREATY_ASSIGN_OR_RETURN(nlohmann::json r,
                          rpc_->Call("eth_getTransactionCount", nlohmann::json::array({DataHex(address), tag})));
  return Named(ParseQuantity(r), "eth_getTransactionCount at " + rpc_->url());
}

Result<U256> EthApi::Balance(const std::string& address) {
  TREATY_RETURN_IF_ERROR(CheckAddress(address, "eth_getBalance"));
  TREATY_ASSIGN_OR_RETURN(nlohmann::json r, rpc_->Call("eth_getBalance", nlohmann::json::array({DataHex(address), "latest"})));
  return Named(ParseU256(r), "eth_getBalance at " + rpc_->url());
}

Result<U256> EthApi::GasPrice() {
  TREATY_ASSIGN_OR_RETURN(nlohmann::json r, rpc_->Call("eth_gasPrice"));
  return Named(ParseU256(r), "eth_gasPrice at " + rpc_->url());
}

Result<std::optional<U256>> EthApi::BaseFee() {
  const std::string method = "eth_getBlockByNumber at " + rpc_->url();
  TREATY_ASSIGN_OR_RETURN(nlohmann::json b,
                          rpc_->Call("eth_getBlockByNumber", nlohmann::json::array({"latest", false})));
  if (!b.is_object()) return Status::DataLoss(method + ": the latest block is not an object");
  if (!b.contains("baseFeePerGas") || b["baseFeePerGas"].is_null()) return std::optional<U256>();
  TREATY_ASSIGN_OR_RETURN(U256 fee, Named(ParseU256(b["baseFeePerGas"]), method + " baseFeePerGas"));
  return std::optional<U256>(fee);
}

Result<Hash256> EthApi::SendRawTransaction(std::string_view raw) {
  TREATY_ASSIGN_OR_RETURN(nlohmann::json r, rpc_->Call("eth_sendRawTransaction", nlohmann::json::array({DataHex(raw)})));
  const std::string method = "eth_sendRawTransaction at " + rpc_->url();
  TREATY_ASSIGN_OR_RETURN(Hash256 h, Named(ParseHash(r), method));
  // A transaction's hash is the keccak of its raw bytes (legacy and typed
  // alike): a node naming another one is not to be believed.
  if (h != Keccak256(raw))
    return Status::DataLoss(method + ": the node names the transaction " + DataHex(Bytes(h)) + ", its hash is " +
                            DataHex(Bytes(Keccak256(raw))));
  return h;
}

Result<std::optional<Receipt>> EthApi::TransactionReceipt(const Hash256& hash) {
  TREATY_ASSIGN_OR_RETURN(nlohmann::json r,
                          rpc_->Call("eth_getTransactionReceipt", nlohmann::json::array({DataHex(Bytes(hash))})));
  return ParseReceipt(r, hash, "eth_getTransactionReceipt at " + rpc_->url());
}

Result<std::vector<std::optional<Receipt>>> EthApi::TransactionReceipts(const std::vector<Hash256>& hashes) {
  std::vector<RpcCall> calls;
  calls.reserve(hashes.size());
  for (const auto& h : hashes) calls.push_back({"eth_getTransactionReceipt", nlohmann::json::array({DataHex(Bytes(h))})});
  TREATY_ASSIGN_OR_RETURN(std::vector<nlohmann::json> rs, rpc_->Batch(calls));
  const std::string method = "eth_getTransactionReceipt at " + rpc_->url();
  std::vector<std::optional<Receipt>> out;
  out.reserve(rs.size());
  for (size_t i = 0; i < rs.size(); ++i) {
    TREATY_ASSIGN_OR_RETURN(std::optional<Receipt> receipt, ParseReceipt(rs[i], hashes[i], method));
    out.push_back(std::move(receipt));
  }
  return out;
}

Result<bool> EthApi::TransactionKnown(const Hash256& hash) {
  TREATY_ASSIGN_OR_RETURN(nlohmann::json r,
                          rpc_->Call("eth_getTransactionByHash", nlohmann::json::array({DataHex(Bytes(hash))})));
  if (r.is_null()) return false;
  const std::string method = "eth_getTransactionByHash at " + rpc_->url();
  if (!r.is_object()) return Status::DataLoss(method + ": result is neither null nor a transaction");
  TREATY_ASSIGN_OR_RETURN(Hash256 h, Field(r, "hash", method, ParseHash));
  if (h != hash) return Status::DataLoss(method + ": the node answers with transaction " + DataHex(Bytes(h)));
  return true;
}

Result<uint64_t> EthApi::EstimateGas(const std::string& from, const std::string& to, std::string_view data) {
  TREATY_RETURN_IF_ERROR(CheckAddress(from, "eth_estimateGas from"));
  nlohmann::json call = {{"from", DataHex(from)}, {"data", DataHex(data)}};
  if (!to.empty()) {
    TREATY_RETURN_IF_ERROR(CheckAddress(to, "eth_estimateGas to"));
    call["to"] = DataHex(to);
  }
  TREATY_ASSIGN_OR_RETURN(nlohmann::json r, CallRevertible(rpc_, "eth_estimateGas", nlohmann::json::array({call})));
  return Named(ParseQuantity(r), "eth_estimateGas at " + rpc_->url());
}

Result<std::string> EthApi::CallContract(const std::string& to, std::string_view data) {
  TREATY_RETURN_IF_ERROR(CheckAddress(to, "eth_call"));
  nlohmann::json call = {{"to", DataHex(to)}, {"data", DataHex(data)}};
  TREATY_ASSIGN_OR_RETURN(nlohmann::json r, CallRevertible(rpc_, "eth_call", nlohmann::json::array({call, "latest"})));
  return Named(ParseData(r), "eth_call at " + rpc_->url());
}

}  // namespace treaty::chain::eth
