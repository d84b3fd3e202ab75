"""Public API diff between two generations: ``python -m generator api-diff OLD NEW``.

It compares what a user of ``codex_app_server`` sees, built from the
generator's IR (:class:`generator.ir.Api`), never the generated text:

* client methods (``AppServerClient``/``AsyncAppServerClient``): added,
  removed, return type; their keyword params: added, removed, retyped,
  required-changed;
* wrapper methods (``Codex``, ``Thread``, ``TurnHandle`` and their async
  twins): added, removed, return type, positional params, keywords;
* definitions of ``generated.v2_all`` (models, enums, type aliases): added,
  removed, kind changed; model fields added, removed, retyped,
  required-changed; enum members and literal values added/removed; alias
  types retyped;
* notifications and server requests (handler methods): added, removed, changed.

Every change gets a *kind*; whether it is breaking depends only on the kind
and on the *role* of what changed. A type the user builds and sends (method
params, wrapper keywords, params models, server-request answers) has role
``input``; a type the user receives and reads (responses, notifications,
server-request params) has role ``output``; a type reachable from both, or
from neither, has both roles. A change is breaking if it is breaking for any
role the definition has. The rules (``RULES``, the one place they live):

=====================  =====  ======  ============================================
kind                   input  output  why
=====================  =====  ======  ============================================
removed                break  break   code naming it stops working
added                  ok     ok
kind changed           break  break   enum <-> model <-> alias: members, ctor, attrs
return changed         break  break   callers read another type
positional changed     break  break   positional arguments shift
required added         break  ok      callers must now pass it / servers send it
optional added         ok     ok
became required        break  ok      callers must now pass it
became optional        ok     break   readers may now get None / nothing
type widened           ok     break   more is accepted / readers see new kinds
type narrowed          break  ok      less is accepted / readers see a subset
type changed           break  break   neither wider nor narrower
value added            ok     ok      enum/literal value; readers tolerate unknowns
value removed          break  ok      literal value no longer accepted
variant added          ok     ok      tagged-union variant; like a value added
variant removed        break  ok      like a value removed (its class: "removed")
member removed         break  break   ``Enum.member`` attribute disappears
member renamed         break  break   same value, another ``Enum.member`` name
=====================  =====  ======  ============================================

Type aliases are expanded before types are compared, so renaming an alias
of ``str`` to another alias of ``str`` is no change to the values a user
passes or reads. "Widened" is only claimed where it is simple to prove: union/nullable
members added; an int range that contains the old one (``UInt32`` ->
``Int64``); a constraint dropped (``Annotated[str, min_length]`` -> ``str``);
a literal -> its scalar type; ``list``/``dict`` of a widened item. Anything
else is "type changed".

A schema dir is built with the *current* generator code; a git ref with
that ref's own ``generator/`` (run in a subprocess; the current code if the
ref has none or it fails), so the diff also shows what a generator change
does to the names users see (a naming rule). Template changes show in the
``output/API.md`` git diff.

``--against-git [REF]`` compares the working tree's ``schemas/`` with the
``schemas/`` of REF (read with ``git archive``), default: the merge base with
``main`` when that differs from HEAD, else ``HEAD~1``.
"""

from __future__ import annotations

import io
import os
import pickle
import subprocess
import sys
import tarfile
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path, PurePosixPath

from . import ir
from .errors import GeneratorError, Location
from .load import LOCK_NAME, MANIFEST_NAME, load_inputs
from .pyexpr import annotation
from .wrappers import returns as wrapper_returns

INPUT, OUTPUT = 1, 2
BOTH = INPUT | OUTPUT

# kind -> (breaking when the subject has the input role, breaking for output); see the module docstring.
RULES: Mapping[str, tuple[bool, bool]] = {
    "removed": (True, True),
    "added": (False, False),
    "kind changed": (True, True),
    "return changed": (True, True),
    "positional changed": (True, True),
    "required added": (True, False),
    "optional added": (False, False),
    "became required": (True, False),
    "became optional": (False, True),
    "type widened": (False, True),
    "type narrowed": (True, False),
    "type changed": (True, True),
    "value added": (False, False),
    "value removed": (True, False),
    "variant added": (False, False),
    "variant removed": (True, False),
    "member removed": (True, True),
    "member renamed": (True, True),
}

