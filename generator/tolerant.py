"""Tolerant reading: what the server sends may come from an older or a newer codex.

Applied to the IR after the protocol is known (it needs the directions of
:mod:`generator.direction`), so that normalize stays about JSON Schema:

* in a received model, a field the schema marks ``required`` but that allows
  null defaults to None: older servers leave such fields out;
* a received tagged union whose tags are strings gets a fallback variant
  (``UnknownThreadItem``) that keeps the tag and the raw object, for tags a
  newer server adds. The union becomes *open* (``ir.UnionOf.tags``).

Sent-only definitions are left exactly as they are: what we write stays strict.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace

from . import direction, ir, naming
from .errors import GeneratorError, Location


def make_tolerant(api: ir.Api, type_overrides: Mapping[str, str], file: str) -> ir.Api:
    directions = direction.directions(api)
    by_name = {d.name: d for d in api.definitions}
    taken = set(by_name)
    out: list[ir.Definition] = []
    for definition in api.definitions:
        if not directions.is_received(definition.name):
            out.append(definition)
        elif isinstance(definition, ir.Model):
            out.append(_absent_nullable_is_none(definition))
        elif isinstance(definition, ir.Alias):
            opened = _open_union(definition, by_name, type_overrides, taken, file)
            out.extend(opened)
            taken.update(d.name for d in opened)
        else:
            out.append(definition)
    return replace(api, definitions=tuple(out))


def _absent_nullable_is_none(model: ir.Model) -> ir.Model:
    fields = tuple(
        replace(f, required=False) if f.required and ir.is_nullable(f.type) and not f.has_default else f
        for f in model.fields
    )
    return model if fields == model.fields else replace(model, fields=fields)


def _open_union(
    alias: ir.Alias,
    by_name: Mapping[str, ir.Definition],
    type_overrides: Mapping[str, str],
    taken: set[str],
    file: str,
) -> list[ir.Definition]:
    """``[alias]`` unchanged, or the alias of an open union followed by its fallback model."""
    union = ir.strip_nullable(alias.type)
    if not isinstance(union, ir.UnionOf) or union.discriminator is None or union.tags:
        return [alias]
    tagged = [_tag_of(m, union.discriminator, by_name) for m in union.members]
    if any(t is None for t in tagged):
        return [alias]  # a member that is not a model with a string tag: nothing safe to fall back to
    wire_name = tagged[0][1]  # type: ignore[index]
    tags = tuple(t[0] for t in tagged)  # type: ignore[index]
    key = naming.fallback_override_key(alias.pointer)
    name = type_overrides.get(key) or naming.fallback_class_name(alias.name, taken)
    if name is None or name in taken:
        raise GeneratorError(
            Location(file, alias.pointer),
            f"no free class name for the fallback variant of {alias.name} ({name or 'Unknown/Unrecognized'})",
            f'add `"{key}" = "NewName"` under [names.types] in schemas/methods.toml',
        )
    fallback = ir.Model(
        name=name,
        fields=(ir.Field(union.discriminator, wire_name, ir.Builtin("str"), required=True),),
        description=(
            f"A {alias.name} whose `{wire_name}` this SDK does not know (sent by a newer codex).\n\n"
            f"Keeps the tag and every other key of the object as received; dumps back to exactly it."
        ),
        pointer=key,
        fallback_for=alias.name,
    )
    opened = replace(union, members=(*union.members, ir.Named(name)), tags=tags, tag_wire_name=wire_name)
    typ: ir.TypeExpr = ir.Nullable(opened) if isinstance(alias.type, ir.Nullable) else opened
    return [replace(alias, type=typ), fallback]


def _tag_of(member: ir.TypeExpr, attribute: str, by_name: Mapping[str, ir.Definition]) -> tuple[str, str] | None:
    """(tag value, tag wire name) of a union member that is a model with a one-string Literal tag."""
    if not isinstance(member, ir.Named):
        return None
    model = by_name.get(member.name)
    if not isinstance(model, ir.Model):
        return None
    for f in model.fields:
        if f.py_name == attribute and isinstance(f.type, ir.LiteralOf) and len(f.type.values) == 1:
            value = f.type.values[0]
            return (value, f.wire_name) if isinstance(value, str) else None
    return None
