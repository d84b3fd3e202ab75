"""The ONE place where Python names are made from schema names.

Every class, field, keyword argument, method and enum member name in the
generated SDK comes from a function here. Hazards handled: Python keywords,
soft keywords, names pydantic reserves (``model_*``, leading underscores,
``BaseModel`` attributes), names ``str``/``Enum`` reserve for enum members,
digits-first names, empty names, hyphens, slashes and other non-identifier
characters, and non-ASCII text (escaped to ASCII so output is stable under
any locale or normalisation).

Collisions are never resolved silently (no ``Foo1`` suffixes): callers use
:class:`NameTable` which raises a :class:`GeneratorError` naming both
sources, and the user resolves it with an override in the manifest.
"""

from __future__ import annotations

import keyword
import re
from collections.abc import Container, Iterable
from dataclasses import dataclass, field

from . import ir
from .errors import GeneratorError, Location

# Attributes of pydantic.BaseModel that a field must never shadow. Listed
# literally (not via dir(BaseModel)) so output never depends on the
# installed pydantic version.
_BASEMODEL_ATTRS = frozenset(
    {
        "construct",
        "copy",
        "dict",
        "fields",
        "from_orm",
        "json",
        "parse_file",
        "parse_obj",
        "parse_raw",
        "schema",
        "schema_json",
        "update_forward_refs",
        "validate",
    }
)
# Names an enum member cannot take: Enum/str machinery and str methods.
_ENUM_RESERVED = frozenset({"name", "value", "mro"} | {n for n in dir(str) if not n.startswith("_")})
# Names a generated class cannot take: they are imported into the module.
_RESERVED_CLASS_NAMES = frozenset(
    {
        "Annotated",
        "Any",
        "BaseModel",
        "ClassVar",
        "ConfigDict",
        "Enum",
        "Field",
        "JsonValue",
        "Literal",
        "Optional",
        "Union",
        "WireModel",
        "OpenEnum",
        "TagEnum",
        "TypeAdapter",
    }
    | {alias.name for alias in ir.INT_ALIASES}
    | {"str", "int", "float", "bool", "list", "dict", "tuple", "type", "object", "bytes"}
)
# Lowercase names field annotations use. pydantic evaluates annotations with
# the class namespace first, so a field named ``bool`` would turn every
# ``bool`` annotation of its model into the field's default.
_ANNOTATION_NAMES = frozenset({"str", "int", "float", "bool", "list", "dict", "tuple"})
# Soft keywords (match, case, type) are valid identifiers; only "_" is a problem.
_SOFT_KEYWORDS = frozenset({"_"})

_WORD_SPLIT = re.compile(r"[^0-9A-Za-z]+")
# Camel-case boundaries: an acronym (a run of capitals) ends where a
# capitalised word starts (URLPath -> URL Path, JSONRPCError -> JSONRPC
# Error); a lower case letter or digit ends where a capital starts
# (threadId -> thread Id).
_CAMEL_BOUNDARY_1 = re.compile(r"([A-Z]+)([A-Z][a-z])")
_CAMEL_BOUNDARY_2 = re.compile(r"([a-z0-9])([A-Z])")


def ascii_escape(text: str) -> str:
    """Replace every non-ASCII character by ``uXXXX`` surrounded by separators."""
    if text.isascii():
        return text
    return "".join(ch if ch.isascii() else f"_u{ord(ch):04x}_" for ch in text)


def words(text: str) -> list[str]:
    """Split a schema name (camelCase, PascalCase, snake, kebab, path) into words.

    A lone letter is never a word of its own inside a camel-case run: it is
    the start of the word after it, so acronyms written with one capital
    stay whole (``gatewayOAuth`` -> gateway OAuth, ``oAuth`` -> oAuth,
    ``iPhone`` -> iPhone), never ``o auth``.
    """
    out: list[str] = []
    for token in _WORD_SPLIT.split(ascii_escape(text)):
        token = _CAMEL_BOUNDARY_1.sub(r"\1 \2", token)
        parts = _CAMEL_BOUNDARY_2.sub(r"\1 \2", token).split()
        while parts:
            part = parts.pop(0)
            if len(part) == 1 and part.isalpha() and parts:
                parts[0] = part + parts[0]  # a lone letter starts the next word
                continue
            out.append(part)
    return out


def snake_case(text: str) -> str:
    return "_".join(w.lower() for w in words(text))


def pascal_case(text: str) -> str:
    return "".join(w[:1].upper() + w[1:] for w in words(text))


def _identifier_start(name: str, digit_prefix: str) -> str:
    if not name:
        return name
    if name[0].isdigit():
        return digit_prefix + name
    return name


