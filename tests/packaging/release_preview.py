"""What a release would publish: ``python -m tests.packaging.release_preview [DIST]``.

Reads the wheel and sdist in DIST (default ``dist/``) and prints name,
version, Python requirement, dependencies and every file with its size.
Nothing is uploaded; this only describes the artifacts.
"""

from __future__ import annotations

import re
import sys
import tarfile
import zipfile
from dataclasses import dataclass
from email.message import Message
from email.parser import HeaderParser
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class Release:
    name: str
    version: str
    requires_python: str
    requires: tuple[str, ...]
    artifacts: tuple[Path, ...]


def wheel_metadata(wheel: Path) -> Message:
    """The ``METADATA`` of a wheel, parsed as the email-style headers it is."""
    with zipfile.ZipFile(wheel) as archive:
        (name,) = [n for n in archive.namelist() if n.endswith(".dist-info/METADATA")]
        return HeaderParser().parsestr(archive.read(name).decode("utf-8"))


def find_artifacts(dist: Path) -> tuple[Path, Path]:
    """The single wheel and the single sdist in ``dist`` (else a clear error)."""
    wheels = sorted(dist.glob("*.whl"))
    sdists = sorted(dist.glob("*.tar.gz"))
    if len(wheels) != 1 or len(sdists) != 1:
        raise SystemExit(
            f"{dist}: expected one wheel and one sdist, found {[p.name for p in wheels + sdists]} "
            "(run `nox -s build` first)"
        )
    return wheels[0], sdists[0]


def describe(dist: Path) -> Release:
    wheel, sdist = find_artifacts(dist)
    meta = wheel_metadata(wheel)
    return Release(
        name=meta["Name"],
        version=meta["Version"],
        requires_python=meta["Requires-Python"],
        requires=tuple(meta.get_all("Requires-Dist") or ()),
        artifacts=(wheel, sdist),
    )


def dependency_summary(requires: tuple[str, ...]) -> str:
    """``runtime: pydantic<3,>=2.12  [bin]: openai-codex-cli-bin==X`` from Requires-Dist lines."""
    groups: dict[str, list[str]] = {}
    for requirement in requires:
        spec, _, marker = requirement.partition(";")
        extra = re.search(r"extra\s*==\s*['\"]([^'\"]+)['\"]", marker)
        groups.setdefault(f"[{extra.group(1)}]" if extra else "runtime", []).append(spec.strip())
    return "  ".join(f"{group}: {', '.join(specs)}" for group, specs in groups.items())


def _members(artifact: Path) -> list[tuple[str, int]]:
    if artifact.suffix == ".whl":
        with zipfile.ZipFile(artifact) as archive:
            return [(info.filename, info.file_size) for info in archive.infolist()]
    with tarfile.open(artifact) as archive:
        return [(member.name, member.size) for member in archive.getmembers() if member.isfile()]


def _kib(size: int) -> str:
    return f"{size / 1024:.1f} KiB"


def render(release: Release) -> str:
    lines = [
        f"Would publish {release.name} {release.version} (no upload from here)",
        f"  requires-python: {release.requires_python}",
        f"  dependencies: {dependency_summary(release.requires)}",
    ]
    for artifact in release.artifacts:
        lines.append(f"  {artifact.name}  {_kib(artifact.stat().st_size)}")
        lines += [f"      {_kib(size):>10}  {name}" for name, size in _members(artifact)]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    dist = Path(args[0]) if args else ROOT / "dist"
    print(render(describe(dist)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
