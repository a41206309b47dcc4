#!/usr/bin/env bash
# Builds and runs the benchmarks, printing the results with the machine's
# limits measured in the same run. Copy the figures into docs/performance.md.
set -euo pipefail
cd "$(dirname "$0")/.."
deploy/build.sh
echo "machine: $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')"
for b in build/bin/*_bench; do
  echo "=== $b"
  "$b" --benchmark_min_time=0.5 "$@"
done
