"""Hand-written runtime code never spells a protocol fact: no method name, no camelCase wire key.

Such code names methods through ``generated.methods`` and reads keys through
the generated models and tables, so a schema change fails ``generator check``
or ``mypy``, not a user's turn. Scanned: every module of the package but
``generated/`` (the generator writes it), ``_rpc.py`` (JSON-RPC framing, whose
member names the schema does not describe) and ``testing/`` (a fake of the
model provider: it speaks the Responses API, not the app-server's protocol).
"""

from __future__ import annotations

import ast
import json
import re
from collections.abc import Iterator
from pathlib import Path

from codex_app_server.generated import methods

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "output" / "src" / "codex_app_server"
SCHEMAS = ROOT / "schemas" / "app-server"
EXEMPT = ("generated", "testing", "_rpc.py")
CAMEL_CASE = re.compile(r"[a-z][a-z0-9]*(?:[A-Z][a-z0-9]*)+")
# JSON Schema's own keywords: code that writes a JSON Schema (structured output) names
# them; the app-server schema has some as property names where it describes JSON Schema.
JSON_SCHEMA_KEYWORDS = frozenset(
    {
        "additionalItems",
        "additionalProperties",
        "allOf",
        "anyOf",
        "contentEncoding",
        "contentMediaType",
        "dependentRequired",
        "dependentSchemas",
        "exclusiveMaximum",
        "exclusiveMinimum",
        "maxContains",
        "maxItems",
        "maxLength",
        "maxProperties",
        "minContains",
        "minItems",
        "minLength",
        "minProperties",
        "multipleOf",
        "oneOf",
        "patternProperties",
        "prefixItems",
        "propertyNames",
        "readOnly",
        "unevaluatedItems",
        "unevaluatedProperties",
        "uniqueItems",
        "writeOnly",
    }
)


def _method_names() -> set[str]:
    return {value for name, value in vars(methods).items() if name.isupper() and isinstance(value, str)}


def _property_names(node: object) -> Iterator[str]:
    if isinstance(node, dict):
        properties = node.get("properties")
        if isinstance(properties, dict):
            yield from properties
        for value in node.values():
            yield from _property_names(value)
    elif isinstance(node, list):
        for value in node:
            yield from _property_names(value)


def _camel_case_keys() -> set[str]:
    keys: set[str] = set()
    for path in SCHEMAS.rglob("*.json"):
        keys.update(_property_names(json.loads(path.read_text(encoding="utf-8"))))
    return {key for key in keys if CAMEL_CASE.fullmatch(key)} - JSON_SCHEMA_KEYWORDS


def _strings(source: str) -> Iterator[tuple[int, str]]:
    """Every string constant of ``source`` but docstrings, with its line."""
    tree = ast.parse(source)
    docstrings = set()
    for node in ast.walk(tree):
        body = getattr(node, "body", None)
        if isinstance(body, list) and body and isinstance(body[0], ast.Expr):
            docstrings.add(id(body[0].value))
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docstrings:
            yield node.lineno, node.value


def protocol_literals(source: str, facts: set[str]) -> list[tuple[int, str]]:
    return sorted((line, text) for line, text in _strings(source) if text in facts)


def _runtime_modules() -> list[Path]:
    return sorted(
        path for path in PACKAGE.rglob("*.py") if not any(part in EXEMPT for part in path.relative_to(PACKAGE).parts)
    )


def test_the_scanner_finds_a_method_name_and_a_camel_case_key_but_not_a_docstring() -> None:
    facts = _method_names() | _camel_case_keys()
    source = '"""turn/start"""\nrpc.request("turn/start", {"threadId": thread})\nlog("turn/start of %s", x)\n'
    assert protocol_literals(source, facts) == [(2, "threadId"), (2, "turn/start")]


def test_the_hand_written_runtime_has_no_protocol_literals() -> None:
    facts = _method_names() | _camel_case_keys()
    assert len(facts) > 300  # the schema was read: ~200 methods, hundreds of camelCase keys
    modules = _runtime_modules()
    assert PACKAGE / "_session.py" in modules and PACKAGE / "_turns.py" in modules
    found = [
        f"{path.relative_to(PACKAGE)}:{line}: {text!r}"
        for path in modules
        for line, text in protocol_literals(path.read_text(encoding="utf-8"), facts)
    ]
    assert found == [], "use generated.methods and the generated models/tables instead:\n" + "\n".join(found)
