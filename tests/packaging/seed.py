"""The import statements of the public API spec (the seed ``api-reference.txt``).

The smoke test of an installed wheel executes every one of them. They are
read from the repository's verbatim copy of the seed,
``tests/sdk/seed_api_reference.txt``; ``test_packaging_unit.py`` checks that
copy against the seed itself when that is beside the repository (or at
``$CODEX_SDK_SEED_REFERENCE``).
"""

from __future__ import annotations

import ast
import os
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SEED_COPY = ROOT / "tests" / "sdk" / "seed_api_reference.txt"

# `from X import (A, B)` or `from X import A, B`: the only import forms the seed uses.
_IMPORT = re.compile(r"^from\s+[\w.]+\s+import\s+(?:\([^)]*\)|[^\n]*)", re.MULTILINE)


def extract_imports(text: str) -> list[str]:
    """Every ``from ... import ...`` statement of a document, in order, verbatim.

    Each must parse as Python; a malformed one raises ``SyntaxError`` naming it.
    """
    found = [match.group() for match in _IMPORT.finditer(text)]
    for statement in found:
        ast.parse(statement)
    return found


def imported_names(statement: str) -> list[tuple[str, str]]:
    """``(module, name)`` for each name an import statement binds."""
    node = ast.parse(statement).body[0]
    assert isinstance(node, ast.ImportFrom) and node.module is not None, statement
    return [(node.module, alias.name) for alias in node.names]


def seed_imports() -> tuple[str, ...]:
    """The seed's import statements (from the repository's copy)."""
    return tuple(extract_imports(SEED_COPY.read_text(encoding="utf-8")))


def seed_reference_path() -> Path | None:
    """The seed spec itself: ``$CODEX_SDK_SEED_REFERENCE``, else ``shared/seed/`` beside the repo."""
    configured = os.environ.get("CODEX_SDK_SEED_REFERENCE")
    candidate = Path(configured) if configured else ROOT.parent / "shared" / "seed" / "api-reference.txt"
    return candidate if candidate.is_file() else None
