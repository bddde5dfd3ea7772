#!/usr/bin/env python3
"""Odoo simulator: an HTTP server speaking Odoo's external API over a seeded retail database.

    python3 examples/sim/odoo_sim.py --port 8069 [--db retail] [--api-key KEY] [--state FILE]

The first line on stdout is ``LISTENING <port>`` (useful with ``--port 0``).

Protocols modelled (see /work/shared/context/odoo-and-webhooks.md):
  * ``POST /jsonrpc``: services ``common`` (version, login, authenticate — uid or false on bad
    credentials) and ``object`` (execute_kw, execute). Success ``{"jsonrpc","id","result"}``
    (``result`` absent when the method returns None); errors with HTTP 200 and
    ``error: {code: 200, message: "Odoo Server Error", data: {name, message, arguments, context,
    debug}}``. An unknown route answers HTTP 404 with the ``404: Not Found`` envelope.
  * ``POST /json/2/<model>/<method>`` (Odoo 19 JSON-2): ``Authorization: bearer <api key>``,
    body ``{"ids", "context", <named params>}``; the bare value on success; errors as
    ``{"name","message","arguments","context","debug"}`` with 401 (bad key), 403 (AccessError),
    404 (MissingError, unknown model/method), 422 (UserError/ValidationError), 500 otherwise.

Users: uid 2 ``admin``/``admin`` and uid 6 ``<login>``/``<api key>`` (JSON-2 accepts the API key
only). Admin routes live outside Odoo's namespace under ``/__admin/``:
  * ``POST /__admin/faults`` merges ``{"latency_ms", "error_rate", "error_status", "down_until",
    "malformed_rate", "drop_response_after_commit_rate", "drop_next_commits", "seed"}``;
    ``GET /__admin/faults`` shows them. Faults apply to the Odoo routes only: latency first; while
    ``down_until`` (unix seconds) is in the future every call gets a proxy-style 503 HTML page and
    the connection is closed; ``error_rate`` answers ``error_status`` with an HTML body without
    running the call; ``malformed_rate`` runs the call and answers truncated JSON; a call that
    changed the database is answered by closing the connection with no response with probability
    ``drop_response_after_commit_rate``, or for the next ``drop_next_commits`` such calls.
  * ``GET /__admin/state``: record counts per model; ``?model=M`` adds all its records as
    ``read`` returns them, optionally filtered with ``&domain=<JSON domain>``.
  * ``POST /__admin/reset``: reseeds the database, clears the faults and releases every gate.
  * ``POST /__admin/gate`` ``{"model", "method", "action": "hold", "count": n}`` holds the next
    ``n`` (default 1) calls of ``model.method`` (JSON-RPC or JSON-2) after they were received and
    authenticated but before they run; later calls pass. ``{"model", "method", "action":
    "release", "requests": [k, ...]}`` lets the held calls numbered ``k`` (all held ones when
    ``requests`` is absent) run, in the order given, and disarms the gate when none is left to
    hold. A released call runs even when its client has gone (a late commit, as a real Odoo worker
    finishes a request whose caller died). ``GET /__admin/gate`` shows every gate: ``armed``
    (calls still to hold) and its ``requests`` ``[{"n", "state": "held"|"running"|"done",
    "outcome": "ok"|<Odoo exception name>, "message"}]``, so a test can wait until a call is held
    or done instead of sleeping.
  * ``POST /__admin/addon`` ``{"installed": bool}``: with the retailflow_idempotency addon
    (the default; ``--without-addon`` starts without it) x_rf_key is unique per model.

A violated unique constraint is answered as Odoo 17 answers it: odoo/service/model.py (retrying,
_as_validation_error) raises ValidationError("The operation cannot be completed: <constraint
message>"), which odoo/http.py serialize_exception turns into ``data`` of the JSON-RPC error
(JsonRPCDispatcher.handle_error: code 200 in 17.0, "Odoo Server Error") and into the JSON-2 body
with the exception's http_status, 422 for UserError and its subclasses (Json2Dispatcher.handle_error).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import socket
import sys
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Dict, List, Optional, Tuple

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from odoo_orm import (ORM_SIGNATURES, AccessDenied, AccessError, OdooError,  # noqa: E402
                      Store, call_orm, dumps, loads)
from odoo_gate import Gates  # noqa: E402
from odoo_retail import build_models, seed  # noqa: E402

SERVER_VERSION = {"server_version": "17.0", "server_version_info": [17, 0, 0, "final", 0, ""],
                  "server_serie": "17.0", "protocol_version": 1}

DEFAULT_FAULTS: Dict[str, Any] = {
    "latency_ms": 0, "error_rate": 0.0, "error_status": 503, "down_until": 0,
    "malformed_rate": 0.0, "drop_response_after_commit_rate": 0.0, "drop_next_commits": 0,
    "seed": 1}

PROXY_503 = ("<html>\r\n<head><title>503 Service Temporarily Unavailable</title></head>\r\n"
             "<body>\r\n<center><h1>503 Service Temporarily Unavailable</h1></center>\r\n"
             "<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n")

JSON2_STATUS = {"odoo.exceptions.AccessDenied": 401, "odoo.exceptions.AccessError": 403,
                "odoo.exceptions.MissingError": 404, "odoo.exceptions.UserError": 422,
                "odoo.exceptions.ValidationError": 422, "werkzeug.exceptions.NotFound": 404,
                "werkzeug.exceptions.Unauthorized": 401, "werkzeug.exceptions.BadRequest": 400}


class Simulator:
    """The database, the users, the faults and the one lock that serialises everything."""

    def __init__(self, db: str, login: str, api_key: str, state_file: Optional[str],
                 stock_seed: int = 1, addon: bool = True):
        self.db, self.login, self.api_key = db, login, api_key
        self.addon = addon  # the retailflow_idempotency addon: x_rf_key unique per model
        self.gates = Gates()
        self.stock_seed = stock_seed  # starting quants: simlib.starting_stock(stock_seed)
        self.state_file = state_file
        self.lock = threading.RLock()
        self.faults = dict(DEFAULT_FAULTS)
        self.rng = random.Random(self.faults["seed"])
        self.store = self._fresh_store()
        if state_file and os.path.exists(state_file):
            with open(state_file, encoding="utf-8") as f:
                self.store.load_json(f.read())

    def _fresh_store(self) -> Store:
        store = Store(build_models())
        seed(store, stock_seed=self.stock_seed)
        store.enforce_unique = self.addon
        return store

    def set_addon(self, installed: bool) -> None:
        with self.lock:
            self.addon = installed
            self.store.enforce_unique = installed

    def users(self) -> Dict[int, Tuple[str, str]]:
        return {2: ("admin", "admin"), 6: (self.login, self.api_key)}

    def reset(self) -> None:
        with self.lock:
            self.store = self._fresh_store()
            self.faults = dict(DEFAULT_FAULTS)
            self.rng = random.Random(self.faults["seed"])
            self.persist()
        self.gates.reset()

    def persist(self) -> None:
        if not self.state_file:
            return
        tmp = self.state_file + ".tmp"
        with open(tmp, "w", encoding="utf-8") as f:
            f.write(self.store.to_json())
        os.replace(tmp, self.state_file)

    def set_faults(self, changes: Dict[str, Any]) -> Dict[str, Any]:
        with self.lock:
            for k, v in changes.items():
                if k not in DEFAULT_FAULTS:
                    raise ValueError(f"unknown fault {k!r}")
                self.faults[k] = type(DEFAULT_FAULTS[k])(v)
            if "seed" in changes:
                self.rng = random.Random(self.faults["seed"])
            return dict(self.faults)

    def roll(self, rate_key: str) -> bool:
        with self.lock:
            rate = float(self.faults[rate_key])
            return rate > 0 and self.rng.random() < rate

    def take_drop(self) -> bool:
        """Whether to drop the response of a call that committed (consumes a one-shot)."""
        with self.lock:
            if self.faults["drop_next_commits"] > 0:
                self.faults["drop_next_commits"] -= 1
                return True
        return self.roll("drop_response_after_commit_rate")

    # -- Odoo -------------------------------------------------------------------------------------

    def check_db(self, db: Any) -> None:
        if db != self.db:
            raise OdooError(f'FATAL:  database "{db}" does not exist',
                            "psycopg2.OperationalError")

    def authenticate(self, db: Any, login: Any, password: Any) -> Any:
        self.check_db(db)
        for uid, (name, pw) in self.users().items():
            if login == name and password == pw:
                return uid
        return False

    def execute(self, model: str, method: str, ids: List[int], kw: Dict[str, Any],
                ctx: Dict[str, Any]) -> Any:
        """Runs one model method with named parameters; the caller holds the lock."""
        if not isinstance(method, str) or not isinstance(model, str):
            raise OdooError("model and method must be strings", "builtins.TypeError")
        if method.startswith("_"):
            raise AccessError(f"Private methods (such as '{model}.{method}') cannot be called "
                              "remotely.")
        m = self.store.model(model)
        ids = [ids] if isinstance(ids, int) else list(ids or [])
        if method in ORM_SIGNATURES:
            return call_orm(self.store, model, method, ids, kw)
        fn = m.methods.get(method)
        if fn is None:
            raise OdooError(f"The method '{method}' does not exist on the model '{model}'",
                            "builtins.AttributeError")
        self.store.browse(model, ids)
        return fn(self.store, ids, kw, ctx or {})

    def execute_kw(self, args: List[Any]) -> Any:
        if len(args) < 5:
            raise OdooError("execute_kw() missing required positional arguments",
                            "builtins.TypeError")
        db, uid, password, model, method = args[:5]
        pos = list(args[5]) if len(args) > 5 and args[5] is not None else []
        kw = dict(args[6]) if len(args) > 6 and args[6] else {}
        self.check_db(db)
        if self.users().get(uid, (None, None))[1] != password or not password:
            raise AccessDenied()
        ctx = kw.pop("context", {}) or {}
        takes_ids, names = ORM_SIGNATURES.get(method, (True, []))
        ids: List[int] = []
        if takes_ids:
            if not pos:
                raise OdooError(f"{method}() missing 1 required positional argument: 'ids'",
                                "builtins.TypeError")
            ids = pos.pop(0)
        if len(pos) > len(names) and names:
            raise OdooError(f"{method}() takes at most {len(names)} arguments",
                            "builtins.TypeError")
        named = dict(zip(names, pos))
        if method == "create" and "vals_list" not in named and "vals" in kw:
            kw["vals_list"] = kw.pop("vals")
        named.update(kw)

        def run() -> Any:
            with self.lock:
                self.store.uid = uid
                return self.execute(model, method, ids, named, ctx)
        return self.gates.run(model, method, run)


def error_data(exc: OdooError, ctx: Optional[Dict[str, Any]] = None) -> Dict[str, Any]:
    return {"name": exc.name, "message": exc.message, "arguments": [exc.message],
            "context": ctx or {},
            "debug": "Traceback (most recent call last):\n  File \"odoo/http.py\", line 1, in "
                     f"dispatch (simulated)\n{exc.name}: {exc.message}\n"}


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "Werkzeug/3.0.1"
    sim: Simulator  # set on the class by main()

    def log_message(self, fmt: str, *args: Any) -> None:  # quiet unless asked
        if os.environ.get("ODOO_SIM_LOG"):
            sys.stderr.write("odoo_sim: " + fmt % args + "\n")

    # -- plumbing --------------------------------------------------------------------------------

    def _body(self) -> bytes:
        n = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(n) if n > 0 else b""

    def _send(self, status: int, body: str, ctype: str = "application/json",
              close: bool = False) -> None:
        data = body.encode("utf-8")
        try:
            self.send_response(status)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(data)))
            if close:
                self.send_header("Connection", "close")
                self.close_connection = True
            self.end_headers()
            self.wfile.write(data)
        except OSError:  # the client went away (e.g. killed while its call was held)
            self.close_connection = True

    def _drop(self) -> None:
        """Closes the connection without a response (a reply lost after the commit)."""
        self.close_connection = True
        try:
            self.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass

    def _faults_before(self) -> bool:
        """Applies latency, down and error-rate faults. True when the request was answered."""
        f = self.sim.faults
        if f["latency_ms"]:
            time.sleep(f["latency_ms"] / 1000.0)
        if f["down_until"] and time.time() < f["down_until"]:
            self._send(503, PROXY_503, "text/html", close=True)
            return True
        if self.sim.roll("error_rate"):
            status = int(f["error_status"])
            self._send(status, PROXY_503.replace("503 Service Temporarily Unavailable",
                                                 f"{status} Error"), "text/html", close=True)
            return True
        return False

    def _reply(self, status: int, payload: Any, version_before: int) -> None:
        """Sends an API answer, applying the post-commit drop and malformed faults."""
        if self.sim.store.version != version_before:
            with self.sim.lock:
                self.sim.persist()
            if self.sim.take_drop():
                self._drop()
                return
        text = dumps(payload)
        if self.sim.roll("malformed_rate"):
            text = text[: max(1, len(text) // 2)] + "\x00<!-- truncated"
        self._send(status, text)

    # -- routes ----------------------------------------------------------------------------------

    def do_GET(self) -> None:  # noqa: N802
        url = urllib.parse.urlparse(self.path)
        if url.path == "/__admin/state":
            self._admin_state(urllib.parse.parse_qs(url.query))
        elif url.path == "/__admin/faults":
            self._send(200, dumps(self.sim.faults))
        elif url.path == "/__admin/gate":
            self._send(200, dumps(self.sim.gates.state()))
        elif url.path == "/web/webclient/version_info":
            self._send(200, dumps(SERVER_VERSION))
        else:
            self._not_found_html()

    def do_POST(self) -> None:  # noqa: N802
        url = urllib.parse.urlparse(self.path)
        body = self._body()
        if url.path.startswith("/__admin/"):
            self._admin(url.path, body)
        elif url.path == "/jsonrpc":
            if not self._faults_before():
                self._jsonrpc(body)
        elif url.path.startswith("/json/2/"):
            if not self._faults_before():
                self._json2(url.path[len("/json/2/"):], body)
        elif "json" in (self.headers.get("Content-Type") or ""):
            self._send(404, dumps({"jsonrpc": "2.0", "id": None, "error": {
                "code": 404, "message": "404: Not Found", "data": {
                    "name": "werkzeug.exceptions.NotFound", "debug": "", "message":
                    "404 Not Found: The requested URL was not found on the server.",
                    "arguments": [], "context": {}}}}))
        else:
            self._not_found_html()

    def _not_found_html(self) -> None:
        self._send(404, "<!doctype html>\n<title>404 Not Found</title>\n<h1>Not Found</h1>\n",
                   "text/html")

    # -- admin -----------------------------------------------------------------------------------

    def _admin(self, path: str, body: bytes) -> None:
        try:
            doc = loads(body) if body.strip() else {}
            if path == "/__admin/faults":
                if not isinstance(doc, dict):
                    raise ValueError("expected a JSON object")
                self._send(200, dumps(self.sim.set_faults(doc)))
            elif path == "/__admin/reset":
                self.sim.reset()
                self._send(200, dumps({"status": "ok"}))
            elif path == "/__admin/gate":
                if not isinstance(doc, dict):
                    raise ValueError("expected a JSON object")
                self._send(200, dumps(self.sim.gates.command(doc)))
            elif path == "/__admin/addon":
                if not isinstance(doc, dict) or not isinstance(doc.get("installed"), bool):
                    raise ValueError('expected {"installed": true|false}')
                self.sim.set_addon(doc["installed"])
                self._send(200, dumps({"installed": self.sim.addon}))
            else:
                self._send(404, dumps({"error": f"unknown admin route {path}"}))
        except (ValueError, TypeError) as e:
            self._send(400, dumps({"error": str(e)}))

    def _admin_state(self, query: Dict[str, List[str]]) -> None:
        with self.sim.lock:
            store = self.sim.store
            out: Dict[str, Any] = {"version": store.version, "addon": self.sim.addon,
                                   "counts": {m: len(r) for m, r in store.data.items()}}
            model = (query.get("model") or [None])[0]
            try:
                if model:
                    domain = loads(query["domain"][0]) if "domain" in query else []
                    out["model"] = model
                    out["records"] = store.read(model, store.search(model, domain, order="id"))
            except (OdooError, ValueError) as e:
                self._send(400, dumps({"error": str(e)}))
                return
            self._send(200, dumps(out))

    # -- JSON-RPC --------------------------------------------------------------------------------

    def _jsonrpc(self, body: bytes) -> None:
        version = self.sim.store.version
        try:
            req = loads(body)
        except ValueError:
            req = None
        if not isinstance(req, dict) or not isinstance(req.get("params"), dict):
            exc = OdooError("Invalid JSON-RPC request: params must be an object",
                            "werkzeug.exceptions.BadRequest")
            self._send(400, dumps({"jsonrpc": "2.0", "id": None, "error": {
                "code": 400, "message": "Odoo Server Error", "data": error_data(exc)}}))
            return
        rid = req.get("id")
        params = req["params"]
        service, method = params.get("service"), params.get("method")
        args = params.get("args") or []
        try:
            if not isinstance(args, list):
                raise OdooError("args must be a list", "builtins.TypeError")
            result = self._dispatch(service, method, args)
        except OdooError as exc:
            self._reply(200, {"jsonrpc": "2.0", "id": rid, "error": {
                "code": 200, "message": "Odoo Server Error", "data": error_data(exc)}}, version)
            return
        except Exception as exc:  # an unexpected bug still answers like Odoo does
            err = OdooError(str(exc), f"builtins.{type(exc).__name__}")
            self._reply(200, {"jsonrpc": "2.0", "id": rid, "error": {
                "code": 200, "message": "Odoo Server Error", "data": error_data(err)}}, version)
            return
        reply: Dict[str, Any] = {"jsonrpc": "2.0", "id": rid}
        if result is not None:
            reply["result"] = result
        self._reply(200, reply, version)

    def _dispatch(self, service: Any, method: Any, args: List[Any]) -> Any:
        sim = self.sim
        if service == "common":
            if method == "version":
                return SERVER_VERSION
            if method in ("login", "authenticate"):
                if len(args) < 3:
                    raise OdooError(f"{method}() missing arguments", "builtins.TypeError")
                return sim.authenticate(args[0], args[1], args[2])
        elif service == "object":
            if method == "execute_kw":
                return sim.execute_kw(args)
            if method == "execute":
                return sim.execute_kw(list(args[:5]) + [list(args[5:]), {}])
        elif service == "db" and method == "list":
            return [sim.db]
        raise OdooError(f"No such service method {service}.{method}", "builtins.Exception")

    # -- JSON-2 ----------------------------------------------------------------------------------

    def _json2(self, rest: str, body: bytes) -> None:
        version = self.sim.store.version
        parts = rest.split("/")
        ctx: Dict[str, Any] = {}
        try:
            auth = self.headers.get("Authorization") or ""
            scheme, _, key = auth.partition(" ")
            if scheme.lower() != "bearer" or key.strip() != self.sim.api_key:
                raise OdooError("Invalid apikey", "werkzeug.exceptions.Unauthorized")
            dbh = self.headers.get("X-Odoo-Database")
            if dbh and dbh != self.sim.db:
                raise OdooError(f"database {dbh!r} not found", "werkzeug.exceptions.NotFound")
            if len(parts) != 2 or not all(parts):
                raise OdooError("404 Not Found: The requested URL was not found on the server.",
                                "werkzeug.exceptions.NotFound")
            model, method = parts
            try:
                params = loads(body) if body.strip() else {}
            except ValueError:
                params = None
            if not isinstance(params, dict):
                raise OdooError("the body must be a JSON object", "werkzeug.exceptions.BadRequest")
            ids = params.pop("ids", []) or []
            ctx = params.pop("context", {}) or {}
            with self.sim.lock:
                if model not in self.sim.store.models:
                    raise OdooError(f"the model {model!r} does not exist",
                                    "werkzeug.exceptions.NotFound")
                m = self.sim.store.models[model]
                if (not method.startswith("_") and method not in ORM_SIGNATURES
                        and method not in m.methods):
                    raise OdooError(f"the method {model}.{method} does not exist",
                                    "werkzeug.exceptions.NotFound")

            def run() -> Any:
                with self.sim.lock:
                    self.sim.store.uid = 6
                    return self.sim.execute(model, method, ids, params, ctx)
            result = self.sim.gates.run(model, method, run)
        except OdooError as exc:
            data = error_data(exc, ctx)
            self._reply(JSON2_STATUS.get(exc.name, 500), data, version)
            return
        except Exception as exc:
            err = OdooError(str(exc), f"builtins.{type(exc).__name__}")
            self._reply(500, error_data(err, ctx), version)
            return
        self._reply(200, result, version)


def main(argv: Optional[List[str]] = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=8069, help="0 picks a free port")
    ap.add_argument("--db", default="retail")
    ap.add_argument("--login", default="integration")
    ap.add_argument("--api-key", default="rf-odoo-key")
    ap.add_argument("--state", help="JSON file persisted on every change and loaded at start")
    ap.add_argument("--latency-ms", type=int, default=0)
    ap.add_argument("--error-rate", type=float, default=0.0)
    ap.add_argument("--error-status", type=int, default=503)
    ap.add_argument("--down-seconds", type=float, default=0.0,
                    help="answer 503 for this many seconds after start")
    ap.add_argument("--malformed-rate", type=float, default=0.0)
    ap.add_argument("--drop-response-after-commit-rate", type=float, default=0.0)
    ap.add_argument("--without-addon", action="store_true",
                    help="run as an Odoo without the retailflow_idempotency addon (x_rf_key is "
                         "not unique)")
    ap.add_argument("--seed", type=int, default=1,
                    help="seed for the faults and the starting stock (the inventory simulator's)")
    a = ap.parse_args(argv)

    sim = Simulator(a.db, a.login, a.api_key, a.state, stock_seed=a.seed,
                    addon=not a.without_addon)
    sim.set_faults({"latency_ms": a.latency_ms, "error_rate": a.error_rate,
                    "error_status": a.error_status, "malformed_rate": a.malformed_rate,
                    "down_until": time.time() + a.down_seconds if a.down_seconds else 0,
                    "drop_response_after_commit_rate": a.drop_response_after_commit_rate,
                    "seed": a.seed})
    Handler.sim = sim
    server = ThreadingHTTPServer((a.host, a.port), Handler)
    server.daemon_threads = True
    print(f"LISTENING {server.server_address[1]}", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
