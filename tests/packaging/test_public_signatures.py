"""The public API is typed for users: no ``Any`` and no private types in it.

Walks every public function and every public method / property of every
class exported by ``codex_app_server`` (plus every class of the public
``codex_app_server.generated`` modules), resolves its annotations with
``typing.get_type_hints`` and looks inside each type: unions, generics,
``Annotated``, type aliases, ``TypeVar`` bounds.

* ``Any``: explicit, or implicit through a bare generic (``dict``,
  ``list``, ``Mapping`` ...) or ``Callable[..., T]``, is a hole in the
  user's type checking.
* A private type is a class or alias whose name starts with ``_``, or an
  SDK class that lives in a private module (``codex_app_server._x``) and is
  not re-exported from ``codex_app_server`` (or, for a generated model, from
  ``codex_app_server.generated.v2_all``): users could not name it.

Constructors of the classes only the SDK makes (``Thread`` from
``thread_start``, ``TurnHandle`` from ``turn``, the low-level client from
``.client``) take session internals and are not called by users; they are
exempt, listed by name in ``SDK_CONSTRUCTED``, and the test checks that each
of them really is handed out by a public method or property.
"""

from __future__ import annotations

import collections.abc
import importlib
import inspect
import typing
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any, ForwardRef, TypeVar, get_args, get_origin, get_type_hints

import codex_app_server
import pytest
from codex_app_server._routing import TurnWatch
from codex_app_server.generated import v2_all
from typing_extensions import Unpack

PUBLIC_MODULES = (
    "codex_app_server",
    "codex_app_server.generated.api",
    "codex_app_server.generated.client",
    "codex_app_server.generated.notifications",
    "codex_app_server.generated.server_requests",
    "codex_app_server.generated.v2_all",
)
# Dunder methods that are part of how users use a class.
PUBLIC_DUNDERS = ("__init__", "__enter__", "__exit__", "__aenter__", "__aexit__", "__iter__", "__aiter__")
BARE_GENERICS = (list, dict, set, frozenset, tuple, type)
# Users get these from the SDK and never call their constructors.
SDK_CONSTRUCTED = frozenset(
    {
        "Thread",
        "AsyncThread",
        "TurnHandle",
        "AsyncTurnHandle",
        "AppServerClient",
        "AsyncAppServerClient",
        "LoginHandle",
        "AsyncLoginHandle",
    }
)
# A tool is any function: its parameters are whatever the model sends, checked
# at run time against its signature (codex_app_server.tool), so these take
# ``Callable[..., object]`` on purpose.
ANY_FUNCTION = "Callable[..., T] (implicit Any parameters)"
TAKES_ANY_FUNCTION = frozenset(
    {
        "codex_app_server.tool",
        "codex_app_server._tools.Tool",
        "codex_app_server._tools.Tool.__init__",
        "codex_app_server.generated.api.Thread.use_tools",
        "codex_app_server.generated.api.AsyncThread.use_tools",
        "codex_app_server.generated.api.Codex.thread_start",
        "codex_app_server.generated.api.AsyncCodex.thread_start",
    }
)


def allowed_problems(qualname: str) -> set[str]:
    return {ANY_FUNCTION} if qualname in TAKES_ANY_FUNCTION else set()


def _alias_types() -> tuple[type, ...]:
    """``TypeAliasType`` classes: typing's (3.12+) and typing_extensions' (pydantic's JsonValue)."""
    import typing_extensions

    kinds = {getattr(typing, "TypeAliasType", None), typing_extensions.TypeAliasType}
    return tuple(kind for kind in kinds if isinstance(kind, type))


_ALIAS_TYPES = _alias_types()


@dataclass
class Walk:
    """Problems found in one annotation; ``aliases`` guards recursive aliases."""

    problems: set[str] = field(default_factory=set)
    aliases: set[str] = field(default_factory=set)


def is_private_type(tp: object) -> bool:
    name = getattr(tp, "__name__", "")
    if name.startswith("_"):
        return True
    module = getattr(tp, "__module__", "") or ""
    if not module.startswith("codex_app_server"):
        return False
    if getattr(codex_app_server, name, None) is tp:
        return False
    # Generated models live in private modules imported on first use; their
    # public home is v2_all, where every one of them is importable.
    if getattr(v2_all, name, None) is tp:
        return False
    return any(part.startswith("_") for part in module.split("."))


def walk(tp: object, found: Walk) -> None:
    """Record every ``Any`` / private type reachable inside annotation ``tp``."""
    if tp is Any:
        found.problems.add("Any")
    elif isinstance(tp, (ForwardRef, str)):
        name = tp.__forward_arg__ if isinstance(tp, ForwardRef) else tp
        if name not in found.aliases:  # a recursive alias refers to itself by name
            found.problems.add(f"unresolved annotation {name!r}")
    elif get_origin(tp) is Unpack:  # **options: Unpack[TypedDict]; before 3.11 it poses as a TypeVar
        walk(get_args(tp)[0], found)
    elif isinstance(tp, TypeVar):
        for bound in (tp.__bound__, *tp.__constraints__):
            if bound is not None:
                walk(bound, found)
    elif isinstance(tp, _ALIAS_TYPES):
        name = tp.__name__
        if name.startswith("_"):
            found.problems.add(f"private alias {name}")
        if name not in found.aliases:
            found.aliases.add(name)
            walk(tp.__value__, found)
    elif get_origin(tp) is typing.Annotated:
        walk(get_args(tp)[0], found)  # the rest is metadata (Field(...)), not types
    elif get_origin(tp) is typing.Literal:
        pass
    elif isinstance(tp, type) and not get_args(tp):
        if is_private_type(tp):
            found.problems.add(f"private type {tp.__module__}.{tp.__qualname__}")
        if tp in BARE_GENERICS or getattr(tp, "__parameters__", ()) or _is_bare_abc(tp):
            found.problems.add(f"bare generic {tp.__qualname__} (implicit Any)")
    else:
        args = get_args(tp)
        if get_origin(tp) is collections.abc.Callable and args and args[0] is Ellipsis:
            found.problems.add("Callable[..., T] (implicit Any parameters)")
        for arg in args:
            for item in arg if isinstance(arg, list) else [arg]:
                if item is not Ellipsis:
                    walk(item, found)


