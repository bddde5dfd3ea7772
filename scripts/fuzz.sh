#!/usr/bin/env bash
# Fuzz: builds the two libFuzzer targets (clang 16, ASan + UBSan, every library instrumented) in
# $RF_FUZZ_BUILD_DIR (default build-fuzz) and runs each for S seconds (default 1800), one after
# the other, from a scratch copy of its seed corpus, so that what the fuzzer finds never lands in
# the repository by itself. Prints per target: runs, executions, coverage, corpus size, crashes.
#
#   scripts/fuzz.sh [S]            # e.g. scripts/fuzz.sh 60 for a quick look
#   RF_FUZZ_TARGETS=http scripts/fuzz.sh 1800
#
# A crash, leak or property violation stops that target; its input is kept in the run's directory
# (printed) — put it under tests/fuzz/http_findings/ with what it shows (see the README there).
# Not part of CI (scripts/test.sh replays the corpora in every run instead).
set -uo pipefail
cd "$(dirname "$0")/.."
seconds="${1:-1800}"
[[ "$seconds" =~ ^[1-9][0-9]*$ ]] || { echo "usage: scripts/fuzz.sh [SECONDS]" >&2; exit 2; }
build_dir="${RF_FUZZ_BUILD_DIR:-build-fuzz}"
targets="${RF_FUZZ_TARGETS:-flow http}"
command -v clang++-16 > /dev/null || { echo "fuzz: needs clang-16 (apt-get install clang-16 libclang-rt-16-dev)" >&2; exit 2; }

export CCACHE_BASEDIR="$PWD" CCACHE_NOHASHDIR=1
cmake -S . -B "$build_dir" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DRF_FUZZ=ON -DRF_JEMALLOC=OFF \
  -DCMAKE_C_COMPILER=clang-16 -DCMAKE_CXX_COMPILER=clang++-16 > /dev/null || exit 2
want=()
for t in $targets; do want+=("tests/rf_${t}_fuzzer"); done
ninja -C "$build_dir" -j "${RF_JOBS:-1}" "${want[@]}" || exit 2

out="$(mktemp -d /tmp/rf-fuzz-XXXXXX)"
status=0
for t in $targets; do
  case "$t" in flow) seeds=tests/fuzz/corpus ;; http) seeds=tests/fuzz/http_corpus ;; *) echo "unknown target $t" >&2; exit 2 ;; esac
  work="$out/$t"
  mkdir -p "$work/corpus"
  find "$seeds" -maxdepth 1 -type f ! -name '*.md' -exec cp {} "$work/corpus/" \;
  seeds_n=$(ls "$work/corpus" | wc -l)
  echo "fuzz: $t for ${seconds}s from $seeds_n seeds; log $work/log"
  (cd "$work" && "$OLDPWD/$build_dir/tests/rf_${t}_fuzzer" corpus -max_total_time="$seconds" -timeout=25 \
      -rss_limit_mb=4096 -print_final_stats=1 > log 2>&1)
  rc=$?
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$work/log" | tail -1)
  rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$work/log" | tail -1)
  cov=$(grep -o 'cov: [0-9]*' "$work/log" | tail -1)
  ft=$(grep -o 'ft: [0-9]*' "$work/log" | tail -1)
  crashes=$(ls "$work" | grep -cE '^(crash|leak|timeout|oom)-')
  echo "fuzz: $t exit $rc: ${execs:-?} executions (${rate:-?}/s), ${cov:-cov: ?}, ${ft:-ft: ?}, corpus $seeds_n -> $(ls "$work/corpus" | wc -l), findings $crashes"
  [ "$rc" -eq 0 ] && [ "$crashes" -eq 0 ] || status=1
done
echo "fuzz: logs and findings in $out"
exit $status
