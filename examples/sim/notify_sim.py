#!/usr/bin/env python3
"""Notification receiver: the customer-messaging provider retailflow's `notify` connector posts
to (an outbound Standard Webhook). Verifies the signature, dedupes on webhook-id and stores the
messages. A delivery still being processed answers 409 in progress (inflight.py); a gate holds
deliveries for tests (POST /__admin/gate). See README.md ("Notification receiver").

    python3 examples/sim/notify_sim.py --port 8073 --webhook-secret whsec_...
"""

import json
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import inflight  # noqa: E402
import simlib  # noqa: E402
from simlib import ApiError, App, bad_request, iso, not_found, route, unprocessable  # noqa: E402

DEFAULT_SECRET = simlib.make_secret("retailflow-notify-sim")


class NotifyApp(inflight.InFlightApp, App):
    name = "notify"

    def reset_state(self):
        self.messages = {}
        self.seen = {}  # webhook-id -> message_id
        self.seq = 0
        self.counters = {"accepted": 0, "duplicates": 0, "rejected_signature": 0, "rejected_body": 0}

    def dump_state(self):
        return {"messages": list(self.messages.values()), "seen_webhook_ids": self.seen,
                "counters": self.counters, "seq": self.seq}

    def load_state(self, d):
        self.messages = {m["message_id"]: m for m in d["messages"]}
        self.seen, self.counters, self.seq = d["seen_webhook_ids"], d["counters"], d["seq"]

    @route("POST", r"/v1/messages")
    @inflight.keyed_by_handler
    def send(self, req):
        """The `webhook-id` is the idempotency key (inflight.py): a retry of a message taken
        gets the stored answer (marked "duplicate"), a retry while the first delivery of that id
        is still being processed gets 409 in progress. The signature is checked first (every
        attempt is signed anew), and the fingerprint is the event's type and data: the envelope's
        timestamp changes between attempts."""
        secrets = self.args.webhook_secret or [DEFAULT_SECRET]
        try:
            wid = simlib.verify_webhook(secrets, req.headers, req.body, self.args.tolerance)
        except simlib.WebhookError as e:
            with self.lock:
                self.counters["rejected_signature"] += 1
            raise ApiError(401, "bad_signature", str(e))
        try:
            body = json.loads(req.body.decode("utf-8"))
            payload = json.dumps([body.get("type"), body.get("data")], sort_keys=True)
        except (UnicodeDecodeError, ValueError, AttributeError):
            payload = req.body.decode("utf-8", "replace")
        fp = inflight.fingerprint("POST /v1/messages", payload)
        outcome, resp = self.run_once(wid, fp, "send", "POST /v1/messages",
                                      lambda: self._as_response(self._take, req, wid))
        if outcome == "replayed":
            with self.lock:
                self.counters["duplicates"] += 1
                self.save()
            if 200 <= resp.status < 300 and isinstance(resp.body, dict):
                resp.body = dict(resp.body, duplicate=True)
        return resp

    @staticmethod
    def _as_response(fn, req, wid):
        try:
            status, body = fn(req, wid)
        except ApiError as e:
            return simlib.Response(e.status, e.body())
        return simlib.Response(status, body)

    def _take(self, req, wid):
        """Validates and stores one message; the caller holds the lock."""
        try:
            body = req.json()
            data = body.get("data")
            if not isinstance(data, dict):
                raise bad_request("the body must be {\"type\", \"timestamp\", \"data\": {to, template, data}}")
            to, template = data.get("to"), data.get("template")
            if not isinstance(to, str) or not to.strip():
                raise unprocessable("data.to must be a non-empty text (an e-mail address or a team)",
                                    code="no_recipient")
            if not isinstance(template, str) or not template.strip():
                raise unprocessable("data.template must be a non-empty text", code="no_template")
            payload = data.get("data")
            if payload is not None and not isinstance(payload, dict):
                raise unprocessable("data.data must be an object when present", code="bad_data")
        except ApiError:
            self.counters["rejected_body"] += 1
            raise
        self.seq += 1
        mid = "MSG-%06d" % self.seq
        self.messages[mid] = {"message_id": mid, "webhook_id": wid, "to": to, "template": template,
                              "data": payload or {}, "event_type": body.get("type"),
                              "event_timestamp": body.get("timestamp"),
                              "received_at": iso(time.time()),
                              "correlation_id": req.headers.get("X-Correlation-Id")}
        self.seen[wid] = mid
        self.counters["accepted"] += 1
        return 200, {"message_id": mid}

    @route("GET", r"/v1/messages")
    def list_messages(self, req):
        with self.lock:
            to, tpl = req.q("to"), req.q("template")
            return 200, {"messages": [m for m in self.messages.values()
                                      if (to is None or m["to"] == to) and (tpl is None or m["template"] == tpl)]}

    @route("GET", r"/v1/messages/(?P<id>[^/]+)")
    def get_message(self, req):
        with self.lock:
            m = self.messages.get(req.params["id"])
            if m is None:
                raise not_found("unknown message %r" % req.params["id"])
            return 200, m


def main(argv=None):
    p = simlib.base_arg_parser("notify_sim", 8073, __doc__)
    p.add_argument("--webhook-secret", action="append",
                   help="whsec_<base64 key>; repeat for key rotation (default: the sim's own)")
    p.add_argument("--tolerance", type=int, default=simlib.WEBHOOK_TOLERANCE_S,
                   help="allowed webhook-timestamp skew in seconds")
    args = p.parse_args(argv)
    simlib.serve(NotifyApp(args), args.host, args.port)


if __name__ == "__main__":
    main()
