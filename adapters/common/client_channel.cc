#include "adapters/common/client_channel.h"

#include <fstream>
#include <sstream>

#include <grpcpp/support/client_interceptor.h>

namespace treaty::adapters {
namespace {

bool ReadAll(const std::string& path, const char* flag, std::string* out, std::string* err) {
  std::ifstream f(path);
  if (!f) {
    *err = std::string(flag) + " " + path + ": cannot read the file";
    return false;
  }
  std::stringstream s;
  s << f.rdbuf();
  *out = s.str();
  return true;
}

class BearerToken final : public grpc::experimental::Interceptor {
 public:
  explicit BearerToken(const std::string& header) : header_(header) {}
  void Intercept(grpc::experimental::InterceptorBatchMethods* m) override {
    if (m->QueryInterceptionHookPoint(grpc::experimental::InterceptionHookPoints::PRE_SEND_INITIAL_METADATA))
      m->GetSendInitialMetadata()->insert({"authorization", header_});
    m->Proceed();
  }

 private:
  const std::string& header_;
};

class BearerTokenFactory final : public grpc::experimental::ClientInterceptorFactoryInterface {
 public:
  explicit BearerTokenFactory(std::string token) : header_("Bearer " + std::move(token)) {}
  grpc::experimental::Interceptor* CreateClientInterceptor(grpc::experimental::ClientRpcInfo*) override {
    return new BearerToken(header_);
  }

 private:
  const std::string header_;  // lives with the channel, which owns the factory
};

}  // namespace

std::string ReadTokenFile(const std::string& path, std::string* err) {
  std::string text;
  if (!ReadAll(path, "--token-file", &text, err)) return "";
  std::string line = text.substr(0, text.find('\n'));
  auto b = line.find_first_not_of(" \t\r");
  auto e = line.find_last_not_of(" \t\r");
  if (b == std::string::npos) {
    *err = "--token-file " + path + ": the first line holds no token";
    return "";
  }
  return line.substr(b, e - b + 1);
}

std::optional<ClientChannelConfig> ReadClientChannelConfig(const ClientSecurity& s, std::string* err) {
  ClientChannelConfig c;
  if (s.tls()) {
    grpc::SslCredentialsOptions ssl;
    if (!s.tls_ca.empty() && !ReadAll(s.tls_ca, "--tls-ca", &ssl.pem_root_certs, err)) return std::nullopt;
    if (s.tls_cert.empty() != s.tls_key.empty()) {
      *err = "--tls-cert and --tls-key go together (the client certificate and its key)";
      return std::nullopt;
    }
    if (!s.tls_cert.empty() && (!ReadAll(s.tls_cert, "--tls-cert", &ssl.pem_cert_chain, err) ||
                                !ReadAll(s.tls_key, "--tls-key", &ssl.pem_private_key, err)))
      return std::nullopt;
    c.credentials = grpc::SslCredentials(ssl);
    if (!s.tls_server_name.empty()) c.arguments.SetSslTargetNameOverride(s.tls_server_name);
  } else {
    c.credentials = grpc::InsecureChannelCredentials();
  }
  c.token = s.token;
  return c;
}

std::shared_ptr<grpc::Channel> MakeClientChannel(const std::string& target, const ClientChannelConfig& c) {
  std::vector<std::unique_ptr<grpc::experimental::ClientInterceptorFactoryInterface>> interceptors;
  if (!c.token.empty()) interceptors.push_back(std::make_unique<BearerTokenFactory>(c.token));
  return grpc::experimental::CreateCustomChannelWithInterceptors(target, c.credentials, c.arguments,
                                                                 std::move(interceptors));
}

std::shared_ptr<grpc::Channel> MakeClientChannel(const std::string& target, const ClientSecurity& s,
                                                 std::string* err) {
  auto c = ReadClientChannelConfig(s, err);
  if (!c) return nullptr;
  return MakeClientChannel(target, *c);
}

}  // namespace treaty::adapters
