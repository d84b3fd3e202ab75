"""The newest final release of a package on the package index.

The index is asked through pip (``pip index versions``), the ordinary client,
so the bot honours the same index configuration (``PIP_INDEX_URL``, pip.conf)
as every install of the project. pip leaves out yanked releases, pre-releases
and releases without a file for this platform.
"""

from __future__ import annotations

import re
import subprocess
import sys

# Final releases only (0.163.0, 1.2): pre-releases (0.164.0a1, 0.164.0rc2),
# dev and post releases are not what the bot moves the SDK to.
_FINAL_RELEASE = re.compile(r"^\d+(\.\d+)*$")
_AVAILABLE = "Available versions:"


class IndexQueryError(Exception):
    """The index could not be asked, or its answer is not what ``pip index versions`` prints."""


def version_key(version: str) -> tuple[int, ...]:
    """``"0.163.0"`` -> ``(0, 163)``: numbers, not text, and trailing zeros dropped so ``1.0`` == ``1``."""
    parts = [int(p) for p in version.split(".")]
    while len(parts) > 1 and parts[-1] == 0:
        parts.pop()
    return tuple(parts)


def is_final_release(version: str) -> bool:
    return bool(_FINAL_RELEASE.match(version))


def available_versions(answer: str) -> list[str]:
    """The versions of a ``pip index versions`` answer (its ``Available versions:`` line)."""
    for line in answer.splitlines():
        if line.startswith(_AVAILABLE):
            return [v.strip() for v in line[len(_AVAILABLE) :].split(",") if v.strip()]
    raise IndexQueryError(f"no {_AVAILABLE!r} line in the index answer: {answer.strip()[:200]!r}")


def newest_release(versions: list[str]) -> str | None:
    """The newest final release among ``versions``; None if there is none."""
    return max((v for v in versions if is_final_release(v)), key=version_key, default=None)


def ask_index(package: str, timeout: float = 120.0) -> str:
    """``pip index versions PACKAGE``'s answer; IndexQueryError with pip's message when it fails."""
    command = [sys.executable, "-m", "pip", "index", "versions", package, "--disable-pip-version-check"]
    try:
        proc = subprocess.run(command, capture_output=True, text=True, timeout=timeout, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise IndexQueryError(f"`pip index versions {package}`: {exc}") from exc
    if proc.returncode != 0:
        last = (proc.stderr.strip().splitlines() or ["no output"])[-1]
        raise IndexQueryError(f"`pip index versions {package}` failed (exit {proc.returncode}): {last}")
    return proc.stdout
