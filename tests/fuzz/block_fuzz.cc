// libFuzzer target: arbitrary bytes as a block and as a block body (the
// local ledger's stored batches) through chain/block_codec.h. Fails on
// crashes, sanitizer reports, hangs, a refusal without a reason, or a
// decoded block that does not survive its own encoding.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "chain/block_codec.h"

using namespace treaty::chain;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto j = nlohmann::json::parse(std::string_view(reinterpret_cast<const char*>(data), size), nullptr, false);
  if (j.is_discarded()) return 0;
  std::vector<Batch> batches;
  treaty::Status st = BatchesFromJson(j, &batches);
  if (!st.ok() && st.message().empty()) abort();
  if (st.ok()) {
    std::vector<Batch> back;
    if (!BatchesFromJson(BatchesToJson(batches), &back).ok() || BatchesToJson(back) != BatchesToJson(batches)) abort();
  }
  auto block = BlockFromJson(j);
  if (!block.ok()) {
    if (block.status().message().empty()) abort();
    return 0;
  }
  auto back = BlockFromJson(BlockToJson(*block));
  if (!back.ok() || BlockToJson(*back) != BlockToJson(*block)) abort();
  return 0;
}
