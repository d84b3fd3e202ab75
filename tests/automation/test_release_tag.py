"""release.yml publishes only when the pushed tag is `v` + the version in _version.py."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from generator.automation import release

REPO_ROOT = Path(__file__).resolve().parents[2]


def tag_check(*args: str, cwd: Path = REPO_ROOT) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "generator.automation", "tag-check", *args],
        cwd=cwd,
        env={**os.environ, "PYTHONPATH": str(REPO_ROOT)},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_the_tag_of_this_checkouts_version_passes() -> None:
    version = release.read_version(REPO_ROOT / release.VERSION_FILE)
    for tag in (f"v{version}", f"refs/tags/v{version}"):
        proc = tag_check(tag)
        assert proc.returncode == 0, proc.stderr


@pytest.mark.parametrize("tag", ["v0.163.1", "0.163.0", "v0.163", "v0.163.0.1", "v0.163.0-rc1", "release-0.163.0"])
def test_any_other_tag_fails_naming_both_and_the_fix(tmp_path: Path, tag: str) -> None:
    version_file = tmp_path / "_version.py"
    version_file.write_text('"""doc"""\n\n__version__ = "0.163.0"\n', encoding="utf-8")
    proc = tag_check(tag, "--version-file", str(version_file))
    assert proc.returncode == 1
    assert f"tag {tag!r} does not match the package version '0.163.0'" in proc.stderr
    assert "tag the release 'v0.163.0'" in proc.stderr


def test_an_sdk_only_fix_version_needs_its_four_part_tag(tmp_path: Path) -> None:
    version_file = tmp_path / "_version.py"
    version_file.write_text('__version__ = "0.163.0.1"\n', encoding="utf-8")
    assert tag_check("v0.163.0.1", "--version-file", str(version_file)).returncode == 0
    assert tag_check("v0.163.0", "--version-file", str(version_file)).returncode == 1


def test_a_version_file_without_a_version_is_a_clear_error(tmp_path: Path) -> None:
    version_file = tmp_path / "_version.py"
    version_file.write_text("VERSION = '1'\n", encoding="utf-8")
    proc = tag_check("v1", "--version-file", str(version_file))
    assert proc.returncode == 2
    assert "no `__version__" in proc.stderr and "_version.py" in proc.stderr
