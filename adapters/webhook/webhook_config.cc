#include "webhook_config.h"

#include <curl/curl.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <filesystem>
#include <set>

#include "duration.h"

namespace treaty::webhook {

std::string WebhookConfig::Where(const ConfigLoc& loc) const {
  return path + ":" + std::to_string(loc.line) + ":" + std::to_string(loc.column);
}

namespace {

ConfigLoc LocOf(const YAML::Node& n) {
  YAML::Mark m = n.Mark();
  if (m.is_null()) return {};
  return {m.line + 1, m.column + 1};
}

std::string KindOf(const YAML::Node& n) {
  switch (n.Type()) {
    case YAML::NodeType::Map: return "a mapping";
    case YAML::NodeType::Sequence: return "a list";
    case YAML::NodeType::Null: return "an empty value";
    case YAML::NodeType::Scalar: return "'" + n.Scalar() + "'";
    default: return "nothing";
  }
}

// RFC 9110 token characters: what an HTTP header name may contain.
bool HeaderNameOk(const std::string& s) {
  if (s.empty()) return false;
  for (char c : s)
    if (!std::isalnum(static_cast<unsigned char>(c)) && std::string("!#$%&'*+-.^_`|~").find(c) == std::string::npos)
      return false;
  return true;
}

bool HeaderValueOk(const std::string& s) {
  for (char c : s)
    if (c == '\r' || c == '\n' || c == '\0') return false;
  return true;
}

// Business error codes as definitions write them (docs/definitions.md).
bool CodeOk(const std::string& s) {
  if (s.empty()) return false;
  for (char c : s)
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '_' && c != '-' && c != '.') return false;
  return true;
}

class Reader {
 public:
  Reader(WebhookConfig* config, std::vector<std::string>* errors) : c_(config), errors_(errors) {}

  bool failed() const { return failed_; }

  void Error(const YAML::Node& at, const std::string& message) {
    ConfigLoc loc = LocOf(at);
    errors_->push_back((loc.line ? c_->Where(loc) : c_->path) + ": " + message);
    failed_ = true;
  }

  // The entries of a mapping in the order written; an error (and nothing)
  // when `n` is not a non-empty mapping or repeats a key.
  std::vector<std::pair<YAML::Node, YAML::Node>> Entries(const YAML::Node& key, const YAML::Node& n,
                                                         const std::string& what, bool optional = true) {
    std::vector<std::pair<YAML::Node, YAML::Node>> out;
    if (!n.IsMap()) {
      Error(n.IsNull() ? key : n, what + " must be a mapping, not " + KindOf(n));
      return out;
    }
    if (n.size() == 0) {
      Error(n, what + " is an empty mapping" + (optional ? " (leave the key out instead)" : ""));
      return out;
    }
    std::set<std::string> seen;
    for (auto it = n.begin(); it != n.end(); ++it) {
      if (!it->first.IsScalar()) {
        Error(it->first, "a key of " + what + " must be a text, not " + KindOf(it->first));
        continue;
      }
      if (!seen.insert(it->first.Scalar()).second) {
        Error(it->first, "'" + it->first.Scalar() + "' appears twice in " + what);
        continue;
      }
      out.emplace_back(it->first, it->second);
    }
    return out;
  }

  // The text of a scalar value, or nothing with an error naming the key.
  std::optional<std::string> Text(const YAML::Node& key, const YAML::Node& v, const std::string& what,
                                  const std::string& expected) {
    if (!v.IsScalar()) {
      Error(v.IsNull() ? key : v, what + " must be " + expected + ", not " + KindOf(v));
      return std::nullopt;
    }
    return v.Scalar();
  }

