"""turn / turn_official / memory_turns: real one-line turns on the real codex binary.

Everything runs offline: the real ``codex app-server`` (``find_codex_binary``)
talks to ``FakeProvider`` on 127.0.0.1, with isolated CODEX_HOME/HOME,
``features.plugins=false`` and no retries (``mock_config_overrides``).

* turn: one ``Thread.run("...")`` on an already started client and thread,
  vs the same turn driven by ``RawAppServer`` (a minimal JSON-lines client,
  no threads, no pydantic) and by the official ``openai_codex`` SDK, each on
  its own app-server process. Rounds rotate the order; one warm-up turn each
  is not counted (it pays the one-off model schema builds).
* memory_turns: 1,000 turns on one thread in a separate client process (so
  neither the provider nor other benchmarks share its heap); its RSS after a
  full collection after every 20 turns. Ours = KiB/turn, the least-squares
  slope of RSS over turns 10..1,000; baseline = KiB/turn over the first 10
  turns (warm-up: model schema builds, interpreter caches, first pages of
  pymalloc's arenas), which the slope leaves out. RSS rather than tracemalloc
  (tests/soak/test_memory.py follows the SDK's objects): it is what a user's
  process pays, and it sees what tracemalloc cannot, native allocations
  (pydantic-core) and malloc's fragmentation. The stdio reader's 64 KiB reads
  fragmented malloc's heap with no object kept: 2.4 KiB/turn over turns
  10..300, still ~0.45 at turn 1,000 (tests/runtime/test_stdio_reads.py).
  Since, nothing is built late: RSS stays within a few pages from turn 10 to
  1,500, so the slope from turn 10 is the steady state (0.006 KiB/turn), and
  a turn that keeps 1 KiB shows: a ``bytes(1024)`` kept per turn read 1.07
  (1.10 with ``--quick``, 60 turns). The note splits the growth into live
  Python blocks, malloc in use and malloc free (glibc), so a miss says
  whether objects are kept or the heap fragments (``_heap``).
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from codex_app_server import AppServerConfig, Codex

from tests.support.codex_env import (
    RawAppServer,
    find_codex_binary,
    isolated_env,
    mock_config_overrides,
    raw_argv,
    toml_value,
)
from tests.support.fake_provider import DEFAULT_TEXT, FakeProvider

from ._core import ROOT, Result, Sizes, Target, child_env

PROMPT = "Say hello."
MEMORY_TIMEOUT_S = 900.0

TurnFn = Callable[[], None]


def ours_config(binary: str, base_url: str, home: Path) -> AppServerConfig:
    return AppServerConfig(
        codex_bin=binary,
        config_overrides=mock_config_overrides(base_url),
        env=isolated_env(home),
        inherit_env=False,
    )


@contextmanager
def _environ(env: dict[str, str]) -> Iterator[None]:
    """os.environ is exactly ``env`` inside (no API keys or proxies leak to a child)."""
    saved = dict(os.environ)
    os.environ.clear()
    os.environ.update(env)
    try:
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved)


def _expect(final: str | None, who: str) -> None:
    if final != DEFAULT_TEXT:
        raise RuntimeError(f"{who}: unexpected final response {final!r}")


class _Clients:
    """The three clients, each with its own app-server process and thread."""

    def __init__(self, binary: str, base_url: str, tmp: Path, official: bool) -> None:
        self.closers: list[Callable[[], object]] = []
        self.turns: dict[str, TurnFn] = {}
        overrides = mock_config_overrides(base_url)

        codex = Codex(ours_config(binary, base_url, tmp / "ours"))
        self.closers.append(codex.close)
        thread = codex.thread_start()
        self.turns["ours"] = lambda: _expect(thread.run(PROMPT).final_response, "ours")

        raw = RawAppServer(raw_argv(binary, overrides), env=isolated_env(tmp / "raw"))
        self.closers.append(raw.close)
        raw.initialize()
        raw_thread = raw.request("thread/start", {})["thread"]["id"]

        def raw_turn() -> None:
            turn = raw.run_turn(raw_thread, PROMPT)
            if turn.get("status") != "completed":
                raise RuntimeError(f"raw client: turn ended {turn.get('status')!r}")

        self.turns["raw"] = raw_turn

        if official:
            from openai_codex import Codex as OfficialCodex
            from openai_codex import CodexConfig

            env = isolated_env(tmp / "official")
            config = CodexConfig(
                codex_bin=binary,
                config_overrides=tuple(f"{k}={toml_value(v)}" for k, v in overrides.items()),
                env=env,
            )
            with _environ(env):  # it launches with os.environ + config.env: same env as the others
                official_codex = OfficialCodex(config)
            self.closers.append(official_codex.close)
            official_thread = official_codex.thread_start()
            self.turns["official"] = lambda: _expect(official_thread.run(PROMPT).final_response, "official")

    def close(self) -> None:
        for close in reversed(self.closers):
            close()


def bench_turn(sizes: Sizes) -> list[Result]:
    binary = find_codex_binary()
    if binary is None:
        why = "skipped: no codex binary (install openai-codex-cli-bin or set CODEX_BIN)"
        return [Result("turn", "ms", (), "raw JSON-lines client", note=why)]
    official = importlib.util.find_spec("openai_codex") is not None
    samples: dict[str, list[float]] = {}
    with tempfile.TemporaryDirectory(prefix="bench-turn-") as tmp, FakeProvider() as provider:
        clients = _Clients(binary, provider.base_url, Path(tmp), official)
        try:
            names = list(clients.turns)
            for name in names:
                clients.turns[name]()  # warm-up
            samples = {name: [] for name in names}
            for round_no in range(sizes.turn_rounds):
                shift = round_no % len(names)
                for name in names[shift:] + names[:shift]:
                    start = time.perf_counter()
                    clients.turns[name]()
                    samples[name].append((time.perf_counter() - start) * 1000)
        finally:
            clients.close()
    results = [
        Result(
            name="turn",
            unit="ms",
            ours_samples=tuple(samples["ours"]),
            baseline_name="raw JSON-lines client",
            baseline_samples=tuple(samples["raw"]),
            target=Target("<=", 1.10),
            note="Thread.run of a one-line turn; real codex + loopback fake provider; process already started",
        )
    ]
    results.append(
        Result(
            name="turn_official",
            unit="ms",
            ours_samples=tuple(samples["ours"]),
            baseline_name="openai_codex Thread.run",
            baseline_samples=tuple(samples.get("official", ())),
            note="same turn, same binary and provider" if official else "openai_codex not installed",
        )
    )
    return results


# -- memory ----------------------------------------------------------------------


def slope(points: list[tuple[int, int]]) -> float:
    """Least-squares slope of (turn, rss_kb)."""
    n = len(points)
    mean_x = sum(x for x, _ in points) / n
    mean_y = sum(y for _, y in points) / n
    var = sum((x - mean_x) ** 2 for x, _ in points)
    return sum((x - mean_x) * (y - mean_y) for x, y in points) / var if var else 0.0


def _heap_growth(first: dict[str, int], last: dict[str, int]) -> str:
    """What moved besides RSS: live Python blocks, malloc in use and free (when measured)."""
    parts = [f"Python blocks {last['py_blocks'] - first['py_blocks']:+,}"]
    if "malloc_used_kb" in first and "malloc_used_kb" in last:
        parts.append(f"malloc in use {last['malloc_used_kb'] - first['malloc_used_kb']:+,} KiB")
        parts.append(f"free {last['malloc_free_kb'] - first['malloc_free_kb']:+,} KiB")
    return ", ".join(parts)


def bench_memory_turns(sizes: Sizes) -> Result:
    binary = find_codex_binary()
    if binary is None:
        why = "skipped: no codex binary (install openai-codex-cli-bin or set CODEX_BIN)"
        return Result("memory_turns", "KiB/turn", (), "first 10 turns", note=why)
    warm = min(10, max(1, sizes.memory_turns // 3))
    with FakeProvider() as provider:
        argv = [sys.executable, "-m", "tests.bench.memory_child", binary, provider.base_url]
        argv += [str(sizes.memory_turns), str(sizes.memory_every), str(warm)]
        proc = subprocess.run(
            argv, cwd=ROOT, env=child_env(), capture_output=True, text=True, timeout=MEMORY_TIMEOUT_S, check=False
        )
    if proc.returncode != 0:
        raise RuntimeError(f"memory child failed ({proc.returncode}): {proc.stderr.strip()[-2000:]}")
    samples = {p.pop("turn"): p for p in map(json.loads, proc.stdout.splitlines())}
    points = [(turn, sample["rss_kb"]) for turn, sample in samples.items()]
    rss = dict(points)
    warm_growth = (rss[warm] - rss[0]) / warm
    steady = [(t, kb) for t, kb in points if t >= warm]
    growth = slope(steady)
    total = rss[sizes.memory_turns] - rss[warm]
    return Result(
        name="memory_turns",
        unit="KiB/turn",
        ours_samples=(growth,),
        baseline_name=f"first {warm} turns",
        baseline_samples=(warm_growth,),
        target=Target("<=", 1.0, on="ours"),
        note=(
            f"{sizes.memory_turns} turns on one thread; RSS {rss[0] / 1024:.1f} MB before, "
            f"{rss[warm] / 1024:.1f} MB after turn {warm}, {rss[sizes.memory_turns] / 1024:.1f} MB after turn "
            f"{sizes.memory_turns} ({total:+,} KiB over turns {warm}..{sizes.memory_turns}; "
            f"{_heap_growth(samples[warm], samples[sizes.memory_turns])})"
        ),
        extra={"rss_kb_by_turn": rss, "heap_by_turn": samples},
    )
