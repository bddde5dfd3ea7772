#!/usr/bin/env python3
"""The retail demo: the simulators and `retailflow serve` on their defaults, a realistic day of
store returns, click-and-collect orders, store transfers and the nightly stock reconciliation
driven through the real webhook and API paths, an Odoo outage in the middle, managers deciding
approvals, then an honest summary. The service and simulators keep running until Ctrl-C.

    python3 examples/demo/demo.py                 # what ./scripts/run.sh runs after setup and build
    python3 examples/demo/demo.py --scale 0.1 --no-wait
    python3 examples/demo/demo.py --ports auto --scale 0.05 --no-wait   # free ports, temp data dir

Python 3 standard library only. The service binary is RF_CLI (env) or build/cli/retailflow.
"""

import argparse
import base64
import json
import os
import random
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from collections import Counter, defaultdict
from datetime import datetime, timezone

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
CLI = os.environ.get("RF_CLI", os.path.join(ROOT, "build", "cli", "retailflow"))
WORKFLOWS = ["store_return", "click_and_collect", "store_transfer", "stock_reconciliation"]
DEFAULT_PORTS = {"odoo": 8069, "pos": 8071, "inventory": 8072, "notify": 8073, "service": 8080}
STORES = ["PAR-01", "LON-01", "NYC-01"]
TERMINAL = ("completed", "compensated", "failed", "cancelled", "compensation_failed")
# The demo's people: token name -> roles (POST /v1/tokens).
PEOPLE = {
    "operator": ("demo-operator", ["operator"]),
    "viewer": ("demo-viewer", ["viewer"]),
    "store_manager": ("demo-store-manager", ["approver:store_manager"]),
    "regional_manager": ("demo-regional-manager", ["approver:regional_manager"]),
    "stock_controller": ("demo-stock-controller", ["approver:stock_controller"]),
    "back_office": ("demo-back-office", ["approver:back_office"]),
}


def http(method, url, body=None, headers=None, timeout=30):
    """(status, parsed JSON or text). Never raises for HTTP statuses."""
    data = None
    hdrs = dict(headers or {})
    if body is not None:
        data = json.dumps(body).encode()
        hdrs.setdefault("Content-Type", "application/json")
    req = urllib.request.Request(url, data=data, method=method, headers=hdrs)
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            raw, status = r.read(), r.status
    except urllib.error.HTTPError as e:
        raw, status = e.read(), e.code
    try:
        return status, json.loads(raw)
    except ValueError:
        return status, raw.decode(errors="replace")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def port_in_use(port):
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(("127.0.0.1", port))
            return False
        except OSError:
            return True


def iso_now():
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def percentile(values, p):
    if not values:
        return None
    v = sorted(values)
    k = max(0, min(len(v) - 1, int(round(p / 100.0 * len(v) + 0.5)) - 1))
    return v[k]


def parse_time(s):
    if not isinstance(s, str):
        return None
    try:
        return datetime.fromisoformat(s.replace("Z", "+00:00")).timestamp()
    except ValueError:
        return None


def fmt_duration(seconds):
    if seconds is None:
        return "-"
    if seconds < 1:
        return "%d ms" % round(seconds * 1000)
    if seconds < 120:
        return "%.1f s" % seconds
    if seconds < 7200:
        return "%.0f min" % (seconds / 60)
    if seconds < 172800:
        return "%.1f h" % (seconds / 3600)
    return "%.1f d" % (seconds / 86400)


class DemoError(Exception):
    pass


