#!/bin/sh
# The documented longer fuzzing run (docs/fuzzing.md): each wire fuzzer, one
# at a time and niced (the machine is shared), for RUNS executions or
# SECONDS seconds, whichever comes first, from its checked-in seeds into a
# corpus of its own; prints one line of final statistics per target.
#   tests/fuzz/long_run.sh BUILD_DIR OUT_DIR [RUNS] [SECONDS] [TARGET...]
set -eu
build=$1 out=$2 runs=${3:-10000000} seconds=${4:-0}
shift 2; [ $# -gt 0 ] && shift; [ $# -gt 0 ] && shift
src=$(cd "$(dirname "$0")" && pwd)
targets=${*:-"proposal_envelope_fuzz member_message_fuzz sequencer_frame_fuzz block_fuzz ethereum_abi_fuzz"}
mkdir -p "$out"
for t in $targets; do
  mkdir -p "$out/$t.corpus" "$out/$t.crashes"
  start=$(date +%s)
  nice -n 19 "$build/bin/$t" -runs="$runs" -max_total_time="$seconds" -timeout=5 -rss_limit_mb=2048 \
    -print_final_stats=1 -artifact_prefix="$out/$t.crashes/" "$out/$t.corpus" "$src/seeds/$t" \
    > "$out/$t.log" 2>&1 || true
  end=$(date +%s)
  last=$(grep -E '^#[0-9]+' "$out/$t.log" | tail -1)
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$out/$t.log")
  rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$out/$t.log")
  cov=$(echo "$last" | sed -n 's/.*cov: \([0-9]*\).*/\1/p')
  ft=$(echo "$last" | sed -n 's/.*ft: \([0-9]*\).*/\1/p')
  corpus=$(ls "$out/$t.corpus" | wc -l)
  crashes=$(ls "$out/$t.crashes" | wc -l)
  echo "$t executions=$execs seconds=$((end - start)) exec/s=$rate cov=$cov ft=$ft corpus=$corpus crashes=$crashes"
done
