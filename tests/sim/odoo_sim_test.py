"""Tests of the Odoo simulator (examples/sim/odoo_sim.py) through its real HTTP interface.

Each test class starts the simulator on port 0 in a subprocess and resets it before every test.
Run: python3 tests/sim/odoo_sim_test.py  (or through ctest).
"""

from __future__ import annotations

import http.client
import json
import os
import subprocess
import sys
import tempfile
import time
import unittest
import urllib.parse
from decimal import ROUND_HALF_UP, Decimal
from typing import Any, Dict, List, Optional, Tuple

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SIM = os.path.join(ROOT, "examples", "sim", "odoo_sim.py")
KEY = "test-key"

sys.path.insert(0, os.path.join(ROOT, "examples", "sim"))
import simlib  # noqa: E402  (the shared catalogue the Odoo seed is built from)
from pos_sim import PosApp  # noqa: E402  (the POS simulator's own line pricing)

CAT = simlib.catalogue()
SKU = simlib.SKU_BY_ID
VAT = CAT["vat_rate_percent"]


def major(minor: int) -> Decimal:
    """simlib minor units -> Decimal major units (1999 -> 19.99)."""
    return Decimal(minor) / 100


def odoo_incl_tax(total_minor: int) -> int:
    """Tax contained in a line total with Odoo's price-included tax: total - total / (1 + rate),
    rounded half-up to the cent (per line), in minor units."""
    return int((Decimal(total_minor) * VAT / (100 + VAT)).quantize(Decimal(1),
                                                                   rounding=ROUND_HALF_UP))


