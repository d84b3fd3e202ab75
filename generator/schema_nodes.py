"""Small pure functions on JSON Schema nodes, shared by the normalize stage's modules.

What a node is (an object, a map, a union), what it holds (properties,
required names, enum values, a tag), and the checks every node passes
(supported keywords, nesting depth). No state: the builders in
:mod:`generator.normalize` and its siblings call these.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence

from . import ir
from .errors import GeneratorError, Location
from .load import JsonObject

# Keywords that only annotate; they never change the Python type.
ANNOTATIONS = frozenset(
    {
        "$schema",
        "$id",
        "$comment",
        "title",
        "description",
        "default",
        "examples",
        "deprecated",
        "readOnly",
        "writeOnly",
        "format",
    }
)
UNSUPPORTED = (
    "not",
    "if",
    "then",
    "else",
    "patternProperties",
    "dependencies",
    "dependentSchemas",
    "propertyNames",
    "contains",
    "$defs",
    "definitions",
)
PREFERRED_TAGS = ("type", "method", "kind", "mode", "status")

PRIMITIVES = {
    "string": ir.Builtin("str"),
    "boolean": ir.Builtin("bool"),
    "number": ir.Builtin("float"),
    "null": ir.NONE,
}
MAX_DEPTH = 64
# Nesting limit in JSON pointer tokens (an inline object level is two:
# properties/NAME); keeps recursion far below Python's limit.
MAX_POINTER_DEPTH = 128


def check_unambiguous(cls: str, fields: Sequence[ir.Field], props: Mapping[str, tuple[JsonObject, Location]]) -> None:
    """Models accept both names, so no field's Python name may be another field's wire name."""
    by_wire = {f.wire_name: f for f in fields}
    for f in fields:
        other = by_wire.get(f.py_name)
        if other is not None and other is not f:
            raise GeneratorError(
                props[f.wire_name][1],
                f"field name {f.py_name!r} of {cls} is also the wire name of {other.wire_name!r}: input would be ambiguous",
                f"add `'{cls}.{f.wire_name}' = \"new_name\"` under [names.fields] in schemas/methods.toml",
            )


def pointer_hint(loc: Location) -> str:
    return f"name it explicitly: add '{loc.pointer}' = \"Name\" under [names.types] in schemas/methods.toml"


def canonical(schema: object) -> str:
    """A stable text of a schema, to tell whether two uses of one class name mean the same shape."""
    return json.dumps(schema, sort_keys=True, ensure_ascii=True)


def check_nesting(loc: Location) -> None:
    """Bound recursion by the depth of the schema document itself (refs start over at their target)."""
    depth = loc.pointer.count("/")
    if depth > MAX_POINTER_DEPTH:
        raise GeneratorError(loc, f"schema nested deeper than {MAX_POINTER_DEPTH} levels")


def check_supported(schema: JsonObject, loc: Location) -> None:
    for key in UNSUPPORTED:
        if key in schema:
            raise GeneratorError(loc.child(key), f"unsupported JSON Schema keyword {key!r}")


def description(schema: JsonObject, loc: Location) -> str | None:
    text = schema.get("description")
    if text is None:
        return None
    if not isinstance(text, str):
        raise GeneratorError(loc.child("description"), "description must be a string")
    return text.strip() or None


def union_keyword(schema: JsonObject) -> str | None:
    for key in ("oneOf", "anyOf"):
        if key in schema:
            return key
    return None


def array_at(schema: JsonObject, key: str | None) -> list[object]:
    """``schema[key]`` when it is an array, else empty: for readers that skip a malformed or absent member."""
    value = schema.get(key) if key else None
    return value if isinstance(value, list) else []


def object_at(schema: JsonObject, key: str) -> JsonObject:
    """``schema[key]`` when it is an object, else empty: for readers that skip a malformed or absent member."""
    value = schema.get(key)
    return value if isinstance(value, dict) else {}


def nested_alternatives(variant: JsonObject) -> bool:
    return bool(union_keyword(variant)) and "properties" in variant


def is_object_schema(schema: JsonObject) -> bool:
    t = schema.get("type")
    return t == "object" or (t is None and ("properties" in schema))


def is_map(schema: JsonObject) -> bool:
    """An object schema without properties: a dict keyed by string."""
    return is_object_schema(schema) and not schema.get("properties") and "oneOf" not in schema and "anyOf" not in schema


def properties(schema: JsonObject, loc: Location) -> dict[str, tuple[JsonObject, Location]]:
    props = schema.get("properties", {})
    if not isinstance(props, dict):
        raise GeneratorError(loc.child("properties"), "properties must be an object")
    out: dict[str, tuple[JsonObject, Location]] = {}
    for name, prop in props.items():
        ploc = loc.child("properties", name)
        if prop is True:
            prop = {}
        if not isinstance(prop, dict):
            raise GeneratorError(ploc, "a property schema must be an object")
        out[name] = (prop, ploc)
    return out


def required(schema: JsonObject, loc: Location) -> list[str]:
    required = schema.get("required", [])
    if not isinstance(required, list) or not all(isinstance(r, str) for r in required):
        raise GeneratorError(loc.child("required"), "required must be an array of strings")
    return required


def enum_value_locations(schema: JsonObject, loc: Location) -> dict[str, Location]:
    """Where each value of a string enum is spelled (its first occurrence), also inside a oneOf."""
    out: dict[str, Location] = {}
    enum = schema.get("enum")
    if isinstance(enum, list):
        for index, value in enumerate(enum):
            out.setdefault(str(value), loc.child("enum", index))
        return out
    key = union_keyword(schema)
    for index, variant in enumerate(array_at(schema, key)):
        if isinstance(variant, dict) and key:
            for value, vloc in enum_value_locations(variant, loc.child(key, index)).items():
                out.setdefault(value, vloc)
    return out


def string_enum_values(schema: JsonObject) -> list[str] | None:
    """The values of a string enum, also when spelled as a oneOf of documented enums."""
    enum = schema.get("enum")
    if isinstance(enum, list):
        return list(dict.fromkeys(enum)) if enum and all(isinstance(v, str) for v in enum) else None
    key = union_keyword(schema)
    variants = array_at(schema, key)
    if "properties" in schema or not variants:
        return None
    values: list[str] = []
    for variant in variants:
        if not isinstance(variant, dict) or "$ref" in variant or union_keyword(variant):
            return None
        sub = string_enum_values(variant)
        if sub is None:
            return None
        values.extend(sub)
    return list(dict.fromkeys(values))


def enum_description(schema: JsonObject, description: str | None) -> str | None:
    """The enum's description plus one line per documented value."""
    key = union_keyword(schema)
    lines = [description] if description else []
    documented: list[str] = []
    for variant in array_at(schema, key):
        text = variant.get("description") if isinstance(variant, dict) else None
        values = variant.get("enum") if isinstance(variant, dict) else None
        if isinstance(text, str) and text.strip() and isinstance(values, list):
            first_line = text.strip().splitlines()[0]
            documented.extend(f"- ``{v}``: {first_line}" for v in values)
    if documented:
        lines.append("\n".join(documented))
    return "\n\n".join(lines) or None


