"""flood: msgs/s through each client's public API from a fake codex flooding deltas.

``fake_stdio_server.py`` poses as the ``codex`` binary (a small executable
wrapper script in a temp dir), so both SDKs launch it through their normal
configuration (``codex_bin``). Each round starts a fresh client, starts a
thread, starts a turn and consumes ``TurnHandle.stream()`` to the end; the
clock runs from ``thread.turn(...)`` to the ``turn/completed`` event. Every
delta must arrive typed and in order, or the round fails.

flood_cpu divides the same messages by the CPU seconds the client process
spent in that window (all its threads; not the server's). Wall-clock msgs/s
on a loaded 2-core machine swings with whatever else runs; CPU per message
is what the client itself costs.
"""

from __future__ import annotations

import importlib.util
import os
import shlex
import stat
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from codex_app_server import AppServerConfig, Codex
from codex_app_server.generated.v2_all import ItemAgentMessageDeltaEvent

from ._core import Result, Sizes, Target

SERVER = Path(__file__).resolve().parent / "fake_stdio_server.py"
DELTA = "item/agentMessage/delta"

Consumer = Callable[[str, int], "Timing"]


@dataclass(frozen=True)
class Timing:
    wall: float  # seconds from thread.turn() to turn/completed
    cpu: float  # CPU seconds of this process (all threads) in that window


def _clock() -> tuple[float, float]:
    return time.perf_counter(), time.process_time()


def _since(start: tuple[float, float]) -> Timing:
    wall, cpu = _clock()
    return Timing(wall - start[0], cpu - start[1])


def write_fake_codex(directory: Path, deltas: int) -> str:
    """An executable ``codex`` that runs the flood server with this interpreter."""
    path = directory / f"codex-flood-{deltas}"
    path.write_text(
        f'#!/bin/sh\nexec {shlex.quote(sys.executable)} {shlex.quote(str(SERVER))} --deltas {deltas} "$@"\n',
        encoding="utf-8",
    )
    path.chmod(path.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    return str(path)


def _check(deltas: list[str], expected: int) -> None:
    if len(deltas) != expected:
        raise RuntimeError(f"received {len(deltas)} deltas, expected {expected}")
    if deltas[0] != "w0 " or deltas[-1] != f"w{expected - 1} ":
        raise RuntimeError(f"deltas out of order: first {deltas[0]!r}, last {deltas[-1]!r}")


def consume_ours(codex_bin: str, expected: int) -> Timing:
    with Codex(AppServerConfig(codex_bin=codex_bin)) as codex:
        return time_flood(codex, expected)


def time_flood(codex: Codex, expected: int) -> Timing:
    """Stream one flood turn through ``codex`` (any transport), timed from turn start to the last event."""
    thread = codex.thread_start()
    start = _clock()
    handle = thread.turn("flood me")
    deltas = []
    for event in handle.stream():
        if event.method == DELTA:
            if not isinstance(event, ItemAgentMessageDeltaEvent):
                raise RuntimeError(f"untyped delta: {event!r}")
            deltas.append(event.params.delta)
    elapsed = _since(start)
    _check(deltas, expected)
    return elapsed


def consume_official(codex_bin: str, expected: int) -> Timing:
    from openai_codex import Codex as OfficialCodex
    from openai_codex import CodexConfig
    from openai_codex.generated.v2_all import AgentMessageDeltaNotification

    with OfficialCodex(CodexConfig(codex_bin=codex_bin)) as codex:
        thread = codex.thread_start()
        start = _clock()
        handle = thread.turn("flood me")
        deltas = []
        for event in handle.stream():
            if event.method == DELTA:
                if not isinstance(event.payload, AgentMessageDeltaNotification):
                    raise RuntimeError(f"untyped delta: {event!r}")
                deltas.append(event.payload.delta)
        elapsed = _since(start)
    _check(deltas, expected)
    return elapsed


def bench_flood(sizes: Sizes) -> list[Result]:
    if os.name != "posix":
        return [Result("flood", "msgs/s", (), "openai_codex client", note="skipped: needs a POSIX shell wrapper")]
    official = importlib.util.find_spec("openai_codex") is not None
    consumers: dict[str, Consumer] = {"ours": consume_ours}
    if official:
        consumers["official"] = consume_official
    n = sizes.flood_messages
    timings: dict[str, list[Timing]] = {name: [] for name in consumers}
    with tempfile.TemporaryDirectory(prefix="bench-flood-") as tmp:
        codex_bin = write_fake_codex(Path(tmp), n)
        warm_up = write_fake_codex(Path(tmp), 100)
        for consume in consumers.values():
            consume(warm_up, 100)  # imports, schema builds
        names = list(consumers)
        for round_no in range(sizes.flood_rounds):
            for name in names[round_no % 2 :] + names[: round_no % 2]:  # alternate who goes first
                timings[name].append(consumers[name](codex_bin, n))
    missing = "" if official else "openai_codex not installed (pinned in `nox -s bench`); "

    def rates(name: str, cpu: bool) -> tuple[float, ...]:
        return tuple(n / (t.cpu if cpu else t.wall) for t in timings.get(name, []))

    return [
        Result(
            name="flood",
            unit="msgs/s",
            ours_samples=rates("ours", cpu=False),
            baseline_name="openai_codex client",
            baseline_samples=rates("official", cpu=False),
            target=Target(">=", 2.0),
            higher_is_better=True,
            note=f"{missing}{n:,} deltas of one turn via TurnHandle.stream(), fake codex on stdio",
        ),
        Result(
            name="flood_cpu",
            unit="msgs/CPU-s",
            ours_samples=rates("ours", cpu=True),
            baseline_name="openai_codex client",
            baseline_samples=rates("official", cpu=True),
            higher_is_better=True,
            note="the same rounds per CPU second of the client process (load-independent)",
        ),
    ]
