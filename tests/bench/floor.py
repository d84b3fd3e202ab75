"""flood_floor / flood_floor_ws: the typed stream against the physical floor of the same flood.

The floor is a raw reader of the same fake server (``fake_stdio_server.py``
over stdio, ``fake_ws_flood.py`` over a websocket): it sends the three
requests by hand, then reads the flood with ``json.loads`` per message and
nothing else (no threads of its own, no routing, no validation), keeping
each delta's text as the typed consumer does. It runs at about the rate the
server writes, so ``ours / floor`` is the share of that rate the SDK keeps:
everything it does per message (routing, buffering, typing) is the gap.

Both sides time the same window (``turn/start`` sent to ``turn/completed``
read); rounds alternate who goes first. The websocket floor reads through
the ``websockets`` library's own synchronous client.
"""

from __future__ import annotations

import json
import subprocess
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ._core import Result, Sizes, Target
from .fake_ws_flood import flood_server
from .flood import DELTA, Timing, _check, _clock, _since, consume_ours, write_fake_codex
from .remote import consume_ws

TURN_COMPLETED = "turn/completed"
# The raw client's three requests, as any client sends them (ids 1..3).
_REQUESTS = (
    {"id": 1, "method": "initialize", "params": {"clientInfo": {"name": "floor", "version": "0"}}},
    {"id": 2, "method": "thread/start", "params": {}},
    {"id": 3, "method": "turn/start", "params": {"input": [{"type": "text", "text": "flood me"}]}},
)


def _encoded(message: dict[str, Any]) -> bytes:
    return json.dumps(message, separators=(",", ":")).encode()


def _read_flood(messages: Any, loads: Callable[[Any], Any]) -> list[str]:
    """The deltas of the flood, read message by message up to ``turn/completed``."""
    deltas: list[str] = []
    for raw in messages:
        message = loads(raw)
        method = message.get("method")
        if method == DELTA:
            deltas.append(message["params"]["delta"])
        elif method == TURN_COMPLETED:
            return deltas
    raise RuntimeError(f"the flood ended without {TURN_COMPLETED} after {len(deltas)} deltas")


def consume_raw_stdio(codex_bin: str, expected: int) -> Timing:
    """The floor over stdio: ``json.loads`` per line of the fake codex's stdout."""
    proc = subprocess.Popen([codex_bin, "app-server"], stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    assert proc.stdin is not None and proc.stdout is not None
    try:
        for request in _REQUESTS[:2]:
            proc.stdin.write(_encoded(request) + b"\n")
            proc.stdin.flush()
            proc.stdout.readline()
        start = _clock()
        proc.stdin.write(_encoded(_REQUESTS[2]) + b"\n")
        proc.stdin.flush()
        deltas = _read_flood(proc.stdout, json.loads)
        elapsed = _since(start)
    finally:
        proc.stdin.close()
        proc.wait(10)
        proc.stdout.close()
    _check(deltas, expected)
    return elapsed


def consume_raw_ws(url: str, expected: int) -> Timing:
    """The floor over a websocket: ``json.loads`` per message of the websockets library's client."""
    from websockets.sync.client import connect

    with connect(url, max_size=None, compression=None) as ws:
        for request in _REQUESTS[:2]:
            ws.send(_encoded(request).decode())
            ws.recv()
        start = _clock()
        ws.send(_encoded(_REQUESTS[2]).decode())
        deltas = _read_flood(iter(ws.recv, None), json.loads)
        elapsed = _since(start)
    _check(deltas, expected)
    return elapsed


def _alternate(rounds: int, ours: Callable[[], Timing], floor: Callable[[], Timing]) -> tuple[list[Timing], ...]:
    timings: tuple[list[Timing], list[Timing]] = ([], [])
    runs = [(ours, timings[0]), (floor, timings[1])]
    for round_no in range(rounds):
        for run, into in runs[round_no % 2 :] + runs[: round_no % 2]:
            into.append(run())
    return timings


def _rows(name: str, n: int, timings: tuple[list[Timing], ...], transport: str, target: Target | None) -> list[Result]:
    ours, floor = timings
    baseline = f"json.loads per message ({transport})"
    return [
        Result(
            name=name,
            unit="msgs/s",
            ours_samples=tuple(n / t.wall for t in ours),
            baseline_name=baseline,
            baseline_samples=tuple(n / t.wall for t in floor),
            target=target,
            higher_is_better=True,
            note=f"{n:,} deltas of one turn via TurnHandle.stream() vs a raw reader of the same fake server",
        ),
        Result(
            name=f"{name}_cpu",
            unit="msgs/CPU-s",
            ours_samples=tuple(n / t.cpu for t in ours),
            baseline_name=baseline,
            baseline_samples=tuple(n / t.cpu for t in floor),
            higher_is_better=True,
            note="the same rounds per CPU second of the client process (on a loaded machine, wall-clock rates "
            "punish the SDK's two threads more than the floor's one)",
        ),
    ]


def bench_flood_floor(sizes: Sizes) -> list[Result]:
    n = sizes.flood_messages
    with tempfile.TemporaryDirectory(prefix="bench-floor-") as tmp:
        codex_bin = write_fake_codex(Path(tmp), n)
        warm_up = write_fake_codex(Path(tmp), 100)
        consume_ours(warm_up, 100)  # imports, schema builds
        consume_raw_stdio(warm_up, 100)
        stdio = _alternate(
            sizes.flood_rounds, lambda: consume_ours(codex_bin, n), lambda: consume_raw_stdio(codex_bin, n)
        )
    with flood_server(n) as url:
        with flood_server(100) as warm:
            consume_ws(warm, 100)
            consume_raw_ws(warm, 100)
        ws = _alternate(sizes.flood_rounds, lambda: consume_ws(url, n), lambda: consume_raw_ws(url, n))
    return [
        *_rows("flood_floor", n, stdio, "stdio", Target(">=", 0.9)),
        *_rows("flood_floor_ws", n, ws, "websocket", None),
    ]
