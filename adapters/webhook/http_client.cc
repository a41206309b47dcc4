#include "http_client.h"

#include <curl/curl.h>

#include <chrono>

namespace treaty::webhook {

namespace {

struct Sink {
  std::string* body;
  bool too_big = false;
};

size_t Write(char* data, size_t size, size_t n, void* user) {
  auto* sink = static_cast<Sink*>(user);
  size_t bytes = size * n;
  if (sink->body->size() + bytes > kMaxResponseBytes) {
    sink->too_big = true;
    return 0;  // makes libcurl stop with CURLE_WRITE_ERROR
  }
  sink->body->append(data, bytes);
  return bytes;
}

}  // namespace

HttpClient::HttpClient() : curl_(curl_easy_init()) {}

HttpClient::~HttpClient() { curl_easy_cleanup(curl_); }

HttpResponse HttpClient::Send(const HttpRequest& req) {
  HttpResponse resp;
  if (!curl_) {
    resp.transport_error = "libcurl could not be initialised";
    return resp;
  }
  curl_easy_reset(curl_);  // keeps the connection cache
  curl_slist* headers = nullptr;
  for (const auto& [name, value] : req.headers) headers = curl_slist_append(headers, (name + ": " + value).c_str());
  // No "Expect: 100-continue" round trip for larger bodies.
  headers = curl_slist_append(headers, "Expect:");
  Sink sink{&resp.body};
  char error[CURL_ERROR_SIZE] = {0};

  curl_easy_setopt(curl_, CURLOPT_URL, req.url.c_str());
  curl_easy_setopt(curl_, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(curl_, CURLOPT_NOSIGNAL, 1L);  // threads: no SIGALRM for timeouts
  curl_easy_setopt(curl_, CURLOPT_TIMEOUT_MS, static_cast<long>(req.timeout_ms));
  curl_easy_setopt(curl_, CURLOPT_FOLLOWLOCATION, 0L);
  curl_easy_setopt(curl_, CURLOPT_USERAGENT, "treaty-webhook");
  curl_easy_setopt(curl_, CURLOPT_HTTPHEADER, headers);
  curl_easy_setopt(curl_, CURLOPT_POSTFIELDS, req.body.c_str());
  curl_easy_setopt(curl_, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(req.body.size()));
  if (req.method != "POST") curl_easy_setopt(curl_, CURLOPT_CUSTOMREQUEST, req.method.c_str());
  curl_easy_setopt(curl_, CURLOPT_WRITEFUNCTION, Write);
  curl_easy_setopt(curl_, CURLOPT_WRITEDATA, &sink);
  curl_easy_setopt(curl_, CURLOPT_ERRORBUFFER, error);

  auto start = std::chrono::steady_clock::now();
  CURLcode rc = curl_easy_perform(curl_);
  resp.elapsed_ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - start).count();
  curl_slist_free_all(headers);
  curl_easy_setopt(curl_, CURLOPT_ERRORBUFFER, nullptr);
  if (rc == CURLE_OK) {
    resp.transport_ok = true;
    curl_easy_getinfo(curl_, CURLINFO_RESPONSE_CODE, &resp.status);
  } else if (sink.too_big) {
    resp.transport_error = "the response body is over " + std::to_string(kMaxResponseBytes) + " bytes";
  } else {
    resp.transport_error = error[0] ? error : curl_easy_strerror(rc);
  }
  return resp;
}

}  // namespace treaty::webhook