# Report sections, in order.
AREAS = ("client methods", "wrappers", "notifications", "server requests", "definitions")


def is_breaking(kind: str, role: int) -> bool:
    """THE classification: breaking for any role the subject has."""
    for_input, for_output = RULES[kind]
    return bool((role & INPUT and for_input) or (role & OUTPUT and for_output))


@dataclass(frozen=True)
class Change:
    area: str  # one of AREAS
    kind: str  # a key of RULES
    subject: str  # dotted Python name: ``ThreadStartParams.model``, ``AppServerClient.thread_read``
    detail: str
    breaking: bool

    def to_json(self) -> dict[str, object]:
        return {
            "area": self.area,
            "kind": self.kind,
            "subject": self.subject,
            "detail": self.detail,
            "breaking": self.breaking,
        }


def _change(area: str, kind: str, subject: str, detail: str, role: int = BOTH) -> Change:
    return Change(area, kind, subject, detail, is_breaking(kind, role))


@dataclass(frozen=True)
class Report:
    old_version: str
    new_version: str
    changes: tuple[Change, ...]

    @property
    def breaking(self) -> tuple[Change, ...]:
        return tuple(c for c in self.changes if c.breaking)

    @property
    def compatible(self) -> tuple[Change, ...]:
        return tuple(c for c in self.changes if not c.breaking)

    def summary_line(self) -> str:
        return f"{len(self.breaking)} breaking, {len(self.compatible)} compatible"

    def to_json(self) -> dict[str, object]:
        return {
            "old": self.old_version,
            "new": self.new_version,
            "breaking": len(self.breaking),
            "compatible": len(self.compatible),
            "changes": [c.to_json() for c in self.changes],
        }

    def to_markdown(self) -> str:
        lines = [f"# Public API diff: codex {self.old_version} -> {self.new_version}", "", self.summary_line()]
        for title, changes in (("Breaking", self.breaking), ("Compatible", self.compatible)):
            if not changes:
                continue
            lines += ["", f"## {title} ({len(changes)})"]
            for area in AREAS:
                in_area = [c for c in changes if c.area == area]
                if in_area:
                    lines += ["", f"### {area.capitalize()} ({len(in_area)})", ""]
                    lines += [f"- {c.kind}: `{c.subject}`: {c.detail}" for c in in_area]
        return "\n".join(lines) + "\n"


# ---------------------------------------------------------------- type relations


def _int_range(t: ir.TypeExpr) -> tuple[float, float] | None:
    if t == ir.Builtin("int"):
        return (float("-inf"), float("inf"))
    if isinstance(t, ir.Builtin):
        for alias in ir.INT_ALIASES:
            if t.name == alias.name:
                return (alias.minimum, float("inf") if alias.maximum is None else alias.maximum)
    return None


def _members(t: ir.TypeExpr) -> frozenset[ir.TypeExpr]:
    """A type as the set of its alternatives: unions and nullability flattened, one literal per value."""
    if isinstance(t, ir.Nullable):
        return _members(t.inner) | {ir.NONE}
    if isinstance(t, ir.UnionOf):
        return frozenset(m for member in t.members for m in _members(member))
    if isinstance(t, ir.LiteralOf) and len(t.values) != 1:
        return frozenset(ir.LiteralOf((v,)) for v in t.values)
    return frozenset({t})


def _within(a: ir.TypeExpr, b: ir.TypeExpr) -> bool:
    """Every value of ``a`` is a value of ``b`` (simple proofs only)."""
    if a == b or b == ir.JSON_VALUE:
        return True
    if isinstance(a, (ir.UnionOf, ir.Nullable)) or (isinstance(a, ir.LiteralOf) and len(a.values) != 1):
        return all(any(_within(m, n) for n in _members(b)) for m in _members(a))
    if isinstance(b, (ir.UnionOf, ir.Nullable)):
        return any(_within(a, m) for m in _members(b))
    ra, rb = _int_range(a), _int_range(b)
    if ra is not None and rb is not None:
        return rb[0] <= ra[0] and ra[1] <= rb[1]
    if isinstance(a, ir.Constrained):
        return _within(a.base, b)
    if isinstance(a, ir.LiteralOf):
        scalar = {str: "str", bool: "bool", int: "int", float: "float"}.get(type(a.values[0]))
        return scalar is not None and _within(ir.Builtin(scalar), b)
    if isinstance(a, ir.ListOf) and isinstance(b, ir.ListOf):
        return _within(a.item, b.item)
    if isinstance(a, ir.DictOf) and isinstance(b, ir.DictOf):
        return _within(a.value, b.value)
    return False


