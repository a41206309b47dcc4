// libFuzzer target: arbitrary bytes as a definition file through the
// loader, validator, canonical form and DOT writer.
#include <cstddef>
#include <cstdint>
#include <string>

#include "definitions/canonical.h"
#include "definitions/dot.h"
#include "definitions/validator.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size > 64 * 1024) return 0;
  std::string text(reinterpret_cast<const char*>(data), size);
  treaty::defs::Diagnostics diags("fuzz.yaml");
  auto def = treaty::defs::CheckText(text, "fuzz.yaml", &diags);
  for (const auto& d : diags.items()) (void)d.ToString();
  if (def) {
    (void)treaty::defs::CanonicalJson(*def);
    (void)treaty::defs::GraphvizDot(*def);
  }
  return 0;
}
