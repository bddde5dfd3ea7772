#!/usr/bin/env python3
"""Inventory platform simulator through its real HTTP interface (examples/sim/inventory_sim.py)."""

import json
import os
import re
import subprocess
import sys
import tempfile
import threading
import time
import unittest
import urllib.error
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from simproc import start_sim, stop  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SIM = os.path.join(ROOT, "examples", "sim", "inventory_sim.py")
# The problem types of examples/sim/inflight.py (spelled out: the test checks the wire format).
PROBLEM_IN_PROGRESS = "https://retailflow.example/problems/idempotency-request-outstanding"
PROBLEM_KEY_REUSED = "https://retailflow.example/problems/idempotency-key-reused"


def start(*args):
    return start_sim("inventory_sim.py", *args)


def call(base, method, path, body=None, headers=None, raw=False):
    data = None if body is None else (body if isinstance(body, bytes) else json.dumps(body).encode())
    rq = urllib.request.Request(base + path, data=data, method=method, headers=dict(headers or {}))
    if data is not None:
        rq.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(rq, timeout=10) as r:
            status, hdrs, text = r.status, dict(r.headers), r.read()
    except urllib.error.HTTPError as e:
        status, hdrs, text = e.code, dict(e.headers), e.read()
    if raw:
        return status, hdrs, text
    return status, json.loads(text)


class InventorySimTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.proc, cls.base = start("--seed", "3")

    @classmethod
    def tearDownClass(cls):
        stop(cls.proc)

    def setUp(self):
        self.assertEqual(call(self.base, "POST", "/__admin/reset")[0], 200)

    def avail(self, loc, sku):
        st, body = call(self.base, "GET", "/v1/locations/%s/availability?skus=%s" % (loc, sku))
        self.assertEqual(st, 200, body)
        return body["items"][0]

    def test_availability_per_location(self):
        st, body = call(self.base, "GET", "/v1/locations/PAR-01/availability?skus=SKU-0001,SKU-0002")
        self.assertEqual(st, 200)
        self.assertEqual(body["location"], "PAR-01")
        self.assertEqual([i["sku"] for i in body["items"]], ["SKU-0001", "SKU-0002"])
        for i in body["items"]:
            self.assertEqual(i["available"], i["on_hand"] - i["reserved"])
        st, whole = call(self.base, "GET", "/v1/locations/WH-01/availability")
        self.assertEqual(len(whole["items"]), 200)
        # The connector may render a list as a JSON array or as repeated parameters.
        st, arr = call(self.base, "GET", "/v1/locations/PAR-01/availability?skus=%5B%22SKU-0002%22%5D")
        self.assertEqual([i["sku"] for i in arr["items"]], ["SKU-0002"])
        st, body = call(self.base, "GET", "/v1/locations/XXX-01/availability")
        self.assertEqual((st, body["error"]["code"]), (404, "not_found"))
        st, body = call(self.base, "GET", "/v1/locations/PAR-01/availability?skus=SKU-9999")
        self.assertEqual(st, 404)

    def reserve(self, qty, sku="SKU-0001", loc="WH-01", key=None, hold_for="1w1d", ref="CC-0001"):
        h = {"Idempotency-Key": key} if key else {}
        return call(self.base, "POST", "/v1/reservations",
                    {"location": loc, "lines": [{"sku": sku, "qty": qty}], "reference": ref,
                     "hold_for": hold_for}, h)

    def test_idempotency_key_applies_once(self):
        before = self.avail("WH-01", "SKU-0001")
        st1, r1 = self.reserve(2, key="order-CC-0001-reserve")
        self.assertEqual(st1, 201, r1)
        self.assertEqual(r1["status"], "active")
        st2, h2, raw2 = call(self.base, "POST", "/v1/reservations",
                             {"location": "WH-01", "lines": [{"sku": "SKU-0001", "qty": 2}],
                              "reference": "CC-0001", "hold_for": "1w1d"},
                             {"Idempotency-Key": "order-CC-0001-reserve"}, raw=True)
        self.assertEqual(st2, 201)
        self.assertEqual(json.loads(raw2), r1)
        self.assertEqual(h2.get("Idempotent-Replayed"), "true")
        self.assertEqual(self.avail("WH-01", "SKU-0001")["reserved"], before["reserved"] + 2)
        st3, body = self.reserve(3, key="order-CC-0001-reserve")
        self.assertEqual((st3, body["code"]), (422, "idempotency_key_reused"))
        self.assertEqual(body["type"], PROBLEM_KEY_REUSED)
        self.assertEqual(self.avail("WH-01", "SKU-0001")["reserved"], before["reserved"] + 2)
        # Adjustments honour keys too.
        adj = {"location": "PAR-01", "lines": [{"sku": "SKU-0003", "qty": 1}], "direction": "in",
               "reason": "return RET-1"}
        a1 = call(self.base, "POST", "/v1/adjustments", adj, {"Idempotency-Key": "ret-1-restock"})
        a2 = call(self.base, "POST", "/v1/adjustments", adj, {"Idempotency-Key": "ret-1-restock"})
        self.assertEqual(a1, a2)
        self.assertEqual(len(call(self.base, "GET", "/v1/adjustments")[1]["adjustments"]), 1)

    def test_durations_and_expiry_free_stock(self):
        st, r = self.reserve(1, hold_for="3d")
        self.assertEqual(r["hold_seconds"], 3 * 86400)
        st, r = self.reserve(1, hold_for="PT1H")
        self.assertEqual(r["hold_seconds"], 3600)
        st, r = self.reserve(1, hold_for="7 days")
        self.assertEqual(r["hold_seconds"], 7 * 86400)
        st, body = self.reserve(1, hold_for="1.5h")
        self.assertEqual(st, 400)
        before = self.avail("PAR-01", "SKU-0001")
        st, r = self.reserve(before["available"], loc="PAR-01", hold_for=0.4)
        self.assertEqual(st, 201, r)
        self.assertEqual(self.avail("PAR-01", "SKU-0001")["available"], 0)
        time.sleep(0.8)
        st, again = call(self.base, "GET", "/v1/reservations/" + r["reservation_id"])
        self.assertEqual(again["status"], "expired")
        self.assertEqual(self.avail("PAR-01", "SKU-0001")["available"], before["available"])
        # Consuming an expired hold is a conflict; releasing it is harmless (an undo after expiry).
        st, body = call(self.base, "POST", "/v1/reservations/%s/consume" % r["reservation_id"], {})
        self.assertEqual(st, 409)
        st, body = call(self.base, "POST", "/v1/reservations/%s/release" % r["reservation_id"], {})
        self.assertEqual((st, body["status"]), (200, "expired"))

    def test_conflict_and_errors(self):
        a = self.avail("PAR-01", "SKU-0001")
        st, body = self.reserve(a["available"] + 1, loc="PAR-01")
        self.assertEqual(st, 409)
        self.assertEqual(body["error"]["code"], "insufficient_stock")
        self.assertIn("SKU-0001 requested %d, available %d" % (a["available"] + 1, a["available"]),
                      body["error"]["message"])
        self.assertEqual(self.avail("PAR-01", "SKU-0001"), a)
        self.assertEqual(call(self.base, "POST", "/v1/reservations/RSV-404/release", {})[0], 404)
        self.assertEqual(call(self.base, "POST", "/v1/reservations/RSV-404/consume", {})[0], 404)
        self.assertEqual(call(self.base, "POST", "/v1/reservations", b"{not json")[0], 400)
        self.assertEqual(call(self.base, "POST", "/v1/reservations", {"location": "WH-01"})[0], 400)
        st, body = self.reserve(1, sku="SKU-9999")
        self.assertEqual((st, body["error"]["code"]), (422, "unknown_sku"))
        st, body = self.reserve(0)
        self.assertEqual(st, 422)

    def test_release_and_consume(self):
        before = self.avail("WH-01", "SKU-0002")
        st, r = self.reserve(2, sku="SKU-0002")
        rid = r["reservation_id"]
        self.assertEqual(call(self.base, "POST", "/v1/reservations/%s/release" % rid, {}),
                         (200, {"reservation_id": rid, "status": "released"}))
        self.assertEqual(call(self.base, "POST", "/v1/reservations/%s/release" % rid, {})[0], 200)
        self.assertEqual(self.avail("WH-01", "SKU-0002"), before)
        self.assertEqual(call(self.base, "POST", "/v1/reservations/%s/consume" % rid, {})[0], 409)
        st, r = self.reserve(2, sku="SKU-0002")
        st, body = call(self.base, "POST", "/v1/reservations/%s/consume" % r["reservation_id"], {})
        self.assertEqual((st, body["status"]), (200, "consumed"))
        after = self.avail("WH-01", "SKU-0002")
        self.assertEqual((after["on_hand"], after["reserved"]), (before["on_hand"] - 2, before["reserved"]))

    def test_adjustments_sellable_and_quarantine(self):
        before = self.avail("LON-01", "SKU-0005")
        adj = {"location": "LON-01", "lines": [{"sku": "SKU-0005", "qty": 2}], "direction": "in",
               "reason": "damaged return RET-7", "stock_status": "quarantine"}
        st, a = call(self.base, "POST", "/v1/adjustments", adj)
        self.assertEqual(st, 201)
        self.assertTrue(a["adjustment_id"].startswith("ADJ-"))
        now = self.avail("LON-01", "SKU-0005")
        self.assertEqual((now["quarantine"], now["on_hand"]), (before["quarantine"] + 2, before["on_hand"]))
        adj.update(direction="out", qty=None, lines=[{"sku": "SKU-0005", "qty": 3}])
        self.assertEqual(call(self.base, "POST", "/v1/adjustments", adj)[0], 409)
        adj["direction"] = "sideways"
        self.assertEqual(call(self.base, "POST", "/v1/adjustments", adj)[0], 400)
        out = {"location": "LON-01", "lines": [{"sku": "SKU-0005", "qty": before["available"] + 1}],
               "direction": "out", "reason": "count"}
        self.assertEqual(call(self.base, "POST", "/v1/adjustments", out)[0], 409)

    def test_transfer_with_discrepancy_and_cancel(self):
        src0 = self.avail("WH-01", "SKU-0010")
        dst0 = self.avail("PAR-01", "SKU-0010")
        st, r = call(self.base, "POST", "/v1/reservations",
                     {"location": "WH-01", "lines": [{"sku": "SKU-0010", "qty": 5}],
                      "reference": "TR-1", "hold_for": "3d"})
        st, t = call(self.base, "POST", "/v1/transfers",
                     {"reservation_id": r["reservation_id"], "to_location": "PAR-01"})
        self.assertEqual((st, t["status"]), (201, "in_transit"))
        self.assertEqual(self.avail("transit", "SKU-0010")["on_hand"], 5)
        self.assertEqual(self.avail("WH-01", "SKU-0010")["on_hand"], src0["on_hand"] - 5)
        # Shipping the same reservation again is a conflict.
        self.assertEqual(call(self.base, "POST", "/v1/transfers",
                              {"reservation_id": r["reservation_id"], "to_location": "PAR-01"})[0], 409)
        st, got = call(self.base, "POST", "/v1/transfers/%s/receive" % t["transfer_id"],
                       {"lines": [{"sku": "SKU-0010", "qty": 4}]})
        self.assertEqual((st, got["status"]), (200, "received"))
        self.assertEqual(got["discrepancies"],
                         [{"sku": "SKU-0010", "shipped": 5, "received": 4, "difference": -1}])
        self.assertEqual(got["missing_lines"], [{"sku": "SKU-0010", "qty": 1}])
        self.assertEqual(self.avail("PAR-01", "SKU-0010")["on_hand"], dst0["on_hand"] + 4)
        self.assertEqual(self.avail("transit", "SKU-0010")["on_hand"], 1)
        # The workflow writes the shortfall off the transit location.
        st, _ = call(self.base, "POST", "/v1/adjustments",
                     {"location": "transit", "lines": got["missing_lines"], "direction": "out",
                      "reason": "shortfall on transfer TR-1"})
        self.assertEqual(st, 201)
        self.assertEqual(self.avail("transit", "SKU-0010")["on_hand"], 0)
        self.assertEqual(call(self.base, "POST", "/v1/transfers/%s/cancel" % t["transfer_id"], {})[0], 409)
        self.assertEqual(call(self.base, "POST", "/v1/transfers/TRF-404/receive", {})[0], 404)
        # Cancel: the stock goes back to the source.
        st, r = call(self.base, "POST", "/v1/reservations",
                     {"location": "WH-01", "lines": [{"sku": "SKU-0010", "qty": 2}], "reference": "TR-2"})
        st, t = call(self.base, "POST", "/v1/transfers",
                     {"reservation_id": r["reservation_id"], "to_location": "LON-01"})
        st, c = call(self.base, "POST", "/v1/transfers/%s/cancel" % t["transfer_id"], {})
        self.assertEqual((st, c["status"]), (200, "cancelled"))
        self.assertEqual(self.avail("WH-01", "SKU-0010")["on_hand"], src0["on_hand"] - 5)
        self.assertEqual(self.avail("transit", "SKU-0010")["on_hand"], 0)

    def test_faults_error_rate_is_seeded(self):
        def pattern():
            call(self.base, "POST", "/__admin/faults", {"error_rate": 0.5, "error_status": 502, "seed": 11})
            out = [call(self.base, "GET", "/v1/locations/PAR-01/availability?skus=SKU-0001")[0]
                   for _ in range(16)]
            call(self.base, "POST", "/__admin/faults", {"error_rate": 0})
            return out
        first, second = pattern(), pattern()
        self.assertEqual(first, second)
        self.assertEqual(set(first), {200, 502})

    def test_faults_downtime_and_malformed(self):
        call(self.base, "POST", "/__admin/faults", {"down_until": time.time() + 0.6})
        st, h, raw = call(self.base, "GET", "/v1/locations", raw=True)
        self.assertEqual(st, 503)
        self.assertTrue(h["Content-Type"].startswith("text/html"))
        self.assertIn(b"503 Service Temporarily Unavailable", raw)
        self.assertEqual(call(self.base, "GET", "/__admin/state")[0], 200)  # admin never faulted
        time.sleep(0.7)
        self.assertEqual(call(self.base, "GET", "/v1/locations")[0], 200)
        # A malformed answer after the effect: the retry with the same key gets the real answer.
        call(self.base, "POST", "/__admin/faults", {"malformed_rate": 1.0})
        body = {"location": "WH-01", "lines": [{"sku": "SKU-0020", "qty": 1}], "reference": "M"}
        st, h, raw = call(self.base, "POST", "/v1/reservations", body, {"Idempotency-Key": "m-1"}, raw=True)
        self.assertEqual(st, 201)
        self.assertRaises(ValueError, json.loads, raw)
        call(self.base, "POST", "/__admin/faults", {"malformed_rate": 0})
        st, r = call(self.base, "POST", "/v1/reservations", body, {"Idempotency-Key": "m-1"})
        self.assertEqual((st, r["reservation_id"]), (201, "RSV-000001"))
        self.assertEqual(len(call(self.base, "GET", "/__admin/state")[1]["reservations"]), 1)


