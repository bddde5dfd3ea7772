"""The retail models of the Odoo simulator, their business methods and the seed data.

Behaviour modelled (Odoo 17/18 semantics, simplified where noted):
  * stock.picking: draft -> confirmed (action_confirm) -> assigned (action_assign: reserves
    quants at an internal source location, all or nothing; other sources need no reservation)
    -> done (button_validate: moves quants from source to destination for internal and transit
    locations) | cancel (action_cancel; refused once done). button_validate on a picking whose
    quantities are below the demand returns the backorder wizard action unless the context has
    `skip_backorder`; with `picking_ids_not_to_backorder` (or `cancel_backorder`) no backorder is
    created, otherwise the remainder goes to a new confirmed backorder picking.
  * stock.return.picking: created with `picking_id` (a done picking); its lines
    (`product_return_moves`) start at quantity 0 as in Odoo 18; `action_create_returns` needs
    one non-zero line and returns {"res_model": "stock.picking", "res_id": id, ...}; the return
    picking goes back from the destination to the source, origin "Return of <name>",
    `return_id` = the original, confirmed and assigned.
  * sale.order: draft/sent -> sale (action_confirm creates and reserves the delivery picking from
    the order's warehouse stock to Customers) -> cancel (action_cancel cancels open pickings).
  * account.move: amounts computed exactly, rounded per line half-up to cents (price-excluded
    tax: subtotal = qty * price, tax = subtotal * rate; price-included tax, as seeded: total =
    qty * price, tax = total - total / (1 + rate), subtotal = total - tax); action_post (draft
    -> posted, gets its number, RINV/<year>/NNNNN for credit notes), button_draft
    (posted/cancel -> draft), button_cancel (draft -> cancel; "Only draft journal entries can
    be cancelled.").
  * stock.quant: setting inventory_quantity then action_apply_inventory sets quantity.
  * the retailflow_idempotency addon (connectors/builtin/odoo_addon/): `x_rf_key` on
    account.move, stock.picking and sale.order with the SQL constraint unique(x_rf_key) (see
    RF_KEY_CONSTRAINT; enforced while the store's enforce_unique is set), and on the return wizard,
    whose key action_create_returns gives to the return picking it creates (the addon's override
    of _prepare_picking_default_values), so a second return for one key violates the constraint.

Seed data: the catalogue (locations, SKUs, prices, customers) is simlib.catalogue(), shared with
the POS, inventory and notification simulators; see seed().
"""

from __future__ import annotations

import datetime as _dt
import random
from decimal import Decimal
from typing import Any, Dict, List

import simlib
from odoo_orm import (Field as F, Model, Store, UserError, ValidationError, money)

YEAR = 2025

# The addon's `_sql_constraints` entry, word for word (connectors/builtin/odoo_addon/
# retailflow_idempotency/models/idempotency_mixin.py).
RF_KEY_CONSTRAINT = ("x_rf_key_unique", "x_rf_key",
                     "This retailflow idempotency key (x_rf_key) is already used by another "
                     "record of this model.")


def _now() -> str:
    return _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%d %H:%M:%S")


def _seq(store: Store, key: str) -> int:
    """Next number of a named sequence (kept in the ir.sequence model)."""
    found = [r for r in store.data["ir.sequence"].values() if r["code"] == key]
    if found:
        rec = found[0]
    else:
        rec = store.data["ir.sequence"][store.create_one("ir.sequence", {"code": key})]
    rec["number_next"] = int(rec.get("number_next") or 1) + 1
    return rec["number_next"] - 1


# ---------------------------------------------------------------------------------------------
# Computed fields


def _tax_rates(store: Store, tax_ids: List[int]):
    """(sum of price-included rates, sum of price-excluded rates) in percent."""
    incl, excl = Decimal(0), Decimal(0)
    for t in tax_ids:
        tax = store.data["account.tax"].get(t)
        if tax is None:
            continue
        if tax.get("price_include"):
            incl += Decimal(tax["amount"])
        else:
            excl += Decimal(tax["amount"])
    return incl, excl


def _line_amounts(store: Store, rec: Dict[str, Any], qty_field: str, tax_field: str):
    """(subtotal excluding tax, tax) of one line, as Odoo's round-per-line computes them.

    Price-excluded taxes: subtotal = qty * price (after discount) rounded half-up to cents,
    tax = subtotal * rate rounded. Price-included taxes (`price_include`, the seeded VAT): the
    price already contains the tax, so total = qty * price rounded, tax = total - total /
    (1 + rate) rounded half-up, subtotal = total - tax; the total is then exactly qty * price.
    """
    gross = money(Decimal(rec.get(qty_field) or 0) * Decimal(rec.get("price_unit") or 0)
                  * (1 - Decimal(rec.get("discount") or 0) / 100))
    incl, excl = _tax_rates(store, rec.get(tax_field) or [])
    tax_incl = money(gross - gross * 100 / (100 + incl)) if incl else Decimal(0)
    subtotal = gross - tax_incl
    return subtotal, tax_incl + money(subtotal * excl / 100)


