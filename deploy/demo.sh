#!/usr/bin/env bash
# The main job: sets up and builds Treaty, shows the example definitions
# compiled to Boost.MSM, then starts a treatyd node with the purchase-order
# definition, drives an order to completion with the `treaty` CLI, shows
# its history, and races the seller's accept against the buyer's cancel:
# exactly one wins, the other is rejected with its reason. Stops the node
# it started.
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
echo "=== 2. A node runs the purchase order"
port=$(/usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
server=127.0.0.1:$port
"$bin/treatyd" --data "$out/node" --listen "$server" --party acme 2>"$out/treatyd.log" &
node_pid=$!
trap 'kill $node_pid 2>/dev/null || true; wait $node_pid 2>/dev/null || true' EXIT
for _ in $(seq 50); do "$bin/treaty" --server "$server" status >/dev/null 2>&1 && break; sleep 0.1; done
treaty() { "$bin/treaty" --server "$server" "$@"; }

treaty definitions
echo
echo "\$ treaty start purchase-order --id po-1001"
treaty start purchase-order --id po-1001
echo
echo "\$ treaty step po-1001 submit --input '{...}'"
treaty step po-1001 submit --key submit-1001 \
  --input '{"po_number":"PO-1001","items":[{"sku":"BOLT-M8","qty":500},{"sku":"NUT-M8","qty":500}],"total":1250}'
treaty step po-1001 accept
echo "\$ treaty step po-1001 pay --input '{\"amount\":1200}'   (wrong amount)"
treaty step po-1001 pay --input '{"amount":1200}' || true
treaty step po-1001 pay --input '{"amount":1250}'
echo
echo "\$ treaty history po-1001"
treaty history po-1001

echo
echo "=== 3. accept and cancel race from 'submitted'"
treaty start purchase-order --id po-1002 >/dev/null
treaty step po-1002 submit --input '{"po_number":"PO-1002","items":[{"sku":"GEAR","qty":1}],"total":90}' >/dev/null
treaty step po-1002 accept >"$out/accept.txt" 2>&1 &
a=$!
treaty step po-1002 cancel --input '{"reason":"found it cheaper"}' >"$out/cancel.txt" 2>&1 &
c=$!
wait $a || true
wait $c || true
echo "seller's accept: $(cat "$out/accept.txt")"
echo "buyer's cancel:  $(cat "$out/cancel.txt")"
treaty history po-1002
echo
treaty list --definition purchase-order
echo
treaty status

kill $node_pid
wait $node_pid || true
trap - EXIT
echo
echo "node log:"
cat "$out/treatyd.log"
