#include "engine/protocol/proposal_envelope.h"

#include <sys/random.h>

#include <algorithm>

namespace treaty::protocol {
namespace {

std::string Raw(const Digest& d) { return std::string(reinterpret_cast<const char*>(d.data()), d.size()); }

Result<std::string> RandomSaltHex() {
  uint8_t salt[32];
  if (getrandom(salt, sizeof salt, 0) != static_cast<ssize_t>(sizeof salt))
    return Status::Unavailable("no randomness from the kernel");
  return ToHex(salt, sizeof salt);
}

}  // namespace

Digest FieldCommitment(const std::string& salt_hex, const std::string& name, const Value& value) {
  std::string salt;
  FromHex(salt_hex, &salt);
  Sha256 h;
  h.UpdateField("treaty.field.v1");
  h.UpdateField(salt);
  h.UpdateField(name);
  h.UpdateField(value.ToCanonicalJson());
  return h.Finish();
}

Digest ProposalEnvelope::SigningDigest() const {
  Sha256 h;
  h.UpdateField("treaty.proposal.v1");
  h.UpdateField(instance);
  h.UpdateField(step);
  h.UpdateField(author);
  h.UpdateField(std::to_string(nonce));
  h.UpdateField(Raw(definition_hash));
  h.UpdateField(std::to_string(fields.size()));
  for (const auto& f : fields) {
    h.UpdateField(f.name);
    h.UpdateField(Raw(f.commitment));
  }
  return h.Finish();
}

Value ProposalEnvelope::Input() const {
  Value v = Value::Object();
  for (const auto& f : fields) v.Set(f.name, f.value ? *f.value : Value::Hidden(f.commitment));
  return v;
}

std::string ProposalEnvelope::ToJson() const {
  Value v = Value::Object();
  v.Set("instance", Value::Str(instance));
  v.Set("step", Value::Str(step));
  v.Set("author", Value::Str(author));
  v.Set("nonce", Value::Int(nonce));
  v.Set("definition_hash", Value::Str(ToHex(definition_hash)));
  ValueList fs;
  for (const auto& f : fields) {
    Value o = Value::Object();
    o.Set("name", Value::Str(f.name));
    o.Set("commitment", Value::Str(ToHex(f.commitment)));
    if (f.value) {
      o.Set("value", *f.value);
      o.Set("salt", Value::Str(f.salt_hex));
    }
    fs.push_back(std::move(o));
  }
  v.Set("fields", Value::List(std::move(fs)));
  if (signature) v.Set("signature", Value::Str(crypto::Hex(*signature)));
  return v.ToCanonicalJson();
}

Result<ProposalEnvelope> ProposalEnvelope::FromJson(std::string_view json) {
  TREATY_ASSIGN_OR_RETURN(Value v, Value::FromJson(json));
  return FromValue(v);
}

Result<ProposalEnvelope> ProposalEnvelope::FromValue(const Value& envelope) {
  if (!envelope.is_object()) return Status::InvalidArgument("proposal: must be an object");
  const Value* v = &envelope;
  auto str = [&](const Value& o, const char* k) -> Result<std::string> {
    const Value* x = o.Find(k);
    if (x == nullptr || !x->is_string()) return Status::InvalidArgument(std::string("proposal: '") + k + "' must be a string");
    return x->as_string();
  };
  ProposalEnvelope p;
  TREATY_ASSIGN_OR_RETURN(p.instance, str(*v, "instance"));
  TREATY_ASSIGN_OR_RETURN(p.step, str(*v, "step"));
  TREATY_ASSIGN_OR_RETURN(p.author, str(*v, "author"));
  const Value* nonce = v->Find("nonce");
  if (nonce == nullptr || !nonce->is_int() || nonce->as_int() < 0)
    return Status::InvalidArgument("proposal: 'nonce' must be a non-negative integer");
  p.nonce = nonce->as_int();
  TREATY_ASSIGN_OR_RETURN(std::string dh, str(*v, "definition_hash"));
  if (!DigestFromHex(dh, &p.definition_hash)) return Status::InvalidArgument("proposal: bad 'definition_hash'");
  if (v->Find("signature") != nullptr) {
    TREATY_ASSIGN_OR_RETURN(std::string sig, str(*v, "signature"));
    auto s = crypto::SignatureFromHex(sig);
    if (!s.ok()) return s.status();
    p.signature = *s;
  }
  const Value* fields = v->Find("fields");
  if (fields == nullptr || !fields->is_list()) return Status::InvalidArgument("proposal: 'fields' must be a list");
  for (const auto& f : fields->as_list()) {
    FieldCopy c;
    TREATY_ASSIGN_OR_RETURN(c.name, str(f, "name"));
    TREATY_ASSIGN_OR_RETURN(std::string commitment, str(f, "commitment"));
    if (!DigestFromHex(commitment, &c.commitment)) return Status::InvalidArgument("proposal: bad commitment of " + c.name);
    if (const Value* val = f.Find("value")) {
      c.value = *val;
      TREATY_ASSIGN_OR_RETURN(c.salt_hex, str(f, "salt"));
    }
    p.fields.push_back(std::move(c));
  }
  return p;
}

Result<ProposalEnvelope> CommitProposal(const std::string& instance, const std::string& step, const std::string& author,
                                        int64_t nonce, const Digest& definition_hash, const Value& input) {
  if (!input.is_object()) return Status::InvalidArgument("input must be an object");
  ProposalEnvelope p;
  p.instance = instance;
  p.step = step;
  p.author = author;
  p.nonce = nonce;
  p.definition_hash = definition_hash;
  for (const auto& [name, value] : input.as_object()) {  // std::map: name order
    TREATY_ASSIGN_OR_RETURN(std::string salt, RandomSaltHex());
    FieldCopy f;
    f.name = name;
    f.value = value;
    f.salt_hex = salt;
    f.commitment = FieldCommitment(salt, name, value);
    p.fields.push_back(std::move(f));
  }
  return p;
}

Result<ProposalEnvelope> SealProposal(const std::string& instance, const std::string& step, const std::string& author,
                                      int64_t nonce, const Digest& definition_hash, const Value& input,
                                      const crypto::SigningKey& key) {
  TREATY_ASSIGN_OR_RETURN(ProposalEnvelope p, CommitProposal(instance, step, author, nonce, definition_hash, input));
  p.signature = key.Sign(p.SigningDigest());
  return p;
}

ProposalEnvelope RedactFor(const ProposalEnvelope& full, const std::set<std::string>& hidden) {
  ProposalEnvelope copy = full;
  for (auto& f : copy.fields)
    if (hidden.count(f.name)) {
      f.value.reset();
      f.salt_hex.clear();
    }
  return copy;
}

Status VerifyCommitments(const ProposalEnvelope& p) {
  for (size_t i = 1; i < p.fields.size(); ++i)
    if (!(p.fields[i - 1].name < p.fields[i].name))
      return Status::InvalidArgument("proposal fields must be unique and in name order");
  for (const auto& f : p.fields)
    if (f.value && FieldCommitment(f.salt_hex, f.name, *f.value) != f.commitment)
      return Status::InvalidArgument("input field '" + f.name + "' does not match its commitment");
  return Status::Ok();
}

namespace {

std::string Named(const ProposalEnvelope& p) { return p.instance + "/" + p.step + " #" + std::to_string(p.nonce); }

}  // namespace

Status VerifyProposal(const ProposalEnvelope& p, const crypto::PublicKey& author_key) {
  TREATY_RETURN_IF_ERROR(VerifyCommitments(p));
  if (!p.signature) return Status::PermissionDenied("proposal " + Named(p) + " carries no signature");
  if (!crypto::Verify(author_key, p.SigningDigest(), *p.signature))
    return Status::PermissionDenied("signature of proposal " + Named(p) + " is not " + p.author + "'s");
  return Status::Ok();
}

Status VerifyProposalInSet(const ProposalEnvelope& p, const ProposalSet& set, const crypto::PublicKey& author_key,
                           std::optional<bool>* set_valid) {
  TREATY_RETURN_IF_ERROR(VerifyCommitments(p));
  if (set.author != p.author)
    return Status::PermissionDenied("proposal " + Named(p) + " of " + p.author + " is in a set signed by '" +
                                    set.author + "'");
  if (!set.Covers(p.SigningDigest()))
    return Status::PermissionDenied("proposal " + Named(p) + " is not among those its set's signature covers");
  if (!set_valid->has_value()) *set_valid = crypto::Verify(author_key, set.SigningDigest(), set.signature);
  if (!**set_valid)
    return Status::PermissionDenied("signature of the proposal set holding " + Named(p) + " is not " + p.author +
                                    "'s");
  return Status::Ok();
}

Digest ProposalSet::SigningDigest() const {
  Sha256 h;
  h.UpdateField("treaty.proposals.v1");
  h.UpdateField(author);
  h.UpdateField(std::to_string(proposals.size()));
  for (const auto& d : proposals) h.Update(d.data(), d.size());
  return h.Finish();
}

bool ProposalSet::Covers(const Digest& proposal) const {
  return std::find(proposals.begin(), proposals.end(), proposal) != proposals.end();
}

Value ProposalSet::ToValue() const {
  Value v = Value::Object();
  v.Set("author", Value::Str(author));
  ValueList ds;
  for (const auto& d : proposals) ds.push_back(Value::Str(ToHex(d)));
  v.Set("proposals", Value::List(std::move(ds)));
  v.Set("signature", Value::Str(crypto::Hex(signature)));
  return v;
}

Result<ProposalSet> ProposalSet::FromValue(const Value& v) {
  const Value* author = v.Find("author");
  const Value* list = v.Find("proposals");
  const Value* sig = v.Find("signature");
  if (!v.is_object() || author == nullptr || !author->is_string() || list == nullptr || !list->is_list() ||
      sig == nullptr || !sig->is_string())
    return Status::InvalidArgument("proposal set: needs 'author', 'proposals' (a list) and 'signature'");
  ProposalSet set;
  set.author = author->as_string();
  for (const auto& d : list->as_list()) {
    Digest digest{};
    if (!d.is_string() || !DigestFromHex(d.as_string(), &digest))
      return Status::InvalidArgument("proposal set: each of 'proposals' must be 64 hex digits");
    set.proposals.push_back(digest);
  }
  auto s = crypto::SignatureFromHex(sig->as_string());
  if (!s.ok()) return s.status();
  set.signature = *s;
  return set;
}

ProposalSet SignProposalSet(const std::string& author, std::vector<Digest> proposals, const crypto::SigningKey& key) {
  ProposalSet set;
  set.author = author;
  set.proposals = std::move(proposals);
  set.signature = key.Sign(set.SigningDigest());
  return set;
}

}  // namespace treaty::protocol
