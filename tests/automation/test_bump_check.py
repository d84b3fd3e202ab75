"""The bump bot's question: is a codex release newer than schemas/schema.lock out?

The index is never asked here: every test hands `bump-check` a fake index
answer (what `pip index versions` prints) through --index-answer.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from generator.automation import bump_check, index

REPO_ROOT = Path(__file__).resolve().parents[2]


def answer(*versions: str) -> str:
    """A fake index answer, as `pip index versions openai-codex-cli-bin` prints it (newest first)."""
    return f"openai-codex-cli-bin ({versions[0]})\nAvailable versions: {', '.join(versions)}\n"


def run_bump_check(tmp_path: Path, fake: str, locked: str = "0.163.0") -> tuple[str, dict[str, str]]:
    lock = tmp_path / "schema.lock"
    lock.write_text(json.dumps({"codex_version": locked, "files": {}}), encoding="utf-8")
    index_answer = tmp_path / "index-answer.txt"
    index_answer.write_text(fake, encoding="utf-8")
    outputs = tmp_path / "github_output"
    proc = subprocess.run(
        [sys.executable, "-m", "generator.automation", "bump-check", "--lock", str(lock)]
        + ["--index-answer", str(index_answer), "--github-output", str(outputs)],
        cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": str(REPO_ROOT)},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    values = dict(line.split("=", 1) for line in outputs.read_text(encoding="utf-8").splitlines())
    return proc.stdout, values


def test_a_newer_release_makes_the_bot_bump_and_open_one_pull_request(tmp_path: Path) -> None:
    said, outputs = run_bump_check(tmp_path, answer("0.170.1", "0.165.0", "0.163.0", "0.144.4"))
    assert "codex 0.170.1 is out (schemas/schema.lock: 0.163.0)" in said
    assert "`nox -s bump -- 0.170.1`" in said and "bot/codex-bump" in said
    assert outputs == {
        "bump": "true",
        "current": "0.163.0",
        "version": "0.170.1",
        "branch": "bot/codex-bump",
        "title": "Bump codex to 0.170.1",
        "report": "build/api-diff/api-diff-0.163.0-to-0.170.1.md",
    }


def test_no_newer_release_does_nothing(tmp_path: Path) -> None:
    said, outputs = run_bump_check(tmp_path, answer("0.163.0", "0.144.4"))
    assert said.startswith("Up to date: the newest openai-codex-cli-bin is 0.163.0")
    assert "nothing to do" in said
    assert outputs["bump"] == "false" and outputs["version"] == "0.163.0" and outputs["title"] == ""


def test_prereleases_never_trigger_a_bump(tmp_path: Path) -> None:
    # pip lists pre-releases only with --pre; the check ignores them anyway.
    said, outputs = run_bump_check(tmp_path, answer("0.167.0.dev3", "0.164.0rc2", "0.164.0a1", "0.163.0"))
    assert outputs["bump"] == "false", said


def test_an_older_index_than_the_lock_does_not_downgrade(tmp_path: Path) -> None:
    _, outputs = run_bump_check(tmp_path, answer("0.144.4"), locked="0.163.0")
    assert outputs["bump"] == "false"


@pytest.mark.parametrize(
    ("newest", "current", "bump"),
    [
        ("0.163.10", "0.163.9", True),
        ("0.163.0", "0.163", False),
        ("1.0.0", "0.999.99", True),
        ("0.99.0", "0.100.0", False),
    ],
)
def test_versions_compare_as_numbers_not_text(newest: str, current: str, bump: bool) -> None:
    assert bump_check.BumpDecision(current=current, newest=newest).should_bump is bump


def test_an_answer_without_versions_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(index.IndexQueryError, match="no 'Available versions:' line"):
        index.available_versions("ERROR: No matching distribution found for openai-codex-cli-bin")
    assert index.newest_release([]) is None
    decision = bump_check.BumpDecision(current="0.163.0", newest=None)
    assert not decision.should_bump and "no final release" in decision.describe()


def test_a_failing_index_query_exits_2_with_one_line(tmp_path: Path) -> None:
    lock = tmp_path / "schema.lock"
    lock.write_text(json.dumps({"codex_version": "0.163.0"}), encoding="utf-8")
    bad = tmp_path / "answer.txt"
    bad.write_text("ERROR: Could not find a version that satisfies the requirement\n", encoding="utf-8")
    proc = subprocess.run(
        [sys.executable, "-m", "generator.automation", "bump-check", "--lock", str(lock), "--index-answer", str(bad)],
        env={**os.environ, "PYTHONPATH": str(REPO_ROOT)},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 2
    assert proc.stderr.startswith("error: bump-check: no 'Available versions:' line") and "Traceback" not in proc.stderr


def test_the_lock_of_this_checkout_names_the_pinned_codex() -> None:
    noxfile = (REPO_ROOT / "noxfile.py").read_text(encoding="utf-8")
    locked = bump_check.locked_version(REPO_ROOT / "schemas" / "schema.lock")
    assert f'CODEX_VERSION = "{locked}"' in noxfile
