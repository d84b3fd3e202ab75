#!/usr/bin/env python3
"""A flood server that stands in for ``codex`` (``codex ... app-server --listen stdio://``).

Standard library only. It answers ``initialize``, ``thread/start`` and
``turn/start`` with the responses recorded from the real codex 0.163.0, then
floods the turn: ``turn/started``, ``item/started``, ``--deltas N``
``item/agentMessage/delta`` notifications, ``item/completed`` and
``turn/completed``, all with the right threadId / turnId, encoded compactly as
the real server does. The flood is rendered before the ``turn/start`` answer
so the server is never the bottleneck; the pipe throttles it to the client.

Usage: ``fake_stdio_server.py --deltas N [any codex arguments, ignored]``.
Other requests get an empty result; EOF on stdin ends the server.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

SAMPLES = Path(__file__).resolve().parent.parent / "data" / "real_samples"
CHUNK = 1 << 20

_out = sys.stdout.buffer


def _send(message: dict[str, Any]) -> None:
    _out.write(_encode(message))
    _out.flush()


def _encode(message: dict[str, Any]) -> bytes:
    return json.dumps(message, separators=(",", ":"), ensure_ascii=False).encode("utf-8") + b"\n"


def _recorded_results() -> dict[str, Any]:
    results: dict[str, Any] = {}
    for raw in (SAMPLES / "responses.jsonl").read_text(encoding="utf-8").splitlines():
        entry = json.loads(raw)
        results.setdefault(entry["method"], entry["result"])
    return results


def _recorded_turn() -> list[dict[str, Any]]:
    return [json.loads(raw) for raw in (SAMPLES / "simple_turn.jsonl").read_text(encoding="utf-8").splitlines()]


def _first(messages: list[dict[str, Any]], method: str, **item: str) -> dict[str, Any]:
    for message in messages:
        params = message.get("params") or {}
        if message.get("method") == method and all(params.get("item", {}).get(k) == v for k, v in item.items()):
            return message
    raise LookupError(f"no recorded {method} {item}")


def render_flood(deltas: int, thread_id: str, turn_id: str) -> list[bytes]:
    """The turn's notifications, recorded shapes with our ids; deltas numbered."""
    turn = _recorded_turn()
    old_thread = _first(turn, "turn/started")["params"]["threadId"]
    old_turn = _first(turn, "turn/started")["params"]["turn"]["id"]

    def ours(message: dict[str, Any]) -> dict[str, Any]:
        text = json.dumps(message).replace(old_thread, thread_id).replace(old_turn, turn_id)
        renamed: dict[str, Any] = json.loads(text)
        return renamed

    delta = ours(_first(turn, "item/agentMessage/delta"))
    pieces = [f"w{i} " for i in range(deltas)]
    completed = ours(_first(turn, "item/completed", type="agentMessage"))
    completed["params"]["item"]["text"] = "".join(pieces)
    head = [ours(_first(turn, "turn/started")), ours(_first(turn, "item/started", type="agentMessage"))]
    prefix, _, suffix = _encode({**delta, "params": {**delta["params"], "delta": "\x00"}}).partition(b'"\\u0000"')
    lines = [_encode(m) for m in head]
    lines += [prefix + json.dumps(piece).encode() + suffix for piece in pieces]
    lines += [_encode(completed), _encode(ours(_first(turn, "turn/completed")))]
    return lines


def _write_all(lines: list[bytes]) -> None:
    chunk: list[bytes] = []
    size = 0
    for line in lines:
        chunk.append(line)
        size += len(line)
        if size >= CHUNK:
            _out.write(b"".join(chunk))
            chunk, size = [], 0
    _out.write(b"".join(chunk))
    _out.flush()


def main(argv: list[str]) -> int:
    deltas = int(argv[argv.index("--deltas") + 1]) if "--deltas" in argv else 1000
    results = _recorded_results()
    thread_id = results["thread/start"]["thread"]["id"]
    turn_id = results["turn/start"]["turn"]["id"]
    flood = render_flood(deltas, thread_id, turn_id)
    for raw in sys.stdin.buffer:
        message = json.loads(raw)
        if "id" not in message or "method" not in message:
            continue  # notifications (initialized) and answers need nothing
        method = message["method"]
        _send({"id": message["id"], "result": results.get(method, {})})
        if method == "turn/start":
            _write_all(flood)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
