"""Every definition of the pinned schema, as a validator, a generator and a Python type.

* :func:`definitions` loads the bundle exactly as the generator does (the v2
  bundle plus the root-bundle definitions it lacks, ``#/definitions/v2/X``
  and ``#/definitions/X`` naming the same definition).
* :func:`validator` is a Draft 7 ``jsonschema`` validator whose format
  checker understands the schema's integer formats (``int64``, ``uint32``
  ...: Rust integer types, which the generated models enforce as bounds).
* :func:`instances` is a hypothesis strategy built with
  ``hypothesis-jsonschema``, one definition at a time: each ``$ref`` is
  drawn from the referenced definition's own (cached) strategy, so a big
  definition costs what its own schema costs, not its whole closure. The
  generation schema only ever *narrows* the schema (arrays hold at most
  :data:`MAX_ITEMS` items; objects below the outermost one get no unknown
  members, which the mutations add instead), so every instance it yields
  is valid.
* :func:`python_type` is the generated class of the definition, resolved
  through the generator's own name map.
"""

from __future__ import annotations

import enum
import functools
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import codex_app_server.generated.v2_all as v2_all
import jsonschema
from hypothesis import strategies as st
from hypothesis_jsonschema import from_schema
from pydantic import BaseModel, TypeAdapter

from generator import normalize
from generator.load import load_inputs

ROOT = Path(__file__).resolve().parents[2]
SCHEMA_DIR = ROOT / "schemas" / "app-server"

#: Bound on generated arrays, to keep instances (and the run) small.
MAX_ITEMS = 2
#: The integer formats of the schema and the range each one names.
INT_FORMATS: Mapping[str, tuple[int, int]] = {
    "int8": (-(2**7), 2**7 - 1),
    "int16": (-(2**15), 2**15 - 1),
    "int32": (-(2**31), 2**31 - 1),
    "int64": (-(2**63), 2**63 - 1),
    "uint8": (0, 2**8 - 1),
    "uint16": (0, 2**16 - 1),
    "uint32": (0, 2**32 - 1),
    "uint64": (0, 2**64 - 1),
    "uint": (0, 2**64 - 1),
}
_REF_PREFIXES = ("#/definitions/v2/", "#/definitions/")
_PLACEHOLDER = "\ue000codex-ref:"  # a private-use prefix no generated string carries by chance
# Keywords that never change which instances are valid.
_ANNOTATIONS = frozenset({"$schema", "$id", "$comment", "title", "description", "default", "examples", "deprecated"})
_SCHEMA_MAPS = frozenset({"properties", "patternProperties", "definitions"})
_SCHEMA_LISTS = frozenset({"anyOf", "oneOf", "allOf"})
_SCHEMA_VALUES = frozenset({"additionalProperties", "items", "not", "additionalItems", "contains", "propertyNames"})

JsonObject = dict[str, Any]


@functools.cache
def _loaded() -> tuple[dict[str, JsonObject], dict[str, str]]:
    inputs = load_inputs(SCHEMA_DIR)
    _, def_class = normalize.build_definitions(inputs.bundle, inputs.manifest.names)
    schemas = {name: _walk(dict(d.schema), _canonical_ref) for name, d in inputs.bundle.definitions.items()}
    return schemas, def_class


def definitions() -> dict[str, JsonObject]:
    """Definition name -> its schema, refs written ``#/definitions/NAME``."""
    return _loaded()[0]


def ref_target(ref: object) -> str:
    if isinstance(ref, str):
        for prefix in _REF_PREFIXES:
            if ref.startswith(prefix):
                return ref[len(prefix) :]
    raise ValueError(f"unsupported $ref {ref!r}")


def _canonical_ref(node: JsonObject) -> JsonObject:
    if "$ref" in node:
        return {**node, "$ref": "#/definitions/" + ref_target(node["$ref"])}
    return node


def _walk(schema: object, visit: Callable[[JsonObject], object]) -> Any:
    """Apply ``visit`` to every subschema, bottom-up, minding which keywords hold schemas."""
    if not isinstance(schema, dict):
        return schema
    out: JsonObject = {}
    for key, value in schema.items():
        if key in _SCHEMA_MAPS and isinstance(value, dict):
            out[key] = {name: _walk(sub, visit) for name, sub in value.items()}
        elif key in _SCHEMA_LISTS and isinstance(value, list):
            out[key] = [_walk(sub, visit) for sub in value]
        elif key in _SCHEMA_VALUES:
            out[key] = [_walk(sub, visit) for sub in value] if isinstance(value, list) else _walk(value, visit)
        else:
            out[key] = value
    return visit(out)


# ---------------------------------------------------------------- validation


def _int_format_checker() -> jsonschema.FormatChecker:
    checker = jsonschema.FormatChecker(formats=())
    for name, (low, high) in INT_FORMATS.items():

        def check(instance: object, low: int = low, high: int = high) -> bool:
            if isinstance(instance, bool) or not isinstance(instance, (int, float)):
                return True  # formats constrain only integers
            return low <= instance <= high

        checker.checks(name)(check)
    return checker