def relation(old: ir.TypeExpr, new: ir.TypeExpr) -> str:
    """``same``, ``type widened``, ``type narrowed`` or ``type changed`` (aliases already expanded)."""
    old_members, new_members = _members(old), _members(new)
    if old_members == new_members:
        return "same"
    old_fits = all(any(_within(o, n) for n in new_members) for o in old_members)
    new_fits = all(any(_within(n, o) for o in old_members) for n in new_members)
    if old_fits and new_fits:
        return "same"
    if old_fits:
        return "type widened"
    return "type narrowed" if new_fits else "type changed"


def expand(t: ir.TypeExpr, defs: Mapping[str, ir.Definition], seen: frozenset[str] = frozenset()) -> ir.TypeExpr:
    """``t`` with every type alias replaced by what it stands for (classes stay by name).

    ``AbsolutePathBuf`` -> ``LegacyAppPathString`` is no change when both are
    aliases of ``str``: the values a user passes or reads are the same.
    """
    if isinstance(t, ir.Named):
        target = defs.get(t.name)
        if isinstance(target, ir.Alias) and t.name not in seen:
            return expand(target.type, defs, seen | {t.name})
        return t
    if isinstance(t, ir.ListOf):
        return ir.ListOf(expand(t.item, defs, seen))
    if isinstance(t, ir.DictOf):
        return ir.DictOf(expand(t.value, defs, seen))
    if isinstance(t, ir.Nullable):
        return ir.nullable(expand(t.inner, defs, seen))
    if isinstance(t, ir.Constrained):
        return ir.Constrained(expand(t.base, defs, seen), t.constraints)
    if isinstance(t, ir.UnionOf):
        return ir.UnionOf(tuple(expand(m, defs, seen) for m in t.members), t.discriminator)
    if isinstance(t, ir.TupleOf):
        return ir.TupleOf(tuple(expand(m, defs, seen) for m in t.items))
    return t


def _short(t: ir.TypeExpr, limit: int = 100) -> str:
    text = annotation(t)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _names(types: Iterable[ir.TypeExpr]) -> str:
    return ", ".join(f"`{_short(t, 60)}`" for t in sorted(types, key=repr))


def _type_detail(kind: str, old: ir.TypeExpr, new: ir.TypeExpr, shown_old: ir.TypeExpr, shown_new: ir.TypeExpr) -> str:
    """``old -> new``; for a widening/narrowing of a long union only the members that differ."""
    added, dropped = _members(new) - _members(old), _members(old) - _members(new)
    short = len(annotation(shown_old)) <= 100 and len(annotation(shown_new)) <= 100
    text = f"`{_text(shown_old)}` -> `{_text(shown_new)}`" if short else ""
    if kind == "type widened" and added:
        return (text + " " if text else "") + f"(now also {_names(added)})"
    if kind == "type narrowed" and dropped:
        return (text + " " if text else "") + f"(no longer {_names(dropped)})"
    return text or f"`{_short(shown_old)}` -> `{_short(shown_new)}`"


def _text(t: ir.TypeExpr) -> str:
    return "(nothing)" if isinstance(t, ir.UnionOf) and not t.members else annotation(t)


# ---------------------------------------------------------------- roles


def _reachable(api: ir.Api, roots: Iterable[str | None]) -> set[str]:
    by_name = {d.name: d for d in api.definitions}
    seen: set[str] = set()
    todo = [r for r in roots if r]
    while todo:
        name = todo.pop()
        if name in seen or name not in by_name:
            continue
        seen.add(name)
        todo.extend(ir.definition_references(by_name[name]))
    return seen


