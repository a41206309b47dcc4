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

grpc::Status Authenticator::Process(const InputMetadata& md, grpc::AuthContext* context, OutputMetadata*,
                                    OutputMetadata*) {
  auto path_it = md.find(":path");
  std::string path = path_it == md.end() ? "?" : Str(path_it->second);
  if (path.rfind("/grpc.health.v1.Health/", 0) == 0) return grpc::Status::OK;

  // The token stays in the call's metadata (not consumed): the handlers'
  // checks identify the caller from it again (caller.h says why).
  auto auth = md.find("authorization");
  std::string bearer;
  if (auth != md.end()) bearer = Str(auth->second);
  Result<Caller> caller = identify_->Identify(auth != md.end() ? &bearer : nullptr, *context);
  if (!caller.ok()) return Refuse(path, caller.status().message());
  if (caller->by_certificate && access_ != nullptr) {
    std::shared_ptr<const AccessPolicy> policy = access_->Get();
    if (!policy->revoked_certificates.empty()) {
      std::string fp = CertificateFingerprint(FirstProperty(*context, GRPC_X509_PEM_CERT_PROPERTY_NAME));
      if (fp.empty() || policy->revoked_certificates.count(fp))
        return Refuse(path, "the client certificate of '" + caller->client + "' (sha256 " + fp + ") is revoked");
    }
  }
  return grpc::Status::OK;
}

}  // namespace treaty::engine::access
