"""The REST and webhook effects of the shipped workflows happen once even when the service is
killed while its request is still being processed downstream (issue 16, §1).

For each side-effecting inventory and notification operation the workflows use (inventory:
reserve, release, consume, adjust, ship_transfer, receive_transfer, cancel_transfer; notify:
send), one test:
  1. closes the simulator's gate for that operation (examples/sim/inflight.py): the request is
     received and its idempotency key claimed, but not executed;
  2. drives a workflow to that call and waits until the simulator reports the request held;
  3. kill -9 of the service, restart: the recovered call goes out again with the same key, meets
     409 "request outstanding" and waits (the connector retries, never `conflict`);
  4. once the simulator reports that 409, opens the gate: the old request is executed and its
     answer stored; the new attempt gets that answer;
  5. asserts exactly one effect (stock moved once, one reservation, one message) and the
     instance's right state.
Every wait is on a condition the service or a simulator reports, never on a sleep.
"""

import os
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import Stack  # noqa: E402

EMAIL = "inflight-e2e@example.com"
POS_AUTH = {"Authorization": "Bearer pos-sim-token"}
SRC, DST, TRANSIT = "PAR-01", "LON-01", "transit"


def iso(ts):
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(ts))


class InFlightRest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.s = Stack()
        try:
            cls.s.start()
            cls.orders = cls.seeded_orders()
        except BaseException:
            cls.s.stop()
            raise
        cls.used_orders = set()
        cls.transfers = 0

    @classmethod
    def tearDownClass(cls):
        cls.s.stop()

    def tearDown(self):
        for sim in ("inventory", "notify"):  # never leave a request held for the next test
            self.s.sim(sim, "POST", "/__admin/gate", {"open_all": True})

    @classmethod
    def seeded_orders(cls):
        """(client_order_ref, store, [{sku, qty}], amount) of Odoo's seeded click-and-collect
        orders (as tests/e2e/test_click_and_collect.py reads them)."""
        s = cls.s
        sku_of = {p["id"]: p["default_code"]
                  for p in s.sim_state("odoo", model="product.product")["records"]}
        locs = {l["id"]: l for l in s.sim_state("odoo", model="stock.location")["records"]}
        whs = {w["id"]: w for w in s.sim_state("odoo", model="stock.warehouse")["records"]}
        lines = s.sim_state("odoo", model="sale.order.line")["records"]
        out = []
        for o in s.sim_state("odoo", model="sale.order")["records"]:
            store = locs[whs[o["warehouse_id"][0]]["lot_stock_id"][0]]["barcode"]
            ls = {}
            for l in lines:
                if l["order_id"][0] == o["id"]:
                    sku = sku_of[l["product_id"][0]]
                    ls[sku] = ls.get(sku, 0) + int(l["product_uom_qty"])
            out.append((o["client_order_ref"], store, [{"sku": k, "qty": v} for k, v in ls.items()],
                        o["amount_total"]))
        return out

    # ------------------------------------------------------------------ conditions

    def wait_for(self, what, pred, timeout=60):
        deadline = time.time() + timeout
        while True:
            got = pred()
            if got:
                return got
            if time.time() > deadline:
                self.fail("timed out waiting for " + what)
            time.sleep(0.02)

    def gate(self, sim, operation, closed):
        st, body, _ = self.s.sim(sim, "POST", "/__admin/gate",
                                 {"operation": operation, "closed": closed})
        self.assertEqual(st, 200, body)

    def gate_state(self, sim):
        st, body, _ = self.s.sim(sim, "GET", "/__admin/gate")
        self.assertEqual(st, 200, body)
        return body

    def crash_while_held(self, sim, operation):
        """Steps 2-4 of the module's recipe, from "a request is held" to "the gate is open"."""
        held = self.wait_for("a %s request held at %s" % (operation, sim),
                             lambda: self.gate_state(sim)["held_keys"].get(operation))
        self.assertEqual(len(held), 1, held)
        key = held[0]
        self.s.kill_service()
        self.s.start_service()
        self.wait_for("the recovered %s call to meet 409 in progress" % operation,
                      lambda: self.gate_state(sim)["in_progress_answers"].get(key, 0) >= 1)
        state = self.gate_state(sim)
        self.assertEqual(state["held"].get(operation), 1, state)  # only the killed one's request
        self.gate(sim, operation, False)
        self.wait_for("the key's answer stored", lambda: key not in self.gate_state(sim)["claimed"])
        return key

    def assert_no_conflict(self, iid):
        """No attempt of the instance ended `conflict`: the 409 in progress was waited out, not
        taken for a business conflict (a flow with `on error` would otherwise route around it)."""
        bad = [h for h in self.s.history(iid) if h.get("kind") == "conflict"]
        self.assertEqual(bad, [])

    # ------------------------------------------------------------------ simulator state

    def inventory(self):
        return self.s.sim_state("inventory")

    def cells(self, lines, locations):
        stock = self.inventory()["stock"]
        return {(loc, l["sku"]): (stock[loc].get(l["sku"], {}).get("on_hand", 0),
                                  stock[loc].get(l["sku"], {}).get("reserved", 0))
                for loc in locations for l in lines}

    def moved(self, before, deltas):
        """`before` with {(loc, sku): (d_on_hand, d_reserved)} added."""
        out = dict(before)
        for k, (dh, dr) in deltas.items():
            out[k] = (out[k][0] + dh, out[k][1] + dr)
        return out

    def reservations(self, ref):
        return [r for r in self.inventory()["reservations"].values() if r["reference"] == ref]

    def transfers_of(self, ref):
        return [t for t in self.inventory()["transfers"].values() if t["reference"] == ref]

    def messages(self, ref):
        return sorted(m["template"] for m in self.s.sim_state("notify")["messages"]
                      if (m.get("data") or {}).get("order_ref") == ref)

    # ------------------------------------------------------------------ workflows

    def take_order(self):
        """A seeded order no test used whose store can reserve its lines now."""
        stock = self.inventory()["stock"]
        for ref, store, lines, amount in self.orders:
            if ref in self.used_orders:
                continue
            if all(stock[store][l["sku"]]["on_hand"] - stock[store][l["sku"]]["reserved"]
                   >= l["qty"] for l in lines):
                self.used_orders.add(ref)
                return ref, store, lines, amount
        self.fail("no seeded order left")

    def start_click_and_collect(self, ref, store, lines, amount):
        return self.s.start_instance("click_and_collect", {
            "order_ref": ref, "store_id": store, "customer_email": EMAIL, "lines": lines,
            "amount": amount}, ref)

    def new_transfer(self):
        type(self).transfers += 1
        ref = "TR-INFLIGHT-%03d" % self.transfers
        stock = self.inventory()["stock"][SRC]
        skus = [sku for sku, c in sorted(stock.items()) if c["on_hand"] - c["reserved"] >= 10]
        sku = skus[self.transfers]
        return ref, [{"sku": sku, "qty": 3}]

    def start_transfer(self, ref, lines):
        return self.s.start_instance("store_transfer", {
            "transfer_ref": ref, "from_store": SRC, "to_store": DST, "lines": lines}, ref)

    def ship(self, iid, ref):
        self.s.wait_waiting(iid, "wait_for_shipping")
        self.s.event("shipped", ref, {"transfer_ref": ref, "shipped_at": "2026-11-27T08:00:00Z"})

    def instance_of(self, return_id):
        st, body, _ = self.s.api(
            "GET", "/v1/instances?workflow=store_return&business_key=" + return_id, role="viewer")
        self.assertEqual(st, 200, body)
        return body["items"][0]["id"] if body["items"] else None

    def cancel(self, iid):
        st, body, _ = self.s.api("POST", "/v1/instances/%s/cancel" % iid, {"reason": "e2e"})
        self.assertEqual(st, 202, body)

    # ------------------------------------------------------------------ inventory.reserve

    def test_reserve(self):
        ref, store, lines, amount = self.take_order()
        before = self.cells(lines, [store])
        self.gate("inventory", "reserve", True)
        iid = self.start_click_and_collect(ref, store, lines, amount)
        self.crash_while_held("inventory", "reserve")
        self.s.wait_waiting(iid, "wait_for_pickup")
        self.assert_no_conflict(iid)
        (rsv,) = self.reservations(ref)
        self.assertEqual(rsv["status"], "active")
        self.assertEqual(self.cells(lines, [store]),
                         self.moved(before, {(store, l["sku"]): (0, l["qty"]) for l in lines}))

    # ------------------------------------------------------------------ notify.send

    def test_send(self):
        ref, store, lines, amount = self.take_order()
        self.gate("notify", "send", True)
        iid = self.start_click_and_collect(ref, store, lines, amount)
        self.crash_while_held("notify", "send")
        self.s.wait_waiting(iid, "wait_for_pickup")
        self.assert_no_conflict(iid)
        self.assertEqual(self.messages(ref), ["order_ready_for_pickup"])
        self.assertEqual(len(self.reservations(ref)), 1)

    # ------------------------------------------------------------------ inventory.consume

    def test_consume(self):
        ref, store, lines, amount = self.take_order()
        before = self.cells(lines, [store])
        iid = self.start_click_and_collect(ref, store, lines, amount)
        self.s.wait_waiting(iid, "wait_for_pickup")
        self.gate("inventory", "consume", True)
        self.s.event("pickup", ref, {"order_ref": ref, "scanned_at": "2026-11-27T10:00:00Z"})
        self.crash_while_held("inventory", "consume")
        inst = self.s.wait_status(iid, ["completed", "failed", "compensated"])
        self.assert_no_conflict(iid)
        self.assertEqual(inst["status"], "completed", inst)
        self.assertEqual(inst["outcome"], "Order %s collected at %s." % (ref, store))
        (rsv,) = self.reservations(ref)
        self.assertEqual(rsv["status"], "consumed")
        self.assertEqual(self.cells(lines, [store]),
                         self.moved(before, {(store, l["sku"]): (-l["qty"], 0) for l in lines}))

    # ------------------------------------------------------------------ inventory.release (undo)

    def test_release(self):
        ref, store, lines, amount = self.take_order()
        before = self.cells(lines, [store])
        iid = self.start_click_and_collect(ref, store, lines, amount)
        self.s.wait_waiting(iid, "wait_for_pickup")
        self.gate("inventory", "release", True)
        self.cancel(iid)  # the undo chain releases the reservation
        self.crash_while_held("inventory", "release")
        inst = self.s.wait_status(iid, ["cancelled", "compensation_failed", "failed"])
        self.assert_no_conflict(iid)
        self.assertEqual(inst["status"], "cancelled", inst)
        (rsv,) = self.reservations(ref)
        self.assertEqual(rsv["status"], "released")
        self.assertEqual(self.cells(lines, [store]), before)

    # ------------------------------------------------------------------ inventory.adjust

    def test_adjust(self):
        sku = "SKU-0041"
        st, sale, _ = self.s.sim("pos", "POST", "/sales", {
            "store_id": SRC, "customer_ref": "CUST-0003", "occurred_at": iso(time.time() - 3 * 86400),
            "lines": [{"sku": sku, "qty": 2, "discount": 0}]}, headers=POS_AUTH)
        self.assertEqual(st, 201, sale)
        before = self.cells([{"sku": sku}], [SRC])
        self.gate("inventory", "adjust", True)
        st, out, _ = self.s.sim("pos", "POST", "/__admin/emit",
                                {"type": "return.initiated", "sale_id": sale["sale_id"],
                                 "lines": [{"original_line_id": "L1", "qty": 1}]})
        self.assertEqual(st, 202, out)
        return_id = out["return"]["return_id"]
        self.crash_while_held("inventory", "adjust")
        iid = self.wait_for("the return's instance", lambda: self.instance_of(return_id))
        inst = self.s.wait_status(iid, ["completed", "failed", "compensated"])
        self.assert_no_conflict(iid)
        self.assertEqual(inst["status"], "completed", inst)
        adjustments = [a for a in self.inventory()["adjustments"].values()
                       if return_id in a["reason"]]
        self.assertEqual([a["reason"] for a in adjustments], ["return " + return_id])
        self.assertEqual(self.cells([{"sku": sku}], [SRC]),
                         self.moved(before, {(SRC, sku): (1, 0)}))
        notes = [m for m in self.s.sim_state("odoo", model="account.move")["records"]
                 if m["move_type"] == "out_refund" and m["ref"] == sale["receipt_no"]]
        self.assertEqual(len(notes), 1, notes)

    # ------------------------------------------------------------------ inventory.ship_transfer

    def test_ship_transfer(self):
        ref, lines = self.new_transfer()
        iid = self.start_transfer(ref, lines)
        self.s.wait_waiting(iid, "wait_for_shipping")
        before = self.cells(lines, [SRC, TRANSIT])
        self.gate("inventory", "ship_transfer", True)
        self.ship(iid, ref)
        self.crash_while_held("inventory", "ship_transfer")
        self.s.wait_waiting(iid, "wait_for_receipt")
        self.assert_no_conflict(iid)
        (trf,) = self.transfers_of(ref)
        self.assertEqual(trf["status"], "in_transit")
        deltas = {}
        for l in lines:
            deltas[(SRC, l["sku"])] = (-l["qty"], -l["qty"])
            deltas[(TRANSIT, l["sku"])] = (l["qty"], 0)
        self.assertEqual(self.cells(lines, [SRC, TRANSIT]), self.moved(before, deltas))

    # ------------------------------------------------------------------ inventory.receive_transfer

    def test_receive_transfer(self):
        ref, lines = self.new_transfer()
        iid = self.start_transfer(ref, lines)
        self.ship(iid, ref)
        self.s.wait_waiting(iid, "wait_for_receipt")
        before = self.cells(lines, [DST, TRANSIT])
        self.gate("inventory", "receive_transfer", True)
        self.s.event("received", ref, {"transfer_ref": ref, "lines": lines})
        self.crash_while_held("inventory", "receive_transfer")
        inst = self.s.wait_status(iid, ["completed", "failed", "compensated"])
        self.assert_no_conflict(iid)
        self.assertEqual(inst["status"], "completed", inst)
        (trf,) = self.transfers_of(ref)
        self.assertEqual(trf["status"], "received")
        deltas = {}
        for l in lines:
            deltas[(DST, l["sku"])] = (l["qty"], 0)
            deltas[(TRANSIT, l["sku"])] = (-l["qty"], 0)
        self.assertEqual(self.cells(lines, [DST, TRANSIT]), self.moved(before, deltas))

    # ------------------------------------------------------------------ inventory.cancel_transfer (undo)

    def test_cancel_transfer(self):
        # Odoo refuses to validate the outgoing picking after the goods went into transit: the
        # instance is held for an operator, who cancels it; the undo chain brings the goods back
        # from transit and cancels both pickings (neither is done, so Odoo can cancel them).
        ref, lines = self.new_transfer()
        before = self.cells(lines, [SRC, TRANSIT])  # before the reservation
        iid = self.start_transfer(ref, lines)
        self.s.wait_waiting(iid, "wait_for_shipping")
        self.s.sim_faults("odoo", error_rate=1.0, error_status=400)
        try:
            self.ship(iid, ref)
            self.s.wait_status(iid, "held")
        finally:
            self.s.sim_faults("odoo", error_rate=0.0, error_status=503)
        (trf,) = self.transfers_of(ref)
        self.assertEqual(trf["status"], "in_transit")
        self.gate("inventory", "cancel_transfer", True)
        self.cancel(iid)
        self.crash_while_held("inventory", "cancel_transfer")
        inst = self.s.wait_status(iid, ["cancelled", "compensation_failed", "failed"])
        self.assert_no_conflict(iid)
        self.assertEqual(inst["status"], "cancelled", inst)
        (trf,) = self.transfers_of(ref)
        self.assertEqual(trf["status"], "cancelled")
        (rsv,) = self.reservations(ref)
        self.assertEqual(rsv["status"], "returned")
        # On the source's shelves again, once; nothing left in transit or reserved.
        self.assertEqual(self.cells(lines, [SRC, TRANSIT]), before)


if __name__ == "__main__":
    unittest.main(verbosity=2)
