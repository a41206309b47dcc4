// libFuzzer target: arbitrary bytes as a definition file through the
// loader, the validator, the canonical form and the DOT writer. Besides
// crashes, sanitizer reports and hangs, it fails when a definition that
// loads has a canonical JSON that does not load back to the same JSON.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

#include "definitions/canonical.h"
#include "definitions/dot.h"
#include "definitions/loader.h"
#include "definitions/validator.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size > 64 * 1024) return 0;
  std::string text(reinterpret_cast<const char*>(data), size);
  treaty::defs::Diagnostics diags("fuzz.yaml");
  auto def = treaty::defs::ParseDefinition(text, "fuzz.yaml", &diags);
  if (!def) {
    if (diags.empty()) abort();  // a refusal always says why
    return 0;
  }
  treaty::defs::Validate(*def, &diags);
  diags.Sort();
  for (const auto& d : diags.items())
    if (d.loc.line < 1 || d.loc.col < 1 || d.ToString().empty()) abort();
  std::string json = treaty::defs::CanonicalJson(*def);
  (void)treaty::defs::DefinitionHash(*def);
  (void)treaty::defs::GraphvizDot(*def);
  treaty::defs::Diagnostics back_diags("canonical.json");
  auto back = treaty::defs::ParseDefinition(json, "canonical.json", &back_diags);
  if (!back || treaty::defs::CanonicalJson(*back) != json) abort();
  return 0;
}
