"""A release tag must name exactly the version the package will be published as."""

from __future__ import annotations

import ast
from pathlib import Path

VERSION_FILE = Path("output/src/codex_app_server/_version.py")
TAG_PREFIX = "v"


def read_version(version_file: Path) -> str:
    """``__version__`` of a ``_version.py``, read without importing it."""
    tree = ast.parse(version_file.read_text(encoding="utf-8"), filename=str(version_file))
    for node in tree.body:
        if (
            isinstance(node, ast.Assign)
            and any(isinstance(t, ast.Name) and t.id == "__version__" for t in node.targets)
            and isinstance(node.value, ast.Constant)
            and isinstance(node.value.value, str)
        ):
            return node.value.value
    raise ValueError(f'{version_file}: no `__version__ = "..."`')


def tag_problem(tag: str, version: str) -> str | None:
    """None when ``tag`` is ``v`` + ``version``; else one sentence saying what is wrong."""
    tag = tag.removeprefix("refs/tags/")
    expected = f"{TAG_PREFIX}{version}"
    if tag == expected:
        return None
    return (
        f"tag {tag!r} does not match the package version {version!r} "
        f"({VERSION_FILE}): tag the release {expected!r}, or bump the version first"
    )
