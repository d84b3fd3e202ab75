"""regen: our full regeneration vs datamodel-codegen + black on the same bundle.

Both sides run as fresh subprocesses writing into a fresh temp dir, so
interpreter start-up and imports count on both sides. The baseline uses the
flags the official SDK's generator script passes to datamodel-codegen, then
runs black on its output (as issue #7 specifies; black's cache is pointed at
an empty dir each round so nothing is skipped).
"""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from ._core import HISTORY, ROOT, Result, Sizes, Target, Unavailable, child_env

V2_BUNDLE = "codex_app_server_protocol.v2.schemas.json"
PINNED_SCHEMA = ROOT / "schemas" / "app-server"
MANIFEST = ROOT / "schemas" / "methods.toml"
HISTORY_VERSIONS = ("0.133.0", "0.144.4", "0.163.0")

# The official SDK's sdk/python/scripts/update_sdk_artifacts.py flags.
DATAMODEL_CODEGEN_FLAGS = (
    "--input-file-type",
    "jsonschema",
    "--output-model-type",
    "pydantic_v2.BaseModel",
    "--target-python-version",
    "3.10",
    "--snake-case-field",
    "--allow-population-by-field-name",
    "--use-union-operator",
    "--reuse-model",
    "--disable-timestamp",
    "--use-double-quotes",
)


def _timed(argv: list[str], *, env: dict[str, str] | None = None) -> float:
    start = time.perf_counter()
    proc = subprocess.run(argv, cwd=ROOT, env=env or child_env(), capture_output=True, text=True, check=False)
    elapsed = time.perf_counter() - start
    if proc.returncode != 0:
        detail = (proc.stderr.strip().splitlines() or ["no output"])[-1]
        raise RuntimeError(f"{' '.join(argv[:4])} ... failed ({proc.returncode}): {detail}")
    return elapsed


def ours_argv(out_dir: Path, schema_dir: Path = PINNED_SCHEMA) -> list[str]:
    """The generator's CLI; lock and manifest default to SCHEMA_DIR/../ (each dump has its own)."""
    argv = [sys.executable, "-m", "generator", "generate", "--schema-dir", str(schema_dir)]
    argv += ["--output-dir", str(out_dir)]
    if not (schema_dir.parent / "methods.toml").is_file():
        argv += ["--manifest", str(MANIFEST)]
    return argv


def time_ours(schema_dir: Path = PINNED_SCHEMA) -> float:
    with tempfile.TemporaryDirectory(prefix="bench-regen-") as tmp:
        return _timed(ours_argv(Path(tmp) / "out", schema_dir))


def time_baseline() -> float:
    with tempfile.TemporaryDirectory(prefix="bench-dmcg-") as tmp:
        out = Path(tmp) / "v2_all.py"
        env = child_env()
        env["BLACK_CACHE_DIR"] = str(Path(tmp) / "black-cache")
        dmcg = [sys.executable, "-W", "ignore", "-m", "datamodel_code_generator"]
        dmcg += ["--input", str(PINNED_SCHEMA / V2_BUNDLE), "--output", str(out), *DATAMODEL_CODEGEN_FLAGS]
        black = [sys.executable, "-m", "black", "-q", str(out)]
        return _timed(dmcg, env=env) + _timed(black, env=env)


def baseline_missing() -> str | None:
    for module in ("datamodel_code_generator", "black"):
        if importlib.util.find_spec(module) is None:
            return f"{module} not installed (pinned in `nox -s bench`)"
    return None


def bench_regen(sizes: Sizes) -> Result:
    missing = baseline_missing()
    ours: list[float] = []
    baseline: list[float] = []
    for _ in range(sizes.regen_rounds):
        ours.append(time_ours())
        if missing is None:
            baseline.append(time_baseline())
    return Result(
        name="regen",
        unit="s",
        ours_samples=tuple(ours),
        baseline_name="datamodel-codegen + black",
        baseline_samples=tuple(baseline),
        target=Target("<=", 0.10),
        note=missing or "0.163.0 bundle; load -> format -> write, fresh process each round",
    )


def definition_count(schema_dir: Path) -> int:
    bundle = json.loads((schema_dir / V2_BUNDLE).read_text(encoding="utf-8"))
    return len(bundle.get("definitions", {}))


def history_schema_dir(version: str) -> Path | None:
    """The schema dump of a recorded protocol version (the pinned one for 0.163.0)."""
    dumped = HISTORY / version / "app-server"
    if (dumped / V2_BUNDLE).is_file():
        return dumped
    if version == HISTORY_VERSIONS[-1]:
        return PINNED_SCHEMA
    return None


def bench_regen_history(sizes: Sizes) -> list[Result]:
    """Cost growth: regeneration seconds per protocol version (definitions as context)."""
    results = []
    for version in HISTORY_VERSIONS:
        name = f"regen_growth_{version}"
        schema_dir = history_schema_dir(version)
        if schema_dir is None:
            note = f"skipped: no dump at tests/data/history/{version}/app-server"
            results.append(Result(name, "s", (), "-", note=note))
            continue
        defs = definition_count(schema_dir)
        try:
            samples = tuple(time_ours(schema_dir) for _ in range(sizes.regen_rounds))
        except RuntimeError as exc:
            results.append(Result(name, "s", (), "-", note=f"generation failed: {exc}"))
            continue
        note = f"{defs} definitions; {1000 * min(samples) / defs:.2f} ms per definition (best round)"
        results.append(Result(name, "s", samples, "-", note=note, extra={"definitions": defs}))
    return results


def require_generator() -> None:
    if importlib.util.find_spec("jinja2") is None:
        raise Unavailable("the generator's dependencies (jinja2 ...) are not installed")
