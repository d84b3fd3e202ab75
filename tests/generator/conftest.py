"""Generator test options and the adversarial-corpus summary.

Golden snapshots are only rewritten on request: ``UPDATE_GOLDEN=1 pytest
tests/generator`` or ``pytest tests/generator --update-golden`` (the option
exists when pytest is pointed at this directory).
"""

from __future__ import annotations

import os

import pytest

_ADVERSARIAL: dict[str, str] = {}


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--update-golden", action="store_true", default=False, help="rewrite tests/generator/golden/*.py")


def update_golden(config: pytest.Config) -> bool:
    option = False
    try:
        option = bool(config.getoption("--update-golden"))
    except ValueError:  # the option is registered only when this conftest loads early
        pass
    return option or os.environ.get("UPDATE_GOLDEN") == "1"


def record_adversarial(case: str, result: str) -> None:
    """Remember one corpus case's result ("ok", "error" or "fail") for the summary."""
    _ADVERSARIAL[case] = result


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if not _ADVERSARIAL:
        return
    counts = {kind: sum(r == kind for r in _ADVERSARIAL.values()) for kind in ("ok", "error", "fail")}
    terminalreporter.write_sep("-", "generator adversarial corpus")
    terminalreporter.write_line(
        f"{len(_ADVERSARIAL)} cases: {counts['ok']} generated, imported and round-tripped; "
        f"{counts['error']} stopped with one clear error (exit 2); {counts['fail']} failed"
    )
