#include "engine/unique_claims.h"

namespace treaty::engine {

namespace {

// How far after its step's pin a claim may sit (one per unique field).
constexpr int64_t kMaxClaimsPerStep = 16;

// A rejection's reason is a pure function of the ledger and the data: it
// names the key and the height where it was claimed first, never the path
// by which this node learnt it (a member that applied the winner first and
// one that applied this step first, because the winner's data came late,
// must give the same words).
std::string TakenReason(const UniqueClaims::Claim& c, int64_t first_height) {
  return c.field + " " + c.value_text + " was claimed first at ledger height " + std::to_string(first_height);
}

}  // namespace

std::vector<UniqueClaims::Claim> UniqueClaims::ClaimsFor(const runtime::DefinitionRuntime& def, const Value& before,
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
    FromHex(ctx_->opts.claim_salt, &salt);
    Sha256 h;
    h.UpdateField("treaty.claim.v1").UpdateField(salt).UpdateField(def.name()).UpdateField(f.name);
    h.UpdateField(now->ToCanonicalJson());
    out.push_back({f.name, now->ToCanonicalJson(), h.Finish()});
  }
  return out;
}

Status UniqueClaims::CheckFree(const std::vector<Claim>& claims, const std::string& instance) {
  for (const auto& c : claims) {
    TREATY_ASSIGN_OR_RETURN(auto seen, ctx_->store->ClaimSeen(c.hash));
    if (!seen || seen->instance == instance) continue;
    return Status::AlreadyExists(c.field + " " + c.value_text + " is already taken: it was claimed on the ledger at "
                                 "height " + std::to_string(seen->height));
  }
  return Status::Ok();
}

Result<std::optional<UniqueClaims::Rejection>> UniqueClaims::Win(WriteTxn& txn, const std::vector<Claim>& claims,
                                                                 const std::string& instance,
                                                                 const LedgerPosition& at,
                                                                 const std::vector<Digest>* batch, size_t pos) {
  using Out = std::optional<Rejection>;
  for (const auto& c : claims) {
    TREATY_ASSIGN_OR_RETURN(auto owner, txn.ClaimOwner(c.hash));
    if (owner) {
      if (owner->instance != instance) return Out(Rejection{RejectCode::kUniqueTaken, TakenReason(c, owner->height)});
      // Already this instance's (set again after a change): every member
      // applied the step that won it before this one, so all agree.
      continue;
    }
    bool ours = false;
    TREATY_ASSIGN_OR_RETURN(auto first, txn.UnmatchedPin(ToHex(c.hash)));
    if (first) {
      if (*first < at) return Out(Rejection{RejectCode::kUniqueTaken, TakenReason(c, first->height)});
      ours = first->height == at.height && first->idx > at.idx && first->idx <= at.idx + kMaxClaimsPerStep;
    }
    if (!ours && batch != nullptr)
      for (size_t k = pos + 1; k < batch->size() && k <= pos + kMaxClaimsPerStep; ++k)
        if ((*batch)[k] == c.hash) ours = true;
    if (!ours)
      return Out(Rejection{RejectCode::kUniqueUnclaimed, "the step sets unique " + c.field + " " + c.value_text +
                                                             " without claiming it on the ledger"});
  }
  for (const auto& c : claims) {
    TREATY_RETURN_IF_ERROR(txn.InsertClaim(c.hash, instance, c.field, at.height));
    won_in_block_.insert(ToHex(c.hash));
  }
  return Out();
}

}  // namespace treaty::engine
