"""The same generator code generates a working, type-clean SDK for each real release.

Each release's SDK (generated package + the hand-written runtime) is written
to a temp dir, imported in a fresh interpreter that checks a behaviour that
differs between releases, and checked with ``mypy --strict``.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from generator import write
from generator.load import load_inputs
from generator.pipeline import generate

from .support import PINNED, REPO_ROOT, VERSIONS, side

# What each release's SDK must show: AskForApproval lost "on-failure" in
# 0.144.4, ReasoningEffort became a free string in 0.144.4, thread/rollback
# was removed in 0.158.0.
EXPECTED = {
    "0.133.0": {"on_failure_valid": True, "effort_is_enum": True, "has_rollback": True},
    "0.144.4": {"on_failure_valid": False, "effort_is_enum": False, "has_rollback": True},
    PINNED: {"on_failure_valid": False, "effort_is_enum": False, "has_rollback": False},
}

PROBE = textwrap.dedent("""
    import enum, json, sys
    import pydantic
    import codex_app_server
    from codex_app_server import AppServerClient, AsyncAppServerClient, Codex
    from codex_app_server.generated import v2_all

    try:
        pydantic.TypeAdapter(v2_all.AskForApproval).validate_python("on-failure")
        on_failure_valid = True
    except pydantic.ValidationError:
        on_failure_valid = False
    print(json.dumps({
        "file": codex_app_server.__file__,
        "on_failure_valid": on_failure_valid,
        "effort_is_enum": isinstance(v2_all.ReasoningEffort, type) and issubclass(v2_all.ReasoningEffort, enum.Enum),
        "has_rollback": hasattr(AppServerClient, "thread_rollback"),
        "async_twin": sorted(n for n in vars(AppServerClient) if not n.startswith("_"))
        == sorted(n for n in vars(AsyncAppServerClient) if not n.startswith("_")),
        "thread_start": hasattr(Codex, "thread_start"),
    }))
    """)


def _sdk_for(version: str, dest: Path) -> Path:
    """output/ for ``version``: the hand-written runtime plus that release's generated files."""
    shutil.copytree(
        REPO_ROOT / "output" / "src", dest / "src", ignore=shutil.ignore_patterns("__pycache__", "*.egg-info")
    )
    s = side(version)
    write.write_output(dest, generate(load_inputs(s.schema_dir, s.lock, s.manifest)).files)
    return dest / "src"


def _run(args: list[str], cwd: Path, src: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(src)}
    return subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True, timeout=300, check=False)


@pytest.mark.slow
@pytest.mark.parametrize("version", VERSIONS)
def test_each_release_generates_imports_and_typechecks(tmp_path: Path, version: str) -> None:
    import json

    src = _sdk_for(version, tmp_path / "output")
    assert f"from codex {version}." in (src / "codex_app_server" / "generated" / "client.py").read_text()
    probe = _run([sys.executable, "-c", PROBE], tmp_path, src)
    assert probe.returncode == 0, probe.stderr
    seen = json.loads(probe.stdout)
    assert Path(seen.pop("file")).is_relative_to(src)  # this release's package, not the installed one
    assert seen == {**EXPECTED[version], "async_twin": True, "thread_start": True}
    mypy = _run(
        [sys.executable, "-m", "mypy", "--strict", "--config-file", str(REPO_ROOT / "pyproject.toml"),
         "--cache-dir", str(tmp_path / ".mypy_cache"), str(src / "codex_app_server")],
        tmp_path,
        src,
    )  # fmt: skip
    assert mypy.returncode == 0, mypy.stdout + mypy.stderr
    assert "Success: no issues found" in mypy.stdout
