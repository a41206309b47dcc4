#include "chain/network.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <fstream>
#include <set>
#include <sstream>

#include "definitions/base/suggest.h"

namespace treaty::chain {
namespace {

defs::Loc LocOf(const YAML::Node& n) {
  YAML::Mark m = n.Mark();
  return m.line < 0 ? defs::Loc{1, 1} : defs::Loc{m.line + 1, m.column + 1};
}

bool Keys(const YAML::Node& n, const std::string& what, const std::vector<std::string>& allowed,
          defs::Diagnostics* diags) {
  if (!n.IsMap()) {
    diags->Error(LocOf(n), what + " must be a mapping");
    return false;
  }
  for (auto it = n.begin(); it != n.end(); ++it) {
    std::string k = it->first.Scalar();
    if (std::find(allowed.begin(), allowed.end(), k) == allowed.end())
      diags->Error(LocOf(it->first), "unknown key '" + k + "' in " + what + DidYouMean(k, allowed));
  }
  return true;
}

bool ValidEndpoint(const std::string& e) {
  if (e.rfind("tcp://", 0) != 0) return false;
  auto colon = e.rfind(':');
  if (colon == std::string::npos || colon <= 6 || colon + 1 >= e.size()) return false;
  for (size_t i = colon + 1; i < e.size(); ++i)
    if (!std::isdigit(static_cast<unsigned char>(e[i]))) return false;
  int port = std::atoi(e.c_str() + colon + 1);
  return port > 0 && port < 65536;
}

bool ValidZ85(const std::string& s) {
  static const std::string kAlphabet =
      "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ.-:+=^!/*?&<>()[]{}@%$#";
  if (s.size() != 40) return false;
  for (char c : s)
    if (kAlphabet.find(c) == std::string::npos) return false;
  return true;
}

}  // namespace

const Member* Network::Find(const std::string& n) const {
  for (const auto& m : members)
    if (m.name == n) return &m;
  return nullptr;
}

const Member* Network::FindBySigningKey(const crypto::PublicKey& key) const {
  for (const auto& m : members)
    if (m.signing_key == key) return &m;
  return nullptr;
}

std::optional<Network> ParseNetwork(const std::string& yaml, const std::string& file, defs::Diagnostics* diags) {
  YAML::Node root;
  try {
    root = YAML::Load(yaml);
  } catch (const YAML::ParserException& e) {
    diags->Error(defs::Loc{e.mark.line + 1, e.mark.column + 1}, "invalid YAML: " + e.msg);
    return std::nullopt;
  }
  Network net;
  try {
    if (!Keys(root, "the network file", {"network", "members", "sequencer", "ethereum", "claim_salt"}, diags)) return std::nullopt;
    if (auto n = root["network"]) net.name = n.Scalar();
    if (auto c = root["claim_salt"]) {
      std::string raw;
      if (c.Scalar().size() != 64 || !FromHex(c.Scalar(), &raw))
        diags->Error(LocOf(c), "claim_salt must be 64 hex digits (32 random bytes shared by the members)");
      else
        net.claim_salt = c.Scalar();
    }
    if (auto sq = root["sequencer"]) {
      if (Keys(sq, "the sequencer", {"signing_key", "endpoint"}, diags)) {
        SequencerInfo out;
        for (const char* required : {"signing_key", "endpoint"})
          if (!sq[required]) diags->Error(LocOf(sq), std::string("sequencer needs '") + required + "'");
        if (auto k = sq["signing_key"]) {
          auto key = crypto::PublicKeyFromHex(k.Scalar());
          if (!key.ok()) diags->Error(LocOf(k), "signing_key of the sequencer: " + key.status().message());
          else out.signing_key = *key;
        }
        if (auto e = sq["endpoint"]) {
          out.endpoint = e.Scalar();
          if (!ValidEndpoint(out.endpoint))
            diags->Error(LocOf(e), "endpoint of the sequencer must be tcp://HOST:PORT, not '" + out.endpoint + "'");
        }
        net.sequencer = out;
      }
    }
    if (auto eth = root["ethereum"]) {
      if (Keys(eth, "the ethereum section", {"chain_id", "contract", "start_block", "confirmations"}, diags)) {
        EthereumInfo out;
        for (const char* required : {"chain_id", "contract", "start_block"})
          if (!eth[required]) diags->Error(LocOf(eth), std::string("ethereum needs '") + required + "'");
        auto number = [&](const char* key, uint64_t* v, uint64_t min, uint64_t max) {
          auto n = eth[key];
          if (!n) return;
          const std::string& t = n.Scalar();
          bool digits = !t.empty() && t.size() <= 19 &&
                        std::all_of(t.begin(), t.end(), [](char c) { return std::isdigit(static_cast<unsigned char>(c)); });
          uint64_t x = digits ? std::stoull(t) : 0;
          if (!digits || x < min || x > max)
            diags->Error(LocOf(n), std::string("ethereum ") + key + " must be a whole number from " +
                                       std::to_string(min) + " to " + std::to_string(max) + ", not '" + t + "'");
          else
            *v = x;
        };
        number("chain_id", &out.chain_id, 1, (uint64_t{1} << 53) - 1);
        number("start_block", &out.start_block, 0, (uint64_t{1} << 53) - 1);
        number("confirmations", &out.confirmations, 0, 1024);
        if (auto c = eth["contract"]) {
          const std::string& t = c.Scalar();
          std::string raw;
          if (t.size() != 42 || t.rfind("0x", 0) != 0 || !FromHex(t.substr(2), &raw))
            diags->Error(LocOf(c), "ethereum contract must be a 0x-prefixed 20-byte address, not '" + t + "'");
          else
            out.contract = raw;
        }
        net.ethereum = out;
      }
    }
    auto members = root["members"];
    if (!members || !members.IsSequence() || members.size() == 0) {
      diags->Error(members ? LocOf(members) : defs::Loc{1, 1}, "'members' must list at least one member");
      return std::nullopt;
    }
    std::set<std::string> names, keys, curves;
    for (const auto& m : members) {
      if (!Keys(m, "a member", {"name", "signing_key", "curve_key", "endpoint"}, diags)) continue;
      Member out;
      for (const char* required : {"name", "signing_key", "curve_key", "endpoint"})
        if (!m[required]) diags->Error(LocOf(m), std::string("member needs '") + required + "'");
      if (auto n = m["name"]) {
        out.name = n.Scalar();
        if (out.name.empty()) diags->Error(LocOf(n), "member name is empty");
        else if (!names.insert(out.name).second) diags->Error(LocOf(n), "duplicate member '" + out.name + "'");
      }
      if (auto k = m["signing_key"]) {
        auto key = crypto::PublicKeyFromHex(k.Scalar());
        if (!key.ok()) {
          diags->Error(LocOf(k), "signing_key of '" + out.name + "': " + key.status().message());
        } else {
          out.signing_key = *key;
          if (!keys.insert(k.Scalar()).second)
            diags->Error(LocOf(k), "signing_key of '" + out.name + "' is already another member's");
        }
      }
      if (auto c = m["curve_key"]) {
        out.curve_key = c.Scalar();
        if (!ValidZ85(out.curve_key))
          diags->Error(LocOf(c), "curve_key of '" + out.name + "' must be 40 Z85 characters");
        else if (!curves.insert(out.curve_key).second)
          diags->Error(LocOf(c), "curve_key of '" + out.name + "' is already another member's");
      }
      if (auto e = m["endpoint"]) {
        out.endpoint = e.Scalar();
        if (!ValidEndpoint(out.endpoint))
          diags->Error(LocOf(e), "endpoint of '" + out.name + "' must be tcp://HOST:PORT, not '" + out.endpoint + "'");
      }
      net.members.push_back(std::move(out));
    }
  } catch (const YAML::Exception& e) {
    diags->Error(defs::Loc{1, 1}, std::string("invalid network file: ") + e.what());
  }
  (void)file;
  diags->Sort();
  if (!diags->empty()) return std::nullopt;
  return net;
}

std::optional<Network> LoadNetworkFile(const std::string& path, defs::Diagnostics* diags) {
  std::ifstream f(path);
  if (!f) {
    diags->Error(defs::Loc{1, 1}, "cannot read file");
    return std::nullopt;
  }
  std::stringstream s;
  s << f.rdbuf();
  return ParseNetwork(s.str(), path, diags);
}

}  // namespace treaty::chain
