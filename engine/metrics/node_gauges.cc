#include "engine/metrics/node_gauges.h"

namespace treaty::engine {

std::vector<ScrapedValue> ReadNodeGauges(Node* node) {
  std::vector<ScrapedValue> out;
  auto h = node->Check();
  if (!h.ok()) return out;
  auto gauge = [&](const char* name, const char* help, double v) {
    out.push_back(ScrapedValue{name, help, false, {}, v});
  };
  gauge("treaty_ledger_height", "The ledger's head as this node knows it (blocks)",
        static_cast<double>(h->ledger_height));
  gauge("treaty_applied_height", "The last block this node applied", static_cast<double>(h->applied_height));
  gauge("treaty_ledger_lag_blocks", "Blocks the ledger has that this node has not applied yet",
        static_cast<double>(h->ledger_height > h->applied_height ? h->ledger_height - h->applied_height : 0));
  gauge("treaty_ledger_time_seconds", "Ledger time: the timestamp of the last block applied here",
        static_cast<double>(h->ledger_time_ms) / 1000.0);
  gauge("treaty_blocked_instances", "Instances whose next pin waits for a member's data",
        static_cast<double>(h->blocked.size()));
  gauge("treaty_outbox_messages", "Messages to members not yet receipted", static_cast<double>(h->outbox));
  gauge("treaty_proposals_in_flight", "Proposals of this node stored and not yet applied",
        static_cast<double>(h->in_flight));
  gauge("treaty_open_tasks", "Human tasks open", static_cast<double>(h->open_tasks));
  gauge("treaty_overdue_tasks", "Open human tasks past their due time (ledger time)",
        static_cast<double>(h->overdue_tasks));
  gauge("treaty_open_jobs", "Jobs open (activatable or activated)", static_cast<double>(h->open_jobs));
  gauge("treaty_activated_jobs", "Jobs a worker holds a lease on", static_cast<double>(h->activated_jobs));
  gauge("treaty_open_incidents", "Jobs out of retries, waiting for an operator", static_cast<double>(h->incidents));
  gauge("treaty_pending_deadlines", "Deadlines this node knows to be pending", static_cast<double>(h->pending_deadlines));
  out.push_back(ScrapedValue{"treaty_exchange_refused_connections_total",
                             "Connections to the data exchange refused (unknown CURVE keys) since start", true, {},
                             static_cast<double>(node->RefusedConnections())});
  return out;
}

}  // namespace treaty::engine
