// Registry: the definitions a process can run, by (name, version) and by
// content hash.
//
// Definitions compiled into a binary (treaty_add_definitions) add
// themselves at static-initialisation time (msm_support::RegisterOrReport); modules built by `treatyc build` are loaded
// with LoadModule, which dlopens the file and calls its exported
// `treaty_definition_v1` entry point. A module is never unloaded.
//
// Thread-safety: all methods are safe to call concurrently.
#pragma once

#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "definitions/runtime/machine.h"

namespace treaty::runtime {

class Registry {
 public:
  static Registry& Global();

  // ALREADY_EXISTS when the same (name, version) is present with another
  // hash; adding the identical definition twice is a no-op.
  Status Add(std::shared_ptr<const DefinitionRuntime> def);
  // version 0 means the highest version of that name.
  std::shared_ptr<const DefinitionRuntime> Find(std::string_view name, int64_t version = 0) const;
  std::shared_ptr<const DefinitionRuntime> FindByHash(const Digest& hash) const;
  std::vector<std::shared_ptr<const DefinitionRuntime>> List() const;

  Status LoadModule(const std::string& path);
  // Loads every *.so in `dir` (sorted by name); the first error stops it.
  Status LoadDirectory(const std::string& dir);

 private:
  mutable std::mutex mu_;
  std::vector<std::shared_ptr<const DefinitionRuntime>> defs_;
};

// The C entry point a definition module exports; the object it returns is
// owned by the module and lives as long as the process.
using ModuleEntryFn = const DefinitionRuntime* (*)();
inline constexpr const char* kModuleEntrySymbol = "treaty_definition_v1";

}  // namespace treaty::runtime

namespace treaty::runtime {
// Prints the problem to stderr; registration runs before main, so there is
// no caller to return it to.
void ReportRegistrationFailure(const Status& st);
}  // namespace treaty::runtime
