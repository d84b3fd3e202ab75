"""Structured output: a Python type as the turn's ``outputSchema``, and the final answer parsed back into it.

codex hands ``outputSchema`` to the model as a *strict* ``json_schema``
response format, so the schema must keep to the strict subset: every
object lists all its properties as required and allows no others, and a
few keywords are not supported at all. :func:`strict_schema` makes that
schema from any type pydantic can validate (a model, a dataclass, a
TypedDict ...) and refuses, here and naming the place, what the model
provider would refuse after the round trip. A raw ``output_schema=`` is
only checked to be a JSON Schema object (:func:`check_schema`): it goes as
the caller wrote it.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from typing import Any

from pydantic import TypeAdapter, ValidationError

from ._errors import CodexError, CodexValueError

__all__ = ["OutputSchemaError", "StructuredOutputError", "check_schema", "output_schema", "parse", "strict_schema"]

# Keywords the strict subset does not support (the provider refuses the schema).
_UNSUPPORTED = frozenset(
    {
        "allOf",
        "not",
        "if",
        "then",
        "else",
        "dependentRequired",
        "dependentSchemas",
        "patternProperties",
        "unevaluatedProperties",
        "propertyNames",
        "minProperties",
        "maxProperties",
        "minLength",
        "maxLength",
        "unevaluatedItems",
        "contains",
        "minContains",
        "maxContains",
        "uniqueItems",
    }
)
# Keywords pydantic writes that mean nothing once every property is required
# (``default``) or that only pydantic reads (``discriminator``).
_DROPPED = frozenset({"default", "discriminator"})
# Keywords whose value is one schema, a list of schemas, or a mapping of name -> schema.
_ONE_SCHEMA = ("items", "additionalProperties")
_SCHEMA_LISTS = ("anyOf", "oneOf", "allOf", "prefixItems")
_SCHEMA_MAPS = ("properties", "$defs", "definitions")
_JSON_TYPES = frozenset({"object", "array", "string", "number", "integer", "boolean", "null"})


class OutputSchemaError(CodexValueError):
    """An ``output_type`` or ``output_schema`` the turn cannot use; ``pointer`` is where in the schema (JSON pointer)."""

    def __init__(self, message: str, pointer: str = "") -> None:
        self.message = message
        self.pointer = pointer
        where = f" at {pointer}" if pointer else ""
        super().__init__(f"{message}{where}")

    def __reduce__(self) -> tuple[object, ...]:
        return (type(self), (self.message, self.pointer))


class StructuredOutputError(CodexError):
    """The turn's final answer does not validate as its ``output_type``.

    ``raw_text`` is the final answer as the model wrote it (None when the
    turn ended without one); ``output_type`` the type it was parsed as.
    """

    def __init__(self, message: str, raw_text: str | None, output_type: object) -> None:
        super().__init__(message)
        self.raw_text = raw_text
        self.output_type = output_type

    def __reduce__(self) -> tuple[object, ...]:
        return (type(self), (str(self), self.raw_text, self.output_type))


@functools.lru_cache(maxsize=128)
def _adapter(output_type: Any) -> TypeAdapter[Any]:
    return TypeAdapter(output_type)


def strict_schema(output_type: object) -> dict[str, object]:
    """The strict JSON Schema of ``output_type``; raises :class:`OutputSchemaError` naming what does not fit."""
    try:
        schema = _adapter(output_type).json_schema()
    except Exception as exc:  # pydantic's errors for types it cannot describe vary
        raise OutputSchemaError(f"output_type {output_type!r} has no JSON Schema: {exc}") from None
    name = getattr(output_type, "__name__", repr(output_type))
    if schema.get("type") != "object":
        raise OutputSchemaError(
            f"output_type {name}: the root of a strict output schema must be an object "
            f"(got {schema.get('type') or 'a union'}): wrap it in a model with one field"
        )
    strict: dict[str, object] = _strict(schema, "", name)
    return strict


def _strict(node: object, pointer: str, name: str) -> Any:
    if isinstance(node, list):
        return [_strict(value, f"{pointer}/{index}", name) for index, value in enumerate(node)]
    if not isinstance(node, dict):
        return node
    unsupported = sorted(_UNSUPPORTED & node.keys())
    if unsupported:
        raise OutputSchemaError(
            f"output_type {name}: {', '.join(unsupported)} is not supported by strict structured output", pointer
        )
    out: dict[str, object] = {}
    for key, value in node.items():
        if key in _DROPPED:
            continue
        child = f"{pointer}/{key}"
        if key in _SCHEMA_MAPS and isinstance(value, dict):
            out[key] = {k: _strict(v, f"{child}/{_escape(k)}", name) for k, v in value.items()}
        elif key in _ONE_SCHEMA or key in _SCHEMA_LISTS:
            out["anyOf" if key == "oneOf" else key] = _strict(value, child, name)
        else:
            out[key] = value
    if out.get("type") == "object" or "properties" in out:
        extra = out.get("additionalProperties", False)
        if extra is not False:
            raise OutputSchemaError(
                f"output_type {name}: an object with arbitrary keys (a dict field) cannot be strict; "
                "use a model with named fields",
                pointer,
            )
        properties = out.get("properties", {})
        out["additionalProperties"] = False
        out["required"] = list(properties) if isinstance(properties, dict) else []
    return out


def _escape(key: str) -> str:
    return key.replace("~", "~0").replace("/", "~1")


def check_schema(schema: object) -> dict[str, object]:
    """A raw ``output_schema``, checked to be a JSON Schema object (types, nesting); raises :class:`OutputSchemaError`."""
    if not isinstance(schema, Mapping):
        raise OutputSchemaError(f"output_schema must be a JSON Schema object (a dict), not {type(schema).__name__}")
    _check(schema, "")
    return dict(schema)


def _check(node: object, pointer: str) -> None:
    if isinstance(node, bool):
        return  # true / false are schemas
    if not isinstance(node, Mapping):
        raise OutputSchemaError(f"output_schema: expected a schema (an object), got {type(node).__name__}", pointer)
    for key, value in node.items():
        if not isinstance(key, str):
            raise OutputSchemaError(f"output_schema: keys are strings, got {key!r}", pointer)
        child = f"{pointer}/{_escape(key)}"
        if key == "type":
            kinds = value if isinstance(value, list) else [value]
            bad = [kind for kind in kinds if kind not in _JSON_TYPES]
            if bad or not kinds:
                raise OutputSchemaError(f"output_schema: unknown type {bad[0] if bad else value!r}", child)
        elif key == "required":
            if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
                raise OutputSchemaError("output_schema: required is a list of property names", child)
        elif key in _SCHEMA_MAPS:
            if not isinstance(value, Mapping):
                raise OutputSchemaError(f"output_schema: {key} maps names to schemas", child)
            for name, sub in value.items():
                _check(sub, f"{child}/{_escape(str(name))}")
        elif key in _SCHEMA_LISTS:
            if not isinstance(value, list) or not value:
                raise OutputSchemaError(f"output_schema: {key} is a non-empty list of schemas", child)
            for index, sub in enumerate(value):
                _check(sub, f"{child}/{index}")
        elif key in _ONE_SCHEMA:
            _check(value, child)
        elif key == "enum" and not isinstance(value, list):
            raise OutputSchemaError("output_schema: enum is a list of values", child)


def output_schema(output_type: object | None, raw: object | None) -> object | None:
    """What a turn sends as ``outputSchema``: the strict schema of ``output_type``, the checked ``raw`` one, or None."""
    if output_type is not None:
        if raw is not None:
            raise OutputSchemaError("give output_type or output_schema, not both")
        return strict_schema(output_type)
    return None if raw is None else check_schema(raw)


def parse(output_type: object, text: str | None) -> Any:
    """The final answer ``text`` validated as ``output_type``; raises :class:`StructuredOutputError`."""
    name = getattr(output_type, "__name__", repr(output_type))
    if text is None:
        raise StructuredOutputError(f"the turn ended without a final answer to parse as {name}", None, output_type)
    try:
        return _adapter(output_type).validate_json(text)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(map(str, e['loc'])) or '(answer)'}: {e['msg']}"
            for e in exc.errors(include_url=False, include_context=False, include_input=False)[:5]
        )
        raise StructuredOutputError(
            f"the final answer does not validate as {name}: {problems}", text, output_type
        ) from None
