"""Python functions as dynamic tools: the schema from type hints, ``item/tool/call`` -> validate -> call -> content.

A function becomes a :class:`Tool` (by :func:`tool`, or as it is): its
input schema is the JSON Schema pydantic makes from the signature's type
hints, its description the docstring's text, and each parameter's
description the docstring's ``Args:`` line for it. codex offers the tool
to the model of the threads started with it (``thread_start(tools=[...])``)
and, when the model calls it, sends the server request ``item/tool/call``;
the session hands that to :meth:`ToolRegistry.answer`.

Every answer is a ``DynamicToolCallResponse``, never a JSON-RPC error:
codex passes only ``success: false`` answers' text on to the model (an
error answer reaches it as "dynamic tool request failed"), and the model
needs the reason to retry. Invalid arguments are answered without calling
the function, naming the bad argument; an exception becomes
``ExcType: message``; a tool the thread does not have is named with the
ones it has.
"""

from __future__ import annotations

import inspect
import logging
import threading
import typing
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar, overload

from pydantic import BaseModel, ConfigDict, Field, ValidationError, create_model
from pydantic_core import to_json

from ._errors import CodexTypeError, CodexValueError
from ._lazy import LazyModule
from .generated import v2_all

if TYPE_CHECKING:
    from .generated import inputs
else:
    # Generated only for a schema with user inputs: the runtime imports without it
    # (beside the generator's test schemas); the first use imports it.
    inputs = LazyModule(f"{__package__}.generated.inputs")

__all__ = ["Tool", "ToolRegistry", "ToolResult", "as_tool", "tool"]

logger = logging.getLogger("codex_app_server")

F = TypeVar("F", bound=Callable[..., object])

# Where @tool leaves its Tool on the function it returns unchanged.
_TOOL_ATTRIBUTE = "__codex_tool__"
# The docstring sections that name parameters (Google style, the SDK's own).
_ARGS_HEADERS = frozenset({"args:", "arguments:", "parameters:", "params:"})


@dataclass(frozen=True)
class ToolResult:
    """What a tool returns when a plain value is not enough: several content items, or a failure.

    ``content`` items are text (``str``) or images (:class:`ImageInput`, an
    URL or a ``data:`` URL); ``success=False`` tells the model the call
    failed (the content says why) without raising.
    """

    content: Sequence[str | inputs.ImageInput]
    success: bool = True


@dataclass(frozen=True)
class Tool:
    """A Python function offered to the model as a dynamic tool.

    Make one with :func:`tool` (or pass the plain function: :func:`as_tool`).
    ``arguments`` is the pydantic model of the function's parameters; its
    JSON Schema is the tool's input schema.
    """

    function: Callable[..., object]
    name: str
    description: str
    namespace: str | None
    arguments: type[BaseModel]

    @property
    def qualified_name(self) -> str:
        """``namespace.name`` (or ``name``): how messages name the tool."""
        return self.name if self.namespace is None else f"{self.namespace}.{self.name}"

    @property
    def input_schema(self) -> dict[str, v2_all.JsonValue]:
        """The JSON Schema of the tool's arguments (an object with one property per parameter)."""
        return self.arguments.model_json_schema()

    def spec(self) -> BaseModel:
        """The tool as codex declares it (a namespace's tools have the same shape as top-level ones)."""
        return _declared("FunctionDynamicToolNamespaceTool", self._fields())

    def _fields(self) -> dict[str, object]:
        return {"name": self.name, "description": self.description, "input_schema": self.input_schema}

    def validated(self, arguments: object) -> dict[str, object]:
        """The keyword arguments of a call, validated against the signature; raises :class:`ToolArgumentsError`."""
        if arguments is None:
            arguments = {}
        if not isinstance(arguments, Mapping):
            raise ToolArgumentsError(
                f"invalid arguments for tool {self.qualified_name}: expected a JSON object, "
                f"got {type(arguments).__name__}"
            )
        try:
            model = self.arguments.model_validate(arguments)
        except ValidationError as exc:
            raise ToolArgumentsError(_arguments_message(self.qualified_name, exc)) from None
        # Attributes, not model_dump(): a parameter typed as a model gets the model.
        return {name: getattr(model, name) for name in type(model).model_fields}


class ToolArgumentsError(CodexValueError):
    """The model called a tool with arguments that do not fit its signature."""