def wait_for(what, pred, timeout=10):
    """Polls `pred` until it returns a true value (returned); fails after `timeout` seconds."""
    deadline = time.time() + timeout
    while True:
        got = pred()
        if got:
            return got
        if time.time() > deadline:
            raise AssertionError("timed out waiting for " + what)
        time.sleep(0.01)


class InFlightTest(unittest.TestCase):
    """An Idempotency-Key whose first request is still being processed (held on the gate), hit by
    real concurrent requests from threads."""

    @classmethod
    def setUpClass(cls):
        cls.proc, cls.base = start("--seed", "3")

    @classmethod
    def tearDownClass(cls):
        stop(cls.proc)

    def setUp(self):
        self.assertEqual(call(self.base, "POST", "/__admin/reset")[0], 200)

    def gate(self, **body):
        st, state = call(self.base, "POST", "/__admin/gate", body)
        self.assertEqual(st, 200, state)
        return state

    def gate_state(self):
        return call(self.base, "GET", "/__admin/gate")[1]

    def reserved(self, sku, loc="WH-01"):
        st, body = call(self.base, "GET", "/v1/locations/%s/availability?skus=%s" % (loc, sku))
        return body["items"][0]["reserved"]

    def reserve_body(self, qty=2, sku="SKU-0030"):
        return {"location": "WH-01", "lines": [{"sku": sku, "qty": qty}], "reference": "CC-7",
                "hold_for": "1d"}

    def in_background(self, *args, **kw):
        out = {}
        t = threading.Thread(target=lambda: out.update(r=call(self.base, *args, **kw)))
        t.start()
        return t, out

    def test_second_request_while_the_first_is_held_gets_409_then_the_stored_answer(self):
        before = self.reserved("SKU-0030")
        self.gate(operation="reserve", closed=True)
        key = {"Idempotency-Key": "cc-7-reserve"}
        first, first_out = self.in_background("POST", "/v1/reservations", self.reserve_body(), key,
                                              raw=True)
        wait_for("the first request held",
                 lambda: self.gate_state()["held_keys"].get("reserve") == ["cc-7-reserve"])
        # Eight retries at once while the first is in flight: every one 409, nothing done.
        results = [None] * 8
        go = threading.Barrier(len(results))

        def retry(i):
            go.wait()
            results[i] = call(self.base, "POST", "/v1/reservations", self.reserve_body(), key,
                              raw=True)
        threads = [threading.Thread(target=retry, args=(i,)) for i in range(len(results))]
        for t in threads:
            t.start()
        for t in threads:
            t.join(30)
        for st, hdrs, raw in results:
            self.assertEqual(st, 409, raw)
            self.assertTrue(hdrs["Content-Type"].startswith("application/problem+json"), hdrs)
            p = json.loads(raw)
            self.assertEqual((p["type"], p["status"], p["code"]),
                             (PROBLEM_IN_PROGRESS, 409, "idempotency_request_outstanding"))
            self.assertEqual(p["title"], "A request is outstanding for this Idempotency-Key")
        state = self.gate_state()
        self.assertEqual(state["in_progress_answers"], {"cc-7-reserve": 8})
        self.assertEqual(state["claimed"], ["cc-7-reserve"])
        self.assertEqual(self.reserved("SKU-0030"), before)
        # The same key with another payload is refused even while in progress.
        st, body = call(self.base, "POST", "/v1/reservations", self.reserve_body(qty=3), key)
        self.assertEqual((st, body["type"]), (422, PROBLEM_KEY_REUSED))

        self.gate(operation="reserve", closed=False)
        first.join(30)
        st, hdrs, raw = first_out["r"]
        self.assertEqual(st, 201, raw)
        self.assertNotIn("Idempotent-Replayed", hdrs)
        # After completion: the stored answer, status and body, and still one effect.
        st, hdrs, again = call(self.base, "POST", "/v1/reservations", self.reserve_body(), key,
                               raw=True)
        self.assertEqual((st, json.loads(again)), (201, json.loads(raw)))
        self.assertEqual(hdrs["Idempotent-Replayed"], "true")
        self.assertEqual(self.reserved("SKU-0030"), before + 2)
        self.assertEqual(len(call(self.base, "GET", "/v1/reservations?reference=CC-7")[1]
                             ["reservations"]), 1)
        self.assertEqual(self.gate_state()["claimed"], [])

    def test_simultaneous_first_requests_apply_once(self):
        before = self.reserved("SKU-0031")
        results = [None] * 12
        go = threading.Barrier(len(results))

        def send(i):
            go.wait()
            results[i] = call(self.base, "POST", "/v1/reservations",
                              self.reserve_body(sku="SKU-0031"), {"Idempotency-Key": "race-1"})
        threads = [threading.Thread(target=send, args=(i,)) for i in range(len(results))]
        for t in threads:
            t.start()
        for t in threads:
            t.join(30)
        oks = [body for st, body in results if st == 201]
        self.assertTrue(oks)
        self.assertTrue(all(st in (201, 409) for st, _ in results), results)
        self.assertEqual(len({b["reservation_id"] for b in oks}), 1)
        self.assertEqual(self.reserved("SKU-0031"), before + 2)

    def test_a_stored_error_is_replayed_and_a_quoted_key_is_the_same_key(self):
        body = {"location": "WH-01", "lines": [{"sku": "SKU-0032", "qty": 100000}],
                "reference": "BIG"}
        st1, e1 = call(self.base, "POST", "/v1/reservations", body, {"Idempotency-Key": "big-1"})
        self.assertEqual((st1, e1["error"]["code"]), (409, "insufficient_stock"))
        # RFC 8941 sf-string form, as the draft writes the header: the same key.
        st2, hdrs, e2 = call(self.base, "POST", "/v1/reservations", body,
                             {"Idempotency-Key": '"big-1"'}, raw=True)
        self.assertEqual((st2, json.loads(e2)), (409, e1))
        self.assertEqual(hdrs["Idempotent-Replayed"], "true")
        for bad in ('"unterminated', "has space", "x" * 256):
            st, p = call(self.base, "POST", "/v1/reservations", body, {"Idempotency-Key": bad})
            self.assertEqual((st, p["code"]), (400, "idempotency_key_invalid"), bad)

    def test_gate_holds_requests_without_a_key_and_validates_its_input(self):
        before = self.reserved("SKU-0033")
        self.gate(operation="reserve", closed=True)
        t, out = self.in_background("POST", "/v1/reservations", self.reserve_body(sku="SKU-0033"))
        wait_for("held", lambda: self.gate_state()["held"].get("reserve") == 1)
        self.assertEqual(self.reserved("SKU-0033"), before)  # received, not executed
        self.assertEqual(self.gate_state()["closed"], ["reserve"])
        self.gate(open_all=True)
        t.join(30)
        self.assertEqual(out["r"][0], 201)
        self.assertEqual(self.reserved("SKU-0033"), before + 2)
        self.assertEqual(self.gate_state()["passed"]["reserve"], 1)
        st, body = call(self.base, "POST", "/__admin/gate", {"operation": "nosuch", "closed": True})
        self.assertEqual(st, 400)
        self.assertIn("ship_transfer", body["error"]["message"])
        self.assertEqual(call(self.base, "POST", "/__admin/gate", {"operation": "reserve"})[0], 400)

    def test_reset_opens_the_gate(self):
        self.gate(operation="adjust", closed=True)
        adj = {"location": "PAR-01", "lines": [{"sku": "SKU-0034", "qty": 1}], "direction": "in",
               "reason": "r"}
        t, out = self.in_background("POST", "/v1/adjustments", adj, {"Idempotency-Key": "a-1"})
        wait_for("held", lambda: self.gate_state()["held"].get("adjust") == 1)
        call(self.base, "POST", "/__admin/reset")
        t.join(30)
        self.assertEqual(out["r"][0], 201)
        self.assertEqual(self.gate_state()["closed"], [])

    def test_cancelled_transfer_leaves_a_reservation_that_releases_harmlessly(self):
        st, r = call(self.base, "POST", "/v1/reservations", self.reserve_body(sku="SKU-0035"))
        before = self.reserved("SKU-0035")
        st, t = call(self.base, "POST", "/v1/transfers",
                     {"reservation_id": r["reservation_id"], "to_location": "PAR-01"})
        self.assertEqual(st, 201)
        st, c = call(self.base, "POST", "/v1/transfers/%s/cancel" % t["transfer_id"], {})
        self.assertEqual((st, c["status"]), (200, "cancelled"))
        st, got = call(self.base, "GET", "/v1/reservations/" + r["reservation_id"])
        self.assertEqual(got["status"], "returned")
        st, rel = call(self.base, "POST", "/v1/reservations/%s/release" % r["reservation_id"], {})
        self.assertEqual((st, rel["status"]), (200, "returned"))
        self.assertEqual(self.reserved("SKU-0035"), before - 2)  # shipping freed the hold once


