"""Results a suite gathers in each pytest-xdist worker, merged into the controller's terminal summary.

A worker hands its dict over as JSON when its session ends (xdist's
``workeroutput``); the controller merges each one in as that worker goes
down. Without xdist the dict already is the controller's. A conftest binds
the two hooks: ``pytest_sessionfinish, pytest_testnodedown = worker_report_hooks(KEY, REPORT)``.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest


def worker_report_hooks(
    key: str, report: dict[str, Any]
) -> tuple[Callable[[pytest.Session], None], Callable[[Any, Any], None]]:
    def pytest_sessionfinish(session: pytest.Session) -> None:
        workeroutput = getattr(session.config, "workeroutput", None)
        if workeroutput is not None:  # a pytest-xdist worker: hand its results to the controller's summary
            workeroutput[key] = json.dumps(report)

    @pytest.hookimpl(optionalhook=True)
    def pytest_testnodedown(node: Any, error: Any) -> None:
        """pytest-xdist: a worker finished; merge its results into this (the controller's) summary."""
        report.update(json.loads(getattr(node, "workeroutput", {}).get(key, "{}")))

    return pytest_sessionfinish, pytest_testnodedown
