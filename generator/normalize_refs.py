"""The normalize stage's references: ``$ref`` to a definition of the bundle, and chains of them."""

from __future__ import annotations

import urllib.parse
from collections.abc import Mapping

from . import schema_nodes as nodes
from .errors import GeneratorError, Location
from .load import JsonObject, SchemaDef


class RefResolver:
    """Resolving ``$ref`` (mixed into the builder, which holds the bundle's definitions)."""

    schema_defs: Mapping[str, SchemaDef]

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
        if depth > nodes.MAX_DEPTH:
            raise GeneratorError(loc, "$ref chain does not end (a cycle of references)")
        if "$ref" in schema:
            target = self.resolve_ref(schema["$ref"], loc)
            return self.deref(target.schema, target.location, depth + 1)
        all_of = schema.get("allOf")
        if isinstance(all_of, list) and len(all_of) == 1 and isinstance(all_of[0], dict):
            return self.deref(all_of[0], loc.child("allOf", 0), depth + 1)
        return schema
