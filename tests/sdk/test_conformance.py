"""The public API against its specification: the seed reference and the pinned protocol schema.

* ``seed_api_reference.txt`` (a verbatim copy of the seed's api-reference) is
  parsed: every class, constructor, property and method it lists is checked
  with ``inspect.signature`` / ``typing.get_type_hints`` (names, positional vs
  keyword-only, defaults, return types); every import block is executed.
* ``schemas/app-server-experimental`` (the ``--experimental`` dump: a superset
  of the stable one) is read directly (not through the generator): every
  client request is a typed method of both low-level clients, every server
  notification has a typed event, every server request a handler method.

No app-server is started here.
"""

from __future__ import annotations

import collections.abc
import dataclasses
import inspect
import json
import re
import types
import typing
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Union

import codex_app_server
import pytest
from codex_app_server import (
    OMIT,
    AppServerClient,
    AsyncAppServerClient,
    AsyncServerRequestHandler,
    ServerRequestHandler,
)
from codex_app_server.generated import api as generated_api
from codex_app_server.generated import v2_all
from codex_app_server.generated.notifications import NOTIFICATION_EVENTS, Notification
from codex_app_server.generated.server_requests import SERVER_REQUESTS

SEED = Path(__file__).with_name("seed_api_reference.txt")
SCHEMAS = Path(__file__).resolve().parents[2] / "schemas" / "app-server-experimental"
V2_BUNDLE, ROOT_BUNDLE = "codex_app_server_protocol.v2.schemas.json", "codex_app_server_protocol.schemas.json"

# Seed headings that describe one class; other headings end a class's section.
SEED_CLASSES = {
    "## Codex (sync)": "Codex",
    "## AsyncCodex (async parity)": "AsyncCodex",
    "### Thread": "Thread",
    "### AsyncThread": "AsyncThread",
    "### TurnHandle": "TurnHandle",
    "### AsyncTurnHandle": "AsyncTurnHandle",
}
# Keywords whose documented default is not None.
NON_NONE_DEFAULTS = {"include_hidden": False, "include_turns": False}
WRAPPER_CLASSES = ("Codex", "AsyncCodex", "Thread", "AsyncThread", "TurnHandle", "AsyncTurnHandle")


# ---------------------------------------------------------------- seed parsing


@dataclass(frozen=True)
class SeedParam:
    name: str
    annotation: str | None
    default: str | None  # source text, None when the seed gives no default
    keyword_only: bool


@dataclass(frozen=True)
class SeedMember:
    owner: str
    name: str
    params: tuple[SeedParam, ...] | None  # None: a property
    returns: str

    def __str__(self) -> str:
        return f"{self.owner}.{self.name}"


def split_top_level(text: str) -> list[str]:
    parts, depth, current = [], 0, ""
    for char in text:
        depth += char in "([{"
        depth -= char in ")]}"
        if char == "," and depth == 0:
            parts.append(current.strip())
            current = ""
        else:
            current += char
    if current.strip():
        parts.append(current.strip())
    return parts


def parse_params(text: str) -> tuple[SeedParam, ...]:
    params, keyword_only = [], False
    for part in split_top_level(text):
        if part == "*":
            keyword_only = True
            continue
        head, _, default = part.partition("=")
        name, _, annotation = head.partition(":")
        params.append(SeedParam(name.strip(), annotation.strip() or None, default.strip() or None, keyword_only))
    return tuple(params)


def seed_lines() -> list[str]:
    return SEED.read_text(encoding="utf-8").splitlines()


def seed_members() -> list[SeedMember]:
    members, owner = [], None
    for line in seed_lines():
        if line.startswith("#"):
            owner = SEED_CLASSES.get(line.strip())
            continue
        if owner is None:
            continue
        method = re.fullmatch(r"- `(\w+)\((.*)\) -> (.+)`", line)
        prop = re.fullmatch(r"- `(\w+) -> (.+)`", line)
        if method:
            members.append(SeedMember(owner, method[1], parse_params(method[2]), method[3]))
        elif prop:
            members.append(SeedMember(owner, prop[1], None, prop[2]))
    return members


def seed_constructors() -> list[tuple[str, tuple[SeedParam, ...]]]:
    found = []
    for line in seed_lines():
        match = re.fullmatch(r"(Codex|AsyncCodex)\((.*)\)", line.strip())
        if match:
            found.append((match[1], parse_params(match[2])))
    return found


