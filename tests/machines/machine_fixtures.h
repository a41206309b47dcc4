// Helpers shared by the machine tests: finding the compiled and reference
// runtimes of a definition, building step calls, and generating random
// (mostly schema-valid) inputs for the differential tests.
#pragma once

#include <memory>
#include <random>
#include <string>
#include <vector>

#include "definitions/runtime/machine.h"

namespace treaty::testing {

// The Boost.MSM runtime linked into the test (registered at start-up).
std::shared_ptr<const runtime::DefinitionRuntime> Compiled(const std::string& process);
// An interpreted runtime of the same model.
std::shared_ptr<const runtime::DefinitionRuntime> Reference(const std::string& process);

Value Json(const std::string& text);

struct Call {
  std::string step;
  std::string party = "p";
  std::vector<std::string> roles;
  Value input = Value::Object();
  int64_t time_ms = 1;
  runtime::StepCall Get() const {
    runtime::StepCall c;
    c.step = step;
    c.party = party;
    c.roles = &roles;
    c.input = &input;
    c.chain_time_ms = time_ms;
    return c;
  }
};

// Random inputs from a field spec; `pool` holds values to reuse so guards
// that compare input with data are sometimes true.
class InputGenerator {
 public:
  explicit InputGenerator(uint64_t seed) : rng_(seed) {}
  Value ForStep(const defs::StepSpec& step, const Value& data);
  Value ForField(const defs::FieldSpec& f, int depth);
  std::mt19937_64& rng() { return rng_; }
  int Uniform(int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng_); }

 private:
  std::mt19937_64 rng_;
  std::vector<Value> pool_;
};

}  // namespace treaty::testing
