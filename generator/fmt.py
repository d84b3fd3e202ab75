"""Stage 5: format generated Python with ruff."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from collections.abc import Mapping
from functools import lru_cache
from pathlib import Path

from .errors import GeneratorError, Location

PROJECT_ROOT = Path(__file__).resolve().parent.parent


@lru_cache(maxsize=1)
def ruff_binary() -> str:
    try:
        from ruff.__main__ import find_ruff_bin

        return str(find_ruff_bin())
    except (ImportError, FileNotFoundError):
        found = shutil.which("ruff")
        if found is None:
            raise GeneratorError(
                Location("ruff"), "ruff is not installed", "pip install the dev dependencies"
            ) from None
        return found


# ruff's own isort (not Python's ``sorted``) orders the imports, so the output
# is exactly what `ruff check` expects.
_SORT_IMPORTS = ("check", "--fix", "--select", "I001", "--exit-zero", "--quiet")
_FORMAT = ("format", "--quiet")


def format_python_files(sources: Mapping[str, str]) -> dict[str, str]:
    """Sort imports and format every source with the project's ruff settings.

    Keys are relative paths. Over a thousand small modules are generated, so
    they are formatted together by two ruff runs over a private scratch tree
    (ruff then works on all cores) instead of two runs per module through
    stdin. Invalid code is a generator bug and reported as such.
    """
    if not sources:
        return {}
    with tempfile.TemporaryDirectory(prefix="codex-sdk-format-", dir=_scratch_parent()) as scratch:
        root = Path(scratch)
        paths = []
        for rel in sorted(sources):
            path = root / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(sources[rel], encoding="utf-8", newline="\n")
            paths.append(path)
        _ruff(root, _SORT_IMPORTS, paths)
        _ruff(root, _FORMAT, paths)
        return {rel: (root / rel).read_text(encoding="utf-8") for rel in sorted(sources)}


def _scratch_parent() -> str | None:
    """Memory-backed /dev/shm where there is one (hundreds of small files), else the temp dir."""
    shm = Path("/dev/shm")
    return str(shm) if shm.is_dir() and os.access(shm, os.W_OK | os.X_OK) else None


def _ruff(root: Path, command: tuple[str, ...], paths: list[Path]) -> None:
    args = [ruff_binary(), *command, "--no-cache"]
    config = PROJECT_ROOT / "pyproject.toml"
    if config.is_file():
        args += ["--config", str(config)]
    # Relative names keep ruff's messages short; explicit files bypass its excludes.
    args += ["--", *(p.relative_to(root).as_posix() for p in paths)]
    proc = subprocess.run(args, cwd=root, capture_output=True, check=False)
    if proc.returncode != 0:
        message = proc.stderr.decode("utf-8", "replace").strip().splitlines()
        where = next((line.split(":", 1)[0] for line in message if ".py:" in line), "generated code")
        raise GeneratorError(
            Location(where),
            "generated code is not valid Python (a generator bug): " + (message[0] if message else "ruff failed"),
        )
