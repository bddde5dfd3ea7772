#!/usr/bin/env bash
# Regenerates tests/state/golden/format1/ (a LevelDB store written by the first edition, storage
# format 1) and format1.keys.txt (its keys, for reading). It builds format1_writer.cc against the
# code of commit $RF_GOLDEN_BASE (default e7d45b6, the last commit before format 2) in a
# temporary directory, so the store is what that code wrote. Needs what scripts/setup.sh installs.
#   bash tests/state/golden/make_format1.sh      (RF_JOBS=1 by default; the machine is shared)
set -euo pipefail
golden="$(cd "$(dirname "$0")" && pwd)"
repo="$(cd "$golden/../../.." && pwd)"
base="${RF_GOLDEN_BASE:-e7d45b6}"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

mkdir -p "$work/src"
git -C "$repo" archive "$base" | tar -x -C "$work/src"
mkdir -p "$work/src/tests/state/golden"
cp "$golden/format1_writer.cc" "$golden/flows.h" "$work/src/tests/state/golden/"
cat >> "$work/src/tests/CMakeLists.txt" <<'CMAKE'
add_executable(rf_golden_format1_writer state/golden/format1_writer.cc)
target_link_libraries(rf_golden_format1_writer PRIVATE rf_engine rf_dsl rf_state_leveldb)
CMAKE
export CCACHE_BASEDIR="$work/src" CCACHE_NOHASHDIR=1
cmake -S "$work/src" -B "$work/build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
nice -n 10 ninja -C "$work/build" -j "${RF_JOBS:-1}" rf_golden_format1_writer

rm -rf "$golden/format1"
"$work/build/tests/rf_golden_format1_writer" "$golden/format1" >"$golden/format1.keys.txt"
# LevelDB's text log (with wall-clock times) and lock file are not part of the data.
rm -f "$golden/format1/LOG" "$golden/format1/LOG.old" "$golden/format1/LOCK"
du -sh "$golden/format1"
echo "wrote $golden/format1 from $base ($(grep -vc '^#' "$golden/format1.keys.txt") keys)"
