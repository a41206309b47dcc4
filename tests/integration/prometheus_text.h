// Test helpers for the metrics endpoint: fetches http://127.0.0.1:PORT/metrics
// with cpp-httplib's client and reads the Prometheus text exposition format
// (version 0.0.4) into samples, so tests compare what a Prometheus server
// would record. Finds the port a treatyd logged ("metrics on http://...").
//
// Thread-safety: plain functions and values.
#pragma once

#include <httplib.h>

#include <map>
#include <optional>
#include <regex>
#include <string>
#include <vector>

namespace treaty::testing {

struct PromSample {
  std::string name;
  std::map<std::string, std::string> labels;
  double value = 0;
};

class PromText {
 public:
  // Parses the exposition; a malformed line makes ok() false (and names it).
  explicit PromText(const std::string& text) {
    size_t pos = 0;
    while (pos < text.size()) {
      size_t nl = text.find('\n', pos);
      std::string line = text.substr(pos, nl == std::string::npos ? std::string::npos : nl - pos);
      pos = nl == std::string::npos ? text.size() : nl + 1;
      if (line.empty() || line[0] == '#') continue;
      if (!ParseLine(line)) {
        error_ = "malformed line: " + line;
        return;
      }
    }
  }
  bool ok() const { return error_.empty(); }
  const std::string& error() const { return error_; }
  const std::vector<PromSample>& samples() const { return samples_; }

  // The sum of `name`'s samples whose labels include `with`.
  double Sum(const std::string& name, const std::map<std::string, std::string>& with = {}) const {
    double sum = 0;
    for (const auto& s : samples_)
      if (s.name == name && Has(s, with)) sum += s.value;
    return sum;
  }
  // The one sample of `name` with exactly these labels.
  std::optional<double> Get(const std::string& name, const std::map<std::string, std::string>& labels = {}) const {
    for (const auto& s : samples_)
      if (s.name == name && s.labels == labels) return s.value;
    return std::nullopt;
  }

 private:
  static bool Has(const PromSample& s, const std::map<std::string, std::string>& with) {
    for (const auto& [k, v] : with) {
      auto it = s.labels.find(k);
      if (it == s.labels.end() || it->second != v) return false;
    }
    return true;
  }
  bool ParseLine(const std::string& line) {
    PromSample s;
    size_t i = 0;
    while (i < line.size() && line[i] != '{' && line[i] != ' ') s.name += line[i++];
    if (s.name.empty() || i == line.size()) return false;
    if (line[i] == '{') {
      ++i;
      while (i < line.size() && line[i] != '}') {
        size_t eq = line.find('=', i);
        if (eq == std::string::npos || eq + 1 >= line.size() || line[eq + 1] != '"') return false;
        std::string key = line.substr(i, eq - i), value;
        i = eq + 2;
        while (i < line.size() && line[i] != '"') {
          if (line[i] == '\\' && i + 1 < line.size()) {
            ++i;
            value += line[i] == 'n' ? '\n' : line[i];
          } else {
            value += line[i];
          }
          ++i;
        }
        if (i == line.size()) return false;
        ++i;  // the closing quote
        s.labels[key] = value;
        if (i < line.size() && line[i] == ',') ++i;
      }
      if (i == line.size()) return false;
      ++i;  // '}'
    }
    while (i < line.size() && line[i] == ' ') ++i;
    size_t end = line.find(' ', i);  // a timestamp may follow
    std::string v = line.substr(i, end == std::string::npos ? std::string::npos : end - i);
    try {
      size_t used = 0;
      s.value = v == "+Inf" ? 1e300 : std::stod(v, &used);
      if (v != "+Inf" && used != v.size()) return false;
    } catch (...) {
      return false;
    }
    samples_.push_back(std::move(s));
    return true;
  }
  std::vector<PromSample> samples_;
  std::string error_;
};

// GET /metrics; nullopt unless 200 with the Prometheus content type.
inline std::optional<std::string> ScrapeMetrics(int port) {
  httplib::Client cli("127.0.0.1", port);
  cli.set_connection_timeout(2);
  cli.set_read_timeout(5);
  auto r = cli.Get("/metrics");
  if (!r || r->status != 200) return std::nullopt;
  if (r->get_header_value("Content-Type").rfind("text/plain", 0) != 0) return std::nullopt;
  return r->body;
}

// The port in a treatyd's "metrics on http://HOST:PORT/metrics" line; 0 if none.
inline int LoggedMetricsPort(const std::string& log) {
  std::smatch m;
  static const std::regex kLine("metrics on http://[^:/]+:([0-9]+)/metrics");
  if (!std::regex_search(log, m, kLine)) return 0;
  return std::stoi(m[1].str());
}

}  // namespace treaty::testing
