// The node's own store work for a confirmed step, measured alone: what the
// Batcher and the Applier ask of SQLite for one step of node_bench's
// saturation phase (a `submit` that claims a unique key), on the node's
// real schema (NodeStore) and the real local ledger, in the node's shape —
// no gRPC, no JSON parsing, no machine, no threads handing work over.
//
// Per batch of `batch` steps, as the node does them:
//   seal   (one transaction): nonce spent, proposal written with its pin,
//          the batch row (the bench's steps carry no idempotency key);
//   ledger (its own file): the block;
//   apply  (one transaction): the batch forgotten; per pin the expected pin
//          matched, the proposal found by its pin, the instance read and
//          updated, the unique key claimed, history and event appended, the
//          proposal's outcome, the author's next pin expected; the cursor.
//
// SQLite lets one connection write a file at a time and the node's writer
// is one thread, so the rate this reaches on one thread bounds the node's
// rate whatever the cores: it is a limit of this schema and this
// protocol's writes on this machine, not of the C++ around them.
//
// Every statement is the node's own: NodeStore's methods, which the
// Batcher and the Applier call too, so the two cannot drift apart.
//
// Thread-safety: runs on the calling thread (the store's and the ledger's
// checkpointer threads run beside it and are counted in its CPU).
#pragma once

#include <sys/resource.h>

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "bench_util.h"
#include "chain/local/local_ledger.h"
#include "definitions/base/sha256.h"
#include "engine/node_store.h"

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
  auto ledger = chain::LocalLedger::Open(dir + "/floor-ledger.db", full_sync);
  if (!ledger.ok()) return {};
  auto& db = store.db();
  // Sizes as a purchase-order instance in node_bench (JSON of ~200 bytes,
  // hashes as hex); each instance waits for its author's next pin.
  const std::string snapshot(220, 's'), data(120, 'd'), input(120, 'i'), hash(64, 'h');
  auto id = [](int i) { return "floor-" + std::to_string(i); };
  auto pin_of = [](const std::string& instance, int64_t nonce) {
    return ToHex(Sha256().UpdateField(instance).UpdateField(std::to_string(nonce)).Finish());
  };
  std::lock_guard<std::mutex> lock(store.mu());
  if (!db.Begin().ok()) return {};
  for (int i = 0; i < instances; ++i) {
    engine::InstanceRow r;
    r.id = id(i);
    r.definition = "purchase-order";
    r.version = 1;
    r.def_hash = r.salt_hex = r.state_hash = hash;
    r.roles_json = R"({"buyer":"floor","seller":"floor"})";
    r.snapshot_json = snapshot;
    r.states_json = R"(["draft"])";
    r.data_json = data;
    if (!store.InsertInstance(r).ok() || !store.ExpectPin(pin_of(r.id, 0), r.id, "floor", 0).ok()) return {};
  }
  if (!db.Commit().ok()) return {};
  // Each instance stepped once before any twice, in a scattered order.
  std::vector<int> order = FixedShuffle(instances);
  auto process_cpu = [] { return RusageCpuSeconds(RUSAGE_SELF); };
  int64_t steps = 0, serial = 0;
  uint64_t applied_height = 0;
  double cpu0 = process_cpu();
  auto start = Clock::now(), end = start + duration;
  while (Clock::now() < end) {
    // Seal.
    std::vector<engine::ProposalRow> sealed;
    char batch_id[32];
    std::snprintf(batch_id, sizeof batch_id, "b%020lld", static_cast<long long>(serial));
    chain::Batch on_ledger;
    on_ledger.id = batch_id;
    on_ledger.author = "floor";
    if (!db.Begin().ok()) return {};
    for (int k = 0; k < batch; ++k) {
      const std::string inst = id(order[static_cast<size_t>((steps + k) % instances)]);
      char pid[32];
      std::snprintf(pid, sizeof pid, "p%020lld", static_cast<long long>(++serial));
      Result<int64_t> nonce = store.SpendNonce(inst, "floor");
      if (!nonce.ok()) return {};
      engine::ProposalRow p;
      p.nonce = *nonce;
      p.id = pid;
      p.kind = "step";
      p.instance = inst;
      p.step = "submit";
      p.input_json = input;
      p.author = "floor";
      p.pin_hex = pin_of(inst, p.nonce);
      p.status = "sealed";
      p.batch = batch_id;
      p.extra_json = "{}";
      if (!store.InsertProposal(p).ok()) return {};
      Digest d{};
      DigestFromHex(p.pin_hex, &d);
      on_ledger.pins.push_back(d);
      sealed.push_back(std::move(p));
    }
    if (!store.InsertBatch(batch_id, "[]").ok() || !db.Commit().ok()) return {};
    // Order.
    if (!(*ledger)->Submit(on_ledger).ok()) return {};
    auto blocks = (*ledger)->Read(applied_height + 1, 1);
    if (!blocks.ok() || blocks->empty()) return {};
    const chain::Block& block = blocks->front();
    // Apply.
    if (!db.Begin().ok()) return {};
    if (!store.ForgetBatch(batch_id).ok()) return {};
    for (const Digest& pin : block.batches.front().pins) {
      const std::string pin_hex = ToHex(pin);
      auto expected = store.TakeExpectedPin(pin_hex);
      if (!expected.ok() || !*expected) return {};
      const std::string inst = (*expected)->instance;
      const int64_t nonce = (*expected)->nonce;
      auto p = store.GetProposalByPinLocked(pin_hex);
      auto row = store.GetInstanceLocked(inst);
      if (!p || !row) return {};
      row->snapshot_json = snapshot;
      row->position += 1;
      row->height = static_cast<int64_t>(block.height);
      row->updated_ms = block.time_ms;
      if (!store.UpdateInstance(*row).ok()) return {};
      if (!store.InsertClaim(pin_of(p->id, -2), inst, "po_number", row->height).ok()) return {};
      engine::HistoryRow h;
      h.proposal = p->id;
      h.step = p->step;
      h.proposer = p->author;
      h.input_json = input;
      h.outcome = "CONFIRMED";
      h.height = row->height;
      h.states_json = row->states_json;
      h.state_hash = hash;
      if (!store.AppendHistory(inst, h).ok()) return {};
      engine::EventRow ev;
      ev.type = "step_confirmed";
      ev.instance = inst;
      ev.definition = row->definition;
      ev.step = p->step;
      ev.payload_json = R"({"states":["submitted"]})";
      ev.height = row->height;
      if (!store.AppendEvent(ev).ok()) return {};
      p->status = "confirmed";
      p->height = row->height;
      if (!store.UpdateProposal(*p).ok()) return {};
      if (!store.ExpectPin(pin_of(inst, nonce + 1), inst, "floor", nonce + 1).ok()) return {};
      ++steps;
    }
    if (!store.SetCursor(static_cast<int64_t>(block.height), ToHex(block.hash)).ok() || !db.Commit().ok()) return {};
    applied_height = block.height;
  }
  StoreFloor out;
  double secs = std::chrono::duration<double>(Clock::now() - start).count();
  out.steps_per_s = static_cast<double>(steps) / secs;
  out.cpu_us_per_step = steps > 0 ? (process_cpu() - cpu0) * 1e6 / static_cast<double>(steps) : 0;
  return out;
}

}  // namespace treaty::bench
