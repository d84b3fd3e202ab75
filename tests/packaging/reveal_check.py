"""What a type checker sees for ``thread.run(...).items[0]``: the generated union.

``python -m tests.packaging.reveal_check mypy|pyright`` type-checks a tiny
user file with ``reveal_type`` (sync and async) and compares the revealed
type with the members of the generated ``ThreadItem`` union, introspected at
run time. Anything else (``Any``, a base class, a partial union) is a
failure. ``test_reveal_type.py`` runs the mypy variant; ``nox -s pyright``
the pyright one.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import tempfile
import typing
from pathlib import Path

PROBE = """\
from codex_app_server import AsyncCodex, Codex


def sync_items(codex: Codex) -> None:
    thread = codex.thread_start()
    reveal_type(thread.run("hi").items[0])


async def async_items(codex: AsyncCodex) -> None:
    thread = await codex.thread_start()
    reveal_type((await thread.run("hi")).items[0])
"""
PROBE_LINES = (6, 11)
PYRIGHT_CONFIG = Path(__file__).with_name("pyrightconfig.json")


def expected_members() -> set[str]:
    """Class names of the ``ThreadItem`` union as the SDK defines it."""
    from codex_app_server.generated.v2_all import ThreadItem

    union = ThreadItem
    if typing.get_origin(union) is typing.Annotated:
        union = typing.get_args(union)[0]
    members = (typing.get_args(m)[0] if typing.get_origin(m) is typing.Annotated else m for m in typing.get_args(union))
    return {member.__name__ for member in members}  # a tagged member is Annotated[Model, Tag(...)]


def _names(revealed: str) -> set[str]:
    """``"pkg.mod.A | pkg.mod.B"`` or ``"Union[A, B]"`` -> ``{"A", "B"}``."""
    return {token.rsplit(".", 1)[-1] for token in re.findall(r"[A-Za-z_][\w.]*", revealed) if token != "Union"}


def reveal_mypy(workdir: Path) -> dict[int, set[str]]:
    probe = workdir / "probe.py"
    probe.write_text(PROBE, encoding="utf-8")
    cmd = [
        sys.executable,
        "-m",
        "mypy",
        "--strict",
        "--no-incremental",
        "--cache-dir",
        str(workdir / "cache"),
        "probe.py",
    ]
    out = subprocess.run(cmd, cwd=workdir, capture_output=True, text=True, timeout=300).stdout
    found = {}
    for match in re.finditer(r'^probe\.py:(\d+): note: Revealed type is "(.*)"$', out, re.MULTILINE):
        found[int(match.group(1))] = _names(match.group(2))
    if not found:
        raise AssertionError(f"mypy revealed nothing:\n{out}")
    return found


def reveal_pyright(workdir: Path) -> dict[int, set[str]]:
    probe = workdir / "probe.py"
    probe.write_text(PROBE, encoding="utf-8")
    cmd = [sys.executable, "-m", "pyright", "--outputjson", "-p", str(PYRIGHT_CONFIG), str(probe)]
    proc = subprocess.run(cmd, cwd=workdir, capture_output=True, text=True, timeout=300)
    report = json.loads(proc.stdout)
    found = {}
    for diagnostic in report["generalDiagnostics"]:
        match = re.match(r'Type of ".*" is "(.*)"$', diagnostic["message"], re.DOTALL)
        if diagnostic["severity"] == "information" and match:
            found[diagnostic["range"]["start"]["line"] + 1] = _names(match.group(1))
    if not found:
        raise AssertionError(f"pyright revealed nothing:\n{proc.stdout}\n{proc.stderr}")
    return found


def problems(revealed: dict[int, set[str]], expected: set[str]) -> list[str]:
    """Why ``revealed`` is not the union on every probe line (empty: it is)."""
    out = []
    for line in PROBE_LINES:
        got = revealed.get(line)
        if got != expected:
            missing = sorted(expected - (got or set()))
            extra = sorted((got or set()) - expected)
            out.append(f"line {line}: revealed {sorted(got or [])}; missing {missing}; unexpected {extra}")
    return out


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    tool = args[0] if args else "pyright"
    reveal = {"mypy": reveal_mypy, "pyright": reveal_pyright}[tool]
    expected = expected_members()
    with tempfile.TemporaryDirectory(prefix="reveal-") as tmp:
        found = problems(reveal(Path(tmp)), expected)
    if found:
        print(f"{tool}: thread.run(...).items[0] is not the generated ThreadItem union:", *found, sep="\n  ")
        return 1
    print(f"{tool}: thread.run(...).items[0] is the ThreadItem union of {len(expected)} members (sync and async)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
