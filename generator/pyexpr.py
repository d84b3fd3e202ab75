"""Turning IR values into Python source text, safely.

Every string that comes from the schema reaches generated code only through
:func:`pyrepr` or :func:`docstring`, so no description, title or enum value
can break out of its literal or inject code.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Mapping

from . import ir

_INT_ALIAS_NAMES = frozenset({"Int8", "Int16", "Int32", "Int64", "UInt8", "UInt16", "UInt32", "UInt64", "UInt"})


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


def _string_literal(text: str) -> str:
    """A double-quoted literal; non-printable characters are escaped."""
    out = ['"']
    for ch in text:
        if ch == "\\":
            out.append("\\\\")
        elif ch == '"':
            out.append('\\"')
        elif ch == "\n":
            out.append("\\n")
        elif ch == "\t":
            out.append("\\t")
        elif ch == "\r":
            out.append("\\r")
        elif _needs_escape(ch):
            out.append(_escape_char(ch))
        else:
            out.append(ch)
    out.append('"')
    return "".join(out)


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
    """A triple-quoted docstring literal for ``text``, or None when there is nothing to say."""
    if not text:
        return None
    body = []
    for ch in text:
        if ch == "\\":
            body.append("\\\\")
        elif ch == "\t":
            body.append("    ")
        elif ch == "\n":
            body.append("\n")
        elif ch == "\r":
            continue
        elif _needs_escape(ch):
            body.append(_escape_char(ch))
        else:
            body.append(ch)
    content = "".join(body).replace('"""', '\\"\\"\\"')
    lines = [line.rstrip() for line in content.split("\n")]
    content = "\n".join(lines).strip("\n")
    if content.endswith('"'):
        content = content[:-1] + '\\"'
    if content.startswith('"'):
        content = "\\" + content
    return '"""' + content + ('\n"""' if "\n" in content else '"""')


def annotation(t: ir.TypeExpr, *, runtime: bool = False) -> str:
    """Python source for a type expression.

    ``runtime`` selects spellings that evaluate on every supported Python at
    import time (type aliases); field annotations are lazy strings.
    """
    if isinstance(t, ir.Builtin):
        return t.name
    if isinstance(t, ir.Named):
        return t.name
    if isinstance(t, ir.ListOf):
        return f"list[{annotation(t.item, runtime=runtime)}]"
    if isinstance(t, ir.DictOf):
        return f"dict[str, {annotation(t.value, runtime=runtime)}]"
    if isinstance(t, ir.TupleOf):
        return "tuple[" + ", ".join(annotation(i, runtime=runtime) for i in t.items) + "]"
    if isinstance(t, ir.LiteralOf):
        return "Literal[" + ", ".join(pyrepr(v) for v in t.values) + "]"
    if isinstance(t, ir.Constrained):
        args = ", ".join(f"{k}={v!r}" for k, v in t.constraints)
        return f"Annotated[{annotation(t.base, runtime=runtime)}, Field({args})]"
    if isinstance(t, ir.Nullable):
        inner = annotation(t.inner, runtime=runtime)
        return (
            f"Optional[{inner}]"
            if runtime or isinstance(t.inner, ir.UnionOf) and t.inner.discriminator
            else f"{inner} | None"
        )
    if isinstance(t, ir.UnionOf):
        members = ", ".join(annotation(m, runtime=runtime) for m in t.members)
        union = f"Union[{members}]"
        if t.discriminator:
            return f"Annotated[{union}, Field(discriminator={pyrepr(t.discriminator)})]"
        return union
    raise TypeError(t)


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
