"""Under mypy, ``thread.run(...).items[0]`` is the generated ``ThreadItem`` union.

Marked slow because it needs mypy, which `nox -s slow` (and the dev venv)
installs and the per-Python `tests` session does not; `nox -s pyright` runs
the same check with pyright (``reveal_check.py``).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.packaging.reveal_check import PROBE_LINES, expected_members, problems, reveal_mypy

pytestmark = [pytest.mark.slow, pytest.mark.timeout(300)]


def test_mypy_reveals_the_thread_item_union(tmp_path: Path) -> None:
    expected = expected_members()
    assert {"AgentMessageThreadItem", "UserMessageThreadItem", "CommandExecutionThreadItem"} <= expected
    revealed = reveal_mypy(tmp_path)
    assert set(revealed) == set(PROBE_LINES), revealed
    assert problems(revealed, expected) == []


def test_a_wrong_reveal_is_reported() -> None:
    """The comparison is exact: a missing member or an Any is a problem."""
    expected = expected_members()
    partial = {line: expected - {"AgentMessageThreadItem"} for line in PROBE_LINES}
    assert any("missing ['AgentMessageThreadItem']" in p for p in problems(partial, expected))
    assert problems({line: {"Any"} for line in PROBE_LINES}, expected) != []
