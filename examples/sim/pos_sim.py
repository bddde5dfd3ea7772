#!/usr/bin/env python3
"""POS simulator: the stores' tills. Serves sales (with what was already refunded per line) and
sends signed Standard Webhooks for `sale.completed` and `return.initiated`, with duplicates, late
and out-of-order deliveries and sender retries. See README.md ("POS simulator").

    python3 examples/sim/pos_sim.py --port 8071 \
        --webhook-url http://127.0.0.1:8080/v1/webhooks/pos --webhook-secret whsec_...
"""

import heapq
import json
import os
import random
import sys
import threading
import time
import urllib.error
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import simlib  # noqa: E402
from simlib import (App, bad_request, conflict, iso, not_found, route,  # noqa: E402
                    unprocessable)

SOURCE_SYSTEM = "pos-sim"
RETURN_WINDOW_DAYS = 30
HIGH_VALUE_MINOR = 50000  # the store_return workflow asks a manager above 500 (major units)
REASONS_RESTOCK = ["wrong size", "changed mind"]
REASONS_DAMAGED = ["damaged", "faulty"]
TENDER_TYPES = ["card", "card", "card", "cash", "gift_card"]
DEFAULT_SECRET = simlib.make_secret("retailflow-pos-sim")


class PosApp(App):
    name = "pos"
    idempotent_methods = ("POST",)

    def __init__(self, args):
        self.cv = threading.Condition(threading.Lock())
        self.queue = []  # heap of (due_unix, n, delivery_id)
        self.queue_n = 0
        self.webhook_url = args.webhook_url
        self.webhook_secret = args.webhook_secret
        super().__init__(args)

    # ------------------------------------------------------------------ state
    def reset_state(self):
        self.sales, self.returns, self.deliveries = {}, {}, {}
        # The epoch keeps webhook ids and return ids (the store_return business key) unique
        # across resets; sale ids stay deterministic for a given --seed.
        self.seq = {"sale": 0, "return": 0, "event": 0, "delivery": 0, "receipt": {},
                    "epoch": "%04X" % random.SystemRandom().randint(0, 0xFFFF)}
        self.counters = {"sent": 0, "acknowledged": 0, "failed": 0, "duplicates": 0, "late": 0}
        with self.cv:
            self.queue = []
        self._seed_sales(self.args.seed_sales, random.Random(self.args.seed))

    def dump_state(self):
        pending = sum(1 for d in self.deliveries.values() if d["status"] == "pending")
        return {"sales": {k: self._sale_view(v) for k, v in self.sales.items()},
                "returns": self.returns,
                "deliveries": {k: {f: v for f, v in d.items() if f != "body"}
                               for k, d in self.deliveries.items()},
                "delivery_summary": dict(self.counters, pending=pending),
                "webhook": {"url": self.webhook_url}, "seq": self.seq}

    def save(self):
        # Delivery bodies are kept in the state file so that pending deliveries resume after a restart.
        if not self.state_file:
            return
        with self.lock:
            doc = {"simulator": self.name, "saved_at": iso(time.time()), "idempotency": self.idempotency,
                   "data": {"sales": self.sales, "returns": self.returns, "deliveries": self.deliveries,
                            "seq": self.seq, "counters": self.counters}}
            tmp = self.state_file + ".tmp"
            with open(tmp, "w", encoding="utf-8") as f:
                json.dump(doc, f, separators=(",", ":"))
            os.replace(tmp, self.state_file)

    def load_state(self, d):
        self.sales, self.returns, self.deliveries = d["sales"], d["returns"], d["deliveries"]
        self.seq, self.counters = d["seq"], d["counters"]

    def background(self):
        with self.lock, self.cv:
            for did, d in self.deliveries.items():
                if d["status"] == "pending":
                    self._enqueue_unlocked(did, time.time())
        for i in range(self.args.senders):
            threading.Thread(target=self._sender, daemon=True, name="sender-%d" % i).start()

    # ------------------------------------------------------------------ sales
    def _next_receipt(self, store_id, register_id):
        n = self.seq["receipt"].get(store_id, 0) + 1
        self.seq["receipt"][store_id] = n
        return "%s-%s-%06d" % (store_id, register_id.rsplit("-", 1)[-1], n)

    @staticmethod
    def _price_line(line_id, sku, qty, discount):
        s = simlib.SKU_BY_ID[sku]
        total = s["price"] * qty - discount
        tax = simlib.tax_included(total)
        return {"line_id": line_id, "sku": sku, "barcode": s["barcode"], "name": s["name"],
                "qty": qty, "unit_price": s["price"], "discount": discount,
                "tax": [{"code": simlib.VAT_CODE, "rate": simlib.VAT_RATE_PERCENT, "amount": tax}],
                "line_total": total}

    @staticmethod
    def _totals(lines):
        total = sum(ln["line_total"] for ln in lines)
        tax = sum(t["amount"] for ln in lines for t in ln["tax"])
        return {"subtotal": total - tax, "tax": tax, "total": total}

    def _record_sale(self, store_id, items, customer_ref, occurred_ts, register_id=None,
                     tenders=None, sale_id=None, rng=None):
        """items: [(sku, qty, discount_minor)]. Returns the stored sale."""
        rng = rng or random
        register_id = register_id or "%s-R%d" % (store_id, rng.randint(1, 3))
        if sale_id is None:
            self.seq["sale"] += 1
            sale_id = "SALE-%06d" % self.seq["sale"]
        lines = [self._price_line("L%d" % (i + 1), sku, qty, disc)
                 for i, (sku, qty, disc) in enumerate(items)]
        totals = self._totals(lines)
        if tenders is None:
            t = rng.choice(TENDER_TYPES)
            tenders = [{"type": t, "amount": totals["total"],
                        "ref": "%s-%08d" % (t.upper()[:4], rng.randint(0, 99999999))}]
        cust = simlib.CUSTOMER_BY_REF.get(customer_ref) if customer_ref else None
        sale = {"sale_id": sale_id, "store_id": store_id, "register_id": register_id,
                "receipt_no": self._next_receipt(store_id, register_id),
                "occurred_at": iso(occurred_ts), "occurred_at_unix": occurred_ts,
                "currency": simlib.STORES[store_id]["currency"], "customer_ref": customer_ref,
                "customer_email": cust["email"] if cust else None,
                "lines": lines, "tenders": tenders, "totals": totals,
                "refunded": {ln["line_id"]: 0 for ln in lines}, "returns": []}
        self.sales[sale_id] = sale
        return sale

    def _seed_sales(self, n, rng):
        now = time.time()
        base = now - now % 3600  # whole hour: the same seed gives the same relative history
        stamps = sorted(base - rng.uniform(1800, 60 * 86400) for _ in range(n))
        for ts in stamps:
            store = rng.choice(list(simlib.STORES))
            cust = rng.choice(simlib.CUSTOMERS)["customer_ref"] if rng.random() < 0.9 else None
            items, used = [], set()
            for _ in range(rng.choice([1, 1, 2, 2, 3, 4])):
                sku = rng.choice(simlib.SKUS)
                if sku["sku"] in used:
                    continue
                used.add(sku["sku"])
                qty = rng.choice([1, 1, 1, 2, 3]) if sku["price"] < 20000 else 1
                disc = (sku["price"] * qty) // 10 if rng.random() < 0.15 else 0
                items.append((sku["sku"], qty, disc))
            sale = self._record_sale(store, items, cust, ts, rng=rng)
            if rng.random() < 0.08:  # an earlier refund at the till, already completed
                ln = rng.choice(sale["lines"])
                self._complete_refund(sale, [(ln, ln["qty"])], "changed mind",
                                      ts + rng.uniform(3600, 5 * 86400))

    def _sale_view(self, sale):
        """The canonical sale plus per-line refunded/refundable and the `refundable` map."""
        out = {k: v for k, v in sale.items() if not k.endswith("_unix") and k != "refunded"}
        out["source_system"] = SOURCE_SYSTEM
        out["status"] = "completed"
        out["lines"] = []
        refundable = {}
        for ln in sale["lines"]:
            done = sale["refunded"].get(ln["line_id"], 0)
            refundable[ln["line_id"]] = ln["qty"] - done
            out["lines"].append(dict(ln, refunded_qty=done, refundable_qty=ln["qty"] - done))
        out["refunded"] = dict(sale["refunded"])
        out["refundable"] = refundable
        return out

    def _sale(self, sale_id):
        s = self.sales.get(sale_id)
        if s is None:
            raise not_found("unknown sale %r" % sale_id)
        return s

    def _parse_items(self, body):
        lines = body.get("lines")
        if not isinstance(lines, list) or not lines:
            raise bad_request("lines must be a non-empty list of {sku, qty}")
        items = []
        for i, ln in enumerate(lines):
            if not isinstance(ln, dict) or not isinstance(ln.get("sku"), str):
                raise bad_request("lines[%d] must be an object with a sku" % i)
            qty, disc = ln.get("qty", 1), ln.get("discount", 0)
            if not isinstance(qty, int) or isinstance(qty, bool) or not isinstance(disc, int):
                raise bad_request("lines[%d]: qty and discount must be integers" % i)
            if ln["sku"] not in simlib.SKU_BY_ID:
                raise unprocessable("lines[%d]: unknown SKU %r" % (i, ln["sku"]), code="unknown_sku")
            if qty <= 0 or disc < 0 or disc > simlib.SKU_BY_ID[ln["sku"]]["price"] * qty:
                raise unprocessable("lines[%d]: qty must be positive and the discount within the "
                                    "line amount" % i, code="bad_line")
            items.append((ln["sku"], qty, disc))
        return items

    def _new_sale_from_body(self, body):
        store = body.get("store_id")
        if not isinstance(store, str):
            raise bad_request("store_id is required")
        if store not in simlib.STORES:
            raise unprocessable("unknown store %r" % store, code="unknown_store")
        cust = body.get("customer_ref")
        if cust is not None and cust not in simlib.CUSTOMER_BY_REF:
            raise unprocessable("unknown customer %r" % cust, code="unknown_customer")
        items = self._parse_items(body)
        sale_id = body.get("sale_id")
        if sale_id is not None and (not isinstance(sale_id, str) or not sale_id):
            raise bad_request("sale_id must be a text")
        if sale_id in self.sales:
            raise conflict("sale %s already exists" % sale_id, code="duplicate_sale")
        ts = time.time()
        if body.get("occurred_at") is not None:
            try:
                ts = simlib.parse_iso(body["occurred_at"])
            except (ValueError, AttributeError):
                raise bad_request("occurred_at must be an ISO-8601 time")
        return self._record_sale(store, items, cust, ts, register_id=body.get("register_id"),
                                 tenders=body.get("tenders"), sale_id=sale_id)

    @route("GET", r"/sales/(?P<id>[^/]+)")
    def get_sale(self, req):
        with self.lock:
            return 200, self._sale_view(self._sale(req.params["id"]))

    @route("GET", r"/sales")
    def list_sales(self, req):
        with self.lock:
            store = req.q("store_id")
            out = [{"sale_id": s["sale_id"], "store_id": s["store_id"], "receipt_no": s["receipt_no"],
                    "occurred_at": s["occurred_at"], "customer_ref": s["customer_ref"],
                    "total": s["totals"]["total"], "currency": s["currency"]}
                   for s in self.sales.values() if store is None or s["store_id"] == store]
            return 200, {"sales": out}

    @route("POST", r"/sales")
    def post_sale(self, req):
        body = req.json()
        with self.lock:
            sale = self._new_sale_from_body(body)
            out = self._sale_view(sale)
            if body.get("emit"):
                out["webhook_id"] = self._emit_sale(sale, sale["occurred_at_unix"], {})[0]
            self.save()
            return 201, out, {"Location": "/sales/" + sale["sale_id"]}

    # ------------------------------------------------------------------ returns
    def _return_lines(self, sale, chosen, restock):
        """chosen: [(sale_line, qty)] -> return lines (positive quantities, amounts pro rata)."""
        out = []
        for i, (ln, qty) in enumerate(chosen):
            disc = simlib.round_half_even_div(ln["discount"] * qty, ln["qty"]) if ln["qty"] else 0
            r = self._price_line("R%d" % (i + 1), ln["sku"], qty, disc)
            r.update(original_line_id=ln["line_id"], restock=restock, tax_rate=simlib.VAT_RATE_PERCENT)
            out.append(r)
        return out

    def _build_return(self, sale, chosen, reason, restock, occurred_ts, scenario, expected):
        self.seq["return"] += 1
        rid = "RET-%s-%05d" % (self.seq["epoch"], self.seq["return"])
        lines = self._return_lines(sale, chosen, restock)
        totals = self._totals(lines)
        tender = sale["tenders"][0] if sale["tenders"] else {"type": "card", "ref": None}
        register = sale["register_id"]
        ret = {"return_id": rid, "sale_id": rid, "original_sale_id": sale["sale_id"],
               "store_id": sale["store_id"], "register_id": register,
               "receipt_no": self._next_receipt(sale["store_id"], register),
               "occurred_at": iso(occurred_ts), "currency": sale["currency"],
               "customer_ref": sale["customer_ref"], "reason": reason,
               "restock_location_id": sale["store_id"], "lines": lines, "totals": totals,
               "refund_tenders": [{"type": tender["type"], "amount": totals["total"],
                                   "ref": tender.get("ref")}],
               "refund_amount": simlib.minor_to_money(totals["total"]),
               "damaged": not restock,
               "status": "initiated", "scenario": scenario, "expected": expected}
        self.returns[rid] = ret
        sale.setdefault("returns", []).append(rid)
        return ret

    def _complete_refund(self, sale, chosen, reason, ts, return_id=None):
        if return_id is None:
            ret = self._build_return(sale, chosen, reason, reason not in REASONS_DAMAGED, ts,
                                     "till_refund", "refund")
        else:
            ret = self.returns[return_id]
        for ln, qty in chosen:
            sale["refunded"][ln["line_id"]] = sale["refunded"].get(ln["line_id"], 0) + qty
        ret["status"], ret["completed_at"] = "completed", iso(ts)
        return ret

    @staticmethod
    def _return_event_data(ret, event_id):
        data = {"event_id": event_id, "source_system": SOURCE_SYSTEM}
        for k in ("occurred_at", "store_id", "register_id", "receipt_no", "sale_id", "currency",
                  "customer_ref", "lines", "totals", "return_id", "original_sale_id", "reason",
                  "restock_location_id", "refund_tenders", "refund_amount", "damaged"):
            data[k] = ret[k]
        data["tenders"] = ret["refund_tenders"]
        return data

    def _sale_event_data(self, sale, event_id):
        data = {"event_id": event_id, "source_system": SOURCE_SYSTEM}
        for k in ("occurred_at", "store_id", "register_id", "receipt_no", "sale_id", "currency",
                  "customer_ref", "lines", "tenders", "totals"):
            data[k] = sale[k]
        return data

    @route("GET", r"/returns/(?P<id>[^/]+)")
    def get_return(self, req):
        with self.lock:
            r = self.returns.get(req.params["id"])
            if r is None:
                raise not_found("unknown return %r" % req.params["id"])
            return 200, r

    @route("POST", r"/sales/(?P<id>[^/]+)/refunds")
    def post_refund(self, req):
        """The refund is paid out at the till: the quantities stop being refundable."""
        body = req.json()
        with self.lock:
            sale = self._sale(req.params["id"])
            rid = body.get("return_id")
            if rid is not None:
                ret = self.returns.get(rid)
                if ret is None or ret["original_sale_id"] != sale["sale_id"]:
                    raise not_found("unknown return %r for sale %s" % (rid, sale["sale_id"]))
                if ret["status"] == "completed":
                    return 200, self._sale_view(sale)
                specs = [{"original_line_id": ln["original_line_id"], "qty": ln["qty"]}
                         for ln in ret["lines"]]
            else:
                specs = body.get("lines")
            chosen = self._chosen_lines(sale, specs)
            view = self._sale_view(sale)
            over = [{"line_id": ln["line_id"], "requested": q, "refundable": view["refundable"][ln["line_id"]]}
                    for ln, q in chosen if q > view["refundable"][ln["line_id"]]]
            if over:
                raise unprocessable("refund exceeds what is still refundable", over,
                                    code="exceeds_refundable")
            self._complete_refund(sale, chosen, body.get("reason", "refund"), time.time(), rid)
            self.save()
            return 200, self._sale_view(sale)

    def _chosen_lines(self, sale, specs):
        if not isinstance(specs, list) or not specs:
            raise bad_request("lines must be a non-empty list of {original_line_id, qty}")
        by_id = {ln["line_id"]: ln for ln in sale["lines"]}
        chosen = []
        for i, sp in enumerate(specs):
            if not isinstance(sp, dict):
                raise bad_request("lines[%d] must be an object" % i)
            lid = sp.get("original_line_id", sp.get("line_id"))
            qty = sp.get("qty", 1)
            if not isinstance(qty, int) or isinstance(qty, bool) or qty <= 0:
                raise bad_request("lines[%d].qty must be a positive integer" % i)
            if lid not in by_id:
                raise unprocessable("lines[%d]: sale %s has no line %r" % (i, sale["sale_id"], lid),
                                    code="unknown_line")
            chosen.append((by_id[lid], qty))
        return chosen

    # ------------------------------------------------------------------ webhooks: building
    def _new_event_id(self):
        self.seq["event"] += 1
        return "evt_%s_%06d" % (self.seq["epoch"].lower(), self.seq["event"])

    def _message(self, etype, data, event_ts):
        body = json.dumps({"type": etype, "timestamp": iso(event_ts), "data": data},
                          separators=(",", ":")).encode()
        return body

    def _schedule(self, etype, key, webhook_id, body, due, duplicate=False, late=False):
        self.seq["delivery"] += 1
        did = "DLV-%06d" % self.seq["delivery"]
        self.deliveries[did] = {"delivery_id": did, "webhook_id": webhook_id, "type": etype,
                                "key": key, "duplicate": duplicate, "late": late,
                                "status": "pending", "attempts": [], "scheduled_for": iso(due),
                                "body": body.decode()}
        if duplicate:
            self.counters["duplicates"] += 1
        if late:
            self.counters["late"] += 1
        with self.cv:
            self._enqueue_unlocked(did, due)
        return did

    def _enqueue_unlocked(self, did, due):
        self.queue_n += 1
        heapq.heappush(self.queue, (due, self.queue_n, did))
        self.cv.notify()

    def _emit(self, etype, key, data, event_ts, opts):
        """Schedules one message (and its duplicate). Returns (webhook_id, [delivery ids])."""
        if not self.webhook_url:
            raise conflict("no webhook target: start with --webhook-url or POST /__admin/webhook",
                           code="no_webhook_target")
        webhook_id = opts.get("webhook_id") or "msg_" + data["event_id"]
        body = self._message(etype, data, event_ts)
        due = time.time() + max(0, opts.get("delay_ms", 0)) / 1000.0
        late = bool(opts.get("late"))
        ids = [self._schedule(etype, key, webhook_id, body, due, late=late)]
        if opts.get("duplicate"):
            gap = opts.get("duplicate_gap_ms", 200) / 1000.0
            ids.append(self._schedule(etype, key, webhook_id, body, due + gap, duplicate=True, late=late))
        return webhook_id, ids

    def _emit_sale(self, sale, event_ts, opts):
        data = self._sale_event_data(sale, self._new_event_id())
        return self._emit("sale.completed", sale["sale_id"], data, event_ts, opts)

    def _emit_return(self, ret, event_ts, opts):
        data = self._return_event_data(ret, self._new_event_id())
        return self._emit("return.initiated", ret["return_id"], data, event_ts, opts)

    # ------------------------------------------------------------------ webhooks: sending
    def _sender(self):
        while True:
            with self.cv:
                while not self.queue or self.queue[0][0] > time.time():
                    self.cv.wait(None if not self.queue else max(0.001, self.queue[0][0] - time.time()))
                _, _, did = heapq.heappop(self.queue)
            with self.lock:
                d = self.deliveries.get(did)
                if d is None or d["status"] != "pending":
                    continue
                url, secret, body, wid = self.webhook_url, self.webhook_secret, d["body"].encode(), d["webhook_id"]
            # Signed at send time: a held (late) message still carries a fresh webhook-timestamp.
            headers = simlib.webhook_headers(secret, wid, body)
            headers["User-Agent"] = "retailflow-pos-sim/1"
            status, error = None, None
            try:
                rq = urllib.request.Request(url, data=body, headers=headers, method="POST")
                with urllib.request.urlopen(rq, timeout=self.args.send_timeout) as resp:
                    status = resp.status
                    resp.read()
            except urllib.error.HTTPError as e:
                status, error = e.code, e.read()[:200].decode("utf-8", "replace")
            except Exception as e:  # connection refused, timeout, reset
                error = "%s: %s" % (type(e).__name__, e)
            with self.lock:
                self.counters["sent"] += 1
                d["attempts"].append({"at": iso(time.time()), "status": status, "error": error})
                if status is not None and 200 <= status < 300:
                    d["status"] = "acknowledged"
                    self.counters["acknowledged"] += 1
                elif len(d["attempts"]) >= self.args.max_attempts:
                    d["status"] = "failed"
                    self.counters["failed"] += 1
                else:
                    n = len(d["attempts"])
                    backoff = min(self.args.retry_max_ms, self.args.retry_base_ms * 2 ** (n - 1))
                    backoff *= random.uniform(0.8, 1.2)
                    due = time.time() + backoff / 1000.0
                    d["next_attempt_at"] = iso(due)
                    with self.cv:
                        self._enqueue_unlocked(did, due)
                self.save()

    # ------------------------------------------------------------------ driver API
    @route("POST", r"/__admin/webhook")
    def admin_webhook(self, req):
        body = req.json()
        with self.lock:
            if "url" in body:
                self.webhook_url = body["url"] or None
            if "secret" in body:
                self.webhook_secret = body["secret"]
            return 200, {"url": self.webhook_url}

    @route("POST", r"/__admin/emit")
    def admin_emit(self, req):
        body = req.json()
        etype = body.get("type")
        opts = {k: body[k] for k in ("duplicate", "delay_ms", "webhook_id", "duplicate_gap_ms")
                if k in body}
        with self.lock:
            event_ts = time.time()
            if body.get("timestamp"):
                try:
                    event_ts = simlib.parse_iso(body["timestamp"])
                except (ValueError, AttributeError):
                    raise bad_request("timestamp must be an ISO-8601 time")
                opts["late"] = event_ts < time.time() - 60
            if etype == "sale.completed":
                if isinstance(body.get("sale"), dict):
                    sale = self._new_sale_from_body(body["sale"])
                else:
                    sale = self._sale(body.get("sale_id"))
                wid, ids = self._emit_sale(sale, event_ts, opts)
                out = {"webhook_id": wid, "delivery_ids": ids, "sale_id": sale["sale_id"]}
            elif etype == "return.initiated":
                ret = self._return_from_body(body, event_ts)
                wid, ids = self._emit_return(ret, event_ts, opts)
                out = {"webhook_id": wid, "delivery_ids": ids, "return_id": ret["return_id"],
                       "return": ret}
            else:
                raise bad_request("type must be \"sale.completed\" or \"return.initiated\"")
            self.save()
            return 202, out

    def _return_from_body(self, body, event_ts):
        if body.get("return_id") and body["return_id"] in self.returns:
            return self.returns[body["return_id"]]  # the till sends the same return again
        reason = body.get("reason", "changed mind")
        damaged = bool(body.get("damaged", reason in REASONS_DAMAGED))
        sale_id = body.get("sale_id") or body.get("original_sale_id")
        if not isinstance(sale_id, str):
            raise bad_request("sale_id (the original sale) is required")
        sale = self.sales.get(sale_id)
        if sale is None:
            # A receipt the POS cannot find: build the lines from the catalogue.
            store = body.get("store_id")
            if store not in simlib.STORES:
                raise not_found("unknown sale %r (give store_id and lines [{sku, qty}] to send a "
                                "return for a sale the POS does not know)" % sale_id)
            ghost = {"sale_id": sale_id, "store_id": store, "register_id": store + "-R1",
                     "currency": simlib.STORES[store]["currency"], "customer_ref": body.get("customer_ref"),
                     "tenders": [], "lines": [self._price_line("L%d" % (i + 1), s, q, 0)
                                               for i, (s, q, _) in enumerate(self._parse_items(body))]}
            chosen = [(ln, ln["qty"]) for ln in ghost["lines"]]
            ret = self._build_return(ghost, chosen, reason, not damaged, event_ts, "unknown_sale",
                                     "unknown_sale")
            return ret
        if body.get("lines"):
            chosen = self._chosen_lines(sale, body["lines"])
        else:
            view = self._sale_view(sale)
            chosen = [(ln, view["refundable"][ln["line_id"]]) for ln in sale["lines"]
                      if view["refundable"][ln["line_id"]] > 0]
            if not chosen:
                chosen = [(sale["lines"][0], 1)]
        ret = self._build_return(sale, chosen, reason, not damaged, event_ts, "manual",
                                 self._expected(sale, chosen, damaged, event_ts))
        return ret

    def _expected(self, sale, chosen, damaged, ts):
        """What the store_return workflow should do with this return (fraud scoring aside)."""
        if sale.get("occurred_at_unix", ts) < ts - RETURN_WINDOW_DAYS * 86400:
            return "outside_return_window"
        view = self._sale_view(sale)
        if any(q > view["refundable"][ln["line_id"]] for ln, q in chosen):
            return "already_refunded"
        total = sum(r["line_total"] for r in self._return_lines(sale, chosen, True))
        if total > HIGH_VALUE_MINOR:
            return "manager_approval"
        return "quarantine" if damaged else "restock"

    @route("POST", r"/__admin/generate")
    def admin_generate(self, req):
        b = req.json(required=False)
        try:
            n_returns, n_sales = int(b.get("returns", 200)), int(b.get("sales", 0))
            dup, late = float(b.get("duplicate_rate", 0.05)), float(b.get("late_rate", 0.05))
            exceed = float(b.get("exceed_rate", 0.05))
            window = float(b.get("outside_window_rate", 0.05))
            high = float(b.get("high_value_rate", 0.08))
            damaged_rate = float(b.get("damaged_rate", 0.15))
            unknown = float(b.get("unknown_sale_rate", 0.0))
            spread_ms = float(b.get("spread_ms", 0))
            late_delay_ms = float(b.get("late_delay_ms", 1500))
            late_by_s = float(b.get("late_by_s", 3600))
        except (TypeError, ValueError):
            raise bad_request("generate fields must be numbers")
        rng = random.Random(b.get("seed", self.args.seed))
        with self.lock:
            if not self.webhook_url:
                raise conflict("no webhook target: start with --webhook-url or POST /__admin/webhook",
                               code="no_webhook_target")
            now = time.time()
            plan = []  # (kind, object)
            for _ in range(n_sales):
                store = rng.choice(list(simlib.STORES))
                skus = rng.sample(simlib.SKUS, rng.choice([1, 1, 2, 3]))
                cust = rng.choice(simlib.CUSTOMERS)["customer_ref"] if rng.random() < 0.9 else None
                plan.append(("sale", self._record_sale(
                    store, [(s["sku"], 1, 0) for s in skus], cust, now, rng=rng)))
            pending = {}  # (sale_id, line_id) -> qty in returns generated now
            counts = {}
            for _ in range(n_returns):
                ret = self._generate_return(rng, now, pending, exceed, window, high, damaged_rate, unknown)
                counts[ret["expected"]] = counts.get(ret["expected"], 0) + 1
                plan.append(("return", ret))
            if n_sales and n_returns:
                rng.shuffle(plan)
            summary = {"sales": [], "returns": [], "expected": counts, "duplicates": 0, "late": 0}
            for i, (kind, obj) in enumerate(plan):
                is_late = rng.random() < late
                is_dup = rng.random() < dup
                delay = i * spread_ms
                event_ts = now + delay / 1000.0
                if is_late:
                    # The store was offline: the event happened earlier and is delivered later.
                    back = rng.uniform(60, late_by_s)
                    if kind == "return":  # still after the sale it refers to
                        sale = self.sales.get(obj["original_sale_id"])
                        if sale:
                            back = min(back, (now - sale["occurred_at_unix"]) / 2)
                    event_ts = now - back
                    delay += late_delay_ms + rng.uniform(0, late_delay_ms)
                    summary["late"] += 1
                obj["occurred_at"] = iso(event_ts)
                if kind == "sale":
                    obj["occurred_at_unix"] = event_ts
                opts = {"delay_ms": delay, "duplicate": is_dup, "late": is_late,
                        "duplicate_gap_ms": rng.uniform(20, 800)}
                summary["duplicates"] += int(is_dup)
                if kind == "sale":
                    wid, _ = self._emit_sale(obj, event_ts, opts)
                    summary["sales"].append(obj["sale_id"])
                else:
                    wid, _ = self._emit_return(obj, event_ts, opts)
                    summary["returns"].append(obj["return_id"])
            self.save()
            return 202, summary

    def _generate_return(self, rng, now, pending, exceed, window, high, damaged_rate, unknown):
        in_window = [s for s in self.sales.values() if s["customer_ref"]
                     and now - 2 * 86400 > s["occurred_at_unix"] > now - (RETURN_WINDOW_DAYS - 2) * 86400]
        old = [s for s in self.sales.values() if s["customer_ref"]
               and s["occurred_at_unix"] < now - (RETURN_WINDOW_DAYS + 1) * 86400]

        def free(sale, ln):
            return ln["qty"] - sale["refunded"].get(ln["line_id"], 0) - pending.get((sale["sale_id"], ln["line_id"]), 0)

        def take(sale, chosen):
            for ln, q in chosen:
                k = (sale["sale_id"], ln["line_id"])
                pending[k] = pending.get(k, 0) + q

        x = rng.random()
        if x < unknown:
            store = rng.choice(list(simlib.STORES))
            ghost = {"sale_id": "SALE-9%05d" % rng.randint(0, 99999), "store_id": store,
                     "register_id": store + "-R1", "currency": simlib.STORES[store]["currency"],
                     "customer_ref": rng.choice(simlib.CUSTOMERS)["customer_ref"], "tenders": [],
                     "lines": [self._price_line("L1", rng.choice(simlib.SKUS)["sku"], 1, 0)]}
            return self._build_return(ghost, [(ghost["lines"][0], 1)], rng.choice(REASONS_RESTOCK),
                                      True, now, "unknown_sale", "unknown_sale")
        x -= unknown
        reason_ok = rng.choice(REASONS_RESTOCK)
        if x < exceed:
            refunded = [s for s in in_window if any(v > 0 for v in s["refunded"].values())]
            if refunded and rng.random() < 0.5:
                sale = rng.choice(refunded)
                ln = next(ln for ln in sale["lines"] if sale["refunded"][ln["line_id"]] > 0)
                chosen = [(ln, 1)]
            else:
                sale = rng.choice(in_window)
                ln = rng.choice(sale["lines"])
                chosen = [(ln, ln["qty"] + rng.randint(1, 2))]
            return self._build_return(sale, chosen, reason_ok, True, now, "exceeds_sold",
                                      "already_refunded")
        x -= exceed
        if x < window and old:
            sale = rng.choice(old)
            chosen = [(ln, max(1, free(sale, ln))) for ln in sale["lines"][:1]]
            return self._build_return(sale, chosen, reason_ok, True, now, "outside_window",
                                      "outside_return_window")
        x -= window
        damaged = False
        if x < high:
            cands = [s for s in in_window
                     if sum(ln["unit_price"] * free(s, ln) for ln in s["lines"]) > HIGH_VALUE_MINOR * 1.1]
            if cands:
                sale = rng.choice(cands)
                chosen = [(ln, free(sale, ln)) for ln in sale["lines"] if free(sale, ln) > 0]
                take(sale, chosen)
                ret = self._build_return(sale, chosen, reason_ok, True, now, "high_value",
                                         self._expected(sale, chosen, False, now))
                return ret
        x -= high
        if x < damaged_rate:
            damaged = True
        # An ordinary return: part of a recent sale, below the approval threshold when possible.
        for _ in range(50):
            sale = rng.choice(in_window)
            avail = [ln for ln in sale["lines"] if free(sale, ln) > 0]
            if not avail:
                continue
            ln = rng.choice(avail)
            q = rng.randint(1, free(sale, ln))
            if ln["unit_price"] * q <= HIGH_VALUE_MINOR or _ == 49:
                chosen = [(ln, q)]
                break
        else:
            raise conflict("no sale left to return goods from: reset or record more sales")
        take(sale, chosen)
        reason = rng.choice(REASONS_DAMAGED) if damaged else reason_ok
        return self._build_return(sale, chosen, reason, not damaged, now,
                                  "damaged" if damaged else "normal",
                                  self._expected(sale, chosen, damaged, now))


def main(argv=None):
    p = simlib.base_arg_parser("pos_sim", 8071, __doc__)
    p.add_argument("--token", help="require Authorization: Bearer TOKEN on /sales and /returns")
    p.add_argument("--webhook-url", help="where webhooks go, e.g. http://127.0.0.1:8080/v1/webhooks/pos")
    p.add_argument("--webhook-secret", default=DEFAULT_SECRET, help="whsec_<base64 key>")
    p.add_argument("--seed-sales", type=int, default=300, help="completed sales created at start")
    p.add_argument("--senders", type=int, default=4, help="webhook sender threads")
    p.add_argument("--max-attempts", type=int, default=6, help="delivery attempts per message")
    p.add_argument("--retry-base-ms", type=float, default=500, help="first retry delay (doubles)")
    p.add_argument("--retry-max-ms", type=float, default=30000)
    p.add_argument("--send-timeout", type=float, default=5.0, help="seconds per delivery attempt")
    args = p.parse_args(argv)
    simlib.serve(PosApp(args), args.host, args.port)


if __name__ == "__main__":
    main()