# Envelope unions: what the client sends, what the server sends.
INPUT_ENVELOPES = ("ClientRequest", "ClientNotification")
OUTPUT_ENVELOPES = ("ServerNotification", "ServerRequest")


def roles(api: ir.Api) -> dict[str, int]:
    """Definition name -> INPUT/OUTPUT flags; a definition reachable from neither side gets BOTH."""
    inputs = _reachable(
        api,
        [*INPUT_ENVELOPES, *(m.params_model for m in api.methods), *(r.response_model for r in api.server_requests)],
    )
    outputs = _reachable(
        api,
        [
            *OUTPUT_ENVELOPES,
            *(m.response_model for m in api.methods),
            *(n.params_model for n in api.notifications),
            *(n.class_name for n in api.notifications),
            *(r.params_model for r in api.server_requests),
        ],
    )
    out: dict[str, int] = {}
    for d in api.definitions:
        role = (INPUT if d.name in inputs else 0) | (OUTPUT if d.name in outputs else 0)
        out[d.name] = role or BOTH
    return out


# ---------------------------------------------------------------- the comparison


@dataclass(frozen=True)
class Differ:
    old: ir.Api
    new: ir.Api

    @cached_property
    def old_defs(self) -> dict[str, ir.Definition]:
        return {d.name: d for d in self.old.definitions}

    @cached_property
    def new_defs(self) -> dict[str, ir.Definition]:
        return {d.name: d for d in self.new.definitions}

    @cached_property
    def roles(self) -> dict[str, int]:
        old, new = roles(self.old), roles(self.new)
        return {name: old.get(name, 0) | new.get(name, 0) for name in old.keys() | new.keys()}

    def report(self) -> Report:
        changes = [
            *self.methods(),
            *self.wrappers(),
            *self.notifications(),
            *self.server_requests(),
            *self.definitions(),
        ]
        return Report(self.old.schema_version, self.new.schema_version, tuple(changes))

    # ------------------------------------------------------------ types

    def types(self, area: str, subject: str, old: ir.TypeExpr, new: ir.TypeExpr, role: int) -> list[Change]:
        """Changes of one type: tagged-union variants and literal values one by one, the rest as one."""
        if old == new:
            return []
        shown_old, shown_new = old, new
        old, new = expand(old, self.old_defs), expand(new, self.new_defs)
        if old == new:
            return []
        out: list[Change] = []
        if isinstance(old, ir.UnionOf) and isinstance(new, ir.UnionOf) and old.discriminator and new.discriminator:
            if old.discriminator == new.discriminator:
                for m in sorted(set(old.members) - set(new.members), key=repr):
                    out.append(_change(area, "variant removed", subject, f"variant `{_short(m)}` removed", role))
                for m in sorted(set(new.members) - set(old.members), key=repr):
                    out.append(_change(area, "variant added", subject, f"variant `{_short(m)}` added", role))
                return out
        old_members, new_members = _members(old), _members(new)
        old_values, new_values = _literal_values(old_members), _literal_values(new_members)
        if old_values and new_values:
            for value in sorted(old_values - new_values, key=repr):
                out.append(_change(area, "value removed", subject, f"value {value!r} removed", role))
            for value in sorted(new_values - old_values, key=repr):
                out.append(_change(area, "value added", subject, f"value {value!r} added", role))
            old_members = frozenset(m for m in old_members if not isinstance(m, ir.LiteralOf))
            new_members = frozenset(m for m in new_members if not isinstance(m, ir.LiteralOf))
            old, new = (
                ir.UnionOf(tuple(sorted(old_members, key=repr))),
                ir.UnionOf(tuple(sorted(new_members, key=repr))),
            )
            shown_old, shown_new = old, new
        kind = relation(old, new)
        if kind == "same":
            return out
        out.append(_change(area, kind, subject, _type_detail(kind, old, new, shown_old, shown_new), role))
        return out

    def parameters(
        self, area: str, owner: str, old: Sequence[ir.Parameter], new: Sequence[ir.Parameter]
    ) -> list[Change]:
        """Keyword arguments: always the input role."""
        old_by, new_by = {p.py_name: p for p in old}, {p.py_name: p for p in new}
        out: list[Change] = []
        for name in sorted(old_by.keys() - new_by.keys()):
            out.append(_change(area, "removed", f"{owner}({name}=)", "keyword removed", INPUT))
        for name in sorted(new_by.keys() - old_by.keys()):
            p = new_by[name]
            kind = "required added" if p.required else "optional added"
            out.append(_change(area, kind, f"{owner}({name}=)", f"keyword added: `{_short(p.type)}`", INPUT))
        for name in sorted(old_by.keys() & new_by.keys()):
            o, n = old_by[name], new_by[name]
            out.extend(self._slot(area, f"{owner}({name}=)", "keyword", o.required, n.required, o.type, n.type, INPUT))
        return out

    def _slot(
        self,
        area: str,
        subject: str,
        what: str,
        old_required: bool,
        new_required: bool,
        old_type: ir.TypeExpr,
        new_type: ir.TypeExpr,
        role: int,
    ) -> list[Change]:
        """A keyword or field present on both sides: requiredness, then type.

        When requiredness changes, a nullability change that goes with it is
        part of the same change, not a second one.
        """
        out: list[Change] = []
        if old_required != new_required:
            kind = "became required" if new_required else "became optional"
            out.append(_change(area, kind, subject, f"{what} {kind}", role))
            old_type, new_type = ir.strip_nullable(old_type), ir.strip_nullable(new_type)
        return out + self.types(area, subject, old_type, new_type, role)

    # ------------------------------------------------------------ sections

    def methods(self) -> list[Change]:
        area = "client methods"
        old_by, new_by = {m.py_name: m for m in self.old.methods}, {m.py_name: m for m in self.new.methods}
        out: list[Change] = []
        for name in sorted(old_by.keys() - new_by.keys()):
            out.append(_change(area, "removed", f"AppServerClient.{name}", f"`{old_by[name].rpc_method}` removed"))
        for name in sorted(new_by.keys() - old_by.keys()):
            out.append(_change(area, "added", f"AppServerClient.{name}", f"`{new_by[name].rpc_method}` added"))
        for name in sorted(old_by.keys() & new_by.keys()):
            o, n = old_by[name], new_by[name]
            owner = f"AppServerClient.{name}"
            if o.response_model != n.response_model:
                detail = f"returns `{n.response_model}`, was `{o.response_model}`"
                out.append(_change(area, "return changed", owner, detail))
            out.extend(self.parameters(area, owner, o.parameters, n.parameters))
        return out

    def wrappers(self) -> list[Change]:
        area = "wrappers"
        old_by = {(w.owner, w.py_name): w for w in self.old.wrappers}
        new_by = {(w.owner, w.py_name): w for w in self.new.wrappers}
        out: list[Change] = []
        for key in sorted(old_by.keys() - new_by.keys()):
            detail = f"wrapper of `{old_by[key].rpc_method}` removed (and its async twin)"
            out.append(_change(area, "removed", ".".join(key), detail))
        for key in sorted(new_by.keys() - old_by.keys()):
            detail = f"wrapper of `{new_by[key].rpc_method}` added (and its async twin)"
            out.append(_change(area, "added", ".".join(key), detail))
        for key in sorted(old_by.keys() & new_by.keys()):
            o, n = old_by[key], new_by[key]
            owner = ".".join(key)
            if wrapper_returns(o) != wrapper_returns(n):
                detail = f"returns `{wrapper_returns(n)}`, was `{wrapper_returns(o)}`"
                out.append(_change(area, "return changed", owner, detail))
            if _positional(o) != _positional(n):
                detail = f"positional `({', '.join(_positional(n))})`, was `({', '.join(_positional(o))})`"
                out.append(_change(area, "positional changed", owner, detail))
            out.extend(self.parameters(area, owner, _wrapper_keywords(o), _wrapper_keywords(n)))
        return out

    def notifications(self) -> list[Change]:
        area = "notifications"
        old_by = {n.rpc_method: n for n in self.old.notifications}
        new_by = {n.rpc_method: n for n in self.new.notifications}
        out: list[Change] = []
        for rpc in sorted(old_by.keys() - new_by.keys()):
            out.append(_change(area, "removed", old_by[rpc].class_name, f"notification `{rpc}` removed"))
        for rpc in sorted(new_by.keys() - old_by.keys()):
            out.append(_change(area, "added", new_by[rpc].class_name, f"notification `{rpc}` added"))
        for rpc in sorted(old_by.keys() & new_by.keys()):
            o, n = old_by[rpc], new_by[rpc]
            if (o.class_name, o.params_model) != (n.class_name, n.params_model):
                detail = (
                    f"`{rpc}`: event `{n.class_name}` of `{n.params_model}`, was `{o.class_name}` of `{o.params_model}`"
                )
                out.append(_change(area, "kind changed", n.class_name, detail))
        return out

    def server_requests(self) -> list[Change]:
        area = "server requests"
        old_by = {r.rpc_method: r for r in self.old.server_requests}
        new_by = {r.rpc_method: r for r in self.new.server_requests}
        out: list[Change] = []
        for rpc in sorted(old_by.keys() - new_by.keys()):
            subject = f"ServerRequestHandler.{old_by[rpc].handler_name}"
            out.append(_change(area, "removed", subject, f"server request `{rpc}` removed"))
        for rpc in sorted(new_by.keys() - old_by.keys()):
            subject = f"ServerRequestHandler.{new_by[rpc].handler_name}"
            out.append(_change(area, "added", subject, f"server request `{rpc}` added"))
        for rpc in sorted(old_by.keys() & new_by.keys()):
            o, n = old_by[rpc], new_by[rpc]
            subject = f"ServerRequestHandler.{n.handler_name}"
            if o.handler_name != n.handler_name:
                detail = f"`{rpc}` handled by `{n.handler_name}`, was `{o.handler_name}`"
                out.append(_change(area, "kind changed", subject, detail))
            if (o.params_model, o.response_model) != (n.params_model, n.response_model):
                detail = f"`({n.params_model}) -> {n.response_model}`, was `({o.params_model}) -> {o.response_model}`"
                out.append(_change(area, "kind changed", subject, detail))
        return out

    def fields(self, old: ir.Model, new: ir.Model, role: int) -> list[Change]:
        area = "definitions"
        old_by, new_by = {f.py_name: f for f in old.fields}, {f.py_name: f for f in new.fields}
        out: list[Change] = []
        for name in sorted(old_by.keys() - new_by.keys()):
            out.append(_change(area, "removed", f"{new.name}.{name}", "field removed", role))
        for name in sorted(new_by.keys() - old_by.keys()):
            f = new_by[name]
            kind = "required added" if f.required else "optional added"
            out.append(_change(area, kind, f"{new.name}.{name}", f"field added: `{_short(f.type)}`", role))
        for name in sorted(old_by.keys() & new_by.keys()):
            o, n = old_by[name], new_by[name]
            out.extend(self._slot(area, f"{new.name}.{name}", "field", o.required, n.required, o.type, n.type, role))
        return out

    def definitions(self) -> list[Change]:
        area = "definitions"
        old_by, new_by = self.old_defs, self.new_defs
        out: list[Change] = []
        for name in sorted(old_by.keys() - new_by.keys()):
            out.append(_change(area, "removed", name, f"{_kind_name(old_by[name])} removed"))
        for name in sorted(new_by.keys() - old_by.keys()):
            out.append(_change(area, "added", name, f"{_kind_name(new_by[name])} added"))
        for name in sorted(old_by.keys() & new_by.keys()):
            o, n = old_by[name], new_by[name]
            role = self.roles.get(name) or BOTH
            if type(o) is not type(n):
                out.append(_change(area, "kind changed", name, f"{_kind_name(o)} became {_kind_name(n)}"))
            elif isinstance(o, ir.Model) and isinstance(n, ir.Model):
                out.extend(self.fields(o, n, role))
            elif isinstance(o, ir.Enum) and isinstance(n, ir.Enum):
                old_values = {m.value: m.py_name for m in o.members}
                new_values = {m.value: m.py_name for m in n.members}
                for value in sorted(old_values.keys() - new_values.keys()):
                    subject = f"{name}.{old_values[value]}"
                    out.append(_change(area, "member removed", subject, f"enum value {value!r} removed", role))
                for value in sorted(new_values.keys() - old_values.keys()):
                    subject = f"{name}.{new_values[value]}"
                    out.append(_change(area, "value added", subject, f"enum value {value!r} added", role))
                for value in sorted(old_values.keys() & new_values.keys()):
                    if old_values[value] != new_values[value]:
                        subject = f"{name}.{new_values[value]}"
                        detail = f"enum value {value!r} is `{name}.{new_values[value]}`, was `{old_values[value]}`"
                        out.append(_change(area, "member renamed", subject, detail, role))
            elif isinstance(o, ir.Alias) and isinstance(n, ir.Alias):
                out.extend(self.types(area, name, o.type, n.type, role))
        return out


