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
//
// Thread-safety: all methods may be called concurrently (each call uses its
// own libcurl handle from a small pool).
#pragma once

#include <chrono>
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

class JsonRpcClient {
 public:
  // `url` is http://HOST:PORT[/PATH].
  explicit JsonRpcClient(std::string url, std::chrono::milliseconds timeout = std::chrono::milliseconds(5000));
  ~JsonRpcClient();
  JsonRpcClient(const JsonRpcClient&) = delete;
  JsonRpcClient& operator=(const JsonRpcClient&) = delete;

  // The call's `result` (may be JSON null, e.g. an unknown receipt).
  Result<nlohmann::json> Call(const std::string& method, nlohmann::json params = nlohmann::json::array());
  // Several calls in one HTTP request (a JSON-RPC batch); results in the
  // order of `calls`, matched by id. Fails as a whole if any call fails.
  Result<std::vector<nlohmann::json>> Batch(const std::vector<RpcCall>& calls);

  const std::string& url() const { return url_; }

  // Largest answer accepted (a log range can be big; a hostile one is not
  // allowed to exhaust memory).
  static constexpr size_t kMaxAnswerBytes = 64u << 20;

 private:
  struct Pool;
  Result<nlohmann::json> Post(const nlohmann::json& body);
  std::string url_;
  std::chrono::milliseconds timeout_;
  std::unique_ptr<Pool> pool_;
};

}  // namespace treaty::chain::eth
