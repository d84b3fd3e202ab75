"""Determinism and idempotence (issue 8, part 3).

``python -m generator generate``, each run in a fresh interpreter: the output
is byte-identical under five PYTHONHASHSEED values and from a different
working directory, and a second run over its own output changes nothing,
leaves no staging dir behind, and ``check`` passes on it.

The fast suite runs this on a small bundle that exercises every construct
of the golden cases at once; the slow suite on the real 0.163.0 bundle.
"""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from tests.generator.support import REAL_SCHEMA_DIR, generator_env, run_generator, tree_digest, write_schema_dir

SEEDS = ("0", "1", "42", "4242", "4294967295")
CASES = Path(__file__).resolve().parent / "cases"
# Golden cases whose definitions can share one bundle (their names do not clash).
MIXED_CASES = ("tagged_union_type", "python_hazards", "defaults", "nested_anyof_variant", "int_formats", "descriptions")


def mixed_schema_dir(root: Path) -> Path:
    definitions: dict[str, object] = {}
    for name in MIXED_CASES:
        case_defs = json.loads((CASES / f"{name}.json").read_text(encoding="utf-8"))["definitions"]
        assert not set(case_defs) & set(definitions), name
        definitions.update(case_defs)
    return write_schema_dir(root, definitions)


def generate_into(schema_dir: Path, output: Path, *, seed: str, cwd: Path | None = None) -> dict[str, str]:
    result = run_generator(
        "generate", "--schema-dir", schema_dir, "--output-dir", output, cwd=cwd, env=generator_env(PYTHONHASHSEED=seed)
    )
    assert result.returncode == 0, result.stderr
    digest = tree_digest(output)
    assert any(rel.endswith("generated/v2_all.py") for rel in digest), "nothing was generated"
    return digest


def check_determinism(schema_dir: Path, root: Path) -> None:
    elsewhere = root / "elsewhere"
    elsewhere.mkdir()
    jobs = {f"seed-{seed}": (root / f"seed-{seed}", seed, None) for seed in SEEDS}
    jobs["other-cwd"] = (root / "other-cwd", "random", elsewhere)
    with ThreadPoolExecutor(max_workers=len(jobs)) as pool:
        futures = {
            name: pool.submit(generate_into, schema_dir, out, seed=seed, cwd=cwd)
            for name, (out, seed, cwd) in jobs.items()
        }
        digests = {name: future.result() for name, future in futures.items()}
    first = digests["seed-0"]
    for name, digest in digests.items():
        assert digest == first, f"{name} differs from seed-0"

    # Idempotence: a second run over its own output.
    output = jobs["seed-1"][0]
    assert generate_into(schema_dir, output, seed="7") == first
    assert not [rel for rel in first if ".generate-" in rel or rel.endswith(".old")], "staging dirs left behind"
    check = run_generator("check", "--schema-dir", schema_dir, "--output-dir", output)
    assert check.returncode == 0, check.stderr
    assert "up to date" in check.stdout


def test_deterministic_and_idempotent_small_bundle(tmp_path: Path) -> None:
    check_determinism(mixed_schema_dir(tmp_path / "in"), tmp_path)


@pytest.mark.slow
def test_deterministic_and_idempotent_real_bundle(tmp_path: Path) -> None:
    check_determinism(REAL_SCHEMA_DIR, tmp_path)
