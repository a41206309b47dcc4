#include "engine/access/authenticator.h"

#include <openssl/pem.h>
#include <openssl/x509.h>

#include <google/protobuf/descriptor.h>
#include <grpc/grpc_security_constants.h>

#include <algorithm>

#include "definitions/base/sha256.h"
#include "engine/access/caller.h"

namespace treaty::engine::access {
namespace {

std::string Str(grpc::string_ref s) { return std::string(s.data(), s.size()); }

std::string First(const grpc::AuthContext& ctx, const char* name) {
  auto v = ctx.FindPropertyValues(name);
  return v.empty() ? "" : Str(v.front());
}

}  // namespace

std::string CertificateFingerprint(const std::string& pem) {
  BIO* bio = BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size()));
  if (bio == nullptr) return "";
  X509* cert = PEM_read_bio_X509(bio, nullptr, nullptr, nullptr);
  BIO_free(bio);
  if (cert == nullptr) return "";
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int n = 0;
  int ok = X509_digest(cert, EVP_sha256(), md, &n);
  X509_free(cert);
  return ok == 1 ? ToHex(md, n) : "";
}

grpc::Status Authenticator::Refuse(const std::string& path, const std::string& why) {
  env_->Log("access", "refused a call to " + path + ": " + why, LogLevel::kWarning);
  if (metrics_ != nullptr) {
    // The method as a label only when the API has it: a caller picks the
    // path, and labels must stay a small set.
    std::string method = path.size() > 1 ? path.substr(1) : "";
    std::replace(method.begin(), method.end(), '/', '.');
    const google::protobuf::MethodDescriptor* known =
        google::protobuf::DescriptorPool::generated_pool()->FindMethodByName(method);
    metrics_->CallRefused(known ? known->name() : "unknown", "unauthenticated");
  }
  return grpc::Status(grpc::UNAUTHENTICATED, why);
}

grpc::Status Authenticator::Process(const InputMetadata& md, grpc::AuthContext* context, OutputMetadata* consumed,
                                    OutputMetadata*) {
  auto path_it = md.find(":path");
  std::string path = path_it == md.end() ? "?" : Str(path_it->second);
  if (path.rfind("/grpc.health.v1.Health/", 0) == 0) return grpc::Status::OK;

  auto auth = md.find("authorization");
  if (auth != md.end()) {
    std::string value = Str(auth->second);
    consumed->insert({"authorization", value});  // handlers never see the token
    if (tokens_ == nullptr) return Refuse(path, "this node accepts no bearer tokens (it was started without --tokens)");
    constexpr std::string_view kBearer = "Bearer ";
    if (value.rfind(kBearer, 0) != 0 || value.size() == kBearer.size())
      return Refuse(path, "the authorization metadata must be 'Bearer <token>'");
    std::shared_ptr<const TokenSet> set = tokens_->Get();
    auto it = set->by_hash.find(TokenHash(value.substr(kBearer.size())));
    if (it == set->by_hash.end()) return Refuse(path, "unknown or revoked bearer token");
    const TokenEntry& t = it->second;
    if (t.expires_ms && env_->NowMs() >= *t.expires_ms)
      return Refuse(path, "the bearer token of client '" + t.name + "' expired at " + t.expires_text);
    context->AddProperty(kClientProperty, t.name);
    if (!t.user.empty()) context->AddProperty(kUserProperty, t.user);
    context->SetPeerIdentityPropertyName(kClientProperty);
    return grpc::Status::OK;
  }

  // The handshake verified any certificate against --tls-client-ca.
  std::string cn = certificates_ ? First(*context, GRPC_X509_CN_PROPERTY_NAME) : "";
  if (!cn.empty()) {
    if (access_ != nullptr) {
      std::shared_ptr<const AccessPolicy> policy = access_->Get();
      if (!policy->revoked_certificates.empty()) {
        std::string fp = CertificateFingerprint(First(*context, GRPC_X509_PEM_CERT_PROPERTY_NAME));
        if (fp.empty() || policy->revoked_certificates.count(fp))
          return Refuse(path, "the client certificate of '" + cn + "' (sha256 " + fp + ") is revoked");
      }
    }
    if (!ValidIdentity(cn)) return Refuse(path, "the client certificate's CN '" + cn + "' is not a valid client name");
    context->AddProperty(kClientProperty, cn);
    context->SetPeerIdentityPropertyName(kClientProperty);
    return grpc::Status::OK;
  }
  std::string ways = certificates_ && tokens_ ? "a client certificate or a bearer token ('authorization: Bearer <token>')"
                     : certificates_          ? "a client certificate"
                                              : "a bearer token ('authorization: Bearer <token>')";
  return Refuse(path, "this node needs " + ways + " on every call");
}

}  // namespace treaty::engine::access
