"""Fast checks of the packaging inputs (the full build is `nox -s build`).

The version lives in four places that must agree; the package metadata
must say what users rely on; the seed import lines must work; the helpers
of ``build_and_smoke`` must detect what they claim to detect.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import pytest

from tests.packaging import build_and_smoke
from tests.packaging.seed import SEED_COPY, extract_imports, imported_names, seed_imports, seed_reference_path

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - tomli is a generator dependency on 3.10
    import tomli as tomllib

ROOT = Path(__file__).resolve().parents[2]
PYPROJECT = tomllib.loads((ROOT / "output" / "pyproject.toml").read_text(encoding="utf-8"))


def _codex_version() -> str:
    lock = json.loads((ROOT / "schemas" / "schema.lock").read_text(encoding="utf-8"))
    version = lock["codex_version"]
    assert isinstance(version, str)
    return version


def test_version_lives_in_four_places_that_agree() -> None:
    codex = _codex_version()
    import codex_app_server

    sdk = codex_app_server.__version__
    assert sdk == codex or re.fullmatch(re.escape(codex) + r"\.\d+", sdk), f"SDK {sdk} is not codex {codex}[.N]"
    assert PYPROJECT["project"]["optional-dependencies"]["bin"] == [f"openai-codex-cli-bin=={codex}"]
    noxfile = (ROOT / "noxfile.py").read_text(encoding="utf-8")
    assert f'CODEX_VERSION = "{codex}"' in noxfile
    assert PYPROJECT["tool"]["hatch"]["version"]["path"] == "src/codex_app_server/_version.py"


def test_project_metadata_is_what_users_rely_on() -> None:
    project = PYPROJECT["project"]
    assert project["name"] == "codex-app-server"
    assert project["requires-python"] == ">=3.10"
    assert project["readme"] == "README.md" and (ROOT / "output" / "README.md").is_file()
    assert project["license"] == "MIT" and (ROOT / "output" / "LICENSE").is_file()
    (runtime,) = project["dependencies"]  # pydantic v2 only
    assert re.fullmatch(r"pydantic>=2\.\d+,<3", runtime), runtime
    assert "Typing :: Typed" in project["classifiers"]
    for python in build_and_smoke.PYTHONS:
        assert f"Programming Language :: Python :: {python}" in project["classifiers"]
    assert (ROOT / "output" / "src" / "codex_app_server" / "py.typed").is_file()
    assert set(project["urls"]) >= {"Documentation", "Source", "API reference"}


def test_pydantic_floor_supports_the_model_features_in_use() -> None:
    """The generated models use Field(exclude_if=...), new in pydantic 2.12."""
    floor = build_and_smoke._pydantic_floor(PYPROJECT["project"]["dependencies"])
    assert floor is not None
    generated = ROOT / "output" / "src" / "codex_app_server" / "generated"
    if any("exclude_if=" in path.read_text(encoding="utf-8") for path in generated.rglob("*.py")):
        assert tuple(int(part) for part in floor.split(".")[:2]) >= (2, 12), floor


SEED_IMPORTS = seed_imports()


def test_the_seed_has_its_five_import_statements() -> None:
    """What the wheel smoke test executes (tests/sdk/test_conformance.py runs them on the tree)."""
    assert len(SEED_IMPORTS) == 5, SEED_IMPORTS
    names = {name for statement in SEED_IMPORTS for _module, name in imported_names(statement)}
    assert {"Codex", "AsyncCodex", "ThreadItem", "retry_on_overload", "TurnStartParams"} <= names


def test_the_repository_copy_is_the_seed() -> None:
    path = seed_reference_path()
    if path is None:
        pytest.skip("the seed api-reference.txt is not beside the repository (set CODEX_SDK_SEED_REFERENCE)")
    assert SEED_COPY.read_text(encoding="utf-8") == path.read_text(encoding="utf-8")


def test_extract_imports_reads_parenthesised_and_plain_forms() -> None:
    text = "intro\n```python\nfrom a.b import (\nX,\nY,\n)\nfrom c import Z\nwith Z() as z:\n...\n```\n"
    assert extract_imports(text) == ["from a.b import (\nX,\nY,\n)", "from c import Z"]
    with pytest.raises(SyntaxError):
        extract_imports("from a import (X Y)")


def test_wheel_differences_names_every_difference() -> None:
    a = {"pkg/a.py": b"1", "pkg/b.py": b"2", "pkg/c.py": b"3"}
    b = {"pkg/a.py": b"1", "pkg/b.py": b"changed", "pkg/d.py": b"4"}
    assert build_and_smoke.wheel_differences(a, b) == [
        "only in the first: pkg/c.py",
        "only in the second: pkg/d.py",
        "content differs: pkg/b.py",
    ]
    assert build_and_smoke.wheel_differences(a, dict(a)) == []


def test_pydantic_floor_is_read_from_the_requirement() -> None:
    assert build_and_smoke._pydantic_floor(["pydantic<3,>=2.12"]) == "2.12"
    assert build_and_smoke._pydantic_floor(["pydantic>=2.12.1,<3"]) == "2.12.1"
    assert build_and_smoke._pydantic_floor(["openai-codex-cli-bin==0.163.0; extra == 'bin'"]) is None


def test_find_python_returns_an_interpreter_of_that_version() -> None:
    version = f"{sys.version_info[0]}.{sys.version_info[1]}"
    found = build_and_smoke.find_python(version)
    assert found is not None
    assert build_and_smoke.find_python("2.1") is None


def test_dependency_summary_groups_runtime_and_extras() -> None:
    from tests.packaging.release_preview import dependency_summary

    requires = ("pydantic<3,>=2.12", "openai-codex-cli-bin==0.163.0; extra == 'bin'")
    assert dependency_summary(requires) == "runtime: pydantic<3,>=2.12  [bin]: openai-codex-cli-bin==0.163.0"


def test_the_remote_extra_declares_ranges_and_the_dev_pins_lie_inside_them() -> None:
    import ast

    from packaging.requirements import Requirement

    noxfile = ast.parse((ROOT / "noxfile.py").read_text(encoding="utf-8"))
    (dev_pins,) = (
        ast.literal_eval(node.value)
        for node in noxfile.body
        if isinstance(node, ast.Assign) and [ast.unparse(t) for t in node.targets] == ["REMOTE_DEPS"]
    )
    remote = PYPROJECT["project"]["optional-dependencies"]["remote"]
    assert all(build_and_smoke._is_range(requirement) for requirement in remote), remote
    ranges = {Requirement(r).name.lower(): Requirement(r).specifier for r in remote}
    assert set(ranges) == {"websockets", "pyjwt"}
    for pin in dev_pins:
        requirement = Requirement(pin)
        (version,) = (spec.version for spec in requirement.specifier)
        assert ranges[requirement.name.lower()].contains(version), f"dev pin {pin} is outside {remote}"


def test_dependency_floors_are_read_for_the_runtime_and_the_ranged_extras() -> None:
    requires = [
        "pydantic<3,>=2.12",
        "openai-codex-cli-bin==0.163.0; extra == 'bin'",
        "websockets<18,>=13.0; extra == 'remote'",
        'pyjwt (>=2.8,<3) ; extra == "remote"',
        "colorama>=0.4; sys_platform == 'win32'",
    ]
    assert build_and_smoke.dependency_floors(requires) == {"pydantic": "2.12", "websockets": "13.0", "pyjwt": "2.8"}


def test_the_metadata_check_refuses_exact_pins_in_the_remote_extra() -> None:
    assert build_and_smoke._is_range("websockets<18,>=13.0; extra == 'remote'")
    assert not build_and_smoke._is_range("websockets==17.4; extra == 'remote'")
    assert not build_and_smoke._is_range("PyJWT>=2.8; extra == 'remote'")
    assert not build_and_smoke._is_range("PyJWT<=3,>=2.8; extra == 'remote'")
