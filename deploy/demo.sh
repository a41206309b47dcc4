#!/usr/bin/env bash
# The main job: sets up, builds, then compiles the example definitions and
# shows their structure, their Boost.MSM machines and their diagrams.
set -euo pipefail
cd "$(dirname "$0")/.."
deploy/build.sh
bin=build/bin
out=build/demo
mkdir -p "$out"

for def in examples/purchase-order/purchase-order.yaml examples/letter-of-credit/letter-of-credit.yaml; do
  name=$(basename "$def" .yaml)
  echo "=== $def"
  "$bin/treatyc" check "$def" && echo "valid"
  "$bin/treatyc" describe "$def"
  "$bin/treatyc" compile "$def" -o "$out/$name.msm.h"
  echo "--- Boost.MSM transition table ($out/$name.msm.h):"
  grep -E '^\s+Row<' "$out/$name.msm.h" | head -12
  "$bin/treatyc" graph "$def" -o "$out/$name.dot"
  if command -v dot >/dev/null; then
    dot -Tsvg "$out/$name.dot" -o "$out/$name.svg" && echo "--- diagram: $out/$name.svg"
  fi
  echo
done

echo "=== a malformed definition is refused with precise errors:"
cat > "$out/broken.yaml" <<'YAML'
process: broken
version: 1
roles: [buyer]
states:
  draft: { initial: true }
  done: { final: true }
steps:
  finish: { from: draft, to: dnoe, by: buyer, guard: "input.x ==" }
YAML
"$bin/treatyc" check "$out/broken.yaml" || true
