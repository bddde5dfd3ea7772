"""Exactly once while an earlier attempt is still in flight at Odoo (issue 16, §1).

For the side-effecting Odoo operations the shipped workflows call (create_credit_note,
create_picking, confirm_sale_order, validate_picking, and the undo actions cancel_sale_order,
cancel_picking and return_picking; cancel_credit_note is raced in tests/builtin only), the Odoo simulator's gate holds the call that makes the effect after Odoo
received it, the service is killed with SIGKILL while it is held and restarted, and the held call
is let run late, in both orders:

  * restarted first: the restarted service's attempt runs to the end, then the old call runs and
    is refused (the x_rf_key unique constraint for a create, the record's state for a change);
  * old first: the restarted attempt's call is held too; the old call runs first (a draft credit
    note, a picking nobody confirmed, a validated picking), then the new one, which finds it and
    carries on from there.

Each test asserts exactly one record per key in the right final state, the effect on stock
counted once, and the instance past the step. Synchronisation is on the simulator's gate state
(held / done) and on the instance's history, never on a sleep.
"""

import os
import stat
import subprocess
import sys
import tempfile
import time
import unittest
from decimal import Decimal

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import Stack  # noqa: E402

POS_AUTH = {"Authorization": "Bearer pos-sim-token"}
SRC, DST = "PAR-01", "LON-01"
CREATE_REFUSED = "odoo.exceptions.ValidationError"  # the unique constraint, as Odoo reports it
CHANGE_REFUSED = "odoo.exceptions.UserError"  # e.g. "You cannot validate a transfer if it is done"
CANCEL_AGAIN = "ok"  # Odoo cancels a cancelled order or picking again without complaint