def _literal_values(members: Iterable[ir.TypeExpr]) -> set[object]:
    return {m.values[0] for m in members if isinstance(m, ir.LiteralOf)}


def _kind_name(d: ir.Definition) -> str:
    if isinstance(d, ir.Model):
        return "model"
    return "enum" if isinstance(d, ir.Enum) else f"type alias `{_short(d.type, 80)}`"


def _wrapper_keywords(w: ir.WrapperMethod) -> tuple[ir.Parameter, ...]:
    """Keywords as the user sees them: a manifest type/default override replaces the schema's."""
    out = []
    for p in w.keywords:
        override = w.override(p.field_name)
        if "type" in override:
            p = ir.Parameter(p.py_name, p.field_name, p.wire_name, ir.Builtin(str(override["type"])), False, None)
        if "default" in override and p.required:
            p = ir.Parameter(p.py_name, p.field_name, p.wire_name, p.type, False, p.description)
        out.append(p)
    return tuple(out)


def _positional(w: ir.WrapperMethod) -> tuple[str, ...]:
    return tuple(f"{p.py_name}: {w.override(p.field_name).get('type') or annotation(p.type)}" for p in w.positional)


def diff_apis(old: ir.Api, new: ir.Api) -> Report:
    return Differ(old, new).report()


# ---------------------------------------------------------------- loading both sides


