// JsonRpcClient: an EVM node's JSON-RPC 2.0 API over HTTP, through libcurl
// (never hand-written HTTP) and nlohmann-json. One call or a batch of calls
// in one request. Every answer is checked before the caller sees it: an
// answer that is not a JSON-RPC response to this request is an error
// naming what was wrong, never a crash or a silent default.
//
// Status codes: Unavailable (not reachable, timeout, HTTP status other than
// 200, answer too large); DataLoss (an answer that is not JSON or not a
// JSON-RPC response to the request sent: wrong id, no result); a JSON-RPC
// error object: InvalidArgument for -32600/-32602, Unimplemented for
// -32601, FailedPrecondition for everything else (reverts, insufficient
// funds, nonce too low); the message carries the node's code and text.
// A JSON-RPC error object is mapped so even under an HTTP status other than
// 200 (some nodes answer -32600 with 400). A URL libcurl cannot use (not
// http:// or https://, malformed) is InvalidArgument. Every message names
// the URL and the method.
//
// Thread-safety: all methods may be called concurrently (each call uses its
// own libcurl handle from a small pool).
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "definitions/base/status.h"

namespace treaty::chain::eth {

struct RpcCall {
  std::string method;
  nlohmann::json params = nlohmann::json::array();
};

// The error object of a JSON-RPC answer, for callers that read more than
// the Status (eth_estimateGas's revert data).
struct RpcError {
  int64_t code = 0;
  std::string message;
  nlohmann::json data;  // null when the node sent none
};

class JsonRpcClient {
 public:
  // `url` is http://HOST:PORT[/PATH]. `timeout` bounds a whole request
  // (connecting: at most 2 s of it); `max_answer_bytes` the answer's size.
  explicit JsonRpcClient(std::string url, std::chrono::milliseconds timeout = std::chrono::milliseconds(5000),
                         size_t max_answer_bytes = kMaxAnswerBytes);
  ~JsonRpcClient();
  JsonRpcClient(const JsonRpcClient&) = delete;
  JsonRpcClient& operator=(const JsonRpcClient&) = delete;

  // The call's `result` (may be JSON null, e.g. an unknown receipt). When
  // the node answers with an error object and `node_error` is set, the
  // object is copied there as well.
  Result<nlohmann::json> Call(const std::string& method, nlohmann::json params = nlohmann::json::array(),
                              RpcError* node_error = nullptr);
  // Several calls in one HTTP request (a JSON-RPC batch); results in the
  // order of `calls`, matched by id. Fails as a whole if any call fails.
  Result<std::vector<nlohmann::json>> Batch(const std::vector<RpcCall>& calls);

  const std::string& url() const { return url_; }
  size_t max_answer_bytes() const { return max_answer_bytes_; }

  // Largest answer accepted (a log range can be big; a hostile one is not
  // allowed to exhaust memory).
  static constexpr size_t kMaxAnswerBytes = 64u << 20;

 private:
  struct Pool;
  // One HTTP POST; the parsed answer, `what` naming the method(s) in errors.
  Result<nlohmann::json> Post(const nlohmann::json& body, const std::string& what);
  std::string url_;
  std::chrono::milliseconds timeout_;
  size_t max_answer_bytes_;
  std::unique_ptr<Pool> pool_;
  std::atomic<int64_t> next_id_{1};
};

}  // namespace treaty::chain::eth
