#include "local_network.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <sqlite3.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <sstream>
#include <thread>

#include <zmq.hpp>

#include "anvil_process.h"
#include "chain/ethereum/json_rpc.h"
#include "test_pki.h"

namespace treaty::testing {

namespace {

std::string Run(const std::string& cmd) {
  std::string out;
  FILE* p = popen(cmd.c_str(), "r");
  if (p == nullptr) return out;
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
  pclose(p);
  return out;
}

}  // namespace

// Keys and endpoints for every party (`treatyd init`), listed under
// `members:` after `head`, in network.yaml.
void LocalNetwork::WriteNetworkFile(std::string yaml) {
  for (const auto& p : parties_) {
    endpoints_[p] = "tcp://127.0.0.1:" + std::to_string(FreePort());
    std::string entry = Run(std::string(TREATY_TREATYD) + " init --data " + data_dir(p) + " --party " + p +
                            " --endpoint " + endpoints_[p]);
    std::istringstream lines(entry);
    for (std::string line; std::getline(lines, line);) yaml += "  " + line + "\n";
  }
  network_file_ = dir_ + "/network.yaml";
  std::ofstream(network_file_) << yaml;
}

namespace {
// --plaintext among the arguments, or TREATY_TEST_API=plaintext in the
// environment (to compare a test's run time and behaviour without TLS).
bool AsksPlaintext(const std::vector<std::string>& args) {
  if (const char* api = std::getenv("TREATY_TEST_API"); api != nullptr && std::string(api) == "plaintext") return true;
  return std::find(args.begin(), args.end(), "--plaintext") != args.end();
}
}  // namespace

std::vector<std::string> LocalNetwork::client_flags(const std::string& party) const {
  if (!secure_) return {};
  return {"--tls-ca", ca_file(), "--token-file", token_file(party)};
}

bool LocalNetwork::SecureNode(const std::string& party, std::vector<std::string>* args,
                              adapters::ClientSecurity* client) {
  if (!secure_) return true;
  if (!pki_) pki_ = std::make_unique<TestPki>(dir_ + "/pki");
  if (!pki_->IssueServer(party + "-node")) {
    setup_error_ = "making the test certificates failed: " + pki_->error();
    return false;
  }
  std::string token = NewToken();
  if (token.size() != 64) {
    setup_error_ = "openssl rand made no token";
    return false;
  }
  std::string tokens = dir_ + "/" + party + "-tokens.yaml", access = dir_ + "/" + party + "-access.yaml";
  std::ofstream(token_file(party)) << token << "\n";
  ::chmod(token_file(party).c_str(), 0600);
  std::ofstream(tokens) << TokensYaml({{party + "-client", token, "", ""}});
  // Every permission, so that the access checks run on every call of
  // every network test without changing what the tests may do.
  std::ofstream(access) << "clients:\n  " << party
                        << "-client:\n"
                           "    processes: [{ definition: \"*\", roles: [\"*\"] }]\n"
                           "    task_queues: [\"*\"]\n"
                           "    job_types: [\"*\"]\n"
                           "    operator: true\n";
  std::vector<std::string> tls = {"--tls-cert", pki_->Path(party + "-node.pem"), "--tls-key",
                                  pki_->Path(party + "-node.key"), "--tokens", tokens, "--access", access};
  args->insert(args->end(), tls.begin(), tls.end());
  client->tls_ca = ca_file();
  client->token = token;
  return true;
}

LocalNetwork::LocalNetwork(const std::string& dir, std::vector<std::string> parties,
                           std::vector<std::string> node_args, std::vector<std::string> treatyd_args)
    : dir_(dir), parties_(std::move(parties)) {
  secure_ = !AsksPlaintext(node_args) && !AsksPlaintext(treatyd_args);
  sequencer_port_ = FreePort();
  std::string yaml = "network: test\n";
  yaml += Run(std::string(TREATY_SEQUENCER) + " init --data " + dir_ + "/sequencer --endpoint " +
              sequencer_endpoint());
  yaml += "members:\n";
  WriteNetworkFile(yaml);
  std::vector<std::string> seq = {TREATY_SEQUENCER, "--data", dir_ + "/sequencer", "--network", network_file_};
  seq.insert(seq.end(), node_args.begin(), node_args.end());
  sequencer_ = std::make_unique<ChildProcess>(seq, dir_ + "/sequencer.log");
  for (const auto& p : parties_) {
    std::vector<std::string> args = {"--party", p, "--ledger", "sequencer", "--network", network_file_};
    args.insert(args.end(), node_args.begin(), node_args.end());
    args.insert(args.end(), treatyd_args.begin(), treatyd_args.end());
    adapters::ClientSecurity client;
    if (!SecureNode(p, &args, &client)) return;  // Start() reports it
    nodes_[p] = std::make_unique<TreatydProcess>(data_dir(p), args, client);
  }
}

LocalNetwork::LocalNetwork(const std::string& dir, EthereumSetup ethereum, std::vector<std::string> parties,
                           std::vector<std::string> treatyd_args)
    : dir_(dir), parties_(std::move(parties)), ethereum_(std::move(ethereum)) {
  secure_ = !AsksPlaintext(treatyd_args);
  AnvilProcess::Options ao;
  ao.block_time_s = ethereum_.block_time_s;
  ao.no_mining = ethereum_.no_mining;
  ao.state_file = dir_ + "/anvil-state.json";
  ao.silent = true;
  anvil_ = std::make_unique<AnvilProcess>(dir_ + "/anvil.log", ao);
  std::string yaml = "network: test\nmembers:\n";
  WriteNetworkFile(yaml);
  std::string ledger = "ethereum://127.0.0.1:" + std::to_string(anvil_->port());
  for (const auto& p : parties_) {
    std::vector<std::string> args = {"--party", p, "--ledger", ledger, "--network", network_file_};
    args.insert(args.end(), treatyd_args.begin(), treatyd_args.end());
    adapters::ClientSecurity client;
    if (!SecureNode(p, &args, &client)) return;  // Start() reports it
    nodes_[p] = std::make_unique<TreatydProcess>(data_dir(p), args, client);
  }
}

LocalNetwork::~LocalNetwork() = default;

bool LocalNetwork::Start() {
  if (!setup_error_.empty()) {
    std::fprintf(stderr, "LocalNetwork: %s\n", setup_error_.c_str());
    return false;
  }
  if (anvil_) {
    if (!anvil_->Start()) {
      std::fprintf(stderr, "anvil did not start:\n%s\n", anvil_->Log().c_str());
      return false;
    }
    // With no mining the deployment and funding need blocks: mine while
    // treaty-eth waits for its receipts.
    std::atomic<bool> done{false};
    std::thread miner;
    if (ethereum_.no_mining)
      miner = std::thread([&] {
        while (!done) {
          chain::eth::JsonRpcClient rpc(anvil_->url(), std::chrono::milliseconds(1000));
          (void)rpc.Call("evm_mine");
          std::this_thread::sleep_for(std::chrono::milliseconds(200));
        }
      });
    std::string key = std::string("0x") + kAnvilDevSecret0;
    std::string deploy = std::string(TREATY_ETH) + " deploy --rpc " + anvil_->url() + " --key " + key + " --network " +
                         network_file_ + " --confirmations " + std::to_string(ethereum_.confirmations);
    for (const auto& a : ethereum_.extra_allowed) deploy += " --allow " + a;
    deploy += " 2>&1";
    std::string out = Run(deploy);
    bool ok = out.find("pin contract 0x") != std::string::npos;
    if (ok && ethereum_.fund) ok = FundMembers();
    done = true;
    if (miner.joinable()) miner.join();
    if (!ok) {
      std::fprintf(stderr, "deploying or funding the pin contract failed:\n%s\n", out.c_str());
      return false;
    }
  }
  // On failure the process's log goes to stderr: the folder is gone after the test.
  if (sequencer_ && !sequencer_->Start()) {
    std::ifstream f(dir_ + "/sequencer.log");
    std::fprintf(stderr, "treaty-sequencer did not start:\n%s\n",
                 std::string(std::istreambuf_iterator<char>(f), {}).c_str());
    return false;
  }
  for (const auto& p : parties_)
    if (!nodes_[p]->Start()) {
      std::fprintf(stderr, "treatyd of %s did not start:\n%s\n", p.c_str(), nodes_[p]->Log().c_str());
      return false;
    }
  return true;
}

bool LocalNetwork::FundMembers() {
  std::string out = Run(std::string(TREATY_ETH) + " fund --rpc " + anvil_->url() + " --key 0x" + kAnvilDevSecret0 +
                        " --network " + network_file_ + " 2>&1; echo exit=$?");
  if (out.find("exit=0") != std::string::npos) return true;
  std::fprintf(stderr, "funding the members failed:\n%s\n", out.c_str());
  return false;
}

nlohmann::json LocalNetwork::identity(const std::string& party) const {
  std::ifstream f(data_dir(party) + "/identity.json");
  std::stringstream s;
  s << f.rdbuf();
  return nlohmann::json::parse(s.str());
}

nlohmann::json SendAsPeer(const std::string& endpoint, const std::string& server_curve_key,
                          const std::string& curve_public, const std::string& curve_secret,
                          const nlohmann::json& message, int timeout_ms) {
  zmq::context_t ctx(1);
  zmq::socket_t s(ctx, zmq::socket_type::dealer);
  s.set(zmq::sockopt::curve_serverkey, server_curve_key);
  s.set(zmq::sockopt::curve_publickey, curve_public);
  s.set(zmq::sockopt::curve_secretkey, curve_secret);
  s.set(zmq::sockopt::linger, 0);
  s.connect(endpoint);
  std::string text = message.dump();
  s.send(zmq::buffer(text), zmq::send_flags::none);
  zmq::pollitem_t items[] = {{s.handle(), 0, ZMQ_POLLIN, 0}};
  zmq::poll(items, 1, std::chrono::milliseconds(timeout_ms));
  if (!(items[0].revents & ZMQ_POLLIN)) return nlohmann::json::object();
  zmq::message_t reply;
  (void)s.recv(reply);
  return nlohmann::json::parse(reply.to_string(), nullptr, false);
}

nlohmann::json SubmitBatch(const std::string& endpoint, const std::string& author, const std::vector<Digest>& pins,
                           const crypto::SigningKey& key) {
  static std::atomic<int> n{0};
  std::string id = "test-batch-" + std::to_string(getpid()) + "-" + std::to_string(++n);
  Sha256 h;
  h.UpdateField("treaty.batch.v1").UpdateField(id).UpdateField(author).UpdateField(std::to_string(pins.size()));
  nlohmann::json pin_hex = nlohmann::json::array();
  for (const auto& p : pins) {
    h.Update(p.data(), p.size());
    pin_hex.push_back(ToHex(p));
  }
  nlohmann::json req = {
      {"op", "submit"},
      {"req", 1},
      {"batch", {{"id", id}, {"author", author}, {"pins", pin_hex}, {"signature", crypto::Hex(key.Sign(h.Finish()))}}}};
  zmq::context_t ctx(1);
  zmq::socket_t s(ctx, zmq::socket_type::dealer);
  s.set(zmq::sockopt::linger, 0);
  s.connect(endpoint);
  std::string text = req.dump();
  s.send(zmq::buffer(text));
  zmq::pollitem_t items[] = {{s.handle(), 0, ZMQ_POLLIN, 0}};
  zmq::poll(items, 1, std::chrono::milliseconds(5000));
  if (!(items[0].revents & ZMQ_POLLIN)) return nlohmann::json::object();
  zmq::message_t reply;
  (void)s.recv(reply);
  return nlohmann::json::parse(reply.to_string(), nullptr, false);
}

std::vector<std::vector<std::string>> QueryDb(const std::string& path, const std::string& sql) {
  std::vector<std::vector<std::string>> rows;
  sqlite3* db = nullptr;
  if (sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READONLY, nullptr) != SQLITE_OK) return rows;
  sqlite3_busy_timeout(db, 2000);
  sqlite3_stmt* st = nullptr;
  if (sqlite3_prepare_v2(db, sql.c_str(), -1, &st, nullptr) == SQLITE_OK) {
    while (sqlite3_step(st) == SQLITE_ROW) {
      std::vector<std::string> row;
      for (int i = 0; i < sqlite3_column_count(st); ++i) {
        const unsigned char* t = sqlite3_column_text(st, i);
        row.push_back(t ? reinterpret_cast<const char*>(t) : "");
      }
      rows.push_back(std::move(row));
    }
  }
  sqlite3_finalize(st);
  sqlite3_close(db);
  return rows;
}

}  // namespace treaty::testing
