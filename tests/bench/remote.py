"""turn_ws / flood_ws / concurrency_N / concurrency_ws_N: the SDK over a websocket.

* turn_ws: one real turn (real codex + loopback fake provider) through
  ``Codex.connect("ws://...")`` vs the same turn through ``Codex()`` over
  stdio, same binary, rounds alternating. Target: ws <= 1.10x stdio.
* flood_ws: 100,000 deltas of one turn from a websocket flood server
  (``fake_ws_flood.py``, in its own process, as codex is) through ``TurnHandle.stream()``, vs the official
  SDK's stdio flood (``flood.consume_official``). Target >= 2.0x.
* concurrency_N (N = 1, 8, 32): N turns at once on ONE client
  (``concurrent_turns=True``), one thread each, each driven by its own
  Python thread; turns per second of wall time. Baseline: the official SDK
  at the same N over stdio (its own threads on one client). concurrency_ws_N:
  ours over a websocket, same baseline. Target >= 1.0.
"""

from __future__ import annotations

import importlib.util
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

from codex_app_server import AppServerConfig, Codex

from tests.remote.servers import ws_server
from tests.support.codex_env import find_codex_binary, isolated_env, mock_config_overrides, toml_value
from tests.support.fake_provider import FakeProvider

from ._core import Result, Sizes, Target
from .fake_ws_flood import flood_server
from .flood import Timing, consume_official, time_flood, write_fake_codex
from .turns import PROMPT, _environ, _expect, ours_config

LEVELS = (1, 8, 32)


def _official_available() -> bool:
    return importlib.util.find_spec("openai_codex") is not None


# -- turn_ws -------------------------------------------------------------------


def bench_turn_ws(sizes: Sizes) -> Result:
    binary = find_codex_binary()
    if binary is None:
        return Result("turn_ws", "ms", (), "stdio", note="skipped: no codex binary")
    samples: dict[str, list[float]] = {"ws": [], "stdio": []}
    with tempfile.TemporaryDirectory(prefix="bench-turn-ws-") as tmp, FakeProvider() as provider:
        root = Path(tmp)
        with ws_server(binary, provider, root / "server") as server, Codex.connect(str(server.url)) as remote:
            with Codex(ours_config(binary, provider.base_url, root / "stdio")) as local:
                threads = {"ws": remote.thread_start(cwd=str(server.cwd)), "stdio": local.thread_start()}
                for thread in threads.values():
                    _expect(thread.run(PROMPT).final_response, "warm-up")
                names = list(threads)
                for round_no in range(sizes.turn_rounds):
                    for name in names[round_no % 2 :] + names[: round_no % 2]:
                        start = time.perf_counter()
                        _expect(threads[name].run(PROMPT).final_response, name)
                        samples[name].append((time.perf_counter() - start) * 1000)
    return Result(
        name="turn_ws",
        unit="ms",
        ours_samples=tuple(samples["ws"]),
        baseline_name="ours over stdio",
        baseline_samples=tuple(samples["stdio"]),
        target=Target("<=", 1.10),
        note="Thread.run of a one-line turn via Codex.connect(ws://127.0.0.1) vs Codex() (stdio), same binary",
    )


# -- flood_ws ------------------------------------------------------------------


def consume_ws(url: str, expected: int) -> Timing:
    with Codex.connect(url) as codex:
        return time_flood(codex, expected)


def bench_flood_ws(sizes: Sizes) -> list[Result]:
    official = _official_available()
    n = sizes.flood_messages
    ours: list[Timing] = []
    theirs: list[Timing] = []
    with tempfile.TemporaryDirectory(prefix="bench-flood-ws-") as tmp, flood_server(n) as url:
        with flood_server(100) as warm:
            consume_ws(warm, 100)
        if official:
            consume_official(write_fake_codex(Path(tmp), 100), 100)
        official_bin = write_fake_codex(Path(tmp), n)
        for round_no in range(sizes.flood_rounds):
            runs: list[Callable[[], None]] = [lambda: ours.append(consume_ws(url, n))]
            if official:
                runs.append(lambda: theirs.append(consume_official(official_bin, n)))
            for run in runs[round_no % 2 :] + runs[: round_no % 2]:
                run()
    note = "" if official else "openai_codex not installed (pinned in `nox -s bench`); "
    return [
        Result(
            name="flood_ws",
            unit="msgs/s",
            ours_samples=tuple(n / t.wall for t in ours),
            baseline_name="openai_codex client (stdio)",
            baseline_samples=tuple(n / t.wall for t in theirs),
            target=Target(">=", 2.0),
            higher_is_better=True,
            note=f"{note}{n:,} deltas of one turn via TurnHandle.stream(), fake websocket server on 127.0.0.1",
        ),
        Result(
            name="flood_ws_cpu",
            unit="msgs/CPU-s",
            ours_samples=tuple(n / t.cpu for t in ours),
            baseline_name="openai_codex client (stdio)",
            baseline_samples=tuple(n / t.cpu for t in theirs),
            higher_is_better=True,
            note="the same rounds per CPU second of the client process",
        ),
    ]


