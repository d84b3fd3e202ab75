"""Stage 6: write generated files atomically, or diff them against the tree (drift)."""

from __future__ import annotations

import difflib
import os
import shutil
import tempfile
from collections.abc import Mapping
from pathlib import Path

from .load import LOCK_NAME, experimental_files, render_lock, schema_files
from .pipeline import GENERATED_PACKAGE


def _owned_dirs(files: Mapping[str, str]) -> list[str]:
    """Directories the generator owns entirely (replaced as a whole)."""
    return [GENERATED_PACKAGE]


def write_output(output_dir: Path, files: Mapping[str, str]) -> None:
    """Write every file; the generated package is swapped in with one rename.

    Files are first written to a staging dir beside the target, so a failure
    leaves the previous output untouched (never half-written).
    """
    output_dir.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".generate-", dir=output_dir))
    try:
        for rel, content in files.items():
            path = staging / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(content, encoding="utf-8", newline="\n")
        for owned in _owned_dirs(files):
            target = output_dir / owned
            target.parent.mkdir(parents=True, exist_ok=True)
            old = None
            if target.exists():
                old = target.with_name(target.name + ".old")
                if old.exists():
                    shutil.rmtree(old)
                os.replace(target, old)
            os.replace(staging / owned, target)
            if old is not None:
                shutil.rmtree(old)
        for rel in files:
            if any(rel.startswith(owned + "/") for owned in _owned_dirs(files)):
                continue
            target = output_dir / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            os.replace(staging / rel, target)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def drift(output_dir: Path, files: Mapping[str, str]) -> list[str]:
    """Human-readable differences between the tree and a fresh generation."""
    problems: list[str] = []
    for rel, content in sorted(files.items()):
        path = output_dir / rel
        if not path.is_file():
            problems.append(f"{rel}: missing")
            continue
        current = path.read_text(encoding="utf-8")
        if current != content:
            diff = list(
                difflib.unified_diff(
                    current.splitlines(), content.splitlines(), rel, rel + " (generated)", lineterm="", n=1
                )
            )
            problems.append(f"{rel}: differs\n" + "\n".join(diff[:40]))
    for owned in _owned_dirs(files):
        root = output_dir / owned
        if root.is_dir():
            for path in sorted(root.rglob("*.py")):
                rel = path.relative_to(output_dir).as_posix()
                if rel not in files:
                    problems.append(f"{rel}: not generated (remove it)")
    return problems


def write_lock(schema_dir: Path, codex_version: str) -> Path:
    path = schema_dir.parent / LOCK_NAME
    path.write_text(
        render_lock(codex_version, schema_files(schema_dir), experimental_files(schema_dir)), encoding="utf-8"
    )
    return path
