"""stock_reconciliation end to end: workflows/stock_reconciliation.flow compares the inventory
simulator's stock with the Odoo simulator's quants (both seeded with simlib.starting_stock for the
same --seed, so they agree until something moves), started through the API and by its nightly
schedule in the store's time zone. Asserts the exceptions found, the approvals and the messages.
"""

import datetime
import os
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import Stack, http  # noqa: E402

INV_AUTH = {"Authorization": "Bearer inventory-sim-token"}
SCHEDULES = [("PAR-01", "Europe/Paris"), ("LON-01", "Europe/London"), ("NYC-01", "America/New_York")]


class ReconciliationTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.s = Stack()
        cls.addClassCleanup(cls.s.stop)  # also when the rest of setUpClass fails
        cls.s.start()

    @classmethod
    def tearDownClass(cls):
        cls.s.stop()

    # ------------------------------------------------------------------ helpers

    def run_for(self, store, key):
        return self.s.start_instance("stock_reconciliation", {"store_id": store, "tolerance": 0}, key)

    def platform(self, store):
        st, body, _ = self.s.sim("inventory", "GET", "/v1/locations/%s/availability" % store, headers=INV_AUTH)
        self.assertEqual(st, 200, body)
        return {i["sku"]: i["on_hand"] for i in body["items"]}

    def odoo(self, model, method, args, kw=None):
        st, body, _ = http("POST", self.s.sim_url("odoo") + "/jsonrpc", {
            "jsonrpc": "2.0", "id": 1, "method": "call",
            "params": {"service": "object", "method": "execute_kw",
                       "args": ["retail", 6, "rf-odoo-key", model, method, args, kw or {}]}})
        self.assertEqual(st, 200, body)
        self.assertNotIn("error", body)
        return body.get("result")

    def messages(self, template, to):
        return [m for m in self.s.sim_state("notify")["messages"]
                if m["template"] == template and m["to"] == to]

    def schedule_instances(self):
        st, body, _ = self.s.api("GET", "/v1/instances?workflow=stock_reconciliation&limit=500", role="viewer")
        self.assertEqual(st, 200, body)
        return [i for i in body["items"] if i["business_key"].startswith("schedule-")]

    # ------------------------------------------------------------------ tests

    def test_1_in_balance_when_both_systems_agree(self):
        inst = self.s.wait_status(self.run_for("LON-01", "recon-LON-01-balanced"), "completed")
        self.assertEqual(inst["outcome"], "Stock at LON-01 matches within 0.")
        self.assertEqual(len(inst["data"]["compared"]), 200)
        self.assertEqual(inst["data"]["exceptions"], [])
        self.assertEqual(self.messages("stock_exceptions", "stock-control"), [])

    def test_2_nightly_schedule_fires_at_0230_in_the_store_zone(self):
        try:
            from zoneinfo import ZoneInfo
            zones = {store: ZoneInfo(z) for store, z in SCHEDULES}
        except Exception as e:  # no tz database on this machine
            self.skipTest("zoneinfo: %s" % e)
        self.assertEqual(self.schedule_instances(), [])
        now = datetime.datetime.fromisoformat(self.s.advance("1s").replace("Z", "+00:00"))

        def next_0230(zone):
            local = now.astimezone(zone)
            for day in range(3):
                d = local.date() + datetime.timedelta(days=day)
                slot = datetime.datetime(d.year, d.month, d.day, 2, 30, tzinfo=zone)
                if slot > now:
                    return slot.astimezone(datetime.timezone.utc)

        slots = {store: next_0230(zone) for store, zone in zones.items()}
        target = slots["PAR-01"] + datetime.timedelta(minutes=1)  # just past 02:30 in Paris
        self.s.advance("%ds" % int((target - now).total_seconds()))
        expected = sorted(store for store, slot in slots.items() if slot <= target)
        self.assertIn("PAR-01", expected)
        deadline = time.time() + 30
        while len(self.schedule_instances()) < len(expected) and time.time() < deadline:
            time.sleep(0.05)
        started = self.schedule_instances()
        self.assertEqual(sorted(i["data"]["input"]["store_id"] for i in started), expected)
        par = next(i for i in started if i["data"]["input"]["store_id"] == "PAR-01")
        self.assertIn(slots["PAR-01"].strftime("%Y-%m-%dT%H:%M:%S"), par["business_key"])
        inst = self.s.wait_status(par["id"], "completed")
        self.assertEqual(inst["outcome"], "Stock at PAR-01 matches within 0.")

    def test_3_platform_discrepancy_reviewed_and_recount_requested(self):
        before = self.platform("NYC-01")
        sku = sorted(s for s, q in before.items() if q > 0)[3]
        st, body, _ = self.s.sim("inventory", "POST", "/v1/adjustments", {
            "location": "NYC-01", "lines": [{"sku": sku, "qty": 3}], "direction": "in",
            "reason": "found in the back room, not booked in Odoo"}, headers=INV_AUTH)
        self.assertEqual(st, 201, body)
        iid = self.run_for("NYC-01", "recon-NYC-01-found-stock")
        task = self.s.wait_task(iid, "stock_controller")
        self.assertEqual(task["title"], "1 SKUs differ between the inventory platform and Odoo at NYC-01")
        inst = self.s.instance(iid)
        self.assertEqual(inst["data"]["exceptions"],
                         [{"sku": sku, "platform_qty": before[sku] + 3, "odoo_qty": before[sku]}])
        alerts = self.messages("stock_exceptions", "stock-control")
        self.assertEqual(len(alerts), 1, alerts)
        self.assertEqual(alerts[0]["data"]["store"], "NYC-01")
        self.assertEqual([e["sku"] for e in alerts[0]["data"]["exceptions"]], [sku])
        self.s.decide(task, "reject", "stock_controller", "count it again")
        inst = self.s.wait_status(iid, "completed")
        self.assertEqual(inst["outcome"], "A recount of 1 SKUs was requested at NYC-01.")
        recounts = self.messages("recount_request", "store-NYC-01")
        self.assertEqual(len(recounts), 1, recounts)
        self.assertEqual(recounts[0]["data"]["exceptions"][0]["sku"], sku)

    def test_4_odoo_discrepancy_reviewed_and_accepted(self):
        platform = self.platform("LON-01")
        sku = sorted(s for s, q in platform.items() if q >= 2)[5]
        # Odoo's quant is counted 2 lower (an inventory adjustment in Odoo only).
        qid = self.odoo("stock.quant", "search", [[["product_id.default_code", "=", sku],
                                                   ["location_id.barcode", "=", "LON-01"]]])
        self.assertEqual(len(qid), 1)
        self.odoo("stock.quant", "write", [qid, {"inventory_quantity": platform[sku] - 2}])
        self.odoo("stock.quant", "action_apply_inventory", [qid])
        iid = self.run_for("LON-01", "recon-LON-01-odoo-count")
        task = self.s.wait_task(iid, "stock_controller")
        self.assertEqual(self.s.instance(iid)["data"]["exceptions"],
                         [{"sku": sku, "platform_qty": platform[sku], "odoo_qty": platform[sku] - 2}])
        self.s.decide(task, "approve", "stock_controller", "shrinkage confirmed")
        inst = self.s.wait_status(iid, "completed")
        self.assertEqual(inst["outcome"], "1 stock differences at LON-01 were reviewed and accepted.")
        self.assertEqual(inst["data"]["review_exceptions"]["decision"], "approve")
        self.assertEqual(self.messages("recount_request", "store-LON-01"), [])


if __name__ == "__main__":
    unittest.main(verbosity=2)