def _arguments_message(tool_name: str, exc: ValidationError) -> str:
    """Which argument is wrong and how, for the model to retry (the values are left out)."""
    problems = []
    for error in exc.errors(include_url=False, include_context=False, include_input=False):
        where = ".".join(str(part) for part in error["loc"]) or "(arguments)"
        problems.append(f"{where}: {error['msg']}")
    return f"invalid arguments for tool {tool_name}: " + "; ".join(problems)


def _tag(model: type[BaseModel]) -> str:
    """The fixed ``type`` tag of a generated union variant (its Literal annotation)."""
    (value,) = typing.get_args(model.model_fields["type"].annotation)
    return str(value)


def _declared(model_name: str, fields: Mapping[str, object]) -> BaseModel:
    """One ``dynamicTools`` declaration, built with the generated variant ``model_name``.

    Looked up by name, not imported: a codex release without dynamic tools
    (older, or a stable-only schema) has no such model, and the runtime
    must still import and type-check there; only declaring a tool fails.
    """
    model = getattr(v2_all, model_name, None)
    if not (isinstance(model, type) and issubclass(model, BaseModel)):
        raise CodexValueError(f"this codex protocol has no dynamic tools ({model_name} is not in its schema)")
    return model.model_validate({"type": _tag(model), **fields})


# ---------------------------------------------------------------- making tools


@overload
def tool(function: F, /) -> F: ...


@overload
def tool(
    *, name: str | None = None, description: str | None = None, namespace: str | None = None
) -> Callable[[F], F]: ...


def tool(
    function: F | None = None,
    /,
    *,
    name: str | None = None,
    description: str | None = None,
    namespace: str | None = None,
) -> F | Callable[[F], F]:
    """Mark a function as a tool for ``thread_start(tools=[...])``; the function itself is returned unchanged.

    Bare (``@tool``) or with options (``@tool(name=..., description=...,
    namespace=...)``). ``name`` defaults to the function's name,
    ``description`` to its docstring (without the ``Args:`` section, whose
    lines describe the parameters); ``namespace`` groups tools under one
    name the model sees. Plain functions work as tools too: decorating is
    only needed for these options. The signature is checked here: every
    parameter must be passable by keyword (no ``*args``, ``**kwargs`` or
    positional-only ones).
    """

    def mark(fn: F) -> F:
        setattr(fn, _TOOL_ATTRIBUTE, make_tool(fn, name=name, description=description, namespace=namespace))
        return fn

    return mark if function is None else mark(function)


def as_tool(value: Callable[..., object] | Tool) -> Tool:
    """The :class:`Tool` of a decorated function, a plain function, or a Tool."""
    if isinstance(value, Tool):
        return value
    marked = getattr(value, _TOOL_ATTRIBUTE, None)
    if isinstance(marked, Tool):
        return marked
    if not callable(value):
        raise CodexTypeError(f"a tool is a function (or a Tool), not {type(value).__name__}")
    made = make_tool(value)
    if inspect.isfunction(value):
        # Kept on the function, as @tool keeps it: a service starting a thread per request with the
        # same plain function built its arguments model for every thread (~0.7 ms and ~12 KB each).
        setattr(value, _TOOL_ATTRIBUTE, made)
    return made


def make_tool(
    function: Callable[..., object],
    *,
    name: str | None = None,
    description: str | None = None,
    namespace: str | None = None,
) -> Tool:
    tool_name = name or getattr(function, "__name__", None)
    if not tool_name or tool_name == "<lambda>":
        raise CodexValueError(f"tool {function!r} needs a name: use @tool(name=...)")
    summary, parameter_docs = parse_docstring(inspect.getdoc(function))
    arguments = arguments_model(function, tool_name, parameter_docs)
    return Tool(function, tool_name, description or summary or tool_name, namespace, arguments)


def arguments_model(function: Callable[..., object], name: str, docs: Mapping[str, str]) -> type[BaseModel]:
    """The pydantic model of ``function``'s parameters: what the model must send, checked before the call."""
    signature = inspect.signature(function)
    hints = typing.get_type_hints(function, include_extras=True)
    fields: dict[str, Any] = {}
    for parameter in signature.parameters.values():
        if parameter.kind not in (parameter.POSITIONAL_OR_KEYWORD, parameter.KEYWORD_ONLY):
            raise CodexTypeError(
                f"tool {name}: parameter {parameter.name!r} is {parameter.kind.description}; "
                "a tool's parameters must be passable by keyword"
            )
        default = ... if parameter.default is parameter.empty else parameter.default
        fields[parameter.name] = (
            hints.get(parameter.name, Any),
            Field(default, description=docs.get(parameter.name)),
        )
    model: type[BaseModel] = create_model(
        f"{name}_arguments", __config__=ConfigDict(extra="forbid", arbitrary_types_allowed=False), **fields
    )
    return model