@dataclass(frozen=True)
class Side:
    """A schema dump plus the lock and manifest to read it with."""

    schema_dir: Path
    lock: Path
    manifest: Path
    # A checkout of a git ref whose own generator/ builds this side: then a
    # change of the generator itself (a naming rule) shows in the diff too.
    generator_root: Path | None = None


def side_of_dir(schema_dir: Path, fallback_manifest: Path, generator_root: Path | None = None) -> Side:
    """A schema dir with schema.lock beside it; its own methods.toml if it has one, else the fallback."""
    own = schema_dir.parent / MANIFEST_NAME
    manifest = own if own.is_file() else fallback_manifest
    return Side(schema_dir, schema_dir.parent / LOCK_NAME, manifest, generator_root)


# Run by the git ref's own generator (in a subprocess, with that checkout
# first on the path): the same two calls on every version of the generator.
_BUILD_WITH_OWN_GENERATOR = """
import pickle, sys
from pathlib import Path
from generator.load import load_inputs
from generator.pipeline import build_api
api = build_api(load_inputs(Path(sys.argv[1]), Path(sys.argv[2]), Path(sys.argv[3])))
sys.stdout.buffer.write(pickle.dumps(api))
"""


def load_api(side: Side) -> ir.Api:
    """The API of a side: built by the side's own generator when it has one, else by this one."""
    if side.generator_root is not None:
        api = _load_api_with_own_generator(side, side.generator_root)
        if api is not None:
            return api
    from .pipeline import build_api

    return build_api(load_inputs(side.schema_dir, side.lock, side.manifest))


