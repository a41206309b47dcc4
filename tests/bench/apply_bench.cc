// Nanoseconds per apply on purchase-order (schema check, guard and `set:`
// included), compiled Boost.MSM machine versus the reference interpreter,
// beside a bare hand-written MSM process_event in the same run.
// Target (issue #2): under 1 µs per apply. Results: docs/performance.md.
#include <benchmark/benchmark.h>

#include "bare_msm.h"
#include "definitions/runtime/reference_machine.h"
#include "definitions/runtime/registry.h"

namespace treaty::bench {
namespace {

struct Inputs {
  Value submit, accept, pay, pay_wrong;
  std::vector<std::string> buyer{"buyer"}, seller{"seller"};
  Inputs() {
    submit = *Value::FromJson(R"({"po_number":"PO-1","total":250,"items":[{"sku":"A-1","qty":2}]})");
    accept = Value::Object();
    pay = *Value::FromJson(R"({"amount":250})");
    pay_wrong = *Value::FromJson(R"({"amount":249})");
  }
  runtime::StepCall Call(const char* step, const std::vector<std::string>& roles, const Value& input) const {
    runtime::StepCall c;
    c.step = step;
    c.party = roles[0];
    c.roles = &roles;
    c.input = &input;
    c.chain_time_ms = 1;
    return c;
  }
};

std::shared_ptr<const runtime::DefinitionRuntime> Runtime(bool compiled) {
  auto d = runtime::Registry::Global().Find("purchase-order");
  return compiled ? d : runtime::MakeReferenceRuntime(d->model());
}

// A full order: submit, accept, guarded pay. Three applies per iteration
// (plus creating the machine, amortised over them).
void Cycle(benchmark::State& state, bool compiled) {
  auto rt = Runtime(compiled);
  Inputs in;
  for (auto _ : state) {
    auto m = rt->NewMachine(0);
    bool ok = m->Apply(in.Call("submit", in.buyer, in.submit)).accepted();
    ok &= m->Apply(in.Call("accept", in.seller, in.accept)).accepted();
    ok &= m->Apply(in.Call("pay", in.buyer, in.pay)).accepted();
    if (!ok) state.SkipWithError("purchase-order cycle was rejected");
    benchmark::DoNotOptimize(m);
  }
  state.SetItemsProcessed(state.iterations() * 3);
}
void BM_PurchaseOrderCycle_Msm(benchmark::State& s) { Cycle(s, true); }
void BM_PurchaseOrderCycle_Reference(benchmark::State& s) { Cycle(s, false); }

// `pay` in `accepted` with a wrong amount: dispatch, role, schema and guard,
// no state change: the guard path alone.
void GuardOnly(benchmark::State& state, bool compiled) {
  auto rt = Runtime(compiled);
  Inputs in;
  auto m = rt->NewMachine(0);
  (void)m->Apply(in.Call("submit", in.buyer, in.submit));
  (void)m->Apply(in.Call("accept", in.seller, in.accept));
  for (auto _ : state) {
    auto r = m->Apply(in.Call("pay", in.buyer, in.pay_wrong));
    benchmark::DoNotOptimize(r);
  }
  state.SetItemsProcessed(state.iterations());
}
void BM_PayGuardFalse_Msm(benchmark::State& s) { GuardOnly(s, true); }
void BM_PayGuardFalse_Reference(benchmark::State& s) { GuardOnly(s, false); }

// The floor: a bare Boost.MSM machine, four process_event calls a cycle.
void BM_BareMsmProcessEvent(benchmark::State& state) {
  BareMsm m;
  int64_t amount = 250;
  for (auto _ : state) {
    benchmark::DoNotOptimize(amount);
    benchmark::DoNotOptimize(m.Cycle(amount));
  }
  state.SetItemsProcessed(state.iterations() * 4);
}

BENCHMARK(BM_BareMsmProcessEvent);
BENCHMARK(BM_PurchaseOrderCycle_Msm);
BENCHMARK(BM_PurchaseOrderCycle_Reference);
BENCHMARK(BM_PayGuardFalse_Msm);
BENCHMARK(BM_PayGuardFalse_Reference);

}  // namespace
}  // namespace treaty::bench

BENCHMARK_MAIN();
