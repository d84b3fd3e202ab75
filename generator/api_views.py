"""Stage 4a (protocol): views for the client, notification and server-request modules.

As in :mod:`generator.views`, every signature, call and docstring is
computed here; templates only place them.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from . import experimental, ir, naming, wrappers
from .errors import GeneratorError, Location
from .params import paged_item as paged_item_of
from .params import params_variants
from .pyexpr import annotation, docstring, pyrepr
from .views import header


@dataclass(frozen=True)
class ClientMethodView:
    name: str
    rpc: str
    signature: str  # everything after "self"
    returns: str
    doc: str | None
    call: str  # arguments of self._request(...)


@dataclass(frozen=True)
class NotificationView:
    method: str
    event: str
    params: str | None
    route: tuple[str, str | None, str | None] | None  # see notification_route

    @property
    def route_literal(self) -> str:
        return _literal(self.route)

    @property
    def event_type(self) -> str:
        return model_ref(self.event)


@dataclass(frozen=True)
class ServerRequestView:
    method: str
    handler: str
    params: str
    response: str
    doc: str | None
    default: str | None  # python expression of the default JSON answer

    @property
    def params_type(self) -> str:
        return model_ref(self.params)

    @property
    def response_type(self) -> str:
        return model_ref(self.response)


def first_paragraph(text: str | None) -> str | None:
    if not text:
        return None
    return text.strip().split("\n\n", 1)[0].replace("\n", " ").strip() or None


MODELS = "v2_all."
"""How the protocol modules name a generated model: through ``v2_all``, which
imports it on first use. Annotations spelt this way also resolve at run time
(``typing.get_type_hints``) without importing every model up front."""


def model_ref(name: str | None) -> str:
    """A reference to a generated model (or ``None``), valid in code and annotations alike."""
    return "None" if name is None else MODELS + name


def parameter_annotation(p: ir.Parameter, *, omit: str | None) -> str:
    """The annotation of a keyword; optional ones also accept the omit sentinel/None."""
    t = p.type
    if p.required:
        return annotation(t, qualifier=MODELS)
    text = annotation(ir.nullable(t), qualifier=MODELS)
    return f"{text} | {omit}" if omit else text


def parameter_doc(p: ir.Parameter, api: ir.Api, override: str | None = None) -> str:
    """The one line a docstring gives a parameter: the manifest's wrapper override, else the
    schema's description (or the manifest's ``[param_docs]`` text, see :mod:`generator.params`),
    else the description of the parameter's type, else where it goes on the wire."""
    text = (
        first_paragraph(override)
        or first_paragraph(p.description)
        or _type_doc(p.type, api)
        or f"Sent as ``{p.wire_name}``."
    )
    return experimental.param_line(text, p.experimental)


def _type_doc(t: ir.TypeExpr, api: ir.Api) -> str | None:
    t = ir.strip_nullable(t)
    if isinstance(t, ir.UnionOf) and t.members and isinstance(t.members[0], ir.Named):
        t = t.members[0]  # an enum that also accepts its wire strings (params.accepting_wire_strings)
    if not isinstance(t, ir.Named):
        return None
    try:
        return first_paragraph(api.definition(t.name).description)
    except KeyError:
        return None


def args_doc(lines: Sequence[tuple[str, str]]) -> str:
    """``Args:`` with one ``name: text`` line per parameter; empty without parameters."""
    return "Args:\n" + "\n".join(f"    {name}: {text}" for name, text in lines) if lines else ""


def parameter_lines(parameters: Sequence[ir.Parameter], api: ir.Api) -> list[tuple[str, str]]:
    return [(p.py_name, parameter_doc(p, api)) for p in parameters]


def method_doc(
    summary: str | None, rpc: str, lines: Sequence[tuple[str, str]], is_experimental: bool = False
) -> str | None:
    parts = [summary or f"Call ``{rpc}``.", f"JSON-RPC method: ``{rpc}``."]
    if is_experimental:
        parts.append(experimental.NOTE)
    args = args_doc(lines)
    if args:
        parts.append(args)
    return docstring("\n\n".join(parts))


