"""Stage 4a (docs): ``output/API.md``, the generated API reference.

Every public class of the package (Codex, AsyncCodex, Thread, AsyncThread,
TurnHandle, AsyncTurnHandle, AppServerClient, AsyncAppServerClient,
ServerRequestHandler, AsyncServerRequestHandler) with every method's full
signature and one-line doc, then the notifications and every definition of
``generated.v2_all`` with its fields. Built from the IR and the same view
functions that render the code (so a signature here is the signature
there), sorted, no timestamps: its git diff is a readable review of a bump.

The members the hand-written runtime adds to the generated classes (the
wrappers' bases in ``_api_base.py``, the low-level clients' in
``_requester.py``, the connect methods both share in ``_connect.py``) are
not in the IR: :func:`runtime_members` and :func:`client_runtime_members`
read them off those files' source (signatures and docstrings), so the
reference follows the code.
"""

from __future__ import annotations

import ast
import inspect
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from functools import cache
from pathlib import Path

from . import ir, naming
from .api_views import (
    CLASS_DOCS,
    MODELS,
    WRAPPER_OWNERS,
    client_method_view,
    first_paragraph,
    pager_view,
    server_requests_module,
    wrapper_view,
)
from .errors import GeneratorError, Location
from .pyexpr import annotation
from .render import render


def _unqualified(signature: str) -> str:
    """The code names models ``v2_all.X`` (and the event union ``notifications.Notification``); here ``X`` says it.

    Except where ``X`` is also a wrapper class (the ``v2_all.Thread`` model is not the ``Thread`` wrapper).
    """
    return _QUALIFIED.sub(lambda m: m[0] if m[1] in _WRAPPER_CLASS_NAMES else m[1], signature)


_QUALIFIED = re.compile(r"(?<![\w.])(?:" + re.escape(MODELS) + r"|notifications\.)(\w+)")
_WRAPPER_CLASS_NAMES = frozenset(flavour.name(owner) for owner in WRAPPER_OWNERS for flavour in naming.FLAVOURS)


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


# The runtime base of each generated wrapper class, and its source (read, never imported).
RUNTIME_DIR = Path(__file__).resolve().parents[1] / "output" / "src" / "codex_app_server"
RUNTIME_SOURCE = RUNTIME_DIR / "_api_base.py"
# The low-level clients' runtime bases.
CLIENT_RUNTIME_SOURCE = RUNTIME_DIR / "_requester.py"
# Bases both share, defined elsewhere (the connect classmethods).
SHARED_RUNTIME_SOURCES = ("_connect.py",)
# Hand-written classes the generated wrappers return, each with its own section: (module file, class names).
RUNTIME_RESULT_CLASSES: tuple[tuple[str, tuple[str, ...]], ...] = (("_login.py", ("LoginHandle", "AsyncLoginHandle")),)
# The wrapper classes users construct themselves; the SDK makes the others (Thread, TurnHandle).
USER_CONSTRUCTED = frozenset({"Codex"})


@cache
def runtime_members() -> Mapping[str, tuple[RuntimeMember, ...]]:
    """Members of the runtime bases (``_api_base.py``), by generated class, read off their source.

    Public methods, properties and the ``self.name: T = ...`` attributes
    set in ``__init__`` (also of the SDK's own bases), with the signatures
    and first docstring sentences of the code. The constructor is listed
    for the classes users construct.
    """
    classes = _runtime_classes(RUNTIME_SOURCE.name)
    out: dict[str, tuple[RuntimeMember, ...]] = {}
    for owner in WRAPPER_OWNERS:
        for flavour in naming.FLAVOURS:
            name = flavour.name(owner)
            base = classes.get(naming.wrapper_base_class(name))
            if base is None:
                raise GeneratorError(
                    Location(RUNTIME_SOURCE.name), f"no class {naming.wrapper_base_class(name)} for {name}"
                )
            members = _methods(base, classes, with_constructor=owner in USER_CONSTRUCTED)
            members += _attributes(base, classes)
            out[name] = tuple(sorted(members, key=lambda m: m.name))
    return out


