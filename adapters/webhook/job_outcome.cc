#include "job_outcome.h"

#include <nlohmann/json.hpp>

namespace treaty::webhook {

namespace {

// The length of the UTF-8 sequence starting at s[i], or 0 when it is not
// one (RFC 3629: no overlong forms, no surrogates, at most U+10FFFF).
size_t Utf8Length(const std::string& s, size_t i) {
  auto at = [&](size_t k) { return static_cast<unsigned char>(s[k]); };
  unsigned char c = at(i);
  if (c < 0x80) return 1;
  size_t n;
  unsigned char lo = 0x80, hi = 0xBF;
  if (c >= 0xC2 && c <= 0xDF) n = 2;
  else if (c >= 0xE0 && c <= 0xEF) {
    n = 3;
    if (c == 0xE0) lo = 0xA0;
    if (c == 0xED) hi = 0x9F;
  } else if (c >= 0xF0 && c <= 0xF4) {
    n = 4;
    if (c == 0xF0) lo = 0x90;
    if (c == 0xF4) hi = 0x8F;
  } else {
    return 0;
  }
  if (i + n > s.size()) return 0;
  if (at(i + 1) < lo || at(i + 1) > hi) return 0;
  for (size_t k = 2; k < n; ++k)
    if (at(i + k) < 0x80 || at(i + k) > 0xBF) return 0;
  return n;
}

std::string Quote(const std::string& body) {
  if (body.empty()) return "(empty body)";
  return MessageText(body, kQuotedBodyBytes);
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

std::string MessageText(const std::string& text, size_t max_bytes) {
  std::string out;
  size_t i = 0;
  while (i < text.size() && out.size() < max_bytes) {
    size_t n = Utf8Length(text, i);
    if (n == 0) {
      static const char* kHex = "0123456789abcdef";
      unsigned char c = static_cast<unsigned char>(text[i]);
      out += std::string("\\x") + kHex[c >> 4] + kHex[c & 15];
      n = 1;
    } else {
      out.append(text, i, n);
    }
    i += n;
  }
  if (i < text.size()) out += "... (" + std::to_string(text.size()) + " bytes)";
  return out;
}

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
