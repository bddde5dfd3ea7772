"""In-memory model of the part of Odoo's ORM that an external integration sees.

Behaviour modelled (Odoo 17/18, as described in /work/shared/context/odoo-and-webhooks.md):
  * records live per model, ids are positive integers allocated per model, never reused;
  * `read` always returns `id`; many2one values read as ``[id, "Display Name"]``; empty values
    read as ``false``; x2many values read as lists of ids;
  * x2many values are written with Odoo's command lists (``[0, 0, vals]``, ``[1, id, vals]``,
    ``[2, id]``, ``[3, id]``, ``[4, id]``, ``[5]``, ``[6, 0, ids]``);
  * domains are lists of ``[field, operator, value]`` terms and the prefix operators ``&``, ``|``
    and ``!`` (Polish notation, implicit ``&`` between consecutive terms); field paths may follow
    many2one links with dots (``partner_id.ref``);
  * unknown ids raise ``odoo.exceptions.MissingError``; unknown fields raise ``ValueError`` like
    Odoo's ``Invalid field 'x' on model 'y'``;
  * SQL unique constraints (a model's ``unique`` list, Odoo's ``_sql_constraints`` with
    ``unique(field)``; NULL/False never collides) are checked inside the one lock that serialises
    every call, before the record is stored, so a violating call changes nothing; the violation is
    the ``ValidationError`` that odoo/service/model.py ``_as_validation_error`` makes of
    PostgreSQL's IntegrityError: "The operation cannot be completed: <constraint message>".

Money (``monetary`` fields) and quantities (``float`` fields) are ``decimal.Decimal`` throughout;
the JSON encoder in this module prints monetary values with exactly two decimals.
"""

from __future__ import annotations

import decimal
import fnmatch
import json
import re
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Callable, Dict, Iterable, List, Optional, Tuple

CENT = Decimal("0.01")


def money(value: Any) -> Decimal:
    """Rounds a number to cents, half-up as Odoo's currency rounding does."""
    return Decimal(str(value)).quantize(CENT, rounding=decimal.ROUND_HALF_UP)


# --------------------------------------------------------------------------------------------
# Errors: each carries the dotted Python class name Odoo reports in `data.name`.


class OdooError(Exception):
    """An exception as the Odoo server reports it (class name + message)."""

    name = "odoo.exceptions.UserError"

    def __init__(self, message: str, name: Optional[str] = None):
        super().__init__(message)
        self.message = message
        if name:
            self.name = name


class UserError(OdooError):
    name = "odoo.exceptions.UserError"


class ValidationError(OdooError):
    name = "odoo.exceptions.ValidationError"


class UniqueViolation(ValidationError):
    """A violated SQL unique constraint, as Odoo 17 reports it: odoo/service/model.py, retrying()
    rolls the transaction back and raises _as_validation_error(env, exc), a ValidationError whose
    message is "The operation cannot be completed: %s" with the constraint's (translated) message
    from translate_sql_constraint(). The class name on the wire stays ValidationError."""

    def __init__(self, constraint: str, message: str):
        super().__init__(f"The operation cannot be completed: {message}")
        self.constraint = constraint


class MissingError(OdooError):
    name = "odoo.exceptions.MissingError"


class AccessError(OdooError):
    name = "odoo.exceptions.AccessError"


class AccessDenied(OdooError):
    name = "odoo.exceptions.AccessDenied"

    def __init__(self, message: str = "Access Denied"):
        super().__init__(message)


def value_error(message: str) -> OdooError:
    return OdooError(message, "builtins.ValueError")


# --------------------------------------------------------------------------------------------
# Schema


@dataclass
class Field:
    """One field of a model. `relation`/`inverse` for relational fields; `compute` for fields
    computed on read (and in domains) from the store and the raw record."""

    type: str  # char text selection boolean integer float monetary datetime many2one one2many many2many
    string: str = ""
    relation: Optional[str] = None
    inverse: Optional[str] = None  # one2many: the many2one on `relation` pointing back
    compute: Optional[Callable[["Store", Dict[str, Any]], Any]] = None
    required: bool = False
    default: Any = None
    selection: Optional[List[str]] = None