def client_method_view(m: ir.Method, api: ir.Api) -> ClientMethodView:
    params = list(m.parameters)
    params_model = model_ref(m.params_model)
    summary = m.description
    if m.params_model and not isinstance(api.definition(m.params_model), ir.Model):
        # Params that are a union (e.g. login by API key OR by ChatGPT) are
        # passed whole: keywords cannot spell "one of these shapes".
        sig = f"params: {params_model}"
        call = f"{pyrepr(m.rpc_method)}, {params_model}, {model_ref(m.response_model)}, {{}}, params"
        doc = method_doc(summary, m.rpc_method, [("params", _union_params_doc(m, api))], m.experimental)
        return ClientMethodView(m.py_name, m.rpc_method, sig, model_ref(m.response_model), doc, call)
    sig_parts = []
    if params:
        sig_parts.append("*")
        sig_parts.extend(
            f"{p.py_name}: {parameter_annotation(p, omit='Omit')}" + ("" if p.required else " = OMIT") for p in params
        )
    fields = "{" + ", ".join(f"{pyrepr(p.field_name)}: {p.py_name}" for p in params) + "}"
    call = f"{pyrepr(m.rpc_method)}, {params_model}, {model_ref(m.response_model)}, {fields}"
    if summary is None and m.params_model:
        summary = api.definition(m.params_model).description
    doc = method_doc(summary, m.rpc_method, parameter_lines(params, api), m.experimental)
    return ClientMethodView(m.py_name, m.rpc_method, ", ".join(sig_parts), model_ref(m.response_model), doc, call)


def _union_params_doc(m: ir.Method, api: ir.Api) -> str:
    """What the whole params of a union-params method may be: one of its variant models."""
    variants = params_variants(m.params_model, {d.name: d for d in api.definitions})
    if not variants:
        return f"A ``{m.params_model}``."
    names = ", ".join(f"``{MODELS}{model.name}``" for model in variants.values())
    return f"A ``{m.params_model}``, one of: {names}."


@dataclass(frozen=True)
class PagerView:
    """An iterator over every item of a cursor-paged list method, following ``nextCursor``."""

    name: str
    method: str  # the client method fetching one page
    signature: str  # the page method's keywords, without the cursor
    item: str  # the annotation of one item
    doc: str | None
    fields: str  # python dict literal of the keywords passed on


def paged_item(m: ir.Method, api: ir.Api) -> ir.TypeExpr | None:
    """The item type when ``m`` pages by cursor, else None (see :func:`generator.params.paged_item`)."""
    return paged_item_of(m, {d.name: d for d in api.definitions})


def pager_view(m: ir.Method, api: ir.Api) -> PagerView | None:
    item = paged_item(m, api)
    if item is None:
        return None
    params = [p for p in m.parameters if p.wire_name != naming.PAGE_CURSOR_PARAM]
    signature = ", ".join(
        ["*"]
        + [f"{p.py_name}: {parameter_annotation(p, omit='Omit')}" + ("" if p.required else " = OMIT") for p in params]
        if params
        else []
    )
    fields = "{" + ", ".join(f"{pyrepr(p.py_name)}: {p.py_name}" for p in params) + "}"
    summary = f"Every item of ``{m.rpc_method}``, fetching page after page (following ``nextCursor``) as you iterate."
    args = args_doc(parameter_lines(params, api))
    doc = docstring(
        "\n\n".join([summary, f"Pages of ``{naming.CLIENT_CLASS}.{m.py_name}``."] + ([args] if args else []))
    )
    return PagerView(
        naming.pager_name(m.py_name), m.py_name, signature, annotation(item, qualifier=MODELS), doc, fields
    )


@dataclass(frozen=True)
class ClientModule:
    header: str
    methods: tuple[ClientMethodView, ...]
    flavors: tuple[tuple[str, str, str, str], ...]  # (class name, base, "async " or "", "await " or "")
    pagers: tuple[PagerView, ...] = ()


