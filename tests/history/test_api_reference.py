"""output/API.md: generated with the package, complete, in step with the runtime, drift-checked."""

from __future__ import annotations

import ast
import inspect
import re
import typing
from functools import cache
from pathlib import Path

import codex_app_server
import pytest
from codex_app_server import _api_base, _requester

from generator import write
from generator.api_reference import RuntimeMember, client_runtime_members, render_api_reference, runtime_members
from generator.load import load_inputs
from generator.pipeline import API_REFERENCE, generate
from generator.wrappers import kind_of

from .support import PINNED, REPO_ROOT, api

PUBLIC_CLASSES = (
    "Codex",
    "AsyncCodex",
    "Thread",
    "AsyncThread",
    "TurnHandle",
    "AsyncTurnHandle",
    "LoginHandle",
    "AsyncLoginHandle",
    "AppServerClient",
    "AsyncAppServerClient",
    "ServerRequestHandler",
    "AsyncServerRequestHandler",
)
BASES = {
    "Codex": _api_base.CodexBase,
    "AsyncCodex": _api_base.AsyncCodexBase,
    "Thread": _api_base.ThreadBase,
    "AsyncThread": _api_base.AsyncThreadBase,
    "TurnHandle": _api_base.TurnHandleBase,
    "AsyncTurnHandle": _api_base.AsyncTurnHandleBase,
}
# The low-level clients' runtime bases (the generated methods come from the IR).
CLIENT_BASES = {"AppServerClient": _requester.SyncRequester, "AsyncAppServerClient": _requester.AsyncRequester}
# The runtime imports the v2_all model as ThreadModel: its own Thread classes are the wrappers.


def plain(annotation: str) -> str:
    """The runtime names models through their modules (``v2_all.Turn``); the reference may not."""
    return annotation.replace("v2_all.", "").replace("notifications.", "")


def type_arguments(cls: type) -> dict[str, str]:
    """What the type parameters of the SDK's generic bases stand for in ``cls``, by name.

    ``CodexBase(_CodexCommon[ServerRequestHandler])``: ``{"HandlerT": "ServerRequestHandler"}``,
    read off the classes at run time (``__orig_bases__``), not off their source.
    """
    found: dict[str, str] = {}
    for klass in cls.__mro__:
        for base in getattr(klass, "__orig_bases__", ()):
            origin = typing.get_origin(base)
            if origin is None or origin is typing.Generic:
                continue
            for parameter, argument in zip(origin.__parameters__, typing.get_args(base), strict=True):
                members = typing.get_args(argument) or (argument,)
                # the most derived class binds it: a base further up may only pass the parameter on
                found.setdefault(parameter.__name__, " | ".join(member.__name__ for member in members))
    return found


def bound(signature: str, arguments: dict[str, str]) -> str:
    for parameter, argument in arguments.items():
        signature = re.sub(rf"\b{parameter}\b", argument, signature)
    return signature


@cache
def reference(version: str = PINNED) -> str:
    return render_api_reference(api(version))


def section(text: str, name: str) -> str:
    found = re.search(rf"^## {re.escape(name)}\n(.*?)(?=^## |\Z)", text, flags=re.MULTILINE | re.DOTALL)
    assert found, f"no section {name}"
    return found.group(1)


def test_committed_api_md_is_the_generated_one() -> None:
    assert (REPO_ROOT / "output" / API_REFERENCE).read_text(encoding="utf-8") == reference()


def test_every_public_class_and_method_is_listed() -> None:
    text = reference()
    for name in PUBLIC_CLASSES:
        assert name in dir(codex_app_server), name
        section(text, name)
    client = section(text, "AppServerClient")
    for m in api(PINNED).methods:
        assert f"- `{m.py_name}(" in client and f"(`{m.rpc_method}`)" in client, m.rpc_method
    for w in api(PINNED).wrappers:
        for cls in (w.owner, "Async" + w.owner):
            # an async pager returns an async iterator: nothing to await
            prefix = "async " if cls.startswith("Async") and not kind_of(w).paged else ""
            assert f"- `{prefix}{w.py_name}(" in section(text, cls), (cls, w.py_name)
    handlers = section(text, "ServerRequestHandler")
    for r in api(PINNED).server_requests:
        assert f"- `{r.handler_name}(params: " in handlers
    notes = section(text, "Notifications")
    for n in api(PINNED).notifications:
        assert f"- `{n.rpc_method}`: `{n.class_name}`" in notes
    models = section(text, "Models")
    for d in api(PINNED).definitions:
        assert re.search(rf"^- `{re.escape(d.name)}[ (:=]", models, flags=re.MULTILINE), d.name


def test_signatures_are_the_generated_ones() -> None:
    """The same view code renders api.py and API.md: a signature in the reference is the code's."""
    text = section(reference(), "Codex")
    source = inspect.getsource(codex_app_server.Codex.thread_archive)
    assert "def thread_archive(self, thread_id: str) -> v2_all.ThreadArchiveResponse:" in source
    assert "- `thread_archive(thread_id: str) -> ThreadArchiveResponse`" in text
    run = section(reference(), "Thread")
    assert "- `run(input: str | Input, *, " in run and ") -> RunResult[ParsedT]`" in run


