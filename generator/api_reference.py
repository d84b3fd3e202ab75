"""Stage 4a (docs): ``output/API.md``, the generated API reference.

Every public class of the package (Codex, AsyncCodex, Thread, AsyncThread,
TurnHandle, AsyncTurnHandle, AppServerClient, AsyncAppServerClient,
ServerRequestHandler, AsyncServerRequestHandler) with every method's full
signature and one-line doc, then the notifications and every definition of
``generated.v2_all`` with its fields. Built from the IR and the same view
functions that render the code (so a signature here is the signature
there), sorted, no timestamps: its git diff is a readable review of a bump.

The few members the hand-written runtime (``_api_base.py``) adds to the
generated classes are not in the IR; they are listed in ``RUNTIME`` below,
and a test checks that list against the runtime classes.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from . import ir, naming
from .api_views import (
    MODELS,
    WRAPPER_OWNERS,
    client_method_view,
    first_paragraph,
    pager_view,
    server_requests_module,
    wrapper_view,
)
from .pyexpr import annotation
from .render import render


def _unqualified(signature: str) -> str:
    """The code names models ``v2_all.X``; here they are listed under Models, so ``X`` says it."""
    return signature.replace(MODELS, "")


@dataclass(frozen=True)
class Entry:
    """One bullet: a signature (shown as code) and a one-line doc."""

    signature: str
    doc: str | None = None


@dataclass(frozen=True)
class RuntimeMember:
    """A member of a generated class that the hand-written runtime base provides."""

    name: str
    kind: str  # "method" | "classmethod" | "async method" | "async iterator" | "property" | "attribute" | "constructor"
    signature: str  # "(params) -> Return" for callables, "Type" for properties and attributes
    doc: str | None = None

    def entry(self, owner: str) -> Entry:
        if self.kind == "constructor":
            return Entry(f"{owner}{self.signature}", self.doc)
        if self.kind in ("property", "attribute"):
            return Entry(
                f"{self.name}: {self.signature}", f"({self.kind}) {self.doc}" if self.doc else f"({self.kind})"
            )
        prefix = {"async method": "async ", "classmethod": "classmethod "}.get(self.kind, "")
        return Entry(f"{prefix}{self.name}{self.signature}", self.doc)


_SYNC_HANDLER = "ServerRequestHandler | None = None"
_ANY_HANDLER = "AsyncServerRequestHandler | ServerRequestHandler | None = None"
_TURN_DOC = (
    "The turn as last reported, kept current while and after it is consumed "
    "(status; while it runs, the items completed so far)."
)
_RESULT_DOC = (
    "What the turn produced so far (`RunResult`: final response, every completed item, usage, "
    "`turn_usage`); available while streaming and after; a failed turn does not raise here."
)
_SERVER_VERSION_DOC = (
    "The server's codex version, read from its `initialize` answer (None until started, or if it names none); "
    "one warning is logged when it differs from the codex this SDK was generated from."
)
_PID_DOC = "The process id of the `codex app-server` child (None before it started)."

# Members of the runtime bases (_api_base.py), by generated class. Checked
# against the real classes by tests/history/test_api_reference.py.
RUNTIME: Mapping[str, tuple[RuntimeMember, ...]] = {
    "Codex": (
        RuntimeMember(
            "__init__",
            "constructor",
            f"(config: AppServerConfig | None = None, *, handler: {_SYNC_HANDLER})",
            "Start one `codex app-server` process and initialise it; a context manager (`with Codex() as codex:`).",
        ),
        RuntimeMember("client", "property", "AppServerClient", "The typed low-level client: every app-server method."),
        RuntimeMember(
            "connect",
            "classmethod",
            "(url: str, *, token: str | None = None, token_file: PathLike | None = None, jwt_secret_file: PathLike | None = None, jwt_issuer: str | None = None, jwt_audience: str | None = None, jwt_ttl: float = 300.0, codex_home: PathLike | None = None, reconnect: Reconnect | bool = False, "
            "config: AppServerConfig | None = None, handler: ServerRequestHandler | None = None) -> Self",
            "Connect to a running app-server: `ws://`, `wss://`, `unix://PATH` or `unix://` (token or JWT auth).",
        ),
        RuntimeMember(
            "connect_command",
            "classmethod",
            "(argv: Sequence[str], *, token: str | None = None, token_file: PathLike | None = None, jwt_secret_file: PathLike | None = None, jwt_issuer: str | None = None, jwt_audience: str | None = None, jwt_ttl: float = 300.0, reconnect: Reconnect | bool = False, "
            "config: AppServerConfig | None = None, handler: ServerRequestHandler | None = None) -> Self",
            "Connect through a command carrying the socket's bytes (`ssh host codex app-server proxy`).",
        ),
        RuntimeMember(
            "connect_daemon",
            "classmethod",
            "(*, codex_bin: PathLike | None = None, codex_home: PathLike | None = None, "
            "reconnect: Reconnect | bool = False, config: AppServerConfig | None = None, handler: ServerRequestHandler | None = None) -> Self",
            "Connect to the local daemon, starting it if needed (never stopped by the client).",
        ),
        RuntimeMember(
            "close", "method", "() -> None", "Stop the app-server (stdin closed, then terminate, then kill)."
        ),
        RuntimeMember(
            "config",
            "property",
            "AppServerConfig",
            "The config it was started with; after the app-server died, `Codex(codex.config)` starts a fresh "
            "one and `thread_resume(thread_id)` continues a thread there.",
        ),
        RuntimeMember("metadata", "property", "InitializeResponse", "The server's answer to `initialize`."),
        RuntimeMember("pid", "property", "int | None", _PID_DOC),
        RuntimeMember("server_version", "property", "str | None", _SERVER_VERSION_DOC),
        RuntimeMember(
            "set_handler",
            "method",
            "(handler: ServerRequestHandler) -> None",
            "Install the handler that answers server requests (approvals ...).",
        ),
    ),
    "AsyncCodex": (
        RuntimeMember(
            "__init__",
            "constructor",
            f"(config: AppServerConfig | None = None, *, handler: {_ANY_HANDLER})",
            "asyncio client; starts on first use or `async with AsyncCodex() as codex:`.",
        ),
        RuntimeMember("client", "property", "AsyncAppServerClient", "The typed low-level asyncio client."),
        RuntimeMember("close", "async method", "() -> None", "Stop the app-server."),
        RuntimeMember(
            "connect",
            "classmethod",
            "(url: str, *, token: str | None = None, token_file: PathLike | None = None, jwt_secret_file: PathLike | None = None, jwt_issuer: str | None = None, jwt_audience: str | None = None, jwt_ttl: float = 300.0, codex_home: PathLike | None = None, reconnect: Reconnect | bool = False, "
            "config: AppServerConfig | None = None, handler: AsyncServerRequestHandler | ServerRequestHandler | None = None) -> Self",
            "Connect to a running app-server: `ws://`, `wss://`, `unix://PATH` or `unix://` (token or JWT auth).",
        ),
        RuntimeMember(
            "connect_command",
            "classmethod",
            "(argv: Sequence[str], *, token: str | None = None, token_file: PathLike | None = None, jwt_secret_file: PathLike | None = None, jwt_issuer: str | None = None, jwt_audience: str | None = None, jwt_ttl: float = 300.0, reconnect: Reconnect | bool = False, "
            "config: AppServerConfig | None = None, handler: AsyncServerRequestHandler | ServerRequestHandler | None = None) -> Self",
            "Connect through a command carrying the socket's bytes (`ssh host codex app-server proxy`).",
        ),
        RuntimeMember(
            "connect_daemon",
            "classmethod",
            "(*, codex_bin: PathLike | None = None, codex_home: PathLike | None = None, "
            "reconnect: Reconnect | bool = False, config: AppServerConfig | None = None, handler: AsyncServerRequestHandler | ServerRequestHandler | None = None) -> Self",
            "Connect to the local daemon, starting it if needed (never stopped by the client).",
        ),
        RuntimeMember(
            "config",
            "property",
            "AppServerConfig",
            "The config it was started with; after the app-server died, `AsyncCodex(codex.config)` starts a fresh one.",
        ),
        RuntimeMember(
            "metadata", "property", "InitializeResponse", "The server's answer to `initialize` (once started)."
        ),
        RuntimeMember("pid", "property", "int | None", _PID_DOC),
        RuntimeMember("server_version", "property", "str | None", _SERVER_VERSION_DOC),
        RuntimeMember(
            "set_handler",
            "method",
            "(handler: AsyncServerRequestHandler | ServerRequestHandler) -> None",
            "Install the handler that answers server requests.",
        ),
        RuntimeMember(
            "start", "async method", "() -> InitializeResponse", "Launch and initialise the app-server (idempotent)."
        ),
    ),
    "Thread": (
        RuntimeMember("id", "attribute", "str"),
        RuntimeMember("thread", "attribute", "v2_all.Thread", "The thread as the server described it."),
    ),
    "AsyncThread": (
        RuntimeMember("id", "attribute", "str"),
        RuntimeMember("thread", "attribute", "v2_all.Thread", "The thread as the server described it."),
    ),
    "TurnHandle": (
        RuntimeMember("id", "attribute", "str"),
        RuntimeMember("run", "method", "() -> Turn", "Consume the turn to the end and return the completed `Turn`."),
        RuntimeMember(
            "stream",
            "method",
            "() -> Iterator[Notification]",
            "Yield this turn's typed notifications, ending with `turn/completed`.",
        ),
        RuntimeMember("result", "property", "RunResult", _RESULT_DOC),
        RuntimeMember("thread_id", "attribute", "str"),
        RuntimeMember("turn", "property", "Turn", _TURN_DOC),
    ),
    "AsyncTurnHandle": (
        RuntimeMember("id", "attribute", "str"),
        RuntimeMember(
            "run", "async method", "() -> Turn", "Consume the turn to the end and return the completed `Turn`."
        ),
        RuntimeMember(
            "stream",
            "async iterator",
            "() -> AsyncIterator[Notification]",
            "Yield this turn's typed notifications (`async for`), ending with `turn/completed`.",
        ),
        RuntimeMember("result", "property", "RunResult", _RESULT_DOC),
        RuntimeMember("thread_id", "attribute", "str"),
        RuntimeMember("turn", "property", "Turn", _TURN_DOC),
    ),
}

# The intro of each wrapper class section; sections follow WRAPPER_OWNERS, blocking first.
WRAPPER_INTROS: Mapping[str, str] = {
    "Codex": "Blocking client for one `codex app-server` process.",
    "AsyncCodex": "asyncio twin of `Codex`.",
    "Thread": "A thread of a `Codex` client.",
    "AsyncThread": "A thread of an `AsyncCodex` client.",
    "TurnHandle": "A started turn: consume it with `stream()` or `run()`.",
    "AsyncTurnHandle": "A started turn of an `AsyncCodex` client.",
}


@dataclass(frozen=True)
class ClassSection:
    name: str
    intro: str
    entries: tuple[Entry, ...]


@dataclass(frozen=True)
class Reference:
    version: str
    input_hash: str
    classes: tuple[ClassSection, ...]
    notifications: tuple[Entry, ...]
    definitions: tuple[Entry, ...]
    counts: str


def one_line(text: str | None, limit: int = 200) -> str | None:
    """The first sentence of the first paragraph, on one line, capped at ``limit`` characters."""
    paragraph = first_paragraph(text)
    if not paragraph:
        return None
    sentence = re.match(r"(.+?[.!?])(?:\s|$)", paragraph)
    line = sentence.group(1) if sentence else paragraph
    return line if len(line) <= limit else line[: limit - 3].rstrip() + "..."


def code(text: str) -> str:
    """A Markdown code span that survives backticks inside ``text``."""
    fence = "``" if "`" in text else "`"
    pad = " " if fence == "``" else ""
    return f"{fence}{pad}{text}{pad}{fence}"


def wrapper_section(api: ir.Api, owner: str, flavour: naming.Flavour) -> ClassSection:
    name = flavour.name(owner)
    methods = {m.rpc_method: m for m in api.methods}
    entries = [m.entry(name) for m in RUNTIME.get(name, ())]
    for w in api.wrappers:
        if w.owner != owner:
            continue
        view = wrapper_view(w, flavour, methods[w.rpc_method])
        prefix = flavour.async_
        doc = one_line(w.description) or f"Call `{w.rpc_method}`."
        signature = _unqualified(f"{prefix}{w.py_name}({view.signature}) -> {view.returns}")
        entries.append(Entry(signature, f"{doc} (`{w.rpc_method}`)"))
    return ClassSection(name, WRAPPER_INTROS[name], tuple(sorted(entries, key=_entry_key)))


def _entry_key(entry: Entry) -> tuple[int, str]:
    """Constructor first, then by member name (``async `` prefixes ignored)."""
    text = entry.signature.removeprefix("async ")
    return (0 if "(" in text and text.split("(", 1)[0][:1].isupper() else 1, text)


def client_section(api: ir.Api) -> ClassSection:
    entries = []
    for m in api.methods:
        view = client_method_view(m, api)
        summary = m.description or (_model_description(api, m.params_model))
        doc = one_line(summary) or f"Call `{m.rpc_method}`."
        entries.append(
            Entry(_unqualified(f"{m.py_name}({view.signature}) -> {view.returns}"), f"{doc} (`{m.rpc_method}`)")
        )
    for m in api.methods:
        pager = pager_view(m, api)
        if pager is not None:
            signature = f"{pager.name}({pager.signature}) -> Iterator[{pager.item}]"
            doc = f"Every item of `{m.rpc_method}`, page after page (follows `nextCursor`); async: `AsyncIterator`."
            entries.append(Entry(_unqualified(signature), doc))
    intro = (
        "Every client request of the protocol as a typed method, from `Codex.client`. Optional keywords "
        "default to `OMIT` and are not sent; `None` sends null where the schema allows it. Each cursor-paged "
        "list method also has an `iter_` twin that yields every item across pages."
    )
    return ClassSection(naming.CLIENT_CLASS, intro, tuple(sorted(entries, key=_entry_key)))


def _model_description(api: ir.Api, name: str | None) -> str | None:
    if not name:
        return None
    try:
        return api.definition(name).description
    except KeyError:
        return None


def handler_section(api: ir.Api) -> ClassSection:
    by_method = {r.rpc_method: r for r in api.server_requests}
    entries = []
    for view in server_requests_module(api).requests:
        request = by_method[view.method]
        doc = one_line(request.description)
        default = "default: an error reply" if view.default is None else "default: a safe answer"
        suffix = f"(`{view.method}`; {default})"
        signature = f"{view.handler}(params: {view.params}) -> {view.response}"
        entries.append(Entry(signature, f"{doc} {suffix}" if doc else suffix))
    intro = (
        "Subclass and override the methods for the server requests you answer (approvals, user input ...); "
        "pass it as `Codex(handler=...)`. Without an override a request gets its default answer or an error."
    )
    return ClassSection(naming.SERVER_REQUEST_HANDLER_CLASS, intro, tuple(sorted(entries, key=_entry_key)))


def _async_twin(of: str) -> ClassSection:
    intro = f"The asyncio twin of `{of}`: the same methods with the same signatures, each an `async def`."
    return ClassSection(naming.Flavour(is_async=True).name(of), intro, ())


def notification_entries(api: ir.Api) -> tuple[Entry, ...]:
    out = []
    for n in api.notifications:
        params = f", params `{n.params_model}`" if n.params_model else ""
        doc = one_line(n.description)
        out.append(Entry(n.rpc_method, f"`{n.class_name}`{params}" + (f": {doc}" if doc else "")))
    return tuple(sorted(out, key=lambda e: e.signature))


def definition_entry(d: ir.Definition) -> Entry:
    doc = one_line(d.description)
    if isinstance(d, ir.Model):
        fields = ", ".join(f"{f.py_name}{'' if f.required else '?'}: {annotation(f.type)}" for f in d.fields)
        return Entry(f"{d.name}({fields})", doc)
    if isinstance(d, ir.Enum):
        values = ", ".join(repr(m.value) for m in d.members)
        return Entry(f"{d.name}: enum {values}", doc)
    return Entry(f"{d.name} = {annotation(d.type)}", doc)


def reference(api: ir.Api) -> Reference:
    classes = [wrapper_section(api, owner, flavour) for owner in WRAPPER_OWNERS for flavour in naming.FLAVOURS]
    classes += [
        client_section(api),
        _async_twin(naming.CLIENT_CLASS),
        handler_section(api),
        _async_twin(naming.SERVER_REQUEST_HANDLER_CLASS),
    ]
    definitions = tuple(definition_entry(d) for d in sorted(api.definitions, key=lambda d: d.name))
    counts = (
        f"{len(api.methods)} client methods, {len(api.notifications)} notifications, "
        f"{len(api.server_requests)} server requests, {len(api.definitions)} definitions"
    )
    return Reference(api.schema_version, api.input_hash, tuple(classes), notification_entries(api), definitions, counts)


def render_api_reference(api: ir.Api) -> str:
    return render("API.md.jinja", r=reference(api), code=code)