def parse_docstring(doc: str | None) -> tuple[str | None, dict[str, str]]:
    """The description (the text before ``Args:``) and each parameter's text of a Google-style docstring.

    ``name (type): text`` and ``name: text`` lines are parameters; deeper
    indented lines continue the one before. Other sections (``Returns:``
    ...) end the arguments and are left out of the description too.
    """
    if not doc:
        return None, {}
    summary: list[str] = []
    params: dict[str, str] = {}
    section: str | None = None  # None: the description; "args"; "other"
    current: str | None = None
    indent = 0
    for line in doc.splitlines():
        stripped = line.strip()
        lowered = stripped.lower()
        if not line.startswith((" ", "\t")) and lowered.endswith(":") and " " not in lowered.rstrip(":"):
            section = "args" if lowered in _ARGS_HEADERS else "other"
            current = None
            continue
        if section is None:
            summary.append(line)
        elif section == "args" and stripped:
            depth = len(line) - len(line.lstrip())
            head, colon, text = stripped.partition(":")
            if colon and (current is None or depth <= indent):
                current, indent = head.split("(")[0].strip(), depth
                params[current] = text.strip()
            elif current is not None:
                params[current] = f"{params[current]} {stripped}".strip()
    description = "\n".join(summary).strip() or None
    return description, params


# ---------------------------------------------------------------- specs


def tool_specs(tools: Iterable[Callable[..., object] | Tool]) -> tuple[list[Tool], list[Any]]:
    """The tools of ``thread_start(tools=...)`` and their ``dynamicTools`` declarations.

    Top-level tools first, then one namespace per distinct namespace (in
    order of appearance); two tools of one name in one namespace are refused.
    """
    resolved = [as_tool(value) for value in tools]
    seen: dict[str, Tool] = {}
    for t in resolved:
        if t.qualified_name in seen:
            raise CodexValueError(f"two tools are named {t.qualified_name!r}: {seen[t.qualified_name]!r} and {t!r}")
        seen[t.qualified_name] = t
    # Any: the declarations are the schema's DynamicToolSpec variants, named only where the schema has them.
    specs: list[Any] = []
    namespaces: dict[str, list[Tool]] = {}
    for t in resolved:
        if t.namespace is None:
            specs.append(_declared("FunctionDynamicToolSpec", t._fields()))
        else:
            namespaces.setdefault(t.namespace, []).append(t)
    for namespace, members in namespaces.items():
        description = f"Tools of {namespace}: " + ", ".join(t.name for t in members)
        fields = {"name": namespace, "description": description, "tools": [t.spec() for t in members]}
        specs.append(_declared("NamespaceDynamicToolSpec", fields))
    return resolved, specs


# ---------------------------------------------------------------- answering calls


def content_items(value: object) -> tuple[bool, list[v2_all.DynamicToolCallOutputContentItem]]:
    """A tool's return value as ``(success, contentItems)``.

    ``str``: the text; :class:`ImageInput`: the image; :class:`ToolResult`:
    its items and success; anything else (a pydantic model, dict, list,
    number, None ...): its JSON text.
    """
    if isinstance(value, ToolResult):
        return value.success, [_content_item(part) for part in value.content]
    if isinstance(value, (str, inputs.ImageInput)):
        return True, [_content_item(value)]
    return True, [_content_item(to_json(value, by_alias=True).decode())]


def _content_item(part: str | inputs.ImageInput) -> v2_all.DynamicToolCallOutputContentItem:
    if isinstance(part, inputs.ImageInput):
        image = v2_all.InputImageDynamicToolCallOutputContentItem
        return image.model_validate({"type": _tag(image), "image_url": part.url})
    if not isinstance(part, str):
        raise CodexTypeError(f"a ToolResult's content is str or ImageInput items, not {type(part).__name__}")
    text = v2_all.InputTextDynamicToolCallOutputContentItem
    return text.model_validate({"type": _tag(text), "text": part})


