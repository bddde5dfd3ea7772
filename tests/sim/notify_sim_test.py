#!/usr/bin/env python3
"""Notification receiver through its real HTTP interface (examples/sim/notify_sim.py); the
test signs its requests with its own Standard Webhooks code."""

import base64
import hashlib
import hmac
import json
import os
import subprocess
import sys
import threading
import time
import unittest
import urllib.error
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from simproc import start_sim, stop  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SIM = os.path.join(ROOT, "examples", "sim", "notify_sim.py")
SECRET = "whsec_" + base64.b64encode(b"notify-test-key-0123456789abcdef").decode()
PROBLEM_IN_PROGRESS = "https://retailflow.example/problems/idempotency-request-outstanding"
PROBLEM_KEY_REUSED = "https://retailflow.example/problems/idempotency-key-reused"
OLD_SECRET = "whsec_" + base64.b64encode(b"notify-old-key-0123456789abcdef!").decode()


def start(*args):
    return start_sim("notify_sim.py", *args)


def sign(secret, wid, ts, body):
    key = base64.b64decode(secret[len("whsec_"):])
    mac = hmac.new(key, b"%s.%d.%s" % (wid.encode(), ts, body), hashlib.sha256).digest()
    return "v1," + base64.b64encode(mac).decode()


def post(base, body, wid="msg_1", secret=SECRET, ts=None, sig=None, headers=None):
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    ts = int(time.time()) if ts is None else ts
    h = {"webhook-id": wid, "webhook-timestamp": str(ts),
         "webhook-signature": sig or sign(secret, wid, ts, raw), "Content-Type": "application/json"}
    h.update(headers or {})
    rq = urllib.request.Request(base + "/v1/messages", data=raw, method="POST", headers=h)
    try:
        with urllib.request.urlopen(rq, timeout=10) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()


def get(base, path):
    with urllib.request.urlopen(base + path, timeout=10) as r:
        return json.loads(r.read())


def admin(base, path, body):
    rq = urllib.request.Request(base + path, data=json.dumps(body).encode(), method="POST")
    with urllib.request.urlopen(rq, timeout=10) as r:
        return json.loads(r.read())


def message(to="alice.martin1@example.com", template="return_refunded"):
    return {"type": "notification.requested", "timestamp": "2026-11-27T10:00:00Z",
            "data": {"to": to, "template": template,
                     "data": {"return_id": "RET-1", "amount": 59.97, "credit_note": "RINV/2026/00001"}}}


class NotifySimTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.proc, cls.base = start("--webhook-secret", SECRET, "--webhook-secret", OLD_SECRET, "--seed", "4")

    @classmethod
    def tearDownClass(cls):
        stop(cls.proc)

    def setUp(self):
        admin(self.base, "/__admin/reset", {})

    def test_stores_a_signed_message_once(self):
        st, body = post(self.base, message(), wid="msg_a")
        self.assertEqual(st, 200, body)
        mid = json.loads(body)["message_id"]
        st, again = post(self.base, message(), wid="msg_a")  # the sender retried
        self.assertEqual(st, 200)
        self.assertEqual(json.loads(again), {"message_id": mid, "duplicate": True})
        state = get(self.base, "/__admin/state")
        self.assertEqual(len(state["messages"]), 1)
        m = state["messages"][0]
        self.assertEqual((m["to"], m["template"], m["data"]["credit_note"]),
                         ("alice.martin1@example.com", "return_refunded", "RINV/2026/00001"))
        self.assertEqual(state["counters"]["duplicates"], 1)
        self.assertEqual(get(self.base, "/v1/messages/" + mid)["webhook_id"], "msg_a")
        self.assertEqual(len(get(self.base, "/v1/messages?template=return_refunded")["messages"]), 1)

    def test_signature_checks(self):
        raw = json.dumps(message()).encode()
        ts = int(time.time())
        # Wrong key, tampered body, stale or future timestamp, missing headers: 401, nothing stored.
        self.assertEqual(post(self.base, raw, "m1", secret="whsec_" + base64.b64encode(b"x" * 32).decode())[0], 401)
        self.assertEqual(post(self.base, raw.replace(b"alice", b"mallory"), "m2",
                              sig=sign(SECRET, "m2", ts, raw), ts=ts)[0], 401)
        self.assertEqual(post(self.base, raw, "m3", ts=ts - 301)[0], 401)
        self.assertEqual(post(self.base, raw, "m4", ts=ts + 400)[0], 401)
        st, body = post(self.base, raw, "m5", headers={"webhook-signature": ""})
        self.assertEqual(st, 401)
        self.assertEqual(json.loads(body)["error"]["code"], "bad_signature")
        self.assertEqual(get(self.base, "/__admin/state")["messages"], [])
        # Within tolerance, several signatures (key rotation), the old key: accepted.
        self.assertEqual(post(self.base, raw, "m6", ts=ts - 250)[0], 200)
        both = "v1,AAAA " + sign(SECRET, "m7", ts, raw)
        self.assertEqual(post(self.base, raw, "m7", ts=ts, sig=both)[0], 200)
        self.assertEqual(post(self.base, raw, "m8", secret=OLD_SECRET)[0], 200)
        self.assertEqual(len(get(self.base, "/__admin/state")["messages"]), 3)

    def test_body_errors(self):
        st, body = post(self.base, message(to=""), "b1")
        self.assertEqual((st, json.loads(body)["error"]["code"]), (422, "no_recipient"))
        self.assertEqual(post(self.base, b"{broken", "b2")[0], 400)
        self.assertEqual(post(self.base, {"type": "x"}, "b3")[0], 400)

    def test_faults(self):
        def pattern():
            admin(self.base, "/__admin/faults", {"error_rate": 0.4, "seed": 9})
            out = [post(self.base, message(), "f%d" % i)[0] for i in range(12)]
            admin(self.base, "/__admin/faults", {"error_rate": 0})
            admin(self.base, "/__admin/reset", {})
            return out
        a, b = pattern(), pattern()
        self.assertEqual(a, b)
        self.assertEqual(set(a), {200, 503})
        admin(self.base, "/__admin/faults", {"down_until": time.time() + 30})
        st, body = post(self.base, message(), "d1")
        self.assertEqual(st, 503)
        self.assertIn(b"<html>", body)
        admin(self.base, "/__admin/faults", {"down_until": 0, "malformed_rate": 1})
        st, body = post(self.base, message(), "d2")
        self.assertEqual(st, 200)
        self.assertRaises(ValueError, json.loads, body)
        # The message was taken; the sender's retry is acknowledged without a second copy.
        admin(self.base, "/__admin/faults", {"malformed_rate": 0})
        st, body = post(self.base, message(), "d2")
        self.assertTrue(json.loads(body)["duplicate"])
        self.assertEqual(len(get(self.base, "/__admin/state")["messages"]), 1)


def post_full(base, body, wid, ts=None):
    """post() with the answer's headers: (status, headers, raw body)."""
    raw = json.dumps(body).encode()
    ts = int(time.time()) if ts is None else ts
    h = {"webhook-id": wid, "webhook-timestamp": str(ts),
         "webhook-signature": sign(SECRET, wid, ts, raw), "Content-Type": "application/json"}
    rq = urllib.request.Request(base + "/v1/messages", data=raw, method="POST", headers=h)
    try:
        with urllib.request.urlopen(rq, timeout=30) as r:
            return r.status, dict(r.headers), r.read()
    except urllib.error.HTTPError as e:
        return e.code, dict(e.headers), e.read()


def wait_for(what, pred, timeout=10):
    deadline = time.time() + timeout
    while True:
        got = pred()
        if got:
            return got
        if time.time() > deadline:
            raise AssertionError("timed out waiting for " + what)
        time.sleep(0.01)


