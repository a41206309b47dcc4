#include "job_request.h"

#include <algorithm>
#include <cctype>

#include <nlohmann/json.hpp>

namespace treaty::webhook {

namespace {

bool SameName(const std::string& a, const std::string& b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) == std::tolower(static_cast<unsigned char>(y));
         });
}

}  // namespace

HttpRequest BuildJobRequest(const Endpoint& ep, const ::treaty::v1::Job& job) {
  HttpRequest req;
  req.method = ep.method;
  req.url = ep.url;
  req.timeout_ms = ep.timeout_ms;
  // The node sends the variables as JSON text; they are passed on as they
  // came, so numbers keep their exact digits.
  std::string variables = job.variables_json().empty() ? "{}" : job.variables_json();
  if (ep.body == BodyShape::kVariables) {
    req.body = variables;
  } else {
    nlohmann::json j = {{"key", job.key()},
                        {"type", job.type()},
                        {"instance_id", job.instance_id()},
                        {"definition", job.definition()},
                        {"version", job.version()},
                        {"step", job.step()},
                        {"retries", job.retries()},
                        {"deadline_ms", job.deadline_ms()},
                        {"headers", nlohmann::json::object()}};
    for (const auto& [k, v] : job.headers()) j["headers"][k] = v;
    req.body = "{\"job\":" + j.dump() + ",\"variables\":" + variables + "}";
  }
  std::vector<std::pair<std::string, std::string>> defaults = {
      {"Content-Type", "application/json"},
      {"Accept", "application/json"},
      {"Treaty-Job-Key", job.key()},
      {"Treaty-Job-Type", job.type()},
      {"Treaty-Instance", job.instance_id()},
      {"Treaty-Definition", job.definition()},
      {"Treaty-Step", job.step()},
      {"Treaty-Retries", std::to_string(job.retries())},
  };
  for (const auto& d : defaults) {
    bool overridden = std::any_of(ep.headers.begin(), ep.headers.end(),
                                  [&](const auto& h) { return SameName(h.first, d.first); });
    if (!overridden) req.headers.push_back(d);
  }
  req.headers.insert(req.headers.end(), ep.headers.begin(), ep.headers.end());
  return req;
}

}  // namespace treaty::webhook
