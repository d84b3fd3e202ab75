"""High-level wrapper methods (Codex, Thread, TurnHandle) from the manifest.

Each ``[[wrappers]]`` entry names the class, the JSON-RPC method, params bound
from ``self``, params taken positionally, fixed params, keywords left out
(with a reason) and per-param overrides. Every other param of the method's
params model becomes a keyword-only argument defaulting to None, typed with
the generated models, so a protocol bump adds keywords with no manifest edit.
Where the params are a tagged union (log in by API key OR by ChatGPT ...),
an entry takes one ``variant``: its fields are the keywords, its tag is sent
as it is, and the wrapper returns the response variant of the same tag.
An entry pointing at a method or param the schema no longer has is an error.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from . import ir, naming
from .errors import GeneratorError
from .load import Inputs, WrapperEntry
from .params import ParamDocs, paged_item, parameters, params_variants, union_variants
from .pyexpr import annotation


@dataclass(frozen=True)
class WrapperKind:
    """How a wrapper treats its response: what it reads and what it returns."""

    name: str
    reads: str | None = None  # the response field it reads (the schema must have it)
    # The runtime class it returns (None: the response model); "{response}" stands for the
    # (variant) response model, "{item}" for the item of a paged list.
    returns: str | None = None
    has_async_twin: bool = True  # ``returns`` is Thread -> AsyncThread (RunResult is one class)
    owner: str | None = None  # the only class it is valid on, if it is restricted
    paged: bool = False  # the method must page by cursor; the wrapper iterates over every page
    completion: str | None = None  # the notification that completes what the call started
    handle_id: str | None = None  # the field of the response (and completion) naming what it started
    # Takes ``output_type`` (a type its final answer is parsed as, ``ParsedT``): the turn kinds.
    parses_output: bool = False


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
        WrapperKind("turn", reads="turn", returns="TurnHandle[ParsedT]", parses_output=True),
        WrapperKind("run", reads="turn", returns="RunResult[ParsedT]", has_async_twin=False, parses_output=True),
        WrapperKind("pages", returns="Iterator[{item}]", paged=True),
        # A login answers at once (an API key) or later, once the user signed in (ChatGPT): a handle waits for it.
        WrapperKind(
            "login",
            returns="LoginHandle[{response}]",
            owner="Codex",
            completion="account/login/completed",
            handle_id="loginId",
        ),
    )
}


def kind_of(w: ir.WrapperMethod) -> WrapperKind:
    return KINDS[w.kind]


def returns(w: ir.WrapperMethod) -> str:
    """What the wrapper returns, as the user sees it (blocking flavour): a runtime class or the response model."""
    template = kind_of(w).returns
    if template is None:
        return w.response_model
    item = annotation(w.item) if w.item is not None else ""
    return template.format(response=w.response_model, item=item)


def _check_params(entry: WrapperEntry, available: Sequence[ir.Parameter]) -> dict[str, ir.Parameter]:
    by_wire = {p.wire_name: p for p in available}
    named: list[tuple[tuple[str | int, ...], str]] = [
        *(
            ((key, wire), wire)
            for key in ("bind", "fixed", "exclude", "params")
            for wire in sorted(getattr(entry, key))
        ),
        *((("positional", index), wire) for index, wire in enumerate(entry.positional)),
    ]
    for tokens, wire in named:
        if wire not in by_wire and not (tokens[0] == "params" and entry.params[wire].get("optional") is True):
            raise GeneratorError(
                entry.location.child(*tokens),
                f"wrapper {entry.owner}.{entry.name}: {entry.method!r} has no param {wire!r}",
                "the schema no longer has it: update or remove this manifest entry",
            )
    return by_wire


@dataclass(frozen=True)
class _Shape:
    """What a wrapper sends and gets back: its params (of a variant, when the params are a union)."""

    parameters: tuple[ir.Parameter, ...]
    response_model: str
    variant: tuple[str, str, str] | None = None


def _shape(entry: WrapperEntry, method: ir.Method, defs: Mapping[str, ir.Definition], docs: ParamDocs) -> _Shape:
    variants = params_variants(method.params_model, defs)
    union_params = method.params_model is not None and not isinstance(defs.get(method.params_model), ir.Model)
    if entry.variant is None:
        if union_params:
            tags = ", ".join(repr(tag) for tag in sorted(variants)) or "none: it is not a tagged union"
            raise GeneratorError(
                entry.location.child("method"),
                f"wrapper {entry.owner}.{entry.name}: the params of {entry.method!r} are a union ({method.params_model})",
                f"pick the variant the wrapper sends with `variant = ...` (tags: {tags})",
            )
        return _Shape(method.parameters, method.response_model)
    model = variants.get(entry.variant)
    if model is None:
        found = f"its tags are {sorted(variants)}" if variants else "its params are not a tagged union"
        raise GeneratorError(
            entry.location.child("variant"),
            f"wrapper {entry.owner}.{entry.name}: {entry.method!r} has no params variant {entry.variant!r} ({found})",
            "the schema dropped or renamed it: update or remove this manifest entry",
        )
    alias = defs[method.params_model or ""]
    assert isinstance(alias, ir.Alias) and isinstance(alias.type, ir.UnionOf) and alias.type.discriminator
    tag_field = alias.type.discriminator
    tag_wire = next(f.wire_name for f in model.fields if f.py_name == tag_field)
    return _Shape(
        parameters(model, defs, method.rpc_method, docs, skip={tag_wire}),
        _response_variant(entry, method, defs),
        (model.name, tag_field, entry.variant),
    )


def _response_variant(entry: WrapperEntry, method: ir.Method, defs: Mapping[str, ir.Definition]) -> str:
    """The response of a params variant: the response variant of the same tag, or the one response model."""
    response = defs.get(method.response_model)
    if isinstance(response, ir.Model):
        return response.name
    variants = union_variants(response.type, defs) if isinstance(response, ir.Alias) else {}
    model = variants.get(entry.variant or "")
    if model is None:
        raise GeneratorError(
            entry.location.child("variant"),
            f"wrapper {entry.owner}.{entry.name}: the response {method.response_model} of {entry.method!r} "
            f"has no variant {entry.variant!r} to return (its tags are {sorted(variants)})",
        )
    return model.name


def build_wrapper(
    entry: WrapperEntry, methods: Mapping[str, ir.Method], defs: Mapping[str, ir.Definition], docs: ParamDocs
) -> ir.WrapperMethod:
    if entry.method not in methods:
        raise GeneratorError(
            entry.location.child("method"),
            f"wrapper {entry.owner}.{entry.name} calls {entry.method!r}, which the schema does not have",
            "the method was removed or renamed upstream: update or remove this manifest entry",
        )
    method = methods[entry.method]
    shape = _shape(entry, method, defs, docs)
    kind = KINDS.get(entry.kind)
    item = paged_item(method, defs) if kind is not None and kind.paged else None
    by_wire = _check_params(entry, shape.parameters)
    renamed = tuple(_renamed(p, entry.params.get(p.wire_name, {})) for p in shape.parameters)
    taken = set(entry.bind) | set(entry.fixed) | set(entry.exclude) | set(entry.positional)
    if item is not None:
        taken.add(naming.PAGE_CURSOR_PARAM)  # the pager follows the cursor itself
    keywords = tuple(
        sorted(
            (p for p in renamed if p.wire_name not in taken),
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
        response_model=shape.response_model,
        description=entry.doc,
        fixed=tuple(sorted((by_wire[w].field_name, value) for w, value in entry.fixed.items())),
        excluded=tuple(sorted((by_wire[w].field_name, reason) for w, reason in entry.exclude.items())),
        overrides=tuple(
            sorted((by_wire[w].field_name, tuple(sorted(o.items()))) for w, o in entry.params.items() if w in by_wire)
        ),
        variant=shape.variant,
        item=item,
    )


def _renamed(p: ir.Parameter, override: Mapping[str, object]) -> ir.Parameter:
    """``p`` under the wrapper's own keyword name (``keyword`` override), if it has one."""
    keyword = override.get("keyword")
    return dataclasses.replace(p, py_name=keyword) if isinstance(keyword, str) else p


