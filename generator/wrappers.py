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
from dataclasses import dataclass

from . import ir
from .errors import GeneratorError
from .load import Inputs, WrapperEntry


@dataclass(frozen=True)
class WrapperKind:
    """How a wrapper treats its response: what it reads and what it returns."""

    name: str
    reads: str | None = None  # the response field it reads (the schema must have it)
    returns: str | None = None  # the runtime class it returns; None: the response model
    has_async_twin: bool = True  # ``returns`` is Thread -> AsyncThread (RunResult is one class)
    owner: str | None = None  # the only class it is valid on, if it is restricted


# The one table of wrapper kinds (methods.schema.json lists the same names).
KINDS: Mapping[str, WrapperKind] = {
    kind.name: kind
    for kind in (
        WrapperKind("plain"),
        # Sent once the server reported the turn started (codex refuses turn/interrupt and turn/steer before).
        WrapperKind("live_turn", owner="TurnHandle"),
        WrapperKind("thread", reads="thread", returns="Thread"),
        # The server does not load the thread it returns: the SDK resumes it.
        WrapperKind("resume_thread", reads="thread", returns="Thread"),
        WrapperKind("turn", reads="turn", returns="TurnHandle"),
        WrapperKind("run", reads="turn", returns="RunResult", has_async_twin=False),
    )
}


def kind_of(w: ir.WrapperMethod) -> WrapperKind:
    return KINDS[w.kind]


def returns(w: ir.WrapperMethod) -> str:
    """What the wrapper returns, as the user sees it (blocking flavour): a runtime class or the response model."""
    return kind_of(w).returns or w.response_model


def _check_params(entry: WrapperEntry, method: ir.Method) -> dict[str, ir.Parameter]:
    by_wire = {p.wire_name: p for p in method.parameters}
    named: list[tuple[tuple[str | int, ...], str]] = [
        *(
            ((key, wire), wire)
            for key in ("bind", "fixed", "exclude", "params")
            for wire in sorted(getattr(entry, key))
        ),
        *((("positional", index), wire) for index, wire in enumerate(entry.positional)),
    ]
    for tokens, wire in named:
        if wire not in by_wire:
            raise GeneratorError(
                entry.location.child(*tokens),
                f"wrapper {entry.owner}.{entry.name}: {method.rpc_method!r} has no param {wire!r}",
                "the schema no longer has it: update or remove this manifest entry",
            )
    return by_wire


def build_wrapper(entry: WrapperEntry, methods: Mapping[str, ir.Method]) -> ir.WrapperMethod:
    if entry.method not in methods:
        raise GeneratorError(
            entry.location.child("method"),
            f"wrapper {entry.owner}.{entry.name} calls {entry.method!r}, which the schema does not have",
            "the method was removed or renamed upstream: update or remove this manifest entry",
        )
    method = methods[entry.method]
    by_wire = _check_params(entry, method)
    taken = set(entry.bind) | set(entry.fixed) | set(entry.exclude) | set(entry.positional)
    keywords = tuple(
        sorted(
            (p for p in method.parameters if p.wire_name not in taken),
            key=lambda p: (not p.required, p.py_name),
        )
    )
    return ir.WrapperMethod(
        owner=entry.owner,
        py_name=entry.name,
        rpc_method=entry.method,
        kind=entry.kind,
        bound=tuple(sorted((by_wire[w].field_name, attr) for w, attr in entry.bind.items())),
        positional=tuple(by_wire[w] for w in entry.positional),
        keywords=keywords,
        response_model=method.response_model,
        description=entry.doc,
        fixed=tuple(sorted((by_wire[w].field_name, value) for w, value in entry.fixed.items())),
        excluded=tuple(sorted((by_wire[w].field_name, reason) for w, reason in entry.exclude.items())),
        overrides=tuple(sorted((by_wire[w].field_name, tuple(sorted(o.items()))) for w, o in entry.params.items())),
    )


def _check_kind(w: ir.WrapperMethod, defs: Mapping[str, ir.Definition], entry: WrapperEntry) -> None:
    """Kinds that read the response need the fields they read; restricted kinds their class."""
    kind = KINDS.get(w.kind)
    if kind is None:
        raise GeneratorError(entry.location.child("kind"), f"wrapper {w.owner}.{w.py_name}: unknown kind {w.kind!r}")
    if kind.owner is not None and w.owner != kind.owner:
        raise GeneratorError(
            entry.location.child("kind"),
            f"wrapper {w.owner}.{w.py_name}: kind {w.kind!r} is for {kind.owner} only",
        )
    if kind.reads is None:
        return
    response = defs.get(w.response_model)
    fields = {f.wire_name for f in response.fields} if isinstance(response, ir.Model) else set()
    if kind.reads not in fields:
        raise GeneratorError(
            entry.location.child("kind"),
            f"wrapper {w.owner}.{w.py_name} of kind {w.kind!r} needs a {kind.reads!r} field in {w.response_model}",
        )


def build_wrappers(
    inputs: Inputs, defs: Mapping[str, ir.Definition], methods: Sequence[ir.Method]
) -> tuple[ir.WrapperMethod, ...]:
    by_rpc = {m.rpc_method: m for m in methods}
    out = []
    seen: set[tuple[str, str]] = set()
    for entry in inputs.manifest.wrappers:
        key = (entry.owner, entry.name)
        if key in seen:
            raise GeneratorError(entry.location.child("name"), f"wrapper {key[0]}.{key[1]} is defined twice")
        seen.add(key)
        wrapper = build_wrapper(entry, by_rpc)
        _check_kind(wrapper, defs, entry)
        out.append(wrapper)
    return tuple(sorted(out, key=lambda w: (w.owner, w.py_name)))
