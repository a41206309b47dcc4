// treatyc: the Treaty definition compiler.
//
//   treatyc check FILE...            validate; one FILE:LINE:COL: error: line per problem
//   treatyc compile FILE -o OUT.h    emit the Boost.MSM machine as C++
//           [--registration OUT.cc]  and a unit registering it at start-up
//   treatyc graph FILE [-o OUT.dot]  Graphviz DOT of states and steps
//   treatyc describe FILE            name, version, hash, roles, states, steps
//   treatyc build FILE -o OUT.so     a loadable definition module for treatyd
//
// Exit codes: 0 success, 1 invalid definition or failed build, 2 usage.
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>
#include <vector>

#include "definitions/canonical.h"
#include "definitions/codegen/msm_emitter.h"
#include "definitions/dot.h"
#include "definitions/validator.h"

namespace {

using treaty::defs::Definition;
using treaty::defs::Diagnostics;

constexpr const char* kUsage =
    "usage: treatyc check FILE...\n"
    "       treatyc compile FILE -o OUT.h [--registration OUT.cc]\n"
    "       treatyc graph FILE [-o OUT.dot]\n"
    "       treatyc describe FILE\n"
    "       treatyc build FILE -o OUT.so\n";

int Usage(const std::string& why) {
  if (!why.empty()) std::cerr << "treatyc: " << why << "\n";
  std::cerr << kUsage;
  return 2;
}

void Print(const Diagnostics& d) {
  for (const auto& item : d.items()) std::cerr << item.ToString() << "\n";
}

// Loads and validates; prints problems. nullopt when invalid.
std::optional<Definition> Load(const std::string& file) {
  Diagnostics diags(file);
  auto def = treaty::defs::CheckFile(file, &diags);
  Print(diags);
  if (!diags.empty()) return std::nullopt;
  return def;
}

bool WriteFile(const std::string& path, const std::string& text) {
  std::ofstream f(path, std::ios::binary | std::ios::trunc);
  f << text;
  f.close();
  if (!f) {
    std::cerr << "treatyc: cannot write " << path << "\n";
    return false;
  }
  return true;
}

struct Args {
  std::vector<std::string> files;
  std::string out;
  std::string registration;
};

bool ParseArgs(int argc, char** argv, int first, Args* a, std::string* err) {
  for (int i = first; i < argc; ++i) {
    std::string s = argv[i];
    if (s == "-o" || s == "--output" || s == "--registration") {
      if (i + 1 >= argc) {
        *err = s + " needs a value";
        return false;
      }
      (s == "--registration" ? a->registration : a->out) = argv[++i];
    } else if (!s.empty() && s[0] == '-') {
      *err = "unknown option " + s;
      return false;
    } else {
      a->files.push_back(s);
    }
  }
  return true;
}

int Check(const Args& a) {
  if (a.files.empty()) return Usage("check needs at least one FILE");
  int rc = 0;
  for (const auto& f : a.files)
    if (!Load(f)) rc = 1;
  return rc;
}

// Loads, validates and emits the machine; prints problems.
std::optional<treaty::codegen::EmitResult> Emit(const std::string& file) {
  auto def = Load(file);
  if (!def) return std::nullopt;
  treaty::codegen::EmitResult r;
  Diagnostics diags(file);
  if (!treaty::codegen::EmitMsm(*def, std::filesystem::path(file).filename().string(), &r, &diags)) {
    Print(diags);
    return std::nullopt;
  }
  return r;
}

int Compile(const Args& a) {
  if (a.files.size() != 1 || a.out.empty()) return Usage("compile needs one FILE and -o OUT.h");
  auto emitted = Emit(a.files[0]);
  if (!emitted) return 1;
  const treaty::codegen::EmitResult& r = *emitted;
  if (!WriteFile(a.out, r.header)) return 1;
  if (!a.registration.empty()) {
    std::string include = std::filesystem::absolute(a.out).string();
    if (!WriteFile(a.registration, treaty::codegen::EmitRegistrationUnit(include, r.ns))) return 1;
  }
  return 0;
}

int Graph(const Args& a) {
  if (a.files.size() != 1) return Usage("graph needs one FILE");
  auto def = Load(a.files[0]);
  if (!def) return 1;
  std::string dot = treaty::defs::GraphvizDot(*def);
  if (a.out.empty()) {
    std::cout << dot;
    return 0;
  }
  return WriteFile(a.out, dot) ? 0 : 1;
}

void DescribeStates(const std::vector<treaty::defs::StateSpec>& states, int depth) {
  for (const auto& s : states) {
    std::cout << std::string(2 + depth * 2, ' ') << s.name;
    if (s.initial) std::cout << " (initial)";
    if (s.final) std::cout << " (final)";
    if (s.deadline_after_ms) std::cout << " (deadline " << *s.deadline_after_ms << " ms -> " << s.deadline_step << ")";
    if (!s.regions.empty()) std::cout << " (parallel)";
    std::cout << "\n";
    DescribeStates(s.states, depth + 1);
    for (const auto& r : s.regions) {
      std::cout << std::string(4 + depth * 2, ' ') << "region " << r.name << ":\n";
      DescribeStates(r.states, depth + 2);
    }
  }
}

int Describe(const Args& a) {
  if (a.files.size() != 1) return Usage("describe needs one FILE");
  auto def = Load(a.files[0]);
  if (!def) return 1;
  std::cout << "process  " << def->process << "\nversion  " << def->version << "\nsha256   "
            << treaty::ToHex(treaty::defs::DefinitionHash(*def)) << "\nroles   ";
  for (const auto& r : def->roles) std::cout << " " << r.name;
  std::cout << "\ndata\n";
  for (const auto& f : def->data) {
    std::cout << "  " << f.name << ": " << treaty::defs::FieldTypeName(f.type);
    if (f.unique) std::cout << " (unique)";
    if (!f.visible_to.empty()) {
      std::cout << " (visible to";
      for (const auto& r : f.visible_to) std::cout << " " << r;
      std::cout << ")";
    }
    std::cout << "\n";
  }
  std::cout << "states\n";
  DescribeStates(def->states, 0);
  std::cout << "steps\n";
  for (const auto& s : def->steps) {
    std::cout << "  " << s.name << ": ";
    for (size_t i = 0; i < s.from.size(); ++i) std::cout << (i ? "|" : "") << s.from[i].name;
    std::cout << " -> " << s.to.name << " by ";
    for (size_t i = 0; i < s.by.size(); ++i) std::cout << (i ? "|" : "") << s.by[i].name;
    if (s.guard) std::cout << " if " << s.guard->text;
    if (s.task && !s.task->human_queue.empty()) std::cout << ", human task in queue " << s.task->human_queue;
    if (s.task && !s.task->job_type.empty()) std::cout << ", job of type " << s.task->job_type;
    std::cout << "\n";
  }
  return 0;
}

std::string EnvOr(const char* name, const char* fallback) {
  const char* v = std::getenv(name);
  return v != nullptr && *v != '\0' ? v : fallback;
}

int Build(const Args& a) {
  if (a.files.size() != 1 || a.out.empty()) return Usage("build needs one FILE and -o OUT.so");
  auto emitted = Emit(a.files[0]);
  if (!emitted) return 1;
  const treaty::codegen::EmitResult& r = *emitted;
  std::error_code ec;
  auto dir = std::filesystem::temp_directory_path() / ("treatyc-" + std::to_string(getpid()));
  std::filesystem::create_directories(dir, ec);
  std::string header = (dir / "machine.h").string(), unit = (dir / "module.cc").string();
  if (!WriteFile(header, r.header) || !WriteFile(unit, treaty::codegen::EmitModuleUnit(header, r.ns))) return 1;
  // The machine compiles as C++17: Boost 1.74's MSM is not valid C++20.
  std::string cmd = EnvOr("CXX", TREATY_CXX_COMPILER) + " -std=c++17 -O2 -fPIC -shared -fvisibility=hidden " +
                    TREATY_MSM_FLAGS + " -I" + EnvOr("TREATY_INCLUDE_DIR", TREATY_SOURCE_DIR) + " " + unit + " " +
                    EnvOr("TREATY_LIBRARY", TREATY_LIBRARY_FILE) +
                    " -Wl,--exclude-libs,ALL -lyaml-cpp -lcrypto -ldl -o " + a.out;
  int status = std::system(cmd.c_str());
  std::filesystem::remove_all(dir, ec);
  if (status != 0) {
    std::cerr << "treatyc: compiling the module failed: " << cmd << "\n";
    return 1;
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) return Usage("");
  std::string cmd = argv[1];
  if (cmd == "-h" || cmd == "--help" || cmd == "help") {
    std::cout << kUsage;
    return 0;
  }
  Args a;
  std::string err;
  if (!ParseArgs(argc, argv, 2, &a, &err)) return Usage(err);
  if (cmd == "check") return Check(a);
  if (cmd == "compile") return Compile(a);
  if (cmd == "graph") return Graph(a);
  if (cmd == "describe") return Describe(a);
  if (cmd == "build") return Build(a);
  return Usage("unknown command '" + cmd + "'");
}
