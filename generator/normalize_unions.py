"""The normalize stage's unions: ``anyOf``/``oneOf`` -> nullable, literal, tagged or plain unions.

Object variants that share a single-valued tag property become a
discriminated union of models; each variant gets a class named by the
manifest, its title, its tag or the one property only it requires.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

from . import ir, naming
from . import schema_nodes as nodes
from .errors import GeneratorError, Location
from .load import JsonObject, NameOverrides
from .normalize_refs import RefResolver


class UnionBuilder(RefResolver):
    """Unions (mixed into the builder, which provides the rest of the type mapping)."""

    out: dict[str, ir.Definition]
    overrides: NameOverrides
    classes: naming.NameTable
    _in_progress: set[str]

    # Provided by the builder (generator.normalize._Builder): the rest of the type mapping.
    type_of: Callable[[object, Location, str, int], ir.TypeExpr]
    _class_for: Callable[[str, Location, tuple[str, str]], str]
    _model: Callable[..., ir.Model]

    def _union(self, schema: JsonObject, loc: Location, hint: str, depth: int) -> ir.TypeExpr:
        key = nodes.union_keyword(schema)
        assert key is not None
        raw = schema[key]
        if not isinstance(raw, list) or not raw:
            raise GeneratorError(loc.child(key), f"{key} must be a non-empty array")
        variants = [(v, loc.child(key, i)) for i, v in enumerate(raw)]
        has_null = any(
            isinstance(v, dict) and v.get("type") == "null" and len(set(v) - nodes.ANNOTATIONS) == 1
            for v, _ in variants
        )
        variants = [
            (v, vloc)
            for v, vloc in variants
            if not (isinstance(v, dict) and v.get("type") == "null" and len(set(v) - nodes.ANNOTATIONS) == 1)
        ]
        common = nodes.properties(schema, loc) if "properties" in schema else {}
        common_required = nodes.required(schema, loc) if "properties" in schema else []
        if not variants:
            return ir.NONE
        if len(variants) == 1 and not common:
            inner = self.type_of(variants[0][0], variants[0][1], hint, depth + 1)
            return ir.nullable(inner) if has_null else inner
        string_values = nodes.string_enum_values({key: [v for v, _ in variants]})
        if string_values and not common:
            literal = ir.LiteralOf(tuple(string_values))
            return ir.nullable(literal) if has_null else literal
        variants = nodes.merge_string_enum_variants(variants)
        tag = self._discriminator(variants, common)
        distinct = nodes.distinct_required(variants)
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
        needs_class = bool(common) or nodes.nested_alternatives(variant)
        if not needs_class and ("$ref" in variant or not nodes.is_object_schema(variant) or nodes.is_map(variant)):
            return self.type_of(variant, vloc, naming.variant_hint(hint, index), depth + 1)
        identity = (
            "variant",
            nodes.canonical([variant, {k: v[0] for k, v in common.items()}, sorted(common_required)]),
        )
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
        key = nodes.union_keyword(variant)
        if key:
            for i, alt in enumerate(nodes.array_at(variant, key)):
                if isinstance(alt, dict):
                    alt_schema = self.deref(alt, vloc.child(key, i))
                    for name, value in nodes.properties(alt_schema, vloc.child(key, i)).items():
                        optional.setdefault(name, value)
                    groups.append(tuple(nodes.required(alt_schema, vloc.child(key, i))))
        # An alternative that requires nothing is always met: then so is the union.
        alternatives = tuple(groups) if groups and all(groups) else ()
        target = variant
        if "$ref" in variant:
            target = self.deref(variant, vloc)
        return self._model(
            cls,
            target,
            vloc,
            nodes.description(target, vloc),
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
        tag_value = nodes.tag_value(self.deref(variant, vloc), tag) if tag else None
        by_tag = self.overrides.types.get(naming.tagged_variant_key(hint, tag_value)) if tag_value is not None else None
        if by_tag:
            return self.classes.claim(by_tag, vloc.pointer, vloc, identity=identity)
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
        raise GeneratorError(vloc, f"cannot name this untitled variant of {hint}", nodes.pointer_hint(vloc))

    def _discriminator(self, variants: Sequence[tuple[object, Location]], common: Mapping[str, object]) -> str | None:
        """The property every object variant fixes to a distinct single value, if any."""
        shapes = []
        for variant, vloc in variants:
            if not isinstance(variant, dict):
                return None
            target = self.deref(variant, vloc)
            if not nodes.is_object_schema(target) or nodes.is_map(target):
                return None
            shapes.append(target)
        if len(shapes) < 2:
            return None
        candidates = set(nodes.properties(shapes[0], Location("")))
        for shape in shapes[1:]:
            candidates &= set(nodes.properties(shape, Location("")))
        candidates -= set(common)
        ordered = [c for c in nodes.PREFERRED_TAGS if c in candidates] + sorted(candidates - set(nodes.PREFERRED_TAGS))
        for name in ordered:
            values = [nodes.tag_value(shape, name) for shape in shapes]
            required = all(name in nodes.array_at(shape, "required") for shape in shapes)
            if required and all(v is not None for v in values) and len(set(values)) == len(values):
                return name
        return None