@functools.cache
def validator(name: str) -> jsonschema.Draft7Validator:
    """Validates instances of definition ``name`` (integer formats enforced)."""
    root = {"allOf": [{"$ref": f"#/definitions/{name}"}], "definitions": definitions()}
    return jsonschema.Draft7Validator(root, format_checker=_int_format_checker())


# ---------------------------------------------------------------- generation


def _narrow(node: JsonObject) -> JsonObject:
    """One subschema of the generation schema (see the module docstring)."""
    if "$ref" in node:  # draft 7: siblings of $ref are ignored
        return {"const": _PLACEHOLDER + ref_target(node["$ref"])}
    out = {k: v for k, v in node.items() if k not in _ANNOTATIONS}
    fmt = out.get("format")
    if fmt in INT_FORMATS:
        low, high = INT_FORMATS[fmt]
        out["minimum"] = max(low, out.get("minimum", low))
        out["maximum"] = min(high, out.get("maximum", high))
        del out["format"]
    types = out.get("type")
    if types == "array" or (isinstance(types, list) and "array" in types):
        out["maxItems"] = min(out.get("maxItems", MAX_ITEMS), MAX_ITEMS)
    return out


def generation_schema(name: str, extras: bool = True) -> JsonObject:
    """The schema hypothesis-jsonschema draws from: refs become placeholders.

    ``extras=False`` closes objects (no unknown members), to keep nested
    instances small; the outermost object keeps them.
    """
    narrowed: JsonObject = _walk(definitions()[name], _narrow)
    return narrowed if extras else _closed(narrowed)


def _closed(schema: object, inside_shared: bool = False) -> Any:
    """Add ``additionalProperties: false`` where it cannot contradict the schema.

    Not on the branches of a union whose object also declares properties
    (those members are shared, so closing a branch would forbid them).
    """
    if not isinstance(schema, dict):
        return schema
    out = dict(schema)
    shares = "properties" in out and any(k in out for k in _SCHEMA_LISTS)
    for key, value in schema.items():
        if key in _SCHEMA_MAPS and isinstance(value, dict):
            out[key] = {n: _closed(sub) for n, sub in value.items()}
        elif key in _SCHEMA_LISTS and isinstance(value, list):
            out[key] = [_closed(sub, shares) for sub in value]
        elif key in _SCHEMA_VALUES:
            out[key] = [_closed(sub) for sub in value] if isinstance(value, list) else _closed(value)
    if "properties" in out and "additionalProperties" not in out and not shares and not inside_shared:
        out["additionalProperties"] = False
    return out


#: Where a definition's own strategy drew part of an instance: (path, definition name).
Origins = tuple[tuple[tuple[str | int, ...], str], ...]


@functools.cache
def annotated_instances(name: str, extras: bool = True) -> st.SearchStrategy[tuple[Any, Origins]]:
    """Schema-valid instances of ``name``, with the origin of every part drawn for a ``$ref``."""
    skeleton = from_schema(generation_schema(name, extras))

    @st.composite
    def filled(draw: st.DrawFn) -> tuple[Any, Origins]:
        origins: list[tuple[tuple[str | int, ...], str]] = [((), name)]
        value = _fill(draw, draw(skeleton), (), origins)
        return value, tuple(origins)

    return filled()


def instances(name: str) -> st.SearchStrategy[Any]:
    """Schema-valid instances of definition ``name``."""
    return annotated_instances(name).map(lambda pair: pair[0])


def _fill(draw: st.DrawFn, value: Any, path: tuple[str | int, ...], origins: list[Any]) -> Any:
    if isinstance(value, str) and value.startswith(_PLACEHOLDER):
        target = value[len(_PLACEHOLDER) :]
        sub, sub_origins = draw(st.deferred(lambda: annotated_instances(target, extras=False)))
        origins.extend(((*path, *at), origin) for at, origin in sub_origins)
        return sub
    if isinstance(value, dict):
        return {key: _fill(draw, item, (*path, key), origins) for key, item in value.items()}
    if isinstance(value, list):
        return [_fill(draw, item, (*path, i), origins) for i, item in enumerate(value)]
    return value


# ---------------------------------------------------------------- python side


def class_name(name: str) -> str:
    return _loaded()[1][name]


@functools.cache
def python_type(name: str) -> Any:
    """The generated class (model, enum) or type alias of definition ``name``."""
    return getattr(v2_all, class_name(name))


@functools.cache
def adapter(name: str) -> TypeAdapter[Any]:
    return TypeAdapter(python_type(name))


@functools.cache
def _class_definitions() -> dict[str, str]:
    return {cls: name for name, cls in _loaded()[1].items()}


def validator_of_class(cls: type) -> jsonschema.Draft7Validator | None:
    """The validator of the definition a generated class stands for (None for inline classes)."""
    name = _class_definitions().get(cls.__name__)
    return validator(name) if name is not None and python_type(name) is cls else None


def expected_classes(origins: Origins) -> list[tuple[tuple[str | int, ...], type]]:
    """The parts of an instance that must parse as a given generated class."""
    out = []
    for at, name in origins:
        target = python_type(name)
        if isinstance(target, type) and issubclass(target, (BaseModel, enum.Enum)):
            out.append((at, target))
    return out
