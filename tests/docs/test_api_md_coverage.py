"""output/API.md documents every public name: the generated classes and the hand-written runtime alike."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

import codex_app_server
import codex_app_server.testing
import pytest

API_MD = (Path(__file__).resolve().parents[2] / "output" / "API.md").read_text(encoding="utf-8")


def documented(name: str) -> bool:
    """``name`` starts a code span (a signature, a field) or heads a section."""
    return bool(re.search(rf"(`|^## ){re.escape(name)}\b", API_MD, flags=re.MULTILINE))


@pytest.mark.parametrize("name", sorted(codex_app_server.__all__))
def test_every_public_name_of_the_package(name: str) -> None:
    assert documented(name), f"{name} is exported by codex_app_server but not in API.md"


@pytest.mark.parametrize("name", sorted(codex_app_server.testing.__all__))
def test_every_name_of_the_testing_kit(name: str) -> None:
    assert documented(name), f"codex_app_server.testing.{name} is not in API.md"


@pytest.mark.parametrize("field", [f.name for f in dataclasses.fields(codex_app_server.AppServerConfig)])
def test_every_config_field(field: str) -> None:
    assert documented(field), f"AppServerConfig.{field} is not in API.md"


@pytest.mark.parametrize("field", [f.name for f in dataclasses.fields(codex_app_server.RunResult)])
def test_every_run_result_field(field: str) -> None:
    assert documented(field), f"RunResult.{field} is not in API.md"


@pytest.mark.parametrize("name", ["Codex", "AsyncCodex", "Thread", "AsyncThread", "TurnHandle", "AsyncTurnHandle"])
def test_the_wrapper_classes_have_a_docstring_of_their_own(name: str) -> None:
    """``help(Codex)`` shows what the class is for (the docstring is the class's, not inherited)."""
    import inspect

    cls = getattr(codex_app_server, name)
    doc = cls.__dict__.get("__doc__")
    assert doc and len(doc.split()) > 8, f"{name} has no docstring of its own"
    intro = " ".join(inspect.cleandoc(doc).split("\n\n")[0].split()).replace("``", "`")
    assert re.sub(r":class:`([^`]+)`", r"`\1`", intro) in API_MD  # the API.md section's intro


def test_inputs_say_turn_and_steer_take_a_str_too() -> None:
    import inspect

    for method in (codex_app_server.Thread.turn, codex_app_server.TurnHandle.steer):
        assert "str" in str(inspect.signature(method).parameters["input"].annotation)
    assert "`Thread.turn()` and `TurnHandle.steer()` take a `str`" in API_MD
