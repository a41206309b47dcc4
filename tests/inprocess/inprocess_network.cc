#include "inprocess_network.h"

#include <filesystem>
#include <thread>

#include "definitions/runtime/reference_machine.h"
#include "definitions/validator.h"

namespace treaty::testing {

Status AddPurchaseOrder(runtime::Registry* registry) {
  std::string path = std::string(TREATY_SOURCE_DIR) + "/examples/purchase-order/purchase-order.yaml";
  defs::Diagnostics diags(path);
  auto def = defs::CheckFile(path, &diags);
  if (!def) return Status::InvalidArgument(path + " does not load");
  return registry->Add(runtime::MakeReferenceRuntime(std::move(*def)));
}

std::string SubmitInput(const std::string& po_number) {
  return R"({"po_number":")" + po_number + R"(","items":[{"sku":"BOLT","qty":40}],"total":300})";
}

InProcessNetwork::InProcessNetwork(std::string dir, std::vector<std::string> parties, bool embedded)
    : dir_(std::move(dir)),
      parties_(std::move(parties)),
      embedded_(embedded),
      clock_(1'800'000'000'000),
      logger_(std::getenv("TREATY_TEST_ECHO_LOG") != nullptr),
      env_{&clock_, Env::Default()->random, &logger_},
      ledger_(&clock_) {
  definitions_ = AddPurchaseOrder(&registry_);
  network_.name = "inprocess";
  network_.claim_salt = std::string(64, 'c');
  for (const auto& p : parties_) {
    auto id = crypto::NewIdentity(p, "inproc://" + p);
    members_[p].identity = std::move(id).value();
    network_.members.push_back({p, members_[p].identity.key.public_key(), members_[p].identity.curve.public_z85,
                                "inproc://" + p});
  }
}

InProcessNetwork::~InProcessNetwork() {
  for (auto& [p, m] : members_) {
    if (m.node) m.node->Stop();
    m.node.reset();
  }
}

Status InProcessNetwork::Start() {
  TREATY_RETURN_IF_ERROR(definitions_);  // the definition every test runs
  for (const auto& p : parties_)
    if (!members_[p].node) TREATY_RETURN_IF_ERROR(StartMember(p));
  return Status::Ok();
}

Status InProcessNetwork::StartMember(const std::string& party) {
  Member& m = members_[party];
  std::filesystem::create_directories(data_dir(party));
  m.store = std::make_unique<engine::NodeStore>();
  TREATY_RETURN_IF_ERROR(m.store->Open(data_dir(party) + "/node.db", party, true, &env_));
  m.store->SetFaults(m.faults);
  engine::NodeOptions o;
  o.party = party;
  o.env = &env_;
  o.claim_salt = network_.claim_salt;
  chain::Ledger* ledger = nullptr;
  if (embedded_) {
    m.block_log = std::make_unique<engine::StoreBlockLog>(m.store.get());
    TREATY_ASSIGN_OR_RETURN(m.local, chain::LocalLedger::Open(m.block_log.get(), &clock_, "local"));
    ledger = m.local.get();
  } else {
    ledger = ledger_.Reader(party);
    if (parties_.size() > 1) {
      o.network = &network_;
      o.identity = &m.identity;
    }
  }
  m.node = std::make_unique<engine::Node>(o, m.store.get(), ledger, &registry_);
  m.node->SetOutboxListener([this, party](std::vector<engine::OutboxMessage> sent) {
    std::lock_guard<std::mutex> lock(mu_);
    for (auto& s : sent) queue_.push_back({party, std::move(s)});
  });
  return m.node->Start();
}

void InProcessNetwork::Crash(const std::string& party) {
  Member& m = members_[party];
  if (m.node) m.node->Stop();
  m.node.reset();
  m.local.reset();
  m.block_log.reset();
  m.store.reset();
}

void InProcessNetwork::SetFaults(const std::string& party, DbFaults* faults) {
  members_[party].faults = faults;
  if (members_[party].store) members_[party].store->SetFaults(faults);
}

void InProcessNetwork::Hold(std::function<bool(const Sent&)> held) {
  std::lock_guard<std::mutex> lock(mu_);
  held_ = std::move(held);
}

void InProcessNetwork::ReleaseHeld() {
  std::lock_guard<std::mutex> lock(mu_);
  held_ = nullptr;
}

std::vector<Sent> InProcessNetwork::Queued() {
  std::lock_guard<std::mutex> lock(mu_);
  return queue_;
}

int InProcessNetwork::Deliver(int rounds) {
  int handled = 0;
  for (int r = 0; r < rounds; ++r) {
    std::vector<Sent> now, later;
    {
      std::lock_guard<std::mutex> lock(mu_);
      for (auto& s : queue_) {
        bool keep = (held_ && held_(s)) || !members_[s.message.peer].node;
        (keep ? later : now).push_back(std::move(s));
      }
      queue_ = std::move(later);
    }
    if (now.empty()) break;
    bool progress = false;
    for (auto& s : now) {
      auto body = Value::FromJson(s.message.body);
      std::vector<engine::Node::Inbound> in;
      in.push_back({s.from, s.message.kind, body.ok() ? std::move(*body) : Value::Object()});
      std::vector<Status> st = node(s.message.peer).Receive(in);
      if (!st.empty() && st[0].ok()) {
        ++handled;
        progress = true;
      } else {
        std::lock_guard<std::mutex> lock(mu_);
        queue_.push_back(std::move(s));  // "not yet": the sender would resend
      }
    }
    if (!progress) break;
  }
  return handled;
}

bool InProcessNetwork::AllApplied(uint64_t height, std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    bool all = true;
    for (auto& [p, m] : members_)
      if (m.node && m.node->AppliedHeight() < height) all = false;
    if (all) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return false;
}

bool InProcessNetwork::Settle(std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    uint64_t height = embedded_ ? 0 : ledger_.Height();
    bool applied = AllApplied(height, std::chrono::milliseconds(50));
    Deliver();
    bool quiet;
    {
      std::lock_guard<std::mutex> lock(mu_);
      quiet = true;
      for (const auto& s : queue_)
        if (!(held_ && held_(s)) && members_[s.message.peer].node) quiet = false;
    }
    if (applied && quiet && AllApplied(height, std::chrono::milliseconds(1))) {
      // Nothing more came out of the last deliveries either.
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
      std::lock_guard<std::mutex> lock(mu_);
      bool still_quiet = true;
      for (const auto& s : queue_)
        if (!(held_ && held_(s)) && members_[s.message.peer].node) still_quiet = false;
      if (still_quiet) return true;
    }
  }
  return false;
}

}  // namespace treaty::testing