def response(success: bool, items: list[v2_all.DynamicToolCallOutputContentItem]) -> v2_all.DynamicToolCallResponse:
    return v2_all.DynamicToolCallResponse(success=success, content_items=items)


def failure(message: str) -> v2_all.DynamicToolCallResponse:
    """A ``success: false`` answer whose text reaches the model."""
    return response(False, [_content_item(message)])


def exception_text(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__


def call_sync(tool: Tool, arguments: object) -> v2_all.DynamicToolCallResponse:
    """Validate, call a tool (an ``async def`` one on a private event loop) and make its answer; never raises."""
    try:
        kwargs = tool.validated(arguments)
    except ToolArgumentsError as exc:
        return failure(str(exc))
    try:
        value = tool.function(**kwargs)
        if inspect.isawaitable(value):  # an async tool of a blocking client: this worker thread is free
            import asyncio  # here, not at the top: `import codex_app_server` does not load asyncio

            value = asyncio.run(_awaited(value))
        return response(*content_items(value))
    except Exception as exc:
        return _raised(tool, exc)


async def call_async(tool: Tool, arguments: object) -> v2_all.DynamicToolCallResponse:
    """:func:`call_sync` on an event loop: a sync tool runs in a worker thread, an async one on the loop."""
    if not is_async(tool):
        import asyncio  # see call_sync

        return await asyncio.get_running_loop().run_in_executor(None, call_sync, tool, arguments)
    try:
        kwargs = tool.validated(arguments)
    except ToolArgumentsError as exc:
        return failure(str(exc))
    try:
        return response(*content_items(await _awaited(tool.function(**kwargs))))
    except Exception as exc:
        return _raised(tool, exc)


def _raised(tool: Tool, exc: Exception) -> v2_all.DynamicToolCallResponse:
    """A tool's exception, answered to the model as a failure it can read (and logged)."""
    logger.info("tool %s raised %s", tool.qualified_name, exception_text(exc))
    return failure(exception_text(exc))


async def _awaited(value: object) -> object:
    assert inspect.isawaitable(value)
    return await value


def is_async(tool: Tool) -> bool:
    return inspect.iscoroutinefunction(tool.function)


class ToolRegistry:
    """The tools of each thread of one client: an ``item/tool/call`` finds its tool by thread, namespace and name."""

    def __init__(self) -> None:
        # Reentrant: forget() runs from a Thread object's finalizer, which a garbage collection may run
        # on a thread that holds this lock already.
        self._lock = threading.RLock()
        self._by_thread: dict[str, dict[tuple[str | None, str], Tool]] = {}

    def register(self, thread_id: str, tools: Iterable[Tool]) -> None:
        """``thread_id`` offers ``tools`` (added to what it has; a tool of the same name is replaced)."""
        with self._lock:
            own = self._by_thread.setdefault(thread_id, {})
            own.update({(t.namespace, t.name): t for t in tools})

    def copy(self, source_thread_id: str, thread_id: str) -> None:
        """``thread_id`` (a fork of ``source_thread_id``) has the same tools: codex keeps them on a fork."""
        with self._lock:
            tools = dict(self._by_thread.get(source_thread_id, {}))
            if tools:
                self._by_thread.setdefault(thread_id, {}).update(tools)

    def forget(self, thread_id: str) -> None:
        """No Thread object of this client holds ``thread_id`` any more: its tools go with the last one."""
        with self._lock:
            self._by_thread.pop(thread_id, None)

    def tools_of(self, thread_id: str) -> list[Tool]:
        with self._lock:
            return list(self._by_thread.get(thread_id, {}).values())

    def lookup(self, params: v2_all.DynamicToolCallParams) -> Tool | None:
        with self._lock:
            return self._by_thread.get(params.thread_id, {}).get((params.namespace, params.tool))

    def unknown(self, params: v2_all.DynamicToolCallParams) -> v2_all.DynamicToolCallResponse:
        """The answer to a call of a tool this client does not have on that thread."""
        name = params.tool if params.namespace is None else f"{params.namespace}.{params.tool}"
        offered = sorted(t.qualified_name for t in self.tools_of(params.thread_id))
        has = ", ".join(offered) if offered else "none"
        logger.warning("the model called tool %s, unknown on thread %s", name, params.thread_id)
        return failure(f"unknown tool {name}: this client's tools on this thread: {has}")
