// EthApi: the few Ethereum JSON-RPC methods the `ethereum` ledger uses,
// typed: quantities and data are parsed strictly (a malformed field is a
// DataLoss error naming the method and field), addresses and hashes are
// raw bytes (20 and 32), never hex strings past this boundary.
//
// Thread-safety: as JsonRpcClient's (all methods may be called
// concurrently).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "chain/ethereum/json_rpc.h"
#include "chain/ethereum/keccak.h"
#include "chain/ethereum/transaction.h"

namespace treaty::chain::eth {

// Hex forms used on the wire: "0x1a" quantities, "0x..." data. Parsing
// accepts leading zeros in a quantity ("0x01") but not "0x", a value over
// the type's width, a digit that is not hex, or data of odd length; every
// failure is DataLoss.
std::string Quantity(uint64_t v);
std::string QuantityU256(const U256& v);
std::string DataHex(std::string_view bytes);
Result<uint64_t> ParseQuantity(const nlohmann::json& v);
Result<U256> ParseU256(const nlohmann::json& v);
// `size` set: exactly that many bytes.
Result<std::string> ParseData(const nlohmann::json& v, std::optional<size_t> size = std::nullopt);
Result<Hash256> ParseHash(const nlohmann::json& v);
// U256 arithmetic the gas price needs: v * mul / div, rounded down,
// computed without overflow; a quotient over 256 bits, or div = 0, gives
// the largest U256.
U256 MulDiv(const U256& v, uint64_t mul, uint64_t div);
// Decimal text of a U256 (balances in status lines).
std::string ToDecimal(const U256& v);
// The reason in a revert's return data, for messages: Error(string) as the
// quoted text, Panic(uint256) as "panic 0x11", another selector as
// "custom error 0x...". nullopt for data that is none of these (too short,
// offsets out of range).
std::optional<std::string> DecodeRevertReason(std::string_view data);

struct BlockHeader {
  uint64_t number = 0;
  Hash256 hash{};
  Hash256 parent_hash{};
  uint64_t timestamp = 0;  // seconds
};

struct LogEntry {
  std::string address;  // 20 bytes
  std::vector<Hash256> topics;
  std::string data;
  uint64_t block_number = 0;
  Hash256 block_hash{};
  Hash256 transaction_hash{};
  uint64_t transaction_index = 0;
  uint64_t log_index = 0;
  bool removed = false;
};

struct Receipt {
  Hash256 transaction_hash{};
  uint64_t block_number = 0;
  Hash256 block_hash{};
  bool success = false;  // status 0x1
  uint64_t gas_used = 0;
  U256 effective_gas_price{};
  std::string contract_address;  // 20 bytes, set for a contract creation
};

class EthApi {
 public:
  explicit EthApi(JsonRpcClient* rpc) : rpc_(rpc) {}

  Result<uint64_t> ChainId();
  Result<uint64_t> BlockNumber();
  // Headers of blocks [from, to] in order, in one batch request; an
  // unknown block (above the head) is NotFound; from > to: none.
  Result<std::vector<BlockHeader>> Headers(uint64_t from, uint64_t to);
  // eth_getLogs for `address` with topic0 = `topic0` in [from, to]; a log
  // the node returns outside that filter is DataLoss; from > to: none.
  Result<std::vector<LogEntry>> Logs(const std::string& address, const Hash256& topic0, uint64_t from, uint64_t to);
  // `tag` is "latest" or "pending".
  Result<uint64_t> TransactionCount(const std::string& address, const std::string& tag);
  Result<U256> Balance(const std::string& address);
  Result<U256> GasPrice();
  // The base fee of the latest block (EIP-1559); nullopt on a chain
  // without one.
  Result<std::optional<U256>> BaseFee();
  // The transaction's hash as the node reports it (checked: it must be
  // the keccak of `raw`).
  Result<Hash256> SendRawTransaction(std::string_view raw);
  // nullopt while the transaction is not in a block.
  Result<std::optional<Receipt>> TransactionReceipt(const Hash256& hash);
  // Receipts of many transactions in one batch request.
  Result<std::vector<std::optional<Receipt>>> TransactionReceipts(const std::vector<Hash256>& hashes);
  // Whether the node knows the transaction at all (pending or mined).
  Result<bool> TransactionKnown(const Hash256& hash);
  // eth_estimateGas of a call from `from` to `to` (empty: a creation); a
  // revert is FailedPrecondition with the revert reason when there is one.
  Result<uint64_t> EstimateGas(const std::string& from, const std::string& to, std::string_view data);
  // eth_call at "latest": the returned bytes (a revert as EstimateGas's).
  Result<std::string> CallContract(const std::string& to, std::string_view data);

  JsonRpcClient* rpc() { return rpc_; }

 private:
  JsonRpcClient* rpc_;
};

}  // namespace treaty::chain::eth