def client_module(api: ir.Api) -> ClientModule:
    methods = tuple(client_method_view(m, api) for m in api.methods)
    flavors = tuple(
        (f.name(naming.CLIENT_CLASS), naming.requester_class(f), f.async_, f.await_) for f in naming.FLAVOURS
    )
    pagers = tuple(view for view in (pager_view(m, api) for m in api.methods) if view is not None)
    return ClientModule(header(api), methods, flavors, pagers)


@dataclass(frozen=True)
class NotificationsModule:
    header: str
    notifications: tuple[NotificationView, ...]
    default_route: str  # python literal: the route assumed for a method this schema lacks


def notifications_module(api: ir.Api) -> NotificationsModule:
    views = tuple(
        NotificationView(n.rpc_method, n.class_name, n.params_model, notification_route(api, n.params_model))
        for n in api.notifications
    )
    return NotificationsModule(header(api), views, _literal(default_route(v.route for v in views)))


def default_route(
    routes: Iterable[tuple[str, str | None, str | None] | None],
) -> tuple[str, str | None, str | None] | None:
    """The most common route of turn events: assumed for a notification a newer server adds."""
    counts = Counter(r for r in routes if r is not None and r[1] is not None)
    if not counts:
        return None
    return min(counts, key=lambda r: (-counts[r], tuple(part or "" for part in r)))


def _literal(route: tuple[str, str | None, str | None] | None) -> str:
    if route is None:
        return "None"
    return "(" + ", ".join(pyrepr(part) for part in route) + ")"


# Where a notification names its thread and its turn: the runtime routes
# turn events by these (generated, so a schema change is seen here).
THREAD_ID_FIELD = "threadId"
TURN_ID_FIELD = "turnId"
TURN_FIELD = "turn"  # a Turn object: its id is the turn id
ID_FIELD = "id"


def notification_route(api: ir.Api, params_model: str | None) -> tuple[str, str | None, str | None] | None:
    """``(thread key, turn key, key inside the turn key's object)`` of a notification's params.

    None when the params carry no top-level thread id (such notifications
    belong to no turn). The turn is a top-level ``turnId`` string, else the
    ``id`` of a top-level ``turn`` object, else unknown (None, None).
    """
    model = _model(api, params_model)
    if model is None:
        return None
    fields = {f.wire_name: f for f in model.fields}
    if THREAD_ID_FIELD not in fields:
        return None
    if TURN_ID_FIELD in fields:
        return (THREAD_ID_FIELD, TURN_ID_FIELD, None)
    turn = fields.get(TURN_FIELD)
    turn_type = ir.strip_nullable(turn.type) if turn is not None else None
    turn_model = _model(api, turn_type.name) if isinstance(turn_type, ir.Named) else None
    if turn_model is not None and any(f.wire_name == ID_FIELD for f in turn_model.fields):
        return (THREAD_ID_FIELD, TURN_FIELD, ID_FIELD)
    return (THREAD_ID_FIELD, None, None)


def _model(api: ir.Api, name: str | None) -> ir.Model | None:
    if name is None:
        return None
    try:
        definition = api.definition(name)
    except KeyError:
        return None
    return definition if isinstance(definition, ir.Model) else None


@dataclass(frozen=True)
class ServerRequestsModule:
    header: str
    requests: tuple[ServerRequestView, ...]
    flavors: tuple[tuple[str, str], ...]  # (class name, "async " or "")


