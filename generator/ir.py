"""Intermediate representation: what to generate, free of JSON Schema detail.

Everything is a frozen dataclass so stages cannot mutate each other's data
and the IR can be compared, hashed and diffed (the API diff works on it).
"""

from __future__ import annotations

from dataclasses import dataclass, field

# ---------------------------------------------------------------- type expressions


@dataclass(frozen=True)
class Builtin:
    """A builtin or imported scalar: str, int, float, bool, None, JsonValue, or an int alias."""

    name: str


@dataclass(frozen=True)
class Named:
    """A reference to a generated class or type alias."""

    name: str


@dataclass(frozen=True)
class ListOf:
    item: TypeExpr


@dataclass(frozen=True)
class DictOf:
    value: TypeExpr


@dataclass(frozen=True)
class TupleOf:
    items: tuple[TypeExpr, ...]


@dataclass(frozen=True)
class LiteralOf:
    values: tuple[str | int | float | bool | None, ...]


@dataclass(frozen=True)
class UnionOf:
    """A union; ``discriminator`` names the tag property (wire name) when tagged."""

    members: tuple[TypeExpr, ...]
    discriminator: str | None = None
    # An open tagged union (one the server sends): the tag value of each
    # member but the last, which is the fallback for every other tag; and
    # the tag's wire name (the discriminator above is the attribute name).
    tags: tuple[str, ...] = ()
    tag_wire_name: str | None = None


@dataclass(frozen=True)
class Constrained:
    """A scalar with bounds: ``Annotated[int, Field(ge=.., le=..)]`` and friends."""

    base: TypeExpr
    constraints: tuple[tuple[str, int | float], ...]


@dataclass(frozen=True)
class Nullable:
    inner: TypeExpr


TypeExpr = Builtin | Named | ListOf | DictOf | TupleOf | LiteralOf | UnionOf | Constrained | Nullable

NONE = Builtin("None")
JSON_VALUE = Builtin("JsonValue")


@dataclass(frozen=True)
class IntAlias:
    """A bounded integer type of the generated models (``Int32`` = ``Annotated[int, Field(ge=.., le=..)]``)."""

    name: str
    minimum: int
    maximum: int | None  # None: unbounded above
    formats: tuple[str, ...]  # the JSON Schema ``format`` values typed with it


# The one table of integer aliases: the schema formats they stand for
# (normalize), their definitions (views, models_base), their ranges (api_diff)
# and the class names they take (naming).
INT_ALIASES: tuple[IntAlias, ...] = (
    IntAlias("Int8", -(2**7), 2**7 - 1, ("int8",)),
    IntAlias("Int16", -(2**15), 2**15 - 1, ("int16",)),
    IntAlias("Int32", -(2**31), 2**31 - 1, ("int32",)),
    IntAlias("Int64", -(2**63), 2**63 - 1, ("int64", "int")),
    IntAlias("UInt8", 0, 2**8 - 1, ("uint8",)),
    IntAlias("UInt16", 0, 2**16 - 1, ("uint16",)),
    IntAlias("UInt32", 0, 2**32 - 1, ("uint32",)),
    IntAlias("UInt64", 0, 2**64 - 1, ("uint64", "uint")),
    IntAlias("UInt", 0, None, ("uint128",)),
)
INT_ALIAS_BY_FORMAT = {fmt: alias for alias in INT_ALIASES for fmt in alias.formats}


def nullable(t: TypeExpr) -> TypeExpr:
    if isinstance(t, Nullable) or t == NONE:
        return t
    return Nullable(t)


def is_nullable(t: TypeExpr) -> bool:
    return isinstance(t, Nullable) or t == NONE or t == JSON_VALUE


def strip_nullable(t: TypeExpr) -> TypeExpr:
    return t.inner if isinstance(t, Nullable) else t


def referenced_names(t: TypeExpr) -> frozenset[str]:
    """Generated names a type expression mentions (for ordering aliases)."""
    if isinstance(t, Named):
        return frozenset({t.name})
    if isinstance(t, (ListOf,)):
        return referenced_names(t.item)
    if isinstance(t, DictOf):
        return referenced_names(t.value)
    if isinstance(t, Nullable):
        return referenced_names(t.inner)
    if isinstance(t, Constrained):
        return referenced_names(t.base)
    if isinstance(t, (UnionOf, TupleOf)):
        members = t.members if isinstance(t, UnionOf) else t.items
        out: frozenset[str] = frozenset()
        for m in members:
            out |= referenced_names(m)
        return out
    return frozenset()


# ---------------------------------------------------------------- definitions


@dataclass(frozen=True)
class Field:
    py_name: str
    wire_name: str
    type: TypeExpr
    required: bool
    description: str | None = None
    # JSON value of the schema's "default", if any; None means "no default"
    # unless has_default is set (a default of null).
    default: object = None
    has_default: bool = False
    deprecated: bool = False
    experimental: bool = False  # only in the `--experimental` dump (generator.experimental)