class InflightOdoo(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.s = Stack()
        cls.s.start()
        s = cls.s
        cls.sku_of = {p["id"]: p["default_code"]
                      for p in s.sim_state("odoo", model="product.product")["records"]}
        cls.loc_id = {l["barcode"]: l["id"]
                      for l in s.sim_state("odoo", model="stock.location")["records"]}
        locs = {l["id"]: l for l in s.sim_state("odoo", model="stock.location")["records"]}
        whs = {w["id"]: w for w in s.sim_state("odoo", model="stock.warehouse")["records"]}
        lines = s.sim_state("odoo", model="sale.order.line")["records"]
        cls.orders = []  # seeded draft sale orders: (order, store, lines)
        for o in s.sim_state("odoo", model="sale.order")["records"]:
            store = locs[whs[o["warehouse_id"][0]]["lot_stock_id"][0]]["barcode"]
            ls = {}
            for l in lines:
                if l["order_id"][0] == o["id"]:
                    sku = cls.sku_of[l["product_id"][0]]
                    ls[sku] = ls.get(sku, 0) + int(l["product_uom_qty"])
            cls.orders.append((o, store, [{"sku": k, "qty": v} for k, v in ls.items()]))
        cls.used_orders = set()
        stock = s.sim_state("inventory")["stock"][SRC]
        cls.transfer_skus = [k for k, c in sorted(stock.items())
                             if c["on_hand"] - c["reserved"] >= 20]
        cls.seq = 0

    @classmethod
    def tearDownClass(cls):
        cls.s.stop()

    def tearDown(self):
        # Whatever happened, no call stays held (it would hold a simulator thread).
        for g in self.gates():
            if any(r["state"] == "held" for r in g["requests"]):
                self.s.sim("odoo", "POST", "/__admin/gate",
                           {"model": g["model"], "method": g["method"], "action": "release"})

    # ------------------------------------------------------------------ the gate

    def gates(self):
        st, body, _ = self.s.sim("odoo", "GET", "/__admin/gate")
        self.assertEqual(st, 200, body)
        return body["gates"]

    def requests(self, model, method):
        for g in self.gates():
            if (g["model"], g["method"]) == (model, method):
                return g["requests"]
        return []

    def gate(self, model, method, **command):
        st, body, _ = self.s.sim("odoo", "POST", "/__admin/gate",
                                 dict(command, model=model, method=method))
        self.assertEqual(st, 200, body)

    def wait_request(self, model, method, n, state, timeout=60):
        """Request number `n` of model.method once it is in `state` (held / done)."""
        deadline = time.time() + timeout
        while time.time() < deadline:
            reqs = self.requests(model, method)
            if len(reqs) >= n and reqs[n - 1]["state"] == state:
                return reqs[n - 1]
            time.sleep(0.02)
        self.fail("%s.%s request %d never %s: %s" % (model, method, n, state,
                                                     self.requests(model, method)))

    def race(self, model, method, start, passed, restarted_first, refused):
        """Holds the first call of model.method that `start()` causes, kills and restarts the
        service while it is held, and lets the held call run late (see the module docstring).
        `passed(iid)` waits until the instance is past the step. Returns the instance id."""
        base = len(self.requests(model, method))
        old, new = base + 1, base + 2
        self.gate(model, method, action="hold", count=1 if restarted_first else 2)
        iid = start()
        self.wait_request(model, method, old, "held")
        self.s.kill_service()
        self.s.start_service()
        if restarted_first:
            passed(iid)
            self.assertEqual(len(self.requests(model, method)), old)  # the new call was not held
            self.gate(model, method, action="release", requests=[old])
            late = self.wait_request(model, method, old, "done")
            self.assertEqual(late["outcome"], refused, late)
        else:
            self.wait_request(model, method, new, "held")
            self.gate(model, method, action="release", requests=[old])
            self.assertEqual(self.wait_request(model, method, old, "done")["outcome"], "ok")
            self.gate(model, method, action="release", requests=[new])
            retried = self.wait_request(model, method, new, "done")
            self.assertEqual(retried["outcome"], refused, retried)
            passed(iid)
        return iid

    # ------------------------------------------------------------------ store_return

    def start_return(self, sku):
        st, sale, _ = self.s.sim("pos", "POST", "/sales", {
            "store_id": SRC, "customer_ref": "CUST-0003",
            "occurred_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() - 3 * 86400)),
            "lines": [{"sku": sku, "qty": 1, "discount": 0}]}, headers=POS_AUTH)
        self.assertEqual(st, 201, sale)
        self.sale = sale
        st, out, _ = self.s.sim("pos", "POST", "/__admin/emit",
                                {"type": "return.initiated", "sale_id": sale["sale_id"]})
        self.assertEqual(st, 202, out)
        return_id = out["return"]["return_id"]
        deadline = time.time() + 60
        while time.time() < deadline:
            st, body, _ = self.s.api("GET", "/v1/instances?workflow=store_return&business_key=" +
                                     return_id, role="viewer")
            if st == 200 and body["items"]:
                return body["items"][0]["id"]
            time.sleep(0.02)
        self.fail("no store_return instance for " + return_id)

    def credit_note_race(self, sku, restarted_first):
        iid = self.race("account.move", "create", lambda: self.start_return(sku),
                        lambda i: self.s.wait_status(i, "completed", timeout=90),
                        restarted_first, CREATE_REFUSED)
        moves = [m for m in self.s.sim_state("odoo", model="account.move")["records"]
                 if m["move_type"] == "out_refund" and m["ref"] == self.sale["receipt_no"]]
        self.assertEqual(len(moves), 1, moves)
        self.assertEqual(moves[0]["state"], "posted")
        self.assertTrue(moves[0]["x_rf_key"])
        self.assertEqual(Decimal(str(moves[0]["amount_total"])),
                         Decimal(self.sale["totals"]["total"]) / 100)
        return iid

    def test_credit_note_restarted_attempt_first(self):
        self.credit_note_race("SKU-0081", restarted_first=True)

    def test_credit_note_old_attempt_first(self):
        self.credit_note_race("SKU-0082", restarted_first=False)

    # ------------------------------------------------------------------ store_transfer

    def start_transfer(self):
        type(self).seq += 1
        ref = "TR-INFLIGHT-%03d" % self.seq
        sku = self.transfer_skus[self.seq - 1]
        self.transfer = (ref, [{"sku": sku, "qty": 2}])
        return self.s.start_instance("store_transfer", {
            "transfer_ref": ref, "from_store": SRC, "to_store": DST,
            "lines": self.transfer[1]}, ref)

    def picking_race(self, restarted_first):
        self.race("stock.picking", "create", self.start_transfer,
                  lambda i: self.s.wait_waiting(i, "wait_for_shipping"),
                  restarted_first, CREATE_REFUSED)
        ref = self.transfer[0]
        picks = [p for p in self.s.sim_state("odoo", model="stock.picking")["records"]
                 if p["origin"] == ref]
        by_type = {}
        for p in picks:
            by_type.setdefault(p["picking_type_id"][1], []).append(p)
        self.assertEqual(sorted((t, len(ps)) for t, ps in by_type.items()),
                         [("Delivery Orders", 1), ("Receipts", 1)], picks)
        self.assertEqual(by_type["Delivery Orders"][0]["state"], "assigned")
        self.assertEqual(by_type["Receipts"][0]["state"], "assigned")
        self.assertEqual(len({p["x_rf_key"] for p in picks}), 2)

    def test_picking_restarted_attempt_first(self):
        self.picking_race(restarted_first=True)

    def test_picking_old_attempt_first(self):
        self.picking_race(restarted_first=False)

    # ------------------------------------------------------------------ click_and_collect

    def take_order(self):
        stock = self.s.sim_state("inventory")["stock"]
        for o, store, lines in self.orders:
            ref = o["client_order_ref"]
            if ref in self.used_orders:
                continue
            if all(stock[store][l["sku"]]["on_hand"] - stock[store][l["sku"]]["reserved"]
                   >= l["qty"] for l in lines):
                self.used_orders.add(ref)
                return ref, store, lines, o
        self.fail("no seeded order left")

    def start_order(self, ref, store, lines, order):
        return self.s.start_instance("click_and_collect", {
            "order_ref": ref, "store_id": store, "customer_email": "inflight@example.com",
            "lines": lines, "amount": order["amount_total"]}, ref)

    def sale_order(self, ref):
        (so,) = [o for o in self.s.sim_state("odoo", model="sale.order")["records"]
                 if o["client_order_ref"] == ref]
        return so

    def pickings_of(self, so):
        return [p for p in self.s.sim_state("odoo", model="stock.picking")["records"]
                if p["origin"] == so["name"]]

    def odoo_qty(self, store):
        out = {}
        for q in self.s.sim_state("odoo", model="stock.quant")["records"]:
            if q["location_id"][0] == self.loc_id[store]:
                sku = self.sku_of[q["product_id"][0]]
                out[sku] = out.get(sku, 0) + q["quantity"]
        return out

    def confirm_race(self, restarted_first):
        order = self.take_order()
        ref = order[0]
        self.race("sale.order", "action_confirm", lambda: self.start_order(*order),
                  lambda i: self.s.wait_waiting(i, "wait_for_pickup"),
                  restarted_first, CHANGE_REFUSED)
        so = self.sale_order(ref)
        self.assertEqual(so["state"], "sale")
        picks = self.pickings_of(so)
        self.assertEqual(len(picks), 1, picks)  # one confirmation: one delivery
        self.assertEqual(picks[0]["state"], "assigned")

    def test_confirm_order_restarted_attempt_first(self):
        self.confirm_race(restarted_first=True)

    def test_confirm_order_old_attempt_first(self):
        self.confirm_race(restarted_first=False)

    def validate_race(self, restarted_first):
        ref, store, lines, order = self.take_order()
        iid = self.start_order(ref, store, lines, order)
        self.s.wait_waiting(iid, "wait_for_pickup")
        qty_before = self.odoo_qty(store)

        def pickup():
            self.s.event("pickup", ref, {"order_ref": ref, "scanned_at": "2026-11-27T10:00:00Z"})
            return iid
        self.race("stock.picking", "button_validate", pickup,
                  lambda i: self.s.wait_status(i, "completed", timeout=90),
                  restarted_first, CHANGE_REFUSED)
        (pick,) = self.pickings_of(self.sale_order(ref))
        self.assertEqual(pick["state"], "done")
        after = self.odoo_qty(store)
        for l in lines:  # the goods left the store's stock once
            self.assertEqual(after[l["sku"]], qty_before[l["sku"]] - l["qty"], l)

    def test_validate_picking_restarted_attempt_first(self):
        self.validate_race(restarted_first=True)

    def test_validate_picking_old_attempt_first(self):
        self.validate_race(restarted_first=False)

    # ------------------------------------------------------------------ undo actions

    def test_cancel_picking_restarted_attempt_first(self):
        self.cancel_picking_race(restarted_first=True)

    def test_cancel_picking_old_attempt_first(self):
        self.cancel_picking_race(restarted_first=False)

    def cancel_picking_race(self, restarted_first):
        """Nothing shipped within 3 days: the undo chain cancels both pickings."""
        iid = self.start_transfer()
        self.s.wait_waiting(iid, "wait_for_shipping")
        self.race("stock.picking", "action_cancel", lambda: (self.s.advance("3d1h"), iid)[1],
                  lambda i: self.s.wait_status(i, "compensated", timeout=90),
                  restarted_first, CANCEL_AGAIN)
        picks = [p for p in self.s.sim_state("odoo", model="stock.picking")["records"]
                 if p["origin"] == self.transfer[0]]
        self.assertEqual(sorted(p["state"] for p in picks), ["cancel", "cancel"], picks)

    def test_return_picking_restarted_attempt_first(self):
        self.return_race(restarted_first=True)

    def test_return_picking_old_attempt_first(self):
        self.return_race(restarted_first=False)

    def return_race(self, restarted_first):
        """An operator cancels a transfer that was shipped: the undo chain returns the validated
        outgoing picking with Odoo's return wizard (stock.return.picking.action_create_returns
        makes the return picking, with the wizard's key)."""
        qty_before = self.odoo_qty(SRC)
        iid = self.start_transfer()
        ref, lines = self.transfer
        self.s.wait_waiting(iid, "wait_for_shipping")
        self.s.event("shipped", ref, {"transfer_ref": ref, "shipped_at": "2026-11-27T08:00:00Z"})
        self.s.wait_waiting(iid, "wait_for_receipt")

        def cancel():
            st, body, _ = self.s.api("POST", "/v1/instances/%s/cancel" % iid, {"reason": "e2e"})
            self.assertIn(st, (200, 202), body)
            return iid
        self.race("stock.return.picking", "action_create_returns", cancel,
                  lambda i: self.s.wait_status(i, ["cancelled", "compensation_failed",
                                                   "failed"], timeout=90),
                  restarted_first, CREATE_REFUSED)
        # The return, the transit cancellation and the incoming picking's cancellation are undone;
        # the flow then asks Odoo to cancel the outgoing picking, which is done (and returned):
        # Odoo refuses, so the chain stops there (store_transfer.flow's undo, not this race).
        inst = self.s.instance(iid)
        self.assertEqual(inst["status"], "compensation_failed")
        self.assertEqual(inst["error"]["undo_step"], "create_outgoing_picking")
        self.assertEqual(inst["compensation"]["undone"], 3)
        picks = {p["id"]: p for p in self.s.sim_state("odoo", model="stock.picking")["records"]}
        (out,) = [p for p in picks.values() if p["origin"] == ref and
                  p["picking_type_id"][1] == "Delivery Orders"]
        returns = [p for p in picks.values() if p["return_id"] and p["return_id"][0] == out["id"]]
        self.assertEqual(len(returns), 1, returns)  # returned once
        self.assertEqual(returns[0]["state"], "done")
        self.assertTrue(returns[0]["x_rf_key"])
        after = self.odoo_qty(SRC)
        for l in lines:  # shipped out once, returned once
            self.assertEqual(after[l["sku"]], qty_before[l["sku"]], l)

    def test_cancel_order_restarted_attempt_first(self):
        self.cancel_order_race(restarted_first=True)

    def test_cancel_order_old_attempt_first(self):
        self.cancel_order_race(restarted_first=False)

    def cancel_order_race(self, restarted_first):
        """The customer never comes: the undo chain cancels the sale order and its delivery."""
        order = self.take_order()
        ref = order[0]
        iid = self.start_order(*order)
        self.s.wait_waiting(iid, "wait_for_pickup")
        self.s.advance("5d1h")
        self.s.wait_waiting(iid, "wait_after_reminder")
        self.race("sale.order", "action_cancel", lambda: (self.s.advance("2d1h"), iid)[1],
                  lambda i: self.s.wait_status(i, "compensated", timeout=90),
                  restarted_first, CANCEL_AGAIN)
        so = self.sale_order(ref)
        self.assertEqual(so["state"], "cancel")
        self.assertEqual([p["state"] for p in self.pickings_of(so)], ["cancel"])



class InflightOdooWithoutAddon(InflightOdoo):
    """The weaker mode for an Odoo without the addon (no unique constraint): the service runs
    the odoo connector with "idempotency": "search_after_deadline", so a re-dispatch after the
    restart waits until the killed attempt's deadline has passed before it searches by key. The
    held create is released right after the restart, well before that deadline (the mode's
    assumption: Odoo is done with a request by its caller's deadline); the re-dispatch then finds
    the draft it left and posts it."""

    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="rf_weak_")
        config = subprocess.run([harness.CLI, "serve", "--print-default-config"], check=True,
                                capture_output=True, text=True).stdout
        odoo = '"reference_field": "x_rf_key"'
        assert odoo in config, "the default configuration's odoo settings changed"
        path = os.path.join(cls.tmp, "retailflow.jsonc")
        with open(path, "w") as f:
            f.write(config.replace(odoo, odoo + ', "idempotency": "search_after_deadline"'))
        # The harness starts harness.CLI: a wrapper that execs the real binary with this config
        # (exec: the harness's SIGKILL reaches the service itself).
        wrapper = os.path.join(cls.tmp, "retailflow")
        with open(wrapper, "w") as f:
            f.write('#!/bin/sh\nexec "%s" "$@" --config "%s"\n' % (os.path.abspath(harness.CLI),
                                                                  path))
        os.chmod(wrapper, os.stat(wrapper).st_mode | stat.S_IXUSR)
        cls.real_cli, harness.CLI = harness.CLI, wrapper
        try:
            super().setUpClass()
        finally:
            harness.CLI = cls.real_cli
        st, body, _ = cls.s.sim("odoo", "POST", "/__admin/addon", {"installed": False})
        assert st == 200 and body == {"installed": False}, body

    @classmethod
    def tearDownClass(cls):
        super().tearDownClass()
        import shutil
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def test_credit_note_old_attempt_done_before_its_deadline(self):
        model, method = "account.move", "create"
        base = len(self.requests(model, method))
        self.gate(model, method, action="hold", count=1)
        iid = self.start_return("SKU-0083")
        self.wait_request(model, method, base + 1, "held")
        self.s.kill_service()
        harness.CLI, real = os.path.join(self.tmp, "retailflow"), harness.CLI
        try:
            self.s.start_service()
        finally:
            harness.CLI = real
        self.gate(model, method, action="release", requests=[base + 1])
        self.assertEqual(self.wait_request(model, method, base + 1, "done")["outcome"], "ok")
        self.s.wait_status(iid, "completed", timeout=120)
        moves = [m for m in self.s.sim_state("odoo", model="account.move")["records"]
                 if m["move_type"] == "out_refund" and m["ref"] == self.sale["receipt_no"]]
        self.assertEqual(len(moves), 1, moves)
        self.assertEqual(moves[0]["state"], "posted")


# The addon tests run once, in InflightOdoo, not again in the weaker mode's class.
for _name in [n for n in dir(InflightOdoo) if n.startswith("test_")]:
    setattr(InflightOdooWithoutAddon, _name, None)


if __name__ == "__main__":
    unittest.main(verbosity=2)