@cache
def client_runtime_members() -> Mapping[str, tuple[RuntimeMember, ...]]:
    """Members of the low-level clients' runtime bases (``_requester.py``), by generated class, read off their source.

    What they add to the generated methods: the ``connect*`` classmethods,
    ``close`` and friends, ``server_version``. Their constructors take
    session internals (the SDK makes them): not listed.
    """
    classes = _runtime_classes(CLIENT_RUNTIME_SOURCE.name)
    out: dict[str, tuple[RuntimeMember, ...]] = {}
    for flavour in naming.FLAVOURS:
        base = classes.get(naming.requester_class(flavour))
        if base is None:
            raise GeneratorError(Location(CLIENT_RUNTIME_SOURCE.name), f"no class {naming.requester_class(flavour)}")
        members = _methods(base, classes, with_constructor=False) + _attributes(base, classes)
        out[flavour.name(naming.CLIENT_CLASS)] = tuple(sorted(members, key=lambda m: m.name))
    return out


@cache
def client_runtime_names() -> Mapping[str, tuple[str, Location]]:
    """Each public name the low-level clients' hand-written bases define -> that member (``SyncRequester.close``), where.

    Both flavours' (the async one has ``start`` too): a generated client
    method of such a name would shadow the runtime's (see ``protocol.build_methods``).
    """
    where = Location(CLIENT_RUNTIME_SOURCE.relative_to(RUNTIME_DIR.parents[2]).as_posix())
    out: dict[str, tuple[str, Location]] = {}
    for flavour in naming.FLAVOURS:
        base = naming.requester_class(flavour)
        for member in client_runtime_members()[flavour.name(naming.CLIENT_CLASS)]:
            out.setdefault(member.name, (f"{base}.{member.name}", where))
    return dict(sorted(out.items()))


def _runtime_classes(file: str) -> dict[str, ast.ClassDef]:
    """The classes of runtime module ``file``, with the shared bases they may name."""
    classes: dict[str, ast.ClassDef] = {}
    for shared in SHARED_RUNTIME_SOURCES:
        classes.update(_module_classes(shared))
    classes.update(_module_classes(file))
    return classes


def _module_classes(file: str) -> dict[str, ast.ClassDef]:
    path = RUNTIME_DIR / file
    try:
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    except (OSError, SyntaxError) as exc:
        raise GeneratorError(Location(file), f"cannot read the runtime module: {exc}") from None
    return {node.name: node for node in tree.body if isinstance(node, ast.ClassDef)}


@cache
def runtime_result_sections() -> tuple[ClassSection, ...]:
    """A section per hand-written class the wrappers return (``LoginHandle`` ...), read off its source."""
    sections = []
    for file, names in RUNTIME_RESULT_CLASSES:
        classes = _module_classes(file)
        for name in names:
            node = classes.get(name)
            if node is None:
                raise GeneratorError(Location(file), f"no class {name}")
            members = sorted(
                _methods(node, classes, with_constructor=False) + _attributes(node, classes), key=lambda m: m.name
            )
            intro = first_paragraph(ast.get_docstring(node)) or ""
            entries = tuple(
                sorted(
                    (
                        Entry(_unqualified(e.signature), e.doc and _unqualified(e.doc))
                        for e in map(lambda m: m.entry(name), members)
                    ),
                    key=_entry_key,
                )
            )
            sections.append(ClassSection(name, intro.replace("``", "`"), entries))
    return tuple(sections)


def _doc(text: str | None) -> str | None:
    """A docstring's first sentence, in Markdown (``x`` -> `x`)."""
    line = one_line(text)
    return line.replace("``", "`") if line else None


def _signature(fn: ast.FunctionDef | ast.AsyncFunctionDef, *, returns: bool = True) -> str:
    """``(a: T, *, b: U = 1) -> R`` without ``self``, as ``inspect.signature`` prints it."""
    args = fn.args
    positional = [*args.posonlyargs, *args.args][1:]  # self
    defaults: list[ast.expr | None] = [None] * (len(positional) - len(args.defaults)) + list(args.defaults)
    parts = [_parameter(a, d) for a, d in zip(positional, defaults, strict=True)]
    if args.vararg is not None:
        parts.append("*" + _parameter(args.vararg, None))
    elif args.kwonlyargs:
        parts.append("*")
    parts += [_parameter(a, d) for a, d in zip(args.kwonlyargs, args.kw_defaults, strict=True)]
    if args.kwarg is not None:
        parts.append("**" + _parameter(args.kwarg, None))
    text = "(" + ", ".join(parts) + ")"
    if returns and fn.returns is not None:
        text += " -> " + ast.unparse(fn.returns)
    return text


