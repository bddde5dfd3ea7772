#!/usr/bin/env python3
"""retailflow's engine against xstate 5 on the same 5-step store-return shape, same run,
alternating (issue 10, "Speed"). Prints a table per round, the medians and ranges, the same-run
ratios and the issue's targets with whether they are met — as information: nothing here fails on
a figure.

  bench/compare_xstate.py [--peers DIR] [--rounds 3] [--levels 64,256,1024] [--seconds 4]

Each round runs, in alternating order (odd rounds ours first, even rounds xstate first):
  ours    rf_bench_engine --parked=0 --no-group --levels=L --seconds=S --json: LevelDB sync=true,
          p50 of six synced single-record commits in a row (the start and five results of a
          5-step instance with nothing grouped), the flow's p50 at concurrency 1, then instances/s
          at each concurrency of L; the round's figure is the best of L
  xstate  node bench.js --n=20000 --c=8 --warmup=2000 in a copy of the peers folder (in memory,
          no durability; 8 is its best concurrency here)

Each side's CPU time per instance is printed too (ours: all threads during the best level; xstate:
the whole node process, start-up and warm-up included, over all its instances): a busy machine
inflates it as well, but it does not fall with the share of the cores a process gets.

The peers folder (../shared/peers of the repository, read-only) is copied to a temporary folder
and `npm ci` runs there once, before the first round. Python 3 standard library only.
"""

import argparse
import os
import resource
import shutil
import subprocess
import sys
import tempfile

from bench_common import ROOT, binary, json_line, load_note, median, spread, table, verdict

TARGET_XSTATE_RATIO = 2.0  # ours / xstate instances/s, at least
TARGET_P50_RATIO = 1.3  # p50 at concurrency 1 / six synced commits, at most


def default_peers():
    """../shared/peers of the repository; in a git worktree, of the main checkout (the folder sits
    beside it, not beside the worktree)."""
    candidates = [os.path.join(ROOT, "..", "shared", "peers")]
    try:
        common = subprocess.run(["git", "-C", ROOT, "rev-parse", "--path-format=absolute", "--git-common-dir"],
                                stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True).stdout.strip()
        if common:
            candidates.append(os.path.join(os.path.dirname(common), "..", "shared", "peers"))
    except OSError:
        pass
    for c in candidates:
        if os.path.isdir(os.path.join(c, "xstate")):
            return os.path.abspath(c)
    return os.path.abspath(candidates[0])


def parse_args():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--peers", default=os.environ.get("RF_PEERS") or default_peers(),
                    help="the peers folder (env RF_PEERS; default ../shared/peers of the repository)")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--levels", default="64,256,1024", help="our concurrencies; a round takes the best")
    ap.add_argument("--seconds", type=float, default=4, help="our seconds per concurrency")
    ap.add_argument("--latency-n", type=int, default=300, help="our instances at concurrency 1")
    ap.add_argument("--xstate-n", type=int, default=20000)
    ap.add_argument("--xstate-c", type=int, default=8)
    ap.add_argument("--xstate-warmup", type=int, default=2000)
    ap.add_argument("--keep", action="store_true", help="keep the temporary folder (logs, peers copy)")
    return ap.parse_args()


