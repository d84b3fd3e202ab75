"""Collects the per-definition results of the property suite into one report.

The report (JSON) goes to ``$CODEX_PROPERTY_REPORT`` if set, else to
``codex-property-report.json`` in the system temp dir; the terminal summary
prints the totals and where the report is.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any

import pytest

from tests.support.worker_reports import worker_report_hooks

REPORT: dict[str, dict[str, Any]] = {}


def report_path() -> Path:
    return Path(os.environ.get("CODEX_PROPERTY_REPORT") or Path(tempfile.gettempdir()) / "codex-property-report.json")


pytest_sessionfinish, pytest_testnodedown = worker_report_hooks("property_report", REPORT)


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if not REPORT:
        return
    from .oracle import EXPLANATIONS

    totals: dict[str, int] = {}
    skipped = {name: entry["skipped"] for name, entry in REPORT.items() if entry.get("skipped")}
    for entry in REPORT.values():
        for key in ("examples", "mutants", "both_accept", "both_reject"):
            totals[key] = totals.get(key, 0) + int(entry.get(key, 0))
        totals["unexplained"] = totals.get("unexplained", 0) + len(entry.get("unexplained", ()))
        for category, count in entry.get("explained", {}).items():
            totals[category] = totals.get(category, 0) + count
    path = report_path()
    path.write_text(
        json.dumps(
            {"totals": totals, "explanations": EXPLANATIONS, "skipped": skipped, "definitions": REPORT},
            indent=1,
            sort_keys=True,
            ensure_ascii=False,
        ),
        encoding="utf-8",
    )
    checked = len(REPORT) - len(skipped)
    write = terminalreporter.write_line
    terminalreporter.section("schema/model round-trip properties")
    write(
        f"{checked} definitions round-tripped ({len(skipped)} skipped), {totals.get('examples', 0)} instances, "
        f"{totals.get('mutants', 0)} mutants: {totals.get('both_accept', 0)} accepted by both, "
        f"{totals.get('both_reject', 0)} rejected by both"
    )
    explained = ", ".join(f"{c} {totals[c]}" for c in sorted(EXPLANATIONS) if totals.get(c))
    write(f"accepted by the model only, documented: {explained or 'none'}")
    write(f"unexplained disagreements: {totals.get('unexplained', 0)}; report: {path}")


@pytest.fixture
def property_report() -> dict[str, dict[str, Any]]:
    return REPORT
