#!/usr/bin/env bash
# A local multi-party Treaty network on loopback: one ledger (a
# treaty-sequencer, or an anvil chain with the pin contract) and N treatyd
# nodes (default 3: buyer, seller, bank; a 4th and later are party4,
# party5, ...), each with its own keys, data folder and SQLite.
#
#   deploy/network.sh up [--ledger sequencer|ethereum] [N]
#                                generate keys and the network file (once),
#                                start the ledger and the nodes
#   deploy/network.sh status     which processes run; each node's status
#   deploy/network.sh down       stop exactly the processes `up` started
#
# With --ledger ethereum, `up` starts anvil (npm @foundry-rs/anvil, pinned
# in chain/ethereum/package.json, installed by the build) with 1 s blocks
# and its state in anvil-state.json, deploys the pin contract with
# treaty-eth (signed by anvil's first development key), funds the members'
# accounts and writes the contract into network.yaml; the nodes order on
# it with TREATY_ETH_CONFIRMATIONS (default 2) confirmations.
#
# Each node gets a treaty-web (its JSON API and browser console) on
# PORT+20+i when build/bin/treaty-web exists.
#
# The nodes' APIs run with TLS and bearer tokens (docs/security.md). Made
# once, on the first `up`, with openssl: a CA (pki/ca.pem), each node's
# certificate for 127.0.0.1 and localhost, and four tokens per party in
# secrets/ (mode 0600, the folder 0700): PARTY.token (the party's own
# client: its people and scripts with the CLI, every role, queue and job
# type, and operator), PARTY-web.token (its treaty-web, the same grants),
# PARTY-workers.token (treaty-webhook and job workers: job types only) and
# PARTY-clerk.token (one person, the token's user: buyer's bea, seller's
# sam, bank's bo, partyN's clerkN; task queues only, so a claim or a
# completion is that person's without naming an assignee).
# access/PARTY-tokens.yaml holds their SHA-256 only, access/PARTY-access.yaml
# the grants; the node reloads both when they are edited. env/PARTY.env
# sets TREATY_SERVER, TREATY_TLS_CA and TREATY_TOKEN for the `treaty` CLI:
#   source build/network/env/buyer.env && build/bin/treaty status
#
# TREATY_NET_DIR (default build/network) holds keys, network.yaml, data,
# logs and pid files; TREATY_NET_PORT (default 7400) is the first port:
# the sequencer or anvil PORT, node i gRPC PORT+10+i, its treaty-web
# PORT+20+i, data exchange PORT+30+i.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
bin=${TREATY_BIN:-$root/build/bin}
dir=${TREATY_NET_DIR:-$root/build/network}
base=${TREATY_NET_PORT:-7400}
cmd=${1:-status}
shift || true
ledger=""
n=""
while [[ $# -gt 0 ]]; do
  case $1 in
    --ledger) ledger=${2:?--ledger needs sequencer or ethereum}; shift 2 ;;
    *) n=$1; shift ;;
  esac
done
anvil=${TREATY_ANVIL:-$root/build/npm/node_modules/@foundry-rs/anvil-linux-amd64/bin/anvil}
# anvil's first development account (its default mnemonic): funded on every
# fresh anvil chain, well known, for local networks only.
anvil_key=0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80

party_name() {
  case $1 in 1) echo buyer ;; 2) echo seller ;; 3) echo bank ;; *) echo "party$1" ;; esac
}

# The person a party's clerk token acts for (its `user:`).
clerk_name() {
  case $1 in buyer) echo bea ;; seller) echo sam ;; bank) echo bo ;; *) echo "clerk${1#party}" ;; esac
}

alive() { [[ -f $1 ]] && kill -0 "$(cat "$1")" 2>/dev/null; }

# The CLI as PARTY's own client: TLS checked against the network's CA, its token.
cli_as() {  # cli_as PARTY SERVER ARGS...
  local p=$1 server=$2; shift 2
  "$bin/treaty" --server "$server" --tls-ca "$dir/pki/ca.pem" --token-file "$dir/secrets/$p.token" "$@"
}

