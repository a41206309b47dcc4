// The configuration of treaty-webhook (docs/webhook.md): which node to
// serve (and with which certificates or token), under which worker name, and for each job type the HTTP endpoint
// that does its jobs, how the response becomes the step's input and which
// 4xx answers are business errors.
//
// LoadWebhookConfig reads and checks the YAML file; every problem is a
// "FILE:LINE:COL: message" line naming the key. Checks against the node's
// definitions are in definition_check.h.
//
// Thread-safety: a loaded WebhookConfig is immutable and may be read from
// any thread.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "json_path.h"

namespace treaty::webhook {

// A place in the config file, 1-based.
struct ConfigLoc {
  int line = 0;
  int column = 0;
};

// How one 4xx status becomes a business error code: always `code`, or the
// code `values` maps the body's `field` to (else `default_code`; with
// neither the response is a plain failure).
struct ErrorRule {
  int status = 0;
  std::string code;                                     // without a field
  std::optional<JsonPath> field;
  std::vector<std::pair<std::string, std::string>> values;  // body value (as text) → code
  std::string default_code;
  // Where each code was written, for the check against the definitions.
  std::vector<std::pair<std::string, ConfigLoc>> code_locs;
};

enum class BodyShape { kVariables, kEnvelope };

// The endpoint doing the jobs of one type.
struct Endpoint {
  std::string type;
  ConfigLoc type_loc;
  std::string url;
  std::string method = "POST";
  std::vector<std::pair<std::string, std::string>> headers;  // in the order written
  int64_t timeout_ms = 10'000;
  int concurrency = 1;
  BodyShape body = BodyShape::kVariables;
  // step input field → where it is in the response; empty: the whole body.
  std::vector<std::pair<std::string, JsonPath>> output;
  std::vector<ConfigLoc> output_locs;  // parallel to output
  std::map<int, ErrorRule> errors;     // by HTTP status
};

// How the daemon presents itself to the node (docs/security.md): the same
// as the flags of the same names; files relative to the config's folder.
struct NodeSecurity {
  std::string tls_ca, tls_cert, tls_key, tls_server_name, token_file;
};

struct WebhookConfig {
  std::string path;  // the file, for messages
  std::string node = "127.0.0.1:7420";
  NodeSecurity security;
  std::string worker = "treaty-webhook";
  std::vector<Endpoint> endpoints;

  // "FILE:LINE:COL" of a place in this file.
  std::string Where(const ConfigLoc& loc) const;
};

constexpr int kMaxConcurrency = 64;
constexpr int64_t kDefaultTimeoutMs = 10'000;

// The config, or nothing with every problem found appended to *errors,
// one "FILE:LINE:COL: message" (or "FILE: message") each.
std::optional<WebhookConfig> LoadWebhookConfig(const std::string& path, std::vector<std::string>* errors);

}  // namespace treaty::webhook
