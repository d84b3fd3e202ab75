"""flood_memory: peak RSS growth while a slow consumer reads a flood of deltas.

The flood server of :mod:`.flood` sends N deltas of one turn as fast as the
pipe takes them; the consumer sleeps 10 ms every 200 events, so the server
is far ahead of it. Each SDK runs in a fresh interpreter (``python -m
tests.bench.flood_memory SDK CODEX_BIN N``), which reports its resident set
before the turn and its peak (``VmHWM``) after it: the growth is what the
SDK buffers for a consumer that cannot keep up. With backpressure it stays
flat; without it, it grows with N.
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from ._core import ROOT, Result, Sizes, Target
from .flood import DELTA, write_fake_codex

SLEEP_EVERY = 200  # events
SLEEP_S = 0.01


def _status_kb(key: str) -> int:
    with open("/proc/self/status", encoding="ascii") as fh:
        for line in fh:
            if line.startswith(key + ":"):
                return int(line.split()[1])
    raise RuntimeError(f"no {key} in /proc/self/status")


def _ours(codex_bin: str) -> int:
    from codex_app_server import AppServerConfig, Codex

    return _consume_slowly(Codex(AppServerConfig(codex_bin=codex_bin)))


def _official(codex_bin: str) -> int:
    from openai_codex import Codex as OfficialCodex
    from openai_codex import CodexConfig

    return _consume_slowly(OfficialCodex(CodexConfig(codex_bin=codex_bin)))


def _consume_slowly(client: Any) -> int:
    """One flood turn through ``client`` (either SDK: the calls used here are spelt alike), read slowly."""
    with client as codex:
        thread = codex.thread_start()
        before = _status_kb("VmRSS")
        handle = thread.turn("flood me")
        count = 0
        for n, event in enumerate(handle.stream(), 1):
            count += event.method == DELTA
            if n % SLEEP_EVERY == 0:
                time.sleep(SLEEP_S)
        return _report(before, count)


def _report(before_kb: int, deltas: int) -> int:
    print(json.dumps({"before_kb": before_kb, "peak_kb": _status_kb("VmHWM"), "deltas": deltas}), flush=True)
    return 0


def _measure(sdk: str, codex_bin: str, expected: int) -> float:
    """Peak RSS growth in MB of one fresh interpreter consuming the flood slowly."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}
    out = subprocess.run(
        [sys.executable, "-m", "tests.bench.flood_memory", sdk, codex_bin],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=1800,
    )
    if out.returncode != 0:
        raise RuntimeError(f"flood_memory child ({sdk}) failed: {out.stderr[-2000:]}")
    report = json.loads(out.stdout.strip().splitlines()[-1])
    if report["deltas"] != expected:
        raise RuntimeError(f"{sdk}: received {report['deltas']} deltas, expected {expected}")
    return float(report["peak_kb"] - report["before_kb"]) / 1024


def bench_flood_memory(sizes: Sizes) -> Result:
    n = sizes.flood_memory_messages
    if not Path("/proc/self/status").exists():
        return Result("flood_memory", "MB", (), "openai_codex client", note="skipped: needs /proc (Linux)")
    official = importlib.util.find_spec("openai_codex") is not None
    with tempfile.TemporaryDirectory(prefix="bench-flood-memory-") as tmp:
        codex_bin = write_fake_codex(Path(tmp), n)
        ours = (_measure("ours", codex_bin, n),)
        theirs = (_measure("official", codex_bin, n),) if official else ()
    missing = "" if official else "openai_codex not installed (pinned in `nox -s bench`); "
    return Result(
        name="flood_memory",
        unit="MB",
        ours_samples=ours,
        baseline_name="openai_codex client",
        baseline_samples=theirs,
        target=Target("<=", 50.0, on="ours"),
        higher_is_better=False,
        note=f"{missing}peak RSS growth, {n:,} deltas to a consumer sleeping {SLEEP_S * 1000:.0f} ms "
        f"every {SLEEP_EVERY} events (fresh interpreter each)",
    )


def main(argv: list[str]) -> int:
    sdk, codex_bin = argv
    return _ours(codex_bin) if sdk == "ours" else _official(codex_bin)


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
