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
import time
import unittest
import urllib.error
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from simproc import start_sim, stop  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SIM = os.path.join(ROOT, "examples", "sim", "notify_sim.py")
SECRET = "whsec_" + base64.b64encode(b"notify-test-key-0123456789abcdef").decode()
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
