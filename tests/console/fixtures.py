"""The console's browser tests' world: the e2e harness's Stack (real simulators, the real
`retailflow serve` on a free port with a temp data dir) plus the instances each scenario needs,
made through the simulators and the API exactly as the e2e tests make them.

    python3 tests/console/fixtures.py --serve   # a stack for working on the console by hand
"""

import json
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "e2e"))
from harness import Stack  # noqa: E402

POS_AUTH = {"Authorization": "Bearer pos-sim-token"}
DAY = 86400


def iso(ts):
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(ts))


class World:
    def __init__(self, stack):
        self.s = stack

    def sale(self, lines, store="PAR-01", customer="CUST-0003", days_ago=3):
        st, body, _ = self.s.sim("pos", "POST", "/sales", {
            "store_id": store, "customer_ref": customer, "occurred_at": iso(time.time() - days_ago * DAY),
            "lines": [{"sku": sku, "qty": q, "discount": d} for sku, q, d in lines]}, headers=POS_AUTH)
        assert st == 201, body
        return body

    def emit_return(self, sale_id):
        st, out, _ = self.s.sim("pos", "POST", "/__admin/emit", {"type": "return.initiated", "sale_id": sale_id})
        assert st == 202, out
        return out["return"]

    def instance_of(self, return_id, timeout=30):
        deadline = time.time() + timeout
        while time.time() < deadline:
            st, body, _ = self.s.api("GET", "/v1/instances?workflow=store_return&business_key=" + return_id, role="viewer")
            if st == 200 and body["items"]:
                return body["items"][0]["id"]
            time.sleep(0.05)
        raise AssertionError("no store_return instance for " + return_id)

    def small_return(self, sku):
        """A return that completes on its own (restock, credit note, notification)."""
        sale = self.sale([(sku, 1, 0)])
        ret = self.emit_return(sale["sale_id"])
        iid = self.instance_of(ret["return_id"])
        self.s.wait_status(iid, "completed")
        return {"id": iid, "business_key": ret["return_id"]}

    def approval_return(self, sku="SKU-0010"):
        """A high-value return waiting for a store manager's approval."""
        sale = self.sale([(sku, 1, 0)])
        ret = self.emit_return(sale["sale_id"])
        iid = self.instance_of(ret["return_id"])
        task = self.s.wait_task(iid, "store_manager")
        return {"id": iid, "business_key": ret["return_id"], "task": task["id"], "title": task["title"]}

    def held_return(self, sku):
        """A return held at its credit note: Odoo refused it (403, not retried)."""
        sale = self.sale([(sku, 1, 0)])
        self.s.sim_faults("odoo", error_rate=1.0, error_status=403)
        try:
            ret = self.emit_return(sale["sale_id"])
            iid = self.instance_of(ret["return_id"])
            inst = self.s.wait_status(iid, "held")
        finally:
            self.s.sim_faults("odoo", error_rate=0.0, error_status=503)
        return {"id": iid, "business_key": ret["return_id"], "state": inst["error"]["state"]}

    def make(self):
        """Every instance the scenarios use, each its own (SKUs no other test uses)."""
        return {
            "completed": self.small_return("SKU-0011"),
            "approval": self.approval_return("SKU-0010"),
            "held": self.held_return("SKU-0081"),
            "held2": self.held_return("SKU-0082"),
        }


def main():
    if "--serve" not in sys.argv:
        print(__doc__)
        return 2
    s = Stack(keep=True)
    s.start()
    try:
        fx = World(s).make()
        info = {"url": s.url, "tokens": s.tokens, "fixtures": fx, "dir": s.dir}
        out = os.environ.get("RF_CONSOLE_STACK", "/tmp/rf_console_stack.json")
        with open(out, "w") as f:
            json.dump(info, f, indent=2)
        print(json.dumps(info, indent=2), flush=True)
        while True:
            time.sleep(3600)
    finally:
        s.stop()


if __name__ == "__main__":
    sys.exit(main())
