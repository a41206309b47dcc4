#include "engine/stream_limiter.h"

#include "engine/access/caller.h"

namespace treaty::engine {

std::string ClientIdentity(const grpc::ServerContextBase& ctx, const std::optional<access::Caller>& caller) {
  if (caller) return caller->client;
  // "ipv4:127.0.0.1:50000", "ipv6:[::1]:50000": one client, many ports.
  std::string peer = ctx.peer();
  auto colon = peer.rfind(':');
  auto scheme = peer.find(':');
  if (colon != std::string::npos && colon != scheme) peer.resize(colon);
  return peer;
}

Result<std::unique_ptr<StreamLimiter::Slot>> StreamLimiter::Acquire(const std::string& client, const char* call) {
  std::lock_guard<std::mutex> lock(mu_);
  int64_t& n = open_[client];
  if (n >= max_)
    return Status::ResourceExhausted(std::string(call) + ": client '" + client + "' already has " +
                                     std::to_string(n) + " streams open (Subscribe and StreamJobs), the limit of "
                                     "max_streams_per_client = " + std::to_string(max_));
  ++n;
  return std::make_unique<Slot>(this, client);
}

int64_t StreamLimiter::open(const std::string& client) const {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = open_.find(client);
  return it == open_.end() ? 0 : it->second;
}

void StreamLimiter::Release(const std::string& client) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = open_.find(client);
  if (it != open_.end() && --it->second <= 0) open_.erase(it);
}

}  // namespace treaty::engine
