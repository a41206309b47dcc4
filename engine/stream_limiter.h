// StreamLimiter: at most N long-lived streams (Events.Subscribe,
// Jobs.StreamJobs) open at once per client, so that one client cannot hold
// every request thread and subscription of the node (docs/limits.md). A
// client is its authenticated identity when the call has one, else its
// peer address without the port (ClientIdentity).
//
// Thread-safety: thread-safe; a Slot may be released on any thread.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include <grpcpp/grpcpp.h>

#include "definitions/base/status.h"
#include "engine/access/caller.h"

namespace treaty::engine {

// The authenticated identity of the caller (`caller`: a token's name, a
// client certificate's CN), else the peer address without its port
// ("ipv4:127.0.0.1").
std::string ClientIdentity(const grpc::ServerContextBase& ctx, const std::optional<access::Caller>& caller);

class StreamLimiter {
 public:
  explicit StreamLimiter(int64_t max_per_client) : max_(max_per_client) {}

  // Holds one of its client's streams; released when destroyed.
  class Slot {
   public:
    Slot(StreamLimiter* owner, std::string client) : owner_(owner), client_(std::move(client)) {}
    Slot(const Slot&) = delete;
    Slot& operator=(const Slot&) = delete;
    ~Slot() { owner_->Release(client_); }

   private:
    StreamLimiter* owner_;
    std::string client_;
  };

  // A slot for `client`, or RESOURCE_EXHAUSTED naming the limit (logged by
  // the caller) when it already holds max_per_client streams.
  Result<std::unique_ptr<Slot>> Acquire(const std::string& client, const char* call);
  int64_t open(const std::string& client) const;
  int64_t max_per_client() const { return max_; }

 private:
  void Release(const std::string& client);
  const int64_t max_;
  mutable std::mutex mu_;
  std::map<std::string, int64_t> open_;  // mu_
};

}  // namespace treaty::engine
