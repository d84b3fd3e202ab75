"""The comparison of two generations' APIs: one Change per difference, classified by the rules."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from functools import cached_property
from typing import Protocol

from .. import ir
from ..pyexpr import annotation
from ..wrappers import returns as wrapper_returns
from .report import Change, Report, change
from .rules import BOTH, INPUT, expand, members, relation, roles


class _Marked(Protocol):
    @property
    def experimental(self) -> bool: ...


def experimental_on_both(old: _Marked | None, new: _Marked | None) -> bool:
    """Whether a change of this subject is experimental: experimental (or absent) on both sides."""
    return (old is None or old.experimental) and (new is None or new.experimental)


def _stability(area: str, subject: str, old: _Marked, new: _Marked, what: str) -> list[Change]:
    """A subject that moved between the stable and the experimental API (the move itself is not experimental)."""
    if old.experimental == new.experimental:
        return []
    kind = "became experimental" if new.experimental else "became stable"
    return [change(area, kind, subject, f"{what} {kind}")]


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

    def types(
        self, area: str, subject: str, old: ir.TypeExpr, new: ir.TypeExpr, role: int, experimental: bool = False
    ) -> list[Change]:
        """Changes of one type: tagged-union variants and literal values one by one, the rest as one."""
        x = experimental
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
                    gone = x or _is_experimental(m, self.old_defs)
                    out.append(change(area, "variant removed", subject, f"variant `{_short(m)}` removed", role, gone))
                for m in sorted(set(new.members) - set(old.members), key=repr):
                    came = x or _is_experimental(m, self.new_defs)
                    out.append(change(area, "variant added", subject, f"variant `{_short(m)}` added", role, came))
                return out
        old_members, new_members = members(old), members(new)
        old_values, new_values = _literal_values(old_members), _literal_values(new_members)
        if old_values and new_values:
            for value in sorted(old_values - new_values, key=repr):
                out.append(change(area, "value removed", subject, f"value {value!r} removed", role, x))
            for value in sorted(new_values - old_values, key=repr):
                out.append(change(area, "value added", subject, f"value {value!r} added", role, x))
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
        out.append(change(area, kind, subject, _type_detail(kind, old, new, shown_old, shown_new), role, x))
        return out

    def parameters(
        self,
        area: str,
        owner: str,
        old: Sequence[ir.Parameter],
        new: Sequence[ir.Parameter],
        experimental: bool = False,
    ) -> list[Change]:
        """Keyword arguments: always the input role."""
        return self._named(area, lambda name: f"{owner}({name}=)", "keyword", old, new, INPUT, experimental)

    def _named(
        self,
        area: str,
        subject: Callable[[str], str],
        what: str,
        old: Sequence[ir.Field | ir.Parameter],
        new: Sequence[ir.Field | ir.Parameter],
        role: int,
        experimental: bool = False,
    ) -> list[Change]:
        """Fields of a model or keywords of a method, matched by name: removed, added, changed.

        ``experimental``: the owner is experimental, and so is every change of its members.
        """
        old_by, new_by = {x.py_name: x for x in old}, {x.py_name: x for x in new}
        out: list[Change] = []
        for name in sorted(old_by.keys() - new_by.keys()):
            x = experimental or old_by[name].experimental
            out.append(change(area, "removed", subject(name), f"{what} removed", role, x))
        for name in sorted(new_by.keys() - old_by.keys()):
            added = new_by[name]
            kind = "required added" if added.required else "optional added"
            detail = f"{what} added: `{_short(added.type)}`"
            out.append(change(area, kind, subject(name), detail, role, experimental or added.experimental))
        for name in sorted(old_by.keys() & new_by.keys()):
            o, n = old_by[name], new_by[name]
            if not experimental:
                out.extend(_stability(area, subject(name), o, n, what))
            x = experimental or experimental_on_both(o, n)
            out.extend(self._slot(area, subject(name), what, o.required, n.required, o.type, n.type, role, x))
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
        experimental: bool = False,
    ) -> list[Change]:
        """A keyword or field present on both sides: requiredness, then type.

        When requiredness changes, a nullability change that goes with it is
        part of the same change, not a second one.
        """
        out: list[Change] = []
        if old_required != new_required:
            kind = "became required" if new_required else "became optional"
            out.append(change(area, kind, subject, f"{what} {kind}", role, experimental))
            old_type, new_type = ir.strip_nullable(old_type), ir.strip_nullable(new_type)
        return out + self.types(area, subject, old_type, new_type, role, experimental)

    # ------------------------------------------------------------ sections

    def methods(self) -> list[Change]:
        area = "client methods"
        old_by, new_by = {m.py_name: m for m in self.old.methods}, {m.py_name: m for m in self.new.methods}
        out: list[Change] = []
        for name in sorted(old_by.keys() - new_by.keys()):
            old = old_by[name]
            out.append(
                change(
                    area, "removed", f"AppServerClient.{name}", f"`{old.rpc_method}` removed", BOTH, old.experimental
                )
            )
        for name in sorted(new_by.keys() - old_by.keys()):
            new = new_by[name]
            out.append(
                change(area, "added", f"AppServerClient.{name}", f"`{new.rpc_method}` added", BOTH, new.experimental)
            )
        for name in sorted(old_by.keys() & new_by.keys()):
            o, n = old_by[name], new_by[name]
            owner = f"AppServerClient.{name}"
            x = experimental_on_both(o, n)
            out.extend(_stability(area, owner, o, n, f"`{n.rpc_method}`"))
            if o.response_model != n.response_model:
                detail = f"returns `{n.response_model}`, was `{o.response_model}`"
                out.append(change(area, "return changed", owner, detail, BOTH, x))
            out.extend(self.parameters(area, owner, o.parameters, n.parameters, x))
        return out

    def wrappers(self) -> list[Change]:
        area = "wrappers"
        old_by = {(w.owner, w.py_name): w for w in self.old.wrappers}
        new_by = {(w.owner, w.py_name): w for w in self.new.wrappers}
        out: list[Change] = []
        old_methods = {m.rpc_method: m for m in self.old.methods}
        new_methods = {m.rpc_method: m for m in self.new.methods}
        for key in sorted(old_by.keys() - new_by.keys()):
            detail = f"wrapper of `{old_by[key].rpc_method}` removed (and its async twin)"
            x = experimental_on_both(old_methods.get(old_by[key].rpc_method), None)
            out.append(change(area, "removed", ".".join(key), detail, BOTH, x))
        for key in sorted(new_by.keys() - old_by.keys()):
            detail = f"wrapper of `{new_by[key].rpc_method}` added (and its async twin)"
            x = experimental_on_both(None, new_methods.get(new_by[key].rpc_method))
            out.append(change(area, "added", ".".join(key), detail, BOTH, x))
        for key in sorted(old_by.keys() & new_by.keys()):
            o, n = old_by[key], new_by[key]
            owner = ".".join(key)
            x = experimental_on_both(old_methods.get(o.rpc_method), new_methods.get(n.rpc_method))
            if wrapper_returns(o) != wrapper_returns(n):
                detail = f"returns `{wrapper_returns(n)}`, was `{wrapper_returns(o)}`"
                out.append(change(area, "return changed", owner, detail, BOTH, x))
            if _positional(o) != _positional(n):
                detail = f"positional `({', '.join(_positional(n))})`, was `({', '.join(_positional(o))})`"
                out.append(change(area, "positional changed", owner, detail, BOTH, x))
            out.extend(self.parameters(area, owner, _wrapper_keywords(o), _wrapper_keywords(n), x))
        return out

    def notifications(self) -> list[Change]:
        area = "notifications"
        old_by = {n.rpc_method: n for n in self.old.notifications}
        new_by = {n.rpc_method: n for n in self.new.notifications}
        out: list[Change] = []
        for rpc in sorted(old_by.keys() - new_by.keys()):
            old = old_by[rpc]
            out.append(change(area, "removed", old.class_name, f"notification `{rpc}` removed", BOTH, old.experimental))
        for rpc in sorted(new_by.keys() - old_by.keys()):
            new = new_by[rpc]
            out.append(change(area, "added", new.class_name, f"notification `{rpc}` added", BOTH, new.experimental))
        for rpc in sorted(old_by.keys() & new_by.keys()):
            o, n = old_by[rpc], new_by[rpc]
            out.extend(_stability(area, n.class_name, o, n, f"notification `{rpc}`"))
            if (o.class_name, o.params_model) != (n.class_name, n.params_model):
                detail = (
                    f"`{rpc}`: event `{n.class_name}` of `{n.params_model}`, was `{o.class_name}` of `{o.params_model}`"
                )
                out.append(change(area, "kind changed", n.class_name, detail, BOTH, experimental_on_both(o, n)))
        return out

    def server_requests(self) -> list[Change]:
        area = "server requests"
        old_by = {r.rpc_method: r for r in self.old.server_requests}
        new_by = {r.rpc_method: r for r in self.new.server_requests}
        out: list[Change] = []
        for rpc in sorted(old_by.keys() - new_by.keys()):
            old = old_by[rpc]
            subject = f"ServerRequestHandler.{old.handler_name}"
            out.append(change(area, "removed", subject, f"server request `{rpc}` removed", BOTH, old.experimental))
        for rpc in sorted(new_by.keys() - old_by.keys()):
            new = new_by[rpc]
            subject = f"ServerRequestHandler.{new.handler_name}"
            out.append(change(area, "added", subject, f"server request `{rpc}` added", BOTH, new.experimental))
        for rpc in sorted(old_by.keys() & new_by.keys()):
            o, n = old_by[rpc], new_by[rpc]
            subject = f"ServerRequestHandler.{n.handler_name}"
            x = experimental_on_both(o, n)
            out.extend(_stability(area, subject, o, n, f"server request `{rpc}`"))
            if o.handler_name != n.handler_name:
                detail = f"`{rpc}` handled by `{n.handler_name}`, was `{o.handler_name}`"
                out.append(change(area, "kind changed", subject, detail, BOTH, x))
            if (o.params_model, o.response_model) != (n.params_model, n.response_model):
                detail = f"`({n.params_model}) -> {n.response_model}`, was `({o.params_model}) -> {o.response_model}`"
                out.append(change(area, "kind changed", subject, detail, BOTH, x))
        return out

    def fields(self, old: ir.Model, new: ir.Model, role: int, experimental: bool = False) -> list[Change]:
        return self._named(
            "definitions", lambda name: f"{new.name}.{name}", "field", old.fields, new.fields, role, experimental
        )

    def definitions(self) -> list[Change]:
        area = "definitions"
        old_by, new_by = self.old_defs, self.new_defs
        out: list[Change] = []
        for name in sorted(old_by.keys() - new_by.keys()):
            old = old_by[name]
            out.append(change(area, "removed", name, f"{_kind_name(old)} removed", BOTH, old.experimental))
        for name in sorted(new_by.keys() - old_by.keys()):
            new = new_by[name]
            out.append(change(area, "added", name, f"{_kind_name(new)} added", BOTH, new.experimental))
        for name in sorted(old_by.keys() & new_by.keys()):
            o, n = old_by[name], new_by[name]
            role = self.roles.get(name) or BOTH
            x = experimental_on_both(o, n)
            out.extend(_stability(area, name, o, n, _kind_name(n)))
            if type(o) is not type(n):
                out.append(change(area, "kind changed", name, f"{_kind_name(o)} became {_kind_name(n)}", BOTH, x))
            elif isinstance(o, ir.Model) and isinstance(n, ir.Model):
                out.extend(self.fields(o, n, role, x))
            elif isinstance(o, ir.Enum) and isinstance(n, ir.Enum):
                old_values = {m.value: m.py_name for m in o.members}
                new_values = {m.value: m.py_name for m in n.members}
                for value in sorted(old_values.keys() - new_values.keys()):
                    subject = f"{name}.{old_values[value]}"
                    out.append(change(area, "member removed", subject, f"enum value {value!r} removed", role, x))
                for value in sorted(new_values.keys() - old_values.keys()):
                    subject = f"{name}.{new_values[value]}"
                    out.append(change(area, "value added", subject, f"enum value {value!r} added", role, x))
                for value in sorted(old_values.keys() & new_values.keys()):
                    if old_values[value] != new_values[value]:
                        subject = f"{name}.{new_values[value]}"
                        detail = f"enum value {value!r} is `{name}.{new_values[value]}`, was `{old_values[value]}`"
                        out.append(change(area, "member renamed", subject, detail, role, x))
            elif isinstance(o, ir.Alias) and isinstance(n, ir.Alias):
                out.extend(self.types(area, name, o.type, n.type, role, x))
        return out


def _is_experimental(t: ir.TypeExpr, defs: Mapping[str, ir.Definition]) -> bool:
    """A union member that is an experimental definition (a variant only the experimental API has)."""
    target = defs.get(t.name) if isinstance(t, ir.Named) else None
    return target is not None and target.experimental


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
            p = replace(p, type=ir.Builtin(str(override["type"])), required=False, description=None)
        if "default" in override and p.required:
            p = replace(p, required=False)
        out.append(p)
    return tuple(out)


def _positional(w: ir.WrapperMethod) -> tuple[str, ...]:
    return tuple(f"{p.py_name}: {w.override(p.field_name).get('type') or annotation(p.type)}" for p in w.positional)


def diff_apis(old: ir.Api, new: ir.Api) -> Report:
    return Differ(old, new).report()


# ---------------------------------------------------------------- the details a change shows


def _short(t: ir.TypeExpr, limit: int = 100) -> str:
    text = annotation(t)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _names(types: Iterable[ir.TypeExpr]) -> str:
    return ", ".join(f"`{_short(t, 60)}`" for t in sorted(types, key=repr))


def _type_detail(kind: str, old: ir.TypeExpr, new: ir.TypeExpr, shown_old: ir.TypeExpr, shown_new: ir.TypeExpr) -> str:
    """``old -> new``; for a widening/narrowing of a long union only the members that differ."""
    added, dropped = members(new) - members(old), members(old) - members(new)
    short = len(annotation(shown_old)) <= 100 and len(annotation(shown_new)) <= 100
    text = f"`{_text(shown_old)}` -> `{_text(shown_new)}`" if short else ""
    if kind == "type widened" and added:
        return (text + " " if text else "") + f"(now also {_names(added)})"
    if kind == "type narrowed" and dropped:
        return (text + " " if text else "") + f"(no longer {_names(dropped)})"
    return text or f"`{_short(shown_old)}` -> `{_short(shown_new)}`"


def _text(t: ir.TypeExpr) -> str:
    return "(nothing)" if isinstance(t, ir.UnionOf) and not t.members else annotation(t)
