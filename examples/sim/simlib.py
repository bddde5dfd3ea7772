"""Shared code for the retailflow simulators (Python 3 standard library only).

What lives here:
  - the seeded catalogue every simulator (and odoo_sim.py) uses: stores, warehouse, SKUs, customers;
  - Standard Webhooks signing and verification (HMAC-SHA256 over "id.timestamp.body", base64);
  - duration parsing in the workflow language's forms ("1w1d", "3d", "7 days", ISO "PT2H", seconds);
  - the HTTP scaffold: ThreadingHTTPServer, routing, JSON errors, fault injection, the
    /__admin endpoints, optional bearer auth, Idempotency-Key handling and a JSON state file.

Threads: every App has one re-entrant lock (`app.lock`); handlers take it around any state access.
Fault decisions use their own lock and a seeded random generator, so a given seed and request
order always inject the same faults.
"""

import argparse
import base64
import hashlib
import hmac
import json
import os
import random
import re
import signal
import sys
import threading
import time
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, unquote, urlsplit

# ---------------------------------------------------------------------------------------------
# Catalogue. Identical for every simulator and independent of --seed, so that ids, prices and
# customers match across POS, inventory, notification and Odoo simulators.

VAT_RATE_PERCENT = 20  # one VAT rate for every SKU and store (a simulator simplification)
VAT_CODE = "VAT20"

STORES = {
    "PAR-01": {"store_id": "PAR-01", "name": "Paris Rivoli", "timezone": "Europe/Paris",
               "currency": "EUR", "country": "FR"},
    "LON-01": {"store_id": "LON-01", "name": "London Oxford Street", "timezone": "Europe/London",
               "currency": "GBP", "country": "GB"},
    "NYC-01": {"store_id": "NYC-01", "name": "New York SoHo", "timezone": "America/New_York",
               "currency": "USD", "country": "US"},
}
WAREHOUSES = {
    "WH-01": {"warehouse_id": "WH-01", "name": "Central warehouse", "timezone": "Europe/Paris"},
}
TRANSIT_LOCATION = "transit"

_CATEGORIES = [  # (name, base price incl. VAT in minor units)
    ("T-shirt", 1999), ("Jeans", 5999), ("Sneakers", 8999), ("Jacket", 12999), ("Dress", 7999),
    ("Scarf", 2499), ("Backpack", 4999), ("Watch", 54900), ("Headphones", 29900), ("Coat", 64900),
]
_COLOURS = ["Black", "White", "Navy", "Red", "Green", "Grey", "Beige", "Blue", "Brown", "Pink",
            "Olive", "Yellow", "Burgundy", "Khaki", "Teal", "Orange", "Purple", "Cream", "Charcoal",
            "Sand"]


def _ean13(n):
    body = "200%09d" % n  # prefix 200-299: in-store numbering
    total = sum(int(d) * (3 if i % 2 else 1) for i, d in enumerate(body))
    return body + str((10 - total % 10) % 10)


