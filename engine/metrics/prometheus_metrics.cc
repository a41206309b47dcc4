#include "engine/metrics/prometheus_metrics.h"

#include <prometheus/collectable.h>
#include <prometheus/counter.h>
#include <prometheus/exposer.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

#include <exception>

namespace treaty::engine {
namespace {

// The values `scrape` reads, as metric families at each scrape.
class ScrapeCollectable final : public prometheus::Collectable {
 public:
  explicit ScrapeCollectable(Scrape scrape) : scrape_(std::move(scrape)) {}
  std::vector<prometheus::MetricFamily> Collect() const override {
    std::vector<prometheus::MetricFamily> out;
    if (!scrape_) return out;
    for (auto& v : scrape_()) {
      if (out.empty() || out.back().name != v.name) {
        out.emplace_back();
        out.back().name = v.name;
        out.back().help = v.help;
        out.back().type = v.counter ? prometheus::MetricType::Counter : prometheus::MetricType::Gauge;
      }
      prometheus::ClientMetric m;
      for (auto& [k, val] : v.labels) m.label.push_back({k, val});
      if (v.counter) m.counter.value = v.value;
      else m.gauge.value = v.value;
      out.back().metric.push_back(std::move(m));
    }
    return out;
  }

 private:
  Scrape scrape_;
};

// Seconds: a step applied in a few ms on one node, up to seconds behind a
// remote ledger (Ethereum's blocks).
const prometheus::Histogram::BucketBoundaries kApplyBuckets = {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1,
                                                                0.25,  0.5,    1,     2.5,  5,     10,   30};
// A store transaction: sub-millisecond without fsync, tens of ms with it.
const prometheus::Histogram::BucketBoundaries kCommitBuckets = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025,
                                                                 0.05,   0.1,   0.25,   0.5,   1,    2.5};

}  // namespace

struct PrometheusMetrics::Impl {
  std::shared_ptr<prometheus::Registry> registry = std::make_shared<prometheus::Registry>();
  std::shared_ptr<ScrapeCollectable> scraped;
  std::unique_ptr<prometheus::Exposer> exposer;
  prometheus::Family<prometheus::Counter>* proposed = nullptr;
  prometheus::Family<prometheus::Counter>* confirmed = nullptr;
  prometheus::Family<prometheus::Counter>* rejected = nullptr;
  prometheus::Family<prometheus::Histogram>* apply_latency = nullptr;
  prometheus::Histogram* commit_latency = nullptr;
  prometheus::Family<prometheus::Counter>* peer_refused = nullptr;
  prometheus::Family<prometheus::Counter>* call_refused = nullptr;
};

Result<std::unique_ptr<PrometheusMetrics>> PrometheusMetrics::Serve(const std::string& host_port, Scrape scrape) {
  std::unique_ptr<PrometheusMetrics> m(new PrometheusMetrics());
  m->impl_ = std::make_unique<Impl>();
  Impl& i = *m->impl_;
  using prometheus::BuildCounter;
  using prometheus::BuildHistogram;
  i.proposed = &BuildCounter()
                    .Name("treaty_steps_proposed_total")
                    .Help("Proposals (starts and steps) this node accepted from its callers, by definition")
                    .Register(*i.registry);
  i.confirmed = &BuildCounter()
                     .Name("treaty_steps_confirmed_total")
                     .Help("Starts and steps applied here as confirmed (any author), by definition")
                     .Register(*i.registry);
  i.rejected = &BuildCounter()
                    .Name("treaty_steps_rejected_total")
                    .Help("Starts and steps applied here as rejected in ledger order (any author), by definition "
                          "and reject code")
                    .Register(*i.registry);
  i.apply_latency = &BuildHistogram()
                         .Name("treaty_step_apply_latency_seconds")
                         .Help("From a proposal's creation (its author's clock) to the commit that applied it here, "
                               "by outcome")
                         .Register(*i.registry);
  i.commit_latency = &BuildHistogram()
                          .Name("treaty_block_commit_seconds")
                          .Help("Duration of each store transaction that applied ledger blocks, begin to commit")
                          .Register(*i.registry)
                          .Add({}, kCommitBuckets);
  i.peer_refused = &BuildCounter()
                        .Name("treaty_peer_refused_total")
                        .Help("Messages and connections of network members refused, by reason")
                        .Register(*i.registry);
  i.call_refused = &BuildCounter()
                        .Name("treaty_calls_refused_total")
                        .Help("API calls refused (authentication, permissions, limits), by method and reason")
                        .Register(*i.registry);
  // Present from the start at 0, so a rate over them is defined.
  for (const char* o : {"confirmed", "rejected"}) i.apply_latency->Add({{"outcome", o}}, kApplyBuckets);
  i.scraped = std::make_shared<ScrapeCollectable>(std::move(scrape));
  try {
    i.exposer = std::make_unique<prometheus::Exposer>(host_port, 2);
  } catch (const std::exception& e) {
    return Status::InvalidArgument("cannot serve metrics on " + host_port + ": " + e.what());
  }
  i.exposer->RegisterCollectable(i.registry);
  i.exposer->RegisterCollectable(i.scraped);
  auto ports = i.exposer->GetListeningPorts();
  m->port_ = ports.empty() ? 0 : ports.front();
  return m;
}

PrometheusMetrics::~PrometheusMetrics() = default;

void PrometheusMetrics::StepProposed(std::string_view definition) {
  impl_->proposed->Add({{"definition", std::string(definition)}}).Increment();
}

void PrometheusMetrics::StepApplied(std::string_view definition, std::string_view reject_code, double apply_seconds) {
  if (reject_code.empty()) {
    impl_->confirmed->Add({{"definition", std::string(definition)}}).Increment();
  } else {
    impl_->rejected->Add({{"definition", std::string(definition)}, {"reason", std::string(reject_code)}}).Increment();
  }
  impl_->apply_latency->Add({{"outcome", reject_code.empty() ? "confirmed" : "rejected"}}, kApplyBuckets)
      .Observe(apply_seconds);
}

void PrometheusMetrics::BlocksCommitted(double seconds) { impl_->commit_latency->Observe(seconds); }

void PrometheusMetrics::PeerRefused(PeerRefusal reason) {
  impl_->peer_refused->Add({{"reason", PeerRefusalName(reason)}}).Increment();
}

void PrometheusMetrics::CallRefused(std::string_view method, std::string_view reason) {
  impl_->call_refused->Add({{"method", std::string(method)}, {"reason", std::string(reason)}}).Increment();
}

}  // namespace treaty::engine