# -- concurrency_N ---------------------------------------------------------------


def _in_parallel(turns: list[Callable[[], None]]) -> float:
    """Run every turn on its own thread at once; seconds until the last one ended."""
    errors: list[BaseException] = []
    barrier = threading.Barrier(len(turns) + 1)

    def run(turn: Callable[[], None]) -> None:
        barrier.wait()
        try:
            turn()
        except BaseException as exc:  # reported below
            errors.append(exc)

    workers = [threading.Thread(target=run, args=(turn,), daemon=True) for turn in turns]
    for worker in workers:
        worker.start()
    barrier.wait()
    start = time.perf_counter()
    for worker in workers:
        worker.join(300)
    elapsed = time.perf_counter() - start
    if errors:
        raise RuntimeError(f"{len(errors)} of {len(turns)} concurrent turns failed: {errors[0]!r}")
    return elapsed


def _ours_turns(codex: Codex, n: int, cwd: str | None) -> list[Callable[[], None]]:
    threads = [codex.thread_start(cwd=cwd) if cwd else codex.thread_start() for _ in range(n)]
    return [lambda t=thread: _expect(t.run(PROMPT).final_response, "ours") for thread in threads]


def _official_client(binary: str, base_url: str, home: Path) -> Any:
    from openai_codex import Codex as OfficialCodex
    from openai_codex import CodexConfig

    env = isolated_env(home)
    config = CodexConfig(
        codex_bin=binary,
        config_overrides=tuple(f"{k}={toml_value(v)}" for k, v in mock_config_overrides(base_url).items()),
        env=env,
    )
    with _environ(env):
        return OfficialCodex(config)


def _official_turns(client: Any, n: int) -> list[Callable[[], None]]:
    threads = [client.thread_start() for _ in range(n)]
    return [lambda t=thread: _expect(t.run(PROMPT).final_response, "official") for thread in threads]


def bench_concurrency(sizes: Sizes) -> list[Result]:
    binary = find_codex_binary()
    if binary is None:
        return [Result("concurrency_1", "turns/s", (), "openai_codex", note="skipped: no codex binary")]
    official = _official_available()
    rounds = max(1, sizes.turn_rounds // 10)
    rates: dict[tuple[str, int], list[float]] = {}
    official_error = ""
    with tempfile.TemporaryDirectory(prefix="bench-concurrency-") as tmp, FakeProvider() as provider:
        root = Path(tmp)
        config = replace(ours_config(binary, provider.base_url, root / "stdio"), concurrent_turns=True)
        with ws_server(binary, provider, root / "server") as server:
            ws_config = AppServerConfig(concurrent_turns=True)
            with Codex(config) as local, Codex.connect(str(server.url), config=ws_config) as remote:
                theirs = _official_client(binary, provider.base_url, root / "official") if official else None
                try:
                    for n in LEVELS:
                        for round_no in range(rounds + 1):  # the first round warms up
                            runs: dict[str, Callable[[], list[Callable[[], None]]]] = {
                                "stdio": lambda n=n: _ours_turns(local, n, None),
                                "ws": lambda n=n: _ours_turns(remote, n, str(server.cwd)),
                            }
                            if theirs is not None and not official_error:
                                runs["official"] = lambda n=n: _official_turns(theirs, n)
                            for name, make in runs.items():
                                try:
                                    elapsed = _in_parallel(make())
                                except RuntimeError as exc:
                                    if name != "official":
                                        raise
                                    official_error = f"openai_codex failed at N={n}: {exc}"
                                    continue
                                if round_no:
                                    rates.setdefault((name, n), []).append(n / elapsed)
                finally:
                    if theirs is not None:
                        theirs.close()
    note = "" if official else "openai_codex not installed (pinned in `nox -s bench`); "
    note += official_error
    results = []
    for kind, label in (("stdio", "concurrency"), ("ws", "concurrency_ws")):
        for n in LEVELS:
            results.append(
                Result(
                    name=f"{label}_{n}",
                    unit="turns/s",
                    ours_samples=tuple(rates.get((kind, n), ())),
                    baseline_name="openai_codex, same N (stdio)",
                    baseline_samples=tuple(rates.get(("official", n), ())),
                    target=Target(">=", 1.0),
                    higher_is_better=True,
                    note=note or f"{n} turns at once on one client, {kind}; real codex + loopback fake provider",
                )
            )
    return results