class Demo:
    def __init__(self, args):
        self.args = args
        self.scale = args.scale
        self.rng = random.Random(args.seed)
        self.auto = args.ports == "auto"
        self.t0 = time.time()
        self.sims = None
        self.service = None
        self.tokens = {}
        self.lock = threading.Lock()
        self.instances = {}          # id -> latest instance record
        self.started = defaultdict(int)
        self.notes = []              # things that went wrong in the demo itself (shown in the summary)
        self.cc_orders = {}          # order_ref -> {"no_show": bool, "picked": bool}
        self.transfers = {}          # transfer_ref -> {"lines", "short": bool, "shipped", "received"}
        self.decided = Counter()     # (role, decision) -> n
        self.task_seen = {}          # task id -> decision taken (or "left")
        self.return_tasks = 0
        self.nights = 0
        self.outage_over = False
        self.progress_header = False
        self.compensating_since = {}
        self.slow_undo = set()
        self.generated = {"returns": []}
        self.deployed = set()
        self.stopping = threading.Event()
        self.out = sys.stdout

    # ------------------------------------------------------------------ output

    def say(self, msg=""):
        print(msg, file=self.out, flush=True)

    def stamp(self, msg):
        self.say("[%5.0fs] %s" % (time.time() - self.t0, msg))

    # ------------------------------------------------------------------ lifecycle

    def prepare(self):
        a = self.args
        if not os.path.exists(CLI):
            raise DemoError("no service binary at %s: run scripts/build.sh first" % CLI)
        if self.auto:
            self.work = tempfile.mkdtemp(prefix="rf_demo_")
            self.data_dir = a.data_dir or os.path.join(self.work, "data")
            self.ports = {k: free_port() for k in ("service",)}
        else:
            self.work = os.path.join(ROOT, "build", "demo")
            os.makedirs(self.work, exist_ok=True)
            self.data_dir = a.data_dir or os.path.join(ROOT, "data")
            busy = [("%s %d" % kv) for kv in DEFAULT_PORTS.items() if port_in_use(kv[1])]
            if busy:
                raise DemoError("ports already in use: %s (another demo still running? stop it, or use "
                                "--ports auto)" % ", ".join(busy))
            self.ports = {"service": DEFAULT_PORTS["service"]}
        if os.path.exists(self.data_dir):
            stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
            aside = "%s.previous-%s" % (self.data_dir.rstrip("/"), stamp)
            os.rename(self.data_dir, aside)
            self.say("   The data dir %s exists from a previous run: moved aside to %s; starting clean."
                     % (self.shown(self.data_dir), self.shown(aside)))
        self.url = "http://127.0.0.1:%d" % self.ports["service"]
        # Fresh data dir: the admin token and the POS webhook secret are chosen here and given to
        # the service through its environment (it keeps them in the data dir from then on).
        self.admin = "rf_demo_admin_" + secrets.token_hex(16)
        self.pos_secret = "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()
        self.tokens["admin"] = self.admin

    def start_sims(self):
        ports_file = os.path.join(self.work, "sim-ports.json")
        if os.path.exists(ports_file):
            os.remove(ports_file)
        cmd = [sys.executable, os.path.join(ROOT, "examples", "sim", "run_all.py"),
               "--ports-file", ports_file, "--webhook-url", self.url + "/v1/webhooks/pos",
               "--pos-webhook-secret", self.pos_secret, "--seed", str(self.args.seed)]
        if self.auto:
            cmd.append("--any-port")
        self.sims_log = os.path.join(self.work, "sims.log")
        self.sims = subprocess.Popen(cmd, stdout=open(self.sims_log, "w"), stderr=subprocess.STDOUT,
                                     start_new_session=True)
        deadline = time.time() + 60
        while not os.path.exists(ports_file):
            if self.sims.poll() is not None or time.time() > deadline:
                raise DemoError("the simulators did not start; see %s:\n%s" % (self.sims_log, self.tail(self.sims_log)))
            time.sleep(0.05)
        time.sleep(0.05)
        with open(ports_file) as f:
            self.ports.update(json.load(f))
        for name in ("odoo", "pos", "inventory", "notify"):
            self.say("   %-10s http://127.0.0.1:%d" % (name, self.ports[name]))

    def start_service(self):
        env = dict(os.environ)
        env["RETAILFLOW_ADMIN_TOKEN"] = self.admin
        env["RETAILFLOW_POS_WEBHOOK_SECRET"] = self.pos_secret
        cmd = [CLI, "serve", "--adjustable-clock"]
        if self.auto:
            env.update({
                "RF_ODOO_URL": "http://127.0.0.1:%d" % self.ports["odoo"],
                "RF_POS_URL": "http://127.0.0.1:%d" % self.ports["pos"],
                "RF_INVENTORY_URL": "http://127.0.0.1:%d" % self.ports["inventory"],
                "RF_NOTIFY_URL": "http://127.0.0.1:%d/v1/messages" % self.ports["notify"],
            })
            cmd += ["--listen", "127.0.0.1:%d" % self.ports["service"], "--data-dir", self.data_dir,
                    "--workflows", os.path.join(ROOT, "workflows")]
        else:
            for k in ("RF_ODOO_URL", "RF_POS_URL", "RF_INVENTORY_URL", "RF_NOTIFY_URL"):
                env.pop(k, None)
            if self.args.data_dir:
                cmd += ["--data-dir", self.data_dir]
        self.service_cmd = " ".join(os.path.relpath(c, ROOT) if c == CLI else c for c in cmd)
        self.service_log = os.path.join(self.work, "service.log")
        self.service = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=open(self.service_log, "w"),
                                        stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.time() + 60
        while True:
            if self.service.poll() is not None:
                raise DemoError("the service exited; see %s:\n%s" % (self.service_log, self.tail(self.service_log)))
            try:
                if http("GET", self.url + "/readyz", timeout=2)[0] == 200:
                    break
            except OSError:
                pass
            if time.time() > deadline:
                raise DemoError("the service is not ready after 60 s; see %s" % self.service_log)
            time.sleep(0.05)
        self.say("   %-10s %s   (%s)" % ("retailflow", self.url, self.service_cmd))

    def stop(self):
        if self.service and self.service.poll() is None:
            self.service.send_signal(signal.SIGTERM)
            try:
                self.service.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.service.kill()
                self.service.wait()
        if self.sims and self.sims.poll() is None:
            try:
                os.killpg(self.sims.pid, signal.SIGTERM)
                self.sims.wait(timeout=15)
            except (subprocess.TimeoutExpired, ProcessLookupError):
                try:
                    os.killpg(self.sims.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
        if self.auto and not self.args.keep:
            shutil.rmtree(self.work, ignore_errors=True)

    @staticmethod
    def tail(path, n=3000):
        try:
            with open(path) as f:
                return f.read()[-n:]
        except OSError:
            return ""

    def check_alive(self):
        if self.service.poll() is not None:
            raise DemoError("the service exited (code %s); see %s:\n%s"
                            % (self.service.returncode, self.service_log, self.tail(self.service_log)))
        if self.sims.poll() is not None:
            raise DemoError("the simulators exited; see %s:\n%s" % (self.sims_log, self.tail(self.sims_log)))

    # ------------------------------------------------------------------ HTTP helpers

    def api(self, method, path, body=None, who="operator"):
        return http(method, self.url + path, body, {"Authorization": "Bearer " + self.tokens.get(who, self.admin)})

    def sim(self, name, method, path, body=None):
        return http(method, "http://127.0.0.1:%d%s" % (self.ports[name], path), body)

    def sim_state(self, name, **query):
        qs = "&".join("%s=%s" % kv for kv in query.items())
        st, body = self.sim(name, "GET", "/__admin/state" + ("?" + qs if qs else ""))
        if st != 200:
            raise DemoError("%s state: %s %s" % (name, st, str(body)[:300]))
        return body

    def advance(self, duration):
        st, body = self.api("POST", "/v1/admin/clock", {"advance": duration}, who="admin")
        if st != 200:
            raise DemoError("advance the clock: %s %s" % (st, body))
        return body["now"]

    def event(self, name, key, data):
        st, body = self.api("POST", "/v1/events/" + name, {"key": key, "data": data})
        if st != 202:
            self.notes.append("event %s %s: HTTP %s %s" % (name, key, st, str(body)[:200]))
        return st == 202

    def start(self, workflow, inp, key):
        st, body = self.api("POST", "/v1/workflows/%s/instances" % workflow, {"input": inp, "business_key": key})
        if st in (200, 201):
            with self.lock:
                self.started[workflow] += 1
            return body["id"]
        self.notes.append("start %s %s: HTTP %s %s" % (workflow, key, st, str(body)[:200]))
        return None

    def poll(self):
        """Refreshes self.instances from GET /v1/instances (every workflow, every page)."""
        seen = {}
        cursor = ""
        while True:
            st, body = self.api("GET", "/v1/instances?limit=1000" + ("&cursor=" + cursor if cursor else ""), who="viewer")
            if st != 200:
                raise DemoError("list instances: %s %s" % (st, str(body)[:300]))
            for inst in body.get("items", []):
                seen[inst["id"]] = inst
            cursor = body.get("next_cursor") or ""
            if not cursor:
                break
        with self.lock:
            self.instances = seen
        return seen

    def counts(self):
        c = defaultdict(Counter)
        for inst in self.instances.values():
            c[inst.get("workflow")][inst.get("status")] += 1
        return c

    def progress(self, label=""):
        if not self.progress_header:
            self.progress_header = True
            self.say("        (per workflow: started/completed/waiting/failed; failed includes compensated; "
                     "held = stopped at a failed step, waiting for an operator)")
        c = self.counts()
        parts = []
        for w in WORKFLOWS:
            s = c.get(w, Counter())
            failed = s["failed"] + s["compensated"] + s["compensation_failed"]
            part = "%s %d/%d/%d/%d" % (w, sum(s.values()), s["completed"], s["waiting"] + s["running"] + s["compensating"], failed)
            if s["held"]:
                part += " +%d held" % s["held"]
            if s["cancelled"]:
                part += " +%d cancelled" % s["cancelled"]
            parts.append(part)
        self.stamp("  ".join(parts) + (("   " + label) if label else ""))

    @staticmethod
    def end_state(inst):
        """The state an instance finished in (its finish or fail state), or where it stands."""
        status = inst.get("status")
        err = inst.get("error") or {}
        if status == "completed":
            for t in inst.get("threads") or []:
                if isinstance(t, dict) and t.get("parent", -1) in (-1, None) and t.get("state"):
                    return t["state"]
            return "?"
        if err.get("state"):
            return err["state"] if err.get("kind") == "fail" or status != "held" else "at " + err["state"]
        states = Demo.waiting_in(inst)
        return "at " + ",".join(sorted(states)) if states else "-"

    @staticmethod
    def waiting_in(inst):
        """Names of the states the instance's threads are parked in."""
        out = set()
        for t in inst.get("threads") or []:
            if isinstance(t, dict) and t.get("state"):
                out.add(t["state"])
        return out

    # ------------------------------------------------------------------ setup

    def create_tokens(self):
        for key, (name, roles) in PEOPLE.items():
            st, body = self.api("POST", "/v1/tokens", {"name": name, "roles": roles}, who="admin")
            if st != 201:
                raise DemoError("create token %s: %s %s" % (name, st, body))
            self.tokens[key] = body["token"]
        self.say("   tokens     admin, " + ", ".join("%s (%s)" % (n, ",".join(r)) for n, r in PEOPLE.values()))

    def show_workflows(self):
        st, body = self.api("GET", "/v1/workflows", who="viewer")
        if st != 200:
            raise DemoError("list workflows: %s %s" % (st, body))
        names = {w["name"]: w for w in body.get("items", [])}
        self.say("== Deployed workflows (GET /v1/workflows; the service deploys ./workflows/*.flow at start)")
        for w in WORKFLOWS:
            if w in names:
                st, d = self.api("GET", "/v1/workflows/" + w, who="viewer")
                inputs = ", ".join(i["name"] for i in (d.get("inputs") or [])) if st == 200 else "?"
                self.say("   %-21s version %s   input: %s" % (w, names[w]["latest"], inputs))
            else:
                self.say("   %-21s NOT DEPLOYED" % w)
                self.notes.append("workflow %s is not deployed" % w)
        self.deployed = set(names)

    # ------------------------------------------------------------------ the mix

    def n(self, full, minimum=1):
        return max(minimum, int(round(full * self.scale)))

    def cc_candidates(self):
        """Draft click-and-collect orders seeded in Odoo, as the web shop would send them."""
        odoo = {m: self.sim_state("odoo", model=m)["records"]
                for m in ("sale.order", "sale.order.line", "stock.warehouse", "stock.location",
                          "product.product", "res.partner")}
        loc = {l["id"]: l.get("barcode") for l in odoo["stock.location"]}
        wh_store = {w["id"]: loc.get(w["lot_stock_id"][0]) if w.get("lot_stock_id") else None
                    for w in odoo["stock.warehouse"]}
        sku = {p["id"]: p.get("default_code") for p in odoo["product.product"]}
        email = {p["id"]: p.get("email") for p in odoo["res.partner"]}
        lines = defaultdict(list)
        for l in odoo["sale.order.line"]:
            lines[l["order_id"][0]].append({"sku": sku.get(l["product_id"][0]), "qty": int(float(l["product_uom_qty"]))})
        out = []
        for o in odoo["sale.order"]:
            store = wh_store.get(o["warehouse_id"][0]) if o.get("warehouse_id") else None
            if o.get("state") != "draft" or store not in STORES or not o.get("client_order_ref"):
                continue
            out.append({"order_ref": o["client_order_ref"], "store_id": store,
                        "customer_email": email.get(o["partner_id"][0]) or "customer@example.com",
                        "lines": lines[o["id"]], "amount": float(o["amount_total"])})
        return out

    def transfer_plan(self, count):
        """Transfers between stores and from the warehouse, of stock the source really has."""
        stock = self.sim_state("inventory")["stock"]
        routes = [("WH-01", "PAR-01"), ("WH-01", "LON-01"), ("WH-01", "NYC-01"), ("PAR-01", "LON-01"),
                  ("LON-01", "PAR-01"), ("NYC-01", "PAR-01")]
        used = defaultdict(int)
        plan = []
        for i in range(count):
            src, dst = routes[i % len(routes)]
            skus = [s for s, q in sorted(stock[src].items())
                    if q["on_hand"] - q["reserved"] - used[(src, s)] >= 6]
            lines = []
            for s in self.rng.sample(skus, min(len(skus), self.rng.randint(1, 3))):
                qty = self.rng.randint(1, 4) if src != "WH-01" else self.rng.randint(4, 12)
                used[(src, s)] += qty
                lines.append({"sku": s, "qty": qty})
            ref = "TR-%s-%03d" % (datetime.now().strftime("%y%m%d"), i + 1)
            plan.append({"transfer_ref": ref, "from_store": src, "to_store": dst, "lines": lines})
        return plan

    def run_mix(self):
        n_returns, n_cc, n_tr = self.n(200), self.n(100), self.n(20)
        full = self.scale >= 0.5
        window = 30.0 if full else max(4.0, 30.0 * self.scale * 2)   # seconds over which work arrives
        self.outage_s = 25 if full else 6
        self.say("== The day: %d returns (POS webhooks), %d click-and-collect orders (API), %d store transfers (API), "
                 "an Odoo outage of %d s" % (n_returns, n_cc, n_tr, self.outage_s))

        cands = self.cc_candidates()
        self.rng.shuffle(cands)
        cc = cands[:n_cc]
        if len(cc) < n_cc:
            self.notes.append("only %d draft click-and-collect orders in Odoo for %d wanted" % (len(cc), n_cc))
        no_shows = set(o["order_ref"] for o in cc[: max(1, round(len(cc) * 0.15))])
        for o in cc:
            self.cc_orders[o["order_ref"]] = {"no_show": o["order_ref"] in no_shows, "picked": False}
        plan = self.transfer_plan(n_tr)
        short = set(p["transfer_ref"] for p in plan[1::7])     # every 7th transfer arrives short
        for p in plan:
            self.transfers[p["transfer_ref"]] = {"lines": p["lines"], "short": p["transfer_ref"] in short,
                                                 "shipped": False, "received": False}

        # Returns: the POS simulator signs and sends them, with duplicates and late deliveries.
        st, gen = self.sim("pos", "POST", "/__admin/generate",
                           {"returns": n_returns, "seed": self.args.seed,
                            "spread_ms": int(window * 1000 / max(1, n_returns)),
                            "duplicate_rate": 0.05, "late_rate": 0.05})
        if st != 202:
            raise DemoError("POS generate: %s %s" % (st, gen))
        self.generated = gen
        self.stamp("POS: %d returns generated (%s), %d duplicate and %d late deliveries planned"
                   % (len(gen["returns"]), ", ".join("%s %d" % kv for kv in sorted(gen["expected"].items())),
                      gen["duplicates"], gen["late"]))

        def feed_api():
            jobs = [("click_and_collect", o, o["order_ref"]) for o in cc] + \
                   [("store_transfer", p, p["transfer_ref"]) for p in plan]
            self.rng.shuffle(jobs)
            gap = window / max(1, len(jobs))
            for w, inp, key in jobs:
                if self.stopping.is_set():
                    return
                self.start(w, inp, key)
                time.sleep(gap)

        feeder = threading.Thread(target=feed_api, daemon=True)
        feeder.start()

        outage_at = self.t0_mix = time.time()
        outage_at += window / 3
        outage_until = None
        last_progress = 0
        deadline = time.time() + (240 if full else 90)
        while True:
            self.check_alive()
            now = time.time()
            if outage_until is None and now >= outage_at:
                outage_until = now + self.outage_s
                self.sim("odoo", "POST", "/__admin/faults", {"down_until": outage_until})
                self.stamp("Odoo outage: every Odoo call answers 503 for the next %d s" % self.outage_s)
            if outage_until and now >= outage_until and not self.outage_over:
                self.outage_over = True
                self.stamp("Odoo is back")
            self.poll()
            self.act()
            if now - last_progress >= 3:
                last_progress = now
                self.progress()
            if not feeder.is_alive() and self.outage_over and self.settled():
                break
            if now > deadline:
                self.notes.append("the day did not settle within its time limit; moving on")
                break
            time.sleep(0.5)
        self.progress("(day settled)")

    def pos_pending(self):
        return self.sim_state("pos").get("delivery_summary", {}).get("pending", 0)

    def settled(self, allow_tasks=True):
        """Nothing in flight: no running instance, every webhook delivered, every event the day
        needs sent. Held instances (waiting for an operator) and deliberately open tasks count as settled."""
        if self.pos_pending():
            return False
        now = time.time()
        for inst in self.instances.values():
            if inst.get("status") == "running":
                return False
            if inst.get("status") == "compensating":
                # An undo that keeps failing is retried for many minutes (then compensation_failed):
                # after 15 s the demo moves on and the summary shows it.
                first = self.compensating_since.setdefault(inst["id"], now)
                if now - first < 15:
                    return False
                if inst["id"] not in self.slow_undo:
                    self.slow_undo.add(inst["id"])
                    self.stamp("%s %s: its undo chain keeps failing and is being retried; moving on"
                               % (inst.get("workflow"), inst.get("business_key")))
            if inst.get("status") == "waiting" and not allow_tasks:
                return False
        for inst in self.instances.values():
            if inst.get("status") != "waiting":
                continue
            states = self.waiting_in(inst)
            w = inst.get("workflow")
            key = inst.get("business_key")
            if w == "click_and_collect" and "wait_for_pickup" in states and not self.cc_orders.get(key, {}).get("no_show", True):
                return False
            if w == "store_transfer" and states & {"wait_for_shipping", "wait_for_receipt"}:
                return False
        return not self.open_tasks(actionable_only=True)

    # ------------------------------------------------------------------ the people in the stores

    def act(self):
        """Store staff and managers react to what the instances are waiting for."""
        for inst in list(self.instances.values()):
            if inst.get("status") != "waiting":
                continue
            w, key, states = inst.get("workflow"), inst.get("business_key"), self.waiting_in(inst)
            if w == "click_and_collect" and "wait_for_pickup" in states:
                o = self.cc_orders.get(key)
                if o and not o["no_show"] and not o["picked"]:
                    o["picked"] = self.event("pickup", key, {"order_ref": key, "picked_up_at": iso_now(),
                                                             "store_id": inst["data"]["input"]["store_id"],
                                                             "checked_id": True})
            elif w == "store_transfer":
                t = self.transfers.get(key)
                if not t:
                    continue
                if "wait_for_shipping" in states and not t["shipped"]:
                    t["shipped"] = self.event("shipped", key, {"transfer_ref": key, "shipped_at": iso_now(),
                                                               "carrier": "DHL", "parcels": 1})
                elif "wait_for_receipt" in states and not t["received"]:
                    lines = [dict(l) for l in t["lines"]]
                    missing = []
                    if t["short"]:
                        lines[0]["qty"] -= 1
                        missing = [{"sku": lines[0]["sku"], "qty": 1}]
                    t["received"] = self.event("received", key, {"transfer_ref": key, "received_at": iso_now(),
                                                                 "lines": lines, "missing_lines": missing})
        self.decide_tasks()

    def open_tasks(self, actionable_only=False):
        out = []
        for role in ("store_manager", "regional_manager", "stock_controller", "back_office"):
            st, body = self.api("GET", "/v1/tasks?role=" + role, who=role)
            if st != 200:
                continue
            for t in body.get("items", []):
                if actionable_only and self.task_seen.get(t["id"]) == "left":
                    continue
                out.append(t)
        return out

    def decide_tasks(self):
        for t in self.open_tasks():
            tid, role = t["id"], t.get("role")
            if tid in self.task_seen:
                continue
            if self.task_seen.get(tid) == "left":
                continue
            inst = self.instances.get(t.get("instance")) or {}
            w = inst.get("workflow", "")
            decision = "approve"
            comment = "ok"
            if w == "store_return" and role == "store_manager":
                if tid not in self.task_seen:
                    self.return_tasks += 1
                    k = self.return_tasks
                    if k % 5 == 2:
                        self.task_seen[tid] = "left"    # the manager is away: escalates after 4h
                        continue
                    if k % 4 == 3:
                        decision, comment = "reject", "receipt does not match the goods"
                    else:
                        comment = "goods checked at the counter"
            elif w == "store_return" and role == "regional_manager":
                self.decided["_regional"] += 1
                if self.decided["_regional"] % 3 == 0:
                    decision, comment = "reject", "refund declined by the regional manager"
                else:
                    comment = "approved by the regional manager"
            elif w == "store_transfer" and role == "store_manager":
                self.decided["_transfer"] += 1
                if self.decided["_transfer"] % 3 == 0:
                    decision, comment = "reject", "the shortfall needs an investigation"
                else:
                    comment = "shortfall accepted: carton damaged in transit"
            elif w == "stock_reconciliation" and role == "stock_controller":
                store = (inst.get("data") or {}).get("input", {}).get("store_id")
                if self.nights == 1 and store == "NYC-01" and tid not in self.task_seen:
                    self.task_seen[tid] = "left"         # nobody reviews NYC tonight: left_open after a day
                    continue
                if store == "LON-01":
                    decision, comment = "reject", "please recount"
                else:
                    comment = "counts accepted"
            elif role == "back_office":
                comment = "validated in Odoo by hand"
            st, body = self.api("POST", "/v1/tasks/%s/complete" % tid, {"decision": decision, "comment": comment}, who=role)
            if st == 202:
                self.task_seen[tid] = decision
                self.decided[(role, decision)] += 1
            elif st in (404, 409):
                self.task_seen[tid] = "gone"
            else:
                self.notes.append("decide task %s (%s): HTTP %s %s" % (tid, role, st, str(body)[:200]))
                self.task_seen[tid] = "error"

    # ------------------------------------------------------------------ fast-forward

    def wait_settled(self, label, timeout):
        deadline = time.time() + timeout
        last = 0
        while True:
            self.check_alive()
            self.poll()
            self.act()
            if time.time() - last >= 3:
                last = time.time()
                self.progress()
            if self.settled():
                return True
            if time.time() > deadline:
                self.notes.append("%s did not settle within %d s" % (label, timeout))
                return False
            time.sleep(0.5)

    def fast_forward(self):
        self.say("== Fast-forward (POST /v1/admin/clock)")
        now = self.advance("4h")
        self.stamp("clock +4h -> %s: undecided refund approvals escalate to the regional manager" % now)
        time.sleep(1)
        self.wait_settled("after +4h", 60)
        self.nights = 1
        now = self.advance("5d")
        self.stamp("clock +5d -> %s: pickup deadlines pass (reminders), the nightly reconciliation runs "
                   "(only the latest missed slot per store fires)" % now)
        time.sleep(1)
        self.wait_settled("after +5d", 90)
        self.nights = 2
        now = self.advance("2d1h")
        self.stamp("clock +2d1h -> %s: no-shows (reservation released, order cancelled), an unreviewed "
                   "reconciliation is left open, the next night's reconciliation runs" % now)
        time.sleep(1)
        self.wait_settled("after +2d1h", 90)
        self.progress("(end of the run)")

    # ------------------------------------------------------------------ summary

    def metrics(self):
        st, text = self.api("GET", "/metrics", who="viewer")
        out = defaultdict(float)
        if st != 200 or not isinstance(text, str):
            return out
        for line in text.splitlines():
            if not line or line.startswith("#"):
                continue
            name_labels, _, value = line.rpartition(" ")
            try:
                out[name_labels] = float(value)
            except ValueError:
                pass
        return out

    @staticmethod
    def msum(metrics, name, **labels):
        total = 0.0
        for k, v in metrics.items():
            if not (k == name or k.startswith(name + "{")):
                continue
            if all(('%s="%s"' % kv) in k for kv in labels.items()):
                total += v
        return total

    def summary(self):
        insts = self.poll()
        m = self.metrics()
        pos = self.sim_state("pos")
        moves = self.sim_state("odoo", model="account.move")["records"]
        notify = self.sim_state("notify")
        inv = self.sim_state("inventory")
        res = {"workflows": {}, "notes": list(self.notes)}
        L = []
        L.append("== Summary")
        L.append("%-21s %7s %9s %11s %6s %9s %7s %6s %5s %9s %9s" % (
            "workflow", "started", "completed", "compensated", "failed", "cancelled", "waiting", "held",
            "other", "p50", "p99"))
        outcomes = {}
        for w in WORKFLOWS:
            mine = [i for i in insts.values() if i.get("workflow") == w]
            s = Counter(i.get("status") for i in mine)
            durs = [parse_time(i.get("updated_at")) - parse_time(i.get("created_at")) for i in mine
                    if i.get("status") in TERMINAL and parse_time(i.get("updated_at")) and parse_time(i.get("created_at"))]
            other = sum(v for k, v in s.items() if k not in ("completed", "compensated", "failed", "cancelled", "waiting", "held"))
            L.append("%-21s %7d %9d %11d %6d %9d %7d %6d %5d %9s %9s" % (
                w, len(mine), s["completed"], s["compensated"], s["failed"], s["cancelled"], s["waiting"],
                s["held"], other, fmt_duration(percentile(durs, 50)), fmt_duration(percentile(durs, 99))))
            outcomes[w] = Counter("%s %s" % (i.get("status"), self.end_state(i)) for i in mine)
            res["workflows"][w] = dict(s, started=len(mine), p50_s=percentile(durs, 50), p99_s=percentile(durs, 99))
        L.append("  (durations: created_at -> updated_at of finished instances on the service clock, which the "
                 "demo fast-forwards by 7 days)")
        L.append("Outcomes (status and finish/fail state, or where it stands):")
        for w in WORKFLOWS:
            if outcomes[w]:
                L.append("  %-20s %s" % (w, ", ".join("%s %d" % kv for kv in sorted(outcomes[w].items()))))

        # Duplicates
        dup_id = self.msum(m, "retailflow_webhooks_total", outcome="duplicate", reason="")
        dup_key = self.msum(m, "retailflow_webhooks_total", outcome="duplicate", reason="business_key")
        dup_busy = self.msum(m, "retailflow_webhooks_total", outcome="duplicate", reason="in_progress")
        acc = self.msum(m, "retailflow_webhooks_total", outcome="accepted")
        rej = self.msum(m, "retailflow_webhooks_total", outcome="rejected")
        ds = pos.get("delivery_summary", {})
        gen_returns = len(self.generated["returns"])
        L.append("Webhooks: POS sent %d attempts for %d returns (%d planned duplicates, %d late/out of order; "
                 "acknowledged %d, failed %d, pending %d)" % (ds.get("sent", 0), gen_returns, ds.get("duplicates", 0),
                                                              ds.get("late", 0), ds.get("acknowledged", 0),
                                                              ds.get("failed", 0), ds.get("pending", 0)))
        L.append("          service: accepted %d, duplicates suppressed %d (same webhook-id %d, same return id %d, "
                 "in progress %d), rejected %d -> %d store_return instances for %d distinct returns"
                 % (acc, dup_id + dup_key + dup_busy, dup_id, dup_key, dup_busy, rej,
                    sum(1 for i in insts.values() if i.get("workflow") == "store_return"), gen_returns))
        res["webhooks"] = {"accepted": acc, "duplicates": dup_id + dup_key + dup_busy, "rejected": rej,
                           "pos_delivery": ds, "returns_generated": gen_returns}

        # Retries
        errs = Counter()
        for k, v in m.items():
            if k.startswith("retailflow_connector_errors_total{"):
                lab = dict(p.split("=", 1) for p in k[k.index("{") + 1:-1].split(",") if "=" in p)
                errs["%s %s" % (lab.get("connector", "?").strip('"'), lab.get("kind", "?").strip('"'))] += v
        openings = {k: v for k, v in m.items() if k.startswith("retailflow_circuit_breaker_openings_total") and v}
        attempts_failed = Counter()
        for i in insts.values():
            st, h = self.api("GET", "/v1/instances/%s/history" % i["id"], who="viewer")
            if st == 200:
                for e in h.get("items", []):
                    if e.get("type") == "attempt_failed":
                        attempts_failed[i.get("workflow")] += 1
                    if e.get("type") == "undo_failed":
                        i["_undo_failed"] = e
        L.append("Retries: failed connector calls %s" % (", ".join("%s %d" % (k, v) for k, v in sorted(errs.items())) or "none"))
        L.append("         failed attempts in instance histories (retried or routed): %s; circuit breaker openings: %s"
                 % (", ".join("%s %d" % kv for kv in sorted(attempts_failed.items())) or "none",
                    ", ".join("%s %d" % (k[k.index("{"):], v) for k, v in openings.items()) or "none"))
        res["retries"] = {"connector_errors": dict(errs), "attempts_failed": dict(attempts_failed)}

        stuck = [i for i in insts.values() if i.get("status") in ("held", "compensation_failed", "compensating")]
        if stuck:
            why = Counter()
            for i in stuck:
                u = i.get("_undo_failed")
                if i.get("status") != "held" and u:
                    why["%s %s, undo of %s: %s" % (i.get("workflow"), i.get("status"), u.get("step"),
                                                   (u.get("message") or "")[:120])] += 1
                else:
                    e = i.get("error") or {}
                    why["%s %s at %s: %s" % (i.get("workflow"), i.get("status"), e.get("state"),
                                             (e.get("message") or "")[:120])] += 1
            L.append("Needs attention (held and compensation_failed instances are in GET /v1/dead-letters):")
            for e, n in why.most_common(8):
                L.append("  %3d  %s" % (n, e))

        # Odoo credit notes vs refunds
        refunds = [m_ for m_ in moves if m_.get("move_type") == "out_refund"]
        posted = [m_ for m_ in refunds if m_.get("state") == "posted"]
        refunded = [i for i in insts.values() if i.get("workflow") == "store_return"
                    and i.get("status") == "completed" and self.end_state(i) == "refunded"]
        refund_total = sum(float(((i.get("data") or {}).get("input") or {}).get("refund_amount") or 0) for i in refunded)
        posted_total = sum(float(m_.get("amount_total") or 0) for m_ in posted)
        L.append("Odoo: %d credit notes (%d posted, total %.2f; %d cancelled, %d draft) vs %d returns refunded "
                 "(total %.2f) -> %s" % (len(refunds), len(posted), posted_total,
                                         sum(1 for x in refunds if x.get("state") == "cancel"),
                                         sum(1 for x in refunds if x.get("state") == "draft"),
                                         len(refunded), refund_total,
                                         "MATCH" if len(posted) == len(refunded) and abs(posted_total - refund_total) < 0.005
                                         else "MISMATCH"))
        res["odoo"] = {"credit_notes": len(refunds), "posted": len(posted), "posted_total": round(posted_total, 2),
                       "returns_refunded": len(refunded), "refund_total": round(refund_total, 2)}
        orders = self.sim_state("odoo", model="sale.order")["records"]
        so = Counter(o.get("state") for o in orders if o.get("client_order_ref") in self.cc_orders)
        rs = Counter(r.get("status") for r in inv.get("reservations", {}).values())
        tr = Counter(t.get("status") for t in inv.get("transfers", {}).values())
        msgs = Counter(x.get("template") for x in notify.get("messages", []))
        L.append("Odoo sale orders of the demo's click-and-collect: %s; inventory reservations: %s; transfers: %s"
                 % (dict(so), dict(rs), dict(tr)))
        L.append("Notifications received: %s" % (", ".join("%s %d" % kv for kv in sorted(msgs.items())) or "none"))
        L.append("Decisions by the demo's managers: %s" % ", ".join(
            "%s %s %d" % (k[0], k[1], v) for k, v in sorted((k, v) for k, v in self.decided.items() if isinstance(k, tuple))))
        res["decisions"] = {"%s:%s" % k: v for k, v in self.decided.items() if isinstance(k, tuple)}
        if self.notes:
            L.append("Demo notes:")
            for n in self.notes[:15]:
                L.append("  - " + n)
            if len(self.notes) > 15:
                L.append("  - ... %d more" % (len(self.notes) - 15))
        self.say("\n".join(L))
        res["started_via_api"] = dict(self.started)
        res["deployed"] = sorted(self.deployed)
        if self.args.summary_json:
            with open(self.args.summary_json, "w") as f:
                json.dump(res, f, indent=1, default=str)
        return res

    def show_access(self):
        u = self.url
        t = self.tokens
        self.say("""
== retailflow is running at %(u)s (simulators: odoo :%(odoo)d, pos :%(pos)d, inventory :%(inv)d, notify :%(notify)d)
Tokens (created for this demo; the admin token was given to the fresh data dir):
   admin             %(admin)s
   operator          %(operator)s
   viewer            %(viewer)s
   store_manager     %(store_manager)s
   regional_manager  %(regional_manager)s
   stock_controller  %(stock_controller)s
   back_office       %(back_office)s
Try:
   curl -s -H 'Authorization: Bearer %(viewer)s' %(u)s/v1/workflows
   curl -s -H 'Authorization: Bearer %(viewer)s' '%(u)s/v1/instances?workflow=store_return&status=completed&limit=5'
   curl -s -H 'Authorization: Bearer %(viewer)s' %(u)s/v1/dead-letters
   curl -s -H 'Authorization: Bearer %(store_manager)s' '%(u)s/v1/tasks?role=store_manager'
   curl -s -XPOST -H 'Authorization: Bearer %(operator)s' %(u)s/v1/workflows/stock_reconciliation/instances \\
        -d '{"input": {"store_id": "PAR-01", "tolerance": 2}, "business_key": "manual-PAR-01"}'
   curl -s -XPOST -H 'Authorization: Bearer %(admin)s' %(u)s/v1/admin/clock -d '{"advance": "1d"}'
   curl -s -XPOST localhost:%(pos)d/__admin/generate -d '{"returns": 20}'      # more POS returns
   curl -s -H 'Authorization: Bearer %(viewer)s' %(u)s/metrics | grep retailflow_webhooks_total
Logs: %(slog)s, %(simlog)s
== Console: open %(u)s/ in a browser and sign in with the admin token: %(admin)s
Press Ctrl-C to stop the service and the simulators.""" % dict(
            u=u, odoo=self.ports["odoo"], pos=self.ports["pos"], inv=self.ports["inventory"], notify=self.ports["notify"],
            slog=self.shown(self.service_log), simlog=self.shown(self.sims_log), **t))

    @staticmethod
    def shown(path):
        rel = os.path.relpath(path, ROOT)
        return path if rel.startswith("..") else rel


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--scale", type=float, default=1.0, help="size of the mix (1.0: ~200 returns, ~100 orders, ~20 transfers)")
    ap.add_argument("--no-wait", action="store_true", help="exit after the summary, stopping everything")
    ap.add_argument("--ports", choices=["default", "auto"], default="default",
                    help="default: sims 8069/8071/8072/8073 and the service on its embedded 127.0.0.1:8080 with ./data; "
                         "auto: free ports and a temporary data dir (for tests)")
    ap.add_argument("--data-dir", help="the service's data dir (default ./data, or a temp dir with --ports auto)")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--summary-json", help="also write the summary as JSON to this file")
    ap.add_argument("--keep", action="store_true", help="with --ports auto: keep the temp dir (logs, data)")
    args = ap.parse_args()
    if args.scale <= 0:
        ap.error("--scale must be positive")

    d = Demo(args)
    stop = threading.Event()

    def on_signal(*_):
        if stop.is_set():
            return          # already stopping: let the cleanup finish
        stop.set()
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    code = 0
    try:
        d.say("== Starting the simulators and retailflow (%s ports)" % ("free" if d.auto else "default"))
        d.prepare()
        d.start_sims()
        d.start_service()
        d.create_tokens()
        d.show_workflows()
        d.run_mix()
        d.fast_forward()
        d.summary()
        if not args.no_wait:
            d.show_access()
            while not stop.is_set():
                d.check_alive()
                stop.wait(1)
    except KeyboardInterrupt:
        d.say("\nStopping ...")
    except DemoError as e:
        d.say("demo: %s" % e)
        code = 1
    finally:
        d.stop()
    d.say("Stopped." if code == 0 else "Stopped (error).")
    return code


if __name__ == "__main__":
    sys.exit(main())