  void Top(const YAML::Node& root) {
    if (!root.IsMap()) {
      Error(root, "the config must be a mapping with 'node', 'worker' and 'jobs', not " + KindOf(root));
      return;
    }
    bool have_jobs = false;
    for (const auto& [k, v] : Entries(root, root, "the config", false)) {
      std::string key = k.Scalar();
      if (key == "node") {
        if (auto t = Text(k, v, "'node'", "HOST:PORT (the node's gRPC address)")) Node(v, *t);
      } else if (key == "worker") {
        if (auto t = Text(k, v, "'worker'", "a name")) {
          if (t->empty()) Error(v, "'worker' must be a non-empty name");
          else c_->worker = *t;
        }
      } else if (key == "tls_ca" || key == "tls_cert" || key == "tls_key" || key == "token_file") {
        if (auto t = Text(k, v, "'" + key + "'", "a file")) {
          if (t->empty()) Error(v, "'" + key + "' must name a file");
          else *SecurityField(key) = RelativeToConfig(*t);
        }
      } else if (key == "tls_server_name") {
        if (auto t = Text(k, v, "'tls_server_name'", "a host name")) c_->security.tls_server_name = *t;
      } else if (key == "jobs") {
        have_jobs = true;
        for (const auto& [tk, tv] : Entries(k, v, "'jobs'", false)) Job(tk, tv);
      } else {
        Error(k, "unknown key '" + key +
                     "' (the keys are node, worker, tls_ca, tls_cert, tls_key, tls_server_name, token_file, jobs)");
      }
    }
    if (!have_jobs && !failed_)
      Error(root, "the config has no 'jobs' (a mapping of job types to HTTP endpoints)");
    if (c_->security.tls_cert.empty() != c_->security.tls_key.empty())
      Error(root, "'tls_cert' and 'tls_key' go together (the client certificate and its key)");
  }

  std::string* SecurityField(const std::string& key) {
    NodeSecurity& s = c_->security;
    return key == "tls_ca" ? &s.tls_ca : key == "tls_cert" ? &s.tls_cert : key == "tls_key" ? &s.tls_key : &s.token_file;
  }

  // A file named in the config is found next to the config, wherever the daemon runs.
  std::string RelativeToConfig(const std::string& file) const {
    std::filesystem::path f(file);
    if (f.is_absolute()) return file;
    return (std::filesystem::path(c_->path).parent_path() / f).string();
  }

  void Node(const YAML::Node& v, const std::string& t) {
    size_t colon = t.rfind(':');
    int port = 0;
    bool ok = colon != std::string::npos && colon > 0;
    if (ok) {
      auto [p, ec] = std::from_chars(t.data() + colon + 1, t.data() + t.size(), port);
      ok = ec == std::errc() && p == t.data() + t.size() && port >= 1 && port <= 65535;
    }
    if (!ok) Error(v, "'node' must be HOST:PORT with a port from 1 to 65535, not '" + t + "'");
    else c_->node = t;
  }

