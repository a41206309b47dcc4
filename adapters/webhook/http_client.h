// One HTTP exchange at a time over libcurl's easy interface, keeping the
// connection for the next request to the same host.
//
// Thread-safety: an HttpClient is used by one thread at a time (each job
// slot owns one). curl_global_init must have run before the first is made.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

typedef void CURL;

namespace treaty::webhook {

struct HttpRequest {
  std::string method;  // POST, PUT or PATCH
  std::string url;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  int64_t timeout_ms = 0;  // the whole exchange, connecting included
};

struct HttpResponse {
  bool transport_ok = false;    // false: no HTTP status (refused, timed out, ...)
  std::string transport_error;  // libcurl's words, when !transport_ok
  long status = 0;
  std::string body;
  int64_t elapsed_ms = 0;
};

// A body over this size is a failure, not read further.
constexpr size_t kMaxResponseBytes = 1 << 20;

class HttpClient {
 public:
  HttpClient();
  ~HttpClient();
  HttpClient(const HttpClient&) = delete;
  HttpClient& operator=(const HttpClient&) = delete;

  HttpResponse Send(const HttpRequest& req);

 private:
  CURL* curl_;
};

}  // namespace treaty::webhook