def _build_skus():
    skus = []
    for i in range(1, 201):
        cat, base = _CATEGORIES[(i - 1) % len(_CATEGORIES)]
        colour = _COLOURS[((i - 1) // len(_CATEGORIES)) % len(_COLOURS)]
        price = base + ((i - 1) // len(_CATEGORIES) % 5) * 500
        skus.append({
            "sku": "SKU-%04d" % i,
            "name": "%s %s" % (cat, colour),
            "category": cat,
            "barcode": _ean13(i),
            "price": price,  # unit price including VAT, minor units of the store's currency
            "price_excl_tax": round_half_even_div(price * 100, 100 + VAT_RATE_PERCENT),
            "tax_rate": VAT_RATE_PERCENT,
        })
    return skus


_FIRST = ["Alice", "Bruno", "Chloe", "David", "Emma", "Farid", "Grace", "Hugo", "Ines", "Jack",
          "Kenza", "Liam", "Mia", "Noah", "Olivia", "Paul", "Quinn", "Rose", "Sam", "Tara",
          "Umar", "Vera", "Will", "Xena", "Yann"]
_LAST = ["Martin", "Smith", "Dubois", "Jones", "Garcia", "Brown", "Leroy", "Taylor", "Moreau",
         "Wilson"]


def _build_customers():
    out = []
    for i in range(1, 51):
        first, last = _FIRST[(i - 1) % len(_FIRST)], _LAST[(i * 7) % len(_LAST)]
        out.append({
            "customer_ref": "CUST-%04d" % i,
            "name": "%s %s" % (first, last),
            "email": "%s.%s%d@example.com" % (first.lower(), last.lower(), i),
            "phone": "+33 6 %02d %02d %02d %02d" % (i % 100, (i * 3) % 100, (i * 7) % 100, i % 97),
            "home_store": list(STORES)[(i - 1) % len(STORES)],
        })
    return out


def round_half_even_div(a, b):
    """a / b for integers, rounded half to even (banker's rounding, like the workflow language)."""
    q, r = divmod(a, b)
    if 2 * r > b or (2 * r == b and q % 2 == 1):
        q += 1
    return q


SKUS = _build_skus()
SKU_BY_ID = {s["sku"]: s for s in SKUS}
CUSTOMERS = _build_customers()
CUSTOMER_BY_REF = {c["customer_ref"]: c for c in CUSTOMERS}


def catalogue():
    """Everything a simulator needs to agree on, as one JSON-able value."""
    return {"stores": STORES, "warehouses": WAREHOUSES, "transit_location": TRANSIT_LOCATION,
            "vat_rate_percent": VAT_RATE_PERCENT, "skus": SKUS, "customers": CUSTOMERS}


def starting_stock(seed=1):
    """{location: {sku: units on hand}} at start for a --seed, the same in the inventory platform
    and in Odoo's quants, so that the two systems agree until something moves: stores 0-25 per
    SKU (~10% out of stock, a quarter as many watches and coats), the warehouse 50-400."""
    rng = random.Random(seed)
    stock = {}
    for loc in list(STORES) + list(WAREHOUSES):
        stock[loc] = {}
        for s in SKUS:
            if loc in WAREHOUSES:
                qty = rng.randint(50, 400)
            else:
                qty = 0 if rng.random() < 0.1 else rng.randint(1, 25)
                if s["category"] in ("Watch", "Coat"):
                    qty = qty // 4
            stock[loc][s["sku"]] = qty
    return stock


def tax_included(amount_incl):
    """VAT contained in a VAT-inclusive amount (minor units)."""
    return amount_incl - round_half_even_div(amount_incl * 100, 100 + VAT_RATE_PERCENT)


def minor_to_money(minor):
    """Integer minor units -> JSON number in major units (1999 -> 19.99), for `money` fields."""
    if minor % 100 == 0:
        return minor // 100
    return float("%d.%02d" % divmod(minor, 100)) if minor >= 0 else -minor_to_money(-minor)


# ---------------------------------------------------------------------------------------------
# Times and durations

def iso(ts):
    """Unix seconds -> ISO-8601 UTC with a Z, millisecond precision dropped when zero."""
    d = datetime.fromtimestamp(ts, tz=timezone.utc)
    if d.microsecond:
        return d.strftime("%Y-%m-%dT%H:%M:%S.") + "%03dZ" % (d.microsecond // 1000)
    return d.strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_iso(text):
    t = text.strip().replace("Z", "+00:00")
    if len(t) == 10:
        t += "T00:00:00+00:00"
    d = datetime.fromisoformat(t)
    if d.tzinfo is None:
        d = d.replace(tzinfo=timezone.utc)
    return d.timestamp()


_UNIT_SECONDS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
_WORD_UNITS = {"millisecond": "ms", "second": "s", "minute": "m", "hour": "h", "day": "d",
               "week": "w", "sec": "s", "min": "m"}
_ISO_DUR = re.compile(r"^P(?:(\d+)W)?(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+(?:\.\d+)?)S)?)?$")


def parse_duration(value):
    """Seconds (float) from a number of seconds, "1w1d", "1h30m", "250ms", "7 days", "PT2H",
    or {"seconds": n}. Raises ValueError."""
    if isinstance(value, bool):
        raise ValueError("a duration cannot be true or false")
    if isinstance(value, (int, float)):
        if value < 0:
            raise ValueError("a duration cannot be negative")
        return float(value)
    if isinstance(value, dict):
        for k, mult in (("seconds", 1), ("ms", 0.001), ("milliseconds", 0.001)):
            if k in value:
                return parse_duration(value[k]) * mult
        raise ValueError("unknown duration object")
    if not isinstance(value, str) or not value.strip():
        raise ValueError("a duration must be a number of seconds or a text such as 3d or 7 days")
    t = value.strip()
    if re.fullmatch(r"\d+(\.\d+)?", t):
        return float(t)
    m = _ISO_DUR.match(t.upper())
    if m and t.upper() != "P" and t.upper() != "PT":
        w, d, h, mi, s = m.groups()
        return (int(w or 0) * 604800 + int(d or 0) * 86400 + int(h or 0) * 3600
                + int(mi or 0) * 60 + float(s or 0))
    m = re.fullmatch(r"(\d+)\s+([a-z]+?)s?", t.lower())
    if m and m.group(2) in _WORD_UNITS:
        return int(m.group(1)) * _UNIT_SECONDS[_WORD_UNITS[m.group(2)]]
    parts = re.findall(r"(\d+)(ms|w|d|h|m|s)", t)
    if parts and "".join(n + u for n, u in parts) == t:
        return float(sum(int(n) * _UNIT_SECONDS[u] for n, u in parts))
    raise ValueError("%r is not a duration (use seconds, 3d, 1w1d, 1h30m, 7 days or PT72H)" % value)


# ---------------------------------------------------------------------------------------------
# Standard Webhooks (https://www.standardwebhooks.com): secret "whsec_<base64 key>",
# signature "v1,<base64(HMAC-SHA256(key, id + "." + timestamp + "." + body))>".

WEBHOOK_TOLERANCE_S = 300


def make_secret(label):
    """A deterministic whsec_ secret from a label (simulator defaults; never for production)."""
    return "whsec_" + base64.b64encode(hashlib.sha256(label.encode()).digest()).decode()


def secret_key(secret):
    if secret.startswith("whsec_"):
        return base64.b64decode(secret[len("whsec_"):])
    return secret.encode()


def sign_webhook(secret, msg_id, timestamp, body):
    """The webhook-signature header value for `body` (bytes)."""
    signed = b"%s.%d.%s" % (msg_id.encode(), int(timestamp), body)
    mac = hmac.new(secret_key(secret), signed, hashlib.sha256).digest()
    return "v1," + base64.b64encode(mac).decode()


def webhook_headers(secret, msg_id, body, timestamp=None):
    ts = int(time.time() if timestamp is None else timestamp)
    return {"webhook-id": msg_id, "webhook-timestamp": str(ts),
            "webhook-signature": sign_webhook(secret, msg_id, ts, body),
            "Content-Type": "application/json"}


class WebhookError(Exception):
    pass


def verify_webhook(secrets, headers, body, tolerance=WEBHOOK_TOLERANCE_S, now=None):
    """Checks a Standard Webhooks request; returns the webhook-id. `headers` is case-insensitive
    (an http.client message) or a dict with lower-case keys. Raises WebhookError."""
    get = headers.get
    msg_id, ts, sigs = get("webhook-id"), get("webhook-timestamp"), get("webhook-signature")
    if not msg_id or not ts or not sigs:
        raise WebhookError("missing webhook-id, webhook-timestamp or webhook-signature header")
    try:
        ts_i = int(ts)
    except ValueError:
        raise WebhookError("webhook-timestamp is not a number of seconds")
    now = time.time() if now is None else now
    if abs(now - ts_i) > tolerance:
        raise WebhookError("webhook-timestamp is outside the %d s tolerance" % tolerance)
    for secret in secrets:
        expected = sign_webhook(secret, msg_id, ts_i, body).split(",", 1)[1].encode()
        for sig in sigs.split(" "):
            version, _, value = sig.partition(",")
            if version == "v1" and hmac.compare_digest(value.encode(), expected):
                return msg_id
    raise WebhookError("no valid signature")


# ---------------------------------------------------------------------------------------------
# Errors and faults

class ApiError(Exception):
    def __init__(self, status, code, message, details=None):
        super().__init__(message)
        self.status, self.code, self.message, self.details = status, code, message, details

    def body(self):
        err = {"code": self.code, "message": self.message}
        if self.details is not None:
            err["details"] = self.details
        return {"error": err}


def bad_request(msg, details=None):
    return ApiError(400, "malformed_request", msg, details)


def not_found(msg):
    return ApiError(404, "not_found", msg)


def conflict(msg, details=None, code="conflict"):
    return ApiError(409, code, msg, details)


def unprocessable(msg, details=None, code="unprocessable"):
    return ApiError(422, code, msg, details)


PROXY_503_HTML = (b"<html>\r\n<head><title>503 Service Temporarily Unavailable</title></head>\r\n"
                  b"<body>\r\n<center><h1>503 Service Temporarily Unavailable</h1></center>\r\n"
                  b"<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n")


class Faults:
    """Injected latency, errors, downtime and malformed bodies; decisions from a seeded RNG."""
    FIELDS = ("latency_ms", "error_rate", "error_status", "down_until", "malformed_rate", "seed")

    def __init__(self, latency_ms=0, error_rate=0.0, error_status=503, down_until=0,
                 malformed_rate=0.0, seed=0):
        self._lock = threading.Lock()
        self.initial = dict(latency_ms=latency_ms, error_rate=error_rate, error_status=error_status,
                            down_until=down_until, malformed_rate=malformed_rate, seed=seed)
        self.configure(self.initial, replace=True)

    def configure(self, conf, replace=False):
        with self._lock:
            unknown = set(conf) - set(self.FIELDS)
            if unknown:
                raise bad_request("unknown fault fields: %s" % ", ".join(sorted(unknown)))
            base = dict(self.initial) if replace else self.snapshot_unlocked()
            base.update(conf)
            try:
                self.latency_ms = float(base["latency_ms"] or 0)
                self.error_rate = float(base["error_rate"] or 0)
                self.error_status = int(base["error_status"] or 503)
                self.down_until = float(base["down_until"] or 0)
                self.malformed_rate = float(base["malformed_rate"] or 0)
                seed = base["seed"]
            except (TypeError, ValueError):
                raise bad_request("fault fields must be numbers")
            if not (0 <= self.error_rate <= 1 and 0 <= self.malformed_rate <= 1):
                raise bad_request("error_rate and malformed_rate must be between 0 and 1")
            if not 100 <= self.error_status <= 599:
                raise bad_request("error_status must be an HTTP status")
            if replace or "seed" in conf:
                self.seed = seed
                self.rng = random.Random(seed)
            self.injected = {"errors": 0, "down": 0, "malformed": 0}
            return self.snapshot_unlocked()

    def snapshot_unlocked(self):
        return {"latency_ms": self.latency_ms, "error_rate": self.error_rate,
                "error_status": self.error_status, "down_until": self.down_until,
                "malformed_rate": self.malformed_rate, "seed": self.seed}

    def snapshot(self):
        with self._lock:
            s = self.snapshot_unlocked()
            s["injected"] = dict(self.injected)
            s["down_now"] = time.time() < self.down_until
            return s

    def before(self):
        """'down', ('error', status) or None; sleeps for the latency first."""
        if self.latency_ms > 0:
            time.sleep(self.latency_ms / 1000.0)
        with self._lock:
            if time.time() < self.down_until:
                self.injected["down"] += 1
                return "down"
            if self.error_rate > 0 and self.rng.random() < self.error_rate:
                self.injected["errors"] += 1
                return ("error", self.error_status)
        return None

    def malformed(self):
        with self._lock:
            if self.malformed_rate > 0 and self.rng.random() < self.malformed_rate:
                self.injected["malformed"] += 1
                return True
        return False


# ---------------------------------------------------------------------------------------------
# The application scaffold

class Request:
    def __init__(self, method, path, query, headers, body, params):
        self.method, self.path, self.query, self.headers = method, path, query, headers
        self.body, self.params = body, params
        self._json = None

    def json(self, required=True):
        """The body as a JSON object; 400 when it is not one."""
        if self._json is None:
            if not self.body.strip():
                if required:
                    raise bad_request("a JSON object body is required")
                self._json = {}
            else:
                try:
                    self._json = json.loads(self.body.decode("utf-8"))
                except (UnicodeDecodeError, ValueError) as e:
                    raise bad_request("the body is not valid JSON: %s" % e)
                if not isinstance(self._json, dict):
                    raise bad_request("the body must be a JSON object")
        return self._json

    def q(self, name, default=None):
        v = self.query.get(name)
        return v[-1] if v else default


class Response:
    def __init__(self, status, body, headers=None, raw=None, content_type="application/json"):
        self.status, self.body, self.headers = status, body, dict(headers or {})
        self.raw, self.content_type = raw, content_type

    def payload(self):
        if self.raw is not None:
            return self.raw
        return json.dumps(self.body, separators=(",", ":"), sort_keys=False).encode()


def route(method, pattern):
    """Decorator for App methods: `@route("GET", r"/v1/things/(?P<id>[^/]+)")`."""
    def deco(fn):
        fn._route = (method, re.compile("^" + pattern + "$"))
        return fn
    return deco


class App:
    """One simulator. Subclasses define routes with @route, and initial_state()/dump/load."""
    name = "sim"
    idempotent_methods = ()  # methods for which an Idempotency-Key header is honoured

    def __init__(self, args):
        self.args = args
        self.lock = threading.RLock()
        self.faults = Faults(args.latency_ms, args.error_rate, args.error_status, 0,
                             args.malformed_rate, args.seed)
        self.token = getattr(args, "token", None)
        self.state_file = getattr(args, "state", None)
        self.verbose = getattr(args, "verbose", False)
        self.routes = []
        for attr in dir(type(self)):
            fn = getattr(type(self), attr)
            if callable(fn) and hasattr(fn, "_route"):
                m, rx = fn._route
                self.routes.append((m, rx, getattr(self, attr)))
        self.idempotency = {}  # key -> {"fingerprint", "status", "body", "headers"}
        loaded = False
        if self.state_file and os.path.exists(self.state_file):
            with open(self.state_file, "r", encoding="utf-8") as f:
                saved = json.load(f)
            self.load_state(saved.get("data", {}))
            self.idempotency = saved.get("idempotency", {})
            loaded = True
        if not loaded:
            self.reset_state()
            self.save()

    # --- to override
    def reset_state(self):
        raise NotImplementedError

    def dump_state(self):
        raise NotImplementedError

    def load_state(self, data):
        raise NotImplementedError

    def background(self):
        """Started once the server listens (threads of the subclass)."""

    def shutdown(self):
        """Called on SIGINT/SIGTERM before exit."""

    # --- persistence
    def save(self):
        """Writes the state file (atomically) when --state is set. Call with the lock held."""
        if not self.state_file:
            return
        with self.lock:
            doc = {"simulator": self.name, "saved_at": iso(time.time()),
                   "data": self.dump_state(), "idempotency": self.idempotency}
            tmp = self.state_file + ".tmp"
            with open(tmp, "w", encoding="utf-8") as f:
                json.dump(doc, f, separators=(",", ":"))
            os.replace(tmp, self.state_file)

    # --- admin endpoints common to every simulator
    @route("GET", r"/__admin/state")
    def _admin_state(self, req):
        with self.lock:
            state = self.dump_state()
            state["idempotency_keys"] = len(self.idempotency)
        state["faults"] = self.faults.snapshot()
        return 200, state

    @route("POST", r"/__admin/reset")
    def _admin_reset(self, req):
        with self.lock:
            self.reset_state()
            self.idempotency = {}
            self.faults.configure({}, replace=True)
            self.save()
        return 200, {"status": "reset"}

    @route("GET", r"/__admin/faults")
    def _admin_faults_get(self, req):
        return 200, self.faults.snapshot()

    @route("POST", r"/__admin/faults")
    def _admin_faults(self, req):
        conf = req.json(required=False)
        if conf.get("reset"):
            conf = {k: v for k, v in conf.items() if k != "reset"}
            return 200, self.faults.configure(conf, replace=True)
        return 200, self.faults.configure(conf)

    @route("GET", r"/__admin/catalogue")
    def _admin_catalogue(self, req):
        return 200, catalogue()

    @route("GET", r"/healthz")
    def _healthz(self, req):
        return 200, {"status": "ok", "simulator": self.name}

    # --- dispatch
    def find_route(self, method, path):
        allowed = []
        for m, rx, fn in self.routes:
            match = rx.match(path)
            if match:
                if m == method:
                    return fn, {k: unquote(v) for k, v in match.groupdict().items()}
                allowed.append(m)
        if allowed:
            raise ApiError(405, "method_not_allowed", "%s is not allowed on %s (use %s)"
                           % (method, path, ", ".join(sorted(set(allowed)))))
        raise not_found("no such endpoint: %s %s" % (method, path))

    def handle(self, method, raw_path, headers, body):
        """-> Response. Never raises."""
        parts = urlsplit(raw_path)
        path = parts.path.rstrip("/") or "/"
        admin = path.startswith("/__admin") or path == "/healthz"
        if not admin:
            fault = self.faults.before()
            if fault == "down":
                return Response(503, None, raw=PROXY_503_HTML, content_type="text/html",
                                headers={"Retry-After": "5"})
            if fault:
                st = fault[1]
                return Response(st, ApiError(st, "injected_fault",
                                             "injected fault: the simulator answered %d" % st).body())
        try:
            if not admin and self.token:
                auth = headers.get("Authorization", "")
                if auth != "Bearer " + self.token:
                    raise ApiError(401, "unauthorized", "missing or wrong bearer token")
            fn, params = self.find_route(method, path)
            req = Request(method, path, parse_qs(parts.query, keep_blank_values=True),
                          headers, body, params)
            key = headers.get("Idempotency-Key")
            if key and not admin and method in self.idempotent_methods:
                resp = self._idempotent(key, req, fn)
            else:
                resp = self._call(fn, req)
        except ApiError as e:
            resp = Response(e.status, e.body())
        except Exception as e:  # a simulator bug: still answer JSON
            import traceback
            traceback.print_exc()
            resp = Response(500, ApiError(500, "internal", "simulator error: %r" % e).body())
        if not admin and 200 <= resp.status < 300 and self.faults.malformed():
            text = resp.payload()
            # The effect happened; only the answer is broken (truncated mid-document).
            resp = Response(resp.status, None, raw=text[: max(1, len(text) // 2)],
                            headers=resp.headers)
        return resp

    def _call(self, fn, req):
        try:
            out = fn(req)
        except ApiError as e:
            return Response(e.status, e.body())
        if isinstance(out, Response):
            return out
        status, body = out[0], out[1]
        hdrs = out[2] if len(out) > 2 else None
        return Response(status, body, hdrs)

    def _idempotent(self, key, req, fn):
        """Same key + same request: the first answer again, effect applied once. Same key with
        another request: 422. 5xx answers are not remembered (the caller may retry)."""
        try:
            canonical = json.dumps(json.loads(req.body.decode() or "null"), sort_keys=True)
        except ValueError:
            canonical = req.body.decode("utf-8", "replace")
        fp = hashlib.sha256(("%s %s\n%s" % (req.method, req.path, canonical)).encode()).hexdigest()
        with self.lock:
            seen = self.idempotency.get(key)
            if seen:
                if seen["fingerprint"] != fp:
                    return Response(422, ApiError(
                        422, "idempotency_key_reused",
                        "Idempotency-Key %r was already used with a different request "
                        "(first: %s)" % (key, seen["request"])).body())
                h = dict(seen.get("headers") or {})
                h["Idempotent-Replayed"] = "true"
                return Response(seen["status"], seen["body"], h)
            resp = self._call(fn, req)
            if resp.status < 500 and resp.raw is None:
                self.idempotency[key] = {"fingerprint": fp, "status": resp.status,
                                         "body": resp.body, "headers": resp.headers,
                                         "request": "%s %s" % (req.method, req.path),
                                         "at": iso(time.time())}
                self.save()
            return resp


def _make_handler(app):
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        server_version = "retailflow-%s/1" % app.name

        def _serve(self):
            length = self.headers.get("Content-Length")
            body = b""
            if length:
                try:
                    n = int(length)
                except ValueError:
                    n = -1
                if n < 0 or n > 4 * 1024 * 1024:
                    self._send(Response(413 if n > 0 else 400,
                                        ApiError(400, "malformed_request", "bad Content-Length").body()))
                    self.close_connection = True
                    return
                body = self.rfile.read(n)
            resp = app.handle(self.command, self.path, self.headers, body)
            try:
                self._send(resp)
            except (BrokenPipeError, ConnectionResetError):
                # The caller is gone (killed, or gave up) while its request was processed: the
                # effect and any stored answer stand; only this reply is lost.
                self.close_connection = True

        def _send(self, resp):
            data = resp.payload()
            self.send_response(resp.status)
            self.send_header("Content-Type", resp.content_type)
            self.send_header("Content-Length", str(len(data)))
            for k, v in resp.headers.items():
                self.send_header(k, v)
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(data)

        do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _serve

        def log_message(self, fmt, *a):
            if app.verbose:
                sys.stderr.write("%s %s\n" % (app.name, fmt % a))

    return Handler


def base_arg_parser(name, default_port, description):
    p = argparse.ArgumentParser(prog=name, description=description)
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=default_port, help="0 = any free port")
    p.add_argument("--state", help="JSON file: loaded at start if present, written on every change")
    p.add_argument("--seed", type=int, default=1, help="seed for generated data and faults")
    p.add_argument("--latency-ms", type=float, default=0)
    p.add_argument("--error-rate", type=float, default=0.0)
    p.add_argument("--error-status", type=int, default=503)
    p.add_argument("--malformed-rate", type=float, default=0.0)
    p.add_argument("--verbose", action="store_true", help="log every request to stderr")
    return p


def serve(app, host, port):
    """Listens, prints "LISTENING <port>" as the first stdout line, serves until SIGINT/SIGTERM."""
    server = ThreadingHTTPServer((host, port), _make_handler(app))
    server.daemon_threads = True
    print("LISTENING %d" % server.server_address[1], flush=True)
    app.background()

    def stop(signum, frame):
        threading.Thread(target=server.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    try:
        server.serve_forever(poll_interval=0.2)
    finally:
        app.shutdown()
        with app.lock:
            app.save()
        server.server_close()