def seed_result_fields() -> list[tuple[str, str]]:
    return [(m[1], m[2]) for line in seed_lines() if (m := re.fullmatch(r"- `(\w+): (.+)`", line))]


def seed_imports() -> list[str]:
    text = SEED.read_text(encoding="utf-8")
    return re.findall(r"^from [\w.]+ import (?:\([^)]*\)|[\w, ]+)$", text, flags=re.MULTILINE)


def seed_inputs() -> tuple[dict[str, list[tuple[str, str]]], dict[str, str]]:
    classes, aliases = {}, {}
    for line in seed_lines():
        dataclass_line = re.fullmatch(r"@dataclass class (\w+): (.+)", line.strip())
        alias = re.fullmatch(r"(InputItem|Input) = (.+)", line.strip())
        if dataclass_line:
            fields = [tuple(f.strip() for f in field.split(":")) for field in dataclass_line[2].split(";")]
            classes[dataclass_line[1]] = fields
        elif alias:
            aliases[alias[1]] = alias[2]
    return classes, aliases


MEMBERS = seed_members()


def test_the_seed_copy_was_parsed_completely() -> None:
    """Guards the parser: a format change in the seed must not silently skip checks."""
    owners = {m.owner for m in MEMBERS}
    assert owners == set(SEED_CLASSES.values())
    assert len([m for m in MEMBERS if m.owner == "Codex"]) == 9  # metadata, close, 7 methods
    assert len([m for m in MEMBERS if m.owner == "Thread"]) == 5
    assert len([m for m in MEMBERS if m.owner == "TurnHandle"]) == 4
    assert [c for c, _ in seed_constructors()] == ["Codex", "AsyncCodex"]
    assert [name for name, _ in seed_result_fields()] == ["final_response", "items", "usage"]
    assert len(seed_imports()) == 5  # package entry, ThreadItem line, generated models, retry, example
    classes, aliases = seed_inputs()
    assert len(classes) == 5 and set(aliases) == {"Input", "InputItem"}


# ---------------------------------------------------------------- type helpers


def namespace() -> dict[str, Any]:
    """Names a seed type expression may use; the package's public names win over the models'
    (the seed's ``Thread`` is the wrapper, not the ``v2_all.Thread`` model)."""
    names: dict[str, Any] = dict(vars(v2_all))
    names.update({name: getattr(codex_app_server, name) for name in codex_app_server.__all__})
    names.update(
        {
            "codex_app_server": codex_app_server,
            "Iterator": collections.abc.Iterator,
            "AsyncIterator": collections.abc.AsyncIterator,
            "Awaitable": collections.abc.Awaitable,
            "None": None,
        }
    )
    return names


def evaluate(expression: str) -> Any:
    """A seed type expression as ``get_type_hints`` would report it (Annotated stripped, None as NoneType)."""
    return plain(eval(expression, namespace()))  # the committed seed copy: trusted test data


def plain(tp: Any) -> Any:
    """``tp`` without ``Annotated`` metadata, at any depth (how get_type_hints reports annotations)."""

    def holder() -> None: ...

    holder.__annotations__ = {"return": tp}
    return typing.get_type_hints(holder)["return"]


def flatten(tp: Any) -> set[Any]:
    """The members of a (nested) union, ``X | None`` included."""
    if typing.get_origin(tp) in (Union, types.UnionType):
        return set().union(*(flatten(arg) for arg in typing.get_args(tp)))
    return {type(None) if tp is None else tp}


def mentions_any(tp: Any) -> bool:
    return tp is Any or any(mentions_any(arg) for arg in typing.get_args(tp))


def hints(fn: Any) -> dict[str, Any]:
    return typing.get_type_hints(fn, include_extras=False)


def public_class(name: str) -> type:
    cls = getattr(codex_app_server, name)
    assert isinstance(cls, type), name
    return cls


# ---------------------------------------------------------------- seed checks


@pytest.mark.parametrize("member", [m for m in MEMBERS if m.params is None], ids=str)
def test_seed_properties(member: SeedMember) -> None:
    attr = inspect.getattr_static(public_class(member.owner), member.name)
    assert isinstance(attr, property), f"{member} must be a property"
    assert hints(attr.fget)["return"] == evaluate(member.returns)


