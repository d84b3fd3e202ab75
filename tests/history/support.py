"""Protocol-history fixtures: three real codex releases and how to load them.

``tests/data/history/<version>/`` holds a real schema dump (made by
``python -m tests.history.dump_fixtures``), its lock, and the manifest to
read it with (see the comment at its top); 0.163.0 is the pinned
``schemas/`` itself.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
from functools import cache
from pathlib import Path

from generator import ir
from generator.api_diff import Report, Side, diff_apis, load_api

REPO_ROOT = Path(__file__).resolve().parents[2]
HISTORY = REPO_ROOT / "tests" / "data" / "history"
PINNED = "0.163.0"
VERSIONS = ("0.133.0", "0.144.4", PINNED)

# What a bump reads and rewrites; copied to make a scratch tree.
TREE_PARTS = ("schemas", "output", "noxfile.py", "pyproject.toml")
_IGNORED = ("__pycache__", ".mypy_cache", ".ruff_cache", ".pytest_cache", "build", "dist")


def side(version: str) -> Side:
    if version == PINNED:
        schemas = REPO_ROOT / "schemas"
    else:
        schemas = HISTORY / version
    return Side(schemas / "app-server", schemas / "schema.lock", schemas / "methods.toml")


@cache
def api(version: str) -> ir.Api:
    return load_api(side(version))


@cache
def diff(old: str, new: str) -> Report:
    return diff_apis(api(old), api(new))


def changes_of(report: Report, subject: str) -> list[tuple[str, bool]]:
    """(kind, breaking) of every change of ``subject``."""
    return [(c.kind, c.breaking) for c in report.changes if c.subject == subject]


def copy_tree(dest: Path) -> Path:
    """A scratch copy of what a bump touches (no caches, no build output)."""
    dest.mkdir(parents=True, exist_ok=True)
    for part in TREE_PARTS:
        source = REPO_ROOT / part
        if source.is_dir():
            shutil.copytree(
                source,
                dest / part,
                ignore=shutil.ignore_patterns(*_IGNORED, "*.egg-info", ".generate-*", "*.new", "*.old-*"),
            )
        else:
            shutil.copy2(source, dest / part)
    return dest


def tree_digest(root: Path) -> dict[str, str]:
    """rel path -> sha256 of every file under ``root`` except caches and build/ (gitignored)."""
    out: dict[str, str] = {}
    for path in sorted(root.rglob("*")):
        rel = path.relative_to(root)
        if (
            not path.is_file()
            or rel.parts[0] == "build"
            or any(p in _IGNORED or p.endswith(".egg-info") for p in rel.parts)
        ):
            continue
        out[rel.as_posix()] = hashlib.sha256(path.read_bytes()).hexdigest()
    return out


def run_generator(
    *args: str | Path, cwd: Path = REPO_ROOT, timeout: float = 120, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """``python -m generator ARGS`` in a subprocess, with this checkout's generator importable."""
    return subprocess.run(
        [sys.executable, "-m", "generator", *map(str, args)],
        cwd=cwd,
        env={**os.environ, **(env or {}), "PYTHONPATH": str(REPO_ROOT)},
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
