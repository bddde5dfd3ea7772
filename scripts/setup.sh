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
