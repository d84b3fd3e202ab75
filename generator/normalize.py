"""Stages 2-3: classify every JSON Schema construct and build the model IR.

A chain of small recognisers turns each schema node into a type expression,
registering named definitions (models, enums, aliases) as it meets them:

* ``$ref`` -> the named definition; ``allOf`` of one schema -> that schema
* ``enum``/``const`` -> an open ``str`` enum (named definitions) or ``Literal``
* ``anyOf``/``oneOf`` with ``null`` -> nullable; object variants sharing a
  single-valued tag property (``type``, ``method``, ``kind`` ...) -> a
  discriminated union; anything else -> a plain union
* object with properties -> a model; with only ``additionalProperties`` -> a dict
* arrays, scalars, int formats with their bounds, and ``{}`` -> ``JsonValue``

Unsupported constructs are errors with a JSON pointer, never a guess.
"""

from __future__ import annotations

import json
import urllib.parse
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace

from . import ir, naming
from .errors import GeneratorError, Location
from .load import Bundle, JsonObject, NameOverrides, SchemaDef

# Keywords that only annotate; they never change the Python type.
_ANNOTATIONS = frozenset(
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
_UNSUPPORTED = (
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
_PREFERRED_TAGS = ("type", "method", "kind", "mode", "status")

_PRIMITIVES = {
    "string": ir.Builtin("str"),
    "boolean": ir.Builtin("bool"),
    "number": ir.Builtin("float"),
    "null": ir.NONE,
}
MAX_DEPTH = 64
# Nesting limit in JSON pointer tokens (an inline object level is two:
# properties/NAME); keeps recursion far below Python's limit.
MAX_POINTER_DEPTH = 128


@dataclass
class _Builder:
    schema_defs: Mapping[str, SchemaDef]
    overrides: NameOverrides
    out: dict[str, ir.Definition] = field(default_factory=dict)
    def_class: dict[str, str] = field(default_factory=dict)  # schema def name -> class name
    classes: naming.NameTable = field(
        default_factory=lambda: naming.NameTable(
            "class", 'add `{source!r} = "NewName"` under [names.types] in schemas/methods.toml'
        )
    )
    _in_progress: set[str] = field(default_factory=set)

    # ------------------------------------------------------------ naming

    def _class_for(self, source: str, location: Location, identity: tuple[str, str]) -> str:
        """Claim the class name for ``source``; ``identity`` (kind, key) is what the class stands for.

        Definitions are renamed by name in the manifest; inline objects and
        variants by JSON pointer, which the hint of a collision suggests.
        """
        name = self.overrides.types.get(source) or naming.class_name(source)
        hint = None if identity[0] == "definition" else _pointer_hint(location)
        return self.classes.claim(name, source, location, identity=identity, hint=hint)

    def reserve_definitions(self) -> None:
        """Claim every definition's class name first, so inline titles clash with them, not vice versa."""
        for name in sorted(self.schema_defs):
            loc = self.schema_defs[name].location
            self.def_class[name] = self._class_for(name, loc, ("definition", name))

    # ------------------------------------------------------------ references

    def resolve_ref(self, ref: object, loc: Location) -> SchemaDef:
        if not isinstance(ref, str):
            raise GeneratorError(loc, "$ref must be a string")
        for prefix in ("#/definitions/v2/", "#/definitions/", "#/$defs/"):
            if ref.startswith(prefix):
                # A URI fragment holding one JSON pointer token (RFC 3986 + RFC 6901 escapes).
                target = urllib.parse.unquote(ref[len(prefix) :])
                name = target.replace("~1", "/").replace("~0", "~")
                if "/" not in target and name in self.schema_defs:
                    return self.schema_defs[name]
                break
        raise GeneratorError(loc, f"unresolvable $ref {ref!r}", "only refs to definitions of the bundle are supported")

    def deref(self, schema: JsonObject, loc: Location, depth: int = 0) -> JsonObject:
        """Follow $ref / allOf-of-one chains to the schema that carries the shape."""
        if depth > MAX_DEPTH:
            raise GeneratorError(loc, "$ref chain does not end (a cycle of references)")
        if "$ref" in schema:
            target = self.resolve_ref(schema["$ref"], loc)
            return self.deref(target.schema, target.location, depth + 1)
        all_of = schema.get("allOf")
        if isinstance(all_of, list) and len(all_of) == 1 and isinstance(all_of[0], dict):
            return self.deref(all_of[0], loc.child("allOf", 0), depth + 1)
        return schema

    # ------------------------------------------------------------ definitions

    def build_all(self) -> None:
        self.reserve_definitions()
        for name in sorted(self.schema_defs):
            sdef = self.schema_defs[name]
            self.define(self.def_class[name], sdef.schema, sdef.location, top_level=True)

    def define(self, cls: str, schema: JsonObject, loc: Location, *, top_level: bool) -> None:
        """Register the definition ``cls`` for ``schema``."""
        if cls in self.out or cls in self._in_progress:
            return
        self._in_progress.add(cls)
        try:
            self.out[cls] = self._definition(cls, schema, loc, top_level)
        finally:
            self._in_progress.discard(cls)

    def _definition(self, cls: str, schema: JsonObject, loc: Location, top_level: bool) -> ir.Definition:
        _check_supported(schema, loc)
        _check_nesting(loc)
        description = _description(schema, loc)
        if _is_object_schema(schema) and not _union_keyword(schema):
            # A named object is a model even without properties (an empty
            # response is still a response), unless it is a typed map.
            if schema.get("properties") or not isinstance(schema.get("additionalProperties"), dict):
                return self._model(cls, schema, loc, description)
        values = _string_enum_values(schema)
        if values and top_level:
            return self._enum(
                cls, values, loc, _enum_description(schema, description), _enum_value_locations(schema, loc)
            )
        return ir.Alias(cls, self.type_of(schema, loc, cls, depth=0), description, loc.pointer)

    def _enum(
        self,
        cls: str,
        values: Sequence[str],
        loc: Location,
        description: str | None,
        locations: Mapping[str, Location],
    ) -> ir.Enum:
        table = naming.NameTable(
            f"enum member of {cls}",
            f"rename the value {{source!r}} of {cls} under [names.fields] as '{cls}.{{source}}'",
        )
        members = []
        for value in dict.fromkeys(values):
            py = self.overrides.fields.get(f"{cls}.{value}") or naming.enum_member_name(value)
            members.append(ir.EnumMember(table.claim(py, value, locations[value]), value))
        return ir.Enum(cls, tuple(members), description, loc.pointer)

    def _model(
        self,
        cls: str,
        schema: JsonObject,
        loc: Location,
        description: str | None,
        extra_properties: Mapping[str, tuple[JsonObject, Location]] | None = None,
        extra_required: Sequence[str] = (),
        optional_properties: Mapping[str, tuple[JsonObject, Location]] | None = None,
        alternatives: tuple[tuple[str, ...], ...] = (),
        exclusive: bool = False,
    ) -> ir.Model:
        props = _properties(schema, loc)
        merged: dict[str, tuple[JsonObject, Location]] = dict(extra_properties or {})
        merged.update(props)
        for name, value in (optional_properties or {}).items():
            merged.setdefault(name, value)
        required = set(_required(schema, loc)) | set(extra_required)
        table = naming.NameTable(
            f"field of {cls}", f"add `'{cls}.{{source}}' = \"new_name\"` under [names.fields] in schemas/methods.toml"
        )
        fields = []
        for wire in sorted(merged):
            prop, ploc = merged[wire]
            py = self.overrides.fields.get(f"{cls}.{wire}") or naming.field_name(wire)
            table.claim(py, wire, ploc)
            hint = naming.field_type_hint(cls, wire)
            ftype = self.type_of(prop, ploc, hint, depth=1)
            has_default = "default" in prop
            fields.append(
                ir.Field(
                    py_name=py,
                    wire_name=wire,
                    type=ftype,
                    required=wire in required,
                    description=_description(prop, ploc),
                    default=prop.get("default"),
                    has_default=has_default,
                    deprecated=bool(prop.get("deprecated")),
                )
            )
        _check_unambiguous(cls, fields, merged)
        closed = schema.get("additionalProperties") is False
        py_names = {f.wire_name: f.py_name for f in fields}
        if not all(wire in py_names for group in alternatives for wire in group):
            alternatives = ()  # a group names an undeclared property: nothing the model can check
        groups = tuple(tuple(py_names[wire] for wire in group) for group in alternatives)
        return ir.Model(cls, tuple(fields), description, loc.pointer, closed, groups, exclusive and bool(groups))

    # ------------------------------------------------------------ type expressions

    def type_of(self, schema: object, loc: Location, hint: str, depth: int) -> ir.TypeExpr:
        if depth > MAX_DEPTH:
            raise GeneratorError(loc, f"schema nested deeper than {MAX_DEPTH} levels")
        _check_nesting(loc)
        if schema is True or schema == {}:
            return ir.JSON_VALUE
        if not isinstance(schema, dict):
            raise GeneratorError(loc, f"expected a schema object, got {type(schema).__name__}")
        _check_supported(schema, loc)
        if "$ref" in schema:
            target = self.resolve_ref(schema["$ref"], loc)
            return ir.Named(self.def_class[target.name])
        all_of = schema.get("allOf")
        if all_of is not None:
            return self._all_of(schema, all_of, loc, hint, depth)
        if "const" in schema:
            return ir.LiteralOf((_literal_value(schema["const"], loc.child("const")),))
        if "enum" in schema:
            return self._inline_enum(schema, loc)
        if _union_keyword(schema):
            return self._union(schema, loc, hint, depth)
        types = schema.get("type")
        if isinstance(types, list):
            if not types or not all(isinstance(t, str) for t in types):
                raise GeneratorError(loc.child("type"), "type must be a string or a non-empty list of strings")
            non_null = [t for t in dict.fromkeys(types) if t != "null"]
            members = tuple(self._typed(schema, t, loc, hint, depth) for t in non_null)
            base: ir.TypeExpr = members[0] if len(members) == 1 else ir.UnionOf(members) if members else ir.NONE
            return ir.nullable(base) if "null" in types and non_null else base
        if isinstance(types, str):
            return self._typed(schema, types, loc, hint, depth)
        if types is not None:
            raise GeneratorError(loc.child("type"), "type must be a string or a list of strings")
        if "properties" in schema or "additionalProperties" in schema:
            return self._typed(schema, "object", loc, hint, depth)
        if "items" in schema:
            return self._typed(schema, "array", loc, hint, depth)
        if set(schema) <= _ANNOTATIONS:
            return ir.JSON_VALUE
        raise GeneratorError(loc, f"unsupported schema construct with keys {sorted(schema)}")

    def _typed(self, schema: JsonObject, type_name: str, loc: Location, hint: str, depth: int) -> ir.TypeExpr:
        if type_name == "object":
            if not schema.get("properties") and not _union_keyword(schema):
                ap = schema.get("additionalProperties", True)
                value = (
                    ir.JSON_VALUE
                    if ap in (True, None)
                    else self.type_of(ap, loc.child("additionalProperties"), naming.value_hint(hint), depth + 1)
                )
                return ir.DictOf(value)
            if schema.get("type") != "object":
                # type ["object", "null"] (or no type): the object branch of it.
                schema = {**schema, "type": "object"}
            cls = self._inline_class(schema, loc, hint)
            self.define(cls, schema, loc, top_level=False)
            return ir.Named(cls)
        if type_name == "array":
            items = schema.get("items")
            if items is None:
                return ir.ListOf(ir.JSON_VALUE)
            if isinstance(items, list):
                return ir.TupleOf(
                    tuple(
                        self.type_of(s, loc.child("items", i), naming.tuple_item_hint(hint, i), depth + 1)
                        for i, s in enumerate(items)
                    )
                )
            return ir.ListOf(self.type_of(items, loc.child("items"), naming.item_hint(hint), depth + 1))
        if type_name == "integer":
            return _integer(schema, loc)
        if type_name == "string" and isinstance(schema.get("minLength"), int) and schema["minLength"] > 0:
            return ir.Constrained(ir.Builtin("str"), (("min_length", schema["minLength"]),))
        if type_name in _PRIMITIVES:
            return _PRIMITIVES[type_name]
        raise GeneratorError(loc.child("type"), f"unsupported type {type_name!r}")

    def _inline_class(self, schema: JsonObject, loc: Location, hint: str) -> str:
        """The class of an inline object: by pointer override, else its title, else the hint.

        The same title (or hint) for an equal schema is one class; for a
        different schema, or a definition's name, it is a collision.
        """
        identity = ("inline", _canonical(schema))
        by_pointer = self.overrides.types.get(loc.pointer)
        if by_pointer:
            return self.classes.claim(by_pointer, loc.pointer, loc, identity=identity)
        title = schema.get("title")
        source = title if isinstance(title, str) and title.strip() else hint
        if source is hint and naming.class_name(hint) in self._in_progress:
            # The untitled body of an alias being defined (e.g. a nullable
            # object definition) cannot take the alias's own name.
            source = naming.value_hint(hint)
        return self._class_for(source, loc, identity)

    def _inline_enum(self, schema: JsonObject, loc: Location) -> ir.TypeExpr:
        values = schema["enum"]
        if not isinstance(values, list) or not values:
            raise GeneratorError(loc.child("enum"), "enum must be a non-empty array")
        literal = tuple(_literal_value(v, loc.child("enum", i)) for i, v in enumerate(values))
        non_null = tuple(v for v in dict.fromkeys(literal) if v is not None)
        if not non_null:
            return ir.NONE
        base = ir.LiteralOf(non_null)
        return ir.nullable(base) if None in literal else base

    def _all_of(self, schema: JsonObject, all_of: object, loc: Location, hint: str, depth: int) -> ir.TypeExpr:
        if not isinstance(all_of, list) or not all_of:
            raise GeneratorError(loc.child("allOf"), "allOf must be a non-empty array")
        if len(all_of) == 1:
            return self.type_of(all_of[0], loc.child("allOf", 0), hint, depth + 1)
        parts = [self.deref(p, loc.child("allOf", i)) if isinstance(p, dict) else p for i, p in enumerate(all_of)]
        if all(isinstance(p, dict) and _is_object_schema(p) and not _union_keyword(p) for p in parts):
            merged_props: dict[str, object] = {}
            merged_required: list[str] = []
            for p in parts:
                assert isinstance(p, dict)
                merged_props.update(p.get("properties", {}))
                merged_required.extend(p.get("required", []))
            merged = {"type": "object", "properties": merged_props, "required": merged_required}
            if "title" in schema:
                merged["title"] = schema["title"]
            return self._typed(merged, "object", loc, hint, depth)
        raise GeneratorError(loc.child("allOf"), "allOf is supported for one schema or for object schemas only")

    # ------------------------------------------------------------ unions

    def _union(self, schema: JsonObject, loc: Location, hint: str, depth: int) -> ir.TypeExpr:
        key = _union_keyword(schema)
        assert key is not None
        raw = schema[key]
        if not isinstance(raw, list) or not raw:
            raise GeneratorError(loc.child(key), f"{key} must be a non-empty array")
        variants = [(v, loc.child(key, i)) for i, v in enumerate(raw)]
        has_null = any(
            isinstance(v, dict) and v.get("type") == "null" and len(set(v) - _ANNOTATIONS) == 1 for v, _ in variants
        )
        variants = [
            (v, vloc)
            for v, vloc in variants
            if not (isinstance(v, dict) and v.get("type") == "null" and len(set(v) - _ANNOTATIONS) == 1)
        ]
        common = _properties(schema, loc) if "properties" in schema else {}
        common_required = _required(schema, loc) if "properties" in schema else []
        if not variants:
            return ir.NONE
        if len(variants) == 1 and not common:
            inner = self.type_of(variants[0][0], variants[0][1], hint, depth + 1)
            return ir.nullable(inner) if has_null else inner
        string_values = _string_enum_values({key: [v for v, _ in variants]})
        if string_values and not common:
            literal = ir.LiteralOf(tuple(string_values))
            return ir.nullable(literal) if has_null else literal
        variants = _merge_string_enum_variants(variants)
        tag = self._discriminator(variants, common)
        distinct = _distinct_required(variants)
        members: list[ir.TypeExpr] = []
        for index, (variant, vloc) in enumerate(variants):
            members.append(
                self._variant(variant, vloc, hint, index, tag, common, common_required, depth, distinct[index])
            )
        unique = tuple(dict.fromkeys(members))
        # pydantic looks the discriminator up by attribute name, not wire name.
        py_tag = naming.field_name(tag) if tag else None
        union: ir.TypeExpr = ir.UnionOf(unique, py_tag) if len(unique) > 1 else unique[0]
        return ir.nullable(union) if has_null else union

    def _variant(
        self,
        variant: object,
        vloc: Location,
        hint: str,
        index: int,
        tag: str | None,
        common: Mapping[str, tuple[JsonObject, Location]],
        common_required: Sequence[str],
        depth: int,
        distinct: str | None,
    ) -> ir.TypeExpr:
        if not isinstance(variant, dict):
            raise GeneratorError(vloc, "a union variant must be a schema object")
        needs_class = bool(common) or _nested_alternatives(variant)
        if not needs_class and ("$ref" in variant or not _is_object_schema(variant) or _is_map(variant)):
            return self.type_of(variant, vloc, naming.variant_hint(hint, index), depth + 1)
        identity = ("variant", _canonical([variant, {k: v[0] for k, v in common.items()}, sorted(common_required)]))
        cls = self._variant_class(variant, vloc, hint, tag, distinct, identity)
        if cls not in self.out and cls not in self._in_progress:
            self._in_progress.add(cls)
            try:
                self.out[cls] = self._variant_model(cls, variant, vloc, common, common_required)
            finally:
                self._in_progress.discard(cls)
        return ir.Named(cls)

    def _variant_model(
        self,
        cls: str,
        variant: JsonObject,
        vloc: Location,
        common: Mapping[str, tuple[JsonObject, Location]],
        common_required: Sequence[str],
    ) -> ir.Model:
        # Alternatives nested in a variant (e.g. an image given by url OR by
        # fileId) become optional fields of the variant's model.
        # The model then checks that the fields of one alternative are given.
        optional: dict[str, tuple[JsonObject, Location]] = {}
        groups: list[tuple[str, ...]] = []
        key = _union_keyword(variant)
        if key:
            for i, alt in enumerate(variant[key]):
                if isinstance(alt, dict):
                    alt_schema = self.deref(alt, vloc.child(key, i))
                    for name, value in _properties(alt_schema, vloc.child(key, i)).items():
                        optional.setdefault(name, value)
                    groups.append(tuple(_required(alt_schema, vloc.child(key, i))))
        # An alternative that requires nothing is always met: then so is the union.
        alternatives = tuple(groups) if groups and all(groups) else ()
        target = variant
        if "$ref" in variant:
            target = self.deref(variant, vloc)
        return self._model(
            cls,
            target,
            vloc,
            _description(target, vloc),
            common,
            common_required,
            optional,
            alternatives,
            exclusive=key == "oneOf",
        )

    def _variant_class(
        self,
        variant: JsonObject,
        vloc: Location,
        hint: str,
        tag: str | None,
        distinct: str | None,
        identity: tuple[str, str],
    ) -> str:
        by_pointer = self.overrides.types.get(vloc.pointer)
        if by_pointer:
            return self.classes.claim(by_pointer, vloc.pointer, vloc, identity=identity)
        tag_value = _tag_value(self.deref(variant, vloc), tag) if tag else None
        pattern = self.overrides.variants.get(hint)
        if pattern and tag_value is not None:
            return self._class_for(naming.variant_pattern_source(pattern, tag_value), vloc, identity)
        title = variant.get("title")
        if "$ref" in variant:
            target = self.resolve_ref(variant["$ref"], vloc)
            return self._class_for(naming.ref_variant_source(target.name, hint), vloc, identity)
        if isinstance(title, str) and title.strip():
            return self._class_for(title, vloc, identity)
        if tag_value is not None:
            return self._class_for(naming.tagged_variant_source(tag_value, hint), vloc, identity)
        if distinct is not None:
            return self._class_for(naming.tagged_variant_source(distinct, hint), vloc, identity)
        raise GeneratorError(vloc, f"cannot name this untitled variant of {hint}", _pointer_hint(vloc))

    def _discriminator(self, variants: Sequence[tuple[object, Location]], common: Mapping[str, object]) -> str | None:
        """The property every object variant fixes to a distinct single value, if any."""
        shapes = []
        for variant, vloc in variants:
            if not isinstance(variant, dict):
                return None
            target = self.deref(variant, vloc)
            if not _is_object_schema(target) or _is_map(target):
                return None
            shapes.append(target)
        if len(shapes) < 2:
            return None
        candidates = set(_properties(shapes[0], Location("")))
        for shape in shapes[1:]:
            candidates &= set(_properties(shape, Location("")))
        candidates -= set(common)
        ordered = [c for c in _PREFERRED_TAGS if c in candidates] + sorted(candidates - set(_PREFERRED_TAGS))
        for name in ordered:
            values = [_tag_value(shape, name) for shape in shapes]
            required = all(name in shape.get("required", []) for shape in shapes)
            if required and all(v is not None for v in values) and len(set(values)) == len(values):
                return name
        return None


# ---------------------------------------------------------------- small pure helpers


def _check_unambiguous(cls: str, fields: Sequence[ir.Field], props: Mapping[str, tuple[JsonObject, Location]]) -> None:
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


def _pointer_hint(loc: Location) -> str:
    return f"name it explicitly: add '{loc.pointer}' = \"Name\" under [names.types] in schemas/methods.toml"


def _canonical(schema: object) -> str:
    """A stable text of a schema, to tell whether two uses of one class name mean the same shape."""
    return json.dumps(schema, sort_keys=True, ensure_ascii=True)


def _check_nesting(loc: Location) -> None:
    """Bound recursion by the depth of the schema document itself (refs start over at their target)."""
    depth = loc.pointer.count("/")
    if depth > MAX_POINTER_DEPTH:
        raise GeneratorError(loc, f"schema nested deeper than {MAX_POINTER_DEPTH} levels")


def _check_supported(schema: JsonObject, loc: Location) -> None:
    for key in _UNSUPPORTED:
        if key in schema:
            raise GeneratorError(loc.child(key), f"unsupported JSON Schema keyword {key!r}")


def _description(schema: JsonObject, loc: Location) -> str | None:
    text = schema.get("description")
    if text is None:
        return None
    if not isinstance(text, str):
        raise GeneratorError(loc.child("description"), "description must be a string")
    return text.strip() or None


def _union_keyword(schema: JsonObject) -> str | None:
    for key in ("oneOf", "anyOf"):
        if key in schema:
            return key
    return None


def _nested_alternatives(variant: JsonObject) -> bool:
    return bool(_union_keyword(variant)) and "properties" in variant


def _is_object_schema(schema: JsonObject) -> bool:
    t = schema.get("type")
    return t == "object" or (t is None and ("properties" in schema))


def _is_map(schema: JsonObject) -> bool:
    """An object schema without properties: a dict keyed by string."""
    return (
        _is_object_schema(schema) and not schema.get("properties") and "oneOf" not in schema and "anyOf" not in schema
    )


def _properties(schema: JsonObject, loc: Location) -> dict[str, tuple[JsonObject, Location]]:
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


def _required(schema: JsonObject, loc: Location) -> list[str]:
    required = schema.get("required", [])
    if not isinstance(required, list) or not all(isinstance(r, str) for r in required):
        raise GeneratorError(loc.child("required"), "required must be an array of strings")
    return required


def _enum_value_locations(schema: JsonObject, loc: Location) -> dict[str, Location]:
    """Where each value of a string enum is spelled (its first occurrence), also inside a oneOf."""
    out: dict[str, Location] = {}
    enum = schema.get("enum")
    if isinstance(enum, list):
        for index, value in enumerate(enum):
            out.setdefault(str(value), loc.child("enum", index))
        return out
    key = _union_keyword(schema)
    variants = schema.get(key) if key else None
    for index, variant in enumerate(variants if isinstance(variants, list) else []):
        if isinstance(variant, dict) and key:
            for value, vloc in _enum_value_locations(variant, loc.child(key, index)).items():
                out.setdefault(value, vloc)
    return out


def _string_enum_values(schema: JsonObject) -> list[str] | None:
    """The values of a string enum, also when spelled as a oneOf of documented enums."""
    enum = schema.get("enum")
    if isinstance(enum, list):
        return list(dict.fromkeys(enum)) if enum and all(isinstance(v, str) for v in enum) else None
    key = _union_keyword(schema)
    if key is None or "properties" in schema or not isinstance(schema[key], list) or not schema[key]:
        return None
    values: list[str] = []
    for variant in schema[key]:
        if not isinstance(variant, dict) or "$ref" in variant or _union_keyword(variant):
            return None
        sub = _string_enum_values(variant)
        if sub is None:
            return None
        values.extend(sub)
    return list(dict.fromkeys(values))


def _enum_description(schema: JsonObject, description: str | None) -> str | None:
    """The enum's description plus one line per documented value."""
    key = _union_keyword(schema)
    lines = [description] if description else []
    documented = []
    for variant in schema.get(key, []) if key else []:
        text = variant.get("description") if isinstance(variant, dict) else None
        values = variant.get("enum") if isinstance(variant, dict) else None
        if isinstance(text, str) and text.strip() and isinstance(values, list):
            first_line = text.strip().splitlines()[0]
            documented.extend(f"- ``{v}``: {first_line}" for v in values)
    if documented:
        lines.append("\n".join(documented))
    return "\n\n".join(lines) or None


def _merge_string_enum_variants(
    variants: Sequence[tuple[object, Location]],
) -> list[tuple[object, Location]]:
    """Fold the string-enum variants of a mixed union into one enum variant."""
    merged: list[str] = []
    first: Location | None = None
    rest: list[tuple[object, Location]] = []
    for variant, vloc in variants:
        values = _string_enum_values(variant) if isinstance(variant, dict) and "$ref" not in variant else None
        if values and "enum" in variant:  # type: ignore[operator]
            merged.extend(values)
            first = first or vloc
        else:
            rest.append((variant, vloc))
    if first is None:
        return list(variants)
    return [({"type": "string", "enum": list(dict.fromkeys(merged))}, first), *rest]


def _distinct_required(variants: Sequence[tuple[object, Location]]) -> list[str | None]:
    """Per variant, the one required property no other variant has (names untitled variants)."""
    props = [set(v.get("properties", {})) if isinstance(v, dict) else set() for v, _ in variants]
    out: list[str | None] = []
    for index, (variant, _) in enumerate(variants):
        required = variant.get("required", []) if isinstance(variant, dict) else []
        others = set().union(*(p for i, p in enumerate(props) if i != index))
        unique = [r for r in required if isinstance(r, str) and r not in others]
        out.append(unique[0] if len(unique) == 1 else None)
    return out


def _tag_value(schema: JsonObject, name: str | None) -> str | None:
    if name is None:
        return None
    prop = schema.get("properties", {}).get(name)
    if not isinstance(prop, dict):
        return None
    if "const" in prop and isinstance(prop["const"], str):
        return prop["const"]
    enum = prop.get("enum")
    if isinstance(enum, list) and len(enum) == 1 and isinstance(enum[0], str):
        return enum[0]
    return None


def _literal_value(value: object, loc: Location) -> str | int | float | bool | None:
    if value is None or isinstance(value, (str, bool, int, float)):
        return value
    raise GeneratorError(loc, f"enum/const values must be scalars, got {type(value).__name__}")


def _integer(schema: JsonObject, loc: Location) -> ir.TypeExpr:
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


def build_definitions(bundle: Bundle, overrides: NameOverrides) -> tuple[tuple[ir.Definition, ...], dict[str, str]]:
    """All IR definitions, sorted by name, plus the schema-def -> class map."""
    builder = _Builder(bundle.definitions, overrides)
    builder.build_all()
    definitions = tuple(builder.out[name] for name in sorted(builder.out))
    return close_union_tags(definitions), dict(builder.def_class)


def close_union_tags(definitions: Sequence[ir.Definition]) -> tuple[ir.Definition, ...]:
    """Close the enums that tell the variants of an untagged union apart.

    An open enum accepts any string, so in an untagged union it lets an
    object match a variant it does not belong to: pydantic takes the first
    variant that validates, and ``{"type": "boolean"}`` became the
    string-schema variant with an unknown ``type``. An enum typing a member
    that every model variant requires is a tag, and rejects values it does
    not know, like a ``Literal`` tag of a tagged union.
    """
    by_name = {d.name: d for d in definitions}
    tags: set[str] = set()
    for union in _untagged_unions(definitions):
        models = [by_name[n] for n in _union_leaves(union, by_name)]
        if len(models) < 2 or not all(isinstance(m, ir.Model) for m in models):
            continue
        required = [{f.wire_name: f.type for f in m.fields if f.required} for m in models]  # type: ignore[union-attr]
        for wire in sorted(set.intersection(*(set(r) for r in required))):
            types = [r[wire] for r in required]
            if all(isinstance(t, ir.Named) and isinstance(by_name.get(t.name), ir.Enum) for t in types):
                tags.update(t.name for t in types)  # type: ignore[union-attr]
    return tuple(replace(d, closed=True) if d.name in tags and isinstance(d, ir.Enum) else d for d in definitions)


def _untagged_unions(definitions: Sequence[ir.Definition]) -> list[ir.UnionOf]:
    found: list[ir.UnionOf] = []

    def visit(t: ir.TypeExpr) -> None:
        if isinstance(t, ir.UnionOf):
            if t.discriminator is None:
                found.append(t)
            for m in t.members:
                visit(m)
        elif isinstance(t, (ir.ListOf, ir.Nullable)):
            visit(t.item if isinstance(t, ir.ListOf) else t.inner)
        elif isinstance(t, ir.DictOf):
            visit(t.value)
        elif isinstance(t, ir.TupleOf):
            for item in t.items:
                visit(item)

    for d in definitions:
        if isinstance(d, ir.Alias):
            visit(d.type)
        elif isinstance(d, ir.Model):
            for f in d.fields:
                visit(f.type)
    return found


def _union_leaves(
    union: ir.UnionOf, by_name: Mapping[str, ir.Definition], seen: frozenset[str] = frozenset()
) -> list[str]:
    """The named non-union members of a union, through aliases of unions (e.g. nested schema unions).

    ``seen`` stops at an alias cycle (reported later, with its pointer, by the alias ordering).
    """
    leaves: list[str] = []
    for member in union.members:
        member = ir.strip_nullable(member)
        if isinstance(member, ir.Named) and member.name not in seen:
            target = by_name.get(member.name)
            if isinstance(target, ir.Alias) and isinstance(ir.strip_nullable(target.type), ir.UnionOf):
                inner = ir.strip_nullable(target.type)
                leaves.extend(_union_leaves(inner, by_name, seen | {member.name}))  # type: ignore[arg-type]
            else:
                leaves.append(member.name)
    return leaves