# The CA, node certificates, tokens, tokens and access files, env files:
# each made once and kept across `up`s (tokens are secrets: 0600).
make_credentials() {
  command -v openssl >/dev/null || { echo "network: openssl missing (deploy/setup.sh installs it)" >&2; exit 1; }
  local ec=(-newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes)
  mkdir -p "$dir/pki" "$dir/access" "$dir/env"
  mkdir -p -m 0700 "$dir/secrets"
  if [[ ! -f $dir/pki/ca.pem ]]; then
    (umask 077; openssl req -x509 "${ec[@]}" -keyout "$dir/pki/ca.key" -out "$dir/pki/ca.pem.tmp" -days 825 \
      -subj "/CN=treaty local network CA" 2>/dev/null)
    mv "$dir/pki/ca.pem.tmp" "$dir/pki/ca.pem"
  fi
  printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\n' > "$dir/pki/san.ext"
  local i p c
  for i in $(seq "$n"); do
    p=$(party_name "$i")
    if [[ ! -f $dir/pki/$p-node.pem ]]; then
      (umask 077; openssl req -new "${ec[@]}" -keyout "$dir/pki/$p-node.key" -out "$dir/pki/$p-node.csr" \
        -subj "/CN=$p-node" 2>/dev/null)
      openssl x509 -req -in "$dir/pki/$p-node.csr" -CA "$dir/pki/ca.pem" -CAkey "$dir/pki/ca.key" -CAcreateserial \
        -out "$dir/pki/$p-node.pem.tmp" -days 825 -extfile "$dir/pki/san.ext" 2>/dev/null
      mv "$dir/pki/$p-node.pem.tmp" "$dir/pki/$p-node.pem"
    fi
    for c in "$p" "$p-web" "$p-workers" "$p-clerk"; do
      [[ -s $dir/secrets/$c.token ]] || (umask 077; openssl rand -hex 32 > "$dir/secrets/$c.token")
    done
    if [[ ! -f $dir/access/$p-tokens.yaml ]]; then
      {
        echo "# $p's node: the SHA-256 of each client's token (the tokens are in secrets/)"
        echo "tokens:"
        for c in "$p" "$p-web" "$p-workers" "$p-clerk"; do
          echo "  - name: $c"
          echo "    sha256: $(tr -d '\n' < "$dir/secrets/$c.token" | sha256sum | cut -d' ' -f1)"
          [[ $c != "$p-clerk" ]] || echo "    user: $(clerk_name "$p")"
        done
      } > "$dir/access/$p-tokens.yaml.tmp"
      mv "$dir/access/$p-tokens.yaml.tmp" "$dir/access/$p-tokens.yaml"
    fi
    if [[ ! -f $dir/access/$p-access.yaml ]]; then
      {
        echo "# Who may call $p's node (docs/security.md). Whatever roles are granted, the"
        echo "# node proposes only steps of the roles its party holds."
        echo "clients:"
        echo "  $p:  # the party's own client: the CLI, scripts"
        echo "    processes: [{ definition: \"*\", roles: [\"*\"] }]"
        echo "    task_queues: [\"*\"]"
        echo "    job_types: [\"*\"]"
        echo "    operator: true"
        echo "  $p-web:  # its treaty-web: one identity for the console's users"
        echo "    processes: [{ definition: \"*\", roles: [\"*\"] }]"
        echo "    task_queues: [\"*\"]"
        echo "    job_types: [\"*\"]"
        echo "    operator: true"
        echo "  $p-workers:  # treaty-webhook and job workers"
        echo "    job_types: [\"*\"]"
        echo "  $p-clerk:  # one person ($(clerk_name "$p")): works the task queues"
        echo "    task_queues: [\"*\"]"
      } > "$dir/access/$p-access.yaml.tmp"
      mv "$dir/access/$p-access.yaml.tmp" "$dir/access/$p-access.yaml"
    fi
    {
      echo "# source this file: the treaty CLI then calls $p's node as its client '$p'"
      echo "export TREATY_SERVER=127.0.0.1:$((base + 10 + i))"
      echo "export TREATY_TLS_CA=$dir/pki/ca.pem"
      echo "export TREATY_TOKEN=\"\$(cat $dir/secrets/$p.token)\""
    } > "$dir/env/$p.env"
  done
}

