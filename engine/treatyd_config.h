// TreatydOptions: treatyd's settings, from its flags and its --config
// YAML file (the same settings under the same names; flags given after the
// file win). docs/node.md lists them.
//
// Thread-safety: plain values; LoadTreatydConfig touches only its output.
#pragma once

#include <optional>
#include <string>

#include "engine/access/server_security.h"
#include "engine/limits.h"

namespace treaty::engine {

struct TreatydOptions {
  std::string data;
  std::string listen = "127.0.0.1:7420";
  std::string definitions;
  std::string party = "node";
  std::string ledger = "local";
  std::string config;
  std::string sync = "full";
  std::string network;  // a multi-party network file
  std::optional<std::string> batch_latency;  // ms; unset: NodeOptions' default
  std::string batch_latency_from = "--batch-latency";  // for the error message
  std::optional<std::string> deadline_grace;  // ms; unset: NodeOptions' default
  std::string deadline_grace_from = "--deadline-grace";
  Limits limits;  // docs/limits.md
  access::SecurityOptions security;
  std::string metrics;  // HOST:PORT of the metrics endpoint; empty: none
  std::string log_format = "text";
  std::string log_format_from = "--log-format";
};

// Reads the config file at `path` into `o`; false with `err` naming the
// file and the setting when a key is unknown or a value is wrong.
bool LoadTreatydConfig(const std::string& path, TreatydOptions* o, std::string* err);

}  // namespace treaty::engine
