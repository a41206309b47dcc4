#!/usr/bin/env bash
# The main job: sets up and builds Treaty, shows the example definitions
# compiled to Boost.MSM, then starts a three-party network on loopback (a
# treaty-sequencer and the buyer's, seller's and bank's treatyd, each with
# its own keys and database) and runs purchase orders across it with the
# `treaty` CLI: the seller's accept waits in the seller's task queue and is
# claimed and completed there; every step is attested by all three, the bank holds the
# order's items only as a salted hash, and the buyer's cancel races the
# seller's accept: one wins at all three parties, the other is rejected
# with the same reason everywhere. Then a loan whose steps are done by
# machines: the bank's credit check by treaty-webhook calling a credit
# bureau over HTTP, its payout by a Python job worker (examples/loan).
# Last, the same three parties on an Ethereum chain instead of the
# sequencer: anvil with 1 s blocks, the pin contract deployed and the
# members funded by deploy/network.sh, a purchase order across it.
# Every call to a node goes over TLS with a bearer token (docs/security.md):
# deploy/network.sh makes the CA, the certificates and the tokens; the
# CLI, treaty-web, treaty-webhook and the Python worker present them.
# Stops exactly the processes it started.
set -euo pipefail
cd "$(dirname "$0")/.."
deploy/build.sh
bin=$PWD/build/bin
out=$PWD/build/demo
rm -rf "$out"
mkdir -p "$out"

echo "=== 1. Definitions compile to Boost.MSM machines"
for def in examples/purchase-order/purchase-order.yaml examples/letter-of-credit/letter-of-credit.yaml; do
  name=$(basename "$def" .yaml)
  "$bin/treatyc" check "$def"
  "$bin/treatyc" compile "$def" -o "$out/$name.msm.h"
  "$bin/treatyc" graph "$def" -o "$out/$name.dot"
  command -v dot >/dev/null && dot -Tsvg "$out/$name.dot" -o "$out/$name.svg"
  echo "$def: valid, $(grep -c '^    Row<' "$out/$name.msm.h") transition rows -> $out/$name.msm.h, diagram $out/$name.svg"
done
"$bin/treatyc" describe examples/purchase-order/purchase-order.yaml
echo
echo "A malformed definition is refused with precise errors:"
printf 'process: broken\nversion: 1\nroles: [buyer]\nstates:\n  draft: { initial: true }\n  done: { final: true }\nsteps:\n  finish: { from: draft, to: dnoe, by: buyer, guard: "input.x ==" }\n' > "$out/broken.yaml"
"$bin/treatyc" check "$out/broken.yaml" || true

echo
echo "=== 2. Three parties and a sequencer on loopback"
export TREATY_NET_DIR=$out/network
export TREATY_NET_PORT=$(/usr/bin/python3 - <<'PY'
import random, socket
for _ in range(200):
    base = random.randrange(20000, 60000, 100)
    try:
        socks = []
        for p in [base] + [base + k + i for k in (10, 20, 30) for i in range(1, 4)]:
            s = socket.socket(); s.bind(("127.0.0.1", p)); socks.append(s)
        print(base); break
    except OSError:
        pass
PY
)
# The loan example is loaded from a folder of its own (examples/loan also
# holds the webhook's config, which is no definition).
mkdir -p "$out/loan-defs"
cp examples/loan/loan.yaml "$out/loan-defs/"
export TREATY_NODE_ARGS="--definitions $out/loan-defs"
helpers=()
stop_helpers() { for pid in "${helpers[@]}"; do kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; done; helpers=(); }
trap 'stop_helpers; deploy/network.sh down || true' EXIT
deploy/network.sh up 3
echo
echo "Every node's API takes only TLS with a known token. Without a token:"
echo "\$ treaty --server 127.0.0.1:$((TREATY_NET_PORT + 11)) --tls-ca ca.pem status"
"$bin/treaty" --server "127.0.0.1:$((TREATY_NET_PORT + 11))" --tls-ca "$TREATY_NET_DIR/pki/ca.pem" status || true
echo "In plaintext:"
"$bin/treaty" --server "127.0.0.1:$((TREATY_NET_PORT + 11))" status 2>&1 | head -1 || true
echo "With the buyer's env file (TREATY_SERVER, TREATY_TLS_CA, TREATY_TOKEN):"
echo "\$ source $TREATY_NET_DIR/env/buyer.env && treaty status"
(source "$TREATY_NET_DIR/env/buyer.env" && "$bin/treaty" status | sed -n 1,3p)
echo
buyer=127.0.0.1:$((TREATY_NET_PORT + 11))
seller=127.0.0.1:$((TREATY_NET_PORT + 12))
bank=127.0.0.1:$((TREATY_NET_PORT + 13))
# Each party's CLI calls its own node as the party's client: TLS checked
# against the network's CA, the party's token (deploy/network.sh).
as() {
  local who=$1; shift
  "$bin/treaty" --server "${!who}" --tls-ca "$TREATY_NET_DIR/pki/ca.pem" \
    --token-file "$TREATY_NET_DIR/secrets/$who.token" "$@"
}
roles="--role buyer=buyer --role seller=seller --role bank=bank"
# A party acts once it has applied what came before (its own view).
await() {  # await PARTY INSTANCE STATE
  for _ in $(seq 100); do
    as "$1" --json get "$2" 2>/dev/null | grep -q "\"$3\"" && return 0
    sleep 0.1
  done
  echo "demo: $1 never saw $2 in $3" >&2
  return 1
}
echo "\$ treaty start purchase-order --id po-1001 $roles      (at the buyer)"
as buyer start purchase-order --id po-1001 $roles
echo
echo "\$ treaty step po-1001 submit ...   (buyer)"
as buyer step po-1001 submit \
  --input '{"po_number":"PO-1001","items":[{"sku":"BOLT-M8","qty":500},{"sku":"NUT-M8","qty":500}],"total":1250}'
