// Test certificates and tokens made at run time (docs/security.md, "Test
// certificates"): TestPki runs `openssl` (EC P-256) in a folder to make a
// CA and certificates it signs; TokensYaml writes a node's tokens file from
// tokens and their SHA-256. Shared by security_test and LocalNetwork's
// secure mode, so both make certificates the same way.
//
// Thread-safety: a TestPki is used from one thread; the free functions are
// pure apart from the processes they run.
#pragma once

#include <string>
#include <vector>

namespace treaty::testing {

// Runs `cmd` in a shell; "rc=N\n" followed by its stdout and stderr.
std::string RunShell(const std::string& cmd);

// The SHA-256 of `s` as 64 lowercase hex digits (as `sha256sum` prints it).
std::string Sha256Hex(const std::string& s);

// A fresh secret: 32 random bytes as hex (`openssl rand -hex 32`).
std::string NewToken();

class TestPki {
 public:
  // Makes the CA `ca` (ca.pem, ca.key) and `node` (node.pem, node.key),
  // the node's certificate for IP 127.0.0.1 and DNS localhost, in `dir`.
  explicit TestPki(std::string dir);

  // False once an openssl call failed; error() says which and why.
  bool ok() const { return error_.empty(); }
  const std::string& error() const { return error_; }

  // Another self-signed CA `name` (NAME.pem, NAME.key) with subject CN `cn`.
  bool AddCa(const std::string& name, const std::string& cn);
  // NAME.pem and NAME.key with subject CN `cn`, signed by the CA `ca`,
  // valid `days` days (-1: already expired); `extra` goes to `openssl x509`.
  bool Issue(const std::string& name, const std::string& cn, const std::string& ca = "ca",
             const std::string& days = "2", const std::string& extra = "");
  // NAME.pem and NAME.key for a server on 127.0.0.1 and localhost.
  bool IssueServer(const std::string& name);

  std::string Path(const std::string& file) const { return dir_ + "/" + file; }
  // The certificate NAME.pem's SHA-256 fingerprint as openssl prints it (AA:BB:...).
  std::string Fingerprint(const std::string& name) const;

 private:
  bool Run(const std::string& cmd);
  std::string dir_;
  std::string error_;
};

// A token of a tokens file (docs/security.md, "The tokens file").
struct TestToken {
  std::string name, secret, expires, user;  // expires, user: "" when none
};
// The tokens file's YAML for these tokens (their hashes, never the secrets).
std::string TokensYaml(const std::vector<TestToken>& tokens);

}  // namespace treaty::testing
