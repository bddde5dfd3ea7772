"""End-to-end harness: the real simulators (examples/sim) and the real `retailflow serve` binary on
its embedded default configuration, wired together on free ports, plus small HTTP helpers.

    with Stack() as s:
        s.api("POST", "/v1/workflows/click_and_collect/instances", {...}, token=s.operator)
        s.wait_status(instance_id, "completed")
        s.sim_state("odoo", model="account.move")

Python 3 standard library only. The service binary is RF_CLI (env) or build/cli/retailflow.
"""

import atexit
import ctypes
import json
import os
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

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
CLI = os.environ.get("RF_CLI", os.path.join(ROOT, "build", "cli", "retailflow"))

ADMIN_TOKEN = "rf_e2e_admin_token_0123456789abcdef"
POS_SECRET = "whsec_ZTJlLXBvcy13ZWJob29rLXNlY3JldC0wMTIzNDU2Nzg5"
ROLES = {
    "operator": ["operator"],
    "viewer": ["viewer"],
    "store_manager": ["approver:store_manager"],
    "regional_manager": ["approver:regional_manager"],
    "stock_controller": ["approver:stock_controller"],
    "back_office": ["approver:back_office"],
}


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def http(method, url, body=None, headers=None, timeout=30):
    """(status, parsed JSON or text, headers). Never raises for HTTP statuses."""
    data = None
    hdrs = dict(headers or {})
    if body is not None:
        data = body if isinstance(body, (bytes, str)) else json.dumps(body)
        if isinstance(data, str):
            data = data.encode()
        hdrs.setdefault("Content-Type", "application/json")
    req = urllib.request.Request(url, data=data, method=method, headers=hdrs)
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            raw, status, rh = r.read(), r.status, dict(r.headers)
    except urllib.error.HTTPError as e:
        raw, status, rh = e.read(), e.code, dict(e.headers)
    try:
        return status, json.loads(raw), rh
    except ValueError:
        return status, raw.decode(errors="replace"), rh


_live = set()  # stacks started and not yet stopped; stopped at interpreter exit


@atexit.register
def _stop_live_stacks():
    for st in list(_live):
        st.stop()


def _kill_group(pgid, sig):
    try:
        os.killpg(pgid, sig)
    except (ProcessLookupError, PermissionError):
        pass


try:  # resolved here, not in the forked child (dlopen there could deadlock on a loader lock)
    _prctl = ctypes.CDLL(None, use_errno=True).prctl
except (OSError, AttributeError):
    _prctl = None


def _parent_death_signal():
    """A preexec_fn asking Linux to SIGTERM the child if this process dies without cleaning up
    (e.g. SIGKILLed by a ctest timeout). Only from the main thread: the signal follows the death
    of the creating thread, not of the process."""
    if threading.current_thread() is not threading.main_thread():
        return None
    if _prctl is None:
        return None
    parent = os.getpid()

    def arm():  # runs in the child between fork and exec: nothing but the call itself
        _prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
        if os.getppid() != parent:  # the parent died before prctl
            os._exit(1)
    return arm


def _exited(p):
    """Whether child `p` has exited, without reaping it (see Stack._end)."""
    if p.returncode is not None:
        return True
    try:
        return os.waitid(os.P_PID, p.pid, os.WEXITED | os.WNOHANG | os.WNOWAIT) is not None
    except ChildProcessError:
        return True


def group_members(pgids):
    """(pid, start time) of every live, non-zombie process whose process group is in `pgids`."""
    want, out = set(pgids), set()
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % d) as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if fields[0] != "Z" and int(fields[2]) in want:  # state, ..., pgrp; start time is field 22
            out.add((int(d), int(fields[19])))
    return out


def alive(procs):
    """The (pid, start time) pairs of `procs` that still name a live, non-zombie process."""
    out = set()
    for pid, start in procs:
        try:
            with open("/proc/%d/stat" % pid) as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if fields[0] != "Z" and int(fields[19]) == start:
            out.add((pid, start))
    return out