  void Job(const YAML::Node& k, const YAML::Node& v) {
    Endpoint ep;
    ep.type = k.Scalar();
    ep.type_loc = LocOf(k);
    std::string what = "job type '" + ep.type + "'";
    if (ep.type.empty()) {
      Error(k, "a job type must be a non-empty name");
      return;
    }
    bool have_url = false;
    for (const auto& [ek, ev] : Entries(k, v, what)) {
      std::string key = ek.Scalar();
      std::string kw = "'" + key + "' of " + what;
      if (key == "url") {
        have_url = true;
        if (auto t = Text(ek, ev, kw, "an http:// or https:// URL")) Url(ev, *t, kw, &ep);
      } else if (key == "method") {
        if (auto t = Text(ek, ev, kw, "POST, PUT or PATCH")) {
          std::string m = *t;
          std::transform(m.begin(), m.end(), m.begin(), [](unsigned char c) { return std::toupper(c); });
          if (m != "POST" && m != "PUT" && m != "PATCH")
            Error(ev, kw + " must be POST, PUT or PATCH (a method with a body), not '" + *t + "'");
          else ep.method = m;
        }
      } else if (key == "headers") {
        for (const auto& [hk, hv] : Entries(ek, ev, kw)) {
          std::string name = hk.Scalar();
          if (!HeaderNameOk(name)) {
            Error(hk, "header name '" + name + "' in " + kw + " is not an HTTP header name");
            continue;
          }
          auto value = Text(hk, hv, "header '" + name + "' in " + kw, "a text");
          if (!value) continue;
          if (!HeaderValueOk(*value)) {
            Error(hv, "header '" + name + "' in " + kw + " has a line break in its value");
            continue;
          }
          ep.headers.emplace_back(name, *value);
        }
      } else if (key == "timeout") {
        if (auto t = Text(ek, ev, kw, "a duration such as 5s or 500ms")) {
          auto ms = ParseDuration(*t);
          if (!ms || *ms <= 0)
            Error(ev, kw + " must be a duration more than zero such as 5s, 500ms or 1m30s, not '" + *t + "'");
          else ep.timeout_ms = *ms;
        }
      } else if (key == "concurrency") {
        if (auto t = Text(ek, ev, kw, "a whole number from 1 to " + std::to_string(kMaxConcurrency))) {
          int n = 0;
          auto [p, ec] = std::from_chars(t->data(), t->data() + t->size(), n);
          if (t->empty() || ec != std::errc() || p != t->data() + t->size() || n < 1 || n > kMaxConcurrency)
            Error(ev, kw + " must be a whole number from 1 to " + std::to_string(kMaxConcurrency) + ", not '" + *t +
                          "'");
          else ep.concurrency = n;
        }
      } else if (key == "body") {
        if (auto t = Text(ek, ev, kw, "variables or envelope")) {
          if (*t == "variables") ep.body = BodyShape::kVariables;
          else if (*t == "envelope") ep.body = BodyShape::kEnvelope;
          else Error(ev, kw + " must be variables or envelope, not '" + *t + "'");
        }
      } else if (key == "output") {
        for (const auto& [ok, ov] : Entries(ek, ev, kw)) {
          std::string field = ok.Scalar();
          auto t = Text(ok, ov, "output '" + field + "' of " + what, "a path in the response such as $.result.score");
          if (!t) continue;
          std::string why;
          auto path = JsonPath::Parse(*t, &why);
          if (!path) {
            Error(ov, "output '" + field + "' of " + what + ": the path '" + *t + "' " + why);
            continue;
          }
          ep.output.emplace_back(field, std::move(*path));
          ep.output_locs.push_back(LocOf(ok));
        }
      } else if (key == "errors") {
        for (const auto& [sk, sv] : Entries(ek, ev, kw)) ErrorEntry(sk, sv, what, &ep);
      } else {
        Error(ek, "unknown key '" + key + "' in " + what +
                      " (the keys are url, method, headers, timeout, concurrency, body, output, errors)");
      }
    }
    if (!have_url && v.IsMap() && v.size() > 0) Error(k, what + " needs 'url'");
    c_->endpoints.push_back(std::move(ep));
  }

  // libcurl's URL parser decides what a URL is; only http and https with a
  // host are taken.
  void Url(const YAML::Node& v, const std::string& t, const std::string& kw, Endpoint* ep) {
    CURLU* u = curl_url();
    CURLUcode rc = curl_url_set(u, CURLUPART_URL, t.c_str(), 0);
    if (rc != CURLUE_OK) {
      Error(v, kw + " is not a valid URL: '" + t + "' (" + curl_url_strerror(rc) + ")");
      curl_url_cleanup(u);
      return;
    }
    char* scheme = nullptr;
    char* host = nullptr;
    curl_url_get(u, CURLUPART_SCHEME, &scheme, 0);
    curl_url_get(u, CURLUPART_HOST, &host, 0);
    std::string s = scheme ? scheme : "";
    if (s != "http" && s != "https")
      Error(v, kw + " must be an http:// or https:// URL, not '" + t + "' (scheme " + s + ")");
    else if (!host || !*host)
      Error(v, kw + " has no host: '" + t + "'");
    else
      ep->url = t;
    curl_free(scheme);
    curl_free(host);
    curl_url_cleanup(u);
  }