def class_name(schema_name: str) -> str:
    """A Python class name for a definition name or a title.

    Definition names that already are valid ASCII identifiers are kept as is
    (``ThreadItem`` stays ``ThreadItem``, even ``JSONRPCError``); anything else
    is PascalCased word by word (``Thread/startRequest`` -> ``ThreadStartRequest``).
    """
    if schema_name.isascii() and schema_name.isidentifier() and schema_name[0].isupper():
        name = schema_name
    else:
        name = pascal_case(schema_name)
    name = _identifier_start(name, "Model") or "Model"
    if keyword.iskeyword(name) or name in _RESERVED_CLASS_NAMES:
        name += "_"
    return name


def field_name(wire_name: str) -> str:
    """A pydantic-safe snake_case attribute name for a JSON property name."""
    name = snake_case(wire_name)
    name = _identifier_start(name, "f_") or "field"
    if name.startswith("model_") and name in {
        "model_config",
        "model_fields",
        "model_computed_fields",
        "model_extra",
        "model_fields_set",
    }:
        name += "_"
    elif name.startswith("model_") and _is_basemodel_method(name):
        name += "_"
    if keyword.iskeyword(name) or name in _SOFT_KEYWORDS or name in _BASEMODEL_ATTRS or name in _ANNOTATION_NAMES:
        name += "_"
    return name


def _is_basemodel_method(name: str) -> bool:
    return name in {
        "model_construct",
        "model_copy",
        "model_dump",
        "model_dump_json",
        "model_json_schema",
        "model_parametrized_name",
        "model_post_init",
        "model_rebuild",
        "model_validate",
        "model_validate_json",
        "model_validate_strings",
    }


def parameter_name(field: str) -> str:
    """A keyword-argument name for a (pythonised) field name.

    Same as the field name, except names a method signature already uses.
    """
    return field + "_" if field in {"self", "cls"} else field


def enum_member_name(value: object) -> str:
    """An enum member name for a string enum value (``on-request`` -> ``on_request``)."""
    text = str(value)
    name = snake_case(text) if text else "empty"
    name = _identifier_start(name, "v_") or "empty"
    if keyword.iskeyword(name) or name in _ENUM_RESERVED or name in _SOFT_KEYWORDS:
        name += "_"
    return name


def method_name(rpc_method: str) -> str:
    """A client method name for a JSON-RPC method (``thread/goal/set`` -> ``thread_goal_set``)."""
    name = snake_case(rpc_method)
    name = _identifier_start(name, "m_") or "method"
    if keyword.iskeyword(name):
        name += "_"
    return name


def method_constant(rpc_method: str) -> str:
    """The constant naming a method in ``generated/methods.py`` (``turn/completed`` -> ``TURN_COMPLETED``)."""
    return method_name(rpc_method).rstrip("_").upper()


def input_class_name(tag: str) -> str:
    """The input dataclass of one UserInput variant (``localImage`` -> ``LocalImageInput``)."""
    return class_name(pascal_case(tag) + "Input")


PAGE_CURSOR_PARAM = "cursor"
PAGE_NEXT_CURSOR = "nextCursor"
PAGE_ITEMS = "data"


def pager_name(client_method: str) -> str:
    """The iterator over every page of a cursor-paged list method (``thread_list`` -> ``iter_thread_list``)."""
    return "iter_" + client_method


def server_request_class_name(rpc_method: str) -> str:
    """The class wrapping one server request (``item/tool/call`` -> ``ItemToolCallRequest``)."""
    return class_name(pascal_case(rpc_method) + "ServerRequest")


# ---------------------------------------------------------------- names of unnamed schema parts
#
# An inline schema without a title is named after where it sits: the
# "hint" is the name of its context (a class, a field's class + field),
# extended here for each kind of position. class_name() then makes the
# result a valid class name.


def field_type_hint(class_name_: str, wire_name: str) -> str:
    """The hint for the inline type of a field (``Thread`` + ``gitInfo`` -> ``ThreadGitInfo``)."""
    return class_name_ + pascal_case(wire_name)


def item_hint(hint: str) -> str:
    """The hint for the items of an array."""
    return hint + "Item"


def tuple_item_hint(hint: str, index: int) -> str:
    """The hint for one position of a tuple-typed array."""
    return f"{hint}Item{index}"


def value_hint(hint: str) -> str:
    """The hint for the values of a map, or the object body of an alias that holds ``hint`` itself."""
    return hint + "Value"


def variant_hint(hint: str, index: int) -> str:
    """The hint for an unnamed, non-object variant of a union."""
    return f"{hint}Variant{index}"


def ref_variant_source(target: str, hint: str) -> str:
    """A variant that extends a definition with the union's common fields: ``Target`` + ``Union``."""
    return f"{target}{hint}"


def tagged_variant_source(tag_or_property: object, hint: str) -> str:
    """A variant named by its tag value, or by the one property only it requires."""
    return pascal_case(str(tag_or_property)) + hint


def tagged_variant_key(union: str, tag_value: object) -> str:
    """The ``[names.types]`` key of one variant of a tagged union, by its tag: ``Union[tag]``.

    Unlike a JSON pointer it holds when variants are added or reordered
    (the experimental dump has more of them).
    """
    return f"{union}[{tag_value}]"


