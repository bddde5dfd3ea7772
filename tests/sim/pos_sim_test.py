#!/usr/bin/env python3
"""POS simulator through its real HTTP interface (examples/sim/pos_sim.py), with a webhook
receiver in the test that checks Standard Webhooks signatures with its own code."""

import base64
import hashlib
import hmac
import json
import os
import re
import subprocess
import sys
import threading
import time
import unittest
import urllib.error
import urllib.request
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from simproc import start_sim, stop  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SIM = os.path.join(ROOT, "examples", "sim", "pos_sim.py")
SECRET = "whsec_" + base64.b64encode(b"pos-sim-test-key-0123456789abcdef").decode()


def start(*args):
    return start_sim("pos_sim.py", *args)


def call(base, method, path, body=None, headers=None, raw=False):
    data = None if body is None else (body if isinstance(body, bytes) else json.dumps(body).encode())
    rq = urllib.request.Request(base + path, data=data, method=method, headers=dict(headers or {}))
    try:
        with urllib.request.urlopen(rq, timeout=10) as r:
            status, hdrs, text = r.status, dict(r.headers), r.read()
    except urllib.error.HTTPError as e:
        status, hdrs, text = e.code, dict(e.headers), e.read()
    return (status, hdrs, text) if raw else (status, json.loads(text))


def parse_time(text):
    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


class Receiver:
    """Records every delivery; fails the first `fail_first` requests with 500."""

    def __init__(self):
        self.lock = threading.Lock()
        self.got = []
        self.fail_first = 0
        rec = self

        class H(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                wid, ts, sig = (self.headers.get("webhook-id"), self.headers.get("webhook-timestamp"),
                                self.headers.get("webhook-signature"))
                key = base64.b64decode(SECRET[len("whsec_"):])
                mac = hmac.new(key, ("%s.%s." % (wid, ts)).encode() + body, hashlib.sha256).digest()
                expected = "v1," + base64.b64encode(mac).decode()
                valid = any(hmac.compare_digest(s, expected) for s in (sig or "").split(" "))
                with rec.lock:
                    rec.got.append({"id": wid, "ts": int(ts), "valid": valid, "body": body,
                                    "at": time.time(), "json": json.loads(body)})
                    fail = rec.fail_first > 0
                    rec.fail_first -= 1
                self.send_response(500 if fail else 204)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *a):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), H)
        self.url = "http://127.0.0.1:%d/v1/webhooks/pos" % self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def clear(self, fail_first=0):
        with self.lock:
            self.got, self.fail_first = [], fail_first

    def snapshot(self):
        with self.lock:
            return list(self.got)


class PosSimTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.rx = Receiver()
        cls.proc, cls.base = start("--seed", "5", "--webhook-url", cls.rx.url, "--webhook-secret", SECRET,
                                   "--retry-base-ms", "50", "--retry-max-ms", "200", "--max-attempts", "4")

    @classmethod
    def tearDownClass(cls):
        stop(cls.proc)
        cls.rx.server.shutdown()
        cls.rx.server.server_close()

    def setUp(self):
        call(self.base, "POST", "/__admin/reset")
        call(self.base, "POST", "/__admin/webhook", {"url": self.rx.url})
        self.rx.clear()

    def wait_settled(self, timeout=20):
        deadline = time.time() + timeout
        while time.time() < deadline:
            s = call(self.base, "GET", "/__admin/state")[1]["delivery_summary"]
            if s["pending"] == 0:
                return s
            time.sleep(0.1)
        self.fail("deliveries still pending: %s" % s)

    def test_get_sale_matches_the_catalog_outputs(self):
        with open(os.path.join(ROOT, "workflows", "connectors", "retail.json")) as f:
            cat = json.loads(re.sub(r"^\s*//.*$", "", f.read(), flags=re.M))
        outputs = next(c for c in cat["connectors"] if c["name"] == "pos")["operations"][0]["output"]
        st, sale = call(self.base, "GET", "/sales/SALE-000100")
        self.assertEqual(st, 200)
        types = {"text": str, "list": list, "record": dict}
        for o in outputs:
            self.assertIn(o["name"], sale)
            if o["type"] == "time":
                parse_time(sale[o["name"]])
            elif sale[o["name"]] is not None:
                self.assertIsInstance(sale[o["name"]], types[o["type"]], o["name"])
        self.assertEqual(set(sale["refundable"]), {ln["line_id"] for ln in sale["lines"]})
        t = sale["totals"]
        self.assertEqual(sum(ln["line_total"] for ln in sale["lines"]), t["total"])
        self.assertEqual(t["subtotal"] + t["tax"], t["total"])
        for ln in sale["lines"]:
            self.assertEqual(ln["line_total"], ln["unit_price"] * ln["qty"] - ln["discount"])
            self.assertIsInstance(ln["unit_price"], int)  # minor units
        st, body = call(self.base, "GET", "/sales/SALE-999999")
        self.assertEqual((st, body["error"]["code"]), (404, "not_found"))

    def test_seeded_sales_are_deterministic(self):
        p, base = start("--seed", "5")
        try:
            a = call(base, "GET", "/sales/SALE-000042")[1]
            b = call(self.base, "GET", "/sales/SALE-000042")[1]
            self.assertEqual((a["lines"], a["customer_ref"], a["store_id"]),
                             (b["lines"], b["customer_ref"], b["store_id"]))
            self.assertEqual(len(call(base, "GET", "/sales")[1]["sales"]), 300)
        finally:
            stop(p)

    def test_record_sale_and_refunds(self):
        st, sale = call(self.base, "POST", "/sales",
                        {"store_id": "LON-01", "customer_ref": "CUST-0007", "sale_id": "T-1",
                         "lines": [{"sku": "SKU-0001", "qty": 2}, {"sku": "SKU-0008", "qty": 1}]})
        self.assertEqual(st, 201, sale)
        self.assertEqual((sale["currency"], sale["refundable"]), ("GBP", {"L1": 2, "L2": 1}))
        self.assertEqual(call(self.base, "POST", "/sales", {"store_id": "LON-01", "sale_id": "T-1",
                                                            "lines": [{"sku": "SKU-0001"}]})[0], 409)
        self.assertEqual(call(self.base, "POST", "/sales", {"store_id": "LON-01",
                                                            "lines": [{"sku": "NOPE"}]})[0], 422)
        self.assertEqual(call(self.base, "POST", "/sales", b"[1,2")[0], 400)
        st, after = call(self.base, "POST", "/sales/T-1/refunds", {"lines": [{"original_line_id": "L1", "qty": 1}]})
        self.assertEqual((st, after["refundable"]), (200, {"L1": 1, "L2": 1}))
        st, body = call(self.base, "POST", "/sales/T-1/refunds", {"lines": [{"original_line_id": "L1", "qty": 2}]})
        self.assertEqual((st, body["error"]["code"]), (422, "exceeds_refundable"))

    def test_emitted_return_is_signed_duplicated_and_carries_the_workflow_input(self):
        st, out = call(self.base, "POST", "/__admin/emit",
                       {"type": "return.initiated", "sale_id": "SALE-000290", "duplicate": True,
                        "reason": "damaged"})
        self.assertEqual(st, 202, out)
        self.wait_settled()
        got = self.rx.snapshot()
        self.assertEqual(len(got), 2)
        self.assertTrue(all(g["valid"] for g in got))
        self.assertEqual({g["id"] for g in got}, {out["webhook_id"]})
        self.assertEqual(got[0]["body"], got[1]["body"])
        ev = got[0]["json"]
        self.assertEqual(ev["type"], "return.initiated")
        parse_time(ev["timestamp"])
        data = ev["data"]
        for field in ("return_id", "original_sale_id", "store_id", "reason", "lines",
                      "restock_location_id", "refund_amount", "currency", "damaged",
                      "event_id", "occurred_at", "source_system", "register_id", "receipt_no",
                      "sale_id", "totals", "refund_tenders"):
            self.assertIn(field, data)
        self.assertEqual(data["original_sale_id"], "SALE-000290")
        self.assertTrue(data["damaged"])
        self.assertTrue(all(ln["restock"] is False for ln in data["lines"]))
        for ln in data["lines"]:
            for f in ("line_id", "original_line_id", "sku", "qty", "unit_price", "tax", "line_total"):
                self.assertIn(f, ln)
        self.assertAlmostEqual(data["refund_amount"], data["totals"]["total"] / 100)
        self.assertEqual(sum(t["amount"] for t in data["refund_tenders"]), data["totals"]["total"])

    def test_sender_retries_with_backoff(self):
        self.rx.clear(fail_first=2)
        st, out = call(self.base, "POST", "/__admin/emit", {"type": "sale.completed", "sale_id": "SALE-000001"})
        s = self.wait_settled()
        self.assertEqual(s["acknowledged"], 1)
        d = call(self.base, "GET", "/__admin/state")[1]["deliveries"][out["delivery_ids"][0]]
        self.assertEqual([a["status"] for a in d["attempts"]], [500, 500, 204])
        self.assertEqual(d["status"], "acknowledged")
        self.assertEqual(len({g["id"] for g in self.rx.snapshot()}), 1)
        # Never 2xx: the delivery is given up after --max-attempts.
        self.rx.clear(fail_first=100)
        call(self.base, "POST", "/__admin/emit", {"type": "sale.completed", "sale_id": "SALE-000002"})
        s = self.wait_settled()
        self.assertEqual(s["failed"], 1)
        self.assertEqual(len(self.rx.snapshot()), 4)

    def test_generated_scenario(self):
        st, summary = call(self.base, "POST", "/__admin/generate",
                           {"returns": 60, "sales": 5, "duplicate_rate": 0.2, "late_rate": 0.2,
                            "exceed_rate": 0.15, "outside_window_rate": 0.15, "high_value_rate": 0.15,
                            "seed": 1, "late_delay_ms": 300, "late_by_s": 1800})
        self.assertEqual(st, 202, summary)
        self.assertEqual(len(summary["returns"]), 60)
        for kind in ("already_refunded", "outside_return_window", "manager_approval", "quarantine", "restock"):
            self.assertGreater(summary["expected"].get(kind, 0), 0, kind)
        s = self.wait_settled()
        got = self.rx.snapshot()
        self.assertTrue(all(g["valid"] for g in got))
        self.assertEqual(len(got), 65 + summary["duplicates"])
        self.assertEqual(s["acknowledged"], len(got))
        ids = [g["id"] for g in got]
        self.assertEqual(len(ids) - len(set(ids)), summary["duplicates"])
        # Late: the event is older than the signature, and it arrives after newer events.
        late = [g for g in got if g["ts"] - parse_time(g["json"]["timestamp"]) > 50]
        self.assertEqual(len({g["id"] for g in late}), summary["late"])
        first_late = min(late, key=lambda g: g["at"])
        self.assertTrue(any(g["at"] < first_late["at"] and
                            parse_time(g["json"]["timestamp"]) > parse_time(first_late["json"]["timestamp"])
                            for g in got))
        # Each return is what it claims to be, checked against the POS's own answer.
        state = call(self.base, "GET", "/__admin/state")[1]
        for rid in summary["returns"]:
            ret = state["returns"][rid]
            sale = call(self.base, "GET", "/sales/" + ret["original_sale_id"])[1]
            age = parse_time(ret["occurred_at"]) - parse_time(sale["occurred_at"])
            over = any(ln["qty"] > sale["refundable"][ln["original_line_id"]] for ln in ret["lines"])
            exp = ret["expected"]
            self.assertGreater(age, 0)
            self.assertEqual(exp == "outside_return_window", age > 30 * 86400, rid)
            if exp != "outside_return_window":
                self.assertEqual(exp == "already_refunded", over, rid)
            if exp == "manager_approval":
                self.assertGreater(ret["refund_amount"], 500)
            if exp in ("restock", "quarantine"):
                self.assertLessEqual(ret["refund_amount"], 500)
                self.assertEqual(ret["damaged"], exp == "quarantine")
                self.assertIn(ret["reason"], ("damaged", "faulty") if ret["damaged"] else ("wrong size", "changed mind"))

    def test_faults(self):
        call(self.base, "POST", "/__admin/faults", {"error_rate": 1.0, "error_status": 500})
        st, body = call(self.base, "GET", "/sales/SALE-000001")
        self.assertEqual((st, body["error"]["code"]), (500, "injected_fault"))
        call(self.base, "POST", "/__admin/faults", {"error_rate": 0, "down_until": time.time() + 30})
        st, h, raw = call(self.base, "GET", "/sales/SALE-000001", raw=True)
        self.assertEqual(st, 503)
        self.assertIn(b"<html>", raw)
        call(self.base, "POST", "/__admin/faults", {"down_until": 0, "malformed_rate": 1})
        st, h, raw = call(self.base, "GET", "/sales/SALE-000001", raw=True)
        self.assertEqual(st, 200)
        self.assertRaises(ValueError, json.loads, raw)


if __name__ == "__main__":
    unittest.main()
