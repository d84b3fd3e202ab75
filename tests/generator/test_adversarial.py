"""Adversarial schema corpus (issue 8, part 2).

Every case in ``adversarial/*.json`` (plus a few built in code: deep
nesting, a 10 MB description, bytes that are not UTF-8) is fed to
``python -m generator generate`` in a fresh interpreter. Each case pins its
outcome:

* ``"expect": "ok"``: exit 0, and the output imports, holds no call that could
  run schema text, and round-trips the case's sample instances
  (:mod:`tests.generator.roundtrip_check`, also in a fresh interpreter);
* ``"expect": "error"``: exit 2 with exactly one ``error: FILE#/pointer:
  message`` line (plus an optional hint) naming the expected pointer, and the
  output dir byte-for-byte unchanged.

Always: no traceback, no hang (subprocess timeouts), and the marker file that
every code-injection payload in the corpus tries to create never appears.

The fast cases run concurrently in one module fixture (they are independent
subprocesses), so the corpus costs a few seconds; the summary (generated and
round-tripped vs stopped with a clear error) is printed at the end of the
pytest run.
"""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.generator import conftest
from tests.generator.support import (
    GENERATED,
    SCAFFOLD,
    dump_json,
    generator_env,
    parse_cli_error,
    run_subprocess,
    tree_digest,
    write_schema_dir,
)

CORPUS = Path(__file__).resolve().parent / "adversarial"
TIMEOUT = 60.0


@dataclass(frozen=True)
class Case:
    name: str
    spec: dict[str, object]
    raw_v2: bytes | None = None


@dataclass(frozen=True)
class Outcome:
    case: Case
    tmp: Path
    returncode: int
    stdout: str
    stderr: str
    before: dict[str, str]
    after: dict[str, str]
    check_returncode: int | None
    check_output: str
    marker_exists: bool


def corpus_cases() -> list[Case]:
    cases = []
    for path in sorted(CORPUS.glob("*.json")):
        spec = json.loads(path.read_text(encoding="utf-8"))
        raw = spec.get("raw_v2")
        cases.append(Case(path.stem, spec, raw.encode("utf-8") if isinstance(raw, str) else None))
    return cases


def _nested(levels: int, wrap: Callable[[dict[str, object]], dict[str, object]]) -> dict[str, object]:
    schema: dict[str, object] = {"type": "string"}
    for _ in range(levels):
        schema = wrap(schema)
    return schema


def _nested_instance(levels: int, wrap: Callable[[object], object]) -> object:
    value: object = "leaf"
    for _ in range(levels):
        value = wrap(value)
    return value


