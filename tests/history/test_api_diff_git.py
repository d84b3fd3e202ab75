"""`api-diff --against-git [REF]`: the working tree's schemas/ against a commit's, in a scratch repo.

The scratch repo's history: main at codex 0.144.4; branch ``feature`` moves
to 0.163.0, then gets an unrelated commit. So HEAD~1 (already 0.163.0) and
the merge base with main (0.144.4) give different answers.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from .support import HISTORY, REPO_ROOT, run_generator

ROLLBACK_REMOVED = "- removed: `AppServerClient.thread_rollback`: `thread/rollback` removed"


def git(repo: Path, *args: str) -> str:
    proc = subprocess.run(
        ["git", "-c", "user.email=t@example.invalid", "-c", "user.name=t", "-c", "commit.gpgsign=false", *args],
        cwd=repo,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return proc.stdout


def put_schemas(repo: Path, source: Path) -> None:
    """schemas/ of the scratch repo := a release's dump, lock and manifest (+ the manifest schema)."""
    target = repo / "schemas"
    shutil.rmtree(target, ignore_errors=True)
    for dump in ("app-server", "app-server-experimental"):  # the experimental dump: only where the release has one
        if (source / dump).is_dir():
            shutil.copytree(source / dump, target / dump)
    for name in ("schema.lock", "methods.toml", "methods.schema.json"):
        shutil.copy(source / name, target / name)


@pytest.fixture(scope="module")
def repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("repo")
    git(root, "init", "-q", "-b", "main")
    put_schemas(root, HISTORY / "0.144.4")
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "codex 0.144.4")
    git(root, "checkout", "-q", "-b", "feature")
    put_schemas(root, REPO_ROOT / "schemas")
    # copytree keeps mtimes and may reuse inodes, and two releases' files can
    # have equal sizes: git's stat cache would then keep the old blobs. Drop
    # the index entries so every file is hashed again.
    git(root, "rm", "-r", "-q", "--cached", "schemas")
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "codex 0.163.0")
    (root / "README").write_text("unrelated\n")
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "unrelated")
    return root


def test_default_ref_is_the_merge_base_with_main(repo: Path) -> None:
    proc = run_generator("api-diff", "--against-git", cwd=repo)
    assert proc.returncode == 0, proc.stderr
    main = git(repo, "rev-parse", "main").strip()
    assert f"({main[:12]}) -> working tree" in proc.stderr
    assert "codex 0.144.4 -> 0.163.0" in proc.stdout and ROLLBACK_REMOVED in proc.stdout


def test_explicit_ref_and_fail_on_breaking(repo: Path) -> None:
    same = run_generator("api-diff", "--against-git", "HEAD~1", "--fail-on-breaking", cwd=repo)
    assert same.returncode == 0, same.stderr
    assert "0 breaking, 0 compatible" in same.stdout
    old = run_generator("api-diff", "--against-git", "main", "--fail-on-breaking", cwd=repo)
    assert old.returncode == 1 and ROLLBACK_REMOVED in old.stdout


def test_two_git_refs(repo: Path) -> None:
    proc = run_generator("api-diff", "main", "feature", cwd=repo)
    assert proc.returncode == 0, proc.stderr
    assert ROLLBACK_REMOVED in proc.stdout


def test_unknown_ref_is_an_error(repo: Path) -> None:
    proc = run_generator("api-diff", "--against-git", "no-such-branch", cwd=repo)
    assert proc.returncode == 2 and "no such git ref" in proc.stderr


def test_first_commit_has_nothing_to_compare_with(tmp_path: Path) -> None:
    git(tmp_path, "init", "-q", "-b", "main")
    put_schemas(tmp_path, REPO_ROOT / "schemas")
    git(tmp_path, "add", "-A")
    git(tmp_path, "commit", "-q", "-m", "first")
    proc = run_generator("api-diff", "--against-git", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "no HEAD~1 to compare with (first commit?)" in proc.stdout


def commit_generator(repo: Path, patch: str) -> None:
    """generator/ of the scratch repo := this checkout's, with ``patch`` appended to naming.py."""
    shutil.rmtree(repo / "generator", ignore_errors=True)
    shutil.copytree(REPO_ROOT / "generator", repo / "generator", ignore=shutil.ignore_patterns("__pycache__"))
    naming = repo / "generator" / "naming.py"
    naming.write_text(naming.read_text() + patch)
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "generator")


OLD_NAMING = """

_method_name = method_name


def method_name(rpc_method: str) -> str:  # the naming rule before the lone-letter fix
    return _method_name(rpc_method).replace("gateway_oauth", "gateway_o_auth")
"""


def test_a_git_ref_is_built_with_its_own_generator_so_a_naming_change_shows(tmp_path: Path) -> None:
    git(tmp_path, "init", "-q", "-b", "main")
    put_schemas(tmp_path, REPO_ROOT / "schemas")
    commit_generator(tmp_path, OLD_NAMING)
    git(tmp_path, "checkout", "-q", "-b", "feature")
    commit_generator(tmp_path, "")
    proc = run_generator("api-diff", "--against-git", "main", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "- removed: `AppServerClient.account_gateway_o_auth_login`" in proc.stdout
    assert "- added: `AppServerClient.account_gateway_oauth_login`" in proc.stdout
    assert "3 breaking, 3 compatible" in proc.stdout  # login, read, cancel; nothing else


def test_a_ref_whose_generator_fails_is_built_with_the_current_one_and_says_so(tmp_path: Path) -> None:
    git(tmp_path, "init", "-q", "-b", "main")
    put_schemas(tmp_path, REPO_ROOT / "schemas")
    commit_generator(tmp_path, "\nraise RuntimeError('broken generator')\n")
    git(tmp_path, "checkout", "-q", "-b", "feature")
    commit_generator(tmp_path, "")
    proc = run_generator("api-diff", "--against-git", "main", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "own generator could not build its API (RuntimeError: broken generator)" in proc.stderr
    assert "0 breaking, 0 compatible" in proc.stdout
