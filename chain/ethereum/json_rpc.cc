#include "chain/ethereum/json_rpc.h"

#include <curl/curl.h>

#include <algorithm>
#include <map>
#include <mutex>
#include <utility>

namespace treaty::chain::eth {
namespace {

// libcurl's global state, set up once before the first handle (its
// documentation asks for that before any thread uses it).
void InitCurlOnce() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

struct Sink {
  std::string body;
  size_t cap = 0;
  bool too_large = false;
};

size_t Write(char* data, size_t size, size_t n, void* user) {
  auto* sink = static_cast<Sink*>(user);
  size_t len = size * n;
  if (sink->body.size() + len > sink->cap) {
    sink->too_large = true;
    return 0;  // makes libcurl stop with CURLE_WRITE_ERROR
  }
  sink->body.append(data, len);
  return len;
}

// A bounded, printable excerpt of an answer for an error message.
std::string Excerpt(const std::string& body) {
  std::string out;
  for (char c : body.substr(0, 200)) out += (c >= 0x20 && c < 0x7f) ? c : '?';
  if (body.size() > 200) out += "...";
  return out;
}

Status MapNodeError(const RpcError& e, const std::string& where) {
  std::string msg = where + ": node error " + std::to_string(e.code) + ": " + e.message;
  if (e.code == -32600 || e.code == -32602) return Status::InvalidArgument(msg);
  if (e.code == -32601) return Status(StatusCode::kUnimplemented, msg);
  return Status::FailedPrecondition(msg);
}

// The error object of an answer, checked: an integer code and a string
// message (data optional).
Result<RpcError> ParseErrorObject(const nlohmann::json& err, const std::string& where) {
  if (!err.is_object() || !err.contains("code") || !err["code"].is_number_integer() || !err.contains("message") ||
      !err["message"].is_string())
    return Status::DataLoss(where + ": malformed error object " + Excerpt(err.dump()));
  RpcError e;
  e.code = err["code"].get<int64_t>();
  e.message = err["message"].get<std::string>();
  if (err.contains("data")) e.data = err["data"];
  return e;
}

bool IdIs(const nlohmann::json& answer, int64_t id) {
  auto it = answer.find("id");
  return it != answer.end() && it->is_number_integer() && it->get<int64_t>() == id;
}

// One response object of a request with id `id`: its result, or its error
// mapped (and copied to `node_error`).
Result<nlohmann::json> ResultOf(const nlohmann::json& answer, int64_t id, const std::string& where,
                                RpcError* node_error) {
  if (!answer.is_object()) return Status::DataLoss(where + ": answer is not a JSON-RPC response object");
  auto version = answer.find("jsonrpc");
  if (version == answer.end() || *version != "2.0")
    return Status::DataLoss(where + ": answer is not JSON-RPC 2.0 (no \"jsonrpc\": \"2.0\")");
  auto err = answer.find("error");
  if (err != answer.end() && !err->is_null()) {
    // A node that could not read the request answers with id null.
    auto idf = answer.find("id");
    if (!IdIs(answer, id) && !(idf != answer.end() && idf->is_null()))
      return Status::DataLoss(where + ": error answer with the wrong id " + (idf == answer.end() ? "(none)" : idf->dump()));
    TREATY_ASSIGN_OR_RETURN(RpcError e, ParseErrorObject(*err, where));
    Status st = MapNodeError(e, where);
    if (node_error) *node_error = std::move(e);
    return st;
  }
  if (!IdIs(answer, id)) {
    auto idf = answer.find("id");
    return Status::DataLoss(where + ": answer has id " + (idf == answer.end() ? "(none)" : idf->dump()) +
                            ", the request had " + std::to_string(id));
  }
  auto result = answer.find("result");
  if (result == answer.end()) return Status::DataLoss(where + ": answer has neither result nor error");
  return *result;
}

}  // namespace

// Idle easy handles: a handle keeps its connection to the node alive
// between requests; a call takes one (or makes one) and gives it back.
struct JsonRpcClient::Pool {
  static constexpr size_t kKeepIdle = 16;
  std::mutex mu;
  std::vector<CURL*> idle;

