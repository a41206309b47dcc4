#include "chain/ledger.h"

namespace treaty::chain {

Digest BlockHash(const Block& b) {
  Sha256 h;
  h.UpdateField("treaty.block.v1");
  h.UpdateField(std::string_view(reinterpret_cast<const char*>(b.prev_hash.data()), b.prev_hash.size()));
  h.UpdateField(std::to_string(b.height));
  h.UpdateField(std::to_string(b.time_ms));
  h.UpdateField(std::to_string(b.batches.size()));
  for (const auto& batch : b.batches) {
    h.UpdateField(batch.id);
    h.UpdateField(batch.author);
    h.UpdateField(std::to_string(batch.pins.size()));
    for (const auto& p : batch.pins) h.Update(p.data(), p.size());
  }
  return h.Finish();
}

Digest BatchDigest(const Batch& b) {
  Sha256 h;
  h.UpdateField("treaty.batch.v1");
  h.UpdateField(b.id);
  h.UpdateField(b.author);
  h.UpdateField(std::to_string(b.pins.size()));
  for (const auto& p : b.pins) h.Update(p.data(), p.size());
  return h.Finish();
}

}  // namespace treaty::chain
