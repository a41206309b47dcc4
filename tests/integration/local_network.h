// LocalNetwork: a real multi-party network for tests: keys made with
// `treatyd init` and `treaty-sequencer init`, a network file, one
// treaty-sequencer process and N treatyd processes on 127.0.0.1, each
// stopped (or killed) by its PID. Also the raw pieces tests need to play a
// misbehaving member: a party's identity file and a CURVE connection to a
// member's data-exchange endpoint.
//
// The nodes' APIs are secure by default (docs/security.md), as a real
// network's: a test CA (made with openssl at construction, test_pki.h)
// signs each node's certificate for 127.0.0.1; each party has one client,
// "PARTY-client", with a bearer token (DIR/PARTY.token, mode 0600) in the
// node's tokens file and every permission in its access file; node(p)'s
// channel() presents TLS and that token, and client_flags(p) are the same
// as flags for the `treaty` CLI, treaty-web and treaty-webhook. A test
// that wants the plaintext development mode passes "--plaintext" in
// `treatyd_args`; TREATY_TEST_API=plaintext in the environment turns it
// off for a whole run (to compare run times).
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "definitions/base/sha256.h"
#include "definitions/base/signing_key.h"
#include "treatyd_process.h"

namespace treaty::testing {

class AnvilProcess;
class TestPki;

// The ledger a LocalNetwork orders on: a treaty-sequencer, or the pin
// contract on a real anvil (deployed and funded with treaty-eth at Start).
struct EthereumSetup {
  int block_time_s = 1;      // 0: a block per transaction
  bool no_mining = false;    // blocks only when a test mines them
  uint64_t confirmations = 1;
  bool fund = true;          // members' accounts funded at Start
  // Accounts on the contract's allow-list beyond the members (a test's
  // outsider that the network file does not list).
  std::vector<std::string> extra_allowed;  // 0x addresses
};

class LocalNetwork {
 public:
  // Parties default to buyer, seller, bank.
  // `node_args` go to every treatyd and the sequencer (e.g. --sync normal),
  // `treatyd_args` to the treatyd processes only (e.g. --definitions DIR).
  explicit LocalNetwork(const std::string& dir, std::vector<std::string> parties = {"buyer", "seller", "bank"},
                        std::vector<std::string> node_args = {}, std::vector<std::string> treatyd_args = {});
  // The same network on the Ethereum ledger: anvil instead of the sequencer.
  LocalNetwork(const std::string& dir, EthereumSetup ethereum, std::vector<std::string> parties = {"buyer", "seller", "bank"},
               std::vector<std::string> treatyd_args = {});
  ~LocalNetwork();

  // Starts the sequencer and every node; false on the first failure.
  bool Start();
  ChildProcess& sequencer() { return *sequencer_; }
  bool on_ethereum() const { return anvil_ != nullptr; }
  // Sends each member's account 100 ether from anvil's first account.
  bool FundMembers();
  AnvilProcess& anvil() { return *anvil_; }
  TreatydProcess& node(const std::string& party) { return *nodes_.at(party); }
  const std::vector<std::string>& parties() const { return parties_; }
  std::string data_dir(const std::string& party) const { return dir_ + "/" + party; }
  std::string exchange_endpoint(const std::string& party) const { return endpoints_.at(party); }
  std::string sequencer_endpoint() const { return "tcp://127.0.0.1:" + std::to_string(sequencer_port_); }
  nlohmann::json identity(const std::string& party) const;
  const std::string& network_file() const { return network_file_; }
  // TLS and tokens on (the default), or --plaintext.
  bool secure() const { return secure_; }
  // The test CA's certificate that verifies every node ("" when plaintext).
  std::string ca_file() const { return secure_ ? dir_ + "/pki/ca.pem" : ""; }
  // The file holding the token of PARTY's client ("" when plaintext).
  std::string token_file(const std::string& party) const { return secure_ ? dir_ + "/" + party + ".token" : ""; }
  // --tls-ca FILE --token-file FILE for a client program of PARTY's node (none when plaintext).
  std::vector<std::string> client_flags(const std::string& party) const;

 private:
  void WriteNetworkFile(std::string head);
  // In secure mode: the PKI, tokens and access files; the node's TLS
  // arguments appended to `args`; its client's security. False with
  // setup_error_ set on failure.
  bool SecureNode(const std::string& party, std::vector<std::string>* args, adapters::ClientSecurity* client);
  std::string dir_;
  std::vector<std::string> parties_;
  std::map<std::string, std::string> endpoints_;
  std::map<std::string, std::unique_ptr<TreatydProcess>> nodes_;
  std::unique_ptr<ChildProcess> sequencer_;
  std::unique_ptr<AnvilProcess> anvil_;
  EthereumSetup ethereum_;
  int sequencer_port_ = 0;
  std::string network_file_;
  bool secure_ = true;
  std::unique_ptr<TestPki> pki_;
  std::string setup_error_;  // reported by Start()
};

// Sends one data-exchange message to `to` as the holder of `curve_public`
// and `curve_secret`; returns the receipt's JSON, or an empty object if
// none came within the timeout (a refused connection gets none).
nlohmann::json SendAsPeer(const std::string& endpoint, const std::string& server_curve_key,
                          const std::string& curve_public, const std::string& curve_secret,
                          const nlohmann::json& message, int timeout_ms = 3000);

// Submits a batch of pins to the sequencer as `author`, signed with `key`
// over the batch digest (docs/protocol.md); returns the reply (with
// "height" once the batch is in a stored block), or {} after 5 s.
nlohmann::json SubmitBatch(const std::string& endpoint, const std::string& author, const std::vector<Digest>& pins,
                           const crypto::SigningKey& key);

// Rows of a node's SQLite database (read-only; safe while the node runs).
std::vector<std::vector<std::string>> QueryDb(const std::string& path, const std::string& sql);

}  // namespace treaty::testing
