// Checks a webhook config against the definitions loaded on the node
// (their canonical JSON from Definitions.GetDefinition): every configured
// job type is the type of a job step in some loaded definition, every
// mapped output field is an input field of such a step, and every error
// code is in such a step's `errors`. A type, field or code no loaded
// definition knows would only ever fail jobs or raise incidents, so it is
// refused at start.
//
// Thread-safety: pure function.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "webhook_config.h"

namespace treaty::webhook {

struct LoadedDefinition {
  std::string name;
  int64_t version = 0;
  std::string canonical_json;
};

struct DefinitionCheck {
  std::vector<std::string> errors;    // "FILE:LINE:COL: message"
  std::vector<std::string> warnings;  // for the log
};

DefinitionCheck CheckAgainstDefinitions(const WebhookConfig& config, const std::vector<LoadedDefinition>& defs);

}  // namespace treaty::webhook
