"""Re-create the protocol-history fixtures: the schema dumps of older codex releases.

Usage (from the repository root; downloads from the package index)::

    python -m tests.history.dump_fixtures [VERSION ...]

Default versions: see ``VERSIONS``. Each release is installed from PyPI
(``openai-codex-cli-bin==VERSION``) into a temporary venv, its schema is
dumped with ``codex app-server generate-json-schema`` into
``tests/data/history/VERSION/app-server`` and locked in
``tests/data/history/VERSION/schema.lock``, with the very code `nox -s bump`
uses (:mod:`generator.bump`). The 0.163.0 fixture is the pinned
``schemas/`` itself. The hand-written ``methods.toml`` beside a dump is kept.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

from generator.bump import Progress, dump_schema, install_codex
from generator.errors import GeneratorError

VERSIONS = ("0.133.0", "0.144.4")
HISTORY = Path(__file__).resolve().parents[1] / "data" / "history"


def dump(version: str, progress: Progress) -> Path:
    with tempfile.TemporaryDirectory(prefix="codex-history-") as tmp:
        with progress.step(f"install openai-codex-cli-bin=={version}"):
            binary = install_codex(version, Path(tmp) / "venv")
        return dump_schema(HISTORY / version / "app-server", version, binary, progress)


def main(argv: list[str]) -> int:
    progress = Progress("history")
    try:
        for version in argv or VERSIONS:
            progress.note(f"wrote {dump(version, progress)}")
    except GeneratorError as exc:
        print(f"error: {exc.render()}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
