"""Turning IR values into Python source text, safely.

Every string that comes from the schema reaches generated code only through
:func:`pyrepr` or :func:`docstring`, so no description, title or enum value
can break out of its literal or inject code.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping

from . import ir


def pyrepr(value: object) -> str:
    """A Python literal for a JSON value (str, number, bool, null, list, dict)."""
    if isinstance(value, str):
        return _string_literal(value)
    if value is None or isinstance(value, (bool, int)):
        return repr(value)
    if isinstance(value, float):
        if value != value or value in (float("inf"), float("-inf")):
            raise ValueError("non-finite floats are not JSON")
        return repr(value)
    if isinstance(value, list):
        return "[" + ", ".join(pyrepr(v) for v in value) + "]"
    if isinstance(value, Mapping):
        return "{" + ", ".join(f"{pyrepr(str(k))}: {pyrepr(v)}" for k, v in value.items()) + "}"
    raise TypeError(f"not a JSON value: {type(value).__name__}")


# Characters a literal may not hold as they are; the regex engine finds them
# so that plain text (almost every description) is copied in one piece.
_LITERAL_SPECIAL = re.compile(r'[\\"\n\t\r]|[^\x20-\x7e]')
_DOCSTRING_SPECIAL = re.compile(r'[\\"]|[^\x20-\x7e\n]')
_SIMPLE_ESCAPES = {"\\": "\\\\", '"': '\\"', "\n": "\\n", "\t": "\\t", "\r": "\\r"}


def _string_literal(text: str) -> str:
    """A double-quoted literal; non-printable characters are escaped."""
    return '"' + _LITERAL_SPECIAL.sub(_literal_escape, text) + '"'


def _literal_escape(match: re.Match[str]) -> str:
    ch = match.group()
    simple = _SIMPLE_ESCAPES.get(ch)
    if simple is not None:
        return simple
    return _escape_char(ch) if _needs_escape(ch) else ch


def _needs_escape(ch: str) -> bool:
    return unicodedata.category(ch) in {"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"}


def _escape_char(ch: str) -> str:
    code = ord(ch)
    if code <= 0xFF:
        return f"\\x{code:02x}"
    if code <= 0xFFFF:
        return f"\\u{code:04x}"
    return f"\\U{code:08x}"


def docstring(text: str | None) -> str | None:
    """A triple-quoted docstring literal for ``text``, or None when there is nothing to say.

    Backslashes are doubled, unprintable characters escaped, and a quote is
    escaped where it could end the literal: inside a run of three or more,
    and as the first or last character.
    """
    if not text:
        return None
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\t", "    ")
    lines = [_rstrip_visible(line) for line in text.split("\n")]
    raw = "\n".join(lines).strip("\n")
    if not raw:
        return None
    escaped_quotes = _quotes_to_escape(raw)

    def escape(match: re.Match[str]) -> str:
        ch = match.group()
        if ch == "\\":
            return "\\\\"
        if ch == '"':
            return '\\"' if match.start() in escaped_quotes else ch
        return _escape_char(ch) if _needs_escape(ch) else ch

    content = _DOCSTRING_SPECIAL.sub(escape, raw)
    return '"""' + content + ('\n"""' if "\n" in content else '"""')


def _rstrip_visible(line: str) -> str:
    """Strip trailing whitespace, but not characters the docstring shows as escapes."""
    end = len(line)
    while end and line[end - 1].isspace() and not _needs_escape(line[end - 1]):
        end -= 1
    return line[:end]


def _quotes_to_escape(raw: str) -> set[int]:
    """Indexes of the quotes that could close a triple-quoted literal."""
    out = {0, len(raw) - 1} if raw else set()
    run = 0
    for index, ch in enumerate(raw + "\0"):
        if ch == '"':
            run += 1
            continue
        if run >= 3:
            out.update(range(index - run, index))
        run = 0
    return {i for i in out if raw[i] == '"'}