wait_ready() {  # gRPC answers, over TLS with the party's token
  local p=$1 server=$2
  for _ in $(seq 100); do
    cli_as "$p" "$server" status >/dev/null 2>&1 && return 0
    sleep 0.1
  done
  echo "network: node at $server did not come up" >&2
  return 1
}

up() {
  [[ -x $bin/treatyd && -x $bin/treaty-sequencer ]] || { echo "network: build first (deploy/build.sh)" >&2; exit 1; }
  mkdir -p "$dir/pids" "$dir/logs"
  if [[ -f $dir/size ]]; then
    if [[ -n $n && $n != $(cat "$dir/size") ]]; then
      echo "network: $dir holds a network of $(cat "$dir/size") nodes; run down and remove it for another size" >&2
      exit 1
    fi
    n=$(cat "$dir/size")
  fi
  n=${n:-3}
  [[ $n =~ ^[0-9]+$ && $n -ge 1 && $n -le 20 ]] || { echo "network: N must be 1-20" >&2; exit 1; }
  if [[ -f $dir/ledger ]]; then
    if [[ -n $ledger && $ledger != $(cat "$dir/ledger") ]]; then
      echo "network: $dir holds a network on $(cat "$dir/ledger"); run down and remove it for another ledger" >&2
      exit 1
    fi
    ledger=$(cat "$dir/ledger")
  fi
  ledger=${ledger:-sequencer}
  [[ $ledger == sequencer || $ledger == ethereum ]] || { echo "network: --ledger is sequencer or ethereum" >&2; exit 1; }
  if [[ $ledger == ethereum ]]; then
    [[ -x $anvil && -x $bin/treaty-eth ]] || { echo "network: anvil or treaty-eth missing; build first (deploy/build.sh)" >&2; exit 1; }
  fi
  echo "$ledger" > "$dir/ledger"
  if [[ ! -f $dir/network.yaml ]]; then
    {
      echo "network: local"
      echo "claim_salt: $(od -An -tx1 -N32 /dev/urandom | tr -d ' \n')"
      if [[ $ledger == sequencer ]]; then
        "$bin/treaty-sequencer" init --data "$dir/sequencer" --endpoint "tcp://127.0.0.1:$base"
      fi
      echo "members:"
      for i in $(seq "$n"); do
        p=$(party_name "$i")
        "$bin/treatyd" init --data "$dir/$p" --party "$p" --endpoint "tcp://127.0.0.1:$((base + 30 + i))" | sed 's/^/  /'
      done
    } > "$dir/network.yaml.tmp"
    mv "$dir/network.yaml.tmp" "$dir/network.yaml"
    echo "$n" > "$dir/size"
  fi
  make_credentials
  local node_ledger=sequencer where="sequencer tcp://127.0.0.1:$base"
  if [[ $ledger == sequencer ]]; then
    if ! alive "$dir/pids/sequencer.pid"; then
      "$bin/treaty-sequencer" --data "$dir/sequencer" --network "$dir/network.yaml" 2>>"$dir/logs/sequencer.log" &
      echo $! > "$dir/pids/sequencer.pid"
    fi
  else
    local rpc="http://127.0.0.1:$base"
    node_ledger="ethereum://127.0.0.1:$base"
    if ! alive "$dir/pids/anvil.pid"; then
      "$anvil" --host 127.0.0.1 --port "$base" --block-time 1 --state "$dir/anvil-state.json" --silent \
        >>"$dir/logs/anvil.log" 2>&1 &
      echo $! > "$dir/pids/anvil.pid"
      for _ in $(seq 100); do
        curl -s -o /dev/null -X POST -H 'content-type: application/json' \
          --data '{"jsonrpc":"2.0","id":1,"method":"eth_chainId","params":[]}' "$rpc" && break
        sleep 0.1
      done
    fi
    if ! grep -q '^ethereum:' "$dir/network.yaml"; then
      "$bin/treaty-eth" deploy --rpc "$rpc" --key "$anvil_key" --network "$dir/network.yaml" \
        --confirmations "${TREATY_ETH_CONFIRMATIONS:-2}"
      "$bin/treaty-eth" fund --rpc "$rpc" --key "$anvil_key" --network "$dir/network.yaml" | sed 's/^/  funded /'
    fi
    where="anvil $rpc, pin contract $(sed -n 's/^  contract: "\(.*\)"/\1/p' "$dir/network.yaml")"
  fi
  for i in $(seq "$n"); do
    p=$(party_name "$i")
    if ! alive "$dir/pids/$p.pid"; then
      "$bin/treatyd" --data "$dir/$p" --party "$p" --listen "127.0.0.1:$((base + 10 + i))" \
        --tls-cert "$dir/pki/$p-node.pem" --tls-key "$dir/pki/$p-node.key" \
        --tokens "$dir/access/$p-tokens.yaml" --access "$dir/access/$p-access.yaml" \
        --ledger "$node_ledger" --network "$dir/network.yaml" ${TREATY_NODE_ARGS:-} 2>>"$dir/logs/$p.log" &
      echo $! > "$dir/pids/$p.pid"
    fi
  done
  for i in $(seq "$n"); do wait_ready "$(party_name "$i")" "127.0.0.1:$((base + 10 + i))"; done
  if [[ -x $bin/treaty-web ]]; then
    for i in $(seq "$n"); do
      p=$(party_name "$i")
      if ! alive "$dir/pids/$p-web.pid"; then
        "$bin/treaty-web" --node "127.0.0.1:$((base + 10 + i))" --listen "127.0.0.1:$((base + 20 + i))" \
          --tls-ca "$dir/pki/ca.pem" --token-file "$dir/secrets/$p-web.token" 2>>"$dir/logs/$p-web.log" &
        echo $! > "$dir/pids/$p-web.pid"
      fi
    done
  fi
  echo "network: up in $dir: $where; the APIs with TLS (CA $dir/pki/ca.pem) and bearer tokens ($dir/secrets)"
  for i in $(seq "$n"); do
    p=$(party_name "$i")
    line="  $p: source $dir/env/$p.env && treaty COMMAND   (127.0.0.1:$((base + 10 + i)))"
    [[ -x $bin/treaty-web ]] && line+="   console http://127.0.0.1:$((base + 20 + i))/"
    echo "$line"
  done
}