class NotifyInFlightTest(unittest.TestCase):
    """A webhook-id whose first delivery is still being processed (held on the gate), hit by real
    concurrent deliveries from threads; each attempt signed anew, as the connector does."""

    @classmethod
    def setUpClass(cls):
        cls.proc, cls.base = start("--webhook-secret", SECRET)

    @classmethod
    def tearDownClass(cls):
        stop(cls.proc)

    def setUp(self):
        admin(self.base, "/__admin/reset", {})

    def gate_state(self):
        return get(self.base, "/__admin/gate")

    def test_retry_while_the_first_is_held_gets_409_then_the_stored_answer(self):
        admin(self.base, "/__admin/gate", {"operation": "send", "closed": True})
        out = {}
        first = threading.Thread(target=lambda: out.update(r=post_full(self.base, message(), "w-1")))
        first.start()
        wait_for("the first delivery held", lambda: self.gate_state()["held_keys"].get("send") == ["w-1"])
        results = [None] * 6
        go = threading.Barrier(len(results))

        def retry(i):
            go.wait()
            # A later attempt: new timestamp in the envelope and in the signature.
            later = dict(message(), timestamp="2026-11-27T10:00:%02dZ" % (i + 1))
            results[i] = post_full(self.base, later, "w-1", ts=int(time.time()) + 1)
        threads = [threading.Thread(target=retry, args=(i,)) for i in range(len(results))]
        for t in threads:
            t.start()
        for t in threads:
            t.join(30)
        for st, hdrs, raw in results:
            self.assertEqual(st, 409, raw)
            self.assertTrue(hdrs["Content-Type"].startswith("application/problem+json"))
            p = json.loads(raw)
            self.assertEqual(p["type"], PROBLEM_IN_PROGRESS)
            self.assertEqual(p["title"], "A request is outstanding for this Idempotency-Key")
        self.assertEqual(self.gate_state()["in_progress_answers"], {"w-1": 6})
        self.assertEqual(get(self.base, "/__admin/state")["messages"], [])
        # Another message under the same id: 422, even while the first is in flight.
        st, _, raw = post_full(self.base, message(template="other"), "w-1")
        self.assertEqual((st, json.loads(raw)["type"]), (422, PROBLEM_KEY_REUSED))

        admin(self.base, "/__admin/gate", {"open_all": True})
        first.join(30)
        st, _, raw = out["r"]
        self.assertEqual(st, 200, raw)
        mid = json.loads(raw)["message_id"]
        st, hdrs, again = post_full(self.base, message(), "w-1")
        self.assertEqual((st, json.loads(again)), (200, {"message_id": mid, "duplicate": True}))
        self.assertEqual(hdrs["Idempotent-Replayed"], "true")
        state = get(self.base, "/__admin/state")
        self.assertEqual(len(state["messages"]), 1)
        self.assertEqual(state["counters"]["accepted"], 1)

    def test_simultaneous_deliveries_store_one_message(self):
        results = [None] * 10
        go = threading.Barrier(len(results))

        def send(i):
            go.wait()
            results[i] = post_full(self.base, message(), "race-1")
        threads = [threading.Thread(target=send, args=(i,)) for i in range(len(results))]
        for t in threads:
            t.start()
        for t in threads:
            t.join(30)
        self.assertTrue(all(st in (200, 409) for st, _, _ in results), results)
        ids = {json.loads(raw)["message_id"] for st, _, raw in results if st == 200}
        self.assertEqual(len(ids), 1)
        self.assertEqual(len(get(self.base, "/__admin/state")["messages"]), 1)

    def test_a_refused_body_is_replayed_and_a_bad_signature_claims_nothing(self):
        st, _, raw = post_full(self.base, message(to=""), "w-2")
        self.assertEqual((st, json.loads(raw)["error"]["code"]), (422, "no_recipient"))
        st, hdrs, raw = post_full(self.base, message(to=""), "w-2")
        self.assertEqual((st, hdrs.get("Idempotent-Replayed")), (422, "true"))
        raw = json.dumps(message()).encode()
        self.assertEqual(post(self.base, raw, "w-3", sig="v1,AAAA")[0], 401)
        self.assertEqual(self.gate_state()["claimed"], [])
        self.assertEqual(post(self.base, raw, "w-3")[0], 200)


class NotifyConfigTest(unittest.TestCase):
    def test_connector_config_secret_is_the_default(self):
        with open(os.path.join(ROOT, "examples", "sim", "connectors.notify.json")) as f:
            conf = json.load(f)["settings"]
        p, base = start()
        try:
            body = {"type": conf["event_type"], "timestamp": "2026-11-27T10:00:00Z",
                    "data": {"to": "stock-control", "template": "stock_exceptions", "data": {}}}
            self.assertEqual(post(base, body, "c1", secret=conf["secret"])[0], 200)
            url = conf["url"]["default"] if isinstance(conf["url"], dict) else conf["url"]
            self.assertTrue(url.endswith("/v1/messages"))
        finally:
            stop(p)


if __name__ == "__main__":
    unittest.main()
