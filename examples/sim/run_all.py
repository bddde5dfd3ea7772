#!/usr/bin/env python3
"""Starts every simulator (odoo_sim.py if present, pos_sim.py, inventory_sim.py, notify_sim.py),
prints their URLs and stops them all on SIGINT/SIGTERM (or when one of them dies).

    python3 examples/sim/run_all.py                      # default ports 8069/8071/8072/8073
    python3 examples/sim/run_all.py --any-port --ports-file /tmp/sim-ports.json
    python3 examples/sim/run_all.py --state-dir /tmp/sim --webhook-url http://127.0.0.1:8080/v1/webhooks/pos
"""

import argparse
import json
import os
import signal
import subprocess
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import simlib  # noqa: E402

# name, script, default port, extra arguments
SIMS = [
    ("odoo", "odoo_sim.py", 8069, []),
    ("pos", "pos_sim.py", 8071, ["--token", "pos-sim-token"]),
    ("inventory", "inventory_sim.py", 8072, ["--token", "inventory-sim-token"]),
    ("notify", "notify_sim.py", 8073, []),
]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--any-port", action="store_true", help="every simulator on port 0 (a free port)")
    ap.add_argument("--ports-file", help="write {name: port} as JSON once all listen")
    ap.add_argument("--state-dir", help="each simulator keeps its state in DIR/<name>.json")
    ap.add_argument("--webhook-url", default="http://127.0.0.1:8080/v1/webhooks/pos",
                    help="where the POS simulator sends its webhooks ('' for nowhere)")
    ap.add_argument("--pos-webhook-secret", default=None, help="whsec_... for the POS webhooks")
    ap.add_argument("--notify-secret", default=None, help="whsec_... the notification receiver accepts")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--only", help="comma-separated subset, e.g. pos,inventory")
    ap.add_argument("--no-tokens", action="store_true", help="do not require the bearer tokens")
    ap.add_argument("--startup-timeout", type=float, default=30)
    args = ap.parse_args()

    only = set(args.only.split(",")) if args.only else None
    if args.state_dir:
        os.makedirs(args.state_dir, exist_ok=True)
    procs = []  # (name, popen)
    ports = {}
    stopping = threading.Event()

    def stop_all(*_):
        if stopping.is_set():
            return
        stopping.set()
        for _, p in procs:
            if p.poll() is None:
                p.terminate()
        deadline = time.time() + 5
        for _, p in procs:
            try:
                p.wait(max(0.1, deadline - time.time()))
            except subprocess.TimeoutExpired:
                p.kill()

    signal.signal(signal.SIGINT, lambda *a: stop_all())
    signal.signal(signal.SIGTERM, lambda *a: stop_all())

    try:
        for name, script, port, extra in SIMS:
            if only and name not in only:
                continue
            path = os.path.join(HERE, script)
            if not os.path.exists(path):
                print("%-9s (not present: %s)" % (name, script), flush=True)
                continue
            cmd = [sys.executable, path, "--port", "0" if args.any_port else str(port)]
            if args.state_dir:
                cmd += ["--state", os.path.join(args.state_dir, name + ".json")]
            cmd += ["--seed", str(args.seed)]  # the same starting stock in Odoo and inventory
            if not args.no_tokens:
                cmd += extra
            if name == "pos":
                if args.webhook_url:
                    cmd += ["--webhook-url", args.webhook_url]
                if args.pos_webhook_secret:
                    cmd += ["--webhook-secret", args.pos_webhook_secret]
            if name == "notify" and args.notify_secret:
                cmd += ["--webhook-secret", args.notify_secret]
            p = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True)
            procs.append((name, p))
        for name, p in procs:
            line = _first_line(p, args.startup_timeout)
            if not line.startswith("LISTENING "):
                raise RuntimeError("%s did not start (first line %r)" % (name, line))
            ports[name] = int(line.split()[1])
            # Keep draining stdout so the child never blocks on a full pipe.
            threading.Thread(target=_drain, args=(p,), daemon=True).start()
    except Exception as e:
        print("run_all: %s" % e, file=sys.stderr, flush=True)
        stop_all()
        return 1

    for name in ports:
        print("%-9s http://127.0.0.1:%d" % (name, ports[name]), flush=True)
    if "pos" in ports:
        print("pos webhooks -> %s (secret %s)" % (args.webhook_url or "nowhere",
                                                 args.pos_webhook_secret or simlib.make_secret("retailflow-pos-sim")),
              flush=True)
    if args.ports_file:
        tmp = args.ports_file + ".tmp"
        with open(tmp, "w") as f:
            json.dump(ports, f)
        os.replace(tmp, args.ports_file)
    print("READY", flush=True)

    while not stopping.is_set():
        for name, p in procs:
            if p.poll() is not None:
                print("run_all: %s exited with %s; stopping the others" % (name, p.returncode),
                      file=sys.stderr, flush=True)
                stop_all()
                return 1
        stopping.wait(0.5)
    return 0


def _first_line(p, timeout):
    out = []
    t = threading.Thread(target=lambda: out.append(p.stdout.readline()), daemon=True)
    t.start()
    t.join(timeout)
    return out[0].strip() if out else ""


def _drain(p):
    for line in p.stdout:
        sys.stdout.write(line)
        sys.stdout.flush()


if __name__ == "__main__":
    sys.exit(main())