def server_requests_module(api: ir.Api) -> ServerRequestsModule:
    views = []
    for r in api.server_requests:
        if r.params_model is None or r.response_model is None:
            continue
        default = (
            None
            if r.default_response is None
            else f"{model_ref(r.response_model)}.model_validate({_default_expression(r)})"
        )
        if default is None:
            behaviour = "Without a handler the server gets a JSON-RPC error reply."
        else:
            behaviour = f"Default when not overridden: ``{_default_text(r)}``."
        doc = docstring(
            "\n\n".join(
                p
                for p in (
                    first_paragraph(r.description),
                    f"Server request ``{r.rpc_method}``.",
                    experimental.SERVER_REQUEST_NOTE if r.experimental else None,
                    behaviour,
                )
                if p
            )
        )
        views.append(ServerRequestView(r.rpc_method, r.handler_name, r.params_model, r.response_model, doc, default))
    flavors = tuple((f.name(naming.SERVER_REQUEST_HANDLER_CLASS), f.async_) for f in naming.FLAVOURS)
    return ServerRequestsModule(header(api), tuple(views), flavors)


def _json_text(value: object) -> str:
    import json

    return json.dumps(value, sort_keys=True)


def _default_expression(r: ir.ServerRequest) -> str:
    """The default answer as a Python expression: its JSON, plus the computed fields (``computed_value(...)``)."""
    static = r.default_response if isinstance(r.default_response, dict) else {}
    items = [f"{pyrepr(k)}: {pyrepr(v)}" for k, v in sorted(static.items()) if k not in dict(r.computed)]
    items += [f"{pyrepr(wire)}: computed_value({pyrepr(provider)})" for wire, provider in r.computed]
    return pyrepr(r.default_response) if not r.computed else "{" + ", ".join(items) + "}"


def _default_text(r: ir.ServerRequest) -> str:
    """The default answer for a docstring: JSON, a computed field shown as ``<provider>``."""
    if not r.computed:
        return _json_text(r.default_response)
    static = r.default_response if isinstance(r.default_response, dict) else {}
    shown = {**static, **{wire: f"<{provider}>" for wire, provider in r.computed}}
    return _json_text(shown).replace('"<', "<").replace('>"', ">")


# ---------------------------------------------------------------- wrappers

WRAPPER_OWNERS = ("Codex", "Thread", "TurnHandle")  # the classes wrappers are generated on, in module order
# Generic in what their turn's final answer is parsed as (``output_type``).
GENERIC_OWNERS = frozenset({"TurnHandle"})


@dataclass(frozen=True)
class WrapperView:
    name: str
    signature: str
    returns: str
    doc: str | None
    body: tuple[str, ...]
    prefix: str = ""  # "async " for a coroutine method
    needs: tuple[str, ...] = ()  # names of the runtime (``_api_base``) the method uses


@dataclass(frozen=True)
class WrapperClassView:
    name: str
    base: str
    is_async: bool
    methods: tuple[WrapperView, ...]
    doc: str = ""  # the class docstring (CLASS_DOCS)


@dataclass(frozen=True)
class WrappersModule:
    header: str
    classes: tuple[WrapperClassView, ...]
    runtime_imports: tuple[str, ...] = ()  # what the module imports from ``_api_base``


def _wrapper_param(w: ir.WrapperMethod, p: ir.Parameter, *, keyword: bool) -> str:
    override = w.override(p.field_name)
    text = str(override["type"]) if "type" in override else annotation(p.type, qualifier=MODELS)
    if "default" in override:
        return f"{p.py_name}: {text} = {pyrepr(override['default'])}"
    if keyword and not p.required:
        return (
            f"{p.py_name}: {text} | None = None"
            if "type" in override
            else f"{p.py_name}: {annotation(ir.nullable(p.type), qualifier=MODELS)} = None"
        )
    return f"{p.py_name}: {text}"


def _wrapper_value(w: ir.WrapperMethod, p: ir.Parameter, *, keyword: bool) -> str:
    override = w.override(p.field_name)
    value = p.py_name
    if override.get("convert") == "user_inputs":
        value = f"to_user_inputs({value})"
    if override.get("convert") == "output_schema":
        value = f"{OUTPUT_SCHEMA_FOR}({OUTPUT_TYPE}, {value})"
    if override.get("convert") == "tools":
        value = f"{TOOL_SPECS}({value})"
    if keyword and not p.required and "default" not in override:
        value = f"given({value})"
    return value


