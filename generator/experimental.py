"""What the experimental API adds, marked in the IR.

codex dumps two schemas: the stable one and, with ``--experimental``, a
superset (more methods, definitions, fields and server requests) that a
client only gets after declaring the ``experimentalApi`` capability in
``initialize``. The generator builds everything from the superset and marks
what the stable dump lacks (:func:`mark_definitions` for definitions and
fields, :func:`envelope_methods` for methods and server requests), so the
docs say so and the runtime fence (``_requester``) knows from generated
tables which calls need ``AppServerConfig(experimental_api=True)``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace

from . import ir
from . import schema_nodes as nodes
from .load import SchemaDef


def mark_definitions(
    definitions: Sequence[ir.Definition], stable: Sequence[ir.Definition]
) -> tuple[ir.Definition, ...]:
    """``definitions`` (from the experimental dump) with what ``stable`` lacks marked experimental.

    A definition the stable dump does not have is experimental as a whole; of
    a model both have, the fields only the experimental one has.
    """
    stable_by_name = {d.name: d for d in stable}
    return tuple(_marked(d, stable_by_name.get(d.name)) for d in definitions)


def _marked(definition: ir.Definition, stable: ir.Definition | None) -> ir.Definition:
    if stable is None:
        return replace(definition, experimental=True)
    if not isinstance(definition, ir.Model) or not isinstance(stable, ir.Model):
        return definition
    known = {f.wire_name for f in stable.fields}
    fields = tuple(f if f.wire_name in known else replace(f, experimental=True) for f in definition.fields)
    return replace(definition, fields=fields)


def mark_fallbacks(api: ir.Api) -> ir.Api:
    """The fallback model of an experimental union (added by :mod:`generator.tolerant`) is experimental too."""
    marked = {d.name for d in api.definitions if d.experimental}
    definitions = tuple(
        replace(d, experimental=True) if isinstance(d, ir.Model) and d.fallback_for in marked else d
        for d in api.definitions
    )
    return replace(api, definitions=definitions)


def envelope_methods(definitions: Mapping[str, SchemaDef], union: str) -> frozenset[str]:
    """The JSON-RPC methods of an envelope union (``ClientRequest``, ``ServerRequest`` ...) of a dump."""
    sdef = definitions.get(union)
    variants = sdef.schema.get("oneOf", sdef.schema.get("anyOf")) if sdef is not None else None
    out: set[str] = set()
    for variant in variants if isinstance(variants, list) else []:
        method = nodes.object_at(variant, "properties").get("method") if isinstance(variant, dict) else None
        values = method.get("enum") if isinstance(method, dict) else None
        if isinstance(values, list) and len(values) == 1 and isinstance(values[0], str):
            out.add(values[0])
    return frozenset(out)


def is_experimental(stable_methods: frozenset[str] | None, rpc_method: str) -> bool:
    """Whether ``rpc_method`` is experimental, given the stable dump's methods of its union (None: no experimental dump)."""
    return stable_methods is not None and rpc_method not in stable_methods


def stable_methods(stable: Mapping[str, SchemaDef] | None, union: str) -> frozenset[str] | None:
    """The stable dump's methods of ``union``; None without an experimental dump (then nothing is experimental)."""
    return None if stable is None else envelope_methods(stable, union)


# ---------------------------------------------------------------- the fence's tables (generated/experimental.py)

NOTE = "Experimental: needs ``AppServerConfig(experimental_api=True)``."
"""What a docstring says of an experimental method (the runtime refuses it otherwise)."""
PARAM_NOTE = "(experimental: needs ``experimental_api=True``)"
"""How a parameter's doc line starts when the parameter is experimental."""
SERVER_REQUEST_NOTE = "Experimental: sent only to a client with ``AppServerConfig(experimental_api=True)``."
MODEL_NOTE = "Experimental: part of the experimental API (``AppServerConfig(experimental_api=True)``)."
"""What the docstring of an experimental model or field says (sent and received only with the opt-in)."""


def with_note(text: str | None, experimental: bool, note: str = NOTE) -> str | None:
    """``text`` with ``note`` as its last paragraph when ``experimental`` (docstrings, API.md)."""
    if not experimental:
        return text
    return f"{text.rstrip()}\n\n{note}" if text and text.strip() else note


def param_line(text: str, experimental: bool) -> str:
    """A parameter's one doc line, starting with :data:`PARAM_NOTE` when it is experimental."""
    return f"{PARAM_NOTE} {text}" if experimental else text


@dataclass(frozen=True)
class FenceTables:
    """What ``generated/experimental.py`` holds, as Python literals (sorted, so byte-identical runs)."""

    header: str
    methods: tuple[str, ...]  # experimental client requests
    # params-reachable model class -> ((attribute, wire name), ...) of its experimental fields
    fields: tuple[tuple[str, tuple[tuple[str, str], ...]], ...]
    models: tuple[str, ...]  # params-reachable classes experimental as a whole (a new union variant)
    # stable method -> its params model, for the params models in ``fields`` (the fence of raw ``request()`` params)
    params: tuple[tuple[str, str], ...]


def fence_tables(api: ir.Api, header: str) -> FenceTables:
    """The tables the requester checks a call against (see ``_requester``): only what a stable
    method's params can reach through stable fields (an experimental method is refused whole, an
    experimental field before what it holds), so the tables stay small."""
    defs = {d.name: d for d in api.definitions}
    reachable = _reachable(
        (m.params_model for m in api.methods if not m.experimental and m.params_model is not None), defs
    )
    fields = []
    models = []
    for name in sorted(reachable):
        definition = defs[name]
        if definition.experimental and isinstance(definition, ir.Model):
            models.append(name)
        elif isinstance(definition, ir.Model):
            marked = tuple(sorted((f.py_name, f.wire_name) for f in definition.fields if f.experimental))
            if marked:
                fields.append((name, marked))
    methods = tuple(sorted(m.rpc_method for m in api.methods if m.experimental))
    with_fields = {name for name, _ in fields}
    params = tuple(
        sorted(
            (m.rpc_method, m.params_model)
            for m in api.methods
            if not m.experimental and m.params_model is not None and m.params_model in with_fields
        )
    )
    return FenceTables(header, methods, tuple(fields), tuple(models), params)


def _reachable(roots: Iterable[str], defs: Mapping[str, ir.Definition]) -> frozenset[str]:
    """Definitions reachable from ``roots`` through stable fields (and aliases, unions, lists ...)."""
    seen: set[str] = set()
    stack = list(roots)
    while stack:
        name = stack.pop()
        if name in seen or name not in defs:
            continue
        seen.add(name)
        definition = defs[name]
        if isinstance(definition, ir.Model):
            for f in definition.fields:
                if not f.experimental:
                    stack.extend(ir.referenced_names(f.type))
        else:
            stack.extend(ir.definition_references(definition))
    return frozenset(seen)
