"""Gates of the Odoo simulator: hold calls of one model method after they were received and
before they run, so a test can make an earlier attempt still be "in flight at Odoo" while it kills
and restarts the caller, then let the held call run late (see odoo_sim.py, ``/__admin/gate``).

Threads: every HTTP request runs on its own thread; a held call blocks its thread on the one
condition variable until released (or the gates are reset). No timing is involved: a test asks
``state()`` whether a call is held, running or done.
"""

from __future__ import annotations

import threading
from typing import Any, Callable, Dict, List, Optional, Tuple

from odoo_orm import OdooError

Key = Tuple[str, str]


class Gates:
    def __init__(self) -> None:
        self.cond = threading.Condition()
        self.armed: Dict[Key, int] = {}  # calls still to hold
        self.requests: Dict[Key, List[Dict[str, Any]]] = {}  # every call held, in arrival order
        self.released: set = set()  # id() of tickets allowed to run

    def command(self, doc: Dict[str, Any]) -> Dict[str, Any]:
        """Applies one admin command; raises ValueError on a malformed one."""
        model, method, action = doc.get("model"), doc.get("method"), doc.get("action")
        if not isinstance(model, str) or not model or not isinstance(method, str) or not method:
            raise ValueError("model and method must be non-empty strings")
        key = (model, method)
        with self.cond:
            if action == "hold":
                count = doc.get("count", 1)
                if not isinstance(count, int) or isinstance(count, bool) or count < 1:
                    raise ValueError("count must be a positive integer")
                self.armed[key] = self.armed.get(key, 0) + count
                self.requests.setdefault(key, [])
            elif action == "release":
                held = [t for t in self.requests.get(key, []) if t["state"] == "held"]
                wanted = doc.get("requests")
                if wanted is None:
                    chosen = held
                else:
                    if not isinstance(wanted, list) or not all(
                            isinstance(n, int) and not isinstance(n, bool) for n in wanted):
                        raise ValueError("requests must be a list of request numbers")
                    by_n = {t["n"]: t for t in held}
                    unknown = [n for n in wanted if n not in by_n]
                    if unknown:
                        raise ValueError(f"no held request numbered {unknown} on {model}.{method}")
                    chosen = [by_n[n] for n in wanted]
                for t in chosen:
                    self.released.add(id(t))
                if wanted is None:
                    self.armed.pop(key, None)
                self.cond.notify_all()
            else:
                raise ValueError('action must be "hold" or "release"')
        return self.state()

    def state(self) -> Dict[str, Any]:
        with self.cond:
            return {"gates": [
                {"model": m, "method": f, "armed": self.armed.get((m, f), 0),
                 "requests": [{k: t[k] for k in ("n", "state", "outcome", "message")}
                              for t in self.requests.get((m, f), [])]}
                for (m, f) in sorted(set(self.armed) | set(self.requests))]}

    def reset(self) -> None:
        with self.cond:
            for reqs in self.requests.values():
                for t in reqs:
                    self.released.add(id(t))
            self.armed.clear()
            self.requests.clear()
            self.cond.notify_all()

    def run(self, model: str, method: str, fn: Callable[[], Any]) -> Any:
        """Runs `fn` (one call of model.method), first holding it if the gate is armed; records
        the outcome of a held call."""
        ticket: Optional[Dict[str, Any]] = None
        key = (model, method)
        with self.cond:
            if self.armed.get(key, 0) > 0:
                self.armed[key] -= 1
                reqs = self.requests.setdefault(key, [])
                ticket = {"n": len(reqs) + 1, "state": "held", "outcome": None, "message": None}
                reqs.append(ticket)
                self.cond.notify_all()
                while id(ticket) not in self.released:
                    self.cond.wait()
                self.released.discard(id(ticket))
                ticket["state"] = "running"
        if ticket is None:
            return fn()
        try:
            result = fn()
        except OdooError as exc:
            self._finish(ticket, exc.name, exc.message)
            raise
        except Exception as exc:
            self._finish(ticket, f"builtins.{type(exc).__name__}", str(exc))
            raise
        self._finish(ticket, "ok", None)
        return result

    def _finish(self, ticket: Dict[str, Any], outcome: str, message: Optional[str]) -> None:
        with self.cond:
            ticket.update(state="done", outcome=outcome, message=message)
            self.cond.notify_all()
