// Unique business keys (DESIGN.md, "Unique business keys"): a step that
// sets a `unique: true` data field claims the value on the ledger with a
// salted hash placed right after its pin in the same batch. At every node
// the first appearance of a claim in ledger order wins; a later step
// claiming the same key is rejected with a reason naming the field.
// docs/protocol.md, "Unique keys".
#include "definitions/base/sha256.h"
#include "engine/node.h"
#include "engine/node_internal.h"

namespace treaty::engine {

using namespace internal;  // NOLINT: the node's own helpers
using treaty::Stmt;

namespace {

// How far after its step's pin a claim may sit (one per unique field).
constexpr int64_t kMaxClaimsPerStep = 16;

// A rejection's reason is a pure function of the ledger and the data: it
// names the key and the height where it was claimed first, never the path
// by which this node learnt it.
std::string TakenReason(const std::string& field, const std::string& value_text, int64_t first_height) {
  return field + " " + value_text + " was claimed first at ledger height " + std::to_string(first_height);
}

}  // namespace

std::vector<Node::Claim> Node::ClaimsFor(const runtime::DefinitionRuntime& def, const Value& before,
                                         const Value& after) const {
  std::vector<Claim> out;
  if (!after.is_object()) return out;
  for (const auto& f : def.model().data) {
    if (!f.unique) continue;
    const Value* now = after.Find(f.name);
    if (now == nullptr || now->is_null() || now->is_redacted()) continue;
    const Value* was = before.is_object() ? before.Find(f.name) : nullptr;
    if (was != nullptr && was->ToCanonicalJson() == now->ToCanonicalJson()) continue;  // kept, not newly claimed
    std::string salt;
    FromHex(opts_.claim_salt, &salt);
    Sha256 h;
    h.UpdateField("treaty.claim.v1").UpdateField(salt).UpdateField(def.name()).UpdateField(f.name);
    h.UpdateField(now->ToCanonicalJson());
    out.push_back({f.name, now->ToCanonicalJson(), h.Finish()});
  }
  return out;
}

Status Node::CheckClaimsFree(const std::vector<Claim>& claims, const std::string& instance, bool writer) {
  auto& db = writer ? store_->db() : store_->read_db();
  for (const auto& c : claims) {
    std::string hex = ToHex(c.hash);
    Stmt owned = db.Prepare("SELECT instance FROM claims WHERE claim = ?");
    owned.Bind(1, hex);
    if (owned.Step()) {
      if (owned.Text(0) == instance) continue;
      return Status::AlreadyExists(c.field + " " + c.value_text + " is already taken by another instance");
    }
    Stmt seen = db.Prepare("SELECT height FROM unmatched_pins WHERE pin = ?");
    seen.Bind(1, hex);
    if (seen.Step())
      return Status::AlreadyExists(c.field + " " + c.value_text + " was already claimed on the ledger at height " +
                                   std::to_string(seen.Int(0)));
  }
  return Status::Ok();
}

Result<bool> Node::WinClaims(const std::vector<Claim>& claims, const std::string& instance, const Sequenced& at,
                             std::string* code, std::string* reason) {
  auto& db = store_->db();
  for (const auto& c : claims) {
    std::string hex = ToHex(c.hash);
    Stmt owned = db.Prepare("SELECT instance, height FROM claims WHERE claim = ?");
    owned.Bind(1, hex);
    if (owned.Step()) {
      if (owned.Text(0) != instance) {
        // The same words as a claim first seen unmatched below: a member
        // that applied the winner first and one that applied this step
        // first (the winner's data came late) must give the same reason.
        // The claim's height is the winner's, where the key first appeared.
        *code = "UNIQUE_TAKEN";
        *reason = TakenReason(c.field, c.value_text, owned.Int(1));
        return false;
      }
      // Already this instance's (set again after a change): every member
      // applied the step that won it before this one, so all agree.
      continue;
    }
    owned.Reset();
    bool ours = false;
    Stmt first = db.Prepare("SELECT height, idx FROM unmatched_pins WHERE pin = ?");
    first.Bind(1, hex);
    if (first.Step()) {
      int64_t h = first.Int(0), i = first.Int(1);
      if (h < at.height || (h == at.height && i < at.idx)) {
        *code = "UNIQUE_TAKEN";
        *reason = TakenReason(c.field, c.value_text, h);
        return false;
      }
      ours = h == at.height && i > at.idx && i <= at.idx + kMaxClaimsPerStep;
    }
    if (!ours && at.batch != nullptr)
      for (size_t k = at.pos + 1; k < at.batch->size() && k <= at.pos + kMaxClaimsPerStep; ++k)
        if ((*at.batch)[k] == c.hash) ours = true;
    if (!ours) {
      *code = "UNIQUE_UNCLAIMED";
      *reason = "the step sets unique " + c.field + " " + c.value_text + " without claiming it on the ledger";
      return false;
    }
  }
  for (const auto& c : claims) {
    std::string hex = ToHex(c.hash);
    TREATY_RETURN_IF_ERROR(store_->InsertClaim(hex, instance, c.field, at.height));
    won_in_block_.insert(std::move(hex));
  }
  return true;
}

}  // namespace treaty::engine
