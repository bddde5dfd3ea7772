#!/usr/bin/env python3
"""Start-instance through HTTP against the engine alone, same run, alternating (issue 10, "Speed":
HTTP at >= 0.7x the engine-alone rate). Prints a table per round, the medians and ranges, the
same-run ratios and the target with whether it is met — as information: nothing fails on a figure.

  bench/http_start.py [--rounds 3] [--levels 1,16,64,256] [--seconds 5] [--cpu N | --no-pin]

For each round and each concurrency C, in alternating order (odd rounds the engine first):
  engine  rf_bench_service --only=engine --clients=C --json: Engine::Start on a fresh LevelDB
          (sync = true), C callers in a closed loop inside that process
  http    a fresh `retailflow serve` (its own process: fresh data dir, a free port, fsync on, an
          operator token) and wrk (another process, pinned with taskset to one core, C
          connections, keep-alive) running bench/http_start.lua: each request is
          POST /v1/workflows/bench_order/instances with a new business key
Both run the same workflow, printed by `rf_bench_service --print-flow`: `input order_ref text`,
then `finish` — no step. The service has no built-in connector that answers in-process (its
built-ins are http, odoo and webhook, all over the network, and plugins are .so files), so a step
would measure a connector as well; the start (idempotency index, snapshot, history, the commit) and
the finish are what both paths do. The CPU time each process used is printed per start, so the
figure shows where the time of the HTTP path goes on this 2-core machine.

Needs wrk (Debian package, in scripts/setup.sh) and taskset. Python 3 standard library only.
"""

import argparse
import ctypes
import hashlib
import json
import os
import resource
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

from bench_common import ROOT, binary, json_line, load_note, median, spread, table, verdict

TARGET_HTTP_RATIO = 0.7  # HTTP starts/s / engine-alone starts/s, at least
WORKFLOW = "bench_order"
LUA = os.path.join(ROOT, "bench", "http_start.lua")
TICKS = os.sysconf("SC_CLK_TCK")
try:  # resolved here, not in the forked child
    _prctl = ctypes.CDLL(None, use_errno=True).prctl
except (OSError, AttributeError):
    _prctl = None


def _die_with_parent():
    """Between fork and exec: SIGTERM the service if this script dies without stopping it."""
    if _prctl is not None:
        _prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


def parse_args():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--levels", default="1,16,64,256", help="concurrencies (callers, wrk connections)")
    ap.add_argument("--seconds", type=float, default=5, help="seconds per run")
    ap.add_argument("--cpu", type=int, default=os.cpu_count() - 1, help="the core wrk is pinned to")
    ap.add_argument("--no-pin", action="store_true", help="do not pin wrk")
    ap.add_argument("--keep", action="store_true", help="keep the temporary folder (service logs)")
    return ap.parse_args()


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def children_cpu_s():
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def process_cpu_s(pid):
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS  # utime, stime


class Service:
    """`retailflow serve` on a fresh data dir and a free port, with one operator token; stopped
    (SIGTERM, then SIGKILL) by stop()."""

    def __init__(self, cli, root, flow):
        self.dir = root
        os.makedirs(os.path.join(root, "workflows"))
        with open(os.path.join(root, "workflows", WORKFLOW + ".flow"), "w") as f:
            f.write(flow)
        self.token = "rf_bench_" + secrets.token_hex(16)
        self.port = free_port()
        config = {
            "listen": "127.0.0.1:%d" % self.port,
            "data_dir": os.path.join(root, "data"),
            "workflow_dirs": [os.path.join(root, "workflows")],
            "tokens": [{"name": "bench", "sha256": hashlib.sha256(self.token.encode()).hexdigest(),
                        "roles": ["operator"]}],
            "limits": {"token_rate_per_second": 1e9, "token_burst": 1e9},
            "log": {"level": "warn", "file": os.path.join(root, "service.log")},
        }
        path = os.path.join(root, "config.json")
        with open(path, "w") as f:
            json.dump(config, f)
        self.out = open(os.path.join(root, "stdout.log"), "w")
        self.proc = subprocess.Popen([cli, "serve", "--config", path], stdout=self.out,
                                     stderr=subprocess.STDOUT, start_new_session=True,
                                     preexec_fn=_die_with_parent)
        self.url = "http://127.0.0.1:%d" % self.port
        deadline = time.time() + 60
        while True:
            if self.proc.poll() is not None:
                sys.exit("retailflow serve exited (status %s):\n%s" % (self.proc.returncode, self.log()))
            try:
                with urllib.request.urlopen(self.url + "/readyz", timeout=2) as r:
                    if r.status == 200:
                        break
            except (OSError, urllib.error.URLError):
                pass
            if time.time() > deadline:
                self.stop()
                sys.exit("retailflow serve not ready after 60 s:\n" + self.log())
            time.sleep(0.05)

    def started(self):
        """retailflow_instances_started_total of the benchmark's workflow, from /metrics."""
        req = urllib.request.Request(self.url + "/metrics", headers={"Authorization": "Bearer " + self.token})
        with urllib.request.urlopen(req, timeout=30) as r:
            text = r.read().decode()
        prefix = 'retailflow_instances_started_total{workflow="%s"}' % WORKFLOW
        for line in text.splitlines():
            if line.startswith(prefix):
                return int(float(line.split()[-1]))
        return 0

    def log(self):
        self.out.flush()
        text = ""
        for name in ("stdout.log", "service.log"):
            try:
                with open(os.path.join(self.dir, name)) as f:
                    text += f.read()[-3000:]
            except OSError:
                pass
        return text

    def stop(self):
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        self.out.close()