def variant_pattern_source(pattern: str, tag_value: object) -> str:
    """A manifest pattern for a union's variants: ``{Tag}Event`` -> ``TurnCompletedEvent``."""
    return pattern.replace("{Tag}", pascal_case(str(tag_value)))


# ---------------------------------------------------------------- conventions between schema names

PARAMS_SUFFIX = "Params"
RESPONSE_SUFFIX = "Response"


def response_definition(params_definition: str | None) -> str | None:
    """The response definition a params definition pairs with by convention (``XParams`` -> ``XResponse``)."""
    if not params_definition or not params_definition.endswith(PARAMS_SUFFIX):
        return None
    return params_definition[: -len(PARAMS_SUFFIX)] + RESPONSE_SUFFIX


# ---------------------------------------------------------------- blocking and asyncio flavours


@dataclass(frozen=True)
class Flavour:
    """Blocking or asyncio: the two renderings of every runtime-facing class."""

    is_async: bool

    def name(self, base: str) -> str:
        """``Thread`` -> ``Thread`` / ``AsyncThread``."""
        return ("Async" if self.is_async else "") + base

    @property
    def async_(self) -> str:
        """``async `` before ``def``, or nothing."""
        return "async " if self.is_async else ""

    @property
    def await_(self) -> str:
        """``await `` before a call, or nothing."""
        return "await " if self.is_async else ""


FLAVOURS = (Flavour(is_async=False), Flavour(is_async=True))

CLIENT_CLASS = "AppServerClient"
SERVER_REQUEST_HANDLER_CLASS = "ServerRequestHandler"


def requester_class(flavour: Flavour) -> str:
    """The runtime base class a generated low-level client sends through."""
    return "AsyncRequester" if flavour.is_async else "SyncRequester"


def wrapper_base_class(class_name_: str) -> str:
    """The hand-written base of a generated wrapper class (``AsyncThread`` -> ``AsyncThreadBase``)."""
    return class_name_ + "Base"


_FALLBACK_PREFIXES = ("Unknown", "Unrecognized")


def fallback_class_name(union_name: str, taken: Container[str]) -> str | None:
    """The variant of an open union for tags this SDK does not know (``ThreadItem`` -> ``UnknownThreadItem``).

    ``Unrecognized<Union>`` when the union already has a variant tagged
    "unknown" (codex's ``CommandAction``); None when both are taken (the
    caller reports it, the manifest can name it).
    """
    for prefix in _FALLBACK_PREFIXES:
        name = class_name(prefix + union_name)
        if name not in taken:
            return name
    return None


def fallback_override_key(union_pointer: str) -> str:
    """The ``[names.types]`` key that renames a union's fallback variant (a pointer under the union's)."""
    return union_pointer + "/x-fallback"


_MODULE_NAME_MAX = 80


def module_names(class_names: Iterable[str]) -> dict[str, str]:
    """Private module names for the model shards, one per class name.

    ``ThreadItem`` -> ``thread_item``. Unlike public names, these are never
    written by users, so two class names that snake_case alike (``URLPath``,
    ``UrlPath``), or that share their first 80 characters, take ``_2``,
    ``_3`` ... in sorted order of the class names instead of stopping a
    protocol bump.
    """
    out: dict[str, str] = {}
    taken: set[str] = set()
    for name in sorted(class_names):
        # Cut long names: a file name has at most 255 bytes on most systems.
        base = snake_case(name)[:_MODULE_NAME_MAX].rstrip("_") or "model"
        base = _identifier_start(base, "m_")
        if keyword.iskeyword(base) or base in _SOFT_KEYWORDS:
            base += "_"
        module, n = base, 1
        while module in taken:
            n += 1
            module = f"{base}_{n}"
        taken.add(module)
        out[name] = module
    return out


@dataclass
class NameTable:
    """Registers names in one namespace and reports collisions as errors.

    ``kind`` reads like "class" or "field of Foo" in messages; ``hint`` tells
    the user which manifest table to add an override to. A name may be
    claimed again only for the same ``identity`` (by default the source):
    the same titled inline object used twice is one class, but an inline
    object titled like a definition, or two variants whose tags PascalCase
    alike, are collisions, never a silent reuse of the other's class.
    """

    kind: str
    hint: str
    _owners: dict[str, tuple[str, Location, object]] = field(default_factory=dict)

    def claim(
        self, name: str, source: str, location: Location, *, identity: object = None, hint: str | None = None
    ) -> str:
        key = source if identity is None else identity
        previous = self._owners.get(name)
        if previous is None:
            self._owners[name] = (source, location, key)
        elif previous[2] != key:
            raise GeneratorError(
                location,
                f"{self.kind} name {name!r} for {source!r} collides with {previous[0]!r} (at {previous[1]})",
                hint or self.hint.format(source=source, name=name),
            )
        return name

    def __contains__(self, name: str) -> bool:
        return name in self._owners
