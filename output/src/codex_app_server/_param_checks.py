"""Client-side checks of request params, and the one short message for each failure.

Every argument of every method goes through :func:`summarize` (what the
params model rejected) and :func:`unknown_enum_values` (a value the model
accepted only because received enums stay open to newer servers: what we
send must be a value this server knows). Both name the parameter and, for an
enum, its allowed values, instead of pydantic's multi-line dump.
:func:`local_path_problems` checks ``cwd`` params when the app-server runs
on this machine, with :func:`directory_problem` (which checks the config's
``cwd`` too).
"""

from __future__ import annotations

import enum
import os
from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING

from pydantic import BaseModel

if TYPE_CHECKING:
    from pydantic import ValidationError

__all__ = [
    "directory_problem",
    "experimental_uses",
    "local_path_problems",
    "raw_experimental_uses",
    "summarize",
    "unknown_enum_values",
]

_LOCAL_PATH_PARAMS = ("cwd",)


def summarize(exc: ValidationError, params_type: object = None) -> str:
    """One line per bad parameter: ``name='value': expected ...`` (python names, not wire names)."""
    python_names = _python_names(params_type)
    by_param: dict[str, list[Mapping[str, object]]] = {}
    for error in exc.errors(include_url=False):
        loc = error["loc"]
        param = python_names.get(str(loc[0]), str(loc[0])) if loc else "params"
        by_param.setdefault(param, []).append({**error, "loc": (param, *loc[1:])})
    return "; ".join(_one_param(param, errors) for param, errors in by_param.items())


def _python_names(params_type: object) -> dict[str, str]:
    if not (isinstance(params_type, type) and issubclass(params_type, BaseModel)):
        return {}
    return {info.alias: name for name, info in params_type.model_fields.items() if info.alias}


def _one_param(param: str, errors: list[Mapping[str, object]]) -> str:
    # A union reports one error per member; the enum/literal member's list of
    # allowed values is what the user needs.
    choices = [e for e in errors if isinstance(e.get("ctx"), Mapping) and "expected" in e["ctx"]]  # type: ignore[operator]
    first = choices[0] if choices else errors[0]
    # Inside a union the location ends in member names ("literal[...]"): the parameter says enough.
    where = param if choices else ".".join(str(part) for part in first["loc"]) or param  # type: ignore[attr-defined]
    if first.get("type") == "missing":
        return f"{where}: required"
    got = f"{where}={first.get('input')!r}"
    if choices and isinstance(first.get("input"), Mapping):
        # An object was given: what is wrong inside it, not the names it is not.
        inside = [e for e in errors if e not in choices]
        if inside:
            return _object_problems(inside)
    if choices:
        ctx = first["ctx"]
        assert isinstance(ctx, Mapping)
        others = " (or an object)" if len(errors) > len(choices) else ""
        return f"{got}: expected one of {ctx['expected']}{others}"
    return f"{got}: {first.get('msg')}"


def _object_problems(errors: list[Mapping[str, object]]) -> str:
    """The problems inside an object given for a union parameter: missing fields grouped by object."""
    missing: dict[str, list[str]] = {}
    others: list[str] = []
    for error in errors:
        path = [str(part) for part in error["loc"] if not _is_union_tag(part)]  # type: ignore[attr-defined]
        if error.get("type") == "missing":
            missing.setdefault(".".join(path[:-1]), []).append(path[-1])
        else:
            others.append(f"{'.'.join(path)}={error.get('input')!r}: {error.get('msg')}")
    found = [f"{where}: missing required field(s) {', '.join(names)}" for where, names in missing.items()]
    return "; ".join(found + others)


def _is_union_tag(part: object) -> bool:
    """A location part that names a union member (``GranularAskForApproval``, ``literal[...]``), not a field."""
    return isinstance(part, str) and ("[" in part or part[:1].isupper())


