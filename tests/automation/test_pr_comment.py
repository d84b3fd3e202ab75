"""The pull request's API-diff comment: its text, finding it again (one comment, updated), the verdict."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from generator.automation import pr_comment
from generator.automation.pr_comment import ACCEPT_LABEL, MARKER
from tests.history.support import HISTORY
from tests.history.test_api_diff_git import ROLLBACK_REMOVED, git, put_schemas

REPO_ROOT = Path(__file__).resolve().parents[2]

REPORT = """# Public API diff: codex 0.162.1 -> 0.163.0

1 breaking, 1 compatible

## Breaking (1)

### Client methods (1)

- removed: `AppServerClient.thread_goal_set`: `thread/goal/set` removed

## Compatible (1)

### Definitions (1)

- added: `ThreadStartParams.cwd`: new optional field
"""


def test_the_comment_starts_with_the_hidden_marker_and_nests_the_report() -> None:
    body = pr_comment.render_comment(REPORT, pr_comment.verdict(1, []), "main")
    assert body.startswith(MARKER + "\n## Public API diff\n")
    assert "### Public API diff: codex 0.162.1 -> 0.163.0" in body  # one level below the comment's title
    assert "#### Breaking (1)" in body and "##### Client methods (1)" in body
    assert "- removed: `AppServerClient.thread_goal_set`" in body
    assert "Against the base `main`." in body


def test_unaccepted_breaking_changes_say_the_check_fails_and_how_to_accept() -> None:
    result = pr_comment.verdict(2, ["documentation"])
    assert result.blocks
    assert "**2 breaking changes: this check fails**" in result.status_line()
    assert f"`{ACCEPT_LABEL}`" in result.status_line()


def test_the_accepting_label_turns_the_failure_into_a_note() -> None:
    result = pr_comment.verdict(1, ["documentation", ACCEPT_LABEL])
    assert not result.blocks
    assert result.status_line() == f"**1 breaking change**, accepted by the label `{ACCEPT_LABEL}`."


def test_no_breaking_change_never_blocks() -> None:
    assert not pr_comment.verdict(0, []).blocks
    assert pr_comment.verdict(0, []).status_line() == "No breaking change to the public API."


def test_the_marked_comment_is_found_among_others_and_quotes_do_not_count() -> None:
    comments = [
        {"id": 1, "body": "LGTM"},
        {"id": 2, "body": f"> {MARKER}\n> quoting the bot"},
        {"id": 3, "body": f"{MARKER}\n## Public API diff\n..."},
        {"id": 4, "body": f"{MARKER}\n(a later duplicate)"},
    ]
    assert pr_comment.find_marked_comment(comments) == 3
    assert pr_comment.find_marked_comment([{"id": 1, "body": "LGTM"}]) is None
    assert pr_comment.find_marked_comment([]) is None


@pytest.mark.parametrize("shape", ["array", "lines"])
def test_comments_load_as_the_github_api_or_gh_jq_lists_them(shape: str) -> None:
    comments = [{"id": 7, "body": "a\nb"}, {"id": 8, "body": f"{MARKER}\nx"}]
    text = json.dumps(comments) if shape == "array" else "\n".join(json.dumps(c) for c in comments) + "\n"
    assert pr_comment.find_marked_comment(pr_comment.load_comments(text)) == 8
    assert pr_comment.load_comments("  \n") == []


def automation(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "generator.automation", *args],
        cwd=cwd,
        env={**os.environ, "PYTHONPATH": str(REPO_ROOT)},
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )


@pytest.fixture(scope="module")
def pr_repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A scratch repo: main at codex 0.144.4, the pull request's branch at this checkout's schema."""
    root = tmp_path_factory.mktemp("pr")
    git(root, "init", "-q", "-b", "main")
    put_schemas(root, HISTORY / "0.144.4")
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "codex 0.144.4")
    git(root, "checkout", "-q", "-b", "pr")
    put_schemas(root, REPO_ROOT / "schemas")
    git(root, "rm", "-r", "-q", "--cached", "schemas")  # see test_api_diff_git: rehash every file
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "codex now")
    return root


@pytest.mark.parametrize("labels", [[], [ACCEPT_LABEL]])
def test_pr_report_against_the_base_writes_the_comment_and_the_verdict(
    pr_repo: Path, tmp_path: Path, labels: list[str]
) -> None:
    outputs = tmp_path / "github_output"
    proc = automation(
        "pr-report",
        "--base",
        "main",
        "--labels-json",
        json.dumps(labels),
        "--out",
        str(tmp_path / "out"),
        "--github-output",
        str(outputs),
        cwd=pr_repo,
    )
    assert proc.returncode == 0, proc.stderr
    values = dict(line.split("=", 1) for line in outputs.read_text(encoding="utf-8").splitlines())
    assert int(values["breaking"]) > 0
    assert values["blocks"] == ("false" if labels else "true")
    body = (tmp_path / "out" / "comment.md").read_text(encoding="utf-8")
    assert body.startswith(MARKER)
    assert "codex 0.144.4 -> " in body and ROLLBACK_REMOVED in body
    assert ("accepted by the label" in body) == bool(labels)


def test_pr_report_of_a_pull_request_without_api_change(pr_repo: Path, tmp_path: Path) -> None:
    outputs = tmp_path / "github_output"
    proc = automation(
        "pr-report", "--base", "HEAD", "--out", str(tmp_path), "--github-output", str(outputs), cwd=pr_repo
    )
    assert proc.returncode == 0, proc.stderr
    assert "breaking=0\n" in outputs.read_text(encoding="utf-8") and "blocks=false" in outputs.read_text()
    assert "No breaking change to the public API." in (tmp_path / "comment.md").read_text(encoding="utf-8")


def test_pr_report_names_a_missing_base(pr_repo: Path, tmp_path: Path) -> None:
    proc = automation("pr-report", "--base", "no-such-branch", "--out", str(tmp_path), cwd=pr_repo)
    assert proc.returncode == 2
    assert "no-such-branch" in proc.stderr and "Traceback" not in proc.stderr
