#!/usr/bin/env bash
# Installs every build and test dependency of retailflow from Debian's packages.
# Idempotent: safe to run again; it only installs what is missing. Needs root (or sudo).
set -euo pipefail

packages=(
  build-essential cmake ninja-build ccache pkg-config git
  antlr4 libantlr4-runtime-dev
  libboost-dev libboost-system-dev
  nlohmann-json3-dev libleveldb-dev libspdlog-dev libfmt-dev
  libgtest-dev libgmock-dev libcli11-dev libssl-dev
  libhowardhinnant-date-dev tzdata
  liburiparser-dev libjemalloc-dev openssl
  curl python3 prometheus graphviz
  wrk
  chromium  # the console's browser tests (tests/console) drive it headless with playwright-core
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done

if ((${#missing[@]})); then
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

# The OpenAPI lint (tests/server/openapi_test.cc) runs @redocly/cli from npm, pinned by
# tools/openapi-lint/package-lock.json. Node comes with the machine; Debian's npm is the fallback.
if ! command -v npm > /dev/null 2>&1; then
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends nodejs npm
fi
lint_dir="$(dirname "$0")/../tools/openapi-lint"
if [ ! -x "$lint_dir/node_modules/.bin/redocly" ]; then
  (cd "$lint_dir" && npm ci --no-audit --no-fund --loglevel=error)
fi
# The console (console/) is built with Vite from its lockfile; the build runs `npm ci` itself when
# the lockfile changes, this only makes the first build on a fresh machine not wait for it.
console_dir="$(dirname "$0")/../console"
if [ ! -d "$console_dir/node_modules" ]; then
  (cd "$console_dir" && npm ci --no-audit --no-fund --loglevel=error)
fi
