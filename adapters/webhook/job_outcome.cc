#include "job_outcome.h"

#include <nlohmann/json.hpp>

namespace treaty::webhook {

namespace {

std::string Quote(const std::string& body) {
  if (body.empty()) return "(empty body)";
  if (body.size() <= kQuotedBodyBytes) return body;
  return body.substr(0, kQuotedBodyBytes) + "... (" + std::to_string(body.size()) + " bytes)";
}

JobOutcome Fail(std::string message) {
  JobOutcome o;
  o.kind = JobOutcome::Kind::kFail;
  o.message = std::move(message);
  return o;
}

JobOutcome Throw(const std::string& code, std::string message) {
  JobOutcome o;
  o.kind = JobOutcome::Kind::kThrowError;
  o.error_code = code;
  o.message = std::move(message);
  return o;
}

// The text a body field is matched against `values` with: a string as
// it is, anything else as JSON (42, true, null).
std::string AsText(const nlohmann::json& v) { return v.is_string() ? v.get<std::string>() : v.dump(); }

}  // namespace

JobOutcome DecideJobOutcome(const Endpoint& ep, const HttpResponse& resp) {
  std::string call = ep.method + " " + ep.url;
  if (!resp.transport_ok)
    return Fail(call + ": " + resp.transport_error + " (after " + std::to_string(resp.elapsed_ms) + " ms)");
  std::string head = "HTTP " + std::to_string(resp.status) + " from " + call;

  if (resp.status >= 200 && resp.status <= 299) {
    if (resp.body.empty()) {
      if (!ep.output.empty()) return Fail(head + ": an empty body, but 'output' maps fields from it");
      JobOutcome o;
      o.kind = JobOutcome::Kind::kComplete;
      o.output_json = "{}";
      return o;
    }
    nlohmann::json body = nlohmann::json::parse(resp.body, nullptr, false);
    if (body.is_discarded()) return Fail(head + ": the body is not JSON: " + Quote(resp.body));
    if (!body.is_object()) return Fail(head + ": the body is not a JSON object: " + Quote(resp.body));
    JobOutcome o;
    o.kind = JobOutcome::Kind::kComplete;
    if (ep.output.empty()) {
      o.output_json = resp.body;  // as sent: numbers keep their digits
      return o;
    }
    nlohmann::json out = nlohmann::json::object();
    for (const auto& [field, path] : ep.output) {
      const nlohmann::json* v = path.Find(body);
      if (!v) return Fail(head + ": the body has no " + path.text() + " (output '" + field + "'): " + Quote(resp.body));
      out[field] = *v;
    }
    o.output_json = out.dump();
    return o;
  }

  auto rule = ep.errors.find(static_cast<int>(resp.status));
  if (rule != ep.errors.end()) {
    const ErrorRule& r = rule->second;
    std::string message = head + ": " + Quote(resp.body);
    if (!r.field) return Throw(r.code, message);
    nlohmann::json body = nlohmann::json::parse(resp.body, nullptr, false);
    const nlohmann::json* v = body.is_discarded() ? nullptr : r.field->Find(body);
    if (v) {
      std::string text = AsText(*v);
      for (const auto& [value, code] : r.values)
        if (value == text) return Throw(code, message);
    }
    if (!r.default_code.empty()) return Throw(r.default_code, message);
    std::string what = v ? "its " + r.field->text() + " is '" + AsText(*v) + "', which 'values' does not map"
                         : "the body has no " + r.field->text();
    return Fail(head + " (" + what + "): " + Quote(resp.body));
  }
  return Fail(head + ": " + Quote(resp.body));
}

}  // namespace treaty::webhook
