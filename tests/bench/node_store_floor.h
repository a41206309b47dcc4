// The node's own store work for a confirmed step, measured alone: what the
// Batcher and the Applier ask of SQLite for one step of node_bench's
// saturation phase (a `submit` that claims a unique key), on the node's
// real store (NodeStore) and the real embedded ledger, in the node's shape —
// no gRPC, no JSON parsing, no machine, no threads handing work over.
//
// Per batch of `batch` steps, as the node does them on the embedded
// ledger, in one transaction: the block that orders the batch, and per pin
// the instance read and updated, the unique key claimed, the history entry
// appended (which is also the step's event); then the cursor.
//
// SQLite lets one connection write a file at a time and the node's writer
// is one thread, so the rate this reaches on one thread bounds the node's
// rate whatever the cores: it is a limit of this schema and this
// protocol's writes on this machine, not of the C++ around them.
//
// Every statement is the node's own: WriteTxn's methods, which the Batcher
// and the Applier call too, so the two cannot drift apart.
//
// Thread-safety: runs on the calling thread (the store's checkpointer
// thread runs beside it and is counted in its CPU).
#pragma once

#include <sys/resource.h>

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "bench_util.h"
#include "chain/local/local_ledger.h"
#include "definitions/base/sha256.h"
#include "engine/store/node_store.h"

namespace treaty::bench {

struct StoreFloor {
  double cpu_us_per_step = 0;  // the whole process's CPU (checkpointers included)
  double steps_per_s = 0;      // wall clock, one writer thread, syncs included
};

// Returns a zero StoreFloor if a store call failed (the caller prints NOT
// MEASURED rather than a number).
inline StoreFloor NodeStoreStepFloor(const std::string& dir, bool full_sync, int batch, int instances,
                                     std::chrono::seconds duration = std::chrono::seconds(2)) {
  using Clock = std::chrono::steady_clock;
  engine::NodeStore store;
  if (!store.Open(dir + "/floor-node.db", "floor", full_sync).ok()) return {};
  engine::StoreBlockLog log(&store);
  auto ledger = chain::LocalLedger::Open(&log, Env::Default()->clock, "floor");
  if (!ledger.ok()) return {};
  // Sizes as a purchase-order instance in node_bench (JSON of ~200 bytes,
  // hashes as hex).
  const std::string snapshot(220, 's'), data(120, 'd'), input(120, 'i'), hash(64, 'h');
  auto id = [](int i) { return "floor-" + std::to_string(i); };
  auto pin_of = [](const std::string& instance, int64_t nonce) {
    return Sha256().UpdateField(instance).UpdateField(std::to_string(nonce)).Finish();
  };
  {
    auto txn = store.Begin("floor setup");
    if (!txn.ok()) return {};
    for (int i = 0; i < instances; ++i) {
      engine::InstanceRow r;
      r.id = id(i);
      r.definition = "purchase-order";
      r.version = 1;
      r.def_hash = r.salt_hex = r.state_hash = hash;
      r.roles = {{"buyer", "floor"}, {"seller", "floor"}};
      r.snapshot_json = snapshot;
      r.states_json = R"(["draft"])";
      r.data_json = data;
      if (!(*txn)->InsertInstance(&r).ok()) return {};
    }
    if (!(*txn)->Commit().ok()) return {};
  }
  // Instances stepped in the order node_bench steps them: in order of
  // creation, each once.
  auto process_cpu = [] { return RusageCpuSeconds(RUSAGE_SELF); };
  int64_t steps = 0, serial = 0;
  double cpu0 = process_cpu();
  auto start = Clock::now(), end = start + duration;
  while (Clock::now() < end) {
    char batch_id[32];
    std::snprintf(batch_id, sizeof batch_id, "b%020lld", static_cast<long long>(serial));
    chain::Batch sealed;
    sealed.id = batch_id;
    sealed.author = "floor";
    std::vector<std::string> insts;
    for (int k = 0; k < batch; ++k) {
      insts.push_back(id(static_cast<int>((steps + k) % instances)));
      sealed.pins.push_back(pin_of(insts.back(), steps + k));
      sealed.pins.push_back(pin_of(insts.back(), -1));  // its unique-key claim
    }
    chain::Block block = (*ledger)->Inline()->Next(sealed);
    auto txn_or = store.Begin("seal+apply");
    if (!txn_or.ok()) return {};
    engine::WriteTxn& txn = **txn_or;
    if (!txn.AppendBlock(block).ok()) return {};
    for (const std::string& inst : insts) {
      char pid[32];
      std::snprintf(pid, sizeof pid, "p%020lld", static_cast<long long>(++serial));
      auto row = txn.GetInstance(inst);
      if (!row.ok() || !*row) return {};
      (*row)->snapshot_json = snapshot;
      (*row)->position += 1;
      (*row)->height = static_cast<int64_t>(block.height);
      (*row)->updated_ms = block.time_ms;
      if (!txn.UpdateInstance(**row).ok()) return {};
      if (!txn.InsertClaim(pin_of(pid, -2), inst, "po_number", (*row)->height).ok()) return {};
      engine::HistoryRow h;
      h.proposal = pid;
      h.step = "submit";
      h.proposer = "floor";
      h.input_json = input;
      h.outcome.state_hash = hash;
      h.height = (*row)->height;
      h.states_json = (*row)->states_json;
      if (!txn.AppendHistory(**row, h, "step_confirmed").ok()) return {};
      ++steps;
    }
    if (!txn.SetCursor(static_cast<int64_t>(block.height), block.hash).ok() || !txn.Commit().ok()) return {};
    (*ledger)->Inline()->Committed(block);
  }
  StoreFloor out;
  double secs = std::chrono::duration<double>(Clock::now() - start).count();
  out.steps_per_s = static_cast<double>(steps) / secs;
  out.cpu_us_per_step = steps > 0 ? (process_cpu() - cpu0) * 1e6 / static_cast<double>(steps) : 0;
  return out;
}

}  // namespace treaty::bench