def _wrapper_returns(w: ir.WrapperMethod, flavour: naming.Flavour) -> str:
    kind = wrappers.kind_of(w)
    if kind.returns is None:
        return model_ref(w.response_model)
    head, bracket, rest = kind.returns.partition("[")
    item = annotation(w.item, qualifier=MODELS) if w.item is not None else ""
    rest = rest.format(response=model_ref(w.response_model), item=item)
    return (flavour.name(head) if kind.has_async_twin else head) + bracket + rest


# The classes of the runtime (``_api_base``) that wrapper kinds return; the others are
# generated here (Thread, TurnHandle), imported always (RunResult) or typing's (Iterator).
RUNTIME_RESULTS = frozenset({"LoginHandle"})

# The keyword of the turn kinds that parses the final answer, its type variable
# and doc, and the runtime helper that turns it into the turn's outputSchema.
OUTPUT_TYPE = "output_type"
PARSED_T = "ParsedT"
OUTPUT_TYPE_PARAM = f"{OUTPUT_TYPE}: type[{PARSED_T}] | None = None"
OUTPUT_TYPE_DOC = (
    "A pydantic model (or any type pydantic validates to a JSON object): codex is asked for an answer "
    "of its strict JSON Schema, and ``result.parsed`` is the final answer parsed as it "
    "(:class:`StructuredOutputError` when it does not validate)."
)
OUTPUT_SCHEMA_FOR = "output_schema_for"
# A keyword of Python functions offered as tools: declared by TOOL_SPECS, then
# served (answered) on the started thread by the client's SERVE_TOOLS.
TOOL_SPECS = "declared_tools"
SERVE_TOOLS = "_serve_tools"
TOOL_CLASS = "Tool"

# The runtime helpers of a wrapper whose params are one variant of a union (``_api_base``).
VARIANT_PARAMS = "variant_params"  # validates the variant's keywords into its model
RESPONSE_VARIANT = "response_variant"  # checks the answer is the response variant of the same tag


def _call(w: ir.WrapperMethod, method: ir.Method) -> tuple[str, set[str]]:
    """The client call a wrapper makes, and the runtime names it uses."""
    values = [(name, f"self.{attr}") for name, attr in w.bound]
    values += [(name, pyrepr(value)) for name, value in w.fixed]
    values += [(p.field_name, _wrapper_value(w, p, keyword=False)) for p in w.positional]
    values += [(p.field_name, _wrapper_value(w, p, keyword=True)) for p in w.keywords]
    needs = {"given" for _, value in values if value.startswith("given(")}
    needs |= {OUTPUT_SCHEMA_FOR for _, value in values if f"{OUTPUT_SCHEMA_FOR}(" in value}
    needs |= {name for _, value in values if f"{TOOL_SPECS}(" in value for name in (TOOL_SPECS, TOOL_CLASS)}
    if w.variant is not None:
        # The variant's model takes field names; its tag is sent as it is.
        model, tag_field, tag = w.variant
        fields = ", ".join(f"{pyrepr(name)}: {value}" for name, value in [(tag_field, pyrepr(tag)), *values])
        params = f"{VARIANT_PARAMS}({pyrepr(w.rpc_method)}, {model_ref(model)}, {{{fields}}})"
        return f"self._client.{method.py_name}({params})", needs | {VARIANT_PARAMS}
    keyword_of = {p.field_name: p.py_name for p in method.parameters}  # client keywords are parameter names
    args = ", ".join(f"{keyword_of.get(name, name)}={value}" for name, value in values)
    name = naming.pager_name(method.py_name) if wrappers.kind_of(w).paged else method.py_name
    return f"self._client.{name}({args})", needs


