"""Soak figures: collected by :func:`record`, printed in the summary, saved as JSON."""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any

import pytest

from tests.faults.support import CODEX_BIN, NO_CODEX
from tests.support.worker_reports import worker_report_hooks

FIGURES: dict[str, dict[str, Any]] = {}


def record(name: str, **figures: Any) -> None:
    FIGURES[name] = figures


@pytest.fixture
def codex_bin() -> str:
    if CODEX_BIN is None:
        pytest.skip(NO_CODEX)
    return CODEX_BIN


pytest_sessionfinish, pytest_testnodedown = worker_report_hooks("soak_figures", FIGURES)


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if not FIGURES:
        return
    path = Path(os.environ.get("CODEX_SOAK_REPORT") or Path(tempfile.gettempdir()) / "codex-soak-report.json")
    path.write_text(json.dumps(FIGURES, indent=1, sort_keys=True), encoding="utf-8")
    terminalreporter.section("soak")
    for name, f in FIGURES.items():
        leaked = sum(len(v) for v in f["leaks"].values())
        terminalreporter.write_line(
            f"{name}: {f['turns']} turns, {f['deltas']} deltas in {f['seconds']} s "
            f"({f['turns_per_s']} turns/s), {f['failures']} failures, {leaked} leaked fds/threads/children"
        )
    terminalreporter.write_line(f"report: {path}")