await seller po-1001 submitted
echo "The seller's accept is a human task: it waits in the seller's queue (and only there)."
for _ in $(seq 100); do as seller tasks --queue sales-approvals --state open | grep -q po-1001 && break; sleep 0.1; done
echo "\$ treaty tasks --queue sales-approvals      (seller)"
as seller tasks --queue sales-approvals
echo "\$ treaty tasks      (buyer: holds no seller role)"
as buyer tasks
if [[ -x $bin/treaty-web ]]; then
  web_seller=http://127.0.0.1:$((TREATY_NET_PORT + 22))
  echo "The same inbox from the seller's treaty-web, as JSON (its console: $web_seller/):"
  echo "\$ curl '$web_seller/api/v1/tasks?queue=sales-approvals'"
  curl -s "$web_seller/api/v1/tasks?queue=sales-approvals" | /usr/bin/python3 -m json.tool | head -30
  echo "\$ curl $web_seller/api/v1/instances/no-such-order      (errors carry the node's message)"
  curl -s -w '   (HTTP %{http_code})\n' "$web_seller/api/v1/instances/no-such-order"
fi
# Sam works the queue with his own token (secrets/seller-clerk.token, user
# sam): his claims and completions are his without naming an assignee, and
# he may not claim for someone else.
clerk() {
  "$bin/treaty" --server "$seller" --tls-ca "$TREATY_NET_DIR/pki/ca.pem" \
    --token-file "$TREATY_NET_DIR/secrets/seller-clerk.token" "$@"
}
echo "\$ treaty task claim po-1001:1:accept --assignee kim      (seller's clerk sam, for someone else: refused)"
clerk task claim po-1001:1:accept --assignee kim || true
echo "\$ treaty task claim po-1001:1:accept      (seller's clerk sam: claimed for sam)"
clerk task claim po-1001:1:accept
echo "\$ treaty task complete po-1001:1:accept      (sam: the seller proposes accept)"
clerk task complete po-1001:1:accept
await buyer po-1001 accepted
echo "\$ treaty get po-1001      (the buyer's view moved)"
as buyer get po-1001 | grep -E "states|position"
echo "\$ treaty step po-1001 pay --input '{\"amount\":1200}'   (buyer; wrong amount, refused at preflight)"
as buyer step po-1001 pay --input '{"amount":1200}' || true
as buyer step po-1001 pay --input '{"amount":1250}'
await bank po-1001 paid
sleep 0.5  # attestations travel after the last step
echo
echo "The seller's copy of the order and the bank's copy: items as a salted hash, same state hash:"
as seller get po-1001
echo
as bank get po-1001
echo
echo "\$ treaty history po-1001   (at the bank: who attested each step)"
as bank history po-1001

echo
echo "=== 3. The buyer's cancel races the seller's accept"
as buyer start purchase-order --id po-1002 $roles >/dev/null
as buyer step po-1002 submit --input '{"po_number":"PO-1002","items":[{"sku":"GEAR","qty":1}],"total":90}' >/dev/null
await seller po-1002 submitted
as seller step po-1002 accept >"$out/accept.txt" 2>&1 &
a=$!
as buyer step po-1002 cancel --input '{"reason":"found it cheaper"}' >"$out/cancel.txt" 2>&1 &
c=$!
wait $a || true
wait $c || true
echo "seller's accept: $(cat "$out/accept.txt")"
echo "buyer's cancel:  $(cat "$out/cancel.txt")"
sleep 0.5
for p in buyer seller bank; do
  echo "--- $p:"
  as "$p" history po-1002
