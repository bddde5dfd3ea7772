"""End to end: workflows/store_transfer.flow through `retailflow serve` against the simulators.

Each test moves stock from PAR-01 to LON-01 (a transfer reference of its own), drives the flow
with the `shipped` and `received` events (POST /v1/events/{name}), approvals and the adjustable
clock, and asserts exact quantities in the inventory platform (stores and `transit`) and in Odoo's
quants, the pickings Odoo holds for the transfer, and the platform's transfers, reservations and
adjustments.
"""

import os
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import Stack  # noqa: E402

SRC, DST, TRANSIT = "PAR-01", "LON-01", "transit"


class StoreTransfer(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.s = Stack()
        cls.addClassCleanup(cls.s.stop)  # also when the rest of setUpClass fails
        cls.s.start()
        stock = cls.s.sim_state("inventory")["stock"][SRC]
        # SKUs the source can ship in every test (each reserves at most 3 + 2 of the first two).
        cls.skus = [sku for sku, c in sorted(stock.items()) if c["on_hand"] - c["reserved"] >= 20]
        cls.seq = 0
        cls.sku_of = {p["id"]: p["default_code"]
                      for p in cls.s.sim_state("odoo", model="product.product")["records"]}
        cls.loc_id = {l["barcode"]: l["id"]
                      for l in cls.s.sim_state("odoo", model="stock.location")["records"]}

    @classmethod
    def tearDownClass(cls):
        cls.s.stop()

    # ------------------------------------------------------------------ helpers

    def new_transfer(self, n_skus=2):
        type(self).seq += 1
        ref = "TR-E2E-%03d" % self.seq
        i = 2 * (self.seq - 1)
        skus = self.skus[i:i + n_skus]
        lines = [{"sku": skus[0], "qty": 3}] + [{"sku": k, "qty": 2} for k in skus[1:]]
        return ref, lines

    def start(self, ref, lines):
        return self.s.start_instance("store_transfer", {
            "transfer_ref": ref, "from_store": SRC, "to_store": DST, "lines": lines}, ref)

    def wait_history(self, iid, pred, what, timeout=60):
        return self.s.wait_history(iid, pred, what, timeout)

    def wait_waiting(self, iid, state):
        return self.s.wait_waiting(iid, state)

    def inv(self, lines):
        """{(location, sku): (on_hand, reserved)} for the transfer's SKUs."""
        stock = self.s.sim_state("inventory")["stock"]
        out = {}
        for loc in (SRC, DST, TRANSIT):
            for l in lines:
                c = stock[loc].get(l["sku"], {"on_hand": 0, "reserved": 0})
                out[(loc, l["sku"])] = (c["on_hand"], c["reserved"])
        return out

    def odoo(self, lines):
        """{(location, sku): quantity} of Odoo's quants for the transfer's SKUs."""
        want = {l["sku"] for l in lines}
        out = {(loc, sku): 0 for loc in (SRC, DST, TRANSIT) for sku in want}
        by_id = {v: ("transit" if k == "TRANSIT" else k) for k, v in self.loc_id.items()}
        for q in self.s.sim_state("odoo", model="stock.quant")["records"]:
            loc, sku = by_id.get(q["location_id"][0]), self.sku_of[q["product_id"][0]]
            if (loc, sku) in out:
                out[(loc, sku)] += q["quantity"]
        return out

    def moved(self, before, deltas):
        """`before` with {(loc, sku): delta} added to the first member (on_hand / quantity)."""
        out = dict(before)
        for k, d in deltas.items():
            v = out[k]
            out[k] = (v[0] + d, v[1]) if isinstance(v, tuple) else v + d
        return out

    def pickings(self, ref):
        ps = [p for p in self.s.sim_state("odoo", model="stock.picking")["records"]
              if p["origin"] == ref]
        return {p["picking_type_id"][1]: p for p in ps}, len(ps)

    def picking_moves(self, picking):
        return sorted((self.sku_of[m["product_id"][0]], m["quantity"], m["state"])
                      for m in self.s.sim_state("odoo", model="stock.move")["records"]
                      if m["picking_id"][0] == picking["id"])

    def platform(self, ref):
        st = self.s.sim_state("inventory")
        return ([r for r in st["reservations"].values() if r["reference"] == ref],
                [t for t in st["transfers"].values() if t["reference"] == ref],
                [a for a in st["adjustments"].values() if ref in a["reason"]])

    def ship(self, iid, ref):
        self.wait_waiting(iid, "wait_for_shipping")
        self.s.event("shipped", ref, {"transfer_ref": ref, "shipped_at": "2026-11-27T08:00:00Z"})
        self.wait_waiting(iid, "wait_for_receipt")

    # ------------------------------------------------------------------ tests

    def test_1_happy_path(self):
        s = self.s
        ref, lines = self.new_transfer()
        inv0, odoo0 = self.inv(lines), self.odoo(lines)
        iid = self.start(ref, lines)
        self.ship(iid, ref)
        s.event("received", ref, {"transfer_ref": ref, "lines": lines})
        inst = s.wait_status(iid, "completed")
        self.assertEqual(inst["outcome"],
                         "Transfer %s from %s to %s is complete." % (ref, SRC, DST))

        deltas = {}
        for l in lines:
            deltas[(SRC, l["sku"])] = -l["qty"]
            deltas[(DST, l["sku"])] = l["qty"]
        self.assertEqual(self.inv(lines), self.moved(inv0, deltas))
        self.assertEqual(self.odoo(lines), self.moved(odoo0, deltas))
        pickings, n = self.pickings(ref)
        self.assertEqual(n, 2)
        self.assertEqual(pickings["Delivery Orders"]["state"], "done")
        self.assertEqual(pickings["Receipts"]["state"], "done")
        rsv, trf, adj = self.platform(ref)
        self.assertEqual([r["status"] for r in rsv], ["shipped"])
        self.assertEqual([t["status"] for t in trf], ["received"])
        self.assertEqual(trf[0]["discrepancies"], [])
        self.assertEqual(adj, [])

    def test_2_discrepancy_approved(self):
        s = self.s
        ref, lines = self.new_transfer()
        a, b = lines[0]["sku"], lines[1]["sku"]  # 3 of a and 2 of b sent
        got = [{"sku": a, "qty": 2}, {"sku": b, "qty": 2}]  # one unit of a never arrived
        inv0, odoo0 = self.inv(lines), self.odoo(lines)
        iid = self.start(ref, lines)
        self.ship(iid, ref)
        s.event("received", ref, {"transfer_ref": ref, "lines": got})
        task = s.wait_task(iid, "store_manager")
        self.assertEqual(task["state"], "discrepancy_approval")
        self.assertEqual(task["title"], "Transfer %s: 4 units received of 5 sent. Accept the "
                                        "receipt?" % ref)
        s.decide(task, "approve", "store_manager", "one unit missing, accepted")
        s.wait_status(iid, "completed")

        # Platform: 3 + 2 left the source, 2 + 2 arrived, the missing unit was written off
        # from transit.
        self.assertEqual(self.inv(lines), self.moved(inv0, {
            (SRC, a): -3, (SRC, b): -2, (DST, a): 2, (DST, b): 2}))
        rsv, trf, adj = self.platform(ref)
        self.assertEqual([t["missing_lines"] for t in trf], [[{"sku": a, "qty": 1}]])
        self.assertEqual(len(adj), 1)
        self.assertEqual((adj[0]["location"], adj[0]["direction"], adj[0]["lines"]),
                         (TRANSIT, "out", [{"sku": a, "qty": 1}]))
        self.assertEqual(adj[0]["reason"], "shortfall on transfer " + ref)

        # Odoo: the outgoing picking moved 3 + 2 into transit, the incoming one was validated
        # with what arrived (no backorder). There is no Odoo write-off operation in the catalog,
        # so the missing unit stays in Odoo's transit location.
        pickings, n = self.pickings(ref)
        self.assertEqual(n, 2)
        self.assertEqual(self.picking_moves(pickings["Delivery Orders"]),
                         sorted([(a, 3.0, "done"), (b, 2.0, "done")]))
        self.assertEqual(self.picking_moves(pickings["Receipts"]),
                         sorted([(a, 2.0, "done"), (b, 2.0, "done")]))
        self.assertEqual(pickings["Receipts"]["state"], "done")
        self.assertEqual(self.odoo(lines), self.moved(odoo0, {
            (SRC, a): -3, (SRC, b): -2, (DST, a): 2, (DST, b): 2, (TRANSIT, a): 1}))

    def test_6_discrepancy_rejected_stays_in_transit(self):
        s = self.s
        ref, lines = self.new_transfer()
        a, b = lines[0]["sku"], lines[1]["sku"]
        got = [{"sku": a, "qty": 1}, {"sku": b, "qty": 2}]
        inv0, odoo0 = self.inv(lines), self.odoo(lines)
        iid = self.start(ref, lines)
        self.ship(iid, ref)
        s.event("received", ref, {"transfer_ref": ref, "lines": got})
        task = s.wait_task(iid, "store_manager")
        s.decide(task, "reject", "store_manager", "two units missing: open an investigation")
        inst = s.wait_status(iid, ["completed", "compensated", "failed", "compensation_failed"])
        # A disputed receipt is not undone: the goods left the source and stay in transit.
        self.assertEqual(inst["status"], "completed", inst)
        self.assertIn("stay in transit for an investigation", inst["outcome"])
        self.assertEqual(self.inv(lines), self.moved(inv0, {
            (SRC, a): -3, (SRC, b): -2, (TRANSIT, a): 3, (TRANSIT, b): 2}))
        rsv, trf, adj = self.platform(ref)
        self.assertEqual([t["status"] for t in trf], ["in_transit"])
        self.assertEqual(adj, [])
        pickings, n = self.pickings(ref)
        self.assertEqual(n, 2)
        self.assertEqual(pickings["Delivery Orders"]["state"], "done")
        self.assertNotEqual(pickings["Receipts"]["state"], "done")
        self.assertEqual(self.odoo(lines), self.moved(odoo0, {
            (SRC, a): -3, (SRC, b): -2, (TRANSIT, a): 3, (TRANSIT, b): 2}))
        self.assertEqual(s.api("GET", "/v1/dead-letters", role="viewer")[1]["items"], [])

    def test_3_not_shipped(self):
        s = self.s
        ref, lines = self.new_transfer()
        inv0, odoo0 = self.inv(lines), self.odoo(lines)
        iid = self.start(ref, lines)
        self.wait_waiting(iid, "wait_for_shipping")
        self.assertEqual([r["status"] for r in self.platform(ref)[0]], ["active"])
        s.advance("3d1h")
        inst = s.wait_status(iid, ["compensated", "failed", "compensation_failed"])
        self.assertEqual(inst["status"], "compensated")
        self.assertEqual(inst["error"]["state"], "not_shipped")
        rsv, trf, adj = self.platform(ref)
        self.assertEqual([r["status"] for r in rsv], ["released"])
        self.assertEqual((trf, adj), ([], []))
        self.assertEqual(self.inv(lines), inv0)
        self.assertEqual(self.odoo(lines), odoo0)
        pickings, n = self.pickings(ref)
        self.assertEqual(n, 2)
        self.assertEqual(sorted(p["state"] for p in pickings.values()), ["cancel", "cancel"])

    def test_4_discrepancy_escalated_to_regional_manager(self):
        # Nobody decides the store manager's task within 2 days: the regional manager decides.
        s = self.s
        ref, lines = self.new_transfer()
        a, b = lines[0]["sku"], lines[1]["sku"]  # 3 of a and 2 of b sent
        got = [{"sku": a, "qty": 3}, {"sku": b, "qty": 0}]  # none of b arrived
        inv0, odoo0 = self.inv(lines), self.odoo(lines)
        iid = self.start(ref, lines)
        self.ship(iid, ref)
        s.event("received", ref, {"transfer_ref": ref, "lines": got})
        s.wait_task(iid, "store_manager")
        s.advance("2d1h")
        task = s.wait_task(iid, "regional_manager")
        self.assertEqual(task["state"], "regional_review")
        st, open_tasks, _ = s.api("GET", "/v1/tasks?role=store_manager", role="store_manager")
        self.assertEqual([t for t in open_tasks["items"] if t["instance"] == iid], [])
        s.decide(task, "approve", "regional_manager", "b never left the store, book it")
        s.wait_status(iid, "completed")
        self.assertTrue(s.instance(iid)["data"]["discrepancy_approval"]["escalated"])

        self.assertEqual(self.inv(lines), self.moved(inv0, {
            (SRC, a): -3, (SRC, b): -2, (DST, a): 3}))
        rsv, trf, adj = self.platform(ref)
        self.assertEqual([t["missing_lines"] for t in trf], [[{"sku": b, "qty": 2}]])
        self.assertEqual([(x["location"], x["direction"], x["lines"]) for x in adj],
                         [(TRANSIT, "out", [{"sku": b, "qty": 2}])])
        pickings, n = self.pickings(ref)
        self.assertEqual(n, 2)
        self.assertEqual(self.picking_moves(pickings["Receipts"]),
                         sorted([(a, 3.0, "done"), (b, 0.0, "cancel")]))
        self.assertEqual(self.odoo(lines), self.moved(odoo0, {
            (SRC, a): -3, (SRC, b): -2, (DST, a): 3, (TRANSIT, b): 2}))

    def test_5_killed_between_shipped_and_received(self):
        s = self.s
        ref, lines = self.new_transfer()
        ref2, lines2 = self.new_transfer()
        inv0, odoo0 = self.inv(lines + lines2), self.odoo(lines + lines2)
        iid = self.start(ref, lines)
        iid2 = self.start(ref2, lines2)
        self.wait_waiting(iid, "wait_for_shipping")
        self.wait_waiting(iid2, "wait_for_shipping")
        # The first is killed right after its `shipped` event was accepted (mid-steps), the
        # second while it waits for the receipt.
        s.event("shipped", ref2, {"transfer_ref": ref2, "shipped_at": "2026-11-27T08:00:00Z"})
        self.wait_waiting(iid2, "wait_for_receipt")
        s.event("shipped", ref, {"transfer_ref": ref, "shipped_at": "2026-11-27T08:00:00Z"})
        s.kill_service()
        s.start_service()
        self.wait_waiting(iid, "wait_for_receipt")
        s.event("received", ref, {"transfer_ref": ref, "lines": lines})
        s.event("received", ref2, {"transfer_ref": ref2, "lines": lines2})
        s.wait_status(iid, "completed")
        s.wait_status(iid2, "completed")

        deltas = {}
        for l in lines + lines2:
            deltas[(SRC, l["sku"])] = -l["qty"]
            deltas[(DST, l["sku"])] = l["qty"]
        self.assertEqual(self.inv(lines + lines2), self.moved(inv0, deltas))
        self.assertEqual(self.odoo(lines + lines2), self.moved(odoo0, deltas))
        for r in (ref, ref2):
            pickings, n = self.pickings(r)
            self.assertEqual(n, 2, r)
            self.assertEqual(sorted(p["state"] for p in pickings.values()), ["done", "done"])
            rsv, trf, adj = self.platform(r)
            self.assertEqual([x["status"] for x in rsv], ["shipped"], r)
            self.assertEqual([t["status"] for t in trf], ["received"], r)
            self.assertEqual(adj, [], r)


if __name__ == "__main__":
    unittest.main(verbosity=2)
