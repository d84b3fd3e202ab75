"""decode / decode_floor: µs to turn one notification line into its typed object.

The lines are every ``item/agentMessage/delta``, ``item/completed``,
``thread/tokenUsage/updated`` and ``turn/completed`` notification of the
recorded real turns (tests/data/real_samples), in their recorded proportions,
re-encoded compactly as the server writes them.

* ours: what our runtime does per line: the RPC reader's line handler
  (parse, notification checks, callback), then ``_routing.decode_notification``
  (the consumer side of ``TurnHandle.stream()``).
* official: what ``openai_codex.CodexClient._reader_loop`` does per line:
  ``json.loads`` of the text line, then ``_coerce_notification``. It gets the
  line as ``str`` (its text-mode pipe decodes it), so the UTF-8 decoding is
  not charged to it; ours parses the bytes.
* floor: bare ``json.loads``.

Also the cost growth: one 100 KB ``item/completed`` (a command with a large
aggregated output) vs one agent-message delta.
"""

from __future__ import annotations

import importlib.util
import json
import statistics
import time
from collections.abc import Callable, Sequence
from typing import Any

from codex_app_server._routing import decode_notification
from codex_app_server._rpc import RawNotification, RpcConnection
from codex_app_server.generated.notifications import UnknownNotification

from ._core import SAMPLES, Result, Sizes, Target

MIX_METHODS = ("item/agentMessage/delta", "item/completed", "thread/tokenUsage/updated", "turn/completed")
SAMPLE_FILES = ("simple_turn.jsonl", "approval_turn.jsonl", "failed_turn.jsonl")
BIG_OUTPUT_BYTES = 100_000

Decoder = Callable[[Any], object]