  CURL* Take() {
    {
      std::lock_guard<std::mutex> lock(mu);
      if (!idle.empty()) {
        CURL* h = idle.back();
        idle.pop_back();
        return h;
      }
    }
    return curl_easy_init();
  }
  void Give(CURL* h) {
    {
      std::lock_guard<std::mutex> lock(mu);
      if (idle.size() < kKeepIdle) {
        idle.push_back(h);
        return;
      }
    }
    curl_easy_cleanup(h);
  }
  ~Pool() {
    for (CURL* h : idle) curl_easy_cleanup(h);
  }
};

JsonRpcClient::JsonRpcClient(std::string url, std::chrono::milliseconds timeout, size_t max_answer_bytes)
    : url_(std::move(url)), timeout_(timeout), max_answer_bytes_(max_answer_bytes), pool_(std::make_unique<Pool>()) {
  InitCurlOnce();
}

JsonRpcClient::~JsonRpcClient() = default;

Result<nlohmann::json> JsonRpcClient::Post(const nlohmann::json& body, const std::string& what) {
  const std::string where = what + " at " + url_;
  CURL* h = pool_->Take();
  if (!h) return Status::Internal(where + ": libcurl could not make a handle");
  const std::string request = body.dump();
  Sink sink;
  sink.cap = max_answer_bytes_;
  char error[CURL_ERROR_SIZE] = {0};
  curl_slist* headers = nullptr;
  headers = curl_slist_append(headers, "Content-Type: application/json");
  headers = curl_slist_append(headers, "Accept: application/json");
  headers = curl_slist_append(headers, "Expect:");  // no 100-continue round trip for a large batch
  long total_ms = static_cast<long>(std::max<int64_t>(1, timeout_.count()));
  curl_easy_reset(h);  // keeps the connection cache
  curl_easy_setopt(h, CURLOPT_URL, url_.c_str());
  curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);  // threads: no SIGALRM for timeouts
  curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, total_ms);
  curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, std::min(total_ms, 2000L));
  curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
  curl_easy_setopt(h, CURLOPT_USERAGENT, "treaty-ethereum");
  curl_easy_setopt(h, CURLOPT_HTTPHEADER, headers);
  curl_easy_setopt(h, CURLOPT_POSTFIELDS, request.c_str());
  curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(request.size()));
  // An announced Content-Length over the cap stops the transfer at once;
  // the write callback catches an answer that does not announce one.
  curl_easy_setopt(h, CURLOPT_MAXFILESIZE_LARGE, static_cast<curl_off_t>(max_answer_bytes_));
  curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, Write);
  curl_easy_setopt(h, CURLOPT_WRITEDATA, &sink);
  curl_easy_setopt(h, CURLOPT_ERRORBUFFER, error);
  CURLcode rc = curl_easy_perform(h);
  long http = 0;
  curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &http);
  curl_easy_setopt(h, CURLOPT_ERRORBUFFER, nullptr);
  curl_easy_setopt(h, CURLOPT_HTTPHEADER, nullptr);
  curl_slist_free_all(headers);
  pool_->Give(h);

  if (sink.too_large || rc == CURLE_FILESIZE_EXCEEDED)
    return Status::Unavailable(where + ": answer larger than " + std::to_string(max_answer_bytes_) + " bytes");
  if (rc == CURLE_URL_MALFORMAT || rc == CURLE_UNSUPPORTED_PROTOCOL)
    return Status::InvalidArgument(where + ": unusable URL: " + (error[0] ? error : curl_easy_strerror(rc)));
  if (rc == CURLE_OPERATION_TIMEDOUT)
    return Status::Unavailable(where + ": no answer within " + std::to_string(timeout_.count()) + " ms");
  if (rc != CURLE_OK)
    return Status::Unavailable(where + ": not reachable: " + (error[0] ? error : curl_easy_strerror(rc)));

  nlohmann::json doc = nlohmann::json::parse(sink.body, nullptr, /*allow_exceptions=*/false);
  if (http != 200) {
    // A JSON-RPC error object is the node's own answer, whatever the status.
    if (doc.is_object() && doc.contains("error") && doc["error"].is_object()) return doc;
    return Status::Unavailable(where + ": HTTP status " + std::to_string(http) + ": " + Excerpt(sink.body));
  }
  if (doc.is_discarded()) return Status::DataLoss(where + ": answer is not JSON: " + Excerpt(sink.body));
  return doc;
}