def _sum_lines(model: str, inverse: str, what: str, qty_field: str, tax_field: str):
    def compute(store: Store, rec: Dict[str, Any]) -> Decimal:
        total = Decimal(0)
        for line in store.data[model].values():
            if line.get(inverse) == rec["id"]:
                sub, tax = _line_amounts(store, line, qty_field, tax_field)
                total += {"untaxed": sub, "tax": tax, "total": sub + tax}[what]
        return total
    return compute


def _line_field(what: str, qty_field: str, tax_field: str):
    def compute(store: Store, rec: Dict[str, Any]) -> Decimal:
        sub, tax = _line_amounts(store, rec, qty_field, tax_field)
        return sub if what == "subtotal" else sub + tax
    return compute


def _related(path: List[str], model: str):
    """A many2one followed through `path` (e.g. product_id.default_code)."""
    def compute(store: Store, rec: Dict[str, Any]) -> Any:
        cur_model, cur = model, rec
        for i, name in enumerate(path):
            v = cur.get(name, False)
            if i == len(path) - 1:
                return v
            rel = store.models[cur_model].fields[name].relation
            cur = store.data[rel].get(v) if v else None
            cur_model = rel
            if cur is None:
                return False
        return False
    return compute


# ---------------------------------------------------------------------------------------------
# Stock


def _quant(store: Store, product_id: int, location_id: int) -> Dict[str, Any]:
    for q in store.data["stock.quant"].values():
        if q["product_id"] == product_id and q["location_id"] == location_id:
            return q
    qid = store.create_one("stock.quant", {"product_id": product_id, "location_id": location_id})
    return store.data["stock.quant"][qid]


def _tracks_quants(store: Store, location_id: int) -> bool:
    return store.data["stock.location"][location_id]["usage"] in ("internal", "transit")


def _moves(store: Store, picking_id: int) -> List[Dict[str, Any]]:
    return [m for m in store.data["stock.move"].values() if m["picking_id"] == picking_id]


def _picking_on_create(store: Store, vals: Dict[str, Any]) -> Dict[str, Any]:
    ptype = store.get("stock.picking.type", vals.get("picking_type_id")) if vals.get(
        "picking_type_id") else None
    if ptype is None:
        raise ValidationError("The field 'Operation Type' is required, please complete it.")
    vals.setdefault("location_id", ptype["default_location_src_id"])
    vals.setdefault("location_dest_id", ptype["default_location_dest_id"])
    if not vals.get("name") or vals["name"] == "/":
        wh = store.data["stock.warehouse"].get(ptype["warehouse_id"])
        prefix = f"{wh['code'] if wh else 'WH'}/{ptype['sequence_code']}/"
        vals["name"] = f"{prefix}{_seq(store, prefix):05d}"
    vals.setdefault("scheduled_date", _now())
    return vals


def _move_on_create(store: Store, vals: Dict[str, Any]) -> Dict[str, Any]:
    pick = store.data["stock.picking"].get(vals.get("picking_id"))
    if pick:
        vals.setdefault("location_id", pick["location_id"])
        vals.setdefault("location_dest_id", pick["location_dest_id"])
        vals.setdefault("state", "draft" if pick["state"] == "draft" else pick["state"])
    if not vals.get("name") and vals.get("product_id"):
        vals["name"] = store.display_name("product.product", vals["product_id"])
    return vals


def _reserve(store: Store, move: Dict[str, Any]) -> bool:
    """Reserves the move's demand at its source (all or nothing). True when reserved."""
    if move["state"] == "assigned":
        return True
    if not store.data["stock.location"][move["location_id"]]["usage"] == "internal":
        move["state"] = "assigned"
        return True
    q = _quant(store, move["product_id"], move["location_id"])
    free = Decimal(q["quantity"]) - Decimal(q["reserved_quantity"])
    need = Decimal(move["product_uom_qty"])
    if free >= need:
        q["reserved_quantity"] = Decimal(q["reserved_quantity"]) + need
        move["reserved"] = need
        move["state"] = "assigned"
        if not move.get("quantity"):
            move["quantity"] = need
        return True
    return False


def _unreserve(store: Store, move: Dict[str, Any]) -> None:
    r = Decimal(move.get("reserved") or 0)
    if r:
        q = _quant(store, move["product_id"], move["location_id"])
        q["reserved_quantity"] = max(Decimal(0), Decimal(q["reserved_quantity"]) - r)
        move["reserved"] = Decimal(0)


