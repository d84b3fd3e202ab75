"""Drift and lock verification through the CLI.

``check`` exits 0 when the output equals a fresh generation and 1 after a
hand edit, a missing or an extra generated file, or a schema change without
regeneration. A schema dir that does not match its lock (modified, missing
or extra file) is bad input: exit 2 naming the file.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from generator.load import V2_BUNDLE
from tests.generator.support import GENERATED, REAL_SCHEMAS, parse_cli_error, run_generator, tree_digest


@pytest.fixture(scope="module")
def synced(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A private copy of schemas/ and an output dir generated from it."""
    root = tmp_path_factory.mktemp("drift")
    shutil.copytree(REAL_SCHEMAS, root / "schemas")
    schema_dir = root / "schemas" / "app-server"
    output = root / "output"
    result = run_generator("generate", "--schema-dir", schema_dir, "--output-dir", output)
    assert result.returncode == 0, result.stderr
    return schema_dir, output


def check(schema_dir: Path, output: Path) -> tuple[int, str]:
    result = run_generator("check", "--schema-dir", schema_dir, "--output-dir", output)
    assert "Traceback" not in result.stderr
    return result.returncode, result.stdout + result.stderr


def copy_output(output: Path, tmp_path: Path) -> Path:
    target = tmp_path / "output"
    shutil.copytree(output, target)
    return target


def test_check_passes_when_in_sync(synced: tuple[Path, Path]) -> None:
    code, text = check(*synced)
    assert code == 0, text


def test_check_fails_after_hand_edits(synced: tuple[Path, Path], tmp_path: Path) -> None:
    """An edited, a deleted and a stray generated file: each reported, exit 1 (one run, three findings)."""
    schema_dir, output = synced
    edited = copy_output(output, tmp_path)
    target = edited / GENERATED / "_models" / "turn.py"
    target.write_text(target.read_text(encoding="utf-8").replace("class Turn(", "class Turn(  # tweak\n", 1))
    (edited / GENERATED / "client.py").unlink()
    (edited / GENERATED / "stray.py").write_text("x = 1\n", encoding="utf-8")
    code, text = check(schema_dir, edited)
    assert code == 1
    assert "_models/turn.py: differs" in text and "tweak" in text
    assert "client.py: missing" in text
    assert "stray.py: not generated" in text


@pytest.mark.parametrize("dump", ["app-server-experimental", "app-server"])
def test_check_fails_after_a_schema_change_without_regeneration(
    synced: tuple[Path, Path], tmp_path: Path, dump: str
) -> None:
    """A change to either dump shows: the experimental one is what the SDK is generated from, the stable one
    says what is not experimental (a method it loses becomes experimental)."""
    schema_dir, output = synced
    changed = tmp_path / "schemas"
    shutil.copytree(schema_dir.parent, changed)
    bundle = changed / dump / V2_BUNDLE
    doc = json.loads(bundle.read_text(encoding="utf-8"))
    if dump == "app-server":
        variants = doc["definitions"]["ClientRequest"]["oneOf"]
        doc["definitions"]["ClientRequest"]["oneOf"] = [
            v for v in variants if v["properties"]["method"]["enum"] != ["thread/name/set"]
        ]
        expected = "thread/name/set"
    else:
        doc["definitions"]["TurnStatus"]["description"] = "Status of a turn (changed upstream)."
        expected = "changed upstream"
    bundle.write_text(json.dumps(doc, indent=2), encoding="utf-8")
    relock = run_generator("lock", "--schema-dir", changed / "app-server", "--codex-version", "0.163.0")
    assert relock.returncode == 0, relock.stderr
    code, text = check(changed / "app-server", output)
    assert code == 1
    assert ".py: differs" in text and expected in text


@pytest.mark.parametrize("dump", ["app-server", "app-server-experimental"])
@pytest.mark.parametrize("change", ["modified", "missing", "extra"])
def test_schema_dir_must_match_its_lock(synced: tuple[Path, Path], tmp_path: Path, change: str, dump: str) -> None:
    schema_dir, output = synced
    copy = tmp_path / "schemas"
    shutil.copytree(schema_dir.parent, copy)
    target = copy / dump / ("v2/TurnStartParams.json" if dump == "app-server" else V2_BUNDLE)
    if change == "modified":
        target.write_text(target.read_text(encoding="utf-8") + "\n", encoding="utf-8")
    elif change == "missing":
        target.unlink()
    else:
        target = copy / dump / "Surprise.json"
        target.write_text("{}", encoding="utf-8")
    before = tree_digest(output)
    for command in ("check", "generate"):
        result = run_generator(command, "--schema-dir", copy / "app-server", "--output-dir", output)
        assert result.returncode == 2, result.stdout + result.stderr
        error = parse_cli_error(result.stderr)
        assert target.name in error.pointer + error.file + error.message
        assert change in error.message or (change == "extra" and "not in the lock" in error.message)
    assert tree_digest(output) == before
