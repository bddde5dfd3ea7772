"""Requests still in flight, for the inventory and notification simulators: the server side of the
IETF "The Idempotency-Key HTTP Header Field" draft (draft-ietf-httpapi-idempotency-key-header,
"Idempotency Enforcement Scenarios" and "Error Scenarios"), and a gate that holds requests so
that tests can put a request "in flight" on purpose.

Contract (what a client may rely on), for a request with an idempotency key:
  - first time: the key is claimed (in memory, under the app's lock) BEFORE any work starts; the
    work and the recording of its answer then happen in one step under the same lock, so the
    state file never holds an effect without its answer;
  - the same key and payload while the first is still being processed: 409 Conflict,
    application/problem+json, `type` = PROBLEM_IN_PROGRESS, the draft's title; nothing is done;
  - the same key and payload after it completed: the stored answer (status and body) again,
    with `Idempotent-Replayed: true`; nothing is done;
  - the same key with another payload (in progress or completed): 422, application/problem+json,
    `type` = PROBLEM_KEY_REUSED;
  - an answer of 500 or more is not stored and frees the key (the caller may try again).
Keys are kept as long as the simulator's state (no expiry). A claim is never written to the state
file: a simulator that restarts has no request in progress.

The gate: POST /__admin/gate {"operation": NAME, "closed": true} makes every later request of that
operation wait after it was received and its key claimed, and before it is executed, until
{"operation": NAME, "closed": false} (or {"open_all": true}, or /__admin/reset) lets them all go.
GET /__admin/gate tells what is held, so tests wait on conditions, never on sleeps:
  {"operations": [...], "closed": [...], "held": {op: n}, "held_keys": {op: [key]},
   "passed": {op: n}, "in_progress_answers": {key: n}}
"""

import hashlib
import json
import re
import threading
import time

import simlib
from simlib import ApiError, Response, bad_request, iso, route

PROBLEM_IN_PROGRESS = "https://retailflow.example/problems/idempotency-request-outstanding"
PROBLEM_KEY_REUSED = "https://retailflow.example/problems/idempotency-key-reused"
PROBLEM_KEY_INVALID = "https://retailflow.example/problems/idempotency-key-invalid"
TITLE_IN_PROGRESS = "A request is outstanding for this Idempotency-Key"  # the draft's own words
MAX_KEY_LENGTH = 255
_KEY_CHARS = re.compile(r"^[\x21-\x7e]+$")  # visible ASCII, no spaces


def problem(status, type_, title, detail, code):
    """An RFC 9457 problem document; `code` is an extension member (the simulators' error code)."""
    return Response(status, {"type": type_, "title": title, "status": status, "detail": detail,
                             "code": code}, content_type="application/problem+json")


def parse_key(header):
    """The key of an Idempotency-Key header: an RFC 8941 sf-string ("...", as the draft writes
    it) or, as many servers accept, the bare text. Raises ApiError(400) for an invalid key."""
    text = header.strip()
    if text.startswith('"'):
        m = re.fullmatch(r'"((?:[^"\\]|\\["\\])*)"', text)
        if not m:
            raise _invalid_key("not a valid quoted string")
        text = re.sub(r'\\(["\\])', r"\1", m.group(1))
    if not text or len(text) > MAX_KEY_LENGTH or not _KEY_CHARS.match(text):
        raise _invalid_key("1 to %d visible ASCII characters expected" % MAX_KEY_LENGTH)
    return text


def _invalid_key(why):
    e = ApiError(400, "idempotency_key_invalid", "invalid Idempotency-Key: " + why)
    e.problem = problem(400, PROBLEM_KEY_INVALID, "Idempotency-Key is invalid", e.message,
                        e.code)
    return e


def fingerprint(*parts):
    """A digest of what makes two requests "the same request" (method, path, canonical body)."""
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()


def canonical_json(raw):
    """Canonical text of a JSON body (key order and spacing do not matter); the raw text when the
    body is not JSON."""
    try:
        return json.dumps(json.loads(raw.decode("utf-8") or "null"), sort_keys=True)
    except ValueError:
        return raw.decode("utf-8", "replace")


def keyed_by_handler(fn):
    """Marks a route handler that calls run_once itself (its key is not an Idempotency-Key
    header): the scaffold does not pass it through the gate a second time."""
    fn.keyed_by_handler = True
    return fn


class Gate:
    """Per operation: closed or open; requests of a closed operation wait in `pass_through`."""

    def __init__(self, operations):
        self.operations = sorted(set(operations))
        self._cv = threading.Condition()
        self._closed = set()
        self._held = {}    # operation -> [key or None] waiting now
        self._passed = {}  # operation -> requests that went through the gate

    def set_closed(self, operation, closed):
        if operation not in self.operations:
            raise bad_request("unknown operation %r (known: %s)"
                              % (operation, ", ".join(self.operations)))
        with self._cv:
            if closed:
                self._closed.add(operation)
            else:
                self._closed.discard(operation)
            self._cv.notify_all()

    def open_all(self, forget_counts=False):
        with self._cv:
            self._closed.clear()
            if forget_counts:
                self._passed = {}
            self._cv.notify_all()

    def pass_through(self, operation, key):
        """Returns at once when `operation` is open; otherwise waits until it is opened. Never
        call with the app's lock held (it would stop every other request)."""
        with self._cv:
            if operation in self._closed:
                held = self._held.setdefault(operation, [])
                held.append(key)
                self._cv.notify_all()
                while operation in self._closed:
                    self._cv.wait()
                held.remove(key)
            self._passed[operation] = self._passed.get(operation, 0) + 1
            self._cv.notify_all()

    def snapshot(self):
        with self._cv:
            return {"operations": self.operations, "closed": sorted(self._closed),
                    "held": {op: len(ks) for op, ks in self._held.items() if ks},
                    "held_keys": {op: list(ks) for op, ks in self._held.items() if ks},
                    "passed": dict(self._passed)}


