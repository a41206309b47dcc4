#include "test_pki.h"

#include <sys/wait.h>

#include <cstdio>
#include <fstream>

namespace treaty::testing {

std::string RunShell(const std::string& cmd) {
  std::string out;
  FILE* p = popen((cmd + " 2>&1").c_str(), "r");
  if (p == nullptr) return "rc=127\npopen failed";
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
  int rc = pclose(p);
  return "rc=" + std::to_string(WEXITSTATUS(rc)) + "\n" + out;
}

std::string Sha256Hex(const std::string& s) {
  std::string out = RunShell("printf %s '" + s + "' | sha256sum");
  return out.substr(out.find('\n') + 1, 64);
}

std::string NewToken() {
  std::string out = RunShell("openssl rand -hex 32");
  return out.substr(out.find('\n') + 1, 64);
}

namespace {
constexpr const char* kNewKey = "-newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes";
}

TestPki::TestPki(std::string dir) : dir_(std::move(dir)) {
  if (!Run("mkdir -p " + dir_)) return;
  std::ofstream(Path("server-san.ext")) << "subjectAltName=IP:127.0.0.1,DNS:localhost\n";
  if (AddCa("ca", "treaty-test-ca")) IssueServer("node");
}

bool TestPki::AddCa(const std::string& name, const std::string& cn) {
  return Run(std::string("openssl req -x509 ") + kNewKey + " -keyout " + Path(name + ".key") + " -out " +
             Path(name + ".pem") + " -days 2 -subj /CN=" + cn);
}

bool TestPki::Issue(const std::string& name, const std::string& cn, const std::string& ca, const std::string& days,
                    const std::string& extra) {
  return Run(std::string("openssl req -new ") + kNewKey + " -keyout " + Path(name + ".key") + " -out " +
             Path(name + ".csr") + " -subj /CN=" + cn) &&
         Run("openssl x509 -req -in " + Path(name + ".csr") + " -CA " + Path(ca + ".pem") + " -CAkey " +
             Path(ca + ".key") + " -CAcreateserial -out " + Path(name + ".pem") + " -days " + days + " " + extra);
}

bool TestPki::IssueServer(const std::string& name) {
  return Issue(name, name, "ca", "2", "-extfile " + Path("server-san.ext"));
}

std::string TestPki::Fingerprint(const std::string& name) const {
  std::string out = RunShell("openssl x509 -noout -fingerprint -sha256 -in " + Path(name + ".pem"));
  return out.substr(out.find('=', out.find('\n')) + 1, 95);
}

bool TestPki::Run(const std::string& cmd) {
  if (!ok()) return false;
  std::string out = RunShell(cmd);
  if (out.rfind("rc=0", 0) != 0) error_ = cmd + "\n" + out;
  return ok();
}

std::string TokensYaml(const std::vector<TestToken>& tokens) {
  std::string yaml = "tokens:\n";
  for (const auto& t : tokens) {
    yaml += "  - name: " + t.name + "\n    sha256: " + Sha256Hex(t.secret) + "\n";
    if (!t.expires.empty()) yaml += "    expires: " + t.expires + "\n";
    if (!t.user.empty()) yaml += "    user: " + t.user + "\n";
  }
  return yaml;
}

}  // namespace treaty::testing
