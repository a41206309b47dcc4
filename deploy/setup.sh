#!/usr/bin/env bash
# Installs every build and runtime dependency of Treaty from Debian packages.
# Idempotent and non-interactive; quiet when everything is already present.
set -euo pipefail

PACKAGES=(
  build-essential cmake ninja-build pkg-config clang libclang-rt-14-dev
  libgrpc++-dev protobuf-compiler-grpc libprotobuf-dev protobuf-compiler
  python3-grpcio python3-protobuf
  libsqlite3-dev sqlite3
  libjemalloc-dev
  libboost-dev
  libzmq3-dev cppzmq-dev
  libsecp256k1-dev
  nettle-dev
  libssl-dev
  openssl                  # test certificates made at run time (tests/integration/security_test.cc)
  libyaml-cpp-dev
  nlohmann-json3-dev
  libcurl4-openssl-dev curl
  libcpp-httplib-dev libgraphviz-dev
  prometheus-cpp-dev       # treatyd --metrics (docs/operations.md)
  libgtest-dev libgmock-dev googletest
  libbenchmark-dev
  graphviz
  chromium                 # the console's browser test (tests/integration/web_console_test.cc)
)

missing=()
for p in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

# Node.js and npm (the build's npm ci of the pinned solc and anvil): by
# command, not by package, because a machine may carry them from another
# source (NodeSource's nodejs bundles npm and conflicts with Debian's npm
# package); Debian's packages only when the commands are missing.
if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
  missing+=(nodejs npm)
fi

if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
echo "setup: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
echo "setup: done"