down() {
  local pids=()
  for f in "$dir"/pids/*.pid; do
    [[ -f $f ]] || continue
    if alive "$f"; then pids+=("$(cat "$f")"); kill -TERM "$(cat "$f")" 2>/dev/null || true; fi
  done
  for pid in "${pids[@]}"; do
    for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -0 "$pid" 2>/dev/null && kill -KILL "$pid" 2>/dev/null || true
  done
  rm -f "$dir"/pids/*.pid
  echo "network: down (${#pids[@]} processes stopped)"
}

status() {
  [[ -f $dir/size ]] || { echo "network: none in $dir"; return 0; }
  local size; size=$(cat "$dir/size")
  local l; l=$(cat "$dir/ledger" 2>/dev/null || echo sequencer)
  local lp=sequencer; [[ $l == ethereum ]] && lp=anvil
  if alive "$dir/pids/$lp.pid"; then echo "$lp: running (pid $(cat "$dir/pids/$lp.pid"))"
  else echo "$lp: stopped"; fi
  for i in $(seq "$size"); do
    p=$(party_name "$i")
    if alive "$dir/pids/$p.pid"; then
      echo "$p: running (pid $(cat "$dir/pids/$p.pid"))"
      cli_as "$p" "127.0.0.1:$((base + 10 + i))" status | sed 's/^/    /' || true
    else
      echo "$p: stopped"
    fi
  done
}

case $cmd in
  up) up ;;
  down) down ;;
  status) status ;;
  *) echo "usage: deploy/network.sh up [--ledger sequencer|ethereum] [N] | status | down" >&2; exit 2 ;;
esac