def prepare_peers(peers, tmp):
    if not os.path.isfile(os.path.join(peers, "xstate", "bench.js")):
        sys.exit("%s: no xstate/bench.js (pass --peers DIR or set RF_PEERS)" % peers)
    copy = os.path.join(tmp, "peers")
    shutil.copytree(peers, copy)
    xstate = os.path.join(copy, "xstate")
    print("npm ci in %s ..." % xstate, flush=True)
    p = subprocess.run(["npm", "ci", "--no-audit", "--no-fund", "--loglevel=error"], cwd=xstate,
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    if p.returncode != 0:
        sys.exit("npm ci failed in %s:\n%s" % (xstate, p.stdout[-4000:]))
    return xstate


def run_ours(engine, args, log):
    cmd = [engine, "--parked=0", "--no-group", "--seconds=%g" % args.seconds, "--levels=" + args.levels,
           "--latency-n=%d" % args.latency_n, "--json"]
    with open(log, "a") as err:
        err.write("$ %s\n" % " ".join(cmd))
        err.flush()
        return json_line(cmd, stderr=err)


def run_xstate(xstate_dir, args):
    cmd = ["node", "bench.js", "--n=%d" % args.xstate_n, "--c=%d" % args.xstate_c,
           "--warmup=%d" % args.xstate_warmup]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    got = json_line(cmd, cwd=xstate_dir)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    # The whole process (start-up and warm-up included) over every instance it ran.
    got["cpu_us_per_instance"] = cpu * 1e6 / (args.xstate_n + args.xstate_warmup)
    return got


def main():
    args = parse_args()
    engine = binary("RF_BENCH_ENGINE", "bench", "rf_bench_engine")
    tmp = tempfile.mkdtemp(prefix="rf_compare_xstate_")
    try:
        xstate_dir = prepare_peers(os.path.abspath(args.peers), tmp)
        log = os.path.join(tmp, "rf_bench_engine.log")
        print("retailflow (LevelDB, fsync on, best of concurrency %s) vs xstate (in memory, c=%d); "
              "%d rounds, alternating" % (args.levels, args.xstate_c, args.rounds), flush=True)
        rounds = []
        for r in range(1, args.rounds + 1):
            order = ["ours", "xstate"] if r % 2 == 1 else ["xstate", "ours"]
            got = {}
            for who in order:
                got[who] = run_ours(engine, args, log) if who == "ours" else run_xstate(xstate_dir, args)
            ours, xs = got["ours"], got["xstate"]
            rounds.append({
                "ours": ours["best_instances_per_s"], "ours_c": ours["best_c"], "xstate": xs["instances_per_s"],
                "xstate_version": xs.get("version", "?"), "ratio": ours["best_instances_per_s"] / xs["instances_per_s"],
                "p50": ours["c1_p50_ms"], "p99": ours["c1_p99_ms"], "six": ours["six_synced_commits_p50_ms"],
                "p50_ratio": ours["c1_p50_ms"] / ours["six_synced_commits_p50_ms"],
                "commits": ours["c1_commits_per_instance"], "levels": ours["levels"], "order": " then ".join(order),
                "ours_cpu": next(lv["cpu_us_per_instance"] for lv in ours["levels"] if lv["c"] == ours["best_c"]),
                "xstate_cpu": xs["cpu_us_per_instance"],
            })
            rounds[-1]["cpu_ratio"] = rounds[-1]["xstate_cpu"] / rounds[-1]["ours_cpu"]
            x = rounds[-1]
            print("\nround %d (%s; %s):" % (r, x["order"], load_note()))
            table(["", "instances/s", "at c", "CPU us/instance", "c=1 p50 ms", "c=1 p99 ms"],
                  [["retailflow", "%.0f" % x["ours"], str(x["ours_c"]), "%.0f" % x["ours_cpu"], "%.2f" % x["p50"],
                    "%.2f" % x["p99"]],
                   ["xstate " + x["xstate_version"], "%.0f" % x["xstate"], str(args.xstate_c), "%.0f" % x["xstate_cpu"],
                    "", ""]])
            print("  retailflow by concurrency: " + ", ".join(
                "c=%d %.0f/s" % (lv["c"], lv["instances_per_s"]) for lv in x["levels"]))
            print("  six synced LevelDB commits in a row: p50 %.2f ms (sampled between the c=1 instances; "
                  "the engine wrote %.2f commit groups per instance)" % (x["six"], x["commits"]))
            print("  ratios: retailflow/xstate %.2fx   c=1 p50 / six synced commits %.2fx" % (x["ratio"], x["p50_ratio"]))

        col = lambda k: [x[k] for x in rounds]  # noqa: E731
        print("\nmedians over %d rounds (min–max):" % len(rounds))
        table(["figure", "median (range)"], [
            ["retailflow instances/s (fsync on)", spread(col("ours"), "%.0f")],
            ["xstate instances/s (no durability)", spread(col("xstate"), "%.0f")],
            ["ratio retailflow/xstate, same round", spread(col("ratio"), "%.2f")],
            ["retailflow CPU us per instance (all threads)", spread(col("ours_cpu"), "%.0f")],
            ["xstate CPU us per instance", spread(col("xstate_cpu"), "%.0f")],
            ["ratio xstate CPU / retailflow CPU, same round", spread(col("cpu_ratio"), "%.2f")],
            ["retailflow c=1 p50 ms", spread(col("p50"), "%.2f")],
            ["six synced commits p50 ms", spread(col("six"), "%.2f")],
            ["ratio c=1 p50 / six commits, same round", spread(col("p50_ratio"), "%.2f")],
        ])
        ratio, p50_ratio = median(col("ratio")), median(col("p50_ratio"))
        print("\ntargets (issue 10; information, not a test):")
        print("  retailflow >= %.1fx xstate instances/s:           median %.2fx  %s" % (
            TARGET_XSTATE_RATIO, ratio, verdict(ratio >= TARGET_XSTATE_RATIO)))
        print("  c=1 p50 <= %.1fx six sequential synced commits:   median %.2fx  %s" % (
            TARGET_P50_RATIO, p50_ratio, verdict(p50_ratio <= TARGET_P50_RATIO)))
        print("  (one synced commit took %.2f ms here (median): the slower the disk, the more the engine's own "
              "time per instance hides in it)" % (median(col("six")) / 6))
    finally:
        if args.keep:
            print("kept %s" % tmp)
        else:
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
