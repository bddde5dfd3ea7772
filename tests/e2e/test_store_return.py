"""store_return end to end: the POS simulator sends signed `return.initiated` webhooks, the service
runs workflows/store_return.flow against the POS, fraud plugin, inventory, Odoo and notification
simulators, and every test asserts the simulators' final state: the credit notes in Odoo (count
and exact amounts), the stock at the restock location, the messages sent.

Each test records its own sale at the till (POST /sales, a few days old unless the test needs
otherwise) with SKUs no other test uses, so stock deltas are exact.
"""

import os
import sys
import time
import unittest
from decimal import Decimal

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import Stack  # noqa: E402

POS_AUTH = {"Authorization": "Bearer pos-sim-token"}
INV_AUTH = {"Authorization": "Bearer inventory-sim-token"}
DAY = 86400


def iso(ts):
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(ts))


class StoreReturnTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.s = Stack()
        cls.addClassCleanup(cls.s.stop)  # also when the rest of setUpClass fails
        cls.s.start()

    @classmethod
    def tearDownClass(cls):
        cls.s.stop()

    # ------------------------------------------------------------------ helpers

    def sale(self, lines, store="PAR-01", customer="CUST-0003", days_ago=3):
        """Records a completed sale at the till; lines = [(sku, qty, discount_minor)]."""
        st, body, _ = self.s.sim("pos", "POST", "/sales", {
            "store_id": store, "customer_ref": customer, "occurred_at": iso(time.time() - days_ago * DAY),
            "lines": [{"sku": sku, "qty": q, "discount": d} for sku, q, d in lines]}, headers=POS_AUTH)
        self.assertEqual(st, 201, body)
        return body

    def emit_return(self, sale_id, lines=None, **opts):
        """The till sends `return.initiated`; lines = [(original_line_id, qty)]. Returns the return."""
        body = dict(opts, type="return.initiated", sale_id=sale_id)
        if lines:
            body["lines"] = [{"original_line_id": l, "qty": q} for l, q in lines]
        st, out, _ = self.s.sim("pos", "POST", "/__admin/emit", body)
        self.assertEqual(st, 202, out)
        return out["return"]

    def instances(self, business_key):
        st, body, _ = self.s.api("GET", "/v1/instances?workflow=store_return&business_key=" + business_key,
                                 role="viewer")
        self.assertEqual(st, 200, body)
        return body["items"]

    def instance_of(self, return_id, timeout=30):
        """The instance the webhook started for this return (waits for the delivery)."""
        deadline = time.time() + timeout
        while time.time() < deadline:
            items = self.instances(return_id)
            if items:
                return items[0]["id"]
            time.sleep(0.05)
        self.fail("no store_return instance for %s; POS deliveries: %s" % (
            return_id, self.s.sim_state("pos")["delivery_summary"]))

    def deliveries_done(self, return_id, timeout=30):
        """Waits until every webhook delivery of this return was answered 2xx."""
        deadline = time.time() + timeout
        while time.time() < deadline:
            ds = [d for d in self.s.sim_state("pos")["deliveries"].values() if d["key"] == return_id]
            if ds and all(d["status"] == "acknowledged" for d in ds):
                return ds
            time.sleep(0.05)
        self.fail("deliveries of %s not acknowledged: %s" % (return_id, ds))

    def credit_notes(self, receipt_no):
        """Odoo's customer credit notes (out_refund) for the original sale's receipt."""
        moves = self.s.sim_state("odoo", model="account.move")["records"]
        return [m for m in moves if m["move_type"] == "out_refund" and m["ref"] == receipt_no]

    def stock(self, location, sku):
        st, body, _ = self.s.sim("inventory", "GET", "/v1/locations/%s/availability?skus=%s" % (location, sku),
                                 headers=INV_AUTH)
        self.assertEqual(st, 200, body)
        item = body["items"][0]
        return item["on_hand"], item["quarantine"]

    def messages(self, return_id):
        return [m for m in self.s.sim_state("notify")["messages"]
                if m["template"] == "return_refunded" and m["data"].get("return_id") == return_id]

    def adjustments(self, location, return_id):
        st, body, _ = self.s.sim("inventory", "GET", "/v1/adjustments?location=" + location, headers=INV_AUTH)
        self.assertEqual(st, 200, body)
        return [a for a in body["adjustments"] if return_id in a.get("reason", "")]

    def odoo_counters(self):
        """The odoo connector's counters (calls, breaker, breaker_openings, ...)."""
        st, body, _ = self.s.api("GET", "/v1/connectors", role="viewer")
        self.assertEqual(st, 200, body)
        return [c for c in body["items"] if c["name"] == "odoo"][0]

    def wait_odoo(self, pred, what, timeout=30):
        deadline = time.time() + timeout
        while True:
            got = self.odoo_counters()
            if pred(got):
                return got
            self.assertLess(time.time(), deadline, "odoo connector never %s: %s" % (what, got))
            time.sleep(0.05)

    def history_types(self, iid):
        return [(h["type"], h.get("state")) for h in self.s.history(iid)]

    def assert_one_credit_note(self, receipt_no, total, tax=None):
        notes = self.credit_notes(receipt_no)
        self.assertEqual(len(notes), 1, notes)
        self.assertEqual(notes[0]["state"], "posted")
        self.assertEqual(Decimal(str(notes[0]["amount_total"])), Decimal(total))
        if tax is not None:
            self.assertEqual(Decimal(str(notes[0]["amount_tax"])), Decimal(tax))
        return notes[0]

    # ------------------------------------------------------------------ tests

    def test_01_small_refund_is_restocked_credited_and_notified(self):
        # 3 T-shirts at 24.99 with 7.49 off the line, and jeans at 64.99; 2 T-shirts and the jeans
        # come back. The POS prorates the discount: 2 × 24.99 − 4.99 = 44.99 (in cents: 4499), so
        # a T-shirt's credit-note price is 22.495. VAT inside (Odoo, per line): 7.50 + 10.83.
        sale = self.sale([("SKU-0011", 3, 749), ("SKU-0012", 1, 0)])
        before = {sku: self.stock("PAR-01", sku) for sku in ("SKU-0011", "SKU-0012")}
        ret = self.emit_return(sale["sale_id"], [("L1", 2), ("L2", 1)])
        self.assertEqual([l["line_total"] for l in ret["lines"]], [4499, 6499])
        iid = self.instance_of(ret["return_id"])
        inst = self.s.wait_status(iid, "completed")
        note = self.assert_one_credit_note(sale["receipt_no"], "109.98", tax="18.33")
        self.assertEqual(inst["outcome"], "Refund 109.98 EUR issued as %s." % note["name"])
        self.assertEqual(note["partner_id"][1], "Chloe Smith")
        self.assertEqual(note["currency_id"][1], "EUR")
        lines = [l for l in self.s.sim_state("odoo", model="account.move.line")["records"]
                 if l["move_id"][0] == note["id"]]
        self.assertEqual(sorted(Decimal(str(l["price_total"])) for l in lines),
                         [Decimal("44.99"), Decimal("64.99")])
        self.assertEqual(self.stock("PAR-01", "SKU-0011"), (before["SKU-0011"][0] + 2, before["SKU-0011"][1]))
        self.assertEqual(self.stock("PAR-01", "SKU-0012"), (before["SKU-0012"][0] + 1, before["SKU-0012"][1]))
        msgs = self.messages(ret["return_id"])
        self.assertEqual(len(msgs), 1, msgs)
        self.assertEqual(msgs[0]["to"], "chloe.smith3@example.com")
        self.assertEqual((Decimal(str(msgs[0]["data"]["amount"])), msgs[0]["data"]["credit_note"]),
                         (Decimal("109.98"), note["name"]))
        self.assertNotIn(("task_created", "manager_approval"), self.history_types(iid))

    def test_02_high_value_refund_approved_by_the_store_manager(self):
        sale = self.sale([("SKU-0010", 1, 0)])  # a coat at 649.00
        before = self.stock("PAR-01", "SKU-0010")
        ret = self.emit_return(sale["sale_id"])
        iid = self.instance_of(ret["return_id"])
        task = self.s.wait_task(iid, "store_manager")
        self.assertIn("649.00 EUR", task["title"])
        self.assertEqual(self.credit_notes(sale["receipt_no"]), [])  # nothing before the decision
        self.s.decide(task, "approve", "store_manager", "receipt checked")
        self.s.wait_status(iid, "completed")
        self.assert_one_credit_note(sale["receipt_no"], "649.00", tax="108.17")
        self.assertEqual(self.stock("PAR-01", "SKU-0010"), (before[0] + 1, before[1]))
        self.assertEqual(len(self.messages(ret["return_id"])), 1)

    def test_03_manager_rejects_nothing_is_refunded_or_moved(self):
        sale = self.sale([("SKU-0020", 1, 0)])  # a coat
        before = self.stock("PAR-01", "SKU-0020")
        ret = self.emit_return(sale["sale_id"])
        iid = self.instance_of(ret["return_id"])
        self.s.decide(self.s.wait_task(iid, "store_manager"), "reject", "store_manager", "worn")
        inst = self.s.wait_status(iid, "failed")
        self.assertEqual(inst["outcome"], "The refund was not approved.")
        self.assertEqual(self.credit_notes(sale["receipt_no"]), [])
        self.assertEqual(self.stock("PAR-01", "SKU-0020"), before)
        self.assertEqual(self.adjustments("PAR-01", ret["return_id"]), [])
        self.assertEqual(self.messages(ret["return_id"]), [])

    def test_04_undecided_approval_escalates_to_the_regional_manager(self):
        sale = self.sale([("SKU-0030", 1, 0)], store="LON-01")  # a coat, in London
        before = self.stock("LON-01", "SKU-0030")
        ret = self.emit_return(sale["sale_id"])
        iid = self.instance_of(ret["return_id"])
        self.s.wait_task(iid, "store_manager")
        self.s.advance("4h1m")  # nobody decided within 4h
        task = self.s.wait_task(iid, "regional_manager")
        self.assertIn("659 GBP", task["title"])
        self.s.decide(task, "approve", "regional_manager")
        self.s.wait_status(iid, "completed")
        self.assert_one_credit_note(sale["receipt_no"], "659.00")
        self.assertEqual(self.stock("LON-01", "SKU-0030"), (before[0] + 1, before[1]))
        # The store manager's task is closed: it cannot be decided any more.
        st, open_tasks, _ = self.s.api("GET", "/v1/tasks?role=store_manager", role="store_manager")
        self.assertFalse([t for t in open_tasks["items"] if t.get("instance") == iid])

    def test_05_unknown_sale_fails_without_side_effects(self):
        st, out, _ = self.s.sim("pos", "POST", "/__admin/emit", {
            "type": "return.initiated", "sale_id": "SALE-977777", "store_id": "PAR-01",
            "lines": [{"sku": "SKU-0041", "qty": 1}]})
        self.assertEqual(st, 202, out)
        rid = out["return_id"]
        before = self.stock("PAR-01", "SKU-0041")
        inst = self.s.wait_status(self.instance_of(rid), "failed")
        self.assertEqual(inst["outcome"], "The original sale SALE-977777 is not known to the POS.")
        self.assertEqual(self.stock("PAR-01", "SKU-0041"), before)
        self.assertEqual(self.adjustments("PAR-01", rid), [])
        self.assertEqual(self.messages(rid), [])

    def test_06_suspected_fraud_stops_before_any_refund(self):
        # An anonymous sale of two coats (1328.00), 27 days ago, returned without a receipt:
        # amount over 1000 (+30), late in the window (+15), no receipt (+20), anonymous (+20).
        sale = self.sale([("SKU-0040", 2, 0)], customer=None, days_ago=27)
        before = self.stock("PAR-01", "SKU-0040")
        ret = self.emit_return(sale["sale_id"], reason="no receipt")
        inst = self.s.wait_status(self.instance_of(ret["return_id"]), "failed")
        self.assertEqual(inst["outcome"], "Fraud score 85: the return needs an investigation.")
        self.assertEqual(self.credit_notes(sale["receipt_no"]), [])
        self.assertEqual(self.stock("PAR-01", "SKU-0040"), before)
        self.assertEqual(self.adjustments("PAR-01", ret["return_id"]), [])

    def test_07_damaged_goods_go_to_quarantine(self):
        sale = self.sale([("SKU-0051", 2, 0)], store="NYC-01", customer="CUST-0007")  # T-shirts, USD
        on_hand, quarantine = self.stock("NYC-01", "SKU-0051")
        ret = self.emit_return(sale["sale_id"], reason="damaged")
        self.assertTrue(ret["damaged"])
        self.s.wait_status(self.instance_of(ret["return_id"]), "completed")
        note = self.assert_one_credit_note(sale["receipt_no"], "39.98")
        self.assertEqual(note["currency_id"][1], "USD")
        self.assertEqual(self.stock("NYC-01", "SKU-0051"), (on_hand, quarantine + 2))
        self.assertEqual(len(self.messages(ret["return_id"])), 1)

    def test_08_duplicated_and_resent_webhooks_refund_once(self):
        sale = self.sale([("SKU-0061", 1, 0)])
        before = self.stock("PAR-01", "SKU-0061")
        # The same message twice (same webhook-id), then the till sends the return again
        # (a new webhook-id, the same return id = the same business key).
        ret = self.emit_return(sale["sale_id"], duplicate=True, duplicate_gap_ms=50)
        iid = self.instance_of(ret["return_id"])
        self.s.wait_status(iid, "completed")
        st, again, _ = self.s.sim("pos", "POST", "/__admin/emit",
                                  {"type": "return.initiated", "return_id": ret["return_id"]})
        self.assertEqual(st, 202, again)
        ds = self.deliveries_done(ret["return_id"])
        self.assertEqual(len(ds), 3)
        self.assertEqual(len({d["webhook_id"] for d in ds}), 2)
        self.assertEqual([i["id"] for i in self.instances(ret["return_id"])], [iid])
        self.assert_one_credit_note(sale["receipt_no"], "24.99")
        self.assertEqual(self.stock("PAR-01", "SKU-0061"), (before[0] + 1, before[1]))
        self.assertEqual(len(self.adjustments("PAR-01", ret["return_id"])), 1)
        self.assertEqual(len(self.messages(ret["return_id"])), 1)

    def test_09_odoo_down_mid_flight_nothing_lost_nothing_doubled(self):
        skus = ["SKU-0071", "SKU-0072", "SKU-0073"]
        sales = [self.sale([(sku, 1, 0)]) for sku in skus]
        before = {sku: self.stock("PAR-01", sku) for sku in skus}
        self.s.sim_faults("odoo", down_until=time.time() + 3600)
        rets = [self.emit_return(sale["sale_id"]) for sale in sales]
        iids = [self.instance_of(r["return_id"]) for r in rets]
        # Every return is restocked and its credit note has failed at least once against Odoo.
        deadline = time.time() + 60
        while not all(("attempt_failed", "credit_note") in self.history_types(i) for i in iids):
            self.assertLess(time.time(), deadline, [self.s.instance(i)["status"] for i in iids])
            time.sleep(0.1)
        for sku in skus:
            self.assertEqual(self.stock("PAR-01", sku)[0], before[sku][0] + 1)
        # The retries (moved on by the service's clock) keep failing until the odoo connector's
        # circuit breaker opens (5 consecutive failures).
        for _ in range(5):
            before_calls = self.odoo_counters()["calls"]
            if self.odoo_counters()["breaker_openings"] > 0:
                break
            self.s.advance("1m")
            self.wait_odoo(lambda c: c["calls"] > before_calls, "called again after 1m", timeout=10)
        self.wait_odoo(lambda c: c["breaker_openings"] > 0, "opened")
        self.assertEqual(sum(len(self.credit_notes(s["receipt_no"])) for s in sales), 0)
        self.s.sim_faults("odoo", down_until=0)
        # Moving the service's clock past the pending retry waits also moves the breaker past its
        # cool-down (10s, on the same clock): it lets a probe through at once, with no real wait.
        self.s.advance("10m")
        self.assertIn(self.odoo_counters()["breaker"], ("half_open", "closed"))
        self.wait_odoo(lambda c: c["breaker"] == "closed", "closed")
        # Retries that the open circuit failed fast while the probe was out: due now.
        self.s.advance("10m")
        for iid in iids:
            self.s.wait_status(iid, "completed", timeout=90)
        for sale, sku in zip(sales, skus):
            self.assert_one_credit_note(sale["receipt_no"], sale["totals"]["total"] / Decimal(100))
            self.assertEqual(self.stock("PAR-01", sku), (before[sku][0] + 1, before[sku][1]))
        for r in rets:
            self.assertEqual(len(self.adjustments("PAR-01", r["return_id"])), 1)
            self.assertEqual(len(self.messages(r["return_id"])), 1)

    def test_10_refund_refused_after_restocking_is_undone(self):
        sale = self.sale([("SKU-0081", 2, 0)])
        before = self.stock("PAR-01", "SKU-0081")
        # Odoo refuses every call (a proxy answering 403): the credit note is `rejected`, which
        # is not retried; the service holds the instance for an operator.
        self.s.sim_faults("odoo", error_rate=1.0, error_status=403)
        try:
            ret = self.emit_return(sale["sale_id"])
            iid = self.instance_of(ret["return_id"])
            inst = self.s.wait_status(iid, "held")
            self.assertEqual((inst["error"]["state"], inst["error"]["kind"]), ("credit_note", "rejected"))
            self.assertEqual(self.stock("PAR-01", "SKU-0081"), (before[0] + 2, before[1]))
        finally:
            self.s.sim_faults("odoo", error_rate=0.0, error_status=503)
        # The operator gives up on the refund: the undo chain takes the goods out again.
        st, body, _ = self.s.api("POST", "/v1/instances/%s/cancel" % iid, {"reason": "refund refused by Odoo"})
        self.assertEqual(st, 202, body)
        self.s.wait_status(iid, "cancelled")
        self.assertEqual(self.stock("PAR-01", "SKU-0081"), before)
        reasons = sorted(a["reason"] for a in self.adjustments("PAR-01", ret["return_id"]))
        self.assertEqual(reasons, ["return " + ret["return_id"], "undo return " + ret["return_id"]])
        self.assertEqual(self.credit_notes(sale["receipt_no"]), [])
        self.assertEqual(self.messages(ret["return_id"]), [])

    def test_11_engine_killed_mid_run_every_return_completes_once(self):
        skus = ["SKU-0091", "SKU-0092", "SKU-0093", "SKU-0094"]
        sales = [self.sale([(sku, 1, 0)]) for sku in skus]
        before = {sku: self.stock("PAR-01", sku) for sku in skus}
        self.s.sim_faults("odoo", latency_ms=1500)  # credit notes are slow: calls are in flight
        rets = [self.emit_return(sale["sale_id"]) for sale in sales]
        iids = [self.instance_of(r["return_id"]) for r in rets]
        # Kill once Odoo has committed a credit note that the engine has not recorded yet (the
        # connector is still posting and reading it back), with other returns in flight.
        deadline = time.time() + 60
        while not (sum(("step_started", "credit_note") in self.history_types(i) for i in iids) >= 2
                   and any(self.credit_notes(s["receipt_no"]) for s in sales)):
            self.assertLess(time.time(), deadline)
            time.sleep(0.05)
        self.assertFalse([i for i in iids if self.s.instance(i)["status"] == "completed"])
        self.s.kill_service()
        self.s.sim_faults("odoo", latency_ms=0)
        self.s.start_service()
        for iid in iids:
            self.s.wait_status(iid, "completed", timeout=90)
        for sale, sku in zip(sales, skus):
            self.assert_one_credit_note(sale["receipt_no"], sale["totals"]["total"] / Decimal(100))
            self.assertEqual(self.stock("PAR-01", sku), (before[sku][0] + 1, before[sku][1]))
        for r in rets:
            self.assertEqual(len(self.adjustments("PAR-01", r["return_id"])), 1)
            self.assertEqual(len(self.instances(r["return_id"])), 1)


if __name__ == "__main__":
    unittest.main(verbosity=2)
