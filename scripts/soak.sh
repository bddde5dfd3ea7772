#!/usr/bin/env bash
# Soak: reruns the end-to-end tests (e2e.*, one per tests/e2e/test_*.py) and the kill -9 crash test
# (CrashTest.*) N times (default 20), one test at a time, and prints how often each passed.
# After every test run it checks that nothing the run started is still running: each run gets a
# marker in its environment (RF_SOAK_MARK), inherited by every process started below it, and a
# live process carrying it once the run is over (after a grace of RF_SOAK_GRACE s, default 2) is
# a leak: it is listed in the run's log, killed, and the run counts as failed.
#
#   scripts/soak.sh [N]                     # after scripts/build.sh
#   RF_SOAK_TESTS='^e2e\.test_store' scripts/soak.sh 5   # a subset (ctest -R regex)
#
# Logs go to $RF_SOAK_DIR (default a new /tmp/rf-soak-XXXXXX). Not part of CI (scripts/test.sh).
set -uo pipefail
cd "$(dirname "$0")/.."
rounds="${1:-20}"
[[ "$rounds" =~ ^[1-9][0-9]*$ ]] || { echo "usage: scripts/soak.sh [N]  (N >= 1 rounds, default 20)" >&2; exit 2; }
build_dir="${RF_BUILD_DIR:-build}"
pattern="${RF_SOAK_TESTS:-^(e2e\.|CrashTest\.)}"
grace="${RF_SOAK_GRACE:-2}"
[ -f "$build_dir/CTestTestfile.cmake" ] || { echo "soak: no build in $build_dir; run scripts/build.sh first" >&2; exit 2; }
out="${RF_SOAK_DIR:-$(mktemp -d /tmp/rf-soak-XXXXXX)}"
mkdir -p "$out"

mapfile -t tests < <(ctest --test-dir "$build_dir" -N -R "$pattern" | sed -n 's/^ *Test *#[0-9]*: *//p')
[ "${#tests[@]}" -gt 0 ] || { echo "soak: no test matches $pattern in $build_dir" >&2; exit 2; }
echo "soak: ${#tests[@]} tests x $rounds rounds; logs in $out"

# Pids of live processes whose environment holds RF_SOAK_MARK=$1 (only that entry is looked at).
marked() {
  grep -lzxF "RF_SOAK_MARK=$1" /proc/[0-9]*/environ 2>/dev/null | sed 's|^/proc/\([0-9]*\)/environ$|\1|'
}

declare -A passed leaks first_failure seconds
for t in "${tests[@]}"; do passed[$t]=0; leaks[$t]=0; first_failure[$t]="-"; seconds[$t]=0; done

for ((r = 1; r <= rounds; r++)); do
  for t in "${tests[@]}"; do
    log="$out/round$(printf %02d "$r")-$t.log"
    mark="soak-$$-$r-$t"
    start=$(date +%s)
    RF_SOAK_MARK="$mark" ctest --test-dir "$build_dir" -R "^${t//./\\.}\$" -V --timeout 900 >"$log" 2>&1
    rc=$?
    took=$(( $(date +%s) - start ))
    seconds[$t]=$(( ${seconds[$t]} + took ))
    # Leak check: wait (bounded) for processes of this run to go, then list and end the rest.
    left=$(marked "$mark")
    for ((w = 0; w < grace * 10 && ${#left} > 0; w++)); do sleep 0.1; left=$(marked "$mark"); done
    verdict=PASS
    [ "$rc" -eq 0 ] || verdict=FAIL
    if [ -n "$left" ]; then
      verdict="$verdict+LEAK"
      leaks[$t]=$(( ${leaks[$t]} + 1 ))
      { echo; echo "== soak: processes of this run still running after it ended (killed now):"
        for p in $left; do ps -o pid=,pgid=,args= -p "$p"; done; } >>"$log" 2>&1
      for p in $left; do kill -9 "$p" 2>/dev/null; done
    fi
    if [ "$verdict" = PASS ]; then
      passed[$t]=$(( ${passed[$t]} + 1 ))
    elif [ "${first_failure[$t]}" = "-" ]; then
      first_failure[$t]="$log"
    fi
    printf 'round %d/%d  %-60s %-9s %4ds\n' "$r" "$rounds" "$t" "$verdict" "$took"
  done
done

echo
printf '%-60s %9s %6s %7s  %s\n' test passed leaks "avg s" "first failure"
all=0
for t in "${tests[@]}"; do
  printf '%-60s %9s %6d %7d  %s\n' "$t" "${passed[$t]}/$rounds" "${leaks[$t]}" $(( ${seconds[$t]} / rounds )) "${first_failure[$t]}"
  [ "${passed[$t]}" -eq "$rounds" ] || all=1
done
crash_lines=$(grep -ho 'crash test: [0-9]* kills.*' "$out"/*CrashTest*.log 2>/dev/null)
[ -z "$crash_lines" ] || { echo; echo "crash test, per run:"; echo "$crash_lines"; }
exit "$all"