def _body(
    w: ir.WrapperMethod, method: ir.Method, flavour: naming.Flavour, api: ir.Api, returns: str
) -> tuple[list[str], set[str]]:
    """The lines of a wrapper's body, by kind, and the runtime names they use."""
    await_ = flavour.await_
    call, needs = _call(w, method)
    narrowed = w.response_model != method.response_model  # a params variant: the answer is checked to match it
    kind = wrappers.kind_of(w)
    if w.kind == "plain" and narrowed:
        needs.add(RESPONSE_VARIANT)
        expected = model_ref(w.response_model)
        return [f"return {RESPONSE_VARIANT}({pyrepr(w.rpc_method)}, {expected}, {await_}{call})"], needs
    if w.kind == "plain":
        return [f"return {await_}{call}"], needs
    if w.kind == "pages":
        return [f"return {call}"], needs
    if w.kind == "live_turn":
        return [f"{await_}self._until_started()", f"return {await_}{call}"], needs
    if w.kind == "thread":
        served = [
            f"self.{SERVE_TOOLS}(response.thread.id, {p.py_name})"
            for p in w.keywords
            if w.override(p.field_name).get("convert") == "tools"
        ]
        return [f"response = {await_}{call}", *served, f"return {returns}(self, response.thread)"], needs
    if w.kind == "resume_thread":
        return [
            f"response = {await_}{call}",
            f"return {returns}(self, ({await_}self._client.thread_resume(thread_id=response.thread.id)).thread)",
        ], needs
    if w.kind in ("turn", "run"):
        helper = "_turn" if w.kind == "turn" else "_run"
        handle = flavour.name("TurnHandle") + f"[{PARSED_T}]"
        return [f"return {await_}self.{helper}({handle}, lambda: {call}, {OUTPUT_TYPE})"], needs | {PARSED_T}
    if w.kind == "login":
        handle_id = wrappers.handle_id_field(w, {d.name: d for d in api.definitions})
        started = f"lambda response: response.{handle_id}" if handle_id else "lambda response: None"
        arguments = [pyrepr(w.rpc_method), pyrepr(kind.completion), model_ref(w.response_model), f"lambda: {call}"]
        return [f"return {await_}self._login({', '.join(arguments)}, {started})"], needs
    raise ValueError(f"unknown wrapper kind {w.kind!r}")


def wrapper_view(w: ir.WrapperMethod, flavour: naming.Flavour, method: ir.Method, api: ir.Api) -> WrapperView:
    returns = _wrapper_returns(w, flavour)
    sig: list[str] = [_wrapper_param(w, p, keyword=False) for p in w.positional]
    kind = wrappers.kind_of(w)
    if w.keywords or kind.parses_output:
        sig.append("*")
        sig.extend(_wrapper_param(w, p, keyword=True) for p in w.keywords)
    if kind.parses_output:
        sig.append(OUTPUT_TYPE_PARAM)
    body, needs = _body(w, method, flavour, api, returns)
    parts = [w.description or f"Call ``{w.rpc_method}``.", f"JSON-RPC method: ``{w.rpc_method}``."]
    if method.experimental:
        parts.append(experimental.NOTE)
    args_text = args_doc(wrapper_parameter_lines(w, api))
    if args_text:
        parts.append(args_text)
    if w.excluded:
        parts.append("Not offered here: " + "; ".join(f"``{n}`` ({reason})" for n, reason in w.excluded))
    signature = ", ".join(sig)
    prefix = "" if kind.paged else flavour.async_  # a pager returns an (async) iterator: nothing to await
    head = (kind.returns or "").partition("[")[0]
    if head in RUNTIME_RESULTS:
        needs.add(flavour.name(head) if kind.has_async_twin else head)
    return WrapperView(
        w.py_name, signature, returns, docstring("\n\n".join(parts)), tuple(body), prefix, tuple(sorted(needs))
    )


def wrapper_parameter_lines(w: ir.WrapperMethod, api: ir.Api) -> list[tuple[str, str]]:
    """The ``Args:`` lines of a wrapper: its positional params, then its keywords."""
    lines = []
    for p in (*w.positional, *w.keywords):
        override = w.override(p.field_name).get("doc")
        lines.append((p.py_name, parameter_doc(p, api, override if isinstance(override, str) else None)))
    if wrappers.kind_of(w).parses_output:
        lines.append((OUTPUT_TYPE, OUTPUT_TYPE_DOC))
    return lines