@dataclass(frozen=True)
class Model:
    name: str
    fields: tuple[Field, ...]
    description: str | None
    pointer: str
    # True when the schema says additionalProperties: false. We still accept
    # extra keys (forward compatibility) but record it for documentation.
    closed: bool = False
    # Groups of fields (python names) of which at least one must be fully
    # given (anyOf), or exactly one (oneOf, exclusive): e.g. url OR fileId.
    alternatives: tuple[tuple[str, ...], ...] = ()
    exclusive: bool = False
    # The open union this model stands in for when the server sends a tag
    # this SDK does not know (see generator.tolerant).
    fallback_for: str | None = None
    experimental: bool = False  # only in the `--experimental` dump (generator.experimental)


@dataclass(frozen=True)
class EnumMember:
    py_name: str
    value: str


@dataclass(frozen=True)
class Enum:
    name: str
    members: tuple[EnumMember, ...]
    description: str | None
    pointer: str
    closed: bool = False  # a tag of an untagged union: unknown values are rejected
    experimental: bool = False


@dataclass(frozen=True)
class Alias:
    name: str
    type: TypeExpr
    description: str | None
    pointer: str
    experimental: bool = False


Definition = Model | Enum | Alias


def definition_references(definition: Definition) -> frozenset[str]:
    """Generated names a definition mentions: what its class body or alias needs defined."""
    if isinstance(definition, Model):
        out: frozenset[str] = frozenset()
        for f in definition.fields:
            out |= referenced_names(f.type)
        return out
    if isinstance(definition, Alias):
        return referenced_names(definition.type)
    return frozenset()


@dataclass(frozen=True)
class Parameter:
    """One keyword argument of a generated method, taken from a params model field."""

    py_name: str  # the argument name
    field_name: str  # the params model attribute it fills
    wire_name: str
    type: TypeExpr
    required: bool
    description: str | None
    experimental: bool = False  # an experimental field of the params model


@dataclass(frozen=True)
class Method:
    """A client request (client -> server)."""

    rpc_method: str
    py_name: str
    params_model: str | None
    response_model: str
    parameters: tuple[Parameter, ...]
    description: str | None
    deprecated: bool = False
    experimental: bool = False  # only in the `--experimental` dump: needs the experimentalApi capability


@dataclass(frozen=True)
class Notification:
    """A server notification; ``params_model`` is None when it carries no params."""

    rpc_method: str
    class_name: str
    params_model: str | None
    description: str | None
    experimental: bool = False


@dataclass(frozen=True)
class ServerRequest:
    """A request from the server the client must answer (approvals, user input ...)."""

    rpc_method: str
    class_name: str
    handler_name: str
    params_model: str | None
    response_model: str | None
    description: str | None
    # JSON answered when the user installed no handler (from the manifest);
    # None means "reply with a JSON-RPC error".
    default_response: object = None
    experimental: bool = False  # sent only to a client that declared the experimentalApi capability
    # Fields of the default answer computed when it is sent: (wire name, provider), see generator.protocol.
    computed: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class WrapperMethod:
    """A high-level method on Codex/Thread/TurnHandle, generated from the manifest."""

    owner: str  # "Codex" | "Thread" | "TurnHandle"
    py_name: str
    rpc_method: str
    kind: str  # a name of generator.wrappers.KINDS
    bound: tuple[tuple[str, str], ...]  # (field name, attribute of self)
    positional: tuple[Parameter, ...]
    keywords: tuple[Parameter, ...]
    # What the call answers, as the wrapper hands it on: the method's response
    # model, or for a params variant the response variant of the same tag.
    response_model: str
    description: str | None
    fixed: tuple[tuple[str, object], ...] = ()  # (field name, JSON value)
    excluded: tuple[tuple[str, str], ...] = ()  # (field name, reason)
    # (field name, ((key, value), ...)) per-param overrides: default, type, convert, doc
    overrides: tuple[tuple[str, tuple[tuple[str, object], ...]], ...] = ()
    # The one variant of a union of params the wrapper sends: (model, tag field name, tag value).
    variant: tuple[str, str, str] | None = None
    item: TypeExpr | None = None  # what a "pages" wrapper yields: one item of the paged list

    def override(self, field_name: str) -> dict[str, object]:
        for name, items in self.overrides:
            if name == field_name:
                return dict(items)
        return {}


@dataclass(frozen=True)
class InputClass:
    """A dataclass users build a turn's input with, for one variant of the UserInput union."""

    name: str  # TextInput
    model: str  # the variant's model: TextUserInput
    tag_field: str  # the discriminator's field name: type
    tag: str  # text
    fields: tuple[Parameter, ...]  # what the dataclass takes, in order
    description: str | None = None


@dataclass(frozen=True)
class Inputs:
    """The input dataclasses, and every model of the union (accepted as they are)."""

    union: str  # UserInput
    classes: tuple[InputClass, ...]
    models: tuple[str, ...]


@dataclass(frozen=True)
class Api:
    """Everything the templates render; the API diff compares two of these."""

    schema_version: str
    input_hash: str
    definitions: tuple[Definition, ...]
    methods: tuple[Method, ...]
    notifications: tuple[Notification, ...]
    server_requests: tuple[ServerRequest, ...]
    wrappers: tuple[WrapperMethod, ...] = field(default=())
    inputs: Inputs | None = None

    def definition(self, name: str) -> Definition:
        for d in self.definitions:
            if d.name == name:
                return d
        raise KeyError(name)
