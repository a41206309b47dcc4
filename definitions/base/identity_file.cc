#include "definitions/base/identity_file.h"

#include <fcntl.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include <fstream>
#include <sstream>

namespace treaty::crypto {

Result<Identity> NewIdentity(const std::string& party, const std::string& endpoint) {
  TREATY_ASSIGN_OR_RETURN(SigningKey key, SigningKey::Generate());
  TREATY_ASSIGN_OR_RETURN(CurveKeyPair curve, GenerateCurveKeyPair());
  return Identity{party, std::move(key), std::move(curve), endpoint};
}

Status WriteIdentityFile(const std::string& path, const Identity& id) {
  int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL, 0600);
  if (fd < 0)
    return Status::AlreadyExists(path + " already exists (or cannot be created); a party's keys are never replaced");
  nlohmann::json j = {{"party", id.party},
                      {"signing_secret", id.key.SecretHex()},
                      {"signing_public", Hex(id.key.public_key())},
                      {"curve_secret", id.curve.secret_z85},
                      {"curve_public", id.curve.public_z85},
                      {"endpoint", id.endpoint}};
  std::string body = j.dump() + "\n";
  bool ok = write(fd, body.data(), body.size()) == static_cast<ssize_t>(body.size()) && fsync(fd) == 0;
  close(fd);
  if (!ok) {
    unlink(path.c_str());
    return Status::Unavailable("cannot write " + path);
  }
  return Status::Ok();
}

Result<Identity> LoadIdentityFile(const std::string& path) {
  std::ifstream f(path);
  if (!f) return Status::NotFound("cannot read " + path + " (create it with init)");
  std::stringstream s;
  s << f.rdbuf();
  auto j = nlohmann::json::parse(s.str(), nullptr, false);
  if (j.is_discarded() || !j.is_object()) return Status::DataLoss(path + " is not valid JSON");
  for (const char* k : {"party", "signing_secret", "curve_secret", "curve_public"})
    if (!j.contains(k) || !j[k].is_string()) return Status::DataLoss(path + " lacks '" + k + "'");
  auto key = SigningKey::FromHex(j["signing_secret"].get<std::string>());
  if (!key.ok()) return Status::DataLoss(path + ": " + key.status().message());
  Identity id{j["party"].get<std::string>(), std::move(key).value(),
              CurveKeyPair{j["curve_public"].get<std::string>(), j["curve_secret"].get<std::string>()},
              j.value("endpoint", "")};
  return id;
}

}  // namespace treaty::crypto