@pytest.mark.parametrize("member", [m for m in MEMBERS if m.params is not None], ids=str)
def test_seed_methods(member: SeedMember) -> None:
    assert member.params is not None
    fn = getattr(public_class(member.owner), member.name)
    signature = inspect.signature(fn)
    params = [p for p in signature.parameters.values() if p.name != "self"]
    by_name = {p.name: p for p in params}
    fn_hints = hints(fn)

    # Return type: Awaitable[X] in the seed is a coroutine (or async generator) returning X.
    returns = member.returns
    awaitable = re.fullmatch(r"Awaitable\[(.+)\]", returns)
    if awaitable:
        assert inspect.iscoroutinefunction(fn), f"{member} must be async"
        returns = awaitable[1]
    elif returns.startswith("AsyncIterator["):
        assert inspect.isasyncgenfunction(fn), f"{member} must be an async generator"
    else:
        assert not inspect.iscoroutinefunction(fn), f"{member} must not be async"
    # RunResult / TurnHandle are generic in what output_type parses the answer as: the seed names the class.
    returned = fn_hints["return"]
    if typing.get_args(returned) and all(isinstance(arg, typing.TypeVar) for arg in typing.get_args(returned)):
        returned = typing.get_origin(returned)
    assert returned == evaluate(returns), f"{member} returns {fn_hints['return']}"

    positional = [p for p in params if p.kind is inspect.Parameter.POSITIONAL_OR_KEYWORD]
    assert [p.name for p in positional] == [p.name for p in member.params if not p.keyword_only]
    for seed in member.params:
        assert seed.name in by_name, f"{member} lacks {seed.name}"
        param = by_name[seed.name]
        expected_kind = inspect.Parameter.KEYWORD_ONLY if seed.keyword_only else inspect.Parameter.POSITIONAL_OR_KEYWORD
        assert param.kind is expected_kind, f"{member}({seed.name}) is {param.kind}"
        if seed.default is not None:
            assert param.default == eval(seed.default), f"{member}({seed.name}) default {param.default!r}"
        elif not seed.keyword_only:
            assert param.default is inspect.Parameter.empty, f"{member}({seed.name}) must be required"
        if seed.annotation is not None:  # we may accept more (e.g. str where the seed says Input), never less
            assert flatten(evaluate(seed.annotation)) <= flatten(fn_hints[seed.name]), f"{member}({seed.name})"


@pytest.mark.parametrize("owner", WRAPPER_CLASSES)
def test_every_wrapper_keyword_is_optional_typed_and_keyword_only(owner: str) -> None:
    """Keywords beyond the seed follow the same rules: keyword-only, default None, no Any."""
    cls = public_class(owner)
    for name, fn in inspect.getmembers(cls, inspect.isfunction):
        if name.startswith("_"):
            continue
        fn_hints = hints(fn)
        for param in inspect.signature(fn).parameters.values():
            if param.kind is inspect.Parameter.KEYWORD_ONLY:
                expected = NON_NONE_DEFAULTS.get(param.name)
                assert param.default is expected, f"{owner}.{name}({param.name}) defaults to {param.default!r}"
                if expected is None:
                    assert type(None) in flatten(fn_hints[param.name]), f"{owner}.{name}({param.name})"
            if param.name != "self":
                assert not mentions_any(fn_hints[param.name]), f"Any in {owner}.{name}({param.name})"
        assert not mentions_any(fn_hints.get("return")), f"Any in the return type of {owner}.{name}"


def test_sync_and_async_wrappers_have_the_same_signatures() -> None:
    for sync_name in ("Codex", "Thread", "TurnHandle"):
        sync_cls, async_cls = public_class(sync_name), public_class("Async" + sync_name)
        sync_methods = {n for n, _ in inspect.getmembers(sync_cls, inspect.isfunction) if not n.startswith("_")}
        async_methods = {n for n, _ in inspect.getmembers(async_cls, inspect.isfunction) if not n.startswith("_")}
        assert sync_methods - {"set_handler"} <= async_methods
        for name in sync_methods:
            sync_params = list(inspect.signature(getattr(sync_cls, name)).parameters.values())
            async_params = list(inspect.signature(getattr(async_cls, name)).parameters.values())
            assert [(p.name, p.kind, p.default) for p in sync_params] == [
                (p.name, p.kind, p.default) for p in async_params
            ], name


