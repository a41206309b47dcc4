// What the node's gRPC services share: turning the node's statuses and rows
// into the API's messages, and a small pool for calls that must block
// (waits for every member's attestation) off gRPC's callback threads.
//
// Thread-safety: the functions are pure; BlockingPool::Run may be called
// from any thread.
#pragma once

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <grpcpp/grpcpp.h>
#include <nlohmann/json.hpp>

#include "engine/node.h"
#include "treaty/v1/treaty.pb.h"

namespace treaty::engine::service {

namespace pb = ::treaty::v1;
using json = nlohmann::json;

inline grpc::Status ToGrpc(const Status& st) {
  if (st.ok()) return grpc::Status::OK;
  return grpc::Status(static_cast<grpc::StatusCode>(st.code()), st.message());
}

inline std::vector<std::string> JsonStrings(const std::string& text) {
  std::vector<std::string> out;
  auto j = json::parse(text, nullptr, false);
  if (j.is_array())
    for (const auto& e : j)
      if (e.is_string()) out.push_back(e.get<std::string>());
  return out;
}

inline void FillInstance(const InstanceRow& r, pb::Instance* out) {
  out->set_instance_id(r.id);
  out->set_definition(r.definition);
  out->set_version(r.version);
  out->set_definition_hash(r.def_hash);
  for (const auto& s : JsonStrings(r.states_json)) out->add_states(s);
  out->set_data_json(r.data_json);
  out->set_final(r.final);
  out->set_position(static_cast<uint64_t>(r.position));
  out->set_ledger_height(static_cast<uint64_t>(r.height));
  for (const auto& [role, party] : r.roles) {
    auto* b = out->add_roles();
    b->set_role(role);
    b->set_party(party);
  }
  out->set_state_hash(r.state_hash);
  out->set_created_ms(r.created_ms);
  out->set_updated_ms(r.updated_ms);
}

inline pb::Outcome OutcomeOf(ProposalStatus status) {
  if (status == ProposalStatus::kConfirmed) return pb::CONFIRMED;
  if (status == ProposalStatus::kRejected) return pb::REJECTED;
  return pb::PENDING;
}

inline std::string CodeText(RejectCode c) { return c == RejectCode::kNone ? "" : RejectCodeName(c); }

// A waited-for step the ledger rejected: the rejection's code and `text`,
// with a StepRejection in the status details (treaty.proto) so clients
// need not read the text to know it was the ledger.
inline grpc::Status RejectedStatus(const ProposalRow& p, const std::string& text) {
  auto code = static_cast<grpc::StatusCode>(StatusForReject(p.reject_code));
  pb::StepRejection r;
  r.set_proposal_id(p.id);
  r.set_instance_id(p.instance);
  r.set_step(p.step);
  r.set_reject_code(CodeText(p.reject_code));
  r.set_reason(p.reason);
  r.set_ledger_height(static_cast<uint64_t>(p.height));
  pb::RpcStatus details;
  details.set_code(static_cast<int32_t>(code));
  details.set_message(text);
  pb::AnyDetail* any = details.add_details();
  any->set_type_url("type.googleapis.com/" + pb::StepRejection::descriptor()->full_name());
  any->set_value(r.SerializeAsString());
  return grpc::Status(code, text, details.SerializeAsString());
}

// Runs the calls that must block (a wait for every member's attestation)
// off gRPC's callback threads, a few at a time.
class BlockingPool {
 public:
  explicit BlockingPool(int threads) {
    for (int i = 0; i < threads; ++i) threads_.emplace_back([this] { Loop(); });
  }
  ~BlockingPool() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      stop_ = true;
    }
    cv_.notify_all();
    for (auto& t : threads_) t.join();
  }
  void Run(std::function<void()> work) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      queue_.push_back(std::move(work));
    }
    cv_.notify_one();
  }

 private:
  void Loop() {
    std::unique_lock<std::mutex> lock(mu_);
    while (true) {
      cv_.wait(lock, [&] { return stop_ || !queue_.empty(); });
      if (queue_.empty()) return;  // stopping, nothing left
      auto work = std::move(queue_.front());
      queue_.pop_front();
      lock.unlock();
      work();
      lock.lock();
    }
  }
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::function<void()>> queue_;
  bool stop_ = false;
  std::vector<std::thread> threads_;
};


// A search's page: `page_size` (default 50, at most 1000) and the offset a
// `page_token` holds; INVALID_ARGUMENT for a token that is not one.
inline grpc::Status ParsePage(int32_t page_size, const std::string& token, int64_t* offset, int64_t* size) {
  constexpr int64_t kMaxOffset = 1'000'000'000;  // the deepest page a token reaches
  *size = page_size <= 0 ? 50 : std::min<int64_t>(page_size, 1000);
  *offset = 0;
  if (token.empty()) return grpc::Status::OK;
  char* end = nullptr;
  *offset = std::strtoll(token.c_str(), &end, 10);
  if (*end != '\0' || *offset < 0 || *offset > kMaxOffset)
    return grpc::Status(grpc::INVALID_ARGUMENT, "invalid page_token");
  return grpc::Status::OK;
}

// With `all` and an applied proposal: waits for the members' attestations
// until `deadline` and reports them in *status; for a rejection, whose
// answer is an error status, *note says the same in words.
grpc::Status AwaitAttestations(Node* node, bool all, bool wait, std::chrono::steady_clock::time_point deadline,
                               const ProposalRow& p, std::optional<pb::AttestationStatus>* status, std::string* note);

}  // namespace treaty::engine::service