def _check_kind(
    w: ir.WrapperMethod,
    defs: Mapping[str, ir.Definition],
    notifications: Mapping[str, ir.Notification],
    entry: WrapperEntry,
) -> None:
    """Kinds that read the response need the fields they read; restricted kinds their class."""
    kind = KINDS.get(w.kind)
    if kind is None:
        raise GeneratorError(entry.location.child("kind"), f"wrapper {w.owner}.{w.py_name}: unknown kind {w.kind!r}")
    if kind.owner is not None and w.owner != kind.owner:
        raise GeneratorError(
            entry.location.child("kind"),
            f"wrapper {w.owner}.{w.py_name}: kind {w.kind!r} is for {kind.owner} only",
        )
    if kind.paged and w.item is None:
        raise GeneratorError(
            entry.location.child("kind"),
            f"wrapper {w.owner}.{w.py_name} of kind {w.kind!r}: {w.rpc_method!r} does not page by cursor "
            "(params `cursor`, response `data` and `nextCursor`)",
        )
    if kind.completion is not None:
        _check_completion(w, kind, defs, notifications, entry)
    if kind.reads is None:
        return
    response = defs.get(w.response_model)
    fields = {f.wire_name for f in response.fields} if isinstance(response, ir.Model) else set()
    if kind.reads not in fields:
        raise GeneratorError(
            entry.location.child("kind"),
            f"wrapper {w.owner}.{w.py_name} of kind {w.kind!r} needs a {kind.reads!r} field in {w.response_model}",
        )