@dataclass
class Model:
    name: str
    fields: Dict[str, Field]
    rec_name: str = "name"
    order: str = "id"
    # Business methods callable remotely: name -> fn(store, model, ids, kwargs, context).
    methods: Dict[str, Callable[..., Any]] = field(default_factory=dict)
    # Hooks run after create / write of records of this model: fn(store, ids).
    on_change: Optional[Callable[["Store", List[int]], None]] = None
    # Defaults computed at create: fn(store, vals) -> vals.
    on_create: Optional[Callable[["Store", Dict[str, Any]], Dict[str, Any]]] = None
    # Called before unlink: fn(store, ids) (may raise UserError).
    on_unlink: Optional[Callable[["Store", List[int]], None]] = None
    # SQL unique constraints: (constraint name, field, message), as `_sql_constraints` entries
    # ("x_rf_key_unique", "unique(x_rf_key)", message). Enforced only while the store's
    # `enforce_unique` is set (the retailflow_idempotency addon is installed).
    unique: List[Tuple[str, str, str]] = field(default_factory=list)


# --------------------------------------------------------------------------------------------
# JSON with exact decimals


class Money(Decimal):
    """A Decimal that the encoder prints with exactly two decimals."""


def _encode(obj: Any, out: List[str]) -> None:
    if obj is None:
        out.append("null")
    elif obj is True:
        out.append("true")
    elif obj is False:
        out.append("false")
    elif isinstance(obj, Money):
        out.append(str(Decimal(obj).quantize(CENT, rounding=decimal.ROUND_HALF_UP)))
    elif isinstance(obj, Decimal):
        text = format(obj.normalize(), "f") if obj == obj.to_integral_value() else format(obj, "f")
        out.append(text if "." in text else text + ".0")  # Odoo floats print as 5.0
    elif isinstance(obj, int):
        out.append(str(obj))
    elif isinstance(obj, float):
        out.append(repr(obj))
    elif isinstance(obj, str):
        out.append(json.dumps(obj, ensure_ascii=False))
    elif isinstance(obj, dict):
        out.append("{")
        for i, (k, v) in enumerate(obj.items()):
            if i:
                out.append(",")
            out.append(json.dumps(str(k), ensure_ascii=False))
            out.append(":")
            _encode(v, out)
        out.append("}")
    elif isinstance(obj, (list, tuple)):
        out.append("[")
        for i, v in enumerate(obj):
            if i:
                out.append(",")
            _encode(v, out)
        out.append("]")
    else:
        out.append(json.dumps(str(obj)))


def dumps(obj: Any) -> str:
    """JSON text; Decimals exact, Money with two decimals."""
    out: List[str] = []
    _encode(obj, out)
    return "".join(out)


def loads(text: str | bytes) -> Any:
    """Parses JSON keeping non-integer numbers exact (Decimal)."""
    return json.loads(text, parse_float=Decimal)


# --------------------------------------------------------------------------------------------
# Store