def _parameter(arg: ast.arg, default: ast.expr | None) -> str:
    text = arg.arg + (f": {ast.unparse(arg.annotation)}" if arg.annotation is not None else "")
    return text + (f" = {ast.unparse(default)}" if default is not None else "")


def _is_async_generator(fn: ast.AsyncFunctionDef) -> bool:
    return any(isinstance(node, (ast.Yield, ast.YieldFrom)) for node in ast.walk(fn))


def _bases(cls: ast.ClassDef, classes: Mapping[str, ast.ClassDef]) -> list[tuple[ast.ClassDef, dict[str, str]]]:
    """The bases of ``cls`` defined in the same module, each with what its type parameters stand for in ``cls``.

    ``class CodexBase(_CodexCommon[ServerRequestHandler])`` with
    ``class _CodexCommon(Generic[HandlerT])``: ``{"HandlerT": "ServerRequestHandler"}``.
    """
    out = []
    for written in cls.bases:
        base = written.value if isinstance(written, ast.Subscript) else written
        arguments = _subscript_items(written) if isinstance(written, ast.Subscript) else []
        if isinstance(base, ast.Name) and base.id in classes:
            parent = classes[base.id]
            parameters = _type_parameters(parent)
            if len(arguments) != len(parameters):
                raise GeneratorError(
                    Location(RUNTIME_SOURCE.name), f"{cls.name}: {base.id} takes {len(parameters)} type arguments"
                )
            out.append((parent, {p: ast.unparse(a) for p, a in zip(parameters, arguments, strict=True)}))
    return out


def _subscript_items(node: ast.Subscript) -> list[ast.expr]:
    return list(node.slice.elts) if isinstance(node.slice, ast.Tuple) else [node.slice]


def _type_parameters(cls: ast.ClassDef) -> list[str]:
    """``["T"]`` for ``class C(Generic[T])``; empty for a class that is not generic."""
    for base in cls.bases:
        if isinstance(base, ast.Subscript) and isinstance(base.value, ast.Name) and base.value.id == "Generic":
            return [ast.unparse(item) for item in _subscript_items(base)]
    return []


def _bound(member: RuntimeMember, arguments: Mapping[str, str]) -> RuntimeMember:
    """``member`` as the subclass sees it: each type parameter replaced by its argument."""
    signature = member.signature
    for parameter, argument in arguments.items():
        signature = re.sub(rf"\b{re.escape(parameter)}\b", argument, signature)
    return replace(member, signature=signature)


def _methods(cls: ast.ClassDef, classes: Mapping[str, ast.ClassDef], *, with_constructor: bool) -> list[RuntimeMember]:
    """Public methods and properties of ``cls`` and of its bases defined in the same module."""
    inherited: dict[str, RuntimeMember] = {}
    for base, arguments in _bases(cls, classes):
        inherited.update((m.name, _bound(m, arguments)) for m in _methods(base, classes, with_constructor=False))
    own = _own_methods(cls, with_constructor=with_constructor)
    return [*(m for name, m in inherited.items() if name not in {o.name for o in own}), *own]


def _own_methods(cls: ast.ClassDef, *, with_constructor: bool) -> list[RuntimeMember]:
    out = []
    for node in cls.body:
        if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            continue
        if node.name == "__init__" and with_constructor:
            out.append(
                RuntimeMember(node.name, "constructor", _signature(node, returns=False), _doc(ast.get_docstring(cls)))
            )
            continue
        if node.name.startswith("_"):
            continue
        doc = _doc(ast.get_docstring(node))
        decorators = {d.id for d in node.decorator_list if isinstance(d, ast.Name)}
        if "property" in decorators:
            out.append(RuntimeMember(node.name, "property", ast.unparse(node.returns) if node.returns else "", doc))
        elif "classmethod" in decorators:
            out.append(RuntimeMember(node.name, "classmethod", _signature(node), doc))
        elif isinstance(node, ast.AsyncFunctionDef):
            kind = "async iterator" if _is_async_generator(node) else "async method"
            out.append(RuntimeMember(node.name, kind, _signature(node), doc))
        else:
            out.append(RuntimeMember(node.name, "method", _signature(node), doc))
    return out