Result<nlohmann::json> JsonRpcClient::Call(const std::string& method, nlohmann::json params, RpcError* node_error) {
  const int64_t id = next_id_.fetch_add(1);
  nlohmann::json body = {{"jsonrpc", "2.0"}, {"id", id}, {"method", method}, {"params", std::move(params)}};
  TREATY_ASSIGN_OR_RETURN(nlohmann::json answer, Post(body, method));
  return ResultOf(answer, id, method + " at " + url_, node_error);
}

Result<std::vector<nlohmann::json>> JsonRpcClient::Batch(const std::vector<RpcCall>& calls) {
  if (calls.empty()) return std::vector<nlohmann::json>{};
  const int64_t first = next_id_.fetch_add(static_cast<int64_t>(calls.size()));
  nlohmann::json body = nlohmann::json::array();
  for (size_t i = 0; i < calls.size(); ++i)
    body.push_back({{"jsonrpc", "2.0"}, {"id", first + static_cast<int64_t>(i)}, {"method", calls[i].method},
                    {"params", calls[i].params}});
  const std::string what = "batch of " + std::to_string(calls.size()) + " (" + calls[0].method +
                           (calls.size() > 1 ? ", ..." : "") + ")";
  TREATY_ASSIGN_OR_RETURN(nlohmann::json answer, Post(body, what));
  const std::string where = what + " at " + url_;
  // A node that refuses the batch as a whole answers with one error object.
  if (answer.is_object() && answer.contains("error")) {
    auto err = answer["error"];
    if (err.is_null()) return Status::DataLoss(where + ": answer to a batch is a single object");
    TREATY_ASSIGN_OR_RETURN(RpcError e, ParseErrorObject(err, where));
    return MapNodeError(e, where);
  }
  if (!answer.is_array()) return Status::DataLoss(where + ": answer to a batch is not an array");
  // Answers may come in any order: index them by id.
  std::map<int64_t, const nlohmann::json*> by_id;
  for (const auto& a : answer) {
    auto idf = a.is_object() ? a.find("id") : a.end();
    if (!a.is_object() || idf == a.end() || !idf->is_number_integer())
      return Status::DataLoss(where + ": batch answer element without an integer id: " + Excerpt(a.dump()));
    int64_t id = idf->get<int64_t>();
    if (id < first || id >= first + static_cast<int64_t>(calls.size()))
      return Status::DataLoss(where + ": batch answer with id " + std::to_string(id) + ", not one of the request's");
    if (!by_id.emplace(id, &a).second)
      return Status::DataLoss(where + ": batch answer with id " + std::to_string(id) + " twice");
  }
  std::vector<nlohmann::json> results;
  results.reserve(calls.size());
  for (size_t i = 0; i < calls.size(); ++i) {
    const int64_t id = first + static_cast<int64_t>(i);
    const std::string call_where = calls[i].method + " (call " + std::to_string(i) + " of a batch) at " + url_;
    auto it = by_id.find(id);
    if (it == by_id.end()) return Status::DataLoss(call_where + ": no answer for id " + std::to_string(id));
    TREATY_ASSIGN_OR_RETURN(nlohmann::json r, ResultOf(*it->second, id, call_where, nullptr));
    results.push_back(std::move(r));
  }
  return results;
}

}  // namespace treaty::chain::eth
