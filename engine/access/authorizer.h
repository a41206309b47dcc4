// Authorizer: the one place the gRPC services ask whether the caller may
// do what a call asks (docs/security.md, "Permissions"). Each check
// answers OK or PERMISSION_DENIED with a message naming the caller and
// what it lacks ("client 'alice' may not trigger step 'accept' of
// purchase-order (role seller)"); a refusal is logged with the caller's
// identity. Services check before they change anything, so a refused
// call changes nothing.
//
// Three modes: open (no authentication, --plaintext alone: every caller is
// "local" and may do everything, the development mode), authenticated
// without an access file (every authenticated client may do everything),
// and authenticated with an access file (each client what it grants;
// a client it does not list may do nothing).
//
// Thread-safety: every method may be called from any thread; a check
// reads the access file's current snapshot once.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <set>
#include <string>

#include <grpcpp/grpcpp.h>

#include "definitions/base/env.h"
#include "definitions/model.h"
#include "engine/access/access_policy.h"
#include "engine/metrics/node_metrics.h"
#include "engine/access/caller.h"
#include "engine/access/watched_file.h"

namespace treaty::engine::access {

class Authorizer {
 public:
  // Open: no authentication.
  static const Authorizer& Open();
  // Authenticated callers, named by `identify`; `access` null: each may do
  // everything.
  Authorizer(const CallerIdentifier* identify, const WatchedFile<AccessPolicy>* access, Env* env)
      : open_(false), identify_(identify), access_(access), env_(env) {}

  // True in the development mode: services may skip the lookups a check needs.
  bool open() const { return open_; }
  // Where refusals are counted (metrics' refused calls); set before serving.
  void SetMetrics(NodeMetrics* metrics) { metrics_ = metrics; }

  // Any caller the access file lists (definitions, acknowledging events).
  grpc::Status Listed(const grpc::ServerContextBase& ctx) const;
  // Starting an instance: any role of the definition.
  grpc::Status Start(const grpc::ServerContextBase& ctx, const std::string& definition) const;
  // A step: one of the roles in its `by`.
  grpc::Status Trigger(const grpc::ServerContextBase& ctx, const defs::Definition& def,
                       const defs::StepSpec& step) const;
  // Instances, history and events of a definition: a role of it, or reading all.
  grpc::Status ReadProcess(const grpc::ServerContextBase& ctx, const std::string& definition) const;
  // A listing over every definition, queue or type ("list instances ...").
  grpc::Status ReadAll(const grpc::ServerContextBase& ctx, const std::string& what) const;
  // A task queue; `verb` words the refusal ("claim tasks of queue 'q'").
  // How a call uses a queue or job type: reading it (also granted by
  // read_only and operator), administering it (assign, update, unclaim,
  // retries, leases: also granted by operator), or working it (claim,
  // complete, activate, fail, throw: only by the queue's or type's grant).
  enum class Use { kRead, kAdminister, kWork };
  grpc::Status Queue(const grpc::ServerContextBase& ctx, const std::string& queue, Use use,
                     const std::string& verb) const;
  // A job type; `verb` words the refusal ("activate jobs of type 't'").
  grpc::Status JobType(const grpc::ServerContextBase& ctx, const std::string& type, Use use,
                       const std::string& verb) const;
  // Node status, incidents: operator or read_only when `read`, operator otherwise.
  grpc::Status Node(const grpc::ServerContextBase& ctx, const std::string& what, bool read) const;

  // The assignee a task call acts for. With an authenticated user it is
  // that user: `requested` empty becomes the user, another name is refused
  // unless the caller is an operator. Without a user, `requested` as is.
  grpc::Status Assignee(const grpc::ServerContextBase& ctx, const std::string& requested, const std::string& verb,
                        std::string* out) const;
  // Whether the caller may act on a task held by `holder` (another user's
  // claim: operators only). OK without a user.
  grpc::Status Holder(const grpc::ServerContextBase& ctx, const std::string& holder, const std::string& verb) const;

  // The call's caller: nullopt when open or when the call has no valid
  // credential (the stream limits count by it).
  std::optional<Caller> CallerOf(const grpc::ServerContextBase& ctx) const;

  // For the event stream: whether an event of a definition is shown.
  std::function<bool(const std::string& definition)> EventFilter(const grpc::ServerContextBase& ctx) const;

 private:
  Authorizer() : open_(true), identify_(nullptr), access_(nullptr), env_(nullptr) {}

  // The caller and its grants (null: every permission), or the refusal.
  struct Who {
    Caller caller;
    bool unlisted = false;                       // not in the access file: nothing is granted
    std::shared_ptr<const AccessPolicy> policy;  // keeps `grants` alive
    const ClientGrants* grants = nullptr;        // null: every permission
  };
  grpc::Status Identify(const grpc::ServerContextBase& ctx, Who* who) const;
  // OK when `why_not` (given the caller's grants) says nothing; otherwise
  // the refusal "<caller> may not <what>[: <why>]".
  grpc::Status Decide(const grpc::ServerContextBase& ctx, const std::string& what,
                      const std::function<std::optional<std::string>(const ClientGrants&)>& why_not) const;
  grpc::Status Refuse(const Who& who, const std::string& what, const std::string& why) const;

  const bool open_;
  const CallerIdentifier* identify_;
  const WatchedFile<AccessPolicy>* access_;
  Env* env_;
  NodeMetrics* metrics_ = nullptr;
};

}  // namespace treaty::engine::access
