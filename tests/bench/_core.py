"""What every benchmark shares: sizes, targets, results, the table and the JSON.

A benchmark measures *ours* and a *baseline* in the same run, interleaved
where it can, and reports medians. Absolute times on a shared machine are
noise; the ratio is the number that counts.
"""

from __future__ import annotations

import os
import statistics
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent.parent
SAMPLES = ROOT / "tests" / "data" / "real_samples"
HISTORY = ROOT / "tests" / "data" / "history"


class Unavailable(Exception):
    """A benchmark (or its baseline) cannot run here; the message says why."""


@dataclass(frozen=True)
class Sizes:
    """How much work one run does. FULL is `nox -s bench`; TINY is the smoke test."""

    regen_rounds: int
    import_rounds: int
    decode_rounds: int
    decode_seconds: float  # target duration of one decode round
    flood_messages: int
    flood_rounds: int
    flood_memory_messages: int  # deltas to a slow consumer (flood_memory)
    turn_rounds: int
    memory_turns: int
    memory_every: int
    cold_rounds: int  # fresh interpreters per client, each one cold turn


FULL = Sizes(
    regen_rounds=5,
    import_rounds=15,
    decode_rounds=15,
    decode_seconds=0.1,
    flood_messages=100_000,
    flood_rounds=11,
    flood_memory_messages=1_000_000,
    turn_rounds=60,
    memory_turns=1_000,
    memory_every=20,
    cold_rounds=8,
)
QUICK = replace(
    FULL,
    regen_rounds=2,
    import_rounds=5,
    decode_rounds=7,
    decode_seconds=0.05,
    flood_messages=20_000,
    flood_rounds=3,
    flood_memory_messages=100_000,
    turn_rounds=10,
    memory_turns=60,
    memory_every=10,
    cold_rounds=3,
)
TINY = Sizes(
    regen_rounds=1,
    import_rounds=1,
    decode_rounds=1,
    decode_seconds=0.005,
    flood_messages=200,
    flood_rounds=1,
    flood_memory_messages=400,
    turn_rounds=1,
    memory_turns=3,
    memory_every=1,
    cold_rounds=1,
)


@dataclass(frozen=True)
class Target:
    """``ratio <= 0.10``, ``ratio >= 2.0``, or a bound on ``ours`` itself."""

    op: str  # "<=" or ">="
    value: float
    on: str = "ratio"  # "ratio" or "ours"

    def met(self, ours: float, ratio: float | None) -> bool | None:
        subject = ratio if self.on == "ratio" else ours
        if subject is None:
            return None
        return subject <= self.value if self.op == "<=" else subject >= self.value

    def __str__(self) -> str:
        return f"{self.on} {self.op} {self.value:g}"


@dataclass(frozen=True)
class Result:
    """One row of the table: medians of ``ours`` and ``baseline`` samples."""

    name: str
    unit: str
    ours_samples: tuple[float, ...]
    baseline_name: str
    baseline_samples: tuple[float, ...] = ()
    target: Target | None = None
    higher_is_better: bool = False
    note: str = ""
    extra: dict[str, object] = field(default_factory=dict)

    @property
    def ours(self) -> float | None:
        return statistics.median(self.ours_samples) if self.ours_samples else None

    @property
    def baseline(self) -> float | None:
        return statistics.median(self.baseline_samples) if self.baseline_samples else None

    @property
    def ratio(self) -> float | None:
        ours, baseline = self.ours, self.baseline
        if ours is None or baseline is None or baseline == 0:
            return None
        return ours / baseline

    @property
    def met(self) -> bool | None:
        if self.target is None or self.ours is None:
            return None
        return self.target.met(self.ours, self.ratio)

    def to_json(self) -> dict[str, object]:
        ours = self.ours_samples
        base = self.baseline_samples
        return {
            "name": self.name,
            "ours": self.ours,
            "baseline": self.baseline,
            "baseline_name": self.baseline_name,
            "ratio": self.ratio,
            "target": str(self.target) if self.target is not None else None,
            "met": self.met,
            "higher_is_better": self.higher_is_better,
            "unit": self.unit,
            "runs": len(ours),
            "min": min(ours) if ours else None,
            "median": self.ours,
            "max": max(ours) if ours else None,
            "baseline_runs": len(base),
            "baseline_min": min(base) if base else None,
            "baseline_median": self.baseline,
            "baseline_max": max(base) if base else None,
            "ours_samples": list(ours),
            "baseline_samples": list(base),
            "note": self.note,
            **self.extra,
        }


def fmt(value: float | None) -> str:
    if value is None:
        return "n/a"
    if value == 0:
        return "0"
    magnitude = abs(value)
    if magnitude >= 1000:
        return f"{value:,.0f}"
    if magnitude >= 10:
        return f"{value:.1f}"
    if magnitude >= 0.1:
        return f"{value:.2f}"
    return f"{value:.3g}"


def markdown_table(results: Sequence[Result]) -> str:
    lines = [
        "| name | ours | baseline | ratio | target | met | unit | runs (min / max ours) | note |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for r in results:
        met = {True: "yes", False: "**NO**", None: "-"}[r.met]
        samples = r.ours_samples
        spread = f"{len(samples)} ({fmt(min(samples))} / {fmt(max(samples))})" if samples else "0"
        baseline = f"{fmt(r.baseline)} ({r.baseline_name})" if r.baseline is not None else f"n/a ({r.baseline_name})"
        target = str(r.target) if r.target is not None else "info"
        lines.append(
            f"| {r.name} | {fmt(r.ours)} | {baseline} | {fmt(r.ratio)} | {target} | {met} | {r.unit} | {spread} | "
            f"{r.note} |"
        )
    return "\n".join(lines)


def rss_kb() -> int:
    """Current resident set size of this process in KiB (Linux), else peak RSS."""
    try:
        with open("/proc/self/status", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        pass
    import resource

    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak // 1024 if sys.platform == "darwin" else peak


def child_env() -> dict[str, str]:
    """The environment for child interpreters: this one, with the repo importable."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), env.get("PYTHONPATH", "")) if p)
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    return env
