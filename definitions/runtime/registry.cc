#include "definitions/runtime/registry.h"

#include <dlfcn.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>

namespace treaty::runtime {

Registry& Registry::Global() {
  static Registry* r = new Registry();  // never destroyed: used from static initialisers
  return *r;
}

void ReportRegistrationFailure(const Status& st) {
  std::fprintf(stderr, "treaty: definition registration failed: %s\n", st.ToString().c_str());
}

Status Registry::Add(std::shared_ptr<const DefinitionRuntime> def) {
  std::lock_guard<std::mutex> lock(mu_);
  for (const auto& d : defs_) {
    if (d->name() == def->name() && d->version() == def->version()) {
      if (d->hash() == def->hash()) return Status::Ok();
      return Status::AlreadyExists("definition " + def->name() + " version " + std::to_string(def->version()) +
                                   " is already loaded with hash " + ToHex(d->hash()) + "; refusing hash " +
                                   ToHex(def->hash()));
    }
  }
  defs_.push_back(std::move(def));
  return Status::Ok();
}

std::shared_ptr<const DefinitionRuntime> Registry::Find(std::string_view name, int64_t version) const {
  std::lock_guard<std::mutex> lock(mu_);
  std::shared_ptr<const DefinitionRuntime> best;
  for (const auto& d : defs_) {
    if (d->name() != name) continue;
    if (version != 0) {
      if (d->version() == version) return d;
    } else if (!best || d->version() > best->version()) {
      best = d;
    }
  }
  return best;
}

std::shared_ptr<const DefinitionRuntime> Registry::FindByHash(const Digest& hash) const {
  std::lock_guard<std::mutex> lock(mu_);
  for (const auto& d : defs_)
    if (d->hash() == hash) return d;
  return nullptr;
}

std::vector<std::shared_ptr<const DefinitionRuntime>> Registry::List() const {
  std::lock_guard<std::mutex> lock(mu_);
  auto out = defs_;
  std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) {
    return a->name() != b->name() ? a->name() < b->name() : a->version() < b->version();
  });
  return out;
}

Status Registry::LoadModule(const std::string& path) {
  // RTLD_LOCAL: a module carries its own copy of the runtime and exports
  // only its entry point, so modules cannot clash with each other.
  void* handle = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (handle == nullptr) return Status::InvalidArgument("cannot load definition module " + path + ": " + dlerror());
  auto entry = reinterpret_cast<ModuleEntryFn>(dlsym(handle, kModuleEntrySymbol));
  if (entry == nullptr)
    return Status::InvalidArgument("definition module " + path + " has no " + kModuleEntrySymbol +
                                   " entry point (was it built by `treatyc build`?)");
  const DefinitionRuntime* def = entry();
  if (def == nullptr) return Status::InvalidArgument("definition module " + path + " failed to initialise");
  // The module keeps the object alive for the life of the process.
  return Add(std::shared_ptr<const DefinitionRuntime>(def, [](const DefinitionRuntime*) {}));
}

Status Registry::LoadDirectory(const std::string& dir) {
  std::error_code ec;
  std::vector<std::string> files;
  for (const auto& e : std::filesystem::directory_iterator(dir, ec))
    if (e.is_regular_file() && e.path().extension() == ".so") files.push_back(e.path().string());
  if (ec) return Status::NotFound("cannot read definitions folder " + dir + ": " + ec.message());
  std::sort(files.begin(), files.end());
  for (const auto& f : files) TREATY_RETURN_IF_ERROR(LoadModule(f));
  return Status::Ok();
}

}  // namespace treaty::runtime
