"""The rules of the API diff: change kinds, roles, and how two types relate.

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
became experimental    break  break   only ``experimental_api`` clients may use it
became stable          ok     ok      every client may use it now
=====================  =====  ======  ============================================

Experimental changes (of what only the experimental API has, on both sides:
a method, keyword, definition, field, notification or server request marked
experimental, see :mod:`generator.experimental`) are reported in their own
section and never counted as breaking: that API may change in any release,
and a user opts into it knowing so. What moves between the stable and the
experimental API is not experimental: ``became experimental`` breaks (a
client without ``experimental_api`` can no longer use it), ``became stable``
does not.

Type aliases are expanded before types are compared, so renaming an alias
of ``str`` to another alias of ``str`` is no change to the values a user
passes or reads. "Widened" is only claimed where it is simple to prove: union/nullable
members added; an int range that contains the old one (``UInt32`` ->
``Int64``); a constraint dropped (``Annotated[str, min_length]`` -> ``str``);
a literal -> its scalar type; ``list``/``dict`` of a widened item. Anything
else is "type changed".
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from .. import ir

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
    "became experimental": (True, True),
    "became stable": (False, False),
}


def is_breaking(kind: str, role: int) -> bool:
    """THE classification: breaking for any role the subject has."""
    for_input, for_output = RULES[kind]
    return bool((role & INPUT and for_input) or (role & OUTPUT and for_output))


# ---------------------------------------------------------------- type relations


def _int_range(t: ir.TypeExpr) -> tuple[float, float] | None:
    if t == ir.Builtin("int"):
        return (float("-inf"), float("inf"))
    if isinstance(t, ir.Builtin):
        for alias in ir.INT_ALIASES:
            if t.name == alias.name:
                return (alias.minimum, float("inf") if alias.maximum is None else alias.maximum)
    return None


def members(t: ir.TypeExpr) -> frozenset[ir.TypeExpr]:
    """A type as the set of its alternatives: unions and nullability flattened, one literal per value."""
    if isinstance(t, ir.Nullable):
        return members(t.inner) | {ir.NONE}
    if isinstance(t, ir.UnionOf):
        return frozenset(m for member in t.members for m in members(member))
    if isinstance(t, ir.LiteralOf) and len(t.values) != 1:
        return frozenset(ir.LiteralOf((v,)) for v in t.values)
    return frozenset({t})


def _within(a: ir.TypeExpr, b: ir.TypeExpr) -> bool:
    """Every value of ``a`` is a value of ``b`` (simple proofs only)."""
    if a == b or b == ir.JSON_VALUE:
        return True
    if isinstance(a, (ir.UnionOf, ir.Nullable)) or (isinstance(a, ir.LiteralOf) and len(a.values) != 1):
        return all(any(_within(m, n) for n in members(b)) for m in members(a))
    if isinstance(b, (ir.UnionOf, ir.Nullable)):
        return any(_within(a, m) for m in members(b))
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
    old_members, new_members = members(old), members(new)
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
