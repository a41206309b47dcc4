// Support code for the Boost.MSM machines that treatyc generates: the
// event payload, the rule functor body, state restoration through the
// back-end's serialize(), and the templates that adapt a generated machine
// to the Machine / DefinitionRuntime interfaces.
//
// Included only by generated code, which is compiled as C++17 (Boost
// 1.74's MSM back-end is not valid C++20; see docs/msm.md).
//
// Thread-safety: as Machine / DefinitionRuntime.
#pragma once

#include <boost/msm/back/state_machine.hpp>
#include <boost/msm/front/functor_row.hpp>
#include <boost/msm/front/state_machine_def.hpp>

#include <map>
#include <memory>
#include <string>
#include <typeindex>
#include <vector>

#include "definitions/expr/ops.h"
#include "definitions/runtime/generated_support.h"
#include "definitions/runtime/step_rules.h"

namespace treaty::runtime::msm_support {

// Row action: counts the transition.
struct CountFired {
  template <class Event, class Fsm, class Source, class Target>
  void operator()(Event const& e, Fsm&, Source&, Target&) const {
    ++e.ctx->fired;
  }
};

// An archive for the MSM back-end's serialize() that only writes the
// active-state array of each (sub)machine, chosen by type. This is how a
// machine is restored from saved states without replaying history.
class StateLoader {
 public:
  using Targets = std::map<std::type_index, std::vector<int>>;
  explicit StateLoader(const Targets* targets) : targets_(targets) {}

  template <class T>
  StateLoader& operator&(T& t) {
    Visit(t, 0);
    return *this;
  }

 private:
  template <class T>
  auto Visit(T& t, int) -> decltype(t.serialize(std::declval<StateLoader&>(), 0u), void()) {
    frames_.push_back({std::type_index(typeid(T)), 0});
    t.serialize(*this, 0u);
    frames_.pop_back();
  }
  template <size_t N>
  void Visit(int (&states)[N], int) {
    // In MSM's serialize the first int array of a machine is m_states.
    if (frames_.empty() || frames_.back().arrays_seen++ != 0) return;
    auto it = targets_->find(frames_.back().type);
    if (it == targets_->end()) return;
    for (size_t i = 0; i < N && i < it->second.size(); ++i)
      if (it->second[i] >= 0) states[i] = it->second[i];
  }
  template <class T>
  void Visit(T&, long) {}

  struct Frame {
    std::type_index type;
    int arrays_seen;
  };
  const Targets* targets_;
  std::vector<Frame> frames_;
};

// Adapts a generated description `Gen` to DefinitionRuntime. Gen provides:
//   typedef ... Fsm;                        the back-end machine type
//   static const char* Canonical();         canonical JSON of the definition
//   static const char* HashHex();
//   static size_t StepCount();
//   static ::boost::msm::back::HandledEnum Dispatch(size_t step, Fsm&, StepContext&);
//   static void Collect(const Fsm&, std::vector<std::string>*);
//   static bool Locate(const std::string& path, StateLoader::Targets*);
//   static bool IsFinal(const Fsm&);
template <class Gen>
class MsmRuntime;

template <class Gen>
class MsmMachine final : public Machine {
 public:
  explicit MsmMachine(const MsmRuntime<Gen>* rt) : rt_(rt), data_(Value::Object()), timers_(Value::Object()) {
    fsm_.start();
  }

  ApplyResult Apply(const StepCall& call) override {
    int idx = rt_->index().StepIndex(call.step);
    if (idx < 0)
      return ApplyResult::Reject(RejectCode::kUnknownStep,
                                 "process '" + rt_->name() + "' has no step '" + std::string(call.step) + "'");
    StepContext c;
    c.index = &rt_->index();
    c.step = &rt_->model().steps[idx];
    c.call = &call;
    c.data = &data_;
    c.timers = &timers_;
    ::boost::msm::back::HandledEnum h = Gen::Dispatch(static_cast<size_t>(idx), fsm_, c);
    if (h == ::boost::msm::back::HANDLED_TRUE && c.fired == 1 && c.result.accepted()) {
      data_ = std::move(c.new_data);
      UpdateTimers(rt_->index(), *c.step, ActiveStates(), call.chain_time_ms, &timers_);
      return ApplyResult::Accept();
    }
    if (c.rules_ran && !c.result.accepted()) return c.result;
    return ApplyResult::Reject(RejectCode::kNotFromState, NotFromStateReason(*c.step, ActiveStates()));
  }

  std::vector<std::string> ActiveStates() const override {
    std::vector<std::string> out;
    Gen::Collect(fsm_, &out);
    return out;
  }
  const Value& Data() const override { return data_; }
  const Value& Timers() const override { return timers_; }
  bool IsFinal() const override { return Gen::IsFinal(fsm_); }
  const DefinitionRuntime& definition() const override { return *rt_; }

  void StartTimers(int64_t now) {
    std::vector<std::string> active = ActiveStates();
    for (const auto& name : rt_->index().TimedStates()) {
      const defs::StateInfo* s = rt_->index().State(name);
      for (const auto& p : active)
        if (p == s->path || p.rfind(s->path + ".", 0) == 0) {
          timers_.Set(name, Value::Int(now));
          break;
        }
    }
  }

  Status Load(const Snapshot& snap) {
    StateLoader::Targets targets;
    for (const auto& path : snap.active_states)
      if (!Gen::Locate(path, &targets))
        return Status::DataLoss("snapshot names state '" + path + "', which process " + rt_->name() +
                                " does not have");
    StateLoader loader(&targets);
    loader & fsm_;
    if (ActiveStates() != snap.active_states)
      return Status::DataLoss("snapshot states of process " + rt_->name() + " are not a consistent configuration");
    data_ = snap.data.is_object() ? snap.data : Value::Object();
    timers_ = snap.timers.is_object() ? snap.timers : Value::Object();
    return Status::Ok();
  }

 private:
  const MsmRuntime<Gen>* rt_;
  typename Gen::Fsm fsm_;
  Value data_;
  Value timers_;
};

template <class Gen>
class MsmRuntime final : public DefinitionRuntime {
 public:
  static Result<std::shared_ptr<const DefinitionRuntime>> Create() {
    auto def = LoadEmbeddedDefinition(Gen::Canonical(), Gen::HashHex(), Gen::StepCount());
    if (!def.ok()) return def.status();
    return std::shared_ptr<const DefinitionRuntime>(new MsmRuntime(std::move(def).value()));
  }

  const Digest& hash() const override { return hash_; }
  const defs::Definition& model() const override { return def_; }
  const char* kind() const override { return "msm"; }
  const DefinitionIndex& index() const { return index_; }

  std::unique_ptr<Machine> NewMachine(int64_t chain_time_ms) const override {
    auto m = std::make_unique<MsmMachine<Gen>>(this);
    m->StartTimers(chain_time_ms);
    return m;
  }
  Result<std::unique_ptr<Machine>> Restore(const Snapshot& snapshot) const override {
    auto m = std::make_unique<MsmMachine<Gen>>(this);
    TREATY_RETURN_IF_ERROR(m->Load(snapshot));
    return std::unique_ptr<Machine>(std::move(m));
  }

 private:
  explicit MsmRuntime(defs::Definition def) : def_(std::move(def)), index_(&def_) {
    DigestFromHex(Gen::HashHex(), &hash_);
  }
  defs::Definition def_;
  DefinitionIndex index_;
  Digest hash_{};
};

}  // namespace treaty::runtime::msm_support
