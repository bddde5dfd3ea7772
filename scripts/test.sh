#!/usr/bin/env bash
# Quick start, second command: installs what is missing, builds, and runs every test.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
bash scripts/build.sh "$@"
build_dir="${RF_BUILD_DIR:-build}"
ctest --test-dir "$build_dir" --output-on-failure -j "${RF_JOBS:-2}" --timeout 600
