#include "definitions/runtime/reference_machine.h"

#include <set>

#include "definitions/canonical.h"
#include "definitions/expr/expr.h"
#include "definitions/runtime/definition_index.h"
#include "definitions/runtime/step_rules.h"

namespace treaty::runtime {
namespace {

struct ParsedStep {
  expr::NodePtr guard;
  std::vector<expr::NodePtr> set;
};

class ReferenceRuntime final : public DefinitionRuntime, public std::enable_shared_from_this<ReferenceRuntime> {
 public:
  explicit ReferenceRuntime(defs::Definition def)
      : def_(std::move(def)), hash_(defs::DefinitionHash(def_)), index_(&def_) {
    for (const auto& s : def_.steps) {
      ParsedStep p;
      if (s.guard) p.guard = expr::Parse(s.guard->text).node;
      for (const auto& a : s.set) p.set.push_back(expr::Parse(a.expr.text).node);
      steps_.push_back(std::move(p));
    }
  }

  const Digest& hash() const override { return hash_; }
  const defs::Definition& model() const override { return def_; }
  const char* kind() const override { return "reference"; }
  std::unique_ptr<Machine> NewMachine(int64_t chain_time_ms) const override;
  Result<std::unique_ptr<Machine>> Restore(const Snapshot& snapshot) const override;

  const DefinitionIndex& index() const { return index_; }
  const ParsedStep& parsed(int i) const { return steps_[i]; }

 private:
  defs::Definition def_;
  Digest hash_;
  DefinitionIndex index_;
  std::vector<ParsedStep> steps_;
};

// Active configuration as the set of active state names (composites
// included); leaves are listed in definition order.
class ReferenceMachine final : public Machine {
 public:
  explicit ReferenceMachine(const ReferenceRuntime* rt) : rt_(rt), data_(Value::Object()), timers_(Value::Object()) {}

  void EnterInitial(int64_t now) {
    for (const auto& s : rt_->model().states)
      if (s.initial) Enter(s);
    for (const auto& name : rt_->index().TimedStates())
      if (active_.count(name)) timers_.Set(name, Value::Int(now));
  }

  Status Load(const Snapshot& snap) {
    for (const auto& path : snap.active_states) {
      auto dot = path.rfind('.');
      std::string leaf = dot == std::string::npos ? path : path.substr(dot + 1);
      const defs::StateInfo* info = rt_->index().State(leaf);
      if (info == nullptr || info->path != path || info->spec->composite())
        return Status::DataLoss("snapshot names state '" + path + "', which process " + rt_->name() + " does not have");
      for (const defs::StateInfo* s = info; s != nullptr; s = s->parent.empty() ? nullptr : rt_->index().State(s->parent))
        active_.insert(s->spec->name);
    }
    data_ = snap.data.is_object() ? snap.data : Value::Object();
    timers_ = snap.timers.is_object() ? snap.timers : Value::Object();
    return Status::Ok();
  }

  ApplyResult Apply(const StepCall& call) override {
    int idx = rt_->index().StepIndex(call.step);
    if (idx < 0)
      return ApplyResult::Reject(RejectCode::kUnknownStep,
                                 "process '" + rt_->name() + "' has no step '" + std::string(call.step) + "'");
    const defs::StepSpec& step = rt_->model().steps[idx];
    const defs::NamedRef* from = nullptr;
    for (const auto& f : step.from)
      if (active_.count(f.name)) {
        from = &f;
        break;
      }
    if (from == nullptr) return ApplyResult::Reject(RejectCode::kNotFromState, NotFromStateReason(step, ActiveStates()));
    const ParsedStep& parsed = rt_->parsed(idx);
    RuleInputs in{&rt_->index(), &step, from->name, &call, &data_, &timers_};
    Value new_data;
    ApplyResult r = EvaluateRules(
        in, [&](const expr::EvalContext& ctx) { return expr::Evaluate(*parsed.guard, ctx); },
        [&](size_t i, const expr::EvalContext& ctx) { return expr::Evaluate(*parsed.set[i], ctx); }, &new_data);
    if (!r.accepted()) return r;
    Exit(*rt_->index().State(from->name)->spec);
    Enter(*rt_->index().State(step.to.name)->spec);
    data_ = std::move(new_data);
    UpdateTimers(rt_->index(), step, ActiveStates(), call.chain_time_ms, &timers_);
    return r;
  }

  std::vector<std::string> ActiveStates() const override {
    std::vector<std::string> out;
    for (const auto& s : rt_->index().States())
      if (!s.spec->composite() && active_.count(s.spec->name)) out.push_back(s.path);
    return out;
  }
  const Value& Data() const override { return data_; }
  const Value& Timers() const override { return timers_; }
  bool IsFinal() const override {
    for (const auto& s : rt_->model().states)
      if (active_.count(s.name)) return s.final;
    return false;
  }
  const DefinitionRuntime& definition() const override { return *rt_; }

 private:
  void Enter(const defs::StateSpec& s) {
    active_.insert(s.name);
    for (const auto& sub : s.states)
      if (sub.initial) Enter(sub);
    for (const auto& region : s.regions)
      for (const auto& sub : region.states)
        if (sub.initial) Enter(sub);
  }
  void Exit(const defs::StateSpec& s) {
    active_.erase(s.name);
    for (const auto& sub : s.states) Exit(sub);
    for (const auto& region : s.regions)
      for (const auto& sub : region.states) Exit(sub);
  }

  const ReferenceRuntime* rt_;
  std::set<std::string, std::less<>> active_;
  Value data_;
  Value timers_;
};

std::unique_ptr<Machine> ReferenceRuntime::NewMachine(int64_t chain_time_ms) const {
  auto m = std::make_unique<ReferenceMachine>(this);
  m->EnterInitial(chain_time_ms);
  return m;
}

Result<std::unique_ptr<Machine>> ReferenceRuntime::Restore(const Snapshot& snapshot) const {
  auto m = std::make_unique<ReferenceMachine>(this);
  TREATY_RETURN_IF_ERROR(m->Load(snapshot));
  return std::unique_ptr<Machine>(std::move(m));
}

}  // namespace

std::shared_ptr<const DefinitionRuntime> MakeReferenceRuntime(defs::Definition def) {
  return std::make_shared<ReferenceRuntime>(std::move(def));
}

}  // namespace treaty::runtime