def picking_action_confirm(store: Store, ids: List[int], kw: Dict[str, Any], ctx: Dict) -> bool:
    for p in store.browse("stock.picking", ids):
        if p["state"] != "draft":
            continue
        moves = _moves(store, p["id"])
        if not moves:
            raise UserError("Please add some items to move.")
        for m in moves:
            m["state"] = "confirmed"
        p["state"] = "confirmed"
    store.bump()
    return True


def picking_action_assign(store: Store, ids: List[int], kw: Dict[str, Any], ctx: Dict) -> bool:
    for p in store.browse("stock.picking", ids):
        if p["state"] == "draft":
            picking_action_confirm(store, [p["id"]], {}, ctx)
        if p["state"] in ("done", "cancel"):
            raise UserError(f"Nothing to check the availability for ({p['name']} is {p['state']}).")
        moves = _moves(store, p["id"])
        if all([_reserve(store, m) for m in moves]):
            p["state"] = "assigned"
    store.bump()
    return True


def picking_button_validate(store: Store, ids: List[int], kw: Dict[str, Any], ctx: Dict) -> Any:
    pickings = store.browse("stock.picking", ids)
    for p in pickings:
        if p["state"] in ("done", "cancel"):
            raise UserError(f"You cannot validate a transfer if it is {p['state']} "
                            f"({p['name']}).")
        if p["state"] == "draft":
            picking_action_confirm(store, [p["id"]], {}, ctx)
        moves = _moves(store, p["id"])
        explicit = any(m.get("picked") for m in moves)
        for m in moves:
            if not explicit and not m.get("quantity"):
                m["quantity"] = m["product_uom_qty"]  # Odoo 17+: nothing set means "all"
        if all(not Decimal(m.get("quantity") or 0) for m in moves):
            raise UserError("You cannot validate a transfer if no quantities are reserved nor "
                            "done. To force the transfer, encode quantities.")
        short = [m for m in moves if Decimal(m["quantity"]) < Decimal(m["product_uom_qty"])]
        if short and not ctx.get("skip_backorder"):
            return {"name": "Create Backorder?", "type": "ir.actions.act_window",
                    "res_model": "stock.backorder.confirmation", "view_mode": "form",
                    "target": "new", "context": {"button_validate_picking_ids": [p["id"]],
                                                 "default_pick_ids": [[4, p["id"]]]}}
        no_backorder = ctx.get("cancel_backorder") or p["id"] in (
            ctx.get("picking_ids_not_to_backorder") or [])
        if short and not no_backorder:
            back_id = store.create_one("stock.picking", {
                "picking_type_id": p["picking_type_id"], "location_id": p["location_id"],
                "location_dest_id": p["location_dest_id"], "origin": p["origin"],
                "partner_id": p["partner_id"], "backorder_id": p["id"]})
            for m in short:
                store.create_one("stock.move", {
                    "picking_id": back_id, "product_id": m["product_id"],
                    "product_uom_qty": Decimal(m["product_uom_qty"]) - Decimal(m["quantity"])})
            picking_action_confirm(store, [back_id], {}, ctx)
        for m in moves:
            _unreserve(store, m)
            qty = Decimal(m["quantity"])
            if _tracks_quants(store, m["location_id"]):
                q = _quant(store, m["product_id"], m["location_id"])
                q["quantity"] = Decimal(q["quantity"]) - qty
            if _tracks_quants(store, m["location_dest_id"]):
                q = _quant(store, m["product_id"], m["location_dest_id"])
                q["quantity"] = Decimal(q["quantity"]) + qty
            m["state"] = "done" if qty else "cancel"
            m["picked"] = True
        p["state"] = "done"
        p["date_done"] = _now()
    store.bump()
    return True


def picking_action_cancel(store: Store, ids: List[int], kw: Dict[str, Any], ctx: Dict) -> bool:
    for p in store.browse("stock.picking", ids):
        if p["state"] == "done":
            raise UserError("You cannot cancel a stock move that has been set to 'Done'. Create a "
                            "return in order to reverse the moves which took place.")
        for m in _moves(store, p["id"]):
            _unreserve(store, m)
            m["state"] = "cancel"
        p["state"] = "cancel"
    store.bump()
    return True


def return_on_create(store: Store, vals: Dict[str, Any]) -> Dict[str, Any]:
    pick = store.get("stock.picking", vals.get("picking_id") or 0)
    if pick["state"] != "done":
        raise UserError("You may only return Done pickings.")
    if "product_return_moves" not in vals:
        vals["product_return_moves"] = [
            [0, 0, {"product_id": m["product_id"], "move_id": m["id"], "quantity": 0}]
            for m in _moves(store, pick["id"]) if m["state"] == "done"]
    return vals