def _is_bare_abc(tp: type) -> bool:
    return tp.__module__ == "collections.abc" and hasattr(tp, "__class_getitem__")


def annotation_problems(target: object) -> set[str]:
    found = Walk()
    for annotation in get_type_hints(target, include_extras=True).values():
        walk(annotation, found)
    return found.problems


# ------------------------------------------------------------------ the surface


def _module(name: str) -> ModuleType:
    return importlib.import_module(name)


def public_classes() -> dict[str, type]:
    classes: dict[str, type] = {}
    for module_name in PUBLIC_MODULES:
        module = _module(module_name)
        names = getattr(module, "__all__", None) or [n for n in vars(module) if not n.startswith("_")]
        for name in names:
            obj = getattr(module, name)
            if inspect.isclass(obj) and obj.__module__.startswith("codex_app_server"):
                classes[f"{obj.__module__}.{obj.__qualname__}"] = obj
    return classes


def public_functions() -> dict[str, Callable[..., object]]:
    return {
        f"codex_app_server.{name}": obj
        for name in codex_app_server.__all__
        if inspect.isfunction(obj := getattr(codex_app_server, name))
    }


def methods(cls: type) -> Iterator[tuple[str, Callable[..., object]]]:
    """Public methods and property getters that the SDK defines (not pydantic's or object's)."""
    for name in dir(cls):
        if name.startswith("_") and name not in PUBLIC_DUNDERS:
            continue
        attr = inspect.getattr_static(cls, name)
        if isinstance(attr, (staticmethod, classmethod)):
            attr = attr.__func__
        if isinstance(attr, property):
            attr = attr.fget
        if inspect.isfunction(attr) and (attr.__module__ or "").startswith("codex_app_server"):
            yield name, attr


def handed_out_classes() -> set[type]:
    """Classes a public method or property returns: the SDK constructs those."""
    returned: set[type] = set()
    for cls in public_classes().values():
        for _, method in methods(cls):
            hint = get_type_hints(method).get("return")
            for tp in (hint, get_origin(hint), *get_args(hint)):  # LoginHandle[X]: its origin
                if isinstance(tp, type) and tp.__module__.startswith("codex_app_server"):
                    returned.add(tp)
    return returned


def signatures() -> dict[str, Callable[..., object]]:
    found: dict[str, Callable[..., object]] = dict(public_functions())
    for qualname, cls in public_classes().items():
        for name, method in methods(cls):
            if name == "__init__" and cls.__name__ in SDK_CONSTRUCTED:
                continue
            found[f"{qualname}.{name}"] = method
    return found


SIGNATURES = signatures()


# ------------------------------------------------------------------ tests


def test_the_surface_is_what_users_see() -> None:
    """The walk covers the wrappers and the low-level client, not an empty list."""
    names = set(SIGNATURES)
    for expected in (
        "codex_app_server.generated.api.Codex.thread_start",
        "codex_app_server.generated.api.Codex.__init__",
        "codex_app_server.generated.api.AsyncThread.run",
        "codex_app_server.generated.api.TurnHandle.stream",
        "codex_app_server.generated.client.AppServerClient.turn_start",
        "codex_app_server.generated.server_requests.ServerRequestHandler.item_command_execution_request_approval",
        "codex_app_server.retry_on_overload",
    ):
        assert expected in names, f"{expected} is not walked"
    handed_out = {cls.__name__ for cls in handed_out_classes()}
    assert SDK_CONSTRUCTED <= handed_out, f"exempt but never returned by the SDK: {SDK_CONSTRUCTED - handed_out}"


@pytest.mark.parametrize("qualname", sorted(SIGNATURES))
def test_public_signature_has_no_any_and_no_private_types(qualname: str) -> None:
    problems = annotation_problems(SIGNATURES[qualname]) - allowed_problems(qualname)
    assert not problems, f"{qualname}{inspect.signature(SIGNATURES[qualname])}: {sorted(problems)}"


def test_public_class_attributes_have_no_any_and_no_private_types() -> None:
    """Fields of the models, RunResult, AppServerConfig ...: what users read."""
    bad: dict[str, set[str]] = {}
    for qualname, cls in public_classes().items():
        found = Walk()
        for name, annotation in get_type_hints(cls, include_extras=True).items():
            if not name.startswith("_") and name != "model_config":
                walk(annotation, found)
        found.problems -= allowed_problems(qualname)
        if found.problems:
            bad[qualname] = found.problems
    assert not bad, f"{len(bad)} public classes expose Any or private types: {dict(list(bad.items())[:10])}"


def test_the_walk_catches_what_it_claims() -> None:
    """Each kind of hole is reported (so a clean result above means something)."""

    def sample(
        a: Any, b: dict, c: Callable[..., int], d: list[TurnWatch], e: typing.Annotated[int | Any, "x"]
    ) -> None: ...

    problems = annotation_problems(sample)
    assert "Any" in problems
    assert "bare generic dict (implicit Any)" in problems
    assert "Callable[..., T] (implicit Any parameters)" in problems
    assert "private type codex_app_server._routing.TurnWatch" in problems

    def clean(a: codex_app_server.AppServerConfig, b: dict[str, int], c: Callable[[int], str]) -> None: ...

    assert annotation_problems(clean) == set()