@pytest.mark.parametrize(("owner", "params"), seed_constructors(), ids=[c for c, _ in seed_constructors()])
def test_seed_constructors(owner: str, params: tuple[SeedParam, ...]) -> None:
    cls = public_class(owner)
    signature = inspect.signature(cls)
    init_hints = hints(cls.__init__)
    (seed,) = params
    first = next(iter(signature.parameters.values()))
    assert first.name == seed.name and first.kind is inspect.Parameter.POSITIONAL_OR_KEYWORD
    assert first.default is None
    assert seed.annotation is not None and flatten(init_hints[seed.name]) == flatten(evaluate(seed.annotation))
    if owner == "Codex":
        assert callable(cls.__enter__) and callable(cls.__exit__)
    else:
        assert inspect.iscoroutinefunction(cls.__aenter__) and inspect.iscoroutinefunction(cls.__aexit__)


def test_run_result_fields() -> None:
    fields = {f.name for f in dataclasses.fields(codex_app_server.RunResult)}
    result_hints = hints(codex_app_server.RunResult)
    for name, annotation in seed_result_fields():
        assert name in fields
        assert result_hints[name] == evaluate(annotation), name


def test_seed_inputs() -> None:
    classes, aliases = seed_inputs()
    for name, fields in classes.items():
        cls = public_class(name)
        assert dataclasses.is_dataclass(cls)
        assert [(f.name, hints(cls)[f.name]) for f in dataclasses.fields(cls)] == [
            (field, evaluate(annotation)) for field, annotation in fields
        ]
    for name, expression in aliases.items():
        assert flatten(getattr(codex_app_server, name)) == flatten(evaluate(expression)), name


@pytest.mark.parametrize("statement", seed_imports())
def test_seed_import_statements_work(statement: str) -> None:
    scope: dict[str, Any] = {}
    exec(statement, scope)  # noqa: S102 - the seed's own import lines
    imported = re.findall(r"\w+", statement.split(" import ", 1)[1])
    assert imported and all(scope[name] is not None for name in imported)


def test_version_and_explicit_all() -> None:
    assert re.fullmatch(r"\d+\.\d+\.\d+(\S*)", codex_app_server.__version__)
    assert len(set(codex_app_server.__all__)) == len(codex_app_server.__all__)
    for name in codex_app_server.__all__:
        assert hasattr(codex_app_server, name), name
    seed_names = {
        name
        for stmt in seed_imports()
        if "generated" not in stmt
        for name in re.findall(r"\w+", stmt.split(" import ", 1)[1])
    }
    assert seed_names <= set(codex_app_server.__all__)


# ---------------------------------------------------------------- protocol coverage


def variants(envelope: str) -> dict[str, dict[str, Any]]:
    """method -> {"params": definition title or None, "schema": params schema} of an envelope union."""
    found = {}
    for variant in DEFINITIONS[envelope]["oneOf"]:
        (method,) = variant["properties"]["method"]["enum"]
        params = variant["properties"].get("params")
        refs = re.findall(r'"#/definitions/(?:v2/)?(\w+)"', json.dumps(params)) if params else []
        title = refs[0] if refs else None
        found[method] = {"params": title, "schema": DEFINITIONS.get(title) if title else None}
    return found


def _definitions() -> dict[str, Any]:
    """Every definition of the dump: the v2 bundle's, plus those only the root bundle has (server requests)."""
    v2 = json.loads((SCHEMAS / V2_BUNDLE).read_text(encoding="utf-8"))["definitions"]
    root = json.loads((SCHEMAS / ROOT_BUNDLE).read_text(encoding="utf-8"))["definitions"]
    return {**{name: schema for name, schema in root.items() if name != "v2"}, **v2}


DEFINITIONS = _definitions()


CLIENT_REQUESTS = variants("ClientRequest")


def rpc_methods(client: type) -> dict[str, Any]:
    """JSON-RPC method -> client method, read from each method's docstring."""
    found = {}
    for name, fn in inspect.getmembers(client, inspect.isfunction):
        if name.startswith("_") or name.startswith("iter_"):
            continue  # iter_*: the pagers of list methods call those methods (tests/sdk/test_paging.py)
        if fn.__qualname__.split(".")[0] != client.__name__:
            continue  # the runtime base's own (close, start): no protocol method
        match = re.search(r"JSON-RPC method: ``([^`]+)``", fn.__doc__ or "")
        assert match, f"{client.__name__}.{name} does not say which method it calls"
        assert match[1] not in found, f"two methods call {match[1]}"
        found[match[1]] = fn
    return found


