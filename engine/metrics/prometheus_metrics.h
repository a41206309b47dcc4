// PrometheusMetrics: NodeMetrics counted with prometheus-cpp and served as
// Prometheus text at http://HOST:PORT/metrics (prometheus-cpp's exposer,
// an embedded civetweb server). Values the process already keeps (heights,
// queue lengths, open tasks) are not mirrored: `scrape` reads them when
// /metrics is fetched (docs/operations.md lists every metric).
//
// Thread-safety: the NodeMetrics methods may be called from any thread;
// `scrape` runs on the exposer's threads, concurrently with them.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "definitions/base/status.h"
#include "engine/metrics/node_metrics.h"

namespace treaty::engine {

// One value read at scrape time: a gauge, or a counter the process keeps
// itself (e.g. the exchange's refused connections).
struct ScrapedValue {
  std::string name, help;
  bool counter = false;
  std::map<std::string, std::string> labels;
  double value = 0;
};
using Scrape = std::function<std::vector<ScrapedValue>()>;

class PrometheusMetrics final : public NodeMetrics {
 public:
  // Listens on `host_port` ("127.0.0.1:9464"); an error if it cannot.
  static Result<std::unique_ptr<PrometheusMetrics>> Serve(const std::string& host_port, Scrape scrape);
  ~PrometheusMetrics() override;

  int port() const { return port_; }

  void StepProposed(std::string_view definition) override;
  void StepApplied(std::string_view definition, std::string_view reject_code, double apply_seconds) override;
  void BlocksCommitted(double seconds) override;
  void PeerRefused(PeerRefusal reason) override;
  void CallRefused(std::string_view method, std::string_view reason) override;

 private:
  struct Impl;
  PrometheusMetrics() = default;
  std::unique_ptr<Impl> impl_;
  int port_ = 0;
};

}  // namespace treaty::engine
