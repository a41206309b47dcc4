// libFuzzer target: the Ethereum ledger's ABI decoder
// (chain/ethereum/abi.h). The first byte picks a tuple of types (the pin
// contract's BatchPin data and members() answer among them), the rest is
// the data. The decoder promises to accept only the canonical encoding, so
// besides crashes, sanitizer reports and hangs, it fails when a decoded
// tuple does not encode back to exactly the bytes it came from.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>
#include <vector>

#include "chain/ethereum/abi.h"

namespace abi = treaty::chain::eth::abi;
using T = abi::Type;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const std::vector<std::vector<T>> kTuples = {
      {T::kUint256, T::kBytes32, T::kString, T::kBytes32Array},  // BatchPin's data
      {T::kAddressArray},                                         // members()
      {T::kUint256}, {T::kAddress}, {T::kBytes32}, {T::kString}, {T::kBytes32Array},
      {T::kString, T::kString}, {T::kBytes32Array, T::kAddressArray, T::kString},
  };
  if (size == 0) return 0;
  const auto& types = kTuples[data[0] % kTuples.size()];
  std::string_view rest(reinterpret_cast<const char*>(data + 1), size - 1);
  auto values = abi::Decode(types, rest);
  if (!values.ok()) {
    if (values.status().message().empty()) abort();
    return 0;
  }
  if (values->size() != types.size()) abort();
  auto encoded = abi::Encode(*values);
  if (!encoded.ok() || *encoded != rest) abort();
  for (const auto& v : *values)
    if (v.type == T::kUint256) (void)abi::ToUint64(v);
  return 0;
}