def run_engine(bench, clients, args, tmp):
    cpu0 = children_cpu_s()
    got = json_line([bench, "--only=engine", "--clients=%d" % clients, "--seconds=%g" % args.seconds,
                     "--dir=" + os.path.join(tmp, "engine"), "--json"])
    got["cpu_ms_per_start"] = (children_cpu_s() - cpu0) * 1e3 / max(got["starts"], 1)
    return got


def run_http(cli, flow, clients, args, tmp, k):
    service = Service(cli, os.path.join(tmp, "service-%d" % k), flow)
    try:
        env = dict(os.environ, RF_BENCH_TOKEN=service.token, RF_BENCH_WORKFLOW=WORKFLOW)
        cmd = ["wrk", "-t1", "-c%d" % clients, "-d%gs" % args.seconds, "--timeout", "10s", "-s", LUA,
               service.url]
        if not args.no_pin:
            cmd = ["taskset", "-c", str(args.cpu)] + cmd
        svc0, cpu0 = process_cpu_s(service.proc.pid), children_cpu_s()
        got = json_line(cmd, env=env)
        svc_cpu, wrk_cpu = process_cpu_s(service.proc.pid) - svc0, children_cpu_s() - cpu0
        errors = sum(got[e] for e in ("errors_status", "errors_connect", "errors_read", "errors_write",
                                      "errors_timeout"))
        ok = max(got["requests"] - got["errors_status"], 0)
        got.update(starts=ok, failed=errors, starts_per_s=ok / got["duration_s"],
                   cpu_ms_per_start=svc_cpu * 1e3 / max(ok, 1), wrk_cpu_ms_per_start=wrk_cpu * 1e3 / max(ok, 1))
        if errors:
            print("  warning: %d failed requests; service log:\n%s" % (errors, service.log()[-1500:]))
        started = service.started()
        # Every answered request is one durable start; up to `clients` more were in flight when
        # wrk stopped (it does not wait for their answers).
        if not ok <= started <= ok + clients:
            print("  warning: wrk counted %d answered starts, the service's metrics %d started" % (ok, started))
        return got
    finally:
        service.stop()
        if not args.keep:
            shutil.rmtree(service.dir, ignore_errors=True)


def main():
    args = parse_args()
    cli = binary("RF_CLI", "cli", "retailflow")
    bench = binary("RF_BENCH_SERVICE", "bench", "rf_bench_service")
    if shutil.which("wrk") is None:
        sys.exit("wrk not found: it is a Debian package (scripts/setup.sh installs it)")
    levels = [int(c) for c in args.levels.split(",") if c.strip()]
    flow = subprocess.run([bench, "--print-flow"], stdout=subprocess.PIPE, text=True, check=True).stdout
    tmp = tempfile.mkdtemp(prefix="rf_http_start_")
    pin = "unpinned" if args.no_pin else "pinned to core %d" % args.cpu
    print("start-instance (flow: start -> finish, LevelDB fsync on): engine alone vs `retailflow serve` + wrk "
          "(%s); %g s per run, %d rounds, alternating" % (pin, args.seconds, args.rounds), flush=True)
    results = {c: [] for c in levels}
    try:
        k = 0
        for r in range(1, args.rounds + 1):
            order = ["engine", "http"] if r % 2 == 1 else ["http", "engine"]
            rows = []
            for c in levels:
                got = {}
                for who in order:
                    k += 1
                    got[who] = run_engine(bench, c, args, tmp) if who == "engine" else run_http(cli, flow, c, args, tmp, k)
                e, h = got["engine"], got["http"]
                ratio = h["starts_per_s"] / e["starts_per_s"] if e["starts_per_s"] else float("nan")
                results[c].append({"engine": e, "http": h, "ratio": ratio})
                rows.append([str(c), "%.0f" % e["starts_per_s"], "%.0f" % h["starts_per_s"], "%.2f" % ratio,
                             "%.2f" % e["p50_ms"], "%.2f" % h["p50_ms"], "%.2f" % e["cpu_ms_per_start"],
                             "%.2f" % h["cpu_ms_per_start"], "%.2f" % h["wrk_cpu_ms_per_start"]])
            print("\nround %d (%s first; %s):" % (r, order[0], load_note()))
            table(["c", "engine/s", "http/s", "http/engine", "engine p50 ms", "http p50 ms",
                   "engine cpu ms/start", "service cpu ms/start", "wrk cpu ms/start"], rows)

        print("\nmedians over %d rounds (min–max):" % args.rounds)
        rows = []
        for c in levels:
            xs = results[c]
            rows.append([str(c), spread([x["engine"]["starts_per_s"] for x in xs], "%.0f"),
                         spread([x["http"]["starts_per_s"] for x in xs], "%.0f"),
                         spread([x["ratio"] for x in xs], "%.2f"),
                         spread([x["http"]["p50_ms"] - x["engine"]["p50_ms"] for x in xs], "%.2f")])
        table(["c", "engine starts/s", "http starts/s", "http/engine, same round", "http p50 - engine p50 ms"], rows)

        best = max(levels, key=lambda c: median([x["http"]["starts_per_s"] for x in results[c]]))
        ratio = median([x["ratio"] for x in results[best]])
        print("\ntarget (issue 10; information, not a test):")
        print("  HTTP >= %.1fx engine alone, same round, at the concurrency where HTTP is fastest (c=%d): "
              "median %.2fx  %s" % (TARGET_HTTP_RATIO, best, ratio, verdict(ratio >= TARGET_HTTP_RATIO)))
        best_engine = max(median([x["engine"]["starts_per_s"] for x in results[c]]) for c in levels)
        best_http = median([x["http"]["starts_per_s"] for x in results[best]])
        print("  (best HTTP median / best engine-alone median over the concurrencies: %.0f / %.0f = %.2fx)" % (
            best_http, best_engine, best_http / best_engine))
    finally:
        if args.keep:
            print("kept %s" % tmp)
        else:
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