def return_action_create_returns(store: Store, ids: List[int], kw: Dict[str, Any],
                                 ctx: Dict) -> Dict[str, Any]:
    wiz = store.get("stock.return.picking", ids[0])
    lines = [l for l in store.data["stock.return.picking.line"].values()
             if l["wizard_id"] == wiz["id"]]
    if not any(Decimal(l["quantity"]) > 0 for l in lines):
        raise UserError("Please specify at least one non-zero quantity.")
    orig = store.get("stock.picking", wiz["picking_id"])
    ptype = store.data["stock.picking.type"][orig["picking_type_id"]]
    rtype = ptype.get("return_picking_type_id") or ptype["id"]
    new_id = store.create_one("stock.picking", {
        "picking_type_id": rtype, "location_id": orig["location_dest_id"],
        "location_dest_id": orig["location_id"], "origin": f"Return of {orig['name']}",
        "partner_id": orig["partner_id"], "return_id": orig["id"],
        "x_rf_key": wiz.get("x_rf_key") or False})
    for l in lines:
        if Decimal(l["quantity"]) > 0:
            store.create_one("stock.move", {
                "picking_id": new_id, "product_id": l["product_id"],
                "product_uom_qty": l["quantity"], "origin_returned_move_id": l["move_id"]})
    picking_action_confirm(store, [new_id], {}, ctx)
    picking_action_assign(store, [new_id], {}, ctx)
    return {"name": "Returned Picking", "type": "ir.actions.act_window",
            "res_model": "stock.picking", "res_id": new_id, "view_mode": "form",
            "context": dict(ctx)}


def quant_apply_inventory(store: Store, ids: List[int], kw: Dict[str, Any], ctx: Dict) -> bool:
    for q in store.browse("stock.quant", ids):
        if not q.get("inventory_quantity_set"):
            continue
        q["quantity"] = Decimal(q["inventory_quantity"])
        q["inventory_quantity"] = Decimal(0)
        q["inventory_quantity_set"] = False
    store.bump()
    return True


def _quant_on_change(store: Store, ids: List[int]) -> None:
    for q in store.browse("stock.quant", ids):
        if Decimal(q.get("inventory_quantity") or 0) and not q.get("inventory_quantity_set"):
            q["inventory_quantity_set"] = True


# ---------------------------------------------------------------------------------------------
# Sales


def sale_on_create(store: Store, vals: Dict[str, Any]) -> Dict[str, Any]:
    if not vals.get("name") or vals["name"] == "/":
        vals["name"] = f"S{_seq(store, 'sale.order'):05d}"
    vals.setdefault("date_order", _now())
    return vals


def sale_action_confirm(store: Store, ids: List[int], kw: Dict[str, Any], ctx: Dict) -> bool:
    orders = store.browse("sale.order", ids)
    if any(o["state"] not in ("draft", "sent") for o in orders):
        raise UserError("Some orders are not in a state requiring confirmation.")
    for o in orders:
        lines = [l for l in store.data["sale.order.line"].values() if l["order_id"] == o["id"]]
        wh = store.get("stock.warehouse", o["warehouse_id"])
        ptype = store.data["stock.picking.type"][wh["out_type_id"]]
        pid = store.create_one("stock.picking", {
            "picking_type_id": ptype["id"], "location_id": wh["lot_stock_id"],
            "location_dest_id": ptype["default_location_dest_id"], "origin": o["name"],
            "partner_id": o["partner_id"], "sale_id": o["id"]})
        for l in lines:
            store.create_one("stock.move", {"picking_id": pid, "product_id": l["product_id"],
                                            "product_uom_qty": l["product_uom_qty"]})
        picking_action_confirm(store, [pid], {}, ctx)
        picking_action_assign(store, [pid], {}, ctx)
        o["state"] = "sale"
    store.bump()
    return True


def sale_action_cancel(store: Store, ids: List[int], kw: Dict[str, Any], ctx: Dict) -> bool:
    for o in store.browse("sale.order", ids):
        for p in list(store.data["stock.picking"].values()):
            if p["sale_id"] == o["id"] and p["state"] not in ("done", "cancel"):
                picking_action_cancel(store, [p["id"]], {}, ctx)
        o["state"] = "cancel"
    store.bump()
    return True


# ---------------------------------------------------------------------------------------------
# Accounting


def move_action_post(store: Store, ids: List[int], kw: Dict[str, Any], ctx: Dict) -> bool:
    for mv in store.browse("account.move", ids):
        if mv["state"] == "posted":
            raise UserError(f"The entry {mv['name']} (id {mv['id']}) is already posted.")
        if mv["state"] == "cancel":
            raise UserError("You can't post a cancelled entry; reset it to draft first.")
        lines = [l for l in store.data["account.move.line"].values() if l["move_id"] == mv["id"]]
        if not lines:
            raise UserError("You need to add a line before posting.")
        if mv["move_type"] != "entry" and not mv["partner_id"]:
            label = "Customer Credit Note" if mv["move_type"] == "out_refund" else "Invoice"
            raise UserError(f"The field 'Customer' is required, please complete it to validate "
                            f"the {label}.")
        if not mv["name"] or mv["name"] == "/":
            prefix = {"out_refund": "RINV", "out_invoice": "INV"}.get(mv["move_type"], "MISC")
            mv["name"] = f"{prefix}/{YEAR}/{_seq(store, prefix):05d}"
        mv["state"] = "posted"
    store.bump()
    return True


