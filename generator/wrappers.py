"""High-level wrapper methods (Codex, Thread, TurnHandle) from the manifest.

Each ``[[wrappers]]`` entry names the class, the JSON-RPC method, params bound
from ``self``, params taken positionally, fixed params, keywords left out
(with a reason) and per-param overrides. Every other param of the method's
params model becomes a keyword-only argument defaulting to None, typed with
the generated models, so a protocol bump adds keywords with no manifest edit.
An entry pointing at a method or param the schema no longer has is an error.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from . import ir
from .errors import GeneratorError, Location
from .load import Inputs
from .pyexpr import pyrepr

KINDS_RETURNING_THREAD = frozenset({"thread", "resume_thread"})


def _entry_params(entry: Mapping[str, object], method: ir.Method, loc: Location) -> dict[str, ir.Parameter]:
    by_wire = {p.wire_name: p for p in method.parameters}
    for key in ("bind", "fixed", "exclude", "params"):
        table = entry.get(key, {})
        assert isinstance(table, dict)
        for wire in sorted(table):
            if wire not in by_wire:
                raise GeneratorError(
                    loc.child(key, wire),
                    f"wrapper {entry['owner']}.{entry['name']}: {method.rpc_method!r} has no param {wire!r}",
                    "the schema no longer has it: update or remove this manifest entry",
                )
    positional = entry.get("positional", [])
    assert isinstance(positional, list)
    for index, wire in enumerate(positional):
        if wire not in by_wire:
            raise GeneratorError(
                loc.child("positional", index),
                f"wrapper {entry['owner']}.{entry['name']}: {method.rpc_method!r} has no param {wire!r}",
                "the schema no longer has it: update or remove this manifest entry",
            )
    return by_wire


def build_wrapper(entry: Mapping[str, object], methods: Mapping[str, ir.Method], loc: Location) -> ir.WrapperMethod:
    rpc = str(entry["method"])
    if rpc not in methods:
        raise GeneratorError(
            loc.child("method"),
            f"wrapper {entry['owner']}.{entry['name']} calls {rpc!r}, which the schema does not have",
            "the method was removed or renamed upstream: update or remove this manifest entry",
        )
    method = methods[rpc]
    by_wire = _entry_params(entry, method, loc)
    bind = dict(entry.get("bind", {}))  # type: ignore[call-overload]
    fixed = dict(entry.get("fixed", {}))  # type: ignore[call-overload]
    exclude = dict(entry.get("exclude", {}))  # type: ignore[call-overload]
    positional_wire = list(entry.get("positional", []))  # type: ignore[call-overload]
    taken = set(bind) | set(fixed) | set(exclude) | set(positional_wire)
    positional = tuple(by_wire[w] for w in positional_wire)
    keywords = tuple(
        sorted(
            (p for p in method.parameters if p.wire_name not in taken),
            key=lambda p: (not p.required, p.py_name),
        )
    )
    return ir.WrapperMethod(
        owner=str(entry["owner"]),
        py_name=str(entry["name"]),
        rpc_method=rpc,
        kind=str(entry.get("kind", "plain")),
        bound=tuple(sorted((by_wire[w].field_name, str(attr)) for w, attr in bind.items())),
        positional=positional,
        keywords=keywords,
        response_model=method.response_model,
        description=str(entry["doc"]) if "doc" in entry else None,
        fixed=tuple(sorted((by_wire[w].field_name, pyrepr(v)) for w, v in fixed.items())),
        excluded=tuple(sorted((by_wire[w].field_name, str(r)) for w, r in exclude.items())),
        overrides=tuple(
            sorted((by_wire[w].field_name, tuple(sorted(o.items()))) for w, o in dict(entry.get("params", {})).items())  # type: ignore[call-overload]
        ),
    )


def _check_kind(w: ir.WrapperMethod, defs: Mapping[str, ir.Definition], loc: Location) -> None:
    """Kinds that read the response need the fields they read; live_turn needs a turn to wait for."""
    if w.kind == "live_turn" and w.owner != "TurnHandle":
        raise GeneratorError(
            loc.child("kind"), f"wrapper {w.owner}.{w.py_name}: kind 'live_turn' is for TurnHandle only"
        )
    needs = {"thread": "thread", "resume_thread": "thread", "turn": "turn", "run": "turn"}.get(w.kind)
    if needs is None:
        return
    response = defs.get(w.response_model)
    fields = {f.wire_name for f in response.fields} if isinstance(response, ir.Model) else set()
    if needs not in fields:
        raise GeneratorError(
            loc.child("kind"),
            f"wrapper {w.owner}.{w.py_name} of kind {w.kind!r} needs a {needs!r} field in {w.response_model}",
        )


def build_wrappers(
    inputs: Inputs, defs: Mapping[str, ir.Definition], methods: Sequence[ir.Method]
) -> tuple[ir.WrapperMethod, ...]:
    by_rpc = {m.rpc_method: m for m in methods}
    entries = inputs.manifest.get("wrappers", [])
    assert isinstance(entries, list)
    out = []
    seen: set[tuple[str, str]] = set()
    for index, entry in enumerate(entries):
        loc = Location(inputs.manifest_file, f"/wrappers/{index}")
        key = (str(entry["owner"]), str(entry["name"]))
        if key in seen:
            raise GeneratorError(loc.child("name"), f"wrapper {key[0]}.{key[1]} is defined twice")
        seen.add(key)
        wrapper = build_wrapper(entry, by_rpc, loc)
        _check_kind(wrapper, defs, loc)
        out.append(wrapper)
    return tuple(sorted(out, key=lambda w: (w.owner, w.py_name)))
