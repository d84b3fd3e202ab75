"""Golden tests: one small schema per construct -> the exact generated model modules.

Each ``cases/<name>.json`` holds the definitions (plus an optional manifest),
and ``golden/<name>.txt`` the expected model modules (``generated/_models``,
one after the other under a header line). A missing or different snapshot
fails; snapshots are rewritten only on request::

    UPDATE_GOLDEN=1 pytest tests/generator/test_golden.py
    pytest tests/generator --update-golden

Beyond the text, every case's module is imported and its samples checked:
valid instances validate and dump back unchanged, invalid ones are rejected
by the models and by ``jsonschema`` alike (a sample says where the models
differ on purpose: unknown enum values, formats jsonschema does not check),
and Python-side construction dumps what goes on the wire.
"""

from __future__ import annotations

import difflib
import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from pydantic import TypeAdapter, ValidationError

from generator.load import load_inputs
from generator.pipeline import GENERATED_PACKAGE, generate
from tests.generator import conftest
from tests.generator.support import GENERATED, import_generated, models_snapshot, with_scaffold, write_schema_dir

HERE = Path(__file__).resolve().parent
CASES = sorted(HERE.joinpath("cases").glob("*.json"))
GOLDEN = HERE / "golden"


def load_case(path: Path) -> dict[str, Any]:
    case: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return case


def generate_files(case: dict[str, Any], tmp: Path) -> dict[str, str]:
    """What the generator makes for a case (in process: the CLI is covered elsewhere)."""
    schema_dir = write_schema_dir(tmp, case["definitions"], manifest=case.get("manifest", ""))
    return dict(generate(load_inputs(schema_dir)).files)


def import_models(case: dict[str, Any], tmp: Path, package: str) -> Any:
    """The case's ``v2_all``, imported from a generated package written under ``tmp``."""
    out = tmp / "out"
    for rel, content in generate_files(case, tmp / "schema").items():
        if rel.startswith(f"{GENERATED_PACKAGE}/"):
            path = out / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(content, encoding="utf-8")
    return import_generated(out / GENERATED, tmp / "import", package)


def schema_validator(definitions: dict[str, Any], name: str) -> jsonschema.Draft7Validator:
    """A validator for one definition, with the bundle's definitions as the root so $refs resolve."""
    root = {"definitions": with_scaffold(definitions), "$ref": f"#/definitions/{name}"}
    return jsonschema.Draft7Validator(root)


def model_accepts(adapter: TypeAdapter[Any], instance: object) -> bool:
    try:
        adapter.validate_python(instance)
    except ValidationError:
        return False
    return True


@pytest.mark.parametrize("path", CASES, ids=lambda p: p.stem)
def test_golden(path: Path, tmp_path: Path, request: pytest.FixtureRequest) -> None:
    case = load_case(path)
    actual = models_snapshot(generate_files(case, tmp_path))
    golden = GOLDEN / f"{path.stem}.txt"
    if conftest.update_golden(request.config):
        golden.parent.mkdir(exist_ok=True)
        golden.write_text(actual, encoding="utf-8", newline="\n")
    assert golden.is_file(), f"no snapshot {golden.name}: run with UPDATE_GOLDEN=1 to create it, then review it"
    expected = golden.read_text(encoding="utf-8")
    if actual != expected:
        diff = "\n".join(
            difflib.unified_diff(expected.splitlines(), actual.splitlines(), "golden", "generated", lineterm="")
        )
        pytest.fail(
            f"{path.stem}: generated code differs from golden/{golden.name} (UPDATE_GOLDEN=1 to accept):\n{diff}"
        )


@pytest.mark.parametrize("path", CASES, ids=lambda p: p.stem)
def test_golden_samples(path: Path, tmp_path: Path) -> None:
    case = load_case(path)
    assert case["doc"] and case["samples"], "every case documents its construct and has samples"
    module = import_models(case, tmp_path, f"golden_{path.stem}")
    for sample in case["samples"]:
        cls = getattr(module, sample["class"])
        adapter: TypeAdapter[Any] = TypeAdapter(cls)
        instance = sample["instance"]
        validator = schema_validator(case["definitions"], sample.get("definition", sample["class"]))
        schema_valid = validator.is_valid(instance)
        assert schema_valid == sample["schema_valid"], f"jsonschema disagrees with the case about {instance!r}"
        model_valid = sample.get("model_valid", sample["schema_valid"])
        assert model_accepts(adapter, instance) == model_valid, f"{sample['class']} on {instance!r}"
        if model_valid and schema_valid:
            dumped = adapter.dump_python(
                adapter.validate_python(instance), mode="json", by_alias=True, exclude_unset=True
            )
            assert dumped == instance, f"{sample['class']}: round trip changed {instance!r} into {dumped!r}"
    for construct in case.get("python", []):
        model = getattr(module, construct["class"])(**construct["kwargs"])
        dumped = model.model_dump(mode="json", by_alias=True, exclude_unset=construct.get("exclude_unset", True))
        assert dumped == construct["dump"], construct