def _compact(message: dict[str, Any]) -> bytes:
    return json.dumps(message, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def _recorded_notifications() -> list[dict[str, Any]]:
    messages = []
    for name in SAMPLE_FILES:
        for raw in (SAMPLES / name).read_text(encoding="utf-8").splitlines():
            message = json.loads(raw)
            if "id" not in message and message.get("method") in MIX_METHODS:
                messages.append(message)
    return messages


def mix_lines() -> list[bytes]:
    return [_compact(m) for m in _recorded_notifications()]


def growth_lines() -> tuple[bytes, bytes]:
    """(a recorded delta line, a recorded command item/completed grown to ~100 KB)."""
    messages = _recorded_notifications()
    delta = next(m for m in messages if m["method"] == "item/agentMessage/delta")
    command = next(
        m for m in messages if m["method"] == "item/completed" and m["params"]["item"]["type"] == "commandExecution"
    )
    big = json.loads(json.dumps(command))
    row = "drwxr-xr-x  2 user user 4096 Nov 24 10:45 some-directory-name\n"
    output = (row * (BIG_OUTPUT_BYTES // len(row) + 1))[:BIG_OUTPUT_BYTES]
    big["params"]["item"]["aggregatedOutput"] = output
    return _compact(delta), _compact(big)


# -- the three decoders --------------------------------------------------------


class _NoTransport:
    """RpcConnection needs a transport object; the decode path never uses it."""


def ours_decoder() -> Decoder:
    """The reader's real message handler (parse, checks, callback), then decode_notification."""
    received: list[RawNotification] = []
    rpc = RpcConnection(_NoTransport(), on_notifications=received.extend)  # type: ignore[arg-type]
    on_messages = rpc._make_messages_handler()
    pop = received.pop

    def decode(line: bytes) -> object:
        on_messages([line])
        method, message = pop()
        return decode_notification(method, message)

    return decode


def official_decoder() -> Decoder | None:
    if importlib.util.find_spec("openai_codex") is None:
        return None
    from openai_codex.client import CodexClient

    coerce = CodexClient()._coerce_notification  # never started: no process
    loads = json.loads

    def decode(line: str) -> object:
        message = loads(line)
        if "method" in message and "id" not in message:
            method = message["method"]
            if isinstance(method, str):
                return coerce(method, message.get("params"))
        raise AssertionError("not a notification")

    return decode


def check_typed(ours: Decoder, official: Decoder | None, lines: Sequence[bytes]) -> None:
    """Both sides must really produce typed objects, or the timing means nothing."""
    for line in lines:
        event = ours(line)
        if isinstance(event, UnknownNotification):
            raise RuntimeError(f"our decoder did not type {line[:80]!r}: {event.reason}")
        if official is not None:
            payload = getattr(official(line.decode("utf-8")), "payload", None)
            if payload is None or type(payload).__name__ == "UnknownNotification":
                raise RuntimeError(f"the official decoder did not type {line[:80]!r}")


# -- timing ---------------------------------------------------------------------


def _per_line_us(fn: Decoder, lines: Sequence[Any], reps: int) -> float:
    start = time.perf_counter()
    for _ in range(reps):
        for line in lines:
            fn(line)
    return (time.perf_counter() - start) / (reps * len(lines)) * 1e6


def _reps_for(fn: Decoder, lines: Sequence[Any], seconds: float) -> int:
    per_pass = max(_per_line_us(fn, lines, 1) * len(lines) / 1e6, 1e-7)
    return max(1, int(seconds / per_pass))


def time_interleaved(
    decoders: dict[str, tuple[Decoder, Sequence[Any]]], rounds: int, seconds: float
) -> dict[str, tuple[float, ...]]:
    """µs per line for each decoder, rounds interleaved; warm (schemas built)."""
    reps = {name: _reps_for(fn, lines, seconds) for name, (fn, lines) in decoders.items()}
    samples: dict[str, list[float]] = {name: [] for name in decoders}
    for _ in range(rounds):
        for name, (fn, lines) in decoders.items():
            samples[name].append(_per_line_us(fn, lines, reps[name]))
    return {name: tuple(values) for name, values in samples.items()}


def _decoders(lines: Sequence[bytes]) -> tuple[dict[str, tuple[Decoder, Sequence[Any]]], bool]:
    ours = ours_decoder()
    official = official_decoder()
    check_typed(ours, official, lines)
    decoders: dict[str, tuple[Decoder, Sequence[Any]]] = {"ours": (ours, lines), "floor": (json.loads, lines)}
    if official is not None:
        decoders["official"] = (official, [line.decode("utf-8") for line in lines])
    return decoders, official is not None


def bench_decode(sizes: Sizes) -> list[Result]:
    lines = mix_lines()
    decoders, official = _decoders(lines)
    t = time_interleaved(decoders, sizes.decode_rounds, sizes.decode_seconds)
    counts = {m: sum(1 for line in lines if f'"method":"{m}"'.encode() in line) for m in MIX_METHODS}
    mix = ", ".join(f"{n} {m}" for m, n in counts.items())
    missing = "" if official else "openai_codex not installed (pinned in `nox -s bench`); "
    return [
        Result(
            name="decode",
            unit="µs/line",
            ours_samples=t["ours"],
            baseline_name="openai_codex decode",
            baseline_samples=t.get("official", ()),
            target=Target("<=", 0.50),
            note=f"{missing}recorded mix of {len(lines)} lines: {mix}",
        ),
        Result(
            name="decode_floor",
            unit="µs/line",
            ours_samples=t["ours"],
            baseline_name="bare json.loads",
            baseline_samples=t["floor"],
            target=Target("<=", 3.0),
            note="same lines",
        ),
    ]


def bench_decode_growth(sizes: Sizes) -> list[Result]:
    results = []
    for label, line in zip(("delta", "100kb_item"), growth_lines(), strict=True):
        decoders, official = _decoders([line])
        t = time_interleaved(decoders, sizes.decode_rounds, sizes.decode_seconds)
        floor = statistics.median(t["floor"])
        results.append(
            Result(
                name=f"decode_growth_{label}",
                unit="µs/line",
                ours_samples=t["ours"],
                baseline_name="openai_codex decode",
                baseline_samples=t.get("official", ()),
                note=f"one {len(line):,} B line; bare json.loads {floor:.1f} µs",
                extra={"line_bytes": len(line), "json_loads_us": floor},
            )
        )
    return results