def _check_completion(
    w: ir.WrapperMethod,
    kind: WrapperKind,
    defs: Mapping[str, ir.Definition],
    notifications: Mapping[str, ir.Notification],
    entry: WrapperEntry,
) -> None:
    """The notification that completes the call exists and names what it completes."""
    notification = notifications.get(kind.completion or "")
    params = defs.get(notification.params_model or "") if notification is not None else None
    if not isinstance(params, ir.Model) or kind.handle_id not in {f.wire_name for f in params.fields}:
        raise GeneratorError(
            entry.location.child("kind"),
            f"wrapper {w.owner}.{w.py_name} of kind {w.kind!r} waits for {kind.completion!r} "
            f"carrying {kind.handle_id!r}, which the schema does not have",
        )


def handle_id_field(w: ir.WrapperMethod, defs: Mapping[str, ir.Definition]) -> str | None:
    """The python name of the response field naming what the call started (``login_id``), if the response has it."""
    kind = kind_of(w)
    response = defs.get(w.response_model)
    if kind.handle_id is None or not isinstance(response, ir.Model):
        return None
    return next((f.py_name for f in response.fields if f.wire_name == kind.handle_id), None)


def build_wrappers(
    inputs: Inputs,
    defs: Mapping[str, ir.Definition],
    methods: Sequence[ir.Method],
    notifications: Sequence[ir.Notification] = (),
) -> tuple[ir.WrapperMethod, ...]:
    by_rpc = {m.rpc_method: m for m in methods}
    by_notification = {n.rpc_method: n for n in notifications}
    docs = ParamDocs(inputs.manifest.param_docs)
    out = []
    seen: set[tuple[str, str]] = set()
    for entry in inputs.manifest.wrappers:
        key = (entry.owner, entry.name)
        if key in seen:
            raise GeneratorError(entry.location.child("name"), f"wrapper {key[0]}.{key[1]} is defined twice")
        seen.add(key)
        if entry.optional and entry.method not in by_rpc:
            continue  # a method this release does not have yet: no wrapper, rather than an error
        wrapper = build_wrapper(entry, by_rpc, defs, docs)
        _check_kind(wrapper, defs, by_notification, entry)
        out.append(wrapper)
    return tuple(sorted(out, key=lambda w: (w.owner, w.py_name)))
