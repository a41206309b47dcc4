// What an HTTP response means for the job (docs/webhook.md, "The
// response"): a 2xx with a JSON object completes it with the (mapped)
// output; a 4xx the config maps to a code throws that business error;
// anything else fails it with the status and the start of the body.
//
// Thread-safety: pure function.
#pragma once

#include <string>

#include "http_client.h"
#include "webhook_config.h"

namespace treaty::webhook {

struct JobOutcome {
  enum class Kind { kComplete, kThrowError, kFail };
  Kind kind = Kind::kFail;
  std::string output_json;  // kComplete: the step's input
  std::string error_code;   // kThrowError
  std::string message;      // kThrowError and kFail: for the job's error_message
};

// Bodies quoted in messages are cut to this many bytes.
constexpr size_t kQuotedBodyBytes = 512;

JobOutcome DecideJobOutcome(const Endpoint& ep, const HttpResponse& resp);

// `text` for a message the node stores (a proto string: valid UTF-8):
// bytes that are not UTF-8 written as \xNN, cut after `max_bytes` with the
// original size noted.
std::string MessageText(const std::string& text, size_t max_bytes);

}  // namespace treaty::webhook