class InFlightApp:
    """Mixin for a simlib.App (list it first: `class X(InFlightApp, App)`): the draft's
    Idempotency-Key semantics with in-flight claims for `idempotent_methods`, and the gate over
    every route whose handler does not start with "_". Gate operations are the handlers' names
    (named after the connector operations they serve)."""

    def __init__(self, args):
        super().__init__(args)
        self.claims = {}               # key -> {"fingerprint", "operation", "since"}; memory only
        self.in_progress_answers = {}  # key -> how many 409s it got
        self.gate = Gate(fn.__name__ for _, _, fn in self.routes
                         if not fn.__name__.startswith("_"))

    # --- the one path every keyed request takes
    def run_once(self, key, fp, operation, what, execute):
        """(outcome, Response): outcome is "done" (executed now), "replayed", "in_progress" or
        "reused". `execute()` runs with the app's lock held and returns a Response."""
        with self.lock:
            seen = self.idempotency.get(key)
            claim = self.claims.get(key)
            first = seen or claim
            if first and first["fingerprint"] != fp:
                return "reused", problem(
                    422, PROBLEM_KEY_REUSED, "Idempotency-Key is already used",
                    "Idempotency-Key %r was already used with a different request (first: %s); "
                    "a key must not be reused across different payloads" % (key, first["request"]),
                    "idempotency_key_reused")
            if seen:
                headers = dict(seen.get("headers") or {})
                headers["Idempotent-Replayed"] = "true"
                return "replayed", Response(seen["status"], seen["body"], headers,
                                            content_type=seen.get("content_type",
                                                                  "application/json"))
            if claim:
                self.in_progress_answers[key] = self.in_progress_answers.get(key, 0) + 1
                return "in_progress", problem(
                    409, PROBLEM_IN_PROGRESS, TITLE_IN_PROGRESS,
                    "A request with the same Idempotency-Key for the same operation (%s) is "
                    "being processed since %s; retry later to get its answer"
                    % (claim["request"], claim["since"]), "idempotency_request_outstanding")
            self.claims[key] = {"fingerprint": fp, "operation": operation, "request": what,
                                "since": iso(time.time())}
        stored = False
        try:
            self.gate.pass_through(operation, key)
            with self.lock:
                resp = execute()
                if resp.status < 500 and resp.raw is None:
                    self.idempotency[key] = {"fingerprint": fp, "status": resp.status,
                                             "body": resp.body, "headers": resp.headers,
                                             "content_type": resp.content_type,
                                             "request": what, "at": iso(time.time())}
                    stored = True
                del self.claims[key]
                if stored:
                    self.save()
                return "done", resp
        except BaseException:
            with self.lock:
                self.claims.pop(key, None)
            raise

    # --- simlib.App hooks
    def _idempotent(self, key_header, req, fn):
        try:
            key = parse_key(key_header)
        except ApiError as e:
            return e.problem
        fp = fingerprint(req.method, req.path, canonical_json(req.body))
        return self.run_once(key, fp, fn.__name__, "%s %s" % (req.method, req.path),
                             lambda: super(InFlightApp, self)._call(fn, req))[1]

    def _call(self, fn, req):
        """Requests without a key: through the gate too (admin routes never)."""
        if not fn.__name__.startswith("_") and not getattr(fn, "keyed_by_handler", False):
            self.gate.pass_through(fn.__name__, None)
        return super()._call(fn, req)

    # --- admin
    @route("GET", r"/__admin/gate")
    def _admin_gate(self, req):
        return 200, self._gate_state()

    @route("POST", r"/__admin/gate")
    def _admin_gate_set(self, req):
        body = req.json()
        if body.get("open_all") is True:
            self.gate.open_all()
            return 200, self._gate_state()
        op, closed = body.get("operation"), body.get("closed")
        if not isinstance(op, str) or not isinstance(closed, bool):
            raise bad_request('expected {"operation": NAME, "closed": true|false} or '
                              '{"open_all": true}')
        self.gate.set_closed(op, closed)
        return 200, self._gate_state()

    @route("POST", r"/__admin/reset")
    def _admin_reset(self, req):
        self.gate.open_all(forget_counts=True)
        with self.lock:
            self.in_progress_answers = {}
        return simlib.App._admin_reset(self, req)

    def _gate_state(self):
        state = self.gate.snapshot()
        with self.lock:
            state["in_progress_answers"] = dict(self.in_progress_answers)
            state["claimed"] = sorted(self.claims)
        return state
