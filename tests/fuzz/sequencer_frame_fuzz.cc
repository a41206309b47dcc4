// libFuzzer target: arbitrary bytes as a request frame to
// treaty-sequencer and as a reply frame to a member's sequencer client
// (chain/sequencer/sequencer_wire.h), with the batch or blocks they hold.
// Fails on crashes, sanitizer reports, hangs, a refusal without a reason,
// or a submitted batch that does not survive its own encoding.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "chain/block_codec.h"
#include "chain/sequencer/sequencer_wire.h"

using namespace treaty::chain;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  SequencerRequest req;
  treaty::Status st = DecodeSequencerRequest(text, 8 << 20, &req);
  if (!st.ok() && st.message().empty()) abort();
  if (st.ok() && req.op == SequencerRequest::Op::kSubmit) {
    auto back = BatchFromJson(BatchToJson(req.batch));
    if (!back.ok() || BatchToJson(*back) != BatchToJson(req.batch) || BatchDigest(*back) != BatchDigest(req.batch))
      abort();
  }
  if (st.ok() && req.op == SequencerRequest::Op::kRead &&
      (req.from < 1 || req.max < 1 || req.max > kMaxReadBlocks || req.wait_ms < 0 || req.wait_ms > 60000))
    abort();
  auto reply = DecodeSequencerReply(text, 1);
  if (!reply.ok()) {
    if (reply.status().message().empty()) abort();
    return 0;
  }
  (void)ReplyHeight(*reply);
  auto blocks = DecodeReadReply(*reply, 1);
  if (blocks.ok())
    for (size_t i = 0; i < blocks->size(); ++i)
      if ((*blocks)[i].height != i + 1) abort();
  return 0;
}