def unknown_enum_values(value: object, path: str = "") -> Iterator[str]:
    """Problems for enum members that are not declared (created for an unknown wire value)."""
    if isinstance(value, enum.Enum):
        declared = type(value).__members__
        if declared.get(value.name) is not value:
            allowed = ", ".join(repr(member.value) for member in declared.values())
            yield f"{path}={value.value!r}: expected one of {allowed}"
    elif isinstance(value, BaseModel):
        for name in value.model_fields_set:
            yield from unknown_enum_values(getattr(value, name), f"{path}.{name}" if path else name)
    elif isinstance(value, (list, tuple)):
        for index, item in enumerate(value):
            yield from unknown_enum_values(item, f"{path}[{index}]")


def local_path_problems(wire: object) -> Iterator[str]:
    """Problems with directory params for an app-server that shares this machine's filesystem.

    codex resolves a relative ``cwd`` against its own working directory and
    accepts a missing one, then fails only when a command runs there.
    """
    if not isinstance(wire, Mapping):
        return
    for name in _LOCAL_PATH_PARAMS:
        path = wire.get(name)
        if not isinstance(path, str):
            continue
        if not os.path.isabs(path):
            yield f"{name}={path!r}: not an absolute path (codex would resolve it against its own working directory)"
            continue
        problem = directory_problem(path)
        if problem:
            yield f"{name}={path!r}: {problem} on this machine"


def directory_problem(path: str) -> str | None:
    """Why ``path`` is not a usable working directory on this machine, or None."""
    if not os.path.exists(path):
        return "no such directory"
    if not os.path.isdir(path):
        return "not a directory"
    return None


def experimental_uses(value: object) -> Iterator[str]:
    """What validated params use of the experimental API (generated ``EXPERIMENTAL_FIELDS``/``_MODELS``).

    A top-level field reads ``keyword (wireName)``, a nested one as its JSON
    pointer; what an experimental field holds is not looked into (the field
    says it all).
    """
    from .generated.experimental import EXPERIMENTAL_FIELDS, EXPERIMENTAL_MODELS  # noqa: PLC0415

    stack: list[tuple[object, str]] = [(value, "")]
    while stack:
        item, pointer = stack.pop()
        if isinstance(item, BaseModel):
            name = type(item).__name__
            if name in EXPERIMENTAL_MODELS:
                yield f"{pointer or '/'} ({name})"
                continue
            marked = EXPERIMENTAL_FIELDS.get(name, {})
            fields = type(item).model_fields
            inside: list[tuple[object, str]] = []
            for attribute in sorted(item.model_fields_set):
                wire = fields[attribute].alias or attribute if attribute in fields else attribute
                child = f"{pointer}/{_escaped(wire)}"
                if attribute in marked:
                    yield f"{attribute} ({wire})" if not pointer else child
                else:
                    inside.append((getattr(item, attribute), child))
            stack.extend(reversed(inside))  # looked into in order, after this model's own fields
        elif isinstance(item, (list, tuple)):
            stack.extend((element, f"{pointer}/{index}") for index, element in reversed(list(enumerate(item))))
        elif isinstance(item, dict):
            stack.extend((element, f"{pointer}/{_escaped(str(key))}") for key, element in item.items())


def raw_experimental_uses(method: str, params: Mapping[str, object]) -> list[str]:
    """The experimental fields raw ``params`` of ``method`` set, as JSON pointers (generated ``EXPERIMENTAL_PARAMS``).

    Only the top-level keys: raw params are not typed, so what a nested
    object is (and whether it has experimental fields) is not known here.
    """
    from .generated.experimental import EXPERIMENTAL_FIELDS, EXPERIMENTAL_PARAMS  # noqa: PLC0415

    model = EXPERIMENTAL_PARAMS.get(method)
    if model is None:
        return []
    marked = set(EXPERIMENTAL_FIELDS[model].values())
    return [f"/{_escaped(key)}" for key in params if key in marked]


def _escaped(token: str) -> str:
    """A JSON pointer token (RFC 6901)."""
    return token.replace("~", "~0").replace("/", "~1")
