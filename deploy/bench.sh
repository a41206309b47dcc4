#!/usr/bin/env bash
# Builds and runs the benchmarks, printing the results with the machine's
# limits measured in the same run. Copy the figures into docs/performance.md.
#
#   deploy/bench.sh [ARGS]                 the C++ benches, each given ARGS
#   deploy/bench.sh --peer restate [ARGS]  only the side-by-side peer bench
#                                          (tests/bench/peer/peer_bench.js,
#                                          given ARGS; --help lists them)
#
# --peer installs the bench's npm packages (versions pinned in
# tests/bench/peer/package-lock.json) into build/peer/ and Restate's server
# with them. TREATY_TREATYD=PATH runs that treatyd instead of building one.
set -euo pipefail
cd "$(dirname "$0")/.."

peer=""
case "${1:-}" in
  --peer) peer="${2:?--peer needs a name: restate}"; shift 2 ;;
  --peer=*) peer="${1#--peer=}"; shift ;;
esac

if [ -z "$peer" ]; then
  deploy/build.sh
  echo "machine: $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')"
  for b in build/bin/*_bench; do
    echo "=== $b"
    "$b" --benchmark_min_time=0.5 "$@"
  done
  exit 0
fi

if [ "$peer" != restate ]; then
  echo "bench.sh: unknown peer '$peer' (only: restate)" >&2
  exit 2
fi

if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
  SUDO=""
  if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
  echo "bench: installing nodejs npm"
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends nodejs npm >/dev/null
fi

# npm packages: again only when the pinned set changed.
mkdir -p build/peer
if ! cmp -s tests/bench/peer/package-lock.json build/peer/package-lock.json \
   || [ ! -d build/peer/node_modules ]; then
  echo "bench: npm ci into build/peer"
  cp tests/bench/peer/package.json tests/bench/peer/package-lock.json build/peer/
  # SCARF_ANALYTICS: restate-server's dependency @scarf/scarf would report
  # the install; nothing here should call out.
  (cd build/peer && SCARF_ANALYTICS=false npm ci --no-audit --no-fund --loglevel=error)
fi

if [ -n "${TREATY_TREATYD:-}" ]; then
  echo "bench: treatyd from TREATY_TREATYD=$TREATY_TREATYD (not built)"
else
  deploy/build.sh
  export TREATY_TREATYD="$PWD/build/bin/treatyd"
fi
exec node tests/bench/peer/peer_bench.js --peer restate --treatyd "$TREATY_TREATYD" "$@"
