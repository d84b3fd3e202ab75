"""Each read of codex's stdout allocates what came, not the size of a read.

``BufferedReader.read1(64 KiB)`` allocates 64 KiB and shrinks the block to
what the pipe held (a few hundred bytes per message of a turn). The shrunk
blocks and the holes they leave fragmented malloc's arena of the reader
thread: over real turns on one thread the client's RSS grew ~5 KiB a turn
over the first hundred turns and still ~0.45 KiB a turn at turn 1,000, while
the live heap stayed flat (tests/bench memory_turns).
"""

from __future__ import annotations

import tracemalloc
from collections.abc import Callable

import pytest
from codex_app_server._rpc import RpcConnection
from codex_app_server._transports import StdioTransport

pytestmark = pytest.mark.timeout(30)

ROUND_TRIPS = 20
# What one small answer may cost at its peak: its chunk, its lines, its parse.
# A read that allocates a whole 64 KiB buffer is far above.
MAX_PEAK_BYTES = 16 * 1024


def test_a_small_message_costs_a_small_read(connect: Callable[..., tuple[RpcConnection, StdioTransport]]) -> None:
    conn, _ = connect()
    conn.call("warm/up")  # the reader is running and has read once
    tracemalloc.start()
    try:
        for n in range(ROUND_TRIPS):
            assert conn.call("echo", {"n": n}) == {"method": "echo", "params": {"n": n}, "hasParams": True}
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    # Since tracing started: what the round trips held at most, the read the
    # reader is blocked in (waiting for more) included.
    assert peak <= MAX_PEAK_BYTES, f"small round trips peaked at {peak:,} bytes"
