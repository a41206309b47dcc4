// secp256k1 sign and verify rates: a limit for the multi-party node
// (issue #4): one signature per batch, one verification per batch per member.
#include <benchmark/benchmark.h>

#include "definitions/base/signing_key.h"

namespace {

void BM_Secp256k1Sign(benchmark::State& state) {
  auto key = treaty::crypto::SigningKey::Generate();
  treaty::Digest d = treaty::Sha256Of("batch");
  for (auto _ : state) {
    benchmark::DoNotOptimize(key->Sign(d));
    d[0]++;
  }
  state.SetItemsProcessed(state.iterations());
}

void BM_Secp256k1Verify(benchmark::State& state) {
  auto key = treaty::crypto::SigningKey::Generate();
  treaty::Digest d = treaty::Sha256Of("batch");
  treaty::crypto::Signature s = key->Sign(d);
  for (auto _ : state) benchmark::DoNotOptimize(treaty::crypto::Verify(key->public_key(), d, s));
  state.SetItemsProcessed(state.iterations());
}

void BM_Sha256Of1KiB(benchmark::State& state) {
  std::string data(1024, 'x');
  for (auto _ : state) benchmark::DoNotOptimize(treaty::Sha256Of(data));
  state.SetBytesProcessed(state.iterations() * 1024);
}

BENCHMARK(BM_Secp256k1Sign);
BENCHMARK(BM_Secp256k1Verify);
BENCHMARK(BM_Sha256Of1KiB);

}  // namespace

BENCHMARK_MAIN();
