// The node's gauges for the metrics endpoint, read from Node::Check when
// /metrics is scraped (docs/operations.md): heights and lag, blocked
// instances, outbox, proposals in flight, open tasks, jobs and incidents.
//
// Thread-safety: ReadNodeGauges may be called from any thread while the
// node runs (Node::Check reads through the store's readers).
#pragma once

#include <vector>

#include "engine/metrics/prometheus_metrics.h"
#include "engine/node.h"

namespace treaty::engine {

// Empty when the store could not be read (the scrape then lacks them,
// rather than showing zeros that look like health).
std::vector<ScrapedValue> ReadNodeGauges(Node* node);

}  // namespace treaty::engine