# The docstring of each public wrapper class (``help(Codex)``); its first paragraph is the class's
# intro in API.md. Hand-written: what a class is for does not follow from the schema.
CLASS_DOCS: Mapping[str, str] = {
    "Codex": (
        "Blocking client of one ``codex app-server``, started at once: ``with Codex() as codex:``.\n\n"
        "``Codex(config)`` launches codex as its child (:class:`AppServerConfig`); ``Codex.connect(url)``,\n"
        "``connect_daemon()`` and ``connect_command(argv)`` reach one that already runs. Start a conversation\n"
        "with ``thread_start()`` (or ``thread_resume(thread_id)``) and run turns on the :class:`Thread`.\n"
        "One turn consumer at a time per client unless ``AppServerConfig(concurrent_turns=True)``;\n"
        "``client`` is the typed low-level client (every protocol method)."
    ),
    "AsyncCodex": (
        "asyncio client of one ``codex app-server``, started on first use or by ``async with AsyncCodex()``.\n\n"
        "The methods of :class:`Codex`, awaited; a turn's ``stream()`` is an async iterator."
    ),
    "Thread": (
        "A conversation with codex, from ``codex.thread_start()`` or ``thread_resume()``.\n\n"
        "``run(input)`` runs a turn to its end and returns its :class:`RunResult`; ``turn(input)`` starts\n"
        "one and returns its :class:`TurnHandle` (stream, steer, interrupt). Both take a ``str`` or an\n"
        "``Input`` (``TextInput``, ``LocalImageInput`` ... or a list of them)."
    ),
    "AsyncThread": ("A conversation of an :class:`AsyncCodex`.\n\nThe methods of :class:`Thread`, awaited."),
    "TurnHandle": (
        "A started turn, from ``thread.turn(input)``.\n\n"
        "``stream()`` yields its events through ``turn/completed``; ``run()`` consumes it and returns the\n"
        "turn; ``steer(input)`` (a ``str`` or an ``Input``) adds input while it runs; ``interrupt()`` stops\n"
        "it; ``result`` is what it produced so far."
    ),
    "AsyncTurnHandle": (
        "A started turn of an :class:`AsyncCodex`.\n\n"
        "The methods of :class:`TurnHandle`, awaited; ``stream()`` is an async iterator."
    ),
}


def wrappers_module(api: ir.Api) -> WrappersModule:
    methods = {m.rpc_method: m for m in api.methods}
    classes = []
    for owner in WRAPPER_OWNERS:
        owned = [w for w in api.wrappers if w.owner == owner]
        for flavour in naming.FLAVOURS:
            name = flavour.name(owner)
            views = tuple(wrapper_view(w, flavour, methods[w.rpc_method], api) for w in owned)
            base = naming.wrapper_base_class(name) + (f"[{PARSED_T}]" if owner in GENERIC_OWNERS else "")
            classes.append(WrapperClassView(name, base, flavour.is_async, views, CLASS_DOCS.get(name, "")))
    return WrappersModule(header(api), tuple(classes), runtime_imports(classes))


# What api.py always imports from ``_api_base``: the bases and RunResult (which it re-exports).
_ALWAYS_IMPORTED = ("RunResult",)


def runtime_imports(classes: Sequence[WrapperClassView]) -> tuple[str, ...]:
    """The names api.py imports from ``_api_base``: the bases, RunResult, and what the bodies use."""
    names = {c.base.partition("[")[0] for c in classes} | set(_ALWAYS_IMPORTED)
    names.update(PARSED_T for c in classes if "[" in c.base)
    names.update(name for c in classes for m in c.methods for name in m.needs)
    return tuple(sorted(names))


# ---------------------------------------------------------------- input items


@dataclass(frozen=True)
class InputClassView:
    name: str
    doc: str | None
    fields: tuple[str, ...]  # "url: str"
    returns: str  # the variant model, as code names it
    build: str  # the expression that makes the variant model from self


