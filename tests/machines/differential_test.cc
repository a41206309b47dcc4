// Differential test: thousands of random step sequences applied to the
// compiled Boost.MSM machine and to the reference machine interpreted from
// the parsed graph. Outcomes, reasons, states, data and state hashes must
// be identical after every step.
#include <gtest/gtest.h>

#include <set>

#include "machine_fixtures.h"

namespace treaty::testing {
namespace {

struct Tally {
  int accepted = 0;
  int rejected = 0;
  std::map<runtime::RejectCode, int> by_code;
};

// Steps whose `from` names an active state or one of its ancestors.
std::vector<const defs::StepSpec*> EnabledSteps(const defs::Definition& model, const std::vector<std::string>& active) {
  std::set<std::string> names;
  for (const auto& path : active) {
    size_t start = 0;
    for (size_t dot; (dot = path.find('.', start)) != std::string::npos; start = dot + 1)
      names.insert(path.substr(start, dot - start));
    names.insert(path.substr(start));
  }
  std::vector<const defs::StepSpec*> out;
  for (const auto& s : model.steps)
    for (const auto& f : s.from)
      if (names.count(f.name)) {
        out.push_back(&s);
        break;
      }
  return out;
}

Tally RunSequences(const std::string& process, uint64_t seed, int sequences, int max_len) {
  Tally t;
  auto compiled = Compiled(process);
  auto reference = Reference(process);
  if (!compiled || !reference) return t;
  EXPECT_EQ(compiled->hash(), reference->hash());
  const auto& model = compiled->model();
  InputGenerator gen(seed);
  for (int s = 0; s < sequences; ++s) {
    int64_t now = gen.Uniform(0, 1000);
    auto a = compiled->NewMachine(now);
    auto b = reference->NewMachine(now);
    int len = gen.Uniform(1, max_len);
    for (int i = 0; i < len; ++i) {
      Call c;
      // Mostly steps that leave an active state (so sequences go deep),
      // else any step of the definition, sometimes one it does not have.
      std::vector<const defs::StepSpec*> enabled = EnabledSteps(model, a->ActiveStates());
      const defs::StepSpec* chosen = nullptr;
      if (!enabled.empty() && gen.Uniform(0, 9) < 7) {
        chosen = enabled[gen.Uniform(0, static_cast<int>(enabled.size()) - 1)];
      } else if (gen.Uniform(0, 30) != 0) {
        chosen = &model.steps[gen.Uniform(0, static_cast<int>(model.steps.size()) - 1)];
      }
      c.step = chosen ? chosen->name : "no_such_step";
      // Usually a role the step allows; else zero, one or two random roles.
      if (chosen && gen.Uniform(0, 9) < 8) {
        c.roles.push_back(chosen->by[gen.Uniform(0, static_cast<int>(chosen->by.size()) - 1)].name);
      } else {
        int nroles = gen.Uniform(0, 6) == 0 ? 0 : gen.Uniform(1, 2);
        for (int r = 0; r < nroles; ++r)
          c.roles.push_back(model.roles[gen.Uniform(0, static_cast<int>(model.roles.size()) - 1)].name);
      }
      c.party = "party-" + std::to_string(gen.Uniform(0, 3));
      if (const auto* step = model.FindStep(c.step)) c.input = gen.ForStep(*step, a->Data());
      now += gen.Uniform(0, 10) == 0 ? gen.Uniform(0, 40) * 24LL * 3600 * 1000 : gen.Uniform(0, 5000);
      c.time_ms = now;
      auto ra = a->Apply(c.Get());
      auto rb = b->Apply(c.Get());
      SCOPED_TRACE(process + " seed " + std::to_string(seed) + " sequence " + std::to_string(s) + " step " +
                   std::to_string(i) + ": " + c.step + " " + c.input.ToCanonicalJson());
      EXPECT_EQ(ra.code, rb.code) << ra.reason << " | " << rb.reason;
      EXPECT_EQ(ra.reason, rb.reason);
      EXPECT_EQ(a->ActiveStates(), b->ActiveStates());
      EXPECT_EQ(a->Data().ToCanonicalJson(), b->Data().ToCanonicalJson());
      EXPECT_EQ(a->Timers().ToCanonicalJson(), b->Timers().ToCanonicalJson());
      EXPECT_EQ(a->IsFinal(), b->IsFinal());
      EXPECT_EQ(a->StateHash(), b->StateHash());
      if (::testing::Test::HasFailure()) return t;
      if (ra.accepted()) {
        ++t.accepted;
      } else {
        ++t.rejected;
        ++t.by_code[ra.code];
      }
      if (a->IsFinal()) break;
    }
  }
  return t;
}

// The generator must reach deep into each machine, or agreement proves
// little: every outcome class and many acceptances must occur.
void ExpectCoverage(Tally t, int min_accepted) {
  EXPECT_GE(t.accepted, min_accepted);
  for (auto code : {runtime::RejectCode::kUnknownStep, runtime::RejectCode::kNotFromState,
                    runtime::RejectCode::kWrongRole, runtime::RejectCode::kInvalidInput,
                    runtime::RejectCode::kGuardFalse})
    EXPECT_GT(t.by_code[code], 0) << "no " << runtime::RejectCodeName(code) << " outcome was exercised";
}

TEST(Differential, PurchaseOrder) {
  Tally t = RunSequences("purchase-order", 11, 1500, 12);
  ExpectCoverage(t, 1000);
}

TEST(Differential, InsuranceClaim) {
  Tally t = RunSequences("insurance-claim", 12, 1500, 30);
  ExpectCoverage(t, 1000);
}

TEST(Differential, LetterOfCredit) {
  Tally t = RunSequences("letter-of-credit", 13, 1500, 60);
  ExpectCoverage(t, 1000);
}

}  // namespace
}  // namespace treaty::testing