class InventorySimProcessTest(unittest.TestCase):
    def test_state_file_survives_restart_and_token(self):
        with tempfile.TemporaryDirectory() as d:
            path = os.path.join(d, "inv.json")
            p, base = start("--state", path, "--token", "t0k")
            try:
                self.assertEqual(call(base, "GET", "/v1/locations")[0], 401)
                auth = {"Authorization": "Bearer t0k"}
                st, r = call(base, "POST", "/v1/reservations",
                             {"location": "NYC-01", "lines": [{"sku": "SKU-0001", "qty": 1}],
                              "reference": "X", "hold_for": "1d"}, dict(auth, **{"Idempotency-Key": "k"}))
                self.assertEqual(st, 201, r)
            finally:
                stop(p)
            p, base = start("--state", path, "--token", "t0k")
            try:
                st, again = call(base, "GET", "/v1/reservations/" + r["reservation_id"], headers=auth)
                self.assertEqual((st, again["status"]), (200, "active"))
                st, replay = call(base, "POST", "/v1/reservations",
                                  {"location": "NYC-01", "lines": [{"sku": "SKU-0001", "qty": 1}],
                                   "reference": "X", "hold_for": "1d"}, dict(auth, **{"Idempotency-Key": "k"}))
                self.assertEqual(replay, r)
            finally:
                stop(p)