def test_sections_are_sorted() -> None:
    for name in ("AppServerClient", "ServerRequestHandler", "Notifications", "Models"):
        names = re.findall(r"^- `(?:async )?([^`(: =]+)", section(reference(), name), flags=re.MULTILINE)
        assert names == sorted(names), name


def test_reference_follows_the_protocol_version() -> None:
    old, new = reference("0.133.0"), reference(PINNED)
    assert "codex 0.133.0" in old and "codex 0.163.0" in new
    assert "- `thread_rollback(" in old and "- `thread_rollback(" not in new
    assert "- `ReasoningEffort: enum 'none', 'minimal', 'low'" in old
    assert "- `ReasoningEffort = Annotated[str" in new


def listed_members(owner: str) -> tuple[RuntimeMember, ...]:
    return runtime_members()[owner] if owner in BASES else client_runtime_members()[owner]


@pytest.mark.parametrize("owner", sorted({**BASES, **CLIENT_BASES}))
def test_runtime_members_match_the_runtime_classes(owner: str) -> None:
    """The members read off the runtime's source are exactly what the runtime classes provide, with their signatures."""
    base = {**BASES, **CLIENT_BASES}[owner]
    listed = {m.name: m for m in listed_members(owner)}
    attributes = {name for name, m in listed.items() if m.kind == "attribute"}
    own_bases = [cls for cls in base.__mro__ if cls.__module__.startswith("codex_app_server.")]
    public = {n for cls in own_bases for n in vars(cls) if not n.startswith("_")}
    if "__init__" in listed:  # the constructors users call (Thread and TurnHandle are made by the SDK)
        public.add("__init__")
    assert set(listed) - attributes == public
    for name, member in listed.items():
        if member.kind == "attribute":
            # declared in the class or in one of the SDK's own bases it inherits from
            sources = "".join(
                inspect.getsource(cls) for cls in base.__mro__ if cls.__module__.startswith("codex_app_server.")
            )
            assert re.search(rf"self\.{name}: {re.escape(plain(member.signature))} = ", plain(sources)), name
            continue
        value = inspect.getattr_static(base, name)
        if member.kind == "property":
            assert isinstance(value, property)
            assert plain(value.fget.__annotations__["return"]) == plain(member.signature)
            continue
        if member.kind == "classmethod":
            assert isinstance(value, classmethod), name
            value = value.__func__
        signature = plain(
            bound(
                str(inspect.signature(value))
                .replace("'", "")
                .replace("self, ", "")
                .replace("(self)", "()")
                .replace("cls, ", ""),
                type_arguments(base),
            )
        )
        expected = plain(member.signature if member.kind != "constructor" else member.signature + " -> None")
        assert signature == expected, name
        assert inspect.iscoroutinefunction(value) == (member.kind == "async method"), name
        assert inspect.isasyncgenfunction(value) == (member.kind == "async iterator"), name


def test_write_and_drift_cover_api_md(tmp_path: Path) -> None:
    """`generate` writes output/API.md beside the package; `check` notices a hand edit of it."""
    files = generate(load_inputs(REPO_ROOT / "schemas" / "app-server")).files
    write.write_output(tmp_path, files)
    assert (tmp_path / "API.md").read_text(encoding="utf-8") == files[API_REFERENCE]
    assert write.drift(tmp_path, files) == []
    (tmp_path / "API.md").write_text(
        files[API_REFERENCE].replace("thread_archive", "thread_archivez"), encoding="utf-8"
    )
    problems = write.drift(tmp_path, files)
    assert len(problems) == 1 and problems[0].startswith("API.md: differs")
    (tmp_path / "API.md").unlink()
    assert write.drift(tmp_path, files) == ["API.md: missing"]


def test_inherited_generic_members_name_each_clients_own_types() -> None:
    """connect & co. are written once on a generic base; each client's section names its own handler type."""
    blocking, asyncio_ = section(reference(), "Codex"), section(reference(), "AsyncCodex")
    for name in ("connect", "connect_daemon", "connect_command"):
        ours = re.search(rf"^- `classmethod {name}\((.*)\) -> Self`", blocking, flags=re.MULTILINE)
        theirs = re.search(rf"^- `classmethod {name}\((.*)\) -> Self`", asyncio_, flags=re.MULTILINE)
        assert ours and theirs, name
        assert ours[1].endswith("handler: ServerRequestHandler | None = None"), name
        assert theirs[1].endswith("handler: AsyncServerRequestHandler | ServerRequestHandler | None = None"), name
        assert "HandlerT" not in ours[1] + theirs[1]


def test_a_generic_base_is_bound_by_name_and_a_wrong_arity_is_an_error() -> None:
    from generator.api_reference import _bases
    from generator.errors import GeneratorError

    tree = ast.parse("class G(Generic[A, B]): ...\nclass C(G[int, Tb]): ...\nclass D(G[int]): ...\nclass E(C): ...")
    classes = {node.name: node for node in tree.body if isinstance(node, ast.ClassDef)}
    ((parent, arguments),) = _bases(classes["C"], classes)
    assert parent.name == "G" and arguments == {"A": "int", "B": "Tb"}
    assert [(p.name, a) for p, a in _bases(classes["E"], classes)] == [("C", {})]
    with pytest.raises(GeneratorError, match="D: G takes 2 type arguments"):
        _bases(classes["D"], classes)