def _load_api_with_own_generator(side: Side, root: Path) -> ir.Api | None:
    """None (with a note on stderr) when that generator cannot build it: this one then does."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(root), *filter(None, [os.environ.get("PYTHONPATH")])])}
    args = [sys.executable, "-c", _BUILD_WITH_OWN_GENERATOR, str(side.schema_dir), str(side.lock), str(side.manifest)]
    try:
        proc = subprocess.run(args, cwd=root, env=env, capture_output=True, timeout=300, check=False)
        if proc.returncode == 0:
            api = pickle.loads(proc.stdout)  # noqa: S301 - our own generator's output, from our own git history
            if isinstance(api, ir.Api):
                return api
        reason = proc.stderr.decode(errors="replace").strip().splitlines()[-1:] or ["no API"]
    except (OSError, subprocess.TimeoutExpired, pickle.UnpicklingError, AttributeError, ImportError) as exc:
        reason = [str(exc)]
    print(
        f"api-diff: the ref's own generator could not build its API ({reason[0]}); using the working tree's",
        file=sys.stderr,
    )
    return None


def _git(args: Sequence[str], cwd: Path) -> subprocess.CompletedProcess[bytes]:
    try:
        return subprocess.run(["git", *args], cwd=cwd, capture_output=True, timeout=120, check=False)
    except FileNotFoundError:
        raise GeneratorError(Location("git"), "git is not installed") from None


def resolve_ref(ref: str, repo: Path) -> str | None:
    """The commit id of ``ref``, or None if it does not exist."""
    proc = _git(["rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}"], repo)
    return proc.stdout.decode().strip() if proc.returncode == 0 else None


def default_ref(repo: Path) -> str:
    """The merge base with ``main`` when on another line of history, else ``HEAD~1``."""
    head = resolve_ref("HEAD", repo)
    if head and resolve_ref("main", repo):
        proc = _git(["merge-base", "HEAD", "main"], repo)
        base = proc.stdout.decode().strip()
        if proc.returncode == 0 and base and base != head:
            return base
    return "HEAD~1"


def checkout_schemas(ref: str, repo: Path, dest: Path, schemas: str = "schemas") -> bool:
    """Write ``schemas/`` of ``ref`` into ``dest``; False if ``ref`` has no schema dump."""
    return any(path.parts[1:2] == ("app-server",) for path in _checkout(ref, repo, dest, schemas))


def checkout_generator(ref: str, repo: Path, dest: Path) -> Path | None:
    """Write ``generator/`` of ``ref`` into ``dest``; ``dest`` if it is a generator package, else None."""
    files = _checkout(ref, repo, dest, "generator")
    return dest if PurePosixPath("generator", "pipeline.py") in files else None


def _checkout(ref: str, repo: Path, dest: Path, top: str) -> set[PurePosixPath]:
    """Write the regular files under ``top/`` of ``ref`` into ``dest``; the paths written.

    One ``git archive`` instead of a ``git show`` per file (40 of them): the
    same bytes, 25x faster.
    """
    proc = _git(["archive", "--format=tar", ref, "--", top], repo)
    if proc.returncode != 0:
        message = proc.stderr.decode(errors="replace").strip()
        if "did not match any files" in message:
            return set()
        raise GeneratorError(Location(ref), f"git archive failed: {message}")
    written: set[PurePosixPath] = set()
    with tarfile.open(fileobj=io.BytesIO(proc.stdout)) as archive:
        for member in archive.getmembers():
            name = PurePosixPath(member.name)
            if not member.isfile() or name.parts[0] != top or ".." in name.parts:
                continue
            extracted = archive.extractfile(member)
            assert extracted is not None
            path = dest.joinpath(*name.parts)
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(extracted.read())
            written.add(name)
    return written


def side_of(spec: str, repo: Path, fallback_manifest: Path, tmp: Path) -> Side:
    """OLD/NEW of the command line: a schema dir, else a git ref whose ``schemas/`` is checked out into ``tmp``."""
    if Path(spec).is_dir():
        return side_of_dir(Path(spec), fallback_manifest)
    commit = resolve_ref(spec, repo)
    if commit is None:
        raise GeneratorError(Location(spec), "neither a schema dir nor a git ref")
    dest = tmp / commit
    if not checkout_schemas(commit, repo, dest):
        raise GeneratorError(Location(spec), "this git ref has no schemas/app-server")
    return side_of_dir(dest / "schemas" / "app-server", fallback_manifest, checkout_generator(commit, repo, dest))