  std::optional<std::string> Code(const YAML::Node& k, const YAML::Node& v, const std::string& what) {
    auto t = Text(k, v, what, "a business error code");
    if (!t) return std::nullopt;
    if (!CodeOk(*t)) {
      Error(v, what + " must be a business error code (letters, digits, '_', '-', '.'), not '" + *t + "'");
      return std::nullopt;
    }
    return t;
  }

  // `404: NO_FILE` or `422: { field: PATH, values: { BODY_VALUE: CODE }, default: CODE }`.
  void ErrorEntry(const YAML::Node& sk, const YAML::Node& sv, const std::string& what, Endpoint* ep) {
    const std::string& s = sk.Scalar();
    int status = 0;
    auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), status);
    if (s.empty() || ec != std::errc() || p != s.data() + s.size() || status < 400 || status > 499) {
      Error(sk, "'errors' of " + what + " maps HTTP statuses from 400 to 499, not '" + s +
                    "' (other failures are retried: docs/webhook.md)");
      return;
    }
    ErrorRule rule;
    rule.status = status;
    std::string ew = "errors." + s + " of " + what;
    if (sv.IsScalar()) {
      if (auto code = Code(sk, sv, ew)) {
        rule.code = *code;
        rule.code_locs.emplace_back(*code, LocOf(sv));
      } else {
        return;
      }
    } else if (sv.IsMap()) {
      bool have_values = false;
      for (const auto& [rk, rv] : Entries(sk, sv, ew)) {
        std::string key = rk.Scalar();
        if (key == "field") {
          auto t = Text(rk, rv, "'field' of " + ew, "a path in the response body such as $.code");
          if (!t) continue;
          std::string why;
          auto path = JsonPath::Parse(*t, &why);
          if (!path) Error(rv, "'field' of " + ew + ": the path '" + *t + "' " + why);
          else rule.field = std::move(*path);
        } else if (key == "values") {
          have_values = true;
          for (const auto& [vk, vv] : Entries(rk, rv, "'values' of " + ew)) {
            if (auto code = Code(vk, vv, "value '" + vk.Scalar() + "' in 'values' of " + ew)) {
              rule.values.emplace_back(vk.Scalar(), *code);
              rule.code_locs.emplace_back(*code, LocOf(vv));
            }
          }
        } else if (key == "default") {
          if (auto code = Code(rk, rv, "'default' of " + ew)) {
            rule.default_code = *code;
            rule.code_locs.emplace_back(*code, LocOf(rv));
          }
        } else {
          Error(rk, "unknown key '" + key + "' in " + ew + " (the keys are field, values, default)");
        }
      }
      bool has_field_key = sv["field"].IsDefined();
      if (!has_field_key && sv.size() > 0) Error(sk, ew + " needs 'field' (the body's field holding the code)");
      if (has_field_key && !have_values && rule.default_code.empty())
        Error(sk, ew + " needs 'values' or 'default'");
    } else {
      Error(sv.IsNull() ? sk : sv, ew + " must be a business error code or a mapping with field and values, not " +
                                       KindOf(sv));
      return;
    }
    ep->errors[status] = std::move(rule);
  }

 private:
  WebhookConfig* c_;
  std::vector<std::string>* errors_;
  bool failed_ = false;
};

}  // namespace

std::optional<WebhookConfig> LoadWebhookConfig(const std::string& path, std::vector<std::string>* errors) {
  WebhookConfig config;
  config.path = path;
  YAML::Node root;
  try {
    root = YAML::LoadFile(path);
  } catch (const YAML::BadFile&) {
    errors->push_back(path + ": cannot read the file");
    return std::nullopt;
  } catch (const YAML::ParserException& e) {
    errors->push_back(path + ":" + std::to_string(e.mark.line + 1) + ":" + std::to_string(e.mark.column + 1) + ": " +
                      e.msg);
    return std::nullopt;
  }
  Reader r(&config, errors);
  r.Top(root);
  if (r.failed()) return std::nullopt;
  return config;
}

}  // namespace treaty::webhook
