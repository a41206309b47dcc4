// Misbehaving members and strangers against a real three-party network:
// forged signatures, replays, non-member authors, unknown transport peers,
// and a step by a party without the step's role that reaches the ledger.
// The test plays the misbehaving party with that party's own keys, over the
// wire formats of docs/protocol.md (an independent implementation).
#include <zmq.hpp>

#include "definitions/base/sha256.h"
#include "definitions/base/signing_key.h"
#include "engine/protocol/proposal_envelope.h"
#include "network_fixture.h"

namespace treaty::testing {
namespace {

std::string NewId() {
  static int n = 0;
  return "test-msg-" + std::to_string(getpid()) + "-" + std::to_string(++n);
}

class FaultTest : public NetworkTest {
 protected:
  crypto::SigningKey KeyOf(const std::string& party) {
    return crypto::SigningKey::FromHex(net_->identity(party)["signing_secret"].get<std::string>()).value();
  }
  json Proposal(const std::string& instance, const std::string& step, const std::string& author, int64_t nonce,
                const std::string& input, const crypto::SigningKey& key) {
    Digest hash{};
    DigestFromHex(at("buyer").Find(instance)->definition_hash(), &hash);
    auto env = protocol::SealProposal(instance, step, author, nonce, hash, Value::FromJson(input).value(), key);
    return json::parse(env.value().ToJson());
  }
  // An unsigned proposal and a set covering `digests` (default: just it).
  std::pair<json, json> InSet(const std::string& instance, const std::string& step, const std::string& author,
                              int64_t nonce, const crypto::SigningKey& key, const std::string& set_author,
                              std::optional<std::vector<Digest>> digests = std::nullopt) {
    Digest hash{};
    DigestFromHex(at("buyer").Find(instance)->definition_hash(), &hash);
    auto env = protocol::CommitProposal(instance, step, author, nonce, hash, Value::Object()).value();
    auto set = protocol::SignProposalSet(set_author, digests.value_or(std::vector<Digest>{env.SigningDigest()}), key);
    return {json::parse(env.ToJson()), json::parse(set.ToValue().ToCanonicalJson())};
  }
  // Sends a proposal message to `to` over CURVE as `as`; with `set`, the
  // proposal is covered by that set instead of its own signature.
  json SendProposal(const std::string& as, const std::string& to, const json& envelope,
                    const std::string& proposal_id, const json& set = nullptr, int set_index = 0) {
    json id = net_->identity(as);
    json item = {{"proposal", proposal_id}, {"envelope", envelope}};
    json body = {{"items", json::array({item})}};
    if (!set.is_null()) {
      body["items"][0]["set"] = set_index;
      body["sets"] = json::array({set});
    }
    json msg = {{"id", NewId()}, {"from", as}, {"kind", "proposals"}, {"body", body}};
    return SendAsPeer(net_->exchange_endpoint(to), net_->identity(to)["curve_public"].get<std::string>(),
                      id["curve_public"].get<std::string>(), id["curve_secret"].get<std::string>(), msg);
  }
  std::vector<std::string> Refusals(const std::string& party) {
    std::vector<std::string> out;
    for (auto& row : QueryDb(net_->data_dir(party) + "/node.db",
                             "SELECT payload FROM journal WHERE type = 'proposal_refused' ORDER BY seq"))
      out.push_back(row[0]);
    return out;
  }
  bool Refused(const std::string& party, const std::string& words) {
    return Eventually([&] {
      for (const auto& r : Refusals(party))
        if (r.find(words) != std::string::npos) return true;
      return false;
    });
  }
};

TEST_F(FaultTest, ForgedReplayedAndNonMemberProposalsAreRefusedAndChangeNothing) {
  Submitted("f-1");
  std::string before = at("buyer").Find("f-1")->state_hash();

  // A proposal in the seller's name, signed with another key, sent over the
  // seller's own (authenticated) connection: refused on its signature.
  auto forger = crypto::SigningKey::Generate().value();
  json receipt = SendProposal("seller", "buyer", Proposal("f-1", "accept", "seller", 0, "{}", forger), "forged-1");
  EXPECT_EQ(receipt.value("kind", ""), "receipt") << "a refusal is final: receipted, recorded";
  EXPECT_TRUE(Refused("buyer", "signature")) << ::testing::PrintToString(Refusals("buyer"));
  EXPECT_EQ(at("buyer").State("f-1"), "submitted");
  EXPECT_EQ(at("buyer").Find("f-1")->state_hash(), before);

  // The real seller's accept still goes through: the forgery took nothing.
  pb::TriggerStepResponse r;
  ASSERT_TRUE(at("seller").Step("f-1", "accept", "{}", &r).ok());
  ASSERT_EQ(r.outcome(), pb::CONFIRMED) << r.reason();
  ASSERT_TRUE(AllIn("f-1", "accepted"));

  // Replay: the seller's genuine accept, with the set the seller signed
  // over it, sent again under a new id.
  auto rows = QueryDb(net_->data_dir("buyer") + "/node.db",
                      "SELECT e.body, s.body FROM envelopes e JOIN journal j ON j.proposal = e.proposal "
                      "JOIN proposal_sets s ON s.id = e.set_id WHERE j.instance = 'f-1' AND j.step = 'accept'");
  ASSERT_EQ(rows.size(), 1u) << "a member's proposals arrive covered by a set";
  json genuine = json::parse(rows[0][0]);
  EXPECT_FALSE(genuine.contains("signature"));
  EXPECT_EQ(SendProposal("seller", "bank", genuine, "replay-1", json::parse(rows[0][1])).value("kind", ""),
            "receipt");
  EXPECT_TRUE(Refused("bank", "replayed")) << ::testing::PrintToString(Refusals("bank"));
  EXPECT_EQ(at("bank").History("f-1").size(), 3u);

  // A member of the network that is not a member of the instance.
  ASSERT_TRUE(at("buyer").Start("np-1", {{"buyer", "buyer"}, {"seller", "seller"}, {"bank", "seller"}}).ok());
  ASSERT_TRUE(Eventually([&] { return at("seller").State("np-1") == "draft"; }));
  SendProposal("bank", "buyer", Proposal("np-1", "cancel", "bank", 0, "{}", KeyOf("bank")), "intruder-1");
  EXPECT_TRUE(Refused("buyer", "not a member of instance np-1")) << ::testing::PrintToString(Refusals("buyer"));
  EXPECT_EQ(at("buyer").State("np-1"), "draft");
  EXPECT_EQ(at("buyer").History("np-1").size(), 1u);

  // A stranger on the transport: its CURVE key is in no network file.
  auto stranger = crypto::GenerateCurveKeyPair().value();
  json msg = {{"id", NewId()}, {"from", "seller"}, {"kind", "proposals"}, {"body", {{"items", json::array()}}}};
  json none = SendAsPeer(net_->exchange_endpoint("buyer"), net_->identity("buyer")["curve_public"].get<std::string>(),
                         stranger.public_z85, stranger.secret_z85, msg, 1500);
  EXPECT_TRUE(none.empty()) << none.dump();
  EXPECT_GE(at("buyer").Status().refused_connections(), 1u);
  auto refused = QueryDb(net_->data_dir("buyer") + "/node.db",
                         "SELECT payload FROM journal WHERE type = 'connection_refused'");
  ASSERT_GE(refused.size(), 1u);
  EXPECT_NE(refused[0][0].find(stranger.public_z85), std::string::npos) << refused[0][0];
  EXPECT_EQ(at("buyer").State("f-1"), "accepted");
}

TEST_F(FaultTest, AProposalSetMustBeTheAuthorsAndCoverTheProposal) {
  Submitted("ps-1");
  std::string before = at("buyer").Find("ps-1")->state_hash();
  auto seller = KeyOf("seller");

  // Signed by the seller, but over another proposal's digest.
  auto [env, other] = InSet("ps-1", "accept", "seller", 0, seller, "seller", std::vector<Digest>{Sha256Of("x")});
  EXPECT_EQ(SendProposal("seller", "buyer", env, "set-1", other).value("kind", ""), "receipt");
  EXPECT_TRUE(Refused("buyer", "not among those its set's signature covers")) << ::testing::PrintToString(Refusals("buyer"));

  // Covering it, but signed with a key that is not the seller's.
  auto forged = InSet("ps-1", "accept", "seller", 0, crypto::SigningKey::Generate().value(), "seller");
  SendProposal("seller", "buyer", forged.first, "set-2", forged.second);
  EXPECT_TRUE(Refused("buyer", "signature of the proposal set holding ps-1/accept #0 is not seller's"))
      << ::testing::PrintToString(Refusals("buyer"));

  // The bank's genuine set vouching for a proposal in the seller's name.
  auto bank = InSet("ps-1", "accept", "seller", 0, KeyOf("bank"), "bank");
  SendProposal("bank", "buyer", bank.first, "set-3", bank.second);
  EXPECT_TRUE(Refused("buyer", "is in a set signed by 'bank'")) << ::testing::PrintToString(Refusals("buyer"));

  // An item naming a set its message does not have, and a malformed set.
  auto good = InSet("ps-1", "accept", "seller", 0, seller, "seller");
  SendProposal("seller", "buyer", good.first, "set-4", good.second, 3);
  EXPECT_TRUE(Refused("buyer", "names a set its message does not hold")) << ::testing::PrintToString(Refusals("buyer"));
  json broken = good.second;
  broken["proposals"] = json::array({"not hex"});
  SendProposal("seller", "buyer", good.first, "set-5", broken);
  EXPECT_TRUE(Refused("buyer", "malformed proposal set")) << ::testing::PrintToString(Refusals("buyer"));

  // None of it changed anything: the real seller's accept still goes through.
  EXPECT_EQ(at("buyer").Find("ps-1")->state_hash(), before);
  EXPECT_TRUE(QueryDb(net_->data_dir("buyer") + "/node.db", "SELECT 1 FROM proposals WHERE id LIKE 'set-%' UNION SELECT 1 FROM journal WHERE proposal LIKE 'set-%'").empty());
  pb::TriggerStepResponse r;
  ASSERT_TRUE(at("seller").Step("ps-1", "accept", "{}", &r).ok());
  ASSERT_EQ(r.outcome(), pb::CONFIRMED) << r.reason();
  ASSERT_TRUE(AllIn("ps-1", "accepted"));
}

TEST_F(FaultTest, AResentProposalComesWithItsAuthorsProof) {
  Submitted("rs-1");
  std::string pin = QueryDb(net_->data_dir("seller") + "/node.db",
                            "SELECT e.pin FROM envelopes e JOIN journal j ON j.proposal = e.proposal WHERE j.instance = 'rs-1' AND "
                            "j.step = 'submit'")
                        .at(0)
                        .at(0);
  // The test takes the bank's place on its endpoint and asks the seller
  // (who got the buyer's submit under the buyer's set) and the buyer (its
  // author) to resend it.
  net_->node("bank").Stop();
  json bank = net_->identity("bank");
  zmq::context_t ctx(1);
  zmq::socket_t router(ctx, zmq::socket_type::router);
  router.set(zmq::sockopt::curve_server, 1);
  router.set(zmq::sockopt::curve_secretkey, bank["curve_secret"].get<std::string>());
  router.set(zmq::sockopt::linger, 0);
  router.bind(net_->exchange_endpoint("bank"));
  for (const char* to : {"seller", "buyer"}) {
    json ask = {{"id", NewId()},
                {"from", "bank"},
                {"kind", "resend"},
                {"body", {{"items", json::array({{{"pin", pin}}})}}}};
    EXPECT_EQ(SendAsPeer(net_->exchange_endpoint(to), net_->identity(to)["curve_public"].get<std::string>(),
                         bank["curve_public"].get<std::string>(), bank["curve_secret"].get<std::string>(), ask)
                  .value("kind", ""),
              "receipt")
        << to;
  }
  std::map<std::string, json> answers;  // sender -> proposals message body
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(15);
  while (answers.size() < 2 && std::chrono::steady_clock::now() < deadline) {
    zmq::pollitem_t items[] = {{router.handle(), 0, ZMQ_POLLIN, 0}};
    zmq::poll(items, 1, std::chrono::milliseconds(200));
    if (!(items[0].revents & ZMQ_POLLIN)) continue;
    zmq::message_t who, frame;
    (void)router.recv(who);
    (void)router.recv(frame);
    json m = json::parse(frame.to_string(), nullptr, false);
    if (m.value("kind", "") != "proposals") continue;  // attestations the bank missed
    for (const auto& item : m["body"]["items"])
      if (item["envelope"].value("step", "") == "submit" && item["envelope"].value("instance", "") == "rs-1")
        answers[m.value("from", "")] = m["body"];
  }
  ASSERT_EQ(answers.size(), 2u);
  auto buyer_key = KeyOf("buyer").public_key();
  for (const auto& [from, body] : answers) {
    const json& item = body["items"][0];
    auto env = protocol::ProposalEnvelope::FromJson(item["envelope"].dump());
    ASSERT_TRUE(env.ok()) << env.status().message();
    EXPECT_EQ(env->author, "buyer");
    for (const auto& f : env->fields) {
      if (f.name == "items") {
        EXPECT_FALSE(f.value) << "the bank may not see items, also not in a resend";
      }
    }
    if (from == "seller") {
      // A member forwards the buyer's set with it.
      ASSERT_TRUE(item.contains("set")) << body.dump();
      auto set = protocol::ProposalSet::FromValue(Value::FromJson(body["sets"][item["set"].get<int>()].dump()).value());
      ASSERT_TRUE(set.ok());
      std::optional<bool> valid;
      EXPECT_TRUE(protocol::VerifyProposalInSet(*env, *set, buyer_key, &valid).ok());
    } else {
      // The author signs the proposal alone.
      EXPECT_FALSE(item.contains("set")) << body.dump();
      EXPECT_TRUE(protocol::VerifyProposal(*env, buyer_key).ok());
    }
  }
}

TEST_F(FaultTest, AnAttestationWithAnotherStateHashRaisesAConsistencyFault) {
  Submitted("c-1");
  ASSERT_TRUE(Eventually([&] {
    auto h = at("buyer").History("c-1");
    return h.size() == 2 && h[1].attestations_size() == 3;
  }));
  // The seller (its real keys) claims another state after step 2.
  json seller = net_->identity("seller");
  Digest digest{};
  auto attest = [&](const std::string& outcome, const std::string& code, const std::string& reason,
                    const std::string& hash) {
    json items = json::array({{{"instance", "c-1"}, {"seq", 2}, {"outcome", outcome}, {"reject_code", code},
                               {"reason", reason}, {"state_hash", hash}}});
    Sha256 h;
    h.UpdateField("treaty.attestations.v2").UpdateField("seller").UpdateField("1");
    h.UpdateField("c-1").UpdateField("2").UpdateField(outcome).UpdateField(code).UpdateField(reason).UpdateField(hash);
    digest = h.Finish();
    json msg = {{"id", NewId()},
                {"from", "seller"},
                {"kind", "attestations"},
                {"body", {{"items", items}, {"party", "seller"}, {"signature", crypto::Hex(KeyOf("seller").Sign(digest))}}}};
    return msg;
  };
  json msg = attest("CONFIRMED", "", "", std::string(64, '0'));
  json receipt = SendAsPeer(net_->exchange_endpoint("buyer"), net_->identity("buyer")["curve_public"].get<std::string>(),
                            seller["curve_public"].get<std::string>(), seller["curve_secret"].get<std::string>(), msg);
  EXPECT_EQ(receipt.value("kind", ""), "receipt");
  auto faults = QueryDb(net_->data_dir("buyer") + "/node.db",
                        "SELECT payload FROM journal WHERE type = 'consistency_fault' AND instance = 'c-1'");
  ASSERT_EQ(faults.size(), 1u);
  json f = json::parse(faults[0][0]);
  EXPECT_EQ(f["party"], "seller");
  EXPECT_EQ(f["seq"], 2);
  EXPECT_EQ(f["their_state_hash"], std::string(64, '0'));
  EXPECT_EQ(f["our_state_hash"], at("buyer").Find("c-1")->state_hash());
  // Same outcome and state hash, other words: the reason is attested too.
  json worded = attest("CONFIRMED", "", "confirmed, as far as the seller can tell", f["our_state_hash"].get<std::string>());
  receipt = SendAsPeer(net_->exchange_endpoint("buyer"), net_->identity("buyer")["curve_public"].get<std::string>(),
                       seller["curve_public"].get<std::string>(), seller["curve_secret"].get<std::string>(), worded);
  EXPECT_EQ(receipt.value("kind", ""), "receipt");
  faults = QueryDb(net_->data_dir("buyer") + "/node.db",
                   "SELECT payload FROM journal WHERE type = 'consistency_fault' AND instance = 'c-1' ORDER BY seq");
  ASSERT_EQ(faults.size(), 2u);
  f = json::parse(faults[1][0]);
  EXPECT_EQ(f["their_reason"], "confirmed, as far as the seller can tell");
  EXPECT_EQ(f["our_reason"], "");
  EXPECT_EQ(f["their_state_hash"], f["our_state_hash"]);
  msg = attest("CONFIRMED", "", "", std::string(64, '0'));
  // The same set signed by someone else is refused, not counted as a fault.
  msg["id"] = NewId();
  msg["body"]["signature"] = crypto::Hex(crypto::SigningKey::Generate().value().Sign(digest));
  SendAsPeer(net_->exchange_endpoint("buyer"), net_->identity("buyer")["curve_public"].get<std::string>(),
             seller["curve_public"].get<std::string>(), seller["curve_secret"].get<std::string>(), msg);
  EXPECT_TRUE(Refused("buyer", "attestations not signed by seller"));
  EXPECT_EQ(QueryDb(net_->data_dir("buyer") + "/node.db",
                    "SELECT COUNT(*) FROM journal WHERE type = 'consistency_fault'")[0][0],
            "2");
}

// Pin and batch digests as docs/protocol.md gives them.
Digest PinOf(const std::string& salt_hex, const std::string& author, int64_t nonce) {
  std::string salt;
  FromHex(salt_hex, &salt);
  Sha256 h;
  h.UpdateField("treaty.pin.v1").UpdateField(salt).UpdateField(author).UpdateField(std::to_string(nonce));
  return h.Finish();
}

TEST_F(FaultTest, AStepWithoutTheRoleIsRejectedInLedgerOrderAtEveryPartyAndTheAuthorCatchesUp) {
  // The seller's node is down; the test is the seller, with its keys.
  net_->node("seller").Stop();
  ASSERT_TRUE(at("buyer").Start("w-1", kRoles).ok());
  pb::TriggerStepResponse r;
  ASSERT_TRUE(at("buyer").Step("w-1", "submit", SubmitFor("w-1"), &r).ok());
  ASSERT_TRUE(Eventually([&] { return at("bank").State("w-1") == "submitted"; }));

  // `cancel` belongs to the buyer's role; the seller proposes it anyway.
  auto seller = KeyOf("seller");
  json env = Proposal("w-1", "cancel", "seller", 0, "{}", seller);
  for (const char* to : {"buyer", "bank"})
    EXPECT_EQ(SendProposal("seller", to, env, "seller-cancel-1").value("kind", ""), "receipt");
  std::string salt = QueryDb(net_->data_dir("buyer") + "/node.db", "SELECT salt FROM instances WHERE id = 'w-1'").at(0).at(0);
  Digest pin = PinOf(salt, "seller", 0);

  // The sequencer refuses a batch the seller did not sign...
  json refused = SubmitBatch(net_->sequencer_endpoint(), "seller", {pin}, crypto::SigningKey::Generate().value());
  EXPECT_EQ(refused.value("code", ""), "PERMISSION_DENIED") << refused.dump();
  // ...and orders the one it did.
  json ok = SubmitBatch(net_->sequencer_endpoint(), "seller", {pin}, seller);
  ASSERT_TRUE(ok.contains("height")) << ok.dump();

  for (const char* p : {"buyer", "bank"}) {
    ASSERT_TRUE(Eventually([&] { return at(p).History("w-1").size() == 3; })) << p;
    auto last = at(p).History("w-1").back();
    EXPECT_EQ(last.step(), "cancel");
    EXPECT_EQ(last.proposer(), "seller");
    EXPECT_EQ(last.outcome(), pb::REJECTED) << p;
    EXPECT_EQ(last.reject_code(), "WRONG_ROLE") << p << " " << last.reason();
    EXPECT_EQ(at(p).State("w-1"), "submitted");
  }
  EXPECT_EQ(at("buyer").History("w-1").back().reason(), at("bank").History("w-1").back().reason());

  // The seller's node comes back: it catches up, finds its own pin without
  // data, gets the data resent by a member, and applies the same rejection.
  ASSERT_TRUE(net_->node("seller").Start());
  Connect();
  ASSERT_TRUE(Eventually([&] { return at("seller").History("w-1").size() == 3; }, 30000))
      << net_->node("seller").Log();
  EXPECT_EQ(at("seller").History("w-1").back().reject_code(), "WRONG_ROLE");
  ExpectSameStateHash("w-1");
  // Its own pin came before its data: blocked, then resumed.
  auto events = QueryDb(net_->data_dir("seller") + "/node.db",
                        "SELECT type FROM journal WHERE instance = 'w-1' AND type IN ('instance_blocked', "
                        "'instance_unblocked') ORDER BY \"offset\"");
  // (It may block at more than one pin in turn while the data trickles in.)
  ASSERT_GE(events.size(), 2u);
  EXPECT_EQ(events.front()[0], "instance_blocked");
  EXPECT_EQ(events.back()[0], "instance_unblocked");
  EXPECT_EQ(at("seller").Status().blocked_size(), 0);
  // Its next proposal does not reuse the spent nonce.
  ASSERT_TRUE(at("seller").Step("w-1", "accept", "{}", &r).ok());
  EXPECT_EQ(r.outcome(), pb::CONFIRMED) << r.reason();
  ASSERT_TRUE(AllIn("w-1", "accepted"));
  ExpectSameStateHash("w-1");
}

}  // namespace
}  // namespace treaty::testing
