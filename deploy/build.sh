#!/usr/bin/env bash
# Configures and builds Treaty into build/ (binaries in build/bin/).
# Two parallel jobs: the machine has two cores and a generated Boost.MSM
# machine can take a gigabyte to compile.
set -euo pipefail
cd "$(dirname "$0")/.."
deploy/setup.sh
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j "${TREATY_BUILD_JOBS:-2}"