def _attributes(cls: ast.ClassDef, classes: Mapping[str, ast.ClassDef]) -> list[RuntimeMember]:
    """``self.name: T = ...`` in ``__init__`` of ``cls`` and of its bases defined in the same module."""
    out: dict[str, RuntimeMember] = {}
    for base, arguments in _bases(cls, classes):
        out.update((m.name, _bound(m, arguments)) for m in _attributes(base, classes))
    init = next((n for n in cls.body if isinstance(n, ast.FunctionDef) and n.name == "__init__"), None)
    body = init.body if init is not None else []
    for index, stmt in enumerate(body):
        target = stmt.target if isinstance(stmt, ast.AnnAssign) else None
        if (
            isinstance(stmt, ast.AnnAssign)
            and isinstance(target, ast.Attribute)
            and isinstance(target.value, ast.Name)
            and target.value.id == "self"
            and not target.attr.startswith("_")
        ):
            after = body[index + 1] if index + 1 < len(body) else None
            text = (
                after.value.value
                if isinstance(after, ast.Expr)
                and isinstance(after.value, ast.Constant)
                and isinstance(after.value.value, str)
                else None
            )
            doc = _doc(inspect.cleandoc(text)) if text is not None else None
            out[target.attr] = RuntimeMember(target.attr, "attribute", ast.unparse(stmt.annotation), doc)
    return list(out.values())


def wrapper_intro(name: str) -> str:
    """The intro of a wrapper class's section: the first paragraph of its docstring, in Markdown."""
    paragraph = CLASS_DOCS[name].split("\n\n", 1)[0]
    return re.sub(r":class:`([^`]+)`", r"`\1`", " ".join(paragraph.split())).replace("``", "`")


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


def wrapper_section(api: ir.Api, owner: str, flavour: naming.Flavour) -> ClassSection:
    name = flavour.name(owner)
    methods = {m.rpc_method: m for m in api.methods}
    entries = [m.entry(name) for m in runtime_members().get(name, ())]
    entries = [Entry(_unqualified(e.signature), e.doc and _unqualified(e.doc)) for e in entries]
    for w in api.wrappers:
        if w.owner != owner:
            continue
        view = wrapper_view(w, flavour, methods[w.rpc_method], api)
        doc = _doc(w.description) or f"Call `{w.rpc_method}`."
        signature = _unqualified(f"{view.prefix}{w.py_name}({view.signature}) -> {view.returns}")
        entries.append(Entry(signature, _experimental_doc(f"{doc} (`{w.rpc_method}`)", False, w.keywords)))
    return ClassSection(name, wrapper_intro(name), tuple(sorted(entries, key=_entry_key)))


EXPERIMENTAL_MARK = "**Experimental.**"


def _experimental_doc(doc: str, whole: bool, parameters: Sequence[ir.Parameter] = ()) -> str:
    """An entry's doc marked as (partly) experimental: the whole member, or which keywords are."""
    if whole:
        return f"{EXPERIMENTAL_MARK} {doc}"
    marked = [p.py_name for p in parameters if p.experimental]
    return f"{doc} Experimental keywords: {', '.join(f'`{n}`' for n in marked)}." if marked else doc


def _entry_key(entry: Entry) -> tuple[int, str]:
    """Constructor first, then by member name (``async `` prefixes ignored)."""
    text = entry.signature.removeprefix("async ")
    return (0 if "(" in text and text.split("(", 1)[0][:1].isupper() else 1, text)