@dataclass(frozen=True)
class InputsModule:
    header: str
    union: str
    classes: tuple[InputClassView, ...]
    models: tuple[str, ...]  # every variant model of the union, as code names them
    accepted: str  # "str, TextInput, ... or MentionInput", for the error message

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.classes)


def input_class_view(c: ir.InputClass) -> InputClassView:
    fields = tuple(f"{p.py_name}: {annotation(p.type, qualifier=MODELS)}" for p in c.fields)
    arguments = [f"{c.tag_field}={pyrepr(c.tag)}", *(f"{p.field_name}=self.{p.py_name}" for p in c.fields)]
    summary = first_paragraph(c.description)
    doc = docstring("\n\n".join(p for p in (f"The ``{c.tag}`` input item, sent as ``{c.model}``.", summary) if p))
    return InputClassView(c.name, doc, fields, model_ref(c.model), f"{model_ref(c.model)}({', '.join(arguments)})")


def inputs_module(api: ir.Api) -> InputsModule | None:
    if api.inputs is None:
        return None
    classes = tuple(input_class_view(c) for c in api.inputs.classes)
    names = ["str", *(c.name for c in classes)]
    accepted = ", ".join(names[:-1]) + " or " + names[-1]
    models = tuple(model_ref(m) for m in api.inputs.models)
    return InputsModule(header(api), model_ref(api.inputs.union), classes, models, accepted)


@dataclass(frozen=True)
class GeneratedInitModule:
    header: str
    schema_version: str  # a Python literal


def generated_init_module(api: ir.Api) -> GeneratedInitModule:
    return GeneratedInitModule(header(api, with_inputs=True), pyrepr(api.schema_version))


# ---------------------------------------------------------------- method names


# Where the schema lists the notifications the client sends (the server's
# requests and notifications, and the client's requests, are the IR's own lists).
CLIENT_NOTIFICATION_UNION = "ClientNotification"


@dataclass(frozen=True)
class MethodGroup:
    title: str  # the comment above the group
    constants: tuple[tuple[str, str], ...]  # (constant name, python literal of the method)


@dataclass(frozen=True)
class MethodsModule:
    header: str
    groups: tuple[MethodGroup, ...]


def methods_module(api: ir.Api) -> MethodsModule:
    """Every method name as a constant, by direction: what hand-written runtime code names methods by."""
    groups = (
        ("client requests (AppServerClient methods)", [m.rpc_method for m in api.methods]),
        ("client notifications", client_notification_methods(api)),
        ("server notifications", [n.rpc_method for n in api.notifications]),
        ("server requests (ServerRequestHandler methods)", [r.rpc_method for r in api.server_requests]),
    )
    taken: dict[str, str] = {}
    views = []
    for title, rpc_methods in groups:
        constants = []
        for rpc in sorted(set(rpc_methods)):
            name = naming.method_constant(rpc)
            if taken.setdefault(name, rpc) != rpc:
                raise GeneratorError(
                    Location(rpc), f"methods {taken[name]!r} and {rpc!r} both give the constant {name}"
                )
            constants.append((name, pyrepr(rpc)))
        views.append(MethodGroup(title, tuple(constants)))
    return MethodsModule(header(api), tuple(views))


def client_notification_methods(api: ir.Api) -> list[str]:
    """The ``method`` values of the notifications the client sends (the variants of ``ClientNotification``)."""
    by_name = {d.name: d for d in api.definitions}
    union = by_name.get(CLIENT_NOTIFICATION_UNION)
    if not isinstance(union, ir.Alias):
        return []
    variants = union.type.members if isinstance(union.type, ir.UnionOf) else (union.type,)
    methods: list[str] = []
    for variant in variants:
        model = by_name.get(variant.name) if isinstance(variant, ir.Named) else None
        if not isinstance(model, ir.Model):
            continue
        for f in model.fields:
            if f.wire_name == "method" and isinstance(f.type, ir.LiteralOf):
                methods += [value for value in f.type.values if isinstance(value, str)]
    return methods
