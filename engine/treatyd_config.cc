#include "engine/treatyd_config.h"

#include <yaml-cpp/yaml.h>

namespace treaty::engine {

bool LoadTreatydConfig(const std::string& path, TreatydOptions* o, std::string* err) {
  try {
    YAML::Node c = YAML::LoadFile(path);
    for (auto it = c.begin(); it != c.end(); ++it) {
      std::string k = it->first.Scalar(), v = it->second.Scalar();
      if (k == "data") o->data = v;
      else if (k == "listen") o->listen = v;
      else if (k == "definitions") o->definitions = v;
      else if (k == "party") o->party = v;
      else if (k == "ledger") o->ledger = v;
      else if (k == "sync") o->sync = v;
      else if (k == "network") o->network = v;
      else if (k == "metrics") o->metrics = v;
      else if (k == "log_format") {
        o->log_format = v;
        o->log_format_from = "log_format in " + path;
      } else if (k == "batch_latency") {
        o->batch_latency = v;
        o->batch_latency_from = "batch_latency in " + path;
      } else if (k == "tls_cert") o->security.tls_cert = v;
      else if (k == "tls_key") o->security.tls_key = v;
      else if (k == "tls_client_ca") o->security.tls_client_ca = v;
      else if (k == "tokens") o->security.tokens = v;
      else if (k == "access") o->security.access = v;
      else if (k == "plaintext") {
        if (v != "true" && v != "false") {
          *err = path + ": plaintext must be true or false, not '" + v + "'";
          return false;
        }
        o->security.plaintext = v == "true";
      } else if (k == "deadline_grace") {
        o->deadline_grace = v;
        o->deadline_grace_from = "deadline_grace in " + path;
      }
      else {
        bool limit = false;
        if (!SetLimit(k, v, &o->limits, &limit, err)) {
          *err = path + ": " + *err;
          return false;
        }
        if (!limit) {
          *err = path + ": unknown setting '" + k + "'";
          return false;
        }
      }
    }
  } catch (const YAML::Exception& e) {
    *err = path + ": " + e.what();
    return false;
  }
  return true;
}

}  // namespace treaty::engine
