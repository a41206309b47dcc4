// The treaty-sequencer's metrics endpoint (--metrics HOST:PORT): its
// SequencerStats as Prometheus text at http://HOST:PORT/metrics, read at
// each scrape (prometheus-cpp's exposer; docs/operations.md).
//
// Thread-safety: the exposer's threads read the stats (atomics) while the
// service runs; destroy the endpoint before the service.
#pragma once

#include <memory>
#include <string>

#include "chain/sequencer/sequencer_service.h"
#include "definitions/base/status.h"

namespace treaty::chain {

class SequencerMetrics {
 public:
  // Listens on `host_port`; an error if it cannot.
  static Result<std::unique_ptr<SequencerMetrics>> Serve(const std::string& host_port, const SequencerStats* stats);
  ~SequencerMetrics();
  int port() const { return port_; }

 private:
  struct Impl;
  SequencerMetrics() = default;
  std::unique_ptr<Impl> impl_;
  int port_ = 0;
};

}  // namespace treaty::chain