def code_cases() -> list[Case]:
    """Cases too big or too odd for a JSON file."""
    deep_objects = _nested(200, lambda s: {"type": "object", "properties": {"a": s}, "required": ["a"]})
    deep_arrays = _nested(200, lambda s: {"type": "array", "items": s})
    deep_anyof = _nested(200, lambda s: {"anyOf": [s, {"type": "integer"}]})
    scaffold_json = dump_json({"definitions": SCAFFOLD})
    return [
        Case(
            "deep_nesting_objects_200",
            {
                "doc": "200 levels of inline objects, each a property of the previous one.",
                "definitions": {"Deep": deep_objects},
                "expect": "error",
                "error": {"pointer": "/definitions/Deep" + "/properties/a" * 64, "message": "nested deeper"},
            },
        ),
        Case(
            "deep_nesting_arrays_200",
            {
                "doc": "An array of arrays 200 levels deep.",
                "definitions": {"Holder": {"type": "object", "properties": {"x": deep_arrays}}},
                "expect": "error",
                "error": {"pointer": "/definitions/Holder/properties/x" + "/items" * 64, "message": "nested deeper"},
            },
        ),
        Case(
            "deep_nesting_anyof_200",
            {
                "doc": "anyOf nested 200 levels deep.",
                "definitions": {"Holder": {"type": "object", "properties": {"x": deep_anyof}}},
                "expect": "error",
                "error": {"pointer": "/definitions/Holder/properties/x" + "/anyOf/0" * 63, "message": "nested deeper"},
            },
        ),
        Case(
            "deep_nesting_objects_30",
            {
                "doc": "30 levels of inline objects: deep but within the limit, so it generates and round-trips.",
                "definitions": {
                    "Deep": _nested(30, lambda s: {"type": "object", "properties": {"a": s}, "required": ["a"]})
                },
                "expect": "ok",
                "samples": [{"class": "Deep", "instance": _nested_instance(30, lambda v: {"a": v})}],
            },
        ),
        Case(
            "json_nesting_100k",
            {
                "doc": "A bundle nested 100,000 arrays deep: too deep to parse, reported, not a RecursionError.",
                "expect": "error",
                "error": {"pointer": "", "message": "nested too deeply"},
            },
            raw_v2=b"[" * 100_000 + b"]" * 100_000,
        ),
        Case(
            "not_utf8",
            {"doc": "A schema file that is not UTF-8.", "expect": "error", "error": {"pointer": "", "message": "JSON"}},
            raw_v2=b'{"definitions": {"A": {"description": "\xff\xfe"}}}',
        ),
        Case(
            "utf8_bom",
            {
                "doc": "A UTF-8 byte order mark before the JSON (Python's json accepts it for bytes).",
                "expect": "ok",
                "samples": [{"class": "PingParams", "instance": {}}],
            },
            raw_v2=b"\xef\xbb\xbf" + scaffold_json,
        ),
        Case(
            "top_level_array",
            {"doc": "A bundle that is a JSON array.", "expect": "error", "error": {"pointer": "", "message": "object"}},
            raw_v2=b"[]",
        ),
        Case(
            "truncated_json",
            {
                "doc": "A bundle cut off mid-file.",
                "expect": "error",
                "error": {"pointer": "", "message": "not valid JSON"},
            },
            raw_v2=scaffold_json[: len(scaffold_json) // 2],
        ),
    ]


def big_description_case() -> Case:
    text = ('"""\\ {{ x }} \x00 ' + "\u00e9" * 20 + "\n") * (10 * 1024 * 1024 // 40)
    return Case(
        "description_10mb",
        {
            "doc": "A 10 MB description full of quotes, backslashes, NULs and Jinja syntax.",
            "definitions": {"Big": {"type": "object", "description": text, "properties": {"a": {"type": "string"}}}},
            "expect": "ok",
            "samples": [{"class": "Big", "instance": {"a": "x"}}],
        },
    )


FAST_CASES = corpus_cases() + code_cases()


def run_case(case: Case, tmp: Path) -> Outcome:
    """Generate into an output dir that already holds a previous generation, then check the result."""
    spec = case.spec
    tmp.mkdir(parents=True, exist_ok=True)
    schema_dir = write_schema_dir(
        tmp,
        spec.get("definitions"),  # type: ignore[arg-type]
        manifest=str(spec.get("manifest", "")),
        root_definitions=spec.get("root_definitions"),  # type: ignore[arg-type]
        raw_v2=case.raw_v2,
        scaffold=not spec.get("no_scaffold"),
    )
    output = tmp / "output"
    previous = output / GENERATED / "v2_all.py"
    previous.parent.mkdir(parents=True)
    previous.write_text("# a previous generation\n", encoding="utf-8")
    (output / "pyproject.toml").write_text("# not generated\n", encoding="utf-8")
    marker = tmp / "MARKER"
    env = generator_env(CODEX_GEN_MARKER=str(marker))
    before = tree_digest(output)
    gen = run_bounded(
        ["-m", "generator", "generate", "--schema-dir", str(schema_dir), "--output-dir", str(output)], tmp, env
    )
    after = tree_digest(output)
    check_rc, check_out = None, ""
    if gen.returncode == 0 and spec.get("expect") == "ok":
        spec_file = tmp / "spec.json"
        spec_file.write_bytes(dump_json({"samples": spec.get("samples", []), "methods": spec.get("methods")}))
        check = run_bounded(["-m", "tests.generator.roundtrip_check", str(output), str(spec_file)], tmp, env)
        check_rc, check_out = check.returncode, check.stdout + check.stderr
    return Outcome(
        case, tmp, gen.returncode, gen.stdout, gen.stderr, before, after, check_rc, check_out, marker.exists()
    )


def run_bounded(args: list[str], cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """A run that hangs becomes a failed outcome of its own case, not an error of the whole fixture."""
    try:
        return run_subprocess(args, cwd=cwd, env=env, timeout=TIMEOUT)
    except subprocess.TimeoutExpired:
        return subprocess.CompletedProcess(args, -1, "", f"hang: no exit within {TIMEOUT:.0f} s")


def assert_outcome(outcome: Outcome) -> str:
    """Check one outcome against its pinned expectation; returns "ok" or "error" for the summary."""
    spec = outcome.case.spec
    assert "Traceback" not in outcome.stderr, outcome.stderr
    assert outcome.returncode != -1 and outcome.check_returncode != -1, "hang"
    assert not outcome.marker_exists, "schema text was executed: the marker file exists"
    if spec["expect"] == "error":
        assert outcome.returncode == 2, f"expected exit 2, got {outcome.returncode}\n{outcome.stdout}{outcome.stderr}"
        error = parse_cli_error(outcome.stderr)
        expected = spec["error"]
        assert isinstance(expected, dict)
        assert error.pointer == expected["pointer"], f"pointer {error.pointer!r} in {outcome.stderr!r}"
        assert str(expected["message"]).lower() in error.message.lower(), outcome.stderr
        assert error.file.endswith(str(expected.get("file", ".json"))), outcome.stderr
        assert outcome.after == outcome.before, "a failed run changed the output dir"
        return "error"
    assert outcome.returncode == 0, f"expected success, got {outcome.returncode}:\n{outcome.stderr}"
    assert outcome.stderr == "", outcome.stderr
    assert outcome.check_returncode == 0, outcome.check_output
    assert not any(rel.startswith(".generate-") for rel in outcome.after), "staging dir left behind"
    return "ok"


@pytest.fixture(scope="module")
def outcomes(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Outcome]]:
    """Run every selected case at once (independent subprocesses), so the corpus costs seconds, not minutes."""
    selected = {
        item.callspec.params["case"].name
        for item in request.session.items
        if isinstance(item, pytest.Function) and item.originalname == "test_adversarial_case"
    }
    root = tmp_path_factory.mktemp("adversarial")
    workers = max(2, min(8, (os.cpu_count() or 2) * 2))
    with ThreadPoolExecutor(max_workers=workers) as pool:
        futures = {
            case.name: pool.submit(run_case, case, root / case.name) for case in FAST_CASES if case.name in selected
        }
        yield {name: future.result() for name, future in futures.items()}


def test_corpus_is_large_enough() -> None:
    assert len(FAST_CASES) >= 40
    assert len({c.name for c in FAST_CASES}) == len(FAST_CASES)
    for case in FAST_CASES:
        assert case.spec["expect"] in ("ok", "error"), case.name
        assert case.spec.get("doc"), case.name


@pytest.mark.parametrize("case", FAST_CASES, ids=lambda c: c.name)
def test_adversarial_case(case: Case, outcomes: dict[str, Outcome]) -> None:
    conftest.record_adversarial(case.name, "fail")
    conftest.record_adversarial(case.name, assert_outcome(outcomes[case.name]))


@pytest.mark.slow
def test_description_10mb(tmp_path: Path) -> None:
    case = big_description_case()
    conftest.record_adversarial(case.name, "fail")
    conftest.record_adversarial(case.name, assert_outcome(run_case(case, tmp_path)))
