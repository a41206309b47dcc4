// Authenticator: gRPC's AuthMetadataProcessor for the node's API. It runs
// for every call before any handler and refuses the call with
// UNAUTHENTICATED unless it has a valid credential (CallerIdentifier,
// caller.h, which the handlers ask again; the Authenticator writes nothing
// into the connection's AuthContext):
//   - `authorization: Bearer <token>` metadata: the token's SHA-256 must be
//     in the tokens file and not expired; the token's name is the client
//     (a present but bad token is refused even with a good certificate);
//   - otherwise a client certificate verified by the TLS handshake against
//     --tls-client-ca: its subject CN is the client, unless its SHA-256
//     fingerprint is in the access file's revoked_certificates;
//   - otherwise the call is refused.
// The health service (/grpc.health.v1.Health/) needs no credentials.
//
// Thread-safety: gRPC calls Process from many threads; it reads only the
// WatchedFiles' current snapshots.
#pragma once

#include <grpcpp/security/auth_metadata_processor.h>

#include "definitions/base/env.h"
#include "engine/access/access_policy.h"
#include "engine/access/caller.h"
#include "engine/access/token_file.h"
#include "engine/access/watched_file.h"
#include "engine/metrics/node_metrics.h"

namespace treaty::engine::access {

class Authenticator final : public grpc::AuthMetadataProcessor {
 public:
  // `identify` names callers (and knows which credentials the node takes);
  // `access` null: no certificate is revoked.
  Authenticator(const CallerIdentifier* identify, const WatchedFile<AccessPolicy>* access, Env* env)
      : identify_(identify), access_(access), env_(env) {}

  bool IsBlocking() const override { return false; }  // lookups in memory only
  // Where refusals are counted (metrics' refused calls); set before serving.
  void SetMetrics(NodeMetrics* metrics) { metrics_ = metrics; }
  grpc::Status Process(const InputMetadata& auth_metadata, grpc::AuthContext* context,
                       OutputMetadata* consumed_auth_metadata, OutputMetadata* response_metadata) override;

 private:
  grpc::Status Refuse(const std::string& path, const std::string& why);

  const CallerIdentifier* identify_;
  const WatchedFile<AccessPolicy>* access_;
  Env* env_;
  NodeMetrics* metrics_ = nullptr;
};

// The SHA-256 fingerprint (lowercase hex) of a PEM certificate, as
// `openssl x509 -noout -fingerprint -sha256` prints it less the colons;
// "" if it does not parse.
std::string CertificateFingerprint(const std::string& pem);

}  // namespace treaty::engine::access
