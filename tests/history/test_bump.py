"""`python -m generator bump` and `dump-schema`: every failure leaves the tree as it was.

The bump works on a scratch copy of the tree (schemas/, output/, noxfile.py,
pyproject.toml). Tests that need a codex binary use the real one (0.163.0)
through ``--codex-bin``; the download paths use pip against local, offline
indexes (an empty one, a refused port on 127.0.0.1).
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from generator import write
from generator.bump import (
    Swap,
    bump,
    fit_manifest,
    park,
    schema_methods,
    sdk_version,
    set_bin_pin,
    set_nox_version,
    set_sdk_version,
    stale_entries,
    unpark,
)
from generator.errors import GeneratorError
from generator.load import EXPERIMENTAL_FILES, load_inputs, render_lock, schema_files
from generator.pipeline import generate
from tests.support.codex_env import find_codex_binary

from .support import HISTORY, PINNED, REPO_ROOT, copy_tree, run_generator, tree_digest

CODEX_BIN = find_codex_binary()


def _binary_version() -> str | None:
    if CODEX_BIN is None:
        return None
    proc = subprocess.run([CODEX_BIN, "--version"], capture_output=True, text=True, timeout=60, check=False)
    return proc.stdout.split()[-1] if proc.returncode == 0 and proc.stdout.split() else None


BINARY_VERSION = _binary_version()
needs_pinned_binary = pytest.mark.skipif(
    BINARY_VERSION != PINNED,
    reason=f"needs the codex {PINNED} binary (openai-codex-cli-bin=={PINNED} or CODEX_BIN); found {BINARY_VERSION}",
)
MANIFEST = (REPO_ROOT / "schemas" / "methods.toml").read_text(encoding="utf-8")


def methods_of(version_dir: Path) -> tuple[frozenset[str], frozenset[str]]:
    bundle = load_inputs(version_dir / "app-server", manifest_path=REPO_ROOT / "schemas" / "methods.toml")
    defs = bundle.bundle.definitions
    return schema_methods(defs, "ClientRequest"), schema_methods(defs, "ServerRequest")


# ---------------------------------------------------------------- versions


def test_version_rewrites() -> None:
    assert (
        set_sdk_version('"""doc"""\n\n__version__ = "0.163.0"\n', "0.144.4", "v")
        == '"""doc"""\n\n__version__ = "0.144.4"\n'
    )
    pin = 'bin = ["openai-codex-cli-bin==0.163.0"]\n'
    assert set_bin_pin(pin, "0.144.4", "p") == 'bin = ["openai-codex-cli-bin==0.144.4"]\n'
    assert (
        set_nox_version('CODEX_VERSION = "0.163.0"  # pinned\n', "0.144.4", "n")
        == 'CODEX_VERSION = "0.144.4"  # pinned\n'
    )
    with pytest.raises(GeneratorError, match="expected exactly one match"):
        set_nox_version("CODEX = 1\n", "0.144.4", "noxfile.py")


def test_sdk_version_follows_codex_and_keeps_a_fix_release_on_rebump() -> None:
    assert sdk_version("0.164.0", "0.163.0", "0.163.0") == "0.164.0"
    assert sdk_version("0.164.0", "0.163.0.2", "0.163.0") == "0.164.0"
    assert sdk_version("0.163.0", "0.163.0.2", "0.163.0") == "0.163.0.2"
    assert sdk_version("0.144.4", "0.163.0.2", "0.163.0") == "0.144.4"


def test_rejects_a_malformed_version_before_touching_anything(tmp_path: Path) -> None:
    with pytest.raises(GeneratorError, match="not a codex release version"):
        bump(tmp_path, "latest")


# ---------------------------------------------------------------- manifest parking


def test_park_and_unpark_restore_the_manifest_byte_for_byte() -> None:
    client, server = methods_of(HISTORY / "0.144.4")
    stale = stale_entries(MANIFEST, client, server)
    # The fixture of 0.144.4 has no experimental dump: the entries of experimental methods are parked too.
    assert sorted(e.method for e in stale) == [
        "account/gatewayOAuth/cancel",
        "account/gatewayOAuth/login",
        "account/gatewayOAuth/read",
        "currentTime/read",  # its table header and its line
        "currentTime/read",
        "memory/reset",
        "remoteControl/disable",
        "remoteControl/enable",
        "remoteControl/status/read",
        "rollout/compress",
    ]
    parked = park(MANIFEST, stale)
    assert parked.count("\n#parked[account/gatewayOAuth/") == 3
    assert stale_entries(parked, client, server) == []
    restored, methods = unpark(parked, client | frozenset({"account/gatewayOAuth/read"}))
    assert methods == ["account/gatewayOAuth/read"]  # only methods the schema has come back
    restored, _ = unpark(restored, client | frozenset(e.method for e in stale))
    assert restored == MANIFEST


def test_server_request_tables_are_parked_whole() -> None:
    text = (
        '[server_requests."item/gone/requestApproval"]\ndefault = { decision = "decline" }\n'
        'handler = "gone"\n\n# a comment stays\n[server_requests.kept]\ndefault = { ok = true }\n'
    )
    stale = stale_entries(text, frozenset(), frozenset({"kept"}))
    assert [(e.line, e.method) for e in stale] == [(1, "item/gone/requestApproval")] * 1 + [
        (2, "item/gone/requestApproval"),
        (3, "item/gone/requestApproval"),
    ]
    parked = park(text, stale)
    assert parked.splitlines()[:3] == [f"#parked[item/gone/requestApproval] {line}" for line in text.splitlines()[:3]]
    assert parked.splitlines()[3:] == text.splitlines()[3:]
    assert unpark(parked, frozenset({"item/gone/requestApproval"}))[0] == text


def test_without_prune_the_bump_stops_naming_every_stale_entry() -> None:
    client, server = methods_of(HISTORY / "0.133.0")
    with pytest.raises(GeneratorError) as caught:
        fit_manifest(MANIFEST, client, server, prune=False, version="0.133.0", where="schemas/methods.toml")
    message = caught.value.render()
    lines = MANIFEST.splitlines()
    for method in ("account/gatewayOAuth/read", "account/workspaceMessages/read", "account/usage/read"):
        number = next(i for i, line in enumerate(lines, 1) if line.startswith(f'"{method}"'))
        assert f"schemas/methods.toml:{number}: [responses] {method!r}" in message
    assert "--prune-manifest" in message


# ---------------------------------------------------------------- swapping


def test_swap_replaces_files_and_directories(tmp_path: Path) -> None:
    (tmp_path / "dir").mkdir()
    (tmp_path / "dir" / "old.txt").write_text("old")
    (tmp_path / "file.txt").write_text("before")
    source = tmp_path / "source"
    source.mkdir()
    (source / "new.txt").write_text("new")
    swap = Swap()
    swap.file(tmp_path / "file.txt", b"after")
    swap.file(tmp_path / "same.txt", b"created")
    swap.directory(tmp_path / "dir", source)
    assert (tmp_path / "file.txt").read_text() == "before"  # nothing changes before commit
    swap.commit()
    assert (tmp_path / "file.txt").read_text() == "after"
    assert (tmp_path / "same.txt").read_text() == "created"
    assert sorted(p.name for p in (tmp_path / "dir").iterdir()) == ["new.txt"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["dir", "file.txt", "same.txt", "source"]


def test_swap_rolls_back_when_a_rename_fails(tmp_path: Path) -> None:
    (tmp_path / "a.txt").write_text("a")
    (tmp_path / "dir").mkdir()
    (tmp_path / "dir" / "keep.txt").write_text("keep")
    source = tmp_path / "source"
    source.mkdir()
    before = tree_digest(tmp_path)
    swap = Swap()
    swap.file(tmp_path / "a.txt", b"A")
    swap.directory(tmp_path / "dir", source)
    shutil.rmtree(swap.pending[1][0])  # the staged directory vanishes: its rename fails
    with pytest.raises(FileNotFoundError):
        swap.commit()
    assert tree_digest(tmp_path) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.txt", "dir", "source"]


# ---------------------------------------------------------------- dump-schema


@needs_pinned_binary
@pytest.mark.real
def test_dump_schema_reproduces_the_committed_dump_and_lock(tmp_path: Path) -> None:
    proc = run_generator(
        "dump-schema", "--codex-version", PINNED, "--schema-dir", tmp_path / "app-server", cwd=tmp_path
    )
    assert proc.returncode == 0, proc.stderr
    assert schema_files(tmp_path / "app-server") == schema_files(REPO_ROOT / "schemas" / "app-server")
    experimental = "app-server-experimental"  # only the two bundles of the --experimental dump
    assert schema_files(tmp_path / experimental) == schema_files(REPO_ROOT / "schemas" / experimental)
    assert sorted(schema_files(tmp_path / experimental)) == sorted(EXPERIMENTAL_FILES)
    assert (tmp_path / "schema.lock").read_bytes() == (REPO_ROOT / "schemas" / "schema.lock").read_bytes()


def _dump(tmp_path: Path, version: str, codex_bin: str) -> subprocess.CompletedProcess[str]:
    target = tmp_path / "s" / "app-server"
    return run_generator(
        "dump-schema", "--codex-version", version, "--schema-dir", target, env={"CODEX_BIN": codex_bin}
    )


def _failing_codex(tmp_path: Path) -> Path:
    """An executable that reports the pinned version but whose schema dump fails."""
    path = tmp_path / "codex"
    path.write_text(
        f'#!/bin/sh\n[ "$1" = --version ] && echo "codex-cli {PINNED}" && exit 0\necho "dump exploded" >&2\nexit 3\n'
    )
    path.chmod(0o755)
    return path


@pytest.mark.parametrize("case", ["missing binary", "version mismatch", "dump fails"])
def test_dump_schema_errors_are_clear_and_leave_the_dump_alone(tmp_path: Path, case: str) -> None:
    target = tmp_path / "s" / "app-server"
    shutil.copytree(REPO_ROOT / "schemas" / "app-server", target)
    shutil.copytree(REPO_ROOT / "schemas" / "app-server-experimental", tmp_path / "s" / "app-server-experimental")
    (tmp_path / "s" / "schema.lock").write_bytes((REPO_ROOT / "schemas" / "schema.lock").read_bytes())
    before = tree_digest(tmp_path / "s")
    if case == "missing binary":
        proc, expected = _dump(tmp_path, PINNED, str(tmp_path / "nope")), "does not exist"
    elif case == "version mismatch":
        if BINARY_VERSION != PINNED:
            pytest.skip(f"needs the codex {PINNED} binary")
        proc, expected = _dump(tmp_path, "0.144.4", str(CODEX_BIN)), f"is version {PINNED}, expected 0.144.4"
    else:
        proc, expected = _dump(tmp_path, PINNED, str(_failing_codex(tmp_path))), "dump exploded"
    assert proc.returncode == 2, proc.stdout
    assert expected in proc.stderr and "Traceback" not in proc.stderr
    assert tree_digest(tmp_path / "s") == before


# ---------------------------------------------------------------- trees at an older release


ROLLBACK_RESPONSE = '[responses]\n"thread/rollback" = "ThreadRollbackResponse"\n'
ROLLBACK_WRAPPER = (
    '\n[[wrappers]]\nowner = "Thread"\nname = "rollback"\nmethod = "thread/rollback"\nbind = { threadId = "id" }\n'
)


def _tree_at(root: Path, version: str, edit: Callable[[str], str] = lambda text: text) -> None:
    """Put the scratch tree where `bump VERSION --prune-manifest` would (its dump from the fixture)."""
    schemas = root / "schemas"
    shutil.rmtree(schemas / "app-server")
    shutil.rmtree(schemas / "app-server-experimental")  # the fixtures have no experimental dump
    shutil.copytree(HISTORY / version / "app-server", schemas / "app-server")
    (schemas / "schema.lock").write_text(render_lock(version, schema_files(schemas / "app-server")))
    client, server = methods_of(HISTORY / version)
    text, _, _ = fit_manifest(edit(MANIFEST), client, server, prune=True, version=version, where="m")
    (schemas / "methods.toml").write_text(text)
    write.write_output(root / "output", generate(load_inputs(schemas / "app-server")).files)
    for rel, setter in (
        ("output/src/codex_app_server/_version.py", set_sdk_version),
        ("output/pyproject.toml", set_bin_pin),
        ("noxfile.py", set_nox_version),
    ):
        path = root / rel
        path.write_text(setter(path.read_text(), version, rel))


# ---------------------------------------------------------------- bump failures leave the tree untouched


def _bump_fails(root: Path, *args: str) -> str:
    before = tree_digest(root)
    proc = run_generator("bump", *args, "--root", root, cwd=root, timeout=600)
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert "Traceback" not in proc.stderr
    assert tree_digest(root) == before
    assert not list(root.rglob("*.new")) and not list(root.rglob(".*.old-*"))
    return proc.stderr


@needs_pinned_binary
@pytest.mark.real
def test_bump_with_the_wrong_binary_stops(tmp_path: Path) -> None:
    root = copy_tree(tmp_path / "tree")
    error = _bump_fails(root, "0.144.4", "--codex-bin", str(CODEX_BIN))
    assert f"is version {PINNED}, expected 0.144.4" in error


@needs_pinned_binary
@pytest.mark.real
@pytest.mark.slow
def test_bump_stops_on_a_manifest_entry_for_a_vanished_method(tmp_path: Path) -> None:
    """A tree at 0.144.4 that tunes thread/rollback: codex 0.163.0 no longer has that method."""
    root = copy_tree(tmp_path / "tree")
    _tree_at(root, "0.144.4", lambda text: text.replace("[responses]\n", ROLLBACK_RESPONSE, 1))
    error = _bump_fails(root, PINNED, "--codex-bin", str(CODEX_BIN))
    line = next(
        i
        for i, text in enumerate((root / "schemas" / "methods.toml").read_text().splitlines(), 1)
        if "thread/rollback" in text
    )
    assert "1 manifest entry for methods codex 0.163.0 does not have" in error
    assert f"schemas/methods.toml:{line}: [responses] 'thread/rollback'" in error


@needs_pinned_binary
@pytest.mark.real
@pytest.mark.slow
def test_bump_stops_on_a_wrapper_for_a_vanished_method_even_when_pruning(tmp_path: Path) -> None:
    root = copy_tree(tmp_path / "tree")
    _tree_at(root, "0.144.4", lambda text: text + ROLLBACK_WRAPPER)
    error = _bump_fails(root, PINNED, "--prune-manifest", "--codex-bin", str(CODEX_BIN))
    assert "wrapper Thread.rollback calls 'thread/rollback', which the schema does not have" in error


@pytest.mark.slow
@pytest.mark.parametrize(
    "pip_options, expected",
    [
        ("local index", "openai-codex-cli-bin==9.9.9 does not exist on the package index (available: 0.1.0)"),
        ("unreachable", "no openai-codex-cli-bin release is visible on the package index"),
    ],
)
def test_bump_to_a_version_pip_cannot_get(tmp_path: Path, pip_options: str, expected: str) -> None:
    root = copy_tree(tmp_path / "tree")
    if pip_options == "local index":
        links = tmp_path / "links"
        links.mkdir()
        (links / "openai_codex_cli_bin-0.1.0-py3-none-any.whl").write_bytes(b"only its name is read")
        options = ["--isolated", "--no-index", f"--find-links={links}"]
    else:
        options = ["--isolated", "--index-url=http://127.0.0.1:9/simple", "--retries=0", "--timeout=5"]
    error = _bump_fails(root, "9.9.9", *(f"--pip-option={o}" for o in options))
    assert expected in error


# ---------------------------------------------------------------- a bump that succeeds


@needs_pinned_binary
@pytest.mark.real
@pytest.mark.slow
def test_bump_back_from_an_older_release_restores_the_tree_exactly(tmp_path: Path) -> None:
    """The second half of `bump 0.144.4 --prune-manifest; bump 0.163.0`, offline: the tree comes back byte for byte."""
    root = copy_tree(tmp_path / "tree")
    original = tree_digest(root)
    _tree_at(root, "0.144.4")
    moved = tree_digest(root)
    assert "#parked[account/gatewayOAuth/read]" in (root / "schemas" / "methods.toml").read_text()
    assert moved != original
    proc = run_generator("bump", PINNED, "--codex-bin", str(CODEX_BIN), "--root", root, cwd=root, timeout=600)
    assert proc.returncode == 0, proc.stderr
    assert tree_digest(root) == original
    for step in ("dump the schema", "regenerate", "lint the staged output", "typecheck the staged package", "swap"):
        assert f"[bump] {step}" in proc.stderr  # progress per step, with its seconds
    diff_file = root / "build" / "api-diff" / f"api-diff-0.144.4-to-{PINNED}.md"
    assert "API diff (" in proc.stdout and str(diff_file.relative_to(root)) in proc.stdout
    text = diff_file.read_text()
    assert "- removed: `AppServerClient.thread_rollback`" in text
    assert "restored the parked entries of 'account/gatewayOAuth/read'" in proc.stderr
