// SequencerService: the ordering service of a `sequencer` network
// (treaty-sequencer). Members submit signed batches of pins over ZeroMQ;
// the service checks that the author is a member and the signature is the
// author's, cuts blocks by size or latency (whichever first), hash-chains
// and signs them, stores them in SQLite before anyone hears of them, and
// serves them to any reader from any height, holding a read open until a
// block past the reader's height exists (long poll). A block, once
// published, never changes, also across restarts. Wire format:
// docs/protocol.md, "Sequencer".
//
// Thread-safety: Run serves from the calling thread; Stop may be called
// from any thread (a signal handler sets the flag); stats() from any
// thread (atomics).
#pragma once

#include <atomic>
#include <chrono>
#include <memory>
#include <string>

#include "chain/network.h"
#include "definitions/base/sqlite_db.h"
#include "definitions/base/signing_key.h"

namespace treaty::chain {

struct SequencerOptions {
  std::string db_path;
  std::string listen = "tcp://127.0.0.1:7400";
  size_t block_max_pins = 4096;
  // How long the oldest queued batch may wait for company. 0: a block is
  // cut as soon as the sequencer is free, and batches that arrive while a
  // block is being stored share the next one (group commit) — lowest
  // latency, and blocks still grow with load.
  std::chrono::milliseconds block_latency{0};
  bool full_sync = true;
  size_t max_message_bytes = 8 << 20;
};

// What the sequencer has done since it started (its metrics,
// docs/operations.md), and its height.
struct SequencerStats {
  std::atomic<uint64_t> height{0};
  std::atomic<uint64_t> blocks{0}, batches{0}, pins{0};
  std::atomic<uint64_t> refused_not_a_member{0}, refused_bad_signature{0}, refused_malformed{0};
};

class SequencerService {
 public:
  static Result<std::unique_ptr<SequencerService>> Open(SequencerOptions opts, Network network,
                                                        crypto::SigningKey key);
  ~SequencerService();
  // Binds and serves until *stop becomes true. Returns the bind error, if any.
  Status Run(const std::atomic<bool>* stop);
  uint64_t height() const { return height_; }
  const SequencerStats& stats() const;

 private:
  struct Impl;
  SequencerService() = default;
  std::unique_ptr<Impl> impl_;
  uint64_t height_ = 0;
};

}  // namespace treaty::chain