def move_button_draft(store: Store, ids: List[int], kw: Dict[str, Any], ctx: Dict) -> bool:
    for mv in store.browse("account.move", ids):
        if mv["state"] not in ("posted", "cancel"):
            raise UserError("Only posted/cancelled journal entries can be reset to draft.")
        mv["state"] = "draft"
    store.bump()
    return True


def move_button_cancel(store: Store, ids: List[int], kw: Dict[str, Any], ctx: Dict) -> bool:
    for mv in store.browse("account.move", ids):
        if mv["state"] != "draft":
            raise UserError("Only draft journal entries can be cancelled.")
        mv["state"] = "cancel"
    store.bump()
    return True


def move_on_unlink(store: Store, ids: List[int]) -> None:
    for mv in store.browse("account.move", ids):
        if mv["state"] == "posted" or (mv["name"] and mv["name"] != "/"):
            raise UserError("You cannot delete an entry which has been posted once.")


def move_on_create(store: Store, vals: Dict[str, Any]) -> Dict[str, Any]:
    vals.setdefault("name", "/")
    vals.setdefault("invoice_date", _now()[:10])
    return vals


# ---------------------------------------------------------------------------------------------
# Schema

TYPES = ["consu", "service", "combo"]


def build_models() -> Dict[str, Model]:
    m = [
        Model("ir.sequence", {"code": F("char"), "number_next": F("integer", default=1)},
              rec_name="code"),
        Model("res.currency", {"name": F("char", required=True), "symbol": F("char")}),
        Model("res.partner", {"name": F("char", required=True), "email": F("char"),
                              "phone": F("char"), "ref": F("char"),
                              "is_company": F("boolean", default=False)}),
        Model("account.tax", {"name": F("char"), "amount": F("float"),
                              "type_tax_use": F("selection", selection=["sale", "purchase"],
                                                default="sale"),
                              "amount_type": F("selection", selection=["percent", "fixed"],
                                               default="percent"),
                              "price_include": F("boolean", "Included in Price",
                                                 default=False)}),
        Model("product.product", {
            "name": F("char", required=True), "default_code": F("char", "Internal Reference"),
            "barcode": F("char"), "list_price": F("monetary", "Sales Price"),
            "type": F("selection", selection=TYPES, default="consu"),
            "is_storable": F("boolean", default=True),
            "taxes_id": F("many2many", "Customer Taxes", relation="account.tax"),
            "active": F("boolean", default=True)}),
        Model("stock.location", {
            "name": F("char", required=True), "complete_name": F("char"),
            "usage": F("selection", selection=["supplier", "view", "internal", "customer",
                                               "inventory", "production", "transit"],
                       default="internal"),
            "barcode": F("char"), "warehouse_id": F("many2one", relation="stock.warehouse"),
            "active": F("boolean", default=True)}, rec_name="complete_name"),
        Model("stock.warehouse", {
            "name": F("char", required=True), "code": F("char"),
            "lot_stock_id": F("many2one", "Location Stock", relation="stock.location"),
            "in_type_id": F("many2one", relation="stock.picking.type"),
            "out_type_id": F("many2one", relation="stock.picking.type"),
            "int_type_id": F("many2one", relation="stock.picking.type")}),
        Model("stock.picking.type", {
            "name": F("char", required=True),
            "code": F("selection", selection=["incoming", "outgoing", "internal"]),
            "sequence_code": F("char"),
            "warehouse_id": F("many2one", relation="stock.warehouse"),
            "default_location_src_id": F("many2one", relation="stock.location"),
            "default_location_dest_id": F("many2one", relation="stock.location"),
            "return_picking_type_id": F("many2one", relation="stock.picking.type")}),
        Model("stock.quant", {
            "product_id": F("many2one", "Product", relation="product.product", required=True),
            "location_id": F("many2one", "Location", relation="stock.location", required=True),
            "quantity": F("float"), "reserved_quantity": F("float"),
            "inventory_quantity": F("float"),
            "inventory_quantity_set": F("boolean", default=False),
            "product_default_code": F("char", compute=_related(["product_id", "default_code"],
                                                                 "stock.quant"))},
              rec_name="product_id",
              methods={"action_apply_inventory": quant_apply_inventory},
              on_change=_quant_on_change),
        Model("stock.picking", {
            "name": F("char"), "origin": F("char", "Source Document"),
            "picking_type_id": F("many2one", "Operation Type", relation="stock.picking.type"),
            "location_id": F("many2one", "Source Location", relation="stock.location"),
            "location_dest_id": F("many2one", "Destination Location", relation="stock.location"),
            "partner_id": F("many2one", "Contact", relation="res.partner"),
            "move_ids": F("one2many", "Stock Moves", relation="stock.move", inverse="picking_id"),
            "state": F("selection", selection=["draft", "waiting", "confirmed", "assigned",
                                               "done", "cancel"], default="draft"),
            "scheduled_date": F("datetime"), "date_done": F("datetime"),
            "sale_id": F("many2one", "Sales Order", relation="sale.order"),
            "return_id": F("many2one", "Return of", relation="stock.picking"),
            "backorder_id": F("many2one", "Back Order of", relation="stock.picking"),
            "x_rf_key": F("char", "Integration reference")},
              unique=[RF_KEY_CONSTRAINT], order="id desc", on_create=_picking_on_create,
              methods={"action_confirm": picking_action_confirm,
                       "action_assign": picking_action_assign,
                       "button_validate": picking_button_validate,
                       "action_cancel": picking_action_cancel}),
        Model("stock.move", {
            "name": F("char"), "picking_id": F("many2one", relation="stock.picking"),
            "product_id": F("many2one", "Product", relation="product.product", required=True),
            "product_uom_qty": F("float", "Demand"), "quantity": F("float", "Quantity"),
            "picked": F("boolean", default=False), "reserved": F("float"),
            "location_id": F("many2one", relation="stock.location"),
            "location_dest_id": F("many2one", relation="stock.location"),
            "origin_returned_move_id": F("many2one", relation="stock.move"),
            "state": F("selection", selection=["draft", "waiting", "confirmed",
                                               "partially_available", "assigned", "done",
                                               "cancel"], default="draft"),
            "product_default_code": F("char", compute=_related(["product_id", "default_code"],
                                                                 "stock.move"))},
              on_create=_move_on_create),
        Model("stock.return.picking", {
            "picking_id": F("many2one", relation="stock.picking"),
            "product_return_moves": F("one2many", relation="stock.return.picking.line",
                                      inverse="wizard_id"),
            "x_rf_key": F("char", "Integration reference")},
              rec_name="picking_id", on_create=return_on_create,
              methods={"action_create_returns": return_action_create_returns}),
        Model("stock.return.picking.line", {
            "wizard_id": F("many2one", relation="stock.return.picking"),
            "product_id": F("many2one", relation="product.product"),
            "move_id": F("many2one", relation="stock.move"), "quantity": F("float")},
              rec_name="product_id"),
        Model("sale.order", {
            "name": F("char"), "client_order_ref": F("char", "Customer Reference"),
            "partner_id": F("many2one", "Customer", relation="res.partner", required=True),
            "state": F("selection", selection=["draft", "sent", "sale", "cancel"],
                       default="draft"),
            "date_order": F("datetime"),
            "warehouse_id": F("many2one", relation="stock.warehouse"),
            "picking_policy": F("selection", selection=["direct", "one"], default="direct"),
            "order_line": F("one2many", relation="sale.order.line", inverse="order_id"),
            "picking_ids": F("one2many", "Transfers", relation="stock.picking",
                             inverse="sale_id"),
            "amount_untaxed": F("monetary", compute=_sum_lines(
                "sale.order.line", "order_id", "untaxed", "product_uom_qty", "tax_id")),
            "amount_tax": F("monetary", compute=_sum_lines(
                "sale.order.line", "order_id", "tax", "product_uom_qty", "tax_id")),
            "amount_total": F("monetary", compute=_sum_lines(
                "sale.order.line", "order_id", "total", "product_uom_qty", "tax_id")),
            "x_rf_key": F("char", "Integration reference")},
              unique=[RF_KEY_CONSTRAINT], order="id desc", on_create=sale_on_create,
              methods={"action_confirm": sale_action_confirm,
                       "action_cancel": sale_action_cancel}),
        Model("sale.order.line", {
            "order_id": F("many2one", relation="sale.order"), "name": F("char"),
            "product_id": F("many2one", relation="product.product"),
            "product_uom_qty": F("float"), "price_unit": F("monetary"),
            "discount": F("float"), "tax_id": F("many2many", relation="account.tax"),
            "price_subtotal": F("monetary", compute=_line_field("subtotal", "product_uom_qty",
                                                                "tax_id")),
            "price_total": F("monetary", compute=_line_field("total", "product_uom_qty",
                                                             "tax_id"))}),
        Model("pos.order", {
            "name": F("char"), "pos_reference": F("char"), "date_order": F("datetime"),
            "config_name": F("char"),
            "partner_id": F("many2one", relation="res.partner"),
            "lines": F("one2many", relation="pos.order.line", inverse="order_id"),
            "amount_tax": F("monetary", compute=_sum_lines("pos.order.line", "order_id", "tax",
                                                           "qty", "tax_ids")),
            "amount_total": F("monetary", compute=_sum_lines("pos.order.line", "order_id",
                                                             "total", "qty", "tax_ids")),
            "amount_paid": F("monetary"),
            "state": F("selection", selection=["draft", "cancel", "paid", "done", "invoiced"],
                       default="draft")},
              order="id desc"),
        Model("pos.order.line", {
            "order_id": F("many2one", relation="pos.order"),
            "product_id": F("many2one", relation="product.product"),
            "qty": F("float"), "price_unit": F("monetary"), "discount": F("float"),
            "tax_ids": F("many2many", relation="account.tax"),
            "price_subtotal": F("monetary", compute=_line_field("subtotal", "qty", "tax_ids")),
            "price_subtotal_incl": F("monetary", compute=_line_field("total", "qty", "tax_ids")),
            "refunded_orderline_id": F("many2one", relation="pos.order.line")},
              rec_name="product_id"),
        Model("account.move", {
            "name": F("char"), "ref": F("char"), "invoice_origin": F("char", "Origin"),
            "move_type": F("selection", selection=["entry", "out_invoice", "out_refund",
                                                   "in_invoice", "in_refund", "out_receipt",
                                                   "in_receipt"], default="entry"),
            "partner_id": F("many2one", "Customer", relation="res.partner"),
            "currency_id": F("many2one", relation="res.currency"),
            "invoice_date": F("char"),
            "state": F("selection", selection=["draft", "posted", "cancel"], default="draft"),
            "invoice_line_ids": F("one2many", relation="account.move.line", inverse="move_id"),
            "amount_untaxed": F("monetary", compute=_sum_lines(
                "account.move.line", "move_id", "untaxed", "quantity", "tax_ids")),
            "amount_tax": F("monetary", compute=_sum_lines(
                "account.move.line", "move_id", "tax", "quantity", "tax_ids")),
            "amount_total": F("monetary", compute=_sum_lines(
                "account.move.line", "move_id", "total", "quantity", "tax_ids")),
            "x_rf_key": F("char", "Integration reference")},
              unique=[RF_KEY_CONSTRAINT], order="id desc", on_create=move_on_create,
              on_unlink=move_on_unlink,
              methods={"action_post": move_action_post, "button_draft": move_button_draft,
                       "button_cancel": move_button_cancel}),
        Model("account.move.line", {
            "move_id": F("many2one", relation="account.move"), "name": F("char", "Label"),
            "product_id": F("many2one", relation="product.product"),
            "quantity": F("float"), "price_unit": F("monetary"), "discount": F("float"),
            "tax_ids": F("many2many", relation="account.tax"),
            "price_subtotal": F("monetary", compute=_line_field("subtotal", "quantity",
                                                                "tax_ids")),
            "price_total": F("monetary", compute=_line_field("total", "quantity", "tax_ids"))}),
    ]
    return {x.name: x for x in m}


