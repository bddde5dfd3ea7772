#!/usr/bin/env bash
# Configures and builds retailflow into ./build (or $RF_BUILD_DIR) with Ninja, ccache and at most
# $RF_JOBS (default 2) parallel jobs. Extra arguments go to CMake (e.g. -DRF_SANITIZE=ON).
set -euo pipefail
cd "$(dirname "$0")/.."
build_dir="${RF_BUILD_DIR:-build}"
# Let ccache reuse objects between clones of the repository (paths are made relative).
export CCACHE_BASEDIR="${CCACHE_BASEDIR:-$PWD}" CCACHE_NOHASHDIR="${CCACHE_NOHASHDIR:-1}"
cmake -S . -B "$build_dir" -G Ninja -DCMAKE_BUILD_TYPE="${RF_BUILD_TYPE:-RelWithDebInfo}" "$@" >/dev/null
ninja -C "$build_dir" -j "${RF_JOBS:-2}"
