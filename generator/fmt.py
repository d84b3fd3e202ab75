"""Stage 5: format generated Python with ruff, through stdin (no temp files)."""

from __future__ import annotations

import shutil
import subprocess
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


def format_python(source: str, filename: str) -> str:
    """Sort imports and format ``source`` with the project's ruff settings.

    Import order is left to ruff's isort (not Python's ``sorted``) so the
    output is exactly what `ruff check` expects. Invalid code is a generator
    bug and reported as such.
    """
    sort_imports = ["check", "--fix", "--select", "I001", "--exit-zero", "--quiet"]
    return _ruff(_ruff(source, filename, sort_imports), filename, ["format"])


def _ruff(source: str, filename: str, command: list[str]) -> str:
    config = PROJECT_ROOT / "pyproject.toml"
    args = [ruff_binary(), *command, "--stdin-filename", filename]
    if config.is_file():
        args += ["--config", str(config)]
    args.append("-")
    proc = subprocess.run(args, input=source.encode("utf-8"), capture_output=True, check=False)
    if proc.returncode != 0:
        message = proc.stderr.decode("utf-8", "replace").strip().splitlines()
        raise GeneratorError(
            Location(filename),
            "generated code is not valid Python (a generator bug): " + (message[0] if message else "ruff failed"),
        )
    return proc.stdout.decode("utf-8")