class Store:
    """All records of all models plus the ORM operations over them. Not thread-safe by itself:
    the server serialises every call with one lock."""

    def __init__(self, models: Dict[str, Model]):
        self.models = models
        self.data: Dict[str, Dict[int, Dict[str, Any]]] = {m: {} for m in models}
        self.next_id: Dict[str, int] = {m: 1 for m in models}
        self.version = 0  # bumped on every change (persistence, drop-after-commit fault)
        self.uid = 2
        self.enforce_unique = True  # the retailflow_idempotency addon's constraints

    # -- helpers -------------------------------------------------------------------------------

    def model(self, name: str) -> Model:
        if name not in self.models:
            raise OdooError(repr(name), "builtins.KeyError")
        return self.models[name]

    def get(self, model: str, rid: int) -> Dict[str, Any]:
        rec = self.data[model].get(rid)
        if rec is None:
            raise MissingError(
                "Record does not exist or has been deleted.\n"
                f"(Record: {model}({rid},), User: {self.uid})")
        return rec

    def browse(self, model: str, ids: Iterable[int]) -> List[Dict[str, Any]]:
        return [self.get(model, int(i)) for i in ids]

    def display_name(self, model: str, rid: Any) -> Any:
        if not rid:
            return False
        rec = self.data[model].get(rid)
        if rec is None:
            return False
        m = self.models[model]
        f = m.fields.get(m.rec_name)
        if f is not None and f.type == "many2one":
            return self.display_name(f.relation, rec.get(m.rec_name))
        return self.value(m, rec, m.rec_name) or f"{model},{rid}"

    def value(self, m: Model, rec: Dict[str, Any], fname: str) -> Any:
        """Raw value of a field (computed fields evaluated; one2many from their inverse)."""
        if fname == "id":
            return rec["id"]
        if fname == "display_name":
            return self.value(m, rec, m.rec_name) if m.rec_name in m.fields else str(rec["id"])
        f = m.fields.get(fname)
        if f is None:
            raise value_error(f"Invalid field {fname!r} on model {m.name!r}")
        if f.compute:
            return f.compute(self, rec)
        if f.type == "one2many":
            return sorted(r["id"] for r in self.data[f.relation].values()
                          if r.get(f.inverse) == rec["id"])
        v = rec.get(fname, False)
        if f.type in ("many2many",) and not v:
            return []
        return v

    def bump(self) -> None:
        self.version += 1

    # -- reading -------------------------------------------------------------------------------

    def render(self, m: Model, rec: Dict[str, Any], fname: str) -> Any:
        """A field value as Odoo's `read` returns it over the wire."""
        v = self.value(m, rec, fname)
        f = m.fields.get(fname)
        if f is None:
            return v if v not in (None, "") else False
        if f.type == "many2one":
            return [v, self.display_name(f.relation, v)] if v else False
        if f.type in ("one2many", "many2many"):
            return list(v or [])
        if f.type == "monetary":
            return Money(v) if v is not None and v is not False else Money(0)
        if f.type == "float":
            return Decimal(v) if v not in (None, False) else Decimal(0)
        if f.type == "integer":
            return int(v) if v not in (None, False) else 0
        if f.type == "boolean":
            return bool(v)
        return v if v not in (None, "") else False

    def read(self, model: str, ids: List[int], fields: Optional[List[str]] = None
             ) -> List[Dict[str, Any]]:
        m = self.model(model)
        names = list(fields) if fields else ["display_name", *m.fields.keys()]
        for n in names:
            if n not in m.fields and n not in ("id", "display_name"):
                raise value_error(f"Invalid field {n!r} on model {model!r}")
        out = []
        for rec in self.browse(model, ids):
            row: Dict[str, Any] = {"id": rec["id"]}
            for n in names:
                if n != "id":
                    row[n] = self.render(m, rec, n)
            out.append(row)
        return out

    # -- searching -----------------------------------------------------------------------------

    def _path_values(self, model: str, rec: Dict[str, Any], path: str) -> Tuple[Field, List[Any]]:
        """Values reached by a dotted path (many2one/x2many traversal); the last field's spec."""
        m = self.model(model)
        head, _, rest = path.partition(".")
        if head == "id":
            f = Field("integer")
        else:
            f = m.fields.get(head)
            if f is None:
                raise value_error(f"Invalid field {head!r} on model {model!r}")
        v = self.value(m, rec, head)
        if not rest:
            return f, [v]
        if f.type not in ("many2one", "one2many", "many2many"):
            raise value_error(f"Invalid field path {path!r} on model {model!r}")
        targets = ([v] if v else []) if f.type == "many2one" else list(v)
        last_f, values = Field("char"), []
        for t in targets:
            sub = self.data[f.relation].get(t)
            if sub is not None:
                last_f, vals = self._path_values(f.relation, sub, rest)
                values.extend(vals)
        if not targets:
            values = [False]
        return last_f, values

    @staticmethod
    def _like(pattern: str, text: str, anchored: bool, ci: bool) -> bool:
        if ci:
            pattern, text = pattern.lower(), text.lower()
        if anchored:  # =like / =ilike: SQL wildcards % and _
            rx = "".join(".*" if c == "%" else "." if c == "_" else re.escape(c) for c in pattern)
            return re.fullmatch(rx, text, re.S) is not None
        return pattern in text

    def _term(self, model: str, rec: Dict[str, Any], term: List[Any]) -> bool:
        if not isinstance(term, (list, tuple)) or len(term) != 3:
            raise value_error(f"Invalid leaf {term!r}")
        path, op, arg = term
        f, values = self._path_values(model, rec, str(path))
        if f.type in ("one2many", "many2many"):
            values = [x for v in values for x in (v or [])] or [False]
        if f.type == "many2one" and isinstance(arg, str) and op in ("=", "!=", "ilike", "like"):
            # Odoo compares a many2one with a string through the related record's name.
            names = [self.display_name(f.relation, v) or "" for v in values]
            hit = any(self._like(arg, n, False, True) if "like" in op else n == arg for n in names)
            return hit if op != "!=" else not hit
        ops: Dict[str, Callable[[Any], bool]] = {
            "=": lambda v: _eq(v, arg),
            "!=": lambda v: not _eq(v, arg),
            "in": lambda v: any(_eq(v, a) for a in (arg or [])),
            "not in": lambda v: not any(_eq(v, a) for a in (arg or [])),
            "<": lambda v: v is not False and v is not None and _cmp(v, arg) < 0,
            ">": lambda v: v is not False and v is not None and _cmp(v, arg) > 0,
            "<=": lambda v: v is not False and v is not None and _cmp(v, arg) <= 0,
            ">=": lambda v: v is not False and v is not None and _cmp(v, arg) >= 0,
            "like": lambda v: bool(v) and self._like(str(arg), str(v), False, False),
            "ilike": lambda v: bool(v) and self._like(str(arg), str(v), False, True),
            "not ilike": lambda v: not (bool(v) and self._like(str(arg), str(v), False, True)),
            "=like": lambda v: bool(v) and self._like(str(arg), str(v), True, False),
            "=ilike": lambda v: bool(v) and self._like(str(arg), str(v), True, True),
        }
        fn = ops.get(op)
        if fn is None:
            raise value_error(f"Invalid operator {op!r} in domain term {term!r}")
        if op in ("!=", "not in", "not ilike"):
            return all(fn(v) for v in values)
        return any(fn(v) for v in values)

    def match(self, model: str, rec: Dict[str, Any], domain: List[Any]) -> bool:
        """Evaluates a domain in Polish notation against one record."""
        if not domain:
            return True
        items = list(domain)
        pos = 0

        def parse() -> bool:
            nonlocal pos
            if pos >= len(items):
                raise value_error(f"Invalid domain {domain!r}")
            tok = items[pos]
            pos += 1
            if tok == "&":
                a, b = parse(), parse()
                return a and b
            if tok == "|":
                a, b = parse(), parse()
                return a or b
            if tok == "!":
                return not parse()
            return self._term(model, rec, tok)

        result = True
        while pos < len(items):  # implicit & between top-level expressions
            result = parse() and result
        return result

    def search(self, model: str, domain: Optional[List[Any]] = None, offset: int = 0,
               limit: Optional[int] = None, order: Optional[str] = None) -> List[int]:
        m = self.model(model)
        if domain is not None and not isinstance(domain, list):
            raise value_error(f"Invalid domain {domain!r}")
        recs = [r for r in self.data[model].values() if self.match(model, r, domain or [])]
        for key, desc in reversed(_parse_order(order or m.order)):
            if key != "id" and key not in m.fields:
                raise value_error(f"Invalid field {key!r} on model {model!r}")

            def sort_key(r: Dict[str, Any], key: str = key) -> Any:
                v = self.value(m, r, key)
                if m.fields.get(key) and m.fields[key].type == "many2one":
                    v = self.display_name(m.fields[key].relation, v) or ""
                return (v is False or v is None, v if v not in (False, None) else 0)

            recs.sort(key=sort_key, reverse=desc)
        ids = [r["id"] for r in recs][int(offset or 0):]
        return ids[:int(limit)] if limit else ids

    # -- writing -------------------------------------------------------------------------------

    def _coerce(self, m: Model, fname: str, v: Any) -> Any:
        f = m.fields[fname]
        if f.type in ("float", "monetary"):
            if v is False or v is None:
                return Decimal(0)
            if isinstance(v, bool) or not isinstance(v, (int, Decimal, float, str)):
                raise value_error(f"Wrong value for {m.name}.{fname}: {v!r}")
            try:
                return Decimal(str(v))
            except decimal.InvalidOperation:
                raise value_error(f"Wrong value for {m.name}.{fname}: {v!r}") from None
        if f.type == "integer":
            return int(v or 0)
        if f.type == "boolean":
            return bool(v)
        if f.type == "many2one":
            if not v:
                return False
            if isinstance(v, (list, tuple)):
                v = v[0]
            rid = int(v)
            if rid not in self.data[f.relation]:
                raise MissingError(
                    "Record does not exist or has been deleted.\n"
                    f"(Record: {f.relation}({rid},), User: {self.uid})")
            return rid
        if f.type == "selection":
            if v and f.selection and v not in f.selection:
                raise value_error(f"Wrong value for {m.name}.{fname}: {v!r}")
            return v or False
        if f.type in ("char", "text", "datetime"):
            return v if v not in (None, "") else False
        return v

    def _apply(self, m: Model, rec: Dict[str, Any], vals: Dict[str, Any]) -> List[Tuple[Field, Any]]:
        """Sets plain fields; returns x2many commands to run once the record exists."""
        later = []
        for k, v in vals.items():
            f = m.fields.get(k)
            if f is None or k == "id":
                raise value_error(f"Invalid field {k!r} on model {m.name!r}")
            if f.compute:
                continue  # computed fields ignore writes (as non-inverse computed fields do)
            if f.type in ("one2many", "many2many"):
                later.append((k, v))
            else:
                rec[k] = self._coerce(m, k, v)
        return later

    def _x2many(self, m: Model, rec: Dict[str, Any], fname: str, commands: Any) -> None:
        f = m.fields[fname]
        if not isinstance(commands, list):
            raise value_error(f"Wrong value for {m.name}.{fname}: {commands!r}")
        if commands and all(isinstance(c, int) for c in commands):
            commands = [[6, 0, commands]]  # a bare list of ids replaces the set
        current = list(self.value(m, rec, fname))
        for c in commands:
            if not isinstance(c, (list, tuple)) or not c:
                raise value_error(f"Wrong value for {m.name}.{fname}: {c!r}")
            op = c[0]
            if op == 0:
                vals = dict(c[2] or {})
                if f.type == "one2many":
                    vals[f.inverse] = rec["id"]
                new_id = self.create_one(f.relation, vals)
                if f.type == "many2many":
                    current.append(new_id)
            elif op == 1:
                self.write(f.relation, [c[1]], c[2] or {})
            elif op == 2:
                self.unlink(f.relation, [c[1]])
                current = [i for i in current if i != c[1]]
            elif op == 3:
                if f.type == "one2many":
                    self.write(f.relation, [c[1]], {f.inverse: False})
                current = [i for i in current if i != c[1]]
            elif op == 4:
                self.get(f.relation, c[1])
                if f.type == "one2many":
                    self.write(f.relation, [c[1]], {f.inverse: rec["id"]})
                elif c[1] not in current:
                    current.append(c[1])
            elif op == 5:
                if f.type == "one2many":
                    for i in current:
                        self.write(f.relation, [i], {f.inverse: False})
                current = []
            elif op == 6:
                ids = [int(i) for i in c[2]]
                self.browse(f.relation, ids)
                if f.type == "one2many":
                    for i in current:
                        if i not in ids:
                            self.write(f.relation, [i], {f.inverse: False})
                    for i in ids:
                        self.write(f.relation, [i], {f.inverse: rec["id"]})
                current = ids
            else:
                raise value_error(f"Unknown x2many command {op!r}")
        if f.type == "many2many":
            rec[fname] = current

    def create_one(self, model: str, vals: Dict[str, Any]) -> int:
        m = self.model(model)
        if not isinstance(vals, dict):
            raise value_error(f"Invalid values for {model}.create: {vals!r}")
        vals = dict(vals)
        if m.on_create:
            vals = m.on_create(self, vals)
        rid = self.next_id[model]
        rec: Dict[str, Any] = {"id": rid}
        for k, f in m.fields.items():
            if f.compute or f.type == "one2many":
                continue
            d = f.default(self, vals) if callable(f.default) else f.default
            rec[k] = self._coerce(m, k, d) if d is not None else (
                [] if f.type == "many2many" else self._coerce(m, k, False))
        later = self._apply(m, rec, vals)
        for k, f in m.fields.items():
            if f.required and not rec.get(k) and k not in dict(later):
                raise ValidationError(
                    f"The field '{f.string or k}' is required, please complete it.")
        self._check_unique(m, {rid: rec})
        self.next_id[model] = rid + 1
        self.data[model][rid] = rec
        for k, v in later:
            self._x2many(m, rec, k, v)
        if m.on_change:
            m.on_change(self, [rid])
        self.bump()
        return rid

    def _check_unique(self, m: Model, changed: Dict[int, Dict[str, Any]]) -> None:
        """Raises UniqueViolation when a record of `changed` (id -> its values after the change)
        shares a non-empty value of a unique field with another record or with another of
        `changed`."""
        if not self.enforce_unique:
            return
        for constraint, fname, message in m.unique:
            values = {rid: rec.get(fname) for rid, rec in self.data[m.name].items()}
            values.update({rid: rec.get(fname) for rid, rec in changed.items()})
            owner: Dict[Any, int] = {}
            for rid, v in values.items():
                if v in (False, None, ""):
                    continue
                if v in owner and (rid in changed or owner[v] in changed):
                    raise UniqueViolation(f"{m.name.replace('.', '_')}_{constraint}", message)
                owner.setdefault(v, rid)

    def create(self, model: str, vals_list: Any) -> Any:
        if isinstance(vals_list, list):
            m = self.model(model)
            if self.enforce_unique and m.unique and len(vals_list) > 1:
                # One INSERT of the batch: a violation anywhere in it stores none of it.
                pending = {-(i + 1): {f: self._coerce(m, f, v[f]) for _, f, _ in m.unique
                                      if f in v}
                           for i, v in enumerate(vals_list) if isinstance(v, dict)}
                self._check_unique(m, pending)
            return [self.create_one(model, v) for v in vals_list]
        return self.create_one(model, vals_list)

    def write(self, model: str, ids: List[int], vals: Dict[str, Any]) -> bool:
        m = self.model(model)
        if not isinstance(vals, dict):
            raise value_error(f"Invalid values for {model}.write: {vals!r}")
        touched = {fname for _, fname, _ in m.unique} & set(vals)
        if touched and self.enforce_unique:  # checked on the new values before any is applied
            after = {}
            for rec in self.browse(model, ids):
                new = dict(rec)
                for fname in touched:
                    new[fname] = self._coerce(m, fname, vals[fname])
                after[rec["id"]] = new
            self._check_unique(m, after)
        for rec in self.browse(model, ids):
            for k, v in self._apply(m, rec, vals):
                self._x2many(m, rec, k, v)
        if m.on_change:
            m.on_change(self, [int(i) for i in ids])
        self.bump()
        return True

    def unlink(self, model: str, ids: List[int]) -> bool:
        m = self.model(model)
        self.browse(model, ids)
        if m.on_unlink:
            m.on_unlink(self, [int(i) for i in ids])
        for rid in ids:
            rec = self.data[model].pop(int(rid), None)
            if rec is None:
                continue
            for k, f in m.fields.items():  # cascade one2many children
                if f.type == "one2many" and not f.compute:
                    for child in [c for c in self.data[f.relation].values()
                                  if c.get(f.inverse) == rid]:
                        self.unlink(f.relation, [child["id"]])
        self.bump()
        return True

    def fields_get(self, model: str, allfields: Optional[List[str]] = None,
                   attributes: Optional[List[str]] = None) -> Dict[str, Any]:
        m = self.model(model)
        out: Dict[str, Any] = {"id": {"type": "integer", "string": "ID", "readonly": True}}
        for k, f in m.fields.items():
            d: Dict[str, Any] = {"type": f.type, "string": f.string or k.replace("_", " ").title(),
                                 "readonly": f.compute is not None, "required": f.required}
            if f.relation:
                d["relation"] = f.relation
            if f.selection:
                d["selection"] = [[s, s.title()] for s in f.selection]
            out[k] = d
        if allfields:
            out = {k: v for k, v in out.items() if k in allfields}
        if attributes:
            out = {k: {a: v[a] for a in attributes if a in v} for k, v in out.items()}
        return out

    # -- persistence ---------------------------------------------------------------------------

    def to_json(self) -> str:
        return dumps({"next_id": self.next_id, "data": {
            m: [rec for _, rec in sorted(recs.items())] for m, recs in self.data.items()}})

    def load_json(self, text: str) -> None:
        doc = loads(text)
        self.next_id = {m: int(doc["next_id"].get(m, 1)) for m in self.models}
        self.data = {m: {} for m in self.models}
        for m, recs in doc["data"].items():
            if m not in self.models:
                continue
            for rec in recs:
                for k, f in self.models[m].fields.items():
                    if f.type in ("float", "monetary") and k in rec:
                        rec[k] = Decimal(str(rec[k]))
                self.data[m][int(rec["id"])] = rec