def client_section(api: ir.Api) -> ClassSection:
    entries = _runtime_entries(naming.CLIENT_CLASS)
    for m in api.methods:
        view = client_method_view(m, api)
        summary = m.description or (_model_description(api, m.params_model))
        doc = one_line(summary) or f"Call `{m.rpc_method}`."
        entries.append(
            Entry(
                _unqualified(f"{m.py_name}({view.signature}) -> {view.returns}"),
                _experimental_doc(f"{doc} (`{m.rpc_method}`)", m.experimental, m.parameters),
            )
        )
    for m in api.methods:
        pager = pager_view(m, api)
        if pager is not None:
            signature = f"{pager.name}({pager.signature}) -> Iterator[{pager.item}]"
            doc = f"Every item of `{m.rpc_method}`, page after page (follows `nextCursor`); async: `AsyncIterator`."
            entries.append(Entry(_unqualified(signature), doc))
    intro = (
        "Every client request of the protocol as a typed method, from `Codex.client` (its Codex's connection) "
        "or `AppServerClient.connect(...)` (a connection of its own). Optional keywords "
        "default to `OMIT` and are not sent; `None` sends null where the schema allows it. Each cursor-paged "
        "list method also has an `iter_` twin that yields every item across pages."
    )
    return ClassSection(naming.CLIENT_CLASS, intro, tuple(sorted(entries, key=_entry_key)))


def _runtime_entries(name: str) -> list[Entry]:
    """The runtime members of a low-level client class as entries."""
    return [
        Entry(_unqualified(e.signature), e.doc and _unqualified(e.doc))
        for e in (m.entry(name) for m in client_runtime_members()[name])
    ]


def async_client_section() -> ClassSection:
    name = naming.Flavour(is_async=True).name(naming.CLIENT_CLASS)
    intro = (
        f"The asyncio twin of `{naming.CLIENT_CLASS}`: the same methods with the same signatures, each an "
        "`async def`; its own members:"
    )
    return ClassSection(name, intro, tuple(sorted(_runtime_entries(name), key=_entry_key)))


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
        entries.append(Entry(signature, _experimental_doc(f"{doc} {suffix}" if doc else suffix, request.experimental)))
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
    if d.experimental:
        doc = f"{EXPERIMENTAL_MARK} {doc}" if doc else EXPERIMENTAL_MARK
    if isinstance(d, ir.Model):
        fields = ", ".join(f"{f.py_name}{'' if f.required else '?'}: {annotation(f.type)}" for f in d.fields)
        marked = [f.py_name for f in d.fields if f.experimental]
        if marked and not d.experimental:
            note = f"Experimental fields: {', '.join(f'`{n}`' for n in marked)}."
            doc = f"{doc} {note}" if doc else note
        return Entry(f"{d.name}({fields})", doc)
    if isinstance(d, ir.Enum):
        values = ", ".join(repr(m.value) for m in d.members)
        return Entry(f"{d.name}: enum {values}", doc)
    return Entry(f"{d.name} = {annotation(d.type)}", doc)


def reference(api: ir.Api) -> Reference:
    classes = [wrapper_section(api, owner, flavour) for owner in WRAPPER_OWNERS for flavour in naming.FLAVOURS]
    classes += runtime_result_sections()
    classes += [
        client_section(api),
        async_client_section(),
        handler_section(api),
        _async_twin(naming.SERVER_REQUEST_HANDLER_CLASS),
    ]
    definitions = tuple(definition_entry(d) for d in sorted(api.definitions, key=lambda d: d.name))
    counts = (
        f"{len(api.methods)} client methods{_of_them_experimental(api.methods)}, "
        f"{len(api.notifications)} notifications{_of_them_experimental(api.notifications)}, "
        f"{len(api.server_requests)} server requests{_of_them_experimental(api.server_requests)}, "
        f"{len(api.definitions)} definitions{_of_them_experimental(api.definitions)}"
    )
    return Reference(api.schema_version, api.input_hash, tuple(classes), notification_entries(api), definitions, counts)


def _of_them_experimental(items: Sequence[ir.Method | ir.Notification | ir.ServerRequest | ir.Definition]) -> str:
    count = sum(1 for item in items if item.experimental)
    return f" ({count} experimental)" if count else ""


def render_api_reference(api: ir.Api) -> str:
    return render("API.md.jinja", m=reference(api))