def start_sim(*extra: str) -> Tuple[subprocess.Popen, int]:
    proc = subprocess.Popen([sys.executable, SIM, "--port", "0", "--api-key", KEY, *extra],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    line = proc.stdout.readline()
    if not line.startswith("LISTENING "):
        proc.kill()
        raise RuntimeError(f"simulator did not start: {line!r} {proc.stderr.read()}")
    return proc, int(line.split()[1])


def stop_sim(proc: subprocess.Popen) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
    proc.stdout.close()
    proc.stderr.close()


class SimTestCase(unittest.TestCase):
    proc: subprocess.Popen
    port: int
    extra_args: List[str] = []

    @classmethod
    def setUpClass(cls) -> None:
        cls.proc, cls.port = start_sim(*cls.extra_args)

    @classmethod
    def tearDownClass(cls) -> None:
        stop_sim(cls.proc)

    def setUp(self) -> None:
        self.http("POST", "/__admin/reset", {})
        self.rpc_id = 0

    # -- helpers ---------------------------------------------------------------------------------

    def http(self, method: str, path: str, body: Any = None,
             headers: Optional[Dict[str, str]] = None) -> Tuple[int, str, Dict[str, str]]:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        try:
            data = None if body is None else (body if isinstance(body, str) else json.dumps(body))
            h = {"Content-Type": "application/json", **(headers or {})}
            conn.request(method, path, body=data, headers=h)
            resp = conn.getresponse()
            return resp.status, resp.read().decode("utf-8"), dict(resp.getheaders())
        finally:
            conn.close()

    def jsonrpc(self, service: str, method: str, args: List[Any]) -> Dict[str, Any]:
        self.rpc_id += 1
        status, text, _ = self.http("POST", "/jsonrpc", {
            "jsonrpc": "2.0", "method": "call", "id": self.rpc_id,
            "params": {"service": service, "method": method, "args": args}})
        self.assertEqual(status, 200, text)
        doc = json.loads(text, parse_float=Decimal)
        self.assertEqual(doc["jsonrpc"], "2.0")
        self.assertEqual(doc["id"], self.rpc_id)
        return doc

    def call(self, model: str, method: str, *args: Any, **kw: Any) -> Any:
        doc = self.jsonrpc("object", "execute_kw",
                           ["retail", 6, KEY, model, method, list(args), kw])
        if "error" in doc:
            raise OdooCallError(doc["error"])
        return doc.get("result")

    def call_error(self, model: str, method: str, *args: Any, **kw: Any) -> Dict[str, Any]:
        doc = self.jsonrpc("object", "execute_kw",
                           ["retail", 6, KEY, model, method, list(args), kw])
        self.assertIn("error", doc)
        self.assertNotIn("result", doc)
        self.assertEqual(doc["error"]["code"], 200)
        self.assertEqual(doc["error"]["message"], "Odoo Server Error")
        data = doc["error"]["data"]
        self.assertEqual(set(data), {"name", "message", "arguments", "context", "debug"})
        return data

    def json2(self, model: str, method: str, body: Dict[str, Any],
              key: str = KEY) -> Tuple[int, Any]:
        status, text, _ = self.http("POST", f"/json/2/{model}/{method}", body,
                                    {"Authorization": f"bearer {key}"})
        return status, json.loads(text, parse_float=Decimal)

    def state(self, model: str, domain: Optional[List[Any]] = None) -> List[Dict[str, Any]]:
        q = {"model": model}
        if domain is not None:
            q["domain"] = json.dumps(domain)
        status, text, _ = self.http("GET", "/__admin/state?" + urllib.parse.urlencode(q))
        self.assertEqual(status, 200, text)
        return json.loads(text, parse_float=Decimal)["records"]

    def faults(self, **kw: Any) -> None:
        status, text, _ = self.http("POST", "/__admin/faults", kw)
        self.assertEqual(status, 200, text)

    def loc(self, code: str) -> int:
        return self.call("stock.location", "search", [["barcode", "=", code]])[0]

    def product(self, sku: str) -> int:
        return self.call("product.product", "search", [["default_code", "=", sku]])[0]

    def qty(self, sku: str, location: str) -> Decimal:
        rows = self.call("stock.quant", "search_read",
                         [["product_id.default_code", "=", sku], ["location_id.barcode", "=",
                                                                   location]],
                         fields=["quantity"])
        return sum((r["quantity"] for r in rows), Decimal(0))


class OdooCallError(Exception):
    def __init__(self, error: Dict[str, Any]):
        super().__init__(error["data"]["message"])
        self.error = error


class JsonRpcEnvelopeTest(SimTestCase):
    def test_version_and_authenticate(self) -> None:
        doc = self.jsonrpc("common", "version", [])
        self.assertEqual(doc["result"]["server_version_info"][0], 17)
        self.assertEqual(self.jsonrpc("common", "authenticate",
                                      ["retail", "integration", KEY, {}])["result"], 6)
        self.assertEqual(self.jsonrpc("common", "login", ["retail", "admin", "admin"])["result"],
                         2)

    def test_bad_credentials_return_false_not_an_error(self) -> None:
        doc = self.jsonrpc("common", "authenticate", ["retail", "integration", "nope", {}])
        self.assertIs(doc["result"], False)
        self.assertNotIn("error", doc)

    def test_bad_key_on_execute_kw_is_access_denied(self) -> None:
        doc = self.jsonrpc("object", "execute_kw",
                           ["retail", 6, "wrong", "res.partner", "search", [[]], {}])
        self.assertEqual(doc["error"]["data"]["name"], "odoo.exceptions.AccessDenied")
        self.assertEqual(doc["error"]["code"], 200)

    def test_private_method_is_access_error(self) -> None:
        data = self.call_error("res.partner", "_compute_display_name", [1])
        self.assertEqual(data["name"], "odoo.exceptions.AccessError")
        self.assertIn("cannot be called remotely", data["message"])

    def test_unknown_id_is_missing_error(self) -> None:
        data = self.call_error("account.move", "read", [99999], ["name"])
        self.assertEqual(data["name"], "odoo.exceptions.MissingError")
        self.assertIn("Record does not exist or has been deleted", data["message"])

    def test_unknown_method_and_field(self) -> None:
        self.assertEqual(self.call_error("res.partner", "fly", [1])["name"],
                         "builtins.AttributeError")
        self.assertEqual(self.call_error("res.partner", "search_read", [["nope", "=", 1]])
                         ["name"], "builtins.ValueError")

    def test_unknown_route_is_404_envelope(self) -> None:
        status, text, _ = self.http("POST", "/web/dataset/nothing", {"jsonrpc": "2.0",
                                                                     "params": {}})
        self.assertEqual(status, 404)
        err = json.loads(text)["error"]
        self.assertEqual((err["code"], err["message"]), (404, "404: Not Found"))

    def test_result_absent_when_method_returns_none_and_ids_read_back(self) -> None:
        pid = self.call("res.partner", "create", {"name": "New Customer", "ref": "CUST-9999"})
        rows = self.call("res.partner", "read", [pid], ["name", "email"])
        self.assertEqual(rows, [{"id": pid, "name": "New Customer", "email": False}])
        self.assertIs(self.call("res.partner", "write", [pid], {"email": "n@example.com"}), True)
        self.assertEqual(self.call("res.partner", "search_count", [["ref", "=", "CUST-9999"]]), 1)
        self.assertIs(self.call("res.partner", "unlink", [pid]), True)
        self.assertEqual(self.call("res.partner", "search_count", [["ref", "=", "CUST-9999"]]), 0)

    def test_many2one_reads_as_id_and_name(self) -> None:
        so = self.call("sale.order", "search_read", [["client_order_ref", "=", "CC-0001"]],
                       fields=["partner_id", "state", "order_line", "name"])
        self.assertEqual(len(so), 1)
        self.assertIsInstance(so[0]["partner_id"][0], int)
        self.assertIsInstance(so[0]["partner_id"][1], str)
        self.assertEqual(so[0]["state"], "draft")
        self.assertGreaterEqual(len(so[0]["order_line"]), 1)

    def test_create_list_returns_ids(self) -> None:
        ids = self.call("res.partner", "create", [{"name": "A"}, {"name": "B"}])
        self.assertEqual(len(ids), 2)


class SeedTest(SimTestCase):
    def test_seed_is_deterministic_and_complete(self) -> None:
        status, text, _ = self.http("GET", "/__admin/state")
        counts = json.loads(text)["counts"]
        self.assertEqual(counts["product.product"], 200)
        self.assertEqual(counts["sale.order"], 150)
        self.assertGreaterEqual(counts["pos.order"], 1)
        self.assertEqual(self.call("res.partner", "search_count", [["ref", "=like", "CUST-%"]]),
                         50)
        for code in ("PAR-01", "LON-01", "NYC-01", "WH-01", "TRANSIT"):
            self.assertEqual(len(self.call("stock.location", "search", [["barcode", "=", code]])),
                             1, code)
        first = self.call("product.product", "search_read", [["default_code", "=", "SKU-0001"]],
                          fields=["name", "list_price"])
        self.http("POST", "/__admin/reset", {})
        again = self.call("product.product", "search_read", [["default_code", "=", "SKU-0001"]],
                          fields=["name", "list_price"])
        self.assertEqual(first, again)

    def test_money_has_two_decimals_on_the_wire(self) -> None:
        # A whole price (e.g. 549.00) must still be written with two decimals.
        sku = next(s for s in CAT["skus"] if s["price"] % 100 == 0)
        pid = self.product(sku["sku"])
        status, text, _ = self.http("POST", "/jsonrpc", {
            "jsonrpc": "2.0", "id": 1, "params": {"service": "object", "method": "execute_kw",
                                                  "args": ["retail", 6, KEY, "product.product",
                                                           "read", [[pid]], {"fields":
                                                                             ["list_price"]}]}})
        self.assertIn('"list_price":%d.00' % (sku["price"] // 100), text)

    def test_catalogue_agrees_with_simlib(self) -> None:
        """Products, their tax, customers and location codes are simlib.catalogue()'s."""
        rows = self.call("product.product", "search_read", [],
                         fields=["default_code", "name", "barcode", "list_price", "taxes_id"])
        self.assertEqual(len(rows), len(CAT["skus"]))
        by_code = {r["default_code"]: r for r in rows}
        tax_ids = set()
        for sku in CAT["skus"]:
            r = by_code[sku["sku"]]
            self.assertEqual((r["name"], r["barcode"], r["list_price"]),
                             (sku["name"], sku["barcode"], major(sku["price"])), sku["sku"])
            self.assertEqual(len(r["taxes_id"]), 1, sku["sku"])
            tax_ids.update(r["taxes_id"])
        taxes = self.call("account.tax", "read", sorted(tax_ids),
                          ["amount", "price_include", "type_tax_use"])
        # simlib prices include VAT, so the one customer tax is price-included.
        self.assertEqual([(t["amount"], t["price_include"], t["type_tax_use"]) for t in taxes],
                         [(VAT, True, "sale")])
        partners = self.call("res.partner", "search_read", [["ref", "=like", "CUST-%"]],
                             fields=["ref", "name", "email"])
        self.assertEqual(sorted((p["ref"], p["name"], p["email"]) for p in partners),
                         sorted((c["customer_ref"], c["name"], c["email"])
                                for c in CAT["customers"]))
        locs = self.call("stock.location", "search_read", [["usage", "in",
                                                            ["internal", "transit"]]],
                         fields=["barcode", "usage"])
        self.assertEqual(sorted((l["barcode"], l["usage"]) for l in locs),
                         sorted([(code, "internal") for code in [*CAT["stores"],
                                                                 *CAT["warehouses"]]]
                                + [(CAT["transit_location"].upper(), "transit")]))


class DomainTest(SimTestCase):
    def test_operators(self) -> None:
        def count(domain: List[Any]) -> int:
            return self.call("product.product", "search_count", domain)

        self.assertEqual(count([["default_code", "=", "SKU-0001"]]), 1)
        self.assertEqual(count([["default_code", "!=", "SKU-0001"]]), 199)
        self.assertEqual(count([["default_code", "in", ["SKU-0001", "SKU-0002", "X"]]]), 2)
        self.assertEqual(count([["default_code", "not in", ["SKU-0001"]]]), 199)
        self.assertEqual(count([["id", "<", 3]]), 2)
        self.assertEqual(count([["id", "<=", 3]]), 3)
        self.assertEqual(count([["id", ">", 198]]), 2)
        self.assertEqual(count([["id", ">=", 198]]), 3)
        t_shirts = sum(1 for s in CAT["skus"] if "T-shirt" in s["name"])
        self.assertEqual(t_shirts, 20)
        self.assertEqual(count([["name", "ilike", "t-SHIRT"]]), t_shirts)
        self.assertEqual(count([["name", "like", "t-shirt"]]), 0)
        self.assertEqual(count([["name", "like", "T-shirt"]]), t_shirts)
        dear = sum(1 for s in CAT["skus"] if s["price"] > 15000)
        self.assertEqual(dear, 60)  # watches, headphones and coats
        self.assertEqual(count([["list_price", ">", 150]]), dear)

    def test_polish_notation(self) -> None:
        ids = self.call("product.product", "search",
                        ["|", ["default_code", "=", "SKU-0001"], ["default_code", "=",
                                                                   "SKU-0002"]])
        self.assertEqual(sorted(ids), [1, 2])
        ids = self.call("product.product", "search",
                        ["&", ["id", "<", 5], "!", ["default_code", "=", "SKU-0001"]])
        self.assertEqual(sorted(ids), [2, 3, 4])
        # implicit & between consecutive terms
        ids = self.call("product.product", "search", [["id", "<", 5], ["id", ">", 2]])
        self.assertEqual(sorted(ids), [3, 4])
        ids = self.call("product.product", "search",
                        ["|", "&", ["id", "=", 1], ["name", "ilike", "t-shirt"],
                         ["id", "=", 7]])
        self.assertEqual(sorted(ids), [1, 7])

    def test_offset_limit_order_and_paths(self) -> None:
        ids = self.call("product.product", "search", [], offset=5, limit=3, order="id desc")
        self.assertEqual(ids, [195, 194, 193])
        rows = self.call("stock.quant", "search_read",
                         [["location_id.barcode", "=", "PAR-01"]], fields=["product_id"])
        self.assertEqual(len(rows), 200)

    def test_json2_domain(self) -> None:
        status, ids = self.json2("product.product", "search",
                                 {"domain": [["default_code", "=", "SKU-0042"]]})
        self.assertEqual((status, ids), (200, [42]))


class Json2Test(SimTestCase):
    def test_bare_values_and_errors(self) -> None:
        status, rows = self.json2("res.partner", "read", {"ids": [2], "fields": ["ref"]})
        self.assertEqual((status, rows), (200, [{"id": 2, "ref": "CUST-0001"}]))
        status, new_id = self.json2("res.partner", "create", {"vals_list": [{"name": "J2"}]})
        self.assertEqual(status, 200)
        self.assertEqual(len(new_id), 1)
        status, err = self.json2("res.partner", "read", {"ids": [424242]})
        self.assertEqual(status, 404)
        self.assertEqual(err["name"], "odoo.exceptions.MissingError")
        self.assertEqual(set(err), {"name", "message", "arguments", "context", "debug"})

    def test_bad_key_is_401(self) -> None:
        status, err = self.json2("res.partner", "search", {"domain": []}, key="nope")
        self.assertEqual(status, 401)
        self.assertEqual(err["name"], "werkzeug.exceptions.Unauthorized")
        self.assertEqual(err["message"], "Invalid apikey")

    def test_user_error_is_422_and_private_403(self) -> None:
        status, err = self.json2("stock.picking", "action_cancel", {"ids": [12345]})
        self.assertEqual(status, 404)
        status, err = self.json2("res.partner", "_private", {"ids": [1]})
        self.assertEqual((status, err["name"]), (403, "odoo.exceptions.AccessError"))
        so = self.call("sale.order", "search", [["client_order_ref", "=", "CC-0003"]])
        self.assertEqual(self.json2("sale.order", "action_confirm", {"ids": so})[0], 200)
        status, err = self.json2("sale.order", "action_confirm", {"ids": so})
        self.assertEqual((status, err["name"]), (422, "odoo.exceptions.UserError"))


class PickingTest(SimTestCase):
    def make_picking(self, code: str, src: str, dst: str, lines: List[Tuple[str, int]]) -> int:
        ptype = self.call("stock.picking.type", "search_read", [["code", "=", code]],
                          fields=["id"], limit=1)[0]["id"]
        return self.call("stock.picking", "create", {
            "picking_type_id": ptype, "location_id": self.loc(src),
            "location_dest_id": self.loc(dst), "origin": "TR-1", "x_rf_key": "k1",
            "move_ids": [[0, 0, {"product_id": self.product(sku), "product_uom_qty": q}]
                         for sku, q in lines]})

    def picking_state(self, pid: int) -> str:
        return self.call("stock.picking", "read", [pid], ["state"])[0]["state"]

    def test_state_machine_and_quants(self) -> None:
        par0, tr0 = self.qty("SKU-0005", "PAR-01"), self.qty("SKU-0005", "TRANSIT")
        pid = self.make_picking("outgoing", "PAR-01", "TRANSIT", [("SKU-0005", 2)])
        self.assertEqual(self.picking_state(pid), "draft")
        self.call("stock.picking", "action_confirm", [pid])
        self.assertEqual(self.picking_state(pid), "confirmed")
        self.call("stock.picking", "action_assign", [pid])
        self.assertEqual(self.picking_state(pid), "assigned")
        reserved = self.call("stock.quant", "search_read",
                             [["product_id.default_code", "=", "SKU-0005"],
                              ["location_id.barcode", "=", "PAR-01"]],
                             fields=["reserved_quantity"])[0]["reserved_quantity"]
        self.assertEqual(reserved, Decimal(2))
        self.assertIs(self.call("stock.picking", "button_validate", [pid]), True)
        self.assertEqual(self.picking_state(pid), "done")
        self.assertEqual(self.qty("SKU-0005", "PAR-01"), par0 - 2)
        self.assertEqual(self.qty("SKU-0005", "TRANSIT"), tr0 + 2)
        err = self.call_error("stock.picking", "action_cancel", [pid])
        self.assertEqual(err["name"], "odoo.exceptions.UserError")
        self.assertEqual(self.call_error("stock.picking", "button_validate", [pid])["name"],
                         "odoo.exceptions.UserError")

    def test_unavailable_stock_stays_confirmed_and_cancel_releases(self) -> None:
        pid = self.make_picking("outgoing", "PAR-01", "TRANSIT", [("SKU-0005", 100000)])
        self.call("stock.picking", "action_confirm", [pid])
        self.call("stock.picking", "action_assign", [pid])
        self.assertEqual(self.picking_state(pid), "confirmed")
        self.call("stock.picking", "action_cancel", [pid])
        self.assertEqual(self.picking_state(pid), "cancel")

    def test_partial_validation_backorder_wizard_and_skip(self) -> None:
        pid = self.make_picking("incoming", "TRANSIT", "LON-01", [("SKU-0007", 5)])
        self.call("stock.picking", "action_confirm", [pid])
        move = self.call("stock.move", "search_read", [["picking_id", "=", pid]],
                         fields=["id"])[0]["id"]
        self.call("stock.move", "write", [move], {"quantity": 3, "picked": True})
        action = self.call("stock.picking", "button_validate", [pid])
        self.assertEqual(action["res_model"], "stock.backorder.confirmation")
        self.assertEqual(self.picking_state(pid), "confirmed")
        lon0 = self.qty("SKU-0007", "LON-01")
        self.assertIs(self.call("stock.picking", "button_validate", [pid],
                                context={"skip_backorder": True,
                                         "picking_ids_not_to_backorder": [pid]}), True)
        self.assertEqual(self.picking_state(pid), "done")
        self.assertEqual(self.qty("SKU-0007", "LON-01"), lon0 + 3)
        self.assertEqual(self.call("stock.picking", "search_count",
                                   [["backorder_id", "=", pid]]), 0)

    def test_return_wizard(self) -> None:
        pid = self.make_picking("outgoing", "NYC-01", "TRANSIT", [("SKU-0009", 4)])
        name = self.call("stock.picking", "read", [pid], ["name"])[0]["name"]
        self.assertEqual(self.call_error("stock.return.picking", "create",
                                         {"picking_id": pid})["message"],
                         "You may only return Done pickings.")
        nyc0 = self.qty("SKU-0009", "NYC-01")
        self.call("stock.picking", "button_validate", [pid])
        wiz = self.call("stock.return.picking", "create", {"picking_id": pid})
        lines = self.call("stock.return.picking.line", "search_read",
                          [["wizard_id", "=", wiz]], fields=["quantity", "move_id"])
        self.assertEqual([l["quantity"] for l in lines], [Decimal(0)])
        self.assertEqual(self.call_error("stock.return.picking", "action_create_returns",
                                         [wiz])["name"], "odoo.exceptions.UserError")
        self.call("stock.return.picking.line", "write", [lines[0]["id"]], {"quantity": 4})
        action = self.call("stock.return.picking", "action_create_returns", [wiz])
        self.assertEqual(action["res_model"], "stock.picking")
        ret = self.call("stock.picking", "read", [action["res_id"]],
                        ["origin", "location_id", "location_dest_id", "state", "return_id"])[0]
        self.assertEqual(ret["origin"], f"Return of {name}")
        self.assertEqual(ret["return_id"][0], pid)
        self.assertEqual(ret["location_dest_id"][0], self.loc("NYC-01"))
        self.assertEqual(ret["state"], "assigned")
        self.call("stock.picking", "button_validate", [action["res_id"]])
        self.assertEqual(self.qty("SKU-0009", "NYC-01"), nyc0)

    def test_sale_order_confirm_creates_delivery_and_cancel(self) -> None:
        so = self.call("sale.order", "search", [["client_order_ref", "=", "CC-0010"]])
        self.call("sale.order", "action_confirm", so)
        row = self.call("sale.order", "read", so, ["state", "picking_ids", "name"])[0]
        self.assertEqual(row["state"], "sale")
        self.assertEqual(len(row["picking_ids"]), 1)
        pick = self.call("stock.picking", "read", row["picking_ids"],
                         ["state", "origin", "location_dest_id"])[0]
        self.assertEqual(pick["origin"], row["name"])
        self.assertEqual(pick["state"], "assigned")
        self.assertEqual(self.call_error("sale.order", "action_confirm", so)["name"],
                         "odoo.exceptions.UserError")
        self.call("sale.order", "action_cancel", so)
        self.assertEqual(self.call("sale.order", "read", so, ["state"])[0]["state"], "cancel")
        self.assertEqual(self.call("stock.picking", "read", row["picking_ids"],
                                   ["state"])[0]["state"], "cancel")

    def test_inventory_adjustment(self) -> None:
        q = self.call("stock.quant", "search", [["product_id.default_code", "=", "SKU-0011"],
                                                ["location_id.barcode", "=", "WH-01"]])
        self.call("stock.quant", "write", q, {"inventory_quantity": 77})
        self.call("stock.quant", "action_apply_inventory", q)
        self.assertEqual(self.qty("SKU-0011", "WH-01"), Decimal(77))


class CreditNoteTest(SimTestCase):
    def create_refund(self, lines: List[Tuple[str, str, str]], key: str = "rk") -> int:
        partner = self.call("res.partner", "search", [["ref", "=", "CUST-0003"]])[0]
        vat = self.call("account.tax", "search", [["amount", "=", VAT]])[0]
        return self.call("account.move", "create", {
            "move_type": "out_refund", "partner_id": partner, "invoice_origin": "PAR-01/0001",
            "ref": "return R-1", "x_rf_key": key,
            "invoice_line_ids": [[0, 0, {"product_id": self.product(sku), "quantity": q,
                                         "price_unit": p, "tax_ids": [[6, 0, [vat]]]}]
                                 for sku, q, p in lines]})

    def test_amounts_are_exact(self) -> None:
        # The seeded 20% VAT is included in the price (as simlib's prices are), so a line totals
        # qty x price and its tax is total x 20/120 rounded half-up per line.
        lines = [("SKU-0001", 3, major(SKU["SKU-0001"]["price"])),
                 ("SKU-0002", 1, Decimal("0.09")),  # an explicit price: tax exactly 1.5 cents
                 ("SKU-0008", 2, major(SKU["SKU-0008"]["price"]))]
        mid = self.create_refund([(sku, str(q), str(p)) for sku, q, p in lines])
        row = self.call("account.move", "read", [mid],
                        ["amount_untaxed", "amount_tax", "amount_total", "state", "name"])[0]
        totals = [int(q * p * 100) for _, q, p in lines]
        tax = sum(odoo_incl_tax(t) for t in totals)
        # With today's simlib: 3 x 19.99 + 0.09 + 2 x 549.00 = 1158.06; tax 10.00 (999.5 cents,
        # half-up) + 0.02 (1.5 cents) + 183.00 = 193.02; untaxed 965.04.
        self.assertEqual(row["amount_total"], major(sum(totals)))
        self.assertEqual(row["amount_tax"], major(tax))
        self.assertEqual(row["amount_untaxed"], major(sum(totals) - tax))
        self.assertEqual((row["state"], row["name"]), ("draft", "/"))

    def test_refund_total_equals_the_pos_refund(self) -> None:
        # Return lines priced by the POS simulator itself; the credit note made from their
        # SKUs, quantities and unit prices totals exactly what the till refunds.
        pos_lines = [PosApp._price_line(f"R{i}", sku, qty, 0)
                     for i, (sku, qty) in enumerate([("SKU-0001", 3), ("SKU-0004", 1),
                                                     ("SKU-0037", 2), ("SKU-0200", 1)])]
        pos_total = PosApp._totals(pos_lines)["total"]
        mid = self.create_refund([(ln["sku"], str(ln["qty"]), str(major(ln["unit_price"])))
                                  for ln in pos_lines])
        row = self.call("account.move", "read", [mid], ["amount_total", "amount_tax"])[0]
        self.assertEqual(row["amount_total"], major(pos_total))
        self.assertEqual(row["amount_tax"],
                         major(sum(odoo_incl_tax(ln["line_total"]) for ln in pos_lines)))

    def test_post_cancel_cycle(self) -> None:
        mid = self.create_refund([("SKU-0001", "1", str(major(SKU["SKU-0001"]["price"])))])
        self.call("account.move", "action_post", [mid])
        row = self.call("account.move", "read", [mid], ["state", "name"])[0]
        self.assertEqual(row["state"], "posted")
        self.assertRegex(row["name"], r"^RINV/\d{4}/\d{5}$")
        self.assertEqual(self.call_error("account.move", "action_post", [mid])["name"],
                         "odoo.exceptions.UserError")
        err = self.call_error("account.move", "button_cancel", [mid])
        self.assertEqual(err["message"], "Only draft journal entries can be cancelled.")
        self.call("account.move", "button_draft", [mid])
        self.call("account.move", "button_cancel", [mid])
        self.assertEqual(self.call("account.move", "read", [mid], ["state"])[0]["state"],
                         "cancel")
        self.assertEqual(self.call_error("account.move", "unlink", [mid])["name"],
                         "odoo.exceptions.UserError")

    def test_post_without_partner_is_user_error(self) -> None:
        mid = self.call("account.move", "create", {"move_type": "out_refund",
                                                   "invoice_line_ids": [[0, 0, {
                                                       "name": "x", "quantity": 1,
                                                       "price_unit": 1}]]})
        err = self.call_error("account.move", "action_post", [mid])
        self.assertIn("Customer", err["message"])

    def test_state_endpoint_filters_by_reference(self) -> None:
        self.create_refund([("SKU-0001", "1", str(major(SKU["SKU-0001"]["price"])))], key="abc")
        self.create_refund([("SKU-0001", "2", str(major(SKU["SKU-0001"]["price"])))], key="def")
        rows = self.state("account.move", [["x_rf_key", "=", "abc"]])
        self.assertEqual(len(rows), 1)
        self.assertEqual(rows[0]["amount_total"], major(SKU["SKU-0001"]["price"]))


class FaultTest(SimTestCase):
    def test_error_rate_answers_html(self) -> None:
        self.faults(error_rate=1.0, error_status=502)
        status, text, headers = self.http("POST", "/jsonrpc", {"jsonrpc": "2.0", "params": {
            "service": "common", "method": "version", "args": []}})
        self.assertEqual(status, 502)
        self.assertIn("<html>", text)
        self.faults(error_rate=0.0)
        self.assertIn("result", self.jsonrpc("common", "version", []))

    def test_down_until(self) -> None:
        self.faults(down_until=int(time.time()) + 3600)
        status, text, _ = self.http("POST", "/json/2/res.partner/search", {},
                                    {"Authorization": f"bearer {KEY}"})
        self.assertEqual(status, 503)
        self.assertIn("503 Service Temporarily Unavailable", text)
        self.faults(down_until=0)
        self.assertEqual(self.json2("res.partner", "search_count", {"domain": []})[0], 200)

    def test_malformed(self) -> None:
        self.faults(malformed_rate=1.0)
        status, text, _ = self.http("POST", "/jsonrpc", {"jsonrpc": "2.0", "id": 1, "params": {
            "service": "common", "method": "version", "args": []}})
        self.assertEqual(status, 200)
        with self.assertRaises(ValueError):
            json.loads(text)

    def test_drop_response_after_commit_keeps_the_write(self) -> None:
        self.faults(drop_next_commits=1)
        # Reads are never dropped.
        self.assertEqual(self.call("res.partner", "search_count", [["ref", "=", "DROP"]]), 0)
        with self.assertRaises((http.client.HTTPException, ConnectionError)):
            self.call("res.partner", "create", {"name": "Dropped", "ref": "DROP"})
        self.assertEqual(len(self.state("res.partner", [["ref", "=", "DROP"]])), 1)
        self.call("res.partner", "create", {"name": "Kept", "ref": "DROP"})  # one-shot consumed
        self.assertEqual(len(self.state("res.partner", [["ref", "=", "DROP"]])), 2)

    def test_latency_delays(self) -> None:
        self.faults(latency_ms=200)
        start = time.monotonic()
        self.jsonrpc("common", "version", [])
        self.assertGreaterEqual(time.monotonic() - start, 0.2)

    def test_unknown_fault_is_refused(self) -> None:
        status, _, _ = self.http("POST", "/__admin/faults", {"nope": 1})
        self.assertEqual(status, 400)

    def test_reset_clears_faults(self) -> None:
        self.faults(error_rate=1.0)
        self.http("POST", "/__admin/reset", {})
        self.assertIn("result", self.jsonrpc("common", "version", []))


VIOLATION = ("The operation cannot be completed: This retailflow idempotency key (x_rf_key) is "
             "already used by another record of this model.")


class IdempotencyAddonTest(SimTestCase):
    """x_rf_key unique per model (the retailflow_idempotency addon) and the gate."""

    def setUp(self) -> None:
        super().setUp()
        self.addCleanup(self.http, "POST", "/__admin/addon", {"installed": True})

    def gate(self, **cmd: Any) -> Dict[str, Any]:
        status, text, _ = self.http("POST", "/__admin/gate", cmd)
        self.assertEqual(status, 200, text)
        return json.loads(text)

    def requests(self, model: str, method: str) -> List[Dict[str, Any]]:
        status, text, _ = self.http("GET", "/__admin/gate")
        self.assertEqual(status, 200, text)
        for g in json.loads(text)["gates"]:
            if (g["model"], g["method"]) == (model, method):
                return g["requests"]
        return []

    def await_request(self, model: str, method: str, n: int, state: str) -> Dict[str, Any]:
        deadline = time.time() + 30
        while time.time() < deadline:
            reqs = self.requests(model, method)
            if len(reqs) >= n and reqs[n - 1]["state"] == state:
                return reqs[n - 1]
            time.sleep(0.01)
        self.fail(f"request {n} of {model}.{method} never {state}: {reqs}")

    def test_second_record_with_a_key_is_a_validation_error_and_changes_nothing(self) -> None:
        for model, vals in [("account.move", {"move_type": "out_refund", "partner_id": 2}),
                            ("stock.picking", {"picking_type_id": 1}),
                            ("sale.order", {"partner_id": 2})]:
            first = self.call(model, "create", dict(vals, x_rf_key="K-" + model))
            before = len(self.state(model))
            data = self.call_error(model, "create", dict(vals, x_rf_key="K-" + model))
            self.assertEqual(data["name"], "odoo.exceptions.ValidationError")
            self.assertEqual(data["message"], VIOLATION)
            self.assertEqual(data["arguments"], [VIOLATION])
            self.assertEqual(len(self.state(model)), before, model)
            other = self.call(model, "create", dict(vals))  # no key: never collides
            self.call(model, "create", dict(vals))
            self.assertEqual(self.call_error(model, "write", [other], {"x_rf_key": "K-" + model})
                             ["name"], "odoo.exceptions.ValidationError")
            self.assertFalse(self.state(model, [["id", "=", other]])[0]["x_rf_key"])
            self.assertEqual(len(self.state(model, [["x_rf_key", "=", "K-" + model]])), 1)
            self.assertGreater(first, 0)
        status, body = self.json2("sale.order", "create",
                                  {"vals_list": [{"partner_id": 2, "x_rf_key": "K-sale.order"}]})
        self.assertEqual(status, 422)
        self.assertEqual(body["name"], "odoo.exceptions.ValidationError")
        self.assertEqual(body["message"], VIOLATION)

    def test_a_batch_with_a_used_key_stores_none_of_it(self) -> None:
        self.call("sale.order", "create", {"partner_id": 2, "x_rf_key": "B-1"})
        before = len(self.state("sale.order"))
        self.call_error("sale.order", "create", [{"partner_id": 2, "x_rf_key": "B-2"},
                                                 {"partner_id": 2, "x_rf_key": "B-1"}])
        self.assertEqual(len(self.state("sale.order")), before)

    def test_without_the_addon_keys_may_repeat(self) -> None:
        self.http("POST", "/__admin/addon", {"installed": False})
        self.call("sale.order", "create", {"partner_id": 2, "x_rf_key": "W-1"})
        self.call("sale.order", "create", {"partner_id": 2, "x_rf_key": "W-1"})
        self.assertEqual(len(self.state("sale.order", [["x_rf_key", "=", "W-1"]])), 2)

    def test_held_call_runs_late_and_meets_the_constraint(self) -> None:
        import threading
        self.gate(model="sale.order", method="create", action="hold")
        late: Dict[str, Any] = {}
        body = {"jsonrpc": "2.0", "method": "call", "id": 99, "params": {
            "service": "object", "method": "execute_kw",
            "args": ["retail", 6, KEY, "sale.order", "create",
                     [{"partner_id": 2, "x_rf_key": "G-1"}], {}]}}
        t = threading.Thread(target=lambda: late.update(
            json.loads(self.http("POST", "/jsonrpc", body)[1])))
        t.start()
        self.assertEqual(self.await_request("sale.order", "create", 1, "held")["outcome"], None)
        self.assertEqual(self.state("sale.order", [["x_rf_key", "=", "G-1"]]), [])
        winner = self.call("sale.order", "create", {"partner_id": 2, "x_rf_key": "G-1"})
        self.gate(model="sale.order", method="create", action="release")
        done = self.await_request("sale.order", "create", 1, "done")
        t.join(30)
        self.assertEqual(done["outcome"], "odoo.exceptions.ValidationError")
        self.assertEqual(late["error"]["data"]["message"], VIOLATION)
        self.assertEqual([r["id"] for r in self.state("sale.order", [["x_rf_key", "=", "G-1"]])],
                         [winner])

    def test_gate_commands_are_validated(self) -> None:
        for bad in [{"method": "create", "action": "hold"},
                    {"model": "sale.order", "method": "create", "action": "open"},
                    {"model": "sale.order", "method": "create", "action": "hold", "count": 0},
                    {"model": "sale.order", "method": "create", "action": "release",
                     "requests": [7]}]:
            status, text, _ = self.http("POST", "/__admin/gate", bad)
            self.assertEqual(status, 400, (bad, text))
        self.assertEqual(self.requests("sale.order", "create"), [])

    def test_return_wizard_hands_its_key_to_the_return(self) -> None:
        out = self.loc("PAR-01")
        pick = self.call("stock.picking", "create", {
            "picking_type_id": 2, "location_id": out, "location_dest_id": self.loc("CUSTOMERS"),
            "move_ids": [[0, 0, {"product_id": self.product("SKU-0004"),
                                 "product_uom_qty": 1}]]})
        self.call("stock.picking", "action_confirm", [pick])
        self.call("stock.picking", "button_validate", [pick])
        ids = []
        for _ in range(2):
            wiz = self.call("stock.return.picking", "create",
                            {"picking_id": pick, "x_rf_key": "RET-1"})
            (line,) = self.call("stock.return.picking", "read", [wiz],
                                ["product_return_moves"])[0]["product_return_moves"]
            self.call("stock.return.picking.line", "write", [line], {"quantity": 1})
            ids.append(wiz)
        action = self.call("stock.return.picking", "action_create_returns", [ids[0]])
        self.assertEqual(self.state("stock.picking", [["id", "=", action["res_id"]]])[0]
                         ["x_rf_key"], "RET-1")
        data = self.call_error("stock.return.picking", "action_create_returns", [ids[1]])
        self.assertEqual(data["message"], VIOLATION)
        self.assertEqual(len(self.state("stock.picking", [["return_id", "=", pick]])), 1)


class PersistenceTest(unittest.TestCase):
    def test_state_file_survives_restart(self) -> None:
        with tempfile.TemporaryDirectory() as d:
            path = os.path.join(d, "odoo.json")
            proc, port = start_sim("--state", path)
            try:
                case = SimTestCase()
                case.port = port
                case.rpc_id = 0
                pid = case.call("res.partner", "create", {"name": "Persisted", "ref": "P-1"})
            finally:
                stop_sim(proc)
            proc, port = start_sim("--state", path)
            try:
                case.port = port
                rows = case.call("res.partner", "search_read", [["ref", "=", "P-1"]],
                                 fields=["name"])
                self.assertEqual(rows, [{"id": pid, "name": "Persisted"}])
                nxt = case.call("res.partner", "create", {"name": "Next"})
                self.assertEqual(nxt, pid + 1)
            finally:
                stop_sim(proc)


if __name__ == "__main__":
    unittest.main()