def _eq(v: Any, arg: Any) -> bool:
    if arg is False or arg is None:
        return v is False or v is None or v == []
    if isinstance(v, Decimal) or isinstance(arg, Decimal):
        try:
            return Decimal(str(v)) == Decimal(str(arg))
        except (decimal.InvalidOperation, ValueError):
            return False
    if isinstance(v, bool) != isinstance(arg, bool):
        return False
    return v == arg


def _cmp(v: Any, arg: Any) -> int:
    try:
        if isinstance(v, (int, Decimal)) and not isinstance(v, bool):
            a, b = Decimal(str(v)), Decimal(str(arg))
        else:
            a, b = str(v), str(arg)
    except (decimal.InvalidOperation, ValueError):
        raise value_error(f"Cannot compare {v!r} with {arg!r}") from None
    return (a > b) - (a < b)


def _parse_order(order: str) -> List[Tuple[str, bool]]:
    out = []
    for part in str(order).split(","):
        bits = part.strip().split()
        if not bits:
            continue
        if len(bits) > 2 or (len(bits) == 2 and bits[1].lower() not in ("asc", "desc")):
            raise value_error(f"Invalid order {order!r}")
        out.append((bits[0], len(bits) == 2 and bits[1].lower() == "desc"))
    return out


# Positional parameter names of the ORM methods: (takes ids first?, names).
ORM_SIGNATURES: Dict[str, Tuple[bool, List[str]]] = {
    "search": (False, ["domain", "offset", "limit", "order"]),
    "search_read": (False, ["domain", "fields", "offset", "limit", "order"]),
    "search_count": (False, ["domain", "limit"]),
    "create": (False, ["vals_list"]),
    "fields_get": (False, ["allfields", "attributes"]),
    "read": (True, ["fields"]),
    "write": (True, ["vals"]),
    "unlink": (True, []),
}


def call_orm(store: Store, model: str, method: str, ids: List[int], kw: Dict[str, Any]) -> Any:
    """Runs a standard ORM method with named parameters (JSON-2 style)."""
    if method == "search":
        return store.search(model, kw.get("domain") or [], kw.get("offset") or 0,
                            kw.get("limit"), kw.get("order"))
    if method == "search_read":
        found = store.search(model, kw.get("domain") or [], kw.get("offset") or 0,
                             kw.get("limit"), kw.get("order"))
        return store.read(model, found, kw.get("fields"))
    if method == "search_count":
        n = len(store.search(model, kw.get("domain") or []))
        return min(n, kw["limit"]) if kw.get("limit") else n
    if method == "create":
        vals = kw.get("vals_list", kw.get("vals"))
        return store.create(model, vals)
    if method == "fields_get":
        return store.fields_get(model, kw.get("allfields"), kw.get("attributes"))
    if method == "read":
        return store.read(model, ids, kw.get("fields"))
    if method == "write":
        return store.write(model, ids, kw.get("vals") or {})
    if method == "unlink":
        return store.unlink(model, ids)
    raise AssertionError(method)
