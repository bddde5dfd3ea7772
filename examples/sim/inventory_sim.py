#!/usr/bin/env python3
"""Inventory platform simulator: availability, reservations with expiry, adjustments and
transfers through transit, per location. Every POST/PUT/PATCH/DELETE honours `Idempotency-Key` as
the IETF draft says, including 409 while the first request of a key is still being processed
(inflight.py); a gate holds requests of one operation for tests (POST /__admin/gate).
See README.md ("Inventory platform simulator").

    python3 examples/sim/inventory_sim.py --port 8072 [--state inv.json] [--seed 1]
"""

import json
import os
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import inflight  # noqa: E402
import simlib  # noqa: E402
from simlib import App, bad_request, conflict, iso, not_found, route, unprocessable  # noqa: E402

DEFAULT_HOLD_S = 900
STORE_LOCATIONS = list(simlib.STORES) + list(simlib.WAREHOUSES)
LOCATIONS = STORE_LOCATIONS + [simlib.TRANSIT_LOCATION]


class InventoryApp(inflight.InFlightApp, App):
    name = "inventory"
    idempotent_methods = ("POST", "PUT", "PATCH", "DELETE")

    # ------------------------------------------------------------------ state
    def reset_state(self):
        # The same starting stock as the Odoo simulator's quants for this --seed.
        stock = {}
        for loc, qtys in simlib.starting_stock(self.args.seed).items():
            stock[loc] = {sku: {"on_hand": qty, "reserved": 0, "quarantine": 0}
                          for sku, qty in qtys.items()}
        stock[simlib.TRANSIT_LOCATION] = {}
        self.stock = stock
        self.reservations = {}
        self.adjustments = {}
        self.transfers = {}
        self.seq = {"reservation": 0, "adjustment": 0, "transfer": 0}
        self.events = []  # expiry and other automatic happenings, newest last (capped)

    def dump_state(self):
        self._expire_due()
        return {"stock": self.stock, "reservations": self.reservations,
                "adjustments": self.adjustments, "transfers": self.transfers, "seq": self.seq,
                "events": self.events[-200:]}

    def load_state(self, d):
        self.stock, self.reservations = d["stock"], d["reservations"]
        self.adjustments, self.transfers = d["adjustments"], d["transfers"]
        self.seq, self.events = d["seq"], d.get("events", [])

    def background(self):
        def sweep():
            while True:
                time.sleep(0.25)
                with self.lock:
                    if self._expire_due():
                        self.save()
        threading.Thread(target=sweep, daemon=True, name="expiry").start()

    # ------------------------------------------------------------------ helpers
    def _next(self, kind, prefix):
        self.seq[kind] += 1
        return "%s-%06d" % (prefix, self.seq[kind])

    def _cell(self, loc, sku):
        return self.stock[loc].setdefault(sku, {"on_hand": 0, "reserved": 0, "quarantine": 0})

    def _expire_due(self, now=None):
        """Frees stock of reservations whose hold has passed. Returns True when any expired."""
        now = time.time() if now is None else now
        changed = False
        for r in self.reservations.values():
            if r["status"] == "active" and r["expires_at_unix"] <= now:
                for ln in r["lines"]:
                    self._cell(r["location"], ln["sku"])["reserved"] -= ln["qty"]
                r["status"] = "expired"
                r["updated_at"] = iso(now)
                self.events.append({"at": iso(now), "event": "reservation.expired",
                                    "reservation_id": r["reservation_id"]})
                changed = True
        if len(self.events) > 1000:
            del self.events[:-500]
        return changed

    @staticmethod
    def _text(body, name, required=True):
        v = body.get(name)
        if v is None:
            if required:
                raise bad_request("field %r is required" % name)
            return None
        if not isinstance(v, str) or not v.strip():
            raise bad_request("field %r must be a non-empty text" % name)
        return v.strip()

    def _location(self, loc, where="body"):
        if loc not in self.stock:
            if where == "path":
                raise not_found("unknown location %r" % loc)
            raise unprocessable("unknown location %r (known: %s)" % (loc, ", ".join(LOCATIONS)),
                                code="unknown_location")
        return loc

    @staticmethod
    def _qty(v, where):
        if isinstance(v, bool):
            raise bad_request("%s: qty must be a whole number" % where)
        if isinstance(v, str):
            try:
                v = float(v)
            except ValueError:
                raise bad_request("%s: qty must be a whole number" % where)
        if not isinstance(v, (int, float)) or v != int(v):
            raise bad_request("%s: qty must be a whole number" % where)
        return int(v)

    def _lines(self, raw, name="lines", allow_zero=False):
        """[{sku, qty}] merged per SKU, in first-seen order. Extra line fields are ignored."""
        if not isinstance(raw, list) or not raw:
            raise bad_request("field %r must be a non-empty list of {sku, qty}" % name)
        merged = {}
        for i, ln in enumerate(raw):
            where = "%s[%d]" % (name, i)
            if not isinstance(ln, dict):
                raise bad_request("%s must be an object {sku, qty}" % where)
            sku = ln.get("sku")
            if not isinstance(sku, str) or not sku:
                raise bad_request("%s.sku is required" % where)
            qty = self._qty(ln.get("qty", ln.get("quantity")), where)
            if qty < 0 or (qty == 0 and not allow_zero):
                raise unprocessable("%s: qty must be positive (got %d)" % (where, qty),
                                    code="bad_quantity")
            if sku not in simlib.SKU_BY_ID:
                raise unprocessable("%s: unknown SKU %r" % (where, sku), code="unknown_sku")
            merged[sku] = merged.get(sku, 0) + qty
        return [{"sku": s, "qty": q} for s, q in merged.items()]

    def _check_available(self, loc, lines, bucket="sellable"):
        short = []
        for ln in lines:
            c = self._cell(loc, ln["sku"])
            have = c["quarantine"] if bucket == "quarantine" else c["on_hand"] - c["reserved"]
            if have < ln["qty"]:
                short.append({"sku": ln["sku"], "requested": ln["qty"], "available": have,
                              "on_hand": c["on_hand"], "reserved": c["reserved"],
                              "quarantine": c["quarantine"]})
        if short:
            what = "in quarantine" if bucket == "quarantine" else "available"
            raise conflict("insufficient stock at %s: %s" % (loc, "; ".join(
                "%s requested %d, %s %d" % (s["sku"], s["requested"], what, s["available"])
                for s in short)), {"location": loc, "lines": short}, code="insufficient_stock")

    def _reservation(self, rid):
        r = self.reservations.get(rid)
        if r is None:
            raise not_found("unknown reservation %r" % rid)
        return r

    def _transfer(self, tid):
        t = self.transfers.get(tid)
        if t is None:
            raise not_found("unknown transfer %r" % tid)
        return t

    @staticmethod
    def _public(r):
        return {k: v for k, v in r.items() if not k.endswith("_unix")}

    # ------------------------------------------------------------------ locations
    @route("GET", r"/v1/locations")
    def list_locations(self, req):
        out = []
        for loc in LOCATIONS:
            info = simlib.STORES.get(loc) or simlib.WAREHOUSES.get(loc) or {}
            kind = ("store" if loc in simlib.STORES else
                    "warehouse" if loc in simlib.WAREHOUSES else "transit")
            out.append({"location": loc, "type": kind, "name": info.get("name", "In transit"),
                        "timezone": info.get("timezone")})
        return 200, {"locations": out}

    @route("GET", r"/v1/locations/(?P<loc>[^/]+)/availability")
    def availability(self, req):
        with self.lock:
            self._expire_due()
            loc = self._location(req.params["loc"], "path")
            skus = []
            for v in req.query.get("skus", []) + req.query.get("skus[]", []) + req.query.get("sku", []):
                v = v.strip()
                if v.startswith("["):  # a JSON array rendered into the query
                    try:
                        skus.extend(str(x) for x in json.loads(v))
                        continue
                    except ValueError:
                        raise bad_request("skus: not a JSON array nor a comma-separated list")
                skus.extend(s.strip() for s in v.split(",") if s.strip())
            if skus:
                unknown = [s for s in skus if s not in simlib.SKU_BY_ID]
                if unknown:
                    raise not_found("unknown SKU(s): %s" % ", ".join(unknown))
                wanted = list(dict.fromkeys(skus))
            else:
                wanted = sorted(self.stock[loc])
            items = []
            for sku in wanted:
                c = self.stock[loc].get(sku, {"on_hand": 0, "reserved": 0, "quarantine": 0})
                items.append({"sku": sku, "on_hand": c["on_hand"], "reserved": c["reserved"],
                              "available": c["on_hand"] - c["reserved"],
                              "quarantine": c["quarantine"]})
            return 200, {"location": loc, "as_of": iso(time.time()), "items": items}

    # ------------------------------------------------------------------ reservations
    @route("POST", r"/v1/reservations")
    def reserve(self, req):
        body = req.json()
        with self.lock:
            self._expire_due()
            loc = self._location(self._text(body, "location"))
            if loc == simlib.TRANSIT_LOCATION:
                raise unprocessable("stock in transit cannot be reserved", code="bad_location")
            reference = self._text(body, "reference", required=False) or ""
            lines = self._lines(body.get("lines"))
            hold = body.get("hold_for")
            try:
                hold_s = DEFAULT_HOLD_S if hold is None else simlib.parse_duration(hold)
            except ValueError as e:
                raise bad_request("hold_for: %s" % e)
            if hold_s <= 0:
                raise unprocessable("hold_for must be longer than zero", code="bad_duration")
            self._check_available(loc, lines)
            for ln in lines:
                self._cell(loc, ln["sku"])["reserved"] += ln["qty"]
            now = time.time()
            rid = self._next("reservation", "RSV")
            r = {"reservation_id": rid, "location": loc, "reference": reference, "lines": lines,
                 "status": "active", "created_at": iso(now), "hold_seconds": hold_s,
                 "expires_at": iso(now + hold_s), "expires_at_unix": now + hold_s,
                 "updated_at": iso(now)}
            self.reservations[rid] = r
            self.save()
            return 201, self._public(r), {"Location": "/v1/reservations/" + rid}

    @route("GET", r"/v1/reservations")
    def list_reservations(self, req):
        with self.lock:
            self._expire_due()
            ref, status = req.q("reference"), req.q("status")
            out = [self._public(r) for r in self.reservations.values()
                   if (ref is None or r["reference"] == ref) and (status is None or r["status"] == status)]
            return 200, {"reservations": out}

    @route("GET", r"/v1/reservations/(?P<id>[^/]+)")
    def get_reservation(self, req):
        with self.lock:
            self._expire_due()
            return 200, self._public(self._reservation(req.params["id"]))

    @route("POST", r"/v1/reservations/(?P<id>[^/]+)/release")
    def release(self, req):
        with self.lock:
            self._expire_due()
            r = self._reservation(req.params["id"])
            if r["status"] in ("released", "expired", "returned"):
                # Releasing twice, after expiry, or after its transfer was cancelled (the goods
                # came back) is harmless: nothing is held any more.
                return 200, {"reservation_id": r["reservation_id"], "status": r["status"]}
            if r["status"] != "active":
                raise conflict("reservation %s is %s; it can no longer be released"
                               % (r["reservation_id"], r["status"]), code="reservation_" + r["status"])
            for ln in r["lines"]:
                self._cell(r["location"], ln["sku"])["reserved"] -= ln["qty"]
            r["status"], r["updated_at"] = "released", iso(time.time())
            self.save()
            return 200, {"reservation_id": r["reservation_id"], "status": "released"}

    @route("POST", r"/v1/reservations/(?P<id>[^/]+)/consume")
    def consume(self, req):
        with self.lock:
            self._expire_due()
            r = self._reservation(req.params["id"])
            if r["status"] == "consumed":
                return 200, {"reservation_id": r["reservation_id"], "status": "consumed"}
            if r["status"] != "active":
                raise conflict("reservation %s is %s: its stock is no longer held"
                               % (r["reservation_id"], r["status"]), code="reservation_" + r["status"])
            for ln in r["lines"]:
                c = self._cell(r["location"], ln["sku"])
                c["reserved"] -= ln["qty"]
                c["on_hand"] -= ln["qty"]
            r["status"], r["updated_at"] = "consumed", iso(time.time())
            self.save()
            return 200, {"reservation_id": r["reservation_id"], "status": "consumed"}

    # ------------------------------------------------------------------ adjustments
    @route("POST", r"/v1/adjustments")
    def adjust(self, req):
        body = req.json()
        with self.lock:
            self._expire_due()
            loc = self._location(self._text(body, "location"))
            direction = self._text(body, "direction")
            if direction not in ("in", "out"):
                raise bad_request("direction must be \"in\" or \"out\", not %r" % direction)
            reason = self._text(body, "reason")
            status = self._text(body, "stock_status", required=False) or "sellable"
            if status not in ("sellable", "quarantine"):
                raise bad_request("stock_status must be \"sellable\" or \"quarantine\", not %r" % status)
            lines = self._lines(body.get("lines"))
            if direction == "out":
                self._check_available(loc, lines, status)
            sign = 1 if direction == "in" else -1
            for ln in lines:
                c = self._cell(loc, ln["sku"])
                c["quarantine" if status == "quarantine" else "on_hand"] += sign * ln["qty"]
            aid = self._next("adjustment", "ADJ")
            a = {"adjustment_id": aid, "location": loc, "direction": direction, "reason": reason,
                 "stock_status": status, "lines": lines, "created_at": iso(time.time())}
            self.adjustments[aid] = a
            self.save()
            return 201, a, {"Location": "/v1/adjustments/" + aid}

    @route("GET", r"/v1/adjustments")
    def list_adjustments(self, req):
        with self.lock:
            loc = req.q("location")
            return 200, {"adjustments": [a for a in self.adjustments.values()
                                         if loc is None or a["location"] == loc]}

    @route("GET", r"/v1/adjustments/(?P<id>[^/]+)")
    def get_adjustment(self, req):
        with self.lock:
            a = self.adjustments.get(req.params["id"])
            if a is None:
                raise not_found("unknown adjustment %r" % req.params["id"])
            return 200, a

    # ------------------------------------------------------------------ transfers
    @route("POST", r"/v1/transfers")
    def ship_transfer(self, req):
        body = req.json()
        with self.lock:
            self._expire_due()
            r = self._reservation(self._text(body, "reservation_id"))
            dest = self._location(self._text(body, "to_location"))
            if dest in (r["location"], simlib.TRANSIT_LOCATION):
                raise unprocessable("cannot ship from %s to %s" % (r["location"], dest),
                                    code="bad_location")
            if r["status"] != "active":
                raise conflict("reservation %s is %s: only an active reservation can be shipped"
                               % (r["reservation_id"], r["status"]), code="reservation_" + r["status"])
            for ln in r["lines"]:
                c = self._cell(r["location"], ln["sku"])
                c["reserved"] -= ln["qty"]
                c["on_hand"] -= ln["qty"]
                self._cell(simlib.TRANSIT_LOCATION, ln["sku"])["on_hand"] += ln["qty"]
            now = time.time()
            r["status"], r["updated_at"] = "shipped", iso(now)
            tid = self._next("transfer", "TRF")
            t = {"transfer_id": tid, "status": "in_transit", "reservation_id": r["reservation_id"],
                 "reference": r["reference"], "from_location": r["location"], "to_location": dest,
                 "lines": [dict(ln) for ln in r["lines"]], "shipped_at": iso(now),
                 "received_at": None, "received_lines": None, "discrepancies": [],
                 "missing_lines": []}
            self.transfers[tid] = t
            r["transfer_id"] = tid
            self.save()
            return 201, t, {"Location": "/v1/transfers/" + tid}

    @route("GET", r"/v1/transfers")
    def list_transfers(self, req):
        with self.lock:
            st = req.q("status")
            return 200, {"transfers": [t for t in self.transfers.values()
                                       if st is None or t["status"] == st]}

    @route("GET", r"/v1/transfers/(?P<id>[^/]+)")
    def get_transfer(self, req):
        with self.lock:
            return 200, self._transfer(req.params["id"])

    @route("POST", r"/v1/transfers/(?P<id>[^/]+)/receive")
    def receive_transfer(self, req):
        body = req.json(required=False)
        with self.lock:
            t = self._transfer(req.params["id"])
            if t["status"] != "in_transit":
                raise conflict("transfer %s is %s: it can no longer be received"
                               % (t["transfer_id"], t["status"]), code="transfer_" + t["status"])
            shipped = {ln["sku"]: ln["qty"] for ln in t["lines"]}
            if body.get("lines") is None:
                got = [dict(ln) for ln in t["lines"]]
            else:
                got = self._lines(body["lines"], allow_zero=True)
            received = {ln["sku"]: ln["qty"] for ln in got}
            disc, missing = [], []
            for sku in list(shipped) + [s for s in received if s not in shipped]:
                s, r = shipped.get(sku, 0), received.get(sku, 0)
                take = min(s, r)
                if take:
                    self._cell(simlib.TRANSIT_LOCATION, sku)["on_hand"] -= take
                if r:
                    self._cell(t["to_location"], sku)["on_hand"] += r
                if s != r:
                    disc.append({"sku": sku, "shipped": s, "received": r, "difference": r - s})
                if r < s:
                    missing.append({"sku": sku, "qty": s - r})
            # What did not arrive stays in the transit location until written off (an adjustment
            # "out" of "transit"); an over-receipt is booked at the destination as received.
            t.update(status="received", received_at=iso(time.time()), received_lines=got,
                     discrepancies=disc, missing_lines=missing)
            self.save()
            return 200, t

    @route("POST", r"/v1/transfers/(?P<id>[^/]+)/cancel")
    def cancel_transfer(self, req):
        with self.lock:
            t = self._transfer(req.params["id"])
            if t["status"] == "cancelled":
                return 200, t
            if t["status"] != "in_transit":
                raise conflict("transfer %s is %s: only a transfer in transit can be cancelled"
                               % (t["transfer_id"], t["status"]), code="transfer_" + t["status"])
            for ln in t["lines"]:
                self._cell(simlib.TRANSIT_LOCATION, ln["sku"])["on_hand"] -= ln["qty"]
                self._cell(t["from_location"], ln["sku"])["on_hand"] += ln["qty"]
            now = iso(time.time())
            t["status"], t["cancelled_at"] = "cancelled", now
            # The goods are back on the source's shelves, sellable: the reservation holds nothing.
            r = self.reservations.get(t["reservation_id"])
            if r is not None and r["status"] == "shipped":
                r["status"], r["updated_at"] = "returned", now
            self.save()
            return 200, t


def main(argv=None):
    p = simlib.base_arg_parser("inventory_sim", 8072, __doc__)
    p.add_argument("--token", help="require Authorization: Bearer TOKEN on the /v1 API")
    args = p.parse_args(argv)
    simlib.serve(InventoryApp(args), args.host, args.port)


if __name__ == "__main__":
    main()