class Stack:
    """Simulators + service. `keep` leaves the temp dir for post-mortems; `cli` overrides RF_CLI.

    Lifecycle contract: every child (the simulators' run_all.py, the service) starts in its own
    process group, and stop() ends each whole group, so nothing it started survives it, whatever
    state the children are in. start() either returns a ready stack or stops everything it
    started and raises. stop() is idempotent, and runs at interpreter exit for any stack still
    running (a test class whose setUpClass failed after start() returned)."""

    def __init__(self, seed=1, keep=False, log=sys.stderr, cli=None):
        self.seed = seed
        self.keep = keep
        self.log = log
        self.cli = cli or CLI
        self.dir = tempfile.mkdtemp(prefix="rf_e2e_")
        self.sims = None
        self.service = None
        self.ports = {}
        self.tokens = {}
        self.children = []  # every Popen started; each leads its own process group

    # ------------------------------------------------------------------ lifecycle

    def __enter__(self):
        self.start()
        return self

    def __exit__(self, *exc):
        self.stop()

    def start(self):
        _live.add(self)
        try:
            self._start()
        except BaseException:
            self.stop()
            raise

    def _start(self):
        self.port = free_port()
        self.url = "http://127.0.0.1:%d" % self.port
        ports_file = os.path.join(self.dir, "ports.json")
        with open(os.path.join(self.dir, "sims.log"), "w") as log:  # the child keeps its own fd
            self.sims = self._spawn(
                [sys.executable, os.path.join(ROOT, "examples", "sim", "run_all.py"), "--any-port",
                 "--ports-file", ports_file, "--state-dir", os.path.join(self.dir, "sim"),
                 "--webhook-url", self.url + "/v1/webhooks/pos", "--pos-webhook-secret", POS_SECRET,
                 "--seed", str(self.seed)],
                stdout=log, stderr=subprocess.STDOUT)
        deadline = time.time() + 60
        while not os.path.exists(ports_file):  # written atomically (rename) once all listen
            if _exited(self.sims) or time.time() > deadline:
                raise RuntimeError("simulators did not start:\n" + self.read("sims.log"))
            time.sleep(0.05)
        with open(ports_file) as f:
            self.ports = json.load(f)
        self.start_service()
        for name, roles in ROLES.items():
            st, body, _ = self.api("POST", "/v1/tokens", {"name": "e2e-" + name, "roles": roles},
                                   token=ADMIN_TOKEN)
            if st == 201:
                self.tokens[name] = body["token"]
        self.tokens["admin"] = ADMIN_TOKEN

    def _spawn(self, cmd, **kw):
        """Popen in a new session (its own process group), remembered for stop()."""
        p = subprocess.Popen(cmd, start_new_session=True, preexec_fn=_parent_death_signal(), **kw)
        self.children.append(p)
        return p

    def env(self):
        e = dict(os.environ)
        e.update({
            "RETAILFLOW_ADMIN_TOKEN": ADMIN_TOKEN,
            "RETAILFLOW_POS_WEBHOOK_SECRET": POS_SECRET,
            "RF_ODOO_URL": "http://127.0.0.1:%d" % self.ports["odoo"],
            "RF_POS_URL": "http://127.0.0.1:%d" % self.ports["pos"],
            "RF_INVENTORY_URL": "http://127.0.0.1:%d" % self.ports["inventory"],
            "RF_NOTIFY_URL": "http://127.0.0.1:%d/v1/messages" % self.ports["notify"],
        })
        return e

    def start_service(self):
        """Starts (or restarts) `retailflow serve` on the same port and data dir; raises (leaving
        nothing of the service running) when it cannot be started or does not become ready."""
        if not (os.path.isfile(self.cli) and os.access(self.cli, os.X_OK)):
            raise RuntimeError("service binary not found or not executable: %s "
                               "(build it with scripts/build.sh, or set RF_CLI)" % self.cli)
        with open(os.path.join(self.dir, "service.log"), "a") as log:
            self.service = self._spawn(
                [self.cli, "serve", "--listen", "127.0.0.1:%d" % self.port,
                 "--data-dir", os.path.join(self.dir, "data"),
                 "--workflows", os.path.join(ROOT, "workflows"), "--adjustable-clock"],
                cwd=ROOT, env=self.env(),
                stdout=log, stderr=subprocess.STDOUT)
        deadline = time.time() + 60
        while True:
            if _exited(self.service):
                self._end(self.service, signal.SIGKILL, 0)
                raise RuntimeError("service exited with status %s before it was ready:\n%s" % (
                    self.service.returncode, self.read("service.log")[-4000:]))
            try:
                if http("GET", self.url + "/readyz", timeout=2)[0] == 200:
                    return
            except OSError:
                pass
            if time.time() > deadline:
                self._end(self.service, signal.SIGKILL, 0)
                raise RuntimeError("service not ready after 60 s:\n" + self.read("service.log")[-4000:])
            time.sleep(0.05)

    def kill_service(self):
        """kill -9 (of its whole process group): no shutdown, no flush beyond what was committed."""
        self._end(self.service, signal.SIGKILL, 0)

    def stop_service(self):
        """SIGTERM, then SIGKILL after 30 s; returns the service's exit status (None if never started)."""
        if self.service:
            self._end(self.service, signal.SIGTERM, 30)
        return self.service.returncode if self.service else None

    def stop(self):
        """Ends every child's process group (service first, then simulators) and removes the temp
        dir unless `keep`. Safe to call at any point, and more than once."""
        try:
            self.stop_service()
            if self.sims:
                self._end(self.sims, signal.SIGTERM, 15)
        finally:
            for p in self.children:
                self._end(p, signal.SIGKILL, 0)
            _live.discard(self)
            if not self.keep:
                shutil.rmtree(self.dir, ignore_errors=True)

    @staticmethod
    def _end(p, sig, grace):
        """Sends `sig` to p's process group, waits up to `grace` s for p to exit, then SIGKILLs
        what is left of the group, waits until no member runs, and reaps p. p stays unreaped (a
        zombie) until then, so its pid (the group id) cannot be reused by an unrelated process."""
        if p.returncode is not None:  # ended (and its group killed) before
            return
        _kill_group(p.pid, sig)
        deadline = time.time() + grace
        while not _exited(p) and time.time() < deadline:
            time.sleep(0.02)
        _kill_group(p.pid, signal.SIGKILL)
        deadline = time.time() + 10  # SIGKILL is delivered asynchronously: wait until it took
        while group_members([p.pid]) and time.time() < deadline:
            time.sleep(0.02)
        p.wait()

    def pids(self):
        """(pid, start time) of every live process in this stack's process groups, from /proc."""
        return group_members(p.pid for p in self.children if p.returncode is None)

    def read(self, name):
        try:
            with open(os.path.join(self.dir, name)) as f:
                return f.read()
        except OSError:
            return ""

    # ------------------------------------------------------------------ service API

    def api(self, method, path, body=None, token=None, role="operator"):
        tok = token or self.tokens.get(role, ADMIN_TOKEN)
        return http(method, self.url + path, body, {"Authorization": "Bearer " + tok})

    def start_instance(self, workflow, input, business_key):
        st, body, _ = self.api("POST", "/v1/workflows/%s/instances" % workflow,
                               {"input": input, "business_key": business_key})
        if st not in (200, 201):
            raise AssertionError("start %s: %s %s" % (workflow, st, body))
        return body["id"]

    def instance(self, iid):
        return self.api("GET", "/v1/instances/" + iid, role="viewer")[1]

    def wait_status(self, iid, statuses, timeout=60):
        """Waits until the instance's status is one of `statuses` (str or list); returns it."""
        if isinstance(statuses, str):
            statuses = [statuses]
        deadline = time.time() + timeout
        inst = None
        while time.time() < deadline:
            inst = self.instance(iid)
            if isinstance(inst, dict) and inst.get("status") in statuses:
                return inst
            time.sleep(0.05)
        raise AssertionError("instance %s never reached %s; last: %s" % (iid, statuses, json.dumps(inst)[:3000]))

    def wait_task(self, iid, role, timeout=60):
        """The open task of instance `iid` for `role` (an approver role name)."""
        deadline = time.time() + timeout
        while time.time() < deadline:
            st, body, _ = self.api("GET", "/v1/tasks?role=" + role, role=role)
            for t in (body.get("items", []) if isinstance(body, dict) else []):
                if t.get("instance") == iid:
                    return t
            time.sleep(0.05)
        raise AssertionError("no open %s task for %s; instance: %s" % (role, iid, json.dumps(self.instance(iid))[:3000]))

    def decide(self, task, decision, role, comment=""):
        st, body, _ = self.api("POST", "/v1/tasks/%s/complete" % task["id"],
                               {"decision": decision, "comment": comment}, role=role)
        if st != 202:
            raise AssertionError("decide %s: %s %s" % (task["id"], st, body))

    def event(self, name, key, data=None):
        st, body, _ = self.api("POST", "/v1/events/" + name, {"key": key, "data": data or {}})
        if st != 202:
            raise AssertionError("event %s: %s %s" % (name, st, body))
        return body

    def advance(self, duration):
        """Moves the service's clock forward (e.g. "4h"): timers, deadlines and schedules fire."""
        st, body, _ = self.api("POST", "/v1/admin/clock", {"advance": duration}, token=ADMIN_TOKEN)
        if st != 200:
            raise AssertionError("advance clock: %s %s" % (st, body))
        return body["now"]

    def wait_history(self, iid, pred, what, timeout=60):
        """The first history event of `iid` satisfying `pred`, waiting for it to appear."""
        deadline = time.time() + timeout
        while time.time() < deadline:
            for h in self.history(iid):
                if pred(h):
                    return h
            time.sleep(0.05)
        raise AssertionError("instance %s: never %s; history: %s" % (iid, what, self.history(iid)))

    def wait_waiting(self, iid, state):
        """Waits until `iid` waits for an event in `state`."""
        return self.wait_history(
            iid, lambda h: h["type"] == "waiting_for_event" and h["state"] == state,
            "waiting in " + state)

    def history(self, iid):
        return self.api("GET", "/v1/instances/%s/history" % iid, role="viewer")[1]["items"]

    # ------------------------------------------------------------------ simulators

    def sim_url(self, name):
        return "http://127.0.0.1:%d" % self.ports[name]

    def sim(self, name, method, path, body=None, headers=None):
        return http(method, self.sim_url(name) + path, body, headers)

    def sim_state(self, name, **query):
        qs = "&".join("%s=%s" % kv for kv in query.items())
        st, body, _ = self.sim(name, "GET", "/__admin/state" + ("?" + qs if qs else ""))
        return body

    def sim_faults(self, name, **faults):
        return self.sim(name, "POST", "/__admin/faults", faults)
