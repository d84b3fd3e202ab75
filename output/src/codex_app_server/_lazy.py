"""Importing generated models on first use.

The generated models live in many small modules so that importing the SDK
creates no pydantic class it does not need (see ``generated/v2_all.py``).
Here is the machinery the generated modules call, so that generated code
itself only holds data (names), never dynamic imports:

* :func:`lazy_exports`: a module's ``__getattr__`` / ``__dir__`` (PEP 562)
  that import a name's home module (or build its value) the first time the
  name is read;
* :class:`LazyModels`: a ``key -> model`` table resolved on first lookup;
* :class:`LazyModule`: a stand-in for a costly standard module that only
  annotations name (``ssl``: OpenSSL costs ~7 MB of RSS), imported when
  someone reads an attribute, e.g. ``typing.get_type_hints``.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable, Iterator, Mapping
from types import ModuleType
from typing import TypeVar, cast

ModuleGetattr = Callable[[str], object]
ModuleDir = Callable[[], list[str]]


def lazy_exports(
    module_name: str,
    homes: Mapping[str, str],
    prefix: str = "",
    built: Mapping[str, Callable[[], object]] | None = None,
) -> tuple[ModuleGetattr, ModuleDir]:
    """``__getattr__`` and ``__dir__`` for module ``module_name``.

    ``homes`` maps each name to the module defining it, relative to the
    package of ``module_name`` after ``prefix`` (``"._models."`` + ``"turn"``);
    ``built`` maps names to functions making their values. The first read of
    a name imports its home (or builds it) and stores the value in the
    module, so later reads are plain attribute reads.
    """
    builders = dict(built or {})

    def __getattr__(name: str) -> object:
        module = sys.modules[module_name]
        build = builders.get(name)
        if build is not None:
            value = build()
        elif name in homes:
            value = getattr(importlib.import_module(prefix + homes[name], module.__package__), name)
        else:
            raise AttributeError(f"module {module_name!r} has no attribute {name!r}")
        setattr(module, name, value)
        return value

    def __dir__() -> list[str]:
        return sorted(set(vars(sys.modules[module_name])) | set(homes) | set(builders))

    return __getattr__, __dir__


def model_named(models: ModuleType, name: str) -> object:
    """The generated model (or union alias) ``name`` of ``models`` (``v2_all``), imported on first use."""
    return getattr(models, name)


V = TypeVar("V")


class LazyModels(Mapping[str, V]):
    """A read-only ``key -> model`` mapping whose models are imported on first lookup.

    A key mapped to ``None`` means "no model" and looks up as ``None``.
    """

    __slots__ = ("_models", "_names", "_resolved")

    def __init__(self, models: ModuleType, names: Mapping[str, str | None]) -> None:
        self._models = models
        self._names = dict(names)
        self._resolved: dict[str, V] = {}

    def __getitem__(self, key: str) -> V:
        try:
            return self._resolved[key]
        except KeyError:
            pass
        name = self._names[key]
        value = cast(V, None if name is None else model_named(self._models, name))
        self._resolved[key] = value
        return value

    def __iter__(self) -> Iterator[str]:
        return iter(self._names)

    def __len__(self) -> int:
        return len(self._names)

    def __contains__(self, key: object) -> bool:
        return key in self._names

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self._names!r})"


class LazyModule:
    """Stands for the module ``name`` in a namespace; the first attribute read imports it.

    Never put in ``sys.modules``: other code importing the module gets the real one.
    """

    __slots__ = ("_name",)

    def __init__(self, name: str) -> None:
        self._name = name

    def __getattr__(self, attribute: str) -> object:
        return getattr(importlib.import_module(self._name), attribute)

    def __repr__(self) -> str:
        return f"LazyModule({self._name!r})"
