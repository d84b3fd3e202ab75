"""Helpers for the generator tests: tiny schema dirs, CLI runs, tree digests.

A test schema dir has the layout the CLI expects (``schemas/app-server`` with
the v2 bundle, ``schemas/schema.lock``, ``schemas/methods.toml`` and a copy of
the real ``methods.schema.json``), so every test drives the same code path as
``python -m generator generate``.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

from generator.load import LOCK_NAME, ROOT_BUNDLE, V2_BUNDLE, experimental_dir, render_lock, schema_files

REPO_ROOT = Path(__file__).resolve().parents[2]
REAL_SCHEMAS = REPO_ROOT / "schemas"
REAL_SCHEMA_DIR = REAL_SCHEMAS / "app-server"
# The `--experimental` dump beside it: the SDK is generated from its bundles (a superset of the stable ones).
REAL_EXPERIMENTAL_DIR = experimental_dir(REAL_SCHEMA_DIR)
GENERATED = Path("src/codex_app_server/generated")
TEST_VERSION = "0.0.0-test"

# The generator needs a ClientRequest union; cases that do not test the
# protocol surface get this one-method scaffold (PingParams -> PingResponse
# by convention, so the manifest can stay empty).
SCAFFOLD: dict[str, object] = {
    "ClientRequest": {
        "oneOf": [
            {
                "title": "PingRequest",
                "type": "object",
                "properties": {
                    "id": {"type": "integer"},
                    "method": {"type": "string", "enum": ["ping"]},
                    "params": {"$ref": "#/definitions/PingParams"},
                },
                "required": ["id", "method", "params"],
            }
        ]
    },
    "PingParams": {"type": "object", "properties": {}},
    "PingResponse": {"type": "object", "properties": {}},
}

# `error: FILE#/pointer: message`, then at most one `  hint: ...` line.
ERROR_LINE = re.compile(r"^error: (?P<file>[^#\n]+)#(?P<pointer>(?:/[^\n]*?)?): (?P<message>.+)$")
HINT_LINE = re.compile(r"^  hint: .+$")


def with_scaffold(definitions: Mapping[str, object]) -> dict[str, object]:
    out = dict(definitions)
    if "ClientRequest" not in out:
        for name, schema in SCAFFOLD.items():
            out.setdefault(name, schema)
    return out


def write_schema_dir(
    root: Path,
    definitions: Mapping[str, object] | None = None,
    *,
    manifest: str = "",
    root_definitions: Mapping[str, object] | None = None,
    raw_v2: bytes | None = None,
    scaffold: bool = True,
    lock: bool = True,
) -> Path:
    """Write ``root/schemas/{app-server/, schema.lock, methods.toml, methods.schema.json}``.

    Returns the schema dir (``root/schemas/app-server``). ``raw_v2`` replaces
    the v2 bundle's bytes verbatim (for malformed JSON and the like).
    """
    schemas = root / "schemas"
    schema_dir = schemas / "app-server"
    schema_dir.mkdir(parents=True, exist_ok=True)
    if raw_v2 is None:
        defs = with_scaffold(definitions or {}) if scaffold else dict(definitions or {})
        raw_v2 = dump_json({"$schema": "http://json-schema.org/draft-07/schema#", "definitions": defs})
    (schema_dir / V2_BUNDLE).write_bytes(raw_v2)
    if root_definitions is not None:
        (schema_dir / ROOT_BUNDLE).write_bytes(dump_json({"definitions": dict(root_definitions)}))
    (schemas / "methods.toml").write_text(manifest, encoding="utf-8")
    shutil.copyfile(REAL_SCHEMAS / "methods.schema.json", schemas / "methods.schema.json")
    if lock:
        relock(schema_dir)
    return schema_dir


def relock(schema_dir: Path, version: str = TEST_VERSION) -> None:
    (schema_dir.parent / LOCK_NAME).write_text(render_lock(version, schema_files(schema_dir)), encoding="utf-8")


def dump_json(value: object) -> bytes:
    # ensure_ascii keeps lone surrogates and control characters representable.
    return json.dumps(value, indent=1, sort_keys=True, ensure_ascii=True).encode("ascii")


def generator_env(**extra: str) -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(REPO_ROOT), env.get("PYTHONPATH", "")) if p)
    env.update(extra)
    return env


def run_subprocess(
    args: list[str], *, cwd: Path | None = None, timeout: float = 60, env: Mapping[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """``python ARGS`` in a fresh interpreter; a hang fails the test through ``timeout``."""
    return subprocess.run(
        [sys.executable, *args],
        cwd=str(cwd or REPO_ROOT),
        env=dict(env) if env is not None else generator_env(),
        capture_output=True,
        text=True,
        encoding="utf-8",
        errors="backslashreplace",
        timeout=timeout,
        check=False,
    )


def run_generator(
    *args: str | Path, cwd: Path | None = None, timeout: float = 60, env: Mapping[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """``python -m generator ARGS``: exactly what users, nox and CI run."""
    return run_subprocess(["-m", "generator", *map(str, args)], cwd=cwd, timeout=timeout, env=env)


@dataclass(frozen=True)
class CliError:
    file: str
    pointer: str
    message: str
    hint: str | None


def parse_cli_error(stderr: str) -> CliError:
    """The one error line (and optional hint) of a failed run; AssertionError if the shape is wrong."""
    assert "Traceback" not in stderr, f"traceback on stderr:\n{stderr}"
    lines = stderr.rstrip("\n").split("\n")
    assert 1 <= len(lines) <= 2, f"expected one error line (+ a hint), got {len(lines)} lines:\n{stderr}"
    match = ERROR_LINE.match(lines[0])
    assert match, f"not `error: FILE#/pointer: message`: {lines[0]!r}"
    hint = None
    if len(lines) == 2:
        assert HINT_LINE.match(lines[1]), f"second line is not a hint: {lines[1]!r}"
        hint = lines[1].strip()[len("hint: ") :]
    return CliError(match["file"], match["pointer"], match["message"], hint)


def tree_digest(root: Path) -> dict[str, str]:
    """Relative path -> sha256 for every file (and '<dir>' for every dir) under ``root``."""
    if not root.exists():
        return {}
    out: dict[str, str] = {}
    for path in sorted(root.rglob("*")):
        rel = path.relative_to(root).as_posix()
        out[rel] = "<dir>" if path.is_dir() else hashlib.sha256(path.read_bytes()).hexdigest()
    return out


RUNTIME = REPO_ROOT / "output" / "src" / "codex_app_server"
MODELS_PREFIX = f"{GENERATED.as_posix()}/_models/"


def models_snapshot(files: Mapping[str, str]) -> str:
    """The model modules of one generation as one text, each under a header line.

    ``__init__`` and ``_base`` are left out: they are the same for every schema.
    """
    parts = []
    for path in sorted(files):
        if path.startswith(MODELS_PREFIX) and not path.endswith(("/__init__.py", "/_base.py")):
            parts.append(f"# ===== _models/{path[len(MODELS_PREFIX) :]} =====\n{files[path]}")
    return "\n".join(parts)


def import_generated(generated: Path, root: Path, package: str) -> ModuleType:
    """Import ``generated/`` as ``package.generated`` beside a copy of the hand-written runtime.

    Returns its ``v2_all``. The generated code only uses relative imports, so
    any package name works, and distinct names keep cases apart in one process.
    """
    home = root / package
    home.mkdir(parents=True)
    (home / "__init__.py").write_text("", encoding="utf-8")
    for runtime in sorted(RUNTIME.glob("_*.py")):
        if runtime.name != "__init__.py":
            shutil.copyfile(runtime, home / runtime.name)
    for package_dir in sorted(RUNTIME.glob("_*/")):  # hand-written subpackages (_transports)
        shutil.copytree(package_dir, home / package_dir.name, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copytree(generated, home / "generated")
    sys.path.insert(0, str(root))
    try:
        return importlib.import_module(f"{package}.generated.v2_all")
    finally:
        sys.path.remove(str(root))


def load_module(path: Path, name: str) -> ModuleType:
    """Import one self-contained generated file as a standalone module."""
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    except BaseException:
        del sys.modules[name]
        raise
    return module
