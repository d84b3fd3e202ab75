"""Round-trip properties of every schema definition against its generated model.

For each of the bundle's definitions (the v2 bundle plus the root-bundle
definitions the generator adds), hypothesis-jsonschema draws instances;
:mod:`tests.properties.oracle` checks that the model accepts them, dumps them
back unchanged, reads every part drawn for a class as that class, and agrees
with ``jsonschema`` on mutants, up to the documented choices in
``oracle.EXPLANATIONS``.

* ``slow`` (``nox -s slow``): every definition, :data:`SLOW_EXAMPLES` each.
* fast: :data:`KEY_DEFINITIONS`, :data:`FAST_EXAMPLES` each.

Runs are derandomised (a fixed seed per definition; hypothesis's engine may
still vary a later example with what ran before in the process). To explore
further: ``CODEX_PROPERTY_EXAMPLES=N`` and ``CODEX_PROPERTY_SEED=S``, e.g.
``CODEX_PROPERTY_SEED=777 CODEX_PROPERTY_EXAMPLES=60 pytest -m slow tests/properties``.
"""

from __future__ import annotations

import os
import random
import time
from datetime import timedelta
from typing import Any

import pytest

pytest.importorskip("hypothesis_jsonschema", reason="needs hypothesis-jsonschema==0.23.1 (installed by `nox -s slow`)")

from hypothesis import HealthCheck, Phase, assume, given, seed, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402
from hypothesis.errors import HypothesisException  # noqa: E402

from . import corpus, oracle  # noqa: E402

SLOW_EXAMPLES = 8
FAST_EXAMPLES = 3
ALL_DEFINITIONS = sorted(corpus.definitions())
KEY_DEFINITIONS = (
    "AgentMessageDeltaNotification",
    "AskForApproval",
    "CodexErrorInfo",
    "CommandExecutionRequestApprovalParams",
    "CommandExecutionRequestApprovalResponse",
    "ContentItem",
    "ErrorNotification",
    "FileChangeRequestApprovalParams",
    "InitializeResponse",
    "ItemCompletedNotification",
    "ItemStartedNotification",
    "McpElicitationPrimitiveSchema",
    "McpServerElicitationRequestParams",
    "ModelListResponse",
    "ReviewDecision",
    "SandboxPolicy",
    "Thread",
    "ThreadItem",
    "ThreadListResponse",
    "ThreadStartParams",
    "ThreadStartResponse",
    "ThreadTokenUsage",
    "ThreadTokenUsageUpdatedNotification",
    "Turn",
    "TurnCompletedNotification",
    "TurnStartParams",
    "TurnStartResponse",
    "TurnStartedNotification",
    "TurnStatus",
    "UserInput",
)


def _examples(default: int) -> int:
    return int(os.environ.get("CODEX_PROPERTY_EXAMPLES", default))


def check_definition(name: str, examples: int, report: dict[str, dict[str, Any]]) -> oracle.Tally:
    """Run the properties for one definition; record and return its tally."""
    validator = corpus.validator(name)
    adapter = corpus.adapter(name)
    tally = oracle.Tally()
    invalid = 0
    started = time.perf_counter()

    @settings(
        max_examples=examples,
        deadline=timedelta(seconds=20),  # a hang guard; a normal example takes milliseconds
        database=None,
        derandomize="CODEX_PROPERTY_SEED" not in os.environ,
        phases=[Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(pair=corpus.annotated_instances(name), rng=st.randoms(use_true_random=False))
    def run(pair: tuple[Any, corpus.Origins], rng: random.Random) -> None:
        nonlocal invalid
        instance, origins = pair
        # Substituting a drawn definition for a $ref inside a oneOf can, rarely,
        # make two branches match; such an instance is not valid, so not used.
        if not validator.is_valid(instance):
            invalid += 1
            assume(False)
        oracle.check_instance(
            validator,
            adapter,
            instance,
            rng,
            tally,
            expected=corpus.expected_classes(origins),
            schema_of=corpus.validator_of_class,
        )

    if "CODEX_PROPERTY_SEED" in os.environ:
        run = seed(int(os.environ["CODEX_PROPERTY_SEED"]))(run)
    try:
        run()
    except HypothesisException as exc:  # the schema is beyond hypothesis-jsonschema
        report[name] = {"skipped": f"{type(exc).__name__}: {exc}"}
        pytest.skip(f"hypothesis-jsonschema cannot generate {name}: {exc}")
    report[name] = {**tally.as_dict(), "invalid_drawn": invalid, "seconds": round(time.perf_counter() - started, 3)}
    return tally


def assert_agreement(name: str, tally: oracle.Tally) -> None:
    assert tally.examples > 0, f"no instance of {name} was generated"
    assert not tally.unexplained, f"{name}: {len(tally.unexplained)} unexplained disagreement(s):\n" + "\n".join(
        tally.unexplained
    )


@pytest.mark.parametrize("name", KEY_DEFINITIONS)
def test_key_definition_round_trips(name: str, property_report: dict[str, dict[str, Any]]) -> None:
    assert_agreement(name, check_definition(name, _examples(FAST_EXAMPLES), property_report))


@pytest.mark.slow
@pytest.mark.timeout(120)
@pytest.mark.parametrize("name", ALL_DEFINITIONS)
def test_every_definition_round_trips(name: str, property_report: dict[str, dict[str, Any]]) -> None:
    assert_agreement(name, check_definition(name, _examples(SLOW_EXAMPLES), property_report))


def test_every_definition_is_covered() -> None:
    """The suite walks the same definitions the generator does, each with a generated type."""
    assert len(ALL_DEFINITIONS) > 700
    assert set(KEY_DEFINITIONS) <= set(ALL_DEFINITIONS)
    missing = [name for name in ALL_DEFINITIONS if not hasattr(corpus.v2_all, corpus.class_name(name))]
    assert missing == []