# ---------------------------------------------------------------------------------------------
# Seed data (deterministic)
#
# Catalogue data comes from simlib.catalogue(), the one the POS, inventory and notification
# simulators use, so SKUs, prices, barcodes, customers and location codes agree across them:
#   * stock locations: one warehouse per simlib store and warehouse, whose stock location has
#     the store/warehouse code as barcode (PAR-01, LON-01, NYC-01, WH-01); the transit location
#     has the barcode TRANSIT (simlib's "transit", upper-cased like the other codes);
#   * product.product: default_code = sku, name, barcode, list_price = simlib's price;
#   * res.partner: name, email, ref = customer_ref, phone.
# Prices: simlib prices are VAT-inclusive (minor units). Odoo's list_price is tax-excluded
# unless the product's customer tax is "Included in Price", so the single seeded sale tax is
# simlib's VAT rate with price_include = True (what a European retailer configures) and
# list_price is the VAT-inclusive price in major units (1999 -> 19.99). A line of qty x
# list_price then totals exactly qty x price, the amount the POS simulator refunds; the tax
# inside it is Odoo's (half-up on the tax amount per line), which can differ by one cent from
# the POS split (simlib rounds the tax-excluded amount half to even); totals never differ.


def _short_code(code: str) -> str:
    """Warehouse short name (Odoo's stock.warehouse.code): "PAR-01" -> "PAR"."""
    return code.split("-")[0]


