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

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace

from . import ir, naming
from . import schema_nodes as nodes
from .errors import GeneratorError, Location
from .load import Bundle, JsonObject, NameOverrides, SchemaDef
from .normalize_unions import UnionBuilder


@dataclass
class _Builder(UnionBuilder):
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
        hint = None if identity[0] == "definition" else nodes.pointer_hint(location)
        return self.classes.claim(name, source, location, identity=identity, hint=hint)

    def reserve_definitions(self) -> None:
        """Claim every definition's class name first, so inline titles clash with them, not vice versa."""
        for name in sorted(self.schema_defs):
            loc = self.schema_defs[name].location
            self.def_class[name] = self._class_for(name, loc, ("definition", name))

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
        nodes.check_supported(schema, loc)
        nodes.check_nesting(loc)
        description = nodes.description(schema, loc)
        if nodes.is_object_schema(schema) and not nodes.union_keyword(schema):
            # A named object is a model even without properties (an empty
            # response is still a response), unless it is a typed map.
            if schema.get("properties") or not isinstance(schema.get("additionalProperties"), dict):
                return self._model(cls, schema, loc, description)
        values = nodes.string_enum_values(schema)
        if values and top_level:
            return self._enum(
                cls, values, loc, nodes.enum_description(schema, description), nodes.enum_value_locations(schema, loc)
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
        props = nodes.properties(schema, loc)
        merged: dict[str, tuple[JsonObject, Location]] = dict(extra_properties or {})
        merged.update(props)
        for name, value in (optional_properties or {}).items():
            merged.setdefault(name, value)
        required = set(nodes.required(schema, loc)) | set(extra_required)
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
                    description=nodes.description(prop, ploc),
                    default=prop.get("default"),
                    has_default=has_default,
                    deprecated=bool(prop.get("deprecated")),
                )
            )
        nodes.check_unambiguous(cls, fields, merged)
        closed = schema.get("additionalProperties") is False
        py_names = {f.wire_name: f.py_name for f in fields}
        if not all(wire in py_names for group in alternatives for wire in group):
            alternatives = ()  # a group names an undeclared property: nothing the model can check
        groups = tuple(tuple(py_names[wire] for wire in group) for group in alternatives)
        return ir.Model(cls, tuple(fields), description, loc.pointer, closed, groups, exclusive and bool(groups))

    # ------------------------------------------------------------ type expressions

    def type_of(self, schema: object, loc: Location, hint: str, depth: int) -> ir.TypeExpr:
        if depth > nodes.MAX_DEPTH:
            raise GeneratorError(loc, f"schema nested deeper than {nodes.MAX_DEPTH} levels")
        nodes.check_nesting(loc)
        if schema is True or schema == {}:
            return ir.JSON_VALUE
        if not isinstance(schema, dict):
            raise GeneratorError(loc, f"expected a schema object, got {type(schema).__name__}")
        nodes.check_supported(schema, loc)
        if "$ref" in schema:
            target = self.resolve_ref(schema["$ref"], loc)
            return ir.Named(self.def_class[target.name])
        all_of = schema.get("allOf")
        if all_of is not None:
            return self._all_of(schema, all_of, loc, hint, depth)
        if "const" in schema:
            return ir.LiteralOf((nodes.literal_value(schema["const"], loc.child("const")),))
        if "enum" in schema:
            return self._inline_enum(schema, loc)
        if nodes.union_keyword(schema):
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
        if set(schema) <= nodes.ANNOTATIONS:
            return ir.JSON_VALUE
        raise GeneratorError(loc, f"unsupported schema construct with keys {sorted(schema)}")

    def _typed(self, schema: JsonObject, type_name: str, loc: Location, hint: str, depth: int) -> ir.TypeExpr:
        if type_name == "object":
            if not schema.get("properties") and not nodes.union_keyword(schema):
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
            return nodes.integer(schema, loc)
        min_length = schema.get("minLength")
        if type_name == "string" and isinstance(min_length, int) and min_length > 0:
            return ir.Constrained(ir.Builtin("str"), (("min_length", min_length),))
        if type_name in nodes.PRIMITIVES:
            return nodes.PRIMITIVES[type_name]
        raise GeneratorError(loc.child("type"), f"unsupported type {type_name!r}")

    def _inline_class(self, schema: JsonObject, loc: Location, hint: str) -> str:
        """The class of an inline object: by pointer override, else its title, else the hint.

        The same title (or hint) for an equal schema is one class; for a
        different schema, or a definition's name, it is a collision.
        """
        identity = ("inline", nodes.canonical(schema))
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
        literal = tuple(nodes.literal_value(v, loc.child("enum", i)) for i, v in enumerate(values))
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
        if all(isinstance(p, dict) and nodes.is_object_schema(p) and not nodes.union_keyword(p) for p in parts):
            merged_props: dict[str, object] = {}
            merged_required: list[str] = []
            for p in parts:
                assert isinstance(p, dict)
                merged_props.update(p.get("properties", {}))
                merged_required.extend(p.get("required", []))
            merged: dict[str, object] = {"type": "object", "properties": merged_props, "required": merged_required}
            if "title" in schema:
                merged["title"] = schema["title"]
            return self._typed(merged, "object", loc, hint, depth)
        raise GeneratorError(loc.child("allOf"), "allOf is supported for one schema or for object schemas only")


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
