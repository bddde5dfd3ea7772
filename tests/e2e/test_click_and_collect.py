"""End to end: workflows/click_and_collect.flow through `retailflow serve` against the simulators.

The Odoo simulator is seeded with draft sale orders CC-0001 … CC-0150 (odoo_retail.seed), each for
the stock of one store's warehouse. A test picks an order, starts the flow through the API with the
order's own lines, drives it with `pickup` events and the adjustable clock, and asserts the final
state of the inventory platform (reservations, quantities), of Odoo (sale order, delivery picking,
quants) and of the notification receiver.
"""

import os
import sys
import threading
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import Stack  # noqa: E402

EMAIL = "cc-e2e@example.com"


class ClickAndCollect(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.s = Stack()
        cls.addClassCleanup(cls.s.stop)  # also when the rest of setUpClass fails
        cls.s.start()
        s = cls.s
        sku_of = {p["id"]: p["default_code"]
                  for p in s.sim_state("odoo", model="product.product")["records"]}
        locs = {l["id"]: l for l in s.sim_state("odoo", model="stock.location")["records"]}
        whs = {w["id"]: w for w in s.sim_state("odoo", model="stock.warehouse")["records"]}
        lines = s.sim_state("odoo", model="sale.order.line")["records"]
        cls.orders = []  # (order record, store code, [{sku, qty}]) in CC-0001 … order
        for o in s.sim_state("odoo", model="sale.order")["records"]:
            store = locs[whs[o["warehouse_id"][0]]["lot_stock_id"][0]]["barcode"]
            ls = {}
            for l in lines:
                if l["order_id"][0] == o["id"]:
                    sku = sku_of[l["product_id"][0]]
                    ls[sku] = ls.get(sku, 0) + int(l["product_uom_qty"])
            cls.orders.append((o, store, [{"sku": k, "qty": v} for k, v in ls.items()]))
        cls.used = set()

    @classmethod
    def tearDownClass(cls):
        cls.s.stop()

    # ------------------------------------------------------------------ helpers

    def stock(self):
        return self.s.sim_state("inventory")["stock"]

    def take_order(self, available=True):
        """An unused seeded order whose lines the store can (or cannot) reserve right now."""
        stock = self.stock()
        for o, store, lines in self.orders:
            ref = o["client_order_ref"]
            if ref in self.used:
                continue
            ok = all(stock[store][l["sku"]]["on_hand"] - stock[store][l["sku"]]["reserved"]
                     >= l["qty"] for l in lines)
            if ok == available:
                self.used.add(ref)
                return ref, store, lines, o
        self.fail("no seeded order with available=%s left" % available)

    def start(self, ref, store, lines, order):
        return self.s.start_instance("click_and_collect", {
            "order_ref": ref, "store_id": store, "customer_email": EMAIL, "lines": lines,
            "amount": order["amount_total"]}, ref)

    def wait_history(self, iid, pred, what, timeout=60):
        return self.s.wait_history(iid, pred, what, timeout)

    def wait_waiting(self, iid, state):
        return self.s.wait_waiting(iid, state)

    def reservations(self, ref):
        return [r for r in self.s.sim_state("inventory")["reservations"].values()
                if r["reference"] == ref]

    def sale_order(self, ref):
        return [o for o in self.s.sim_state("odoo", model="sale.order")["records"]
                if o["client_order_ref"] == ref][0]

    def pickings(self, order):
        return [p for p in self.s.sim_state("odoo", model="stock.picking")["records"]
                if p["origin"] == order["name"]]

    def odoo_qty(self, store):
        """{sku: quantity} of the Odoo quants at the store's stock location."""
        sku_of = {p["id"]: p["default_code"]
                  for p in self.s.sim_state("odoo", model="product.product")["records"]}
        loc = [l for l in self.s.sim_state("odoo", model="stock.location")["records"]
               if l["barcode"] == store][0]
        out = {}
        for q in self.s.sim_state("odoo", model="stock.quant")["records"]:
            if q["location_id"][0] == loc["id"]:
                sku = sku_of[q["product_id"][0]]
                out[sku] = out.get(sku, 0) + q["quantity"]
        return out

    def messages(self, ref):
        return sorted((m["template"], m["to"]) for m in self.s.sim_state("notify")["messages"]
                      if (m.get("data") or {}).get("order_ref") == ref)

    def assert_stock(self, store, lines, before, on_hand_delta):
        after = self.stock()[store]
        for l in lines:
            self.assertEqual(after[l["sku"]]["on_hand"],
                             before[l["sku"]]["on_hand"] + on_hand_delta * l["qty"], l)
            self.assertEqual(after[l["sku"]]["reserved"], before[l["sku"]]["reserved"], l)

    # ------------------------------------------------------------------ tests

    def test_1_pickup(self):
        s = self.s
        ref, store, lines, order = self.take_order()
        before = {k: dict(v) for k, v in self.stock()[store].items()}
        odoo_before = self.odoo_qty(store)
        iid = self.start(ref, store, lines, order)
        self.wait_waiting(iid, "wait_for_pickup")
        (rsv,) = self.reservations(ref)
        self.assertEqual(rsv["status"], "active")
        self.assertEqual(rsv["location"], store)
        self.assertEqual(sorted((l["sku"], l["qty"]) for l in rsv["lines"]),
                         sorted((l["sku"], l["qty"]) for l in lines))
        self.assertEqual(self.sale_order(ref)["state"], "sale")

        s.event("pickup", ref, {"order_ref": ref, "scanned_at": "2026-11-27T10:00:00Z"})
        inst = s.wait_status(iid, "completed")
        self.assertEqual(inst["outcome"], "Order %s collected at %s." % (ref, store))

        (rsv,) = self.reservations(ref)
        self.assertEqual(rsv["status"], "consumed")
        self.assert_stock(store, lines, before, -1)
        so = self.sale_order(ref)
        self.assertEqual(so["state"], "sale")
        (pick,) = self.pickings(so)
        self.assertEqual(pick["state"], "done")
        odoo_after = self.odoo_qty(store)
        for l in lines:
            self.assertEqual(odoo_after[l["sku"]], odoo_before[l["sku"]] - l["qty"], l)
        self.assertEqual(self.messages(ref), [("order_ready_for_pickup", EMAIL)])

    def test_2_no_show(self):
        s = self.s
        ref, store, lines, order = self.take_order()
        before = {k: dict(v) for k, v in self.stock()[store].items()}
        odoo_before = self.odoo_qty(store)
        iid = self.start(ref, store, lines, order)
        self.wait_waiting(iid, "wait_for_pickup")
        s.advance("5d1h")  # past the first wait: the reminder goes out
        self.wait_waiting(iid, "wait_after_reminder")
        self.assertEqual(self.messages(ref), [("order_ready_for_pickup", EMAIL),
                                              ("pickup_reminder", EMAIL)])
        s.advance("2d1h")  # past the second wait: no-show, the undo chain runs
        inst = s.wait_status(iid, ["compensated", "failed", "compensation_failed"])
        self.assertEqual(inst["status"], "compensated")
        self.assertEqual(inst["error"]["state"], "no_show")

        (rsv,) = self.reservations(ref)
        self.assertEqual(rsv["status"], "released")
        self.assert_stock(store, lines, before, 0)  # all available again
        so = self.sale_order(ref)
        self.assertEqual(so["state"], "cancel")
        (pick,) = self.pickings(so)
        self.assertEqual(pick["state"], "cancel")
        self.assertEqual(self.odoo_qty(store), odoo_before)
        self.assertEqual(self.messages(ref), [("order_ready_for_pickup", EMAIL),
                                              ("pickup_reminder", EMAIL)])

    def test_3_out_of_stock(self):
        s = self.s
        ref, store, lines, order = self.take_order(available=False)
        before = {k: dict(v) for k, v in self.stock()[store].items()}
        iid = self.start(ref, store, lines, order)
        inst = s.wait_status(iid, ["failed", "compensated", "compensation_failed"])
        self.assertEqual(inst["status"], "failed")
        self.assertEqual(inst["error"]["state"], "out_of_stock")
        self.assertEqual(self.reservations(ref), [])
        self.assertEqual(self.stock()[store], before)
        so = self.sale_order(ref)
        self.assertEqual(so["state"], "draft")
        self.assertEqual(self.pickings(so), [])
        self.assertEqual(self.messages(ref), [])

    def test_4_same_order_twice(self):
        s = self.s
        ref, store, lines, order = self.take_order()
        before = {k: dict(v) for k, v in self.stock()[store].items()}
        body = {"input": {"order_ref": ref, "store_id": store, "customer_email": EMAIL,
                          "lines": lines, "amount": order["amount_total"]},
                "business_key": ref}
        answers = []

        def start():
            answers.append(s.api("POST", "/v1/workflows/click_and_collect/instances", body)[:2])

        threads = [threading.Thread(target=start) for _ in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        start()  # and once more after the others
        ids = {b["id"] for _, b in answers}
        self.assertEqual(len(ids), 1, answers)
        self.assertEqual(sorted(st for st, _ in answers), [200, 200, 200, 200, 201])
        self.assertEqual([b["created"] for st, b in answers if st == 201], [True])
        iid = ids.pop()
        st, page, _ = s.api("GET", "/v1/instances?workflow=click_and_collect&business_key=" + ref, role="viewer")
        self.assertEqual([i["id"] for i in page["items"]], [iid])

        self.wait_waiting(iid, "wait_for_pickup")
        s.event("pickup", ref, {"order_ref": ref})
        s.wait_status(iid, "completed")
        (rsv,) = self.reservations(ref)
        self.assertEqual(rsv["status"], "consumed")
        self.assert_stock(store, lines, before, -1)
        (pick,) = self.pickings(self.sale_order(ref))
        self.assertEqual(pick["state"], "done")
        self.assertEqual(self.messages(ref), [("order_ready_for_pickup", EMAIL)])

    def test_5_inventory_down_mid_flight(self):
        s = self.s
        ref, store, lines, order = self.take_order()
        before = {k: dict(v) for k, v in self.stock()[store].items()}

        # Down while reserving: the step retries, nothing is applied by the failed attempts.
        s.sim_faults("inventory", down_until=time.time() + 3600)
        iid = self.start(ref, store, lines, order)
        self.wait_history(iid, lambda h: h["type"] == "attempt_failed"
                          and h["state"] == "reserve_stock" and h["attempt"] >= 2,
                          "retried reserve_stock")
        self.assertEqual(self.reservations(ref), [])
        down = s.sim("inventory", "GET", "/__admin/faults")[1]["injected"]["down"]
        self.assertGreaterEqual(down, 2)  # the platform did answer 503s
        s.sim_faults("inventory", down_until=0)
        s.advance("1m")  # the next attempt is due now
        self.wait_waiting(iid, "wait_for_pickup")
        self.assertEqual(len(self.reservations(ref)), 1)

        # Down again when the customer comes: hand_over retries until the platform is back.
        s.sim_faults("inventory", down_until=time.time() + 3600)
        s.event("pickup", ref, {"order_ref": ref})
        self.wait_history(iid, lambda h: h["type"] == "attempt_failed"
                          and h["state"] == "hand_over" and h["attempt"] >= 2,
                          "retried hand_over")
        self.assertIn(s.instance(iid)["status"], ("running", "waiting"))
        self.assertEqual(self.reservations(ref)[0]["status"], "active")
        s.sim_faults("inventory", down_until=0)
        s.advance("2m")
        s.wait_status(iid, "completed")

        (rsv,) = self.reservations(ref)
        self.assertEqual(rsv["status"], "consumed")
        self.assert_stock(store, lines, before, -1)
        (pick,) = self.pickings(self.sale_order(ref))
        self.assertEqual(pick["state"], "done")
        self.assertEqual(self.messages(ref), [("order_ready_for_pickup", EMAIL)])


if __name__ == "__main__":
    unittest.main(verbosity=2)