def seed(store: Store, rng_seed: int = 6, stock_seed: int = 1) -> None:
    """Fills an empty store with the same believable data set every time. The quants are
    simlib.starting_stock(stock_seed), the inventory simulator's stock for the same --seed."""
    rng = random.Random(rng_seed)
    cat = simlib.catalogue()
    stock_by_site = simlib.starting_stock(stock_seed)
    c = store.create_one
    c("res.partner", {"name": "Retail Demo Company", "is_company": True, "ref": "COMPANY"})
    for code, sym in [("EUR", "€"), ("GBP", "£"), ("USD", "$")]:
        c("res.currency", {"name": code, "symbol": sym})
    rate = cat["vat_rate_percent"]
    vat = c("account.tax", {"name": f"{rate}% VAT (incl.)", "amount": Decimal(rate),
                            "amount_type": "percent", "type_tax_use": "sale",
                            "price_include": True})

    def loc(name: str, usage: str, barcode: Any = False, wh: Any = False) -> int:
        return c("stock.location", {"name": name, "complete_name": name, "usage": usage,
                                    "barcode": barcode, "warehouse_id": wh})

    customers = loc("Partners/Customers", "customer", "CUSTOMERS")
    loc("Partners/Vendors", "supplier", "VENDORS")
    loc("Virtual Locations/Inventory adjustment", "inventory", "INVENTORY")
    transit = loc("Virtual Locations/Transit", "transit", cat["transit_location"].upper())
    sites = [(s["store_id"], s["name"]) for s in cat["stores"].values()] + [
        (w["warehouse_id"], w["name"]) for w in cat["warehouses"].values()]
    internal = []
    for code, name in sites:
        short = _short_code(code)
        wh = c("stock.warehouse", {"name": name, "code": short})
        stock = loc(f"{short}/Stock", "internal", code, wh)
        internal.append((code, stock))
        t_in = c("stock.picking.type", {
            "name": "Receipts", "code": "incoming", "sequence_code": "IN", "warehouse_id": wh,
            "default_location_src_id": transit, "default_location_dest_id": stock})
        t_out = c("stock.picking.type", {
            "name": "Delivery Orders", "code": "outgoing", "sequence_code": "OUT",
            "warehouse_id": wh, "default_location_src_id": stock,
            "default_location_dest_id": customers, "return_picking_type_id": t_in})
        t_int = c("stock.picking.type", {
            "name": "Internal Transfers", "code": "internal", "sequence_code": "INT",
            "warehouse_id": wh, "default_location_src_id": stock,
            "default_location_dest_id": stock})
        store.write("stock.picking.type", [t_in], {"return_picking_type_id": t_out})
        store.write("stock.warehouse", [wh], {"lot_stock_id": stock, "in_type_id": t_in,
                                              "out_type_id": t_out, "int_type_id": t_int})

    products = []
    for sku in cat["skus"]:
        pid = c("product.product", {
            "name": sku["name"], "default_code": sku["sku"], "barcode": sku["barcode"],
            "list_price": Decimal(sku["price"]) / 100, "type": "consu", "is_storable": True,
            "taxes_id": [[6, 0, [vat]]]})
        products.append(pid)
        for code, stock in internal:
            rng.randint(5, 60)  # the former random quantity: the orders below stay the same
            c("stock.quant", {"product_id": pid, "location_id": stock,
                              "quantity": Decimal(stock_by_site[code][sku["sku"]])})
    partners = []
    for cust in cat["customers"]:
        partners.append(c("res.partner", {
            "name": cust["name"], "ref": cust["customer_ref"], "email": cust["email"],
            "phone": cust["phone"]}))
    store_whs = sorted(store.data["stock.warehouse"])[:3]
    for i in range(1, 151):
        lines = []
        for _ in range(rng.randint(1, 3)):
            p = store.data["product.product"][rng.choice(products)]
            lines.append([0, 0, {"product_id": p["id"], "name": p["name"],
                                 "product_uom_qty": Decimal(rng.randint(1, 2)),
                                 "price_unit": p["list_price"],
                                 "tax_id": [[6, 0, list(p["taxes_id"])]]}])
        c("sale.order", {"client_order_ref": f"CC-{i:04d}", "partner_id": rng.choice(partners),
                         "warehouse_id": store_whs[(i - 1) % 3], "order_line": lines,
                         "date_order": f"{YEAR}-03-{1 + i % 28:02d} 10:{i % 60:02d}:00"})
    for i in range(1, 31):
        code = sites[(i - 1) % 3][0]
        lines = []
        for _ in range(rng.randint(1, 4)):
            p = store.data["product.product"][rng.choice(products)]
            lines.append([0, 0, {"product_id": p["id"], "qty": Decimal(rng.randint(1, 3)),
                                 "price_unit": p["list_price"],
                                 "tax_ids": [[6, 0, list(p["taxes_id"])]]}])
        oid = c("pos.order", {"name": f"{code}/{i:04d}", "pos_reference": f"Order {i:05d}-001-0001",
                              "config_name": code, "partner_id": rng.choice(partners + [False]),
                              "date_order": f"{YEAR}-03-{1 + i % 28:02d} 15:{i % 60:02d}:00",
                              "lines": lines, "state": "done" if i % 2 else "paid"})
        rec = store.data["pos.order"][oid]
        rec["amount_paid"] = store.value(store.models["pos.order"], rec, "amount_total")
    store.version = 0