def test_every_client_request_is_a_typed_method_of_both_clients() -> None:
    assert len(CLIENT_REQUESTS) == 172  # codex 0.163.0: 105 stable + 67 experimental
    sync_methods, async_methods = rpc_methods(AppServerClient), rpc_methods(AsyncAppServerClient)
    assert set(sync_methods) == set(CLIENT_REQUESTS) == set(async_methods)
    for method, fn in sync_methods.items():
        afn = async_methods[method]
        assert fn.__name__ == afn.__name__
        assert not inspect.iscoroutinefunction(fn) and inspect.iscoroutinefunction(afn), method
        assert inspect.signature(fn) == inspect.signature(afn), method
        returns = hints(fn)["return"]  # a response model, or a union of them
        assert all(isinstance(t, type) and issubclass(t, v2_all.WireModel) for t in flatten(returns)), method
        assert hints(afn)["return"] == returns


@pytest.mark.parametrize("method", sorted(CLIENT_REQUESTS))
def test_client_method_parameters_follow_the_params_schema(method: str) -> None:
    fn = rpc_methods(AppServerClient)[method]
    params = [p for p in inspect.signature(fn).parameters.values() if p.name != "self"]
    schema = CLIENT_REQUESTS[method]["schema"]
    if schema is None or (not schema.get("properties") and not {"oneOf", "anyOf"} & set(schema)):
        assert params == [], method  # nothing to send
        return
    if "properties" not in schema:  # a union of param shapes: one typed positional argument
        (only,) = params
        assert only.name == "params" and only.default is inspect.Parameter.empty, method
        assert flatten(hints(fn)["params"]) == flatten(plain(getattr(v2_all, CLIENT_REQUESTS[method]["params"])))
        return
    model = getattr(v2_all, CLIENT_REQUESTS[method]["params"])
    model.model_rebuild()  # models are built lazily; their field aliases are known once built
    wire_names = {name: (info.alias or name) for name, info in model.model_fields.items()}
    assert all(p.kind is inspect.Parameter.KEYWORD_ONLY for p in params), method
    assert {wire_names[p.name] for p in params} == set(schema["properties"]), method
    required = set(schema.get("required", []))
    for param in params:
        if wire_names[param.name] in required:
            assert param.default is inspect.Parameter.empty, f"{method}({param.name}) must be required"
        else:
            assert param.default is OMIT, f"{method}({param.name}) must default to OMIT (not sent)"


def test_every_notification_has_a_typed_event() -> None:
    notifications = variants("ServerNotification")
    assert len(notifications) == 85  # codex 0.163.0
    assert set(NOTIFICATION_EVENTS) == set(notifications)
    union = set(typing.get_args(Notification))
    for method, spec in notifications.items():
        event = NOTIFICATION_EVENTS[method]
        assert event in union, method
        event_hints = hints(event)
        assert event_hints["method"] == typing.Literal[method]
        assert event_hints["params"] is getattr(v2_all, spec["params"]), method


def test_every_server_request_has_a_handler_method() -> None:
    requests = variants("ServerRequest")
    assert len(requests) == 11  # codex 0.163.0: 10 stable + currentTime/read (experimental)
    assert set(SERVER_REQUESTS) == set(requests)
    for method, spec in requests.items():
        entry = SERVER_REQUESTS[method]
        assert plain(entry.params) == plain(getattr(v2_all, spec["params"])), method
        sync_fn = getattr(ServerRequestHandler, entry.handler)
        async_fn = getattr(AsyncServerRequestHandler, entry.handler)
        assert not inspect.iscoroutinefunction(sync_fn) and inspect.iscoroutinefunction(async_fn), method
        for fn in (sync_fn, async_fn):
            fn_hints = hints(fn)
            assert fn_hints["params"] == plain(entry.params) and fn_hints["return"] is entry.response, method


def test_generated_api_module_exports_the_wrappers() -> None:
    assert set(WRAPPER_CLASSES) <= set(generated_api.__all__)


def iter_public_wrapper_methods() -> Iterator[tuple[str, Any]]:
    for owner in WRAPPER_CLASSES:
        for name, fn in inspect.getmembers(public_class(owner), inspect.isfunction):
            if not name.startswith("_"):
                yield f"{owner}.{name}", fn


def test_every_public_wrapper_member_is_documented() -> None:
    for qualname, fn in iter_public_wrapper_methods():
        assert fn.__doc__, f"{qualname} has no docstring"
    for owner in WRAPPER_CLASSES:
        for name, prop in inspect.getmembers(public_class(owner), lambda m: isinstance(m, property)):
            assert prop.__doc__, f"{owner}.{name} has no docstring"