def annotation(t: ir.TypeExpr, *, runtime: bool = False, qualifier: str = "") -> str:
    """Python source for a type expression.

    ``runtime`` selects spellings that evaluate on every supported Python at
    import time (type aliases); field annotations are lazy strings.
    ``qualifier`` (``"v2_all."``) prefixes generated names, ``JsonValue`` and
    ``Field``, for modules that reach them through ``v2_all`` instead of
    importing them (pydantic's ``Field`` and ``JsonValue`` cost 1-4 MB to
    import: the SDK's own import does not pay it).
    """
    if isinstance(t, ir.Builtin):
        return t.name if t.name in _PLAIN_BUILTINS else qualifier + t.name
    if isinstance(t, ir.Named):
        return qualifier + t.name
    if isinstance(t, ir.ListOf):
        return f"list[{annotation(t.item, runtime=runtime, qualifier=qualifier)}]"
    if isinstance(t, ir.DictOf):
        return f"dict[str, {annotation(t.value, runtime=runtime, qualifier=qualifier)}]"
    if isinstance(t, ir.TupleOf):
        return "tuple[" + ", ".join(annotation(i, runtime=runtime, qualifier=qualifier) for i in t.items) + "]"
    if isinstance(t, ir.LiteralOf):
        return "Literal[" + ", ".join(pyrepr(v) for v in t.values) + "]"
    if isinstance(t, ir.Constrained):
        args = ", ".join(f"{k}={v!r}" for k, v in t.constraints)
        return f"Annotated[{annotation(t.base, runtime=runtime, qualifier=qualifier)}, {qualifier}Field({args})]"
    if isinstance(t, ir.Nullable):
        inner = annotation(t.inner, runtime=runtime, qualifier=qualifier)
        return (
            f"Optional[{inner}]"
            if runtime or isinstance(t.inner, ir.UnionOf) and (t.inner.discriminator or _has_catch_all(t.inner))
            else f"{inner} | None"
        )
    if isinstance(t, ir.UnionOf):
        if t.tags:
            return _open_union(t, runtime=runtime, qualifier=qualifier)
        if t.discriminator:
            members = ", ".join(annotation(m, runtime=runtime, qualifier=qualifier) for m in t.members)
            return f"Annotated[Union[{members}], {qualifier}Field(discriminator={pyrepr(t.discriminator)})]"
        if _has_catch_all(t):
            # pydantic's smart mode prefers an exact match, and a dict is an
            # exact dict[str, JsonValue]: the catch-all would win over every
            # model variant. Try the variants in order, catch-alls last.
            ordered = sorted(t.members, key=_is_catch_all)
            members = ", ".join(annotation(m, runtime=runtime, qualifier=qualifier) for m in ordered)
            return f'Annotated[Union[{members}], {qualifier}Field(union_mode="left_to_right")]'
        return "Union[" + ", ".join(annotation(m, runtime=runtime, qualifier=qualifier) for m in t.members) + "]"
    raise TypeError(t)


def _open_union(t: ir.UnionOf, *, runtime: bool, qualifier: str) -> str:
    """A tagged union with a fallback: every tag it does not list selects the last member.

    pydantic's callable discriminator (``open_tag``) maps the tag of the
    object to the member's ``Tag``; a known tag is still validated only
    against its own variant, so a broken known variant is an error, never
    a silent fallback.
    """
    *known, fallback = t.members
    parts = [
        f"Annotated[{annotation(m, runtime=runtime, qualifier=qualifier)}, {qualifier}Tag({pyrepr(tag)})]"
        for m, tag in zip(known, t.tags, strict=True)
    ]
    parts.append(
        f"Annotated[{annotation(fallback, runtime=runtime, qualifier=qualifier)}, {qualifier}Tag({qualifier}UNKNOWN_TAG)]"
    )
    assert t.tag_wire_name is not None and t.discriminator is not None
    tags = "(" + ", ".join(pyrepr(tag) for tag in t.tags) + ("," if len(t.tags) == 1 else "") + ")"
    finder = f"{qualifier}open_tag({pyrepr(t.tag_wire_name)}, {pyrepr(t.discriminator)}, {tags})"
    return f"Annotated[Union[{', '.join(parts)}], {qualifier}Discriminator({finder})]"


# Python's own names; the others (Int32 ..., pydantic's JsonValue) are reached
# through the qualifier where there is one (v2_all re-exports them).
_PLAIN_BUILTINS = frozenset({"str", "int", "float", "bool", "None"})


def _is_catch_all(t: ir.TypeExpr) -> bool:
    """A union member that accepts any object (or any JSON): it shadows model variants."""
    t = ir.strip_nullable(t)
    if isinstance(t, ir.UnionOf):
        return any(_is_catch_all(m) for m in t.members)
    return t == ir.JSON_VALUE or t == ir.DictOf(ir.JSON_VALUE)


def _has_catch_all(t: ir.UnionOf) -> bool:
    return any(isinstance(ir.strip_nullable(m), ir.Named) for m in t.members) and any(
        _is_catch_all(m) for m in t.members
    )


def default_expression(f: ir.Field, enums: Mapping[str, ir.Enum]) -> str:
    """Python source of a field's default value, typed like the field (enum members for enums)."""
    return typed_value(f.default, f.type, enums)


def typed_value(value: object, t: ir.TypeExpr, enums: Mapping[str, ir.Enum]) -> str:
    """A JSON value as Python source, using enum members where the type is an enum."""
    target = ir.strip_nullable(t)
    if isinstance(value, str) and isinstance(target, ir.Named) and target.name in enums:
        for member in enums[target.name].members:
            if member.value == value:
                return f"{target.name}.{member.py_name}"
    if isinstance(value, list) and isinstance(target, ir.ListOf):
        return "[" + ", ".join(typed_value(v, target.item, enums) for v in value) + "]"
    if isinstance(value, dict) and isinstance(target, ir.DictOf):
        return (
            "{" + ", ".join(f"{pyrepr(str(k))}: {typed_value(v, target.value, enums)}" for k, v in value.items()) + "}"
        )
    return pyrepr(value)