done
echo
echo "The seller's task for po-1002, closed by whichever step won:"
as seller task show po-1002:1:accept | grep -E "^state"
echo
echo "=== 4. A unique order number is claimed once across the network"
as buyer start purchase-order --id po-1003 $roles >/dev/null
echo "\$ treaty step po-1003 submit --input '{\"po_number\":\"PO-1001\",...}'"
as buyer step po-1003 submit --input '{"po_number":"PO-1001","items":[{"sku":"X","qty":1}],"total":5}' || true
echo
echo "=== 5. A loan whose steps are done by machines (jobs)"
bureau_port=$(/usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
/usr/bin/python3 examples/loan/bureau.py --port "$bureau_port" >"$out/bureau.log" 2>&1 &
helpers+=($!)
# The webhook reaches the bank's node over TLS as the bank's workers' client.
sed -e "s|^node: .*|node: $bank\ntls_ca: $TREATY_NET_DIR/pki/ca.pem\ntoken_file: $TREATY_NET_DIR/secrets/bank-workers.token|" \
  -e "s|127.0.0.1:8089|127.0.0.1:$bureau_port|" examples/loan/webhook.yaml >"$out/webhook.yaml"
echo "The bank's credit-check jobs go to a credit bureau over HTTP ($out/webhook.yaml):"
"$bin/treaty-webhook" --config "$out/webhook.yaml" >"$out/webhook.log" 2>&1 &
helpers+=($!)
echo "and its payouts to a Python worker (examples/loan/payout_worker.py), which fails each payout once:"
/usr/bin/python3 examples/loan/payout_worker.py --server "$bank" --tls-ca "$TREATY_NET_DIR/pki/ca.pem" \
  --token-file "$TREATY_NET_DIR/secrets/bank-workers.token" --fail-first 1 >"$out/payout.log" 2>&1 &
helpers+=($!)
loan_roles="--role applicant=buyer --role bank=bank"
for spec in "loan-1:Ada Lovelace:25000" "loan-2:Bad Debtor:900" "loan-3:Nobody Known:4000"; do
  IFS=: read -r id name amount <<<"$spec"
  as buyer start loan --id "$id" $loan_roles >/dev/null
  echo "\$ treaty step $id apply --input '{\"applicant\":\"$name\",\"amount\":$amount}'   (the applicant, at the buyer's node)"
  as buyer step "$id" apply --input "{\"applicant\":\"$name\",\"amount\":$amount}" >/dev/null
done
await bank loan-1 checked
await bank loan-2 declined
await bank loan-3 referred
echo "The bureau scored Ada, declined Bad Debtor (422 DECLINED -> decline), had no file on Nobody (404 NO_FILE -> refer):"
as bank jobs --type credit-check
echo
echo "\$ treaty step loan-1 approve   (the bank; its guard: data.score >= 600)"
as bank step loan-1 approve
await bank loan-1 paid
echo "The payout worker failed once, the node retried after the definition's backoff, the second try paid:"
as bank jobs --type payout
echo
echo "Every step of loan-1, attested by both parties (at the applicant's node):"
await buyer loan-1 paid
as buyer history loan-1
echo
echo "Nobody's loan waits for an underwriter in the bank's task queue:"
as bank tasks --queue underwriting
echo "Open incidents at the bank:"
as bank incidents
stop_helpers
echo
for p in buyer seller bank; do
  echo "--- $p:"
  as "$p" status
done
echo
deploy/network.sh down
trap - EXIT
echo
echo "buyer's log:"
cat "$out/network/logs/buyer.log"

echo
echo "=== 6. The same three parties on an Ethereum chain (anvil, 1 s blocks, the pin contract)"
export TREATY_NET_DIR=$out/network-eth
unset TREATY_NODE_ARGS
trap 'deploy/network.sh down || true' EXIT
deploy/network.sh up --ledger ethereum 3
as buyer start purchase-order --id po-2001 $roles >/dev/null
await seller po-2001 draft
echo "\$ treaty step po-2001 submit ...   (buyer; ordered by the chain, applied once 2 blocks lie on top)"
time as buyer step po-2001 submit --input '{"po_number":"PO-2001","items":[{"sku":"BOLT","qty":40}],"total":300}'
await seller po-2001 submitted
as seller step po-2001 accept >/dev/null
await buyer po-2001 accepted
as buyer step po-2001 pay --input '{"amount":300}' >/dev/null
await bank po-2001 paid
echo
echo "\$ treaty history po-2001   (at the bank)"
as bank history po-2001
echo
echo "\$ treaty status   (at the buyer: the chain, the contract, its account)"
as buyer status
deploy/network.sh down
trap - EXIT
