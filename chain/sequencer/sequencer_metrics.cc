#include "chain/sequencer/sequencer_metrics.h"

#include <prometheus/collectable.h>
#include <prometheus/exposer.h>
#include <prometheus/metric_family.h>

#include <exception>

namespace treaty::chain {
namespace {

class StatsCollectable final : public prometheus::Collectable {
 public:
  explicit StatsCollectable(const SequencerStats* s) : s_(s) {}
  std::vector<prometheus::MetricFamily> Collect() const override {
    std::vector<prometheus::MetricFamily> out;
    auto one = [&](const char* name, const char* help, prometheus::MetricType type, double v,
                   std::vector<prometheus::ClientMetric::Label> labels = {}) {
      if (out.empty() || out.back().name != name) {
        out.emplace_back();
        out.back().name = name;
        out.back().help = help;
        out.back().type = type;
      }
      prometheus::ClientMetric m;
      m.label = std::move(labels);
      if (type == prometheus::MetricType::Counter) m.counter.value = v;
      else m.gauge.value = v;
      out.back().metric.push_back(std::move(m));
    };
    using T = prometheus::MetricType;
    one("treaty_sequencer_height", "The height of the last block stored", T::Gauge, s_->height.load());
    one("treaty_sequencer_blocks_total", "Blocks cut and stored since start", T::Counter, s_->blocks.load());
    one("treaty_sequencer_batches_total", "Batches ordered into blocks since start", T::Counter, s_->batches.load());
    one("treaty_sequencer_pins_total", "Pins ordered into blocks since start", T::Counter, s_->pins.load());
    const char* refused = "Requests refused since start, by reason";
    one("treaty_sequencer_refused_total", refused, T::Counter, s_->refused_not_a_member.load(),
        {{"reason", "not_a_member"}});
    one("treaty_sequencer_refused_total", refused, T::Counter, s_->refused_bad_signature.load(),
        {{"reason", "bad_signature"}});
    one("treaty_sequencer_refused_total", refused, T::Counter, s_->refused_malformed.load(),
        {{"reason", "malformed"}});
    return out;
  }

 private:
  const SequencerStats* s_;
};

}  // namespace

struct SequencerMetrics::Impl {
  std::shared_ptr<StatsCollectable> stats;
  std::unique_ptr<prometheus::Exposer> exposer;
};

Result<std::unique_ptr<SequencerMetrics>> SequencerMetrics::Serve(const std::string& host_port,
                                                                  const SequencerStats* stats) {
  std::unique_ptr<SequencerMetrics> m(new SequencerMetrics());
  m->impl_ = std::make_unique<Impl>();
  m->impl_->stats = std::make_shared<StatsCollectable>(stats);
  try {
    m->impl_->exposer = std::make_unique<prometheus::Exposer>(host_port, 1);
  } catch (const std::exception& e) {
    return Status::InvalidArgument("cannot serve metrics on " + host_port + ": " + e.what());
  }
  m->impl_->exposer->RegisterCollectable(m->impl_->stats);
  auto ports = m->impl_->exposer->GetListeningPorts();
  m->port_ = ports.empty() ? 0 : ports.front();
  return m;
}

SequencerMetrics::~SequencerMetrics() = default;

}  // namespace treaty::chain