def merge_string_enum_variants(
    variants: Sequence[tuple[object, Location]],
) -> list[tuple[object, Location]]:
    """Fold the string-enum variants of a mixed union into one enum variant."""
    merged: list[str] = []
    first: Location | None = None
    rest: list[tuple[object, Location]] = []
    for variant, vloc in variants:
        values = string_enum_values(variant) if isinstance(variant, dict) and "$ref" not in variant else None
        if values and "enum" in variant:  # type: ignore[operator]
            merged.extend(values)
            first = first or vloc
        else:
            rest.append((variant, vloc))
    if first is None:
        return list(variants)
    return [({"type": "string", "enum": list(dict.fromkeys(merged))}, first), *rest]


def distinct_required(variants: Sequence[tuple[object, Location]]) -> list[str | None]:
    """Per variant, the one required property no other variant has (names untitled variants)."""
    props = [set(v.get("properties", {})) if isinstance(v, dict) else set() for v, _ in variants]
    out: list[str | None] = []
    for index, (variant, _) in enumerate(variants):
        required = variant.get("required", []) if isinstance(variant, dict) else []
        others = set().union(*(p for i, p in enumerate(props) if i != index))
        unique = [r for r in required if isinstance(r, str) and r not in others]
        out.append(unique[0] if len(unique) == 1 else None)
    return out


def tag_value(schema: JsonObject, name: str | None) -> str | None:
    if name is None:
        return None
    prop = object_at(schema, "properties").get(name)
    if not isinstance(prop, dict):
        return None
    if "const" in prop and isinstance(prop["const"], str):
        return prop["const"]
    enum = prop.get("enum")
    if isinstance(enum, list) and len(enum) == 1 and isinstance(enum[0], str):
        return enum[0]
    return None


def literal_value(value: object, loc: Location) -> str | int | float | bool | None:
    if value is None or isinstance(value, (str, bool, int, float)):
        return value
    raise GeneratorError(loc, f"enum/const values must be scalars, got {type(value).__name__}")


def integer(schema: JsonObject, loc: Location) -> ir.TypeExpr:
    fmt = schema.get("format")
    base: ir.TypeExpr = ir.Builtin("int")
    lo: int | float | None = None
    hi: int | float | None = None
    alias = ir.INT_ALIAS_BY_FORMAT.get(fmt) if isinstance(fmt, str) else None
    if alias is not None:
        base = ir.Builtin(alias.name)
        lo, hi = alias.minimum, alias.maximum
    constraints = []
    minimum = schema.get("minimum")
    maximum = schema.get("maximum")
    if isinstance(minimum, (int, float)) and not isinstance(minimum, bool) and (lo is None or minimum > lo):
        constraints.append(("ge", int(minimum) if float(minimum).is_integer() else minimum))
    if isinstance(maximum, (int, float)) and not isinstance(maximum, bool) and (hi is None or maximum < hi):
        constraints.append(("le", int(maximum) if float(maximum).is_integer() else maximum))
    if constraints:
        return ir.Constrained(base, tuple(constraints))
    return base