class ConnectorConfigTest(unittest.TestCase):
    """The http connector configurations cover exactly the catalog's operations."""

    def catalog(self):
        with open(os.path.join(ROOT, "workflows", "connectors", "retail.json")) as f:
            text = re.sub(r"^\s*//.*$", "", f.read(), flags=re.M)
        return {c["name"]: c for c in json.loads(text)["connectors"]}

    def test_configs_match_catalog(self):
        cat = self.catalog()
        for name, kind in (("inventory", "http"), ("pos", "http"), ("notify", "webhook")):
            with open(os.path.join(ROOT, "examples", "sim", "connectors.%s.json" % name)) as f:
                conf = json.load(f)
            self.assertEqual((conf["name"], conf["type"], conf["system"]), (name, kind, name))
            ops = {o["name"]: o for o in conf["settings"]["operations"]}
            want = {o["name"]: o for o in cat[name]["operations"]}
            self.assertEqual(set(ops), set(want))
            for op, o in ops.items():
                self.assertEqual(o["input"], want[op]["input"], op)
                self.assertEqual(o["output"], want[op]["output"], op)
                for out in want[op]["output"]:
                    self.assertIn(out["name"], o.get("response", {out["name"]: 1}), op)
                for ph in re.findall(r"\{input\.([a-z_]+)\}", json.dumps(o)):
                    self.assertIn(ph, [i["name"] for i in want[op]["input"]], op)


if __name__ == "__main__":
    unittest.main()
