"""The reader parses lines with pydantic-core's fast parser and falls back to
``json.loads`` for what that parser rejects, so every line means exactly what
``json.loads`` says it means (tests/bench showed the fast parser is 3x
cheaper; this checks it changes nothing a user can see).
"""

from __future__ import annotations

import json
import sys
import threading
from pathlib import Path

import pytest
from codex_app_server._rpc import RpcConnection
from codex_app_server._transports import StdioTransport
from codex_app_server._transports.stdio import _complete_lines

from tests.runtime.support import one_by_one

pytestmark = pytest.mark.timeout(30)

FAKE_SERVER = Path(__file__).resolve().parent / "support" / "fake_stdio_server.py"
DEEP = 300  # deeper than pydantic-core's parser accepts (200)

# Lines the fast parser rejects but json.loads accepts, and what they mean.
ACCEPTED = {
    "lone surrogate escape": '{"method":"t/surrogate","params":{"text":"a\\ud800b"}}',
    "deep nesting": '{"method":"t/deep","params":{"v":' + "[" * DEEP + "]" * DEEP + "}}",
    "big integer": '{"method":"t/big","params":{"n":123456789012345678901234567890}}',
    "plain": '{"method":"t/plain","params":{"x":1.5,"y":[true,null],"z":"\\u00e9"}}',
}


def _received(lines: list[str]) -> list[tuple[str, dict[str, object]]]:
    """Run the real transport + reader over the fake server sending ``lines``, then ``t/end``."""
    got: list[tuple[str, dict[str, object]]] = []
    done = threading.Event()

    def on_notification(method: str, params: dict[str, object]) -> None:
        if method == "t/end":
            done.set()
        else:
            got.append((method, params))

    actions = [{"raw": line} for line in lines] + [{"send": {"method": "t/end", "params": {}}}]
    script = json.dumps({"on_start": actions, "report_client_messages": False})
    argv = [sys.executable, str(FAKE_SERVER), "--script-json", script]
    conn = RpcConnection(StdioTransport(argv), on_notifications=one_by_one(on_notification))
    conn.start()
    try:
        assert done.wait(10), "the reader never reached the last line"
    finally:
        conn.close(timeout=1.0)
    return got


def test_lines_the_fast_parser_rejects_still_mean_what_json_loads_says() -> None:
    got = _received(list(ACCEPTED.values()))
    expected = [(m["method"], m["params"]) for m in map(json.loads, ACCEPTED.values())]
    assert got == expected


def test_a_line_both_parsers_reject_is_skipped_and_reading_goes_on(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level("WARNING", logger="codex_app_server"):
        got = _received(['{"method":"t/bad",', ACCEPTED["plain"]])
    assert [method for method, _ in got] == ["t/plain"]
    assert "malformed line" in caplog.text


def _reads(data: bytes, size: int) -> list[list[bytes]]:
    """What ``_complete_lines`` hands on when the pipe gives ``data`` ``size`` bytes per read."""
    chunks = [data[i : i + size] for i in range(0, len(data), size)]
    pending = iter(chunks)
    return list(_complete_lines(lambda: next(pending, b"")))


def test_lines_are_cut_at_newlines_whatever_the_reads() -> None:
    data = b'{"a":1}\n{"b":2}\r\n\n' + b'{"long":"' + b"x" * 200_000 + b'"}\n{"last":true}'
    expected = [b'{"a":1}', b'{"b":2}\r', b"", b'{"long":"' + b"x" * 200_000 + b'"}', b'{"last":true}']
    for size in (1, 3, 7, 64, 65536, len(data)):
        batches = _reads(data, size)
        assert [line for batch in batches for line in batch] == expected, size
        assert all(batches), size  # never an empty batch
    assert len(_reads(data, len(data))) == 2  # one read: one batch, and the unterminated last line at the end


def test_parsing_keeps_none_of_the_values_it_read() -> None:
    """Every turn brings new ids and timestamps: parsing them must not keep them.

    pydantic-core's parser caches the strings it reads in a process-wide
    table unless told to cache keys only; with values cached, each turn's ids
    stayed there (~225 bytes per turn of a real codex, tests/soak/test_memory.py).
    """
    import gc
    import tracemalloc
    import uuid

    rpc_file = RpcConnection.__init__.__code__.co_filename
    handle = RpcConnection(StdioTransport(["unused"]), on_notifications=lambda run: None)._make_messages_handler()

    def lines(count: int) -> list[bytes]:
        template = '{"method":"t/ids","params":{"threadId":"%s","turnId":"%s","at":%d}}'
        return [(template % (uuid.uuid4(), uuid.uuid4(), i)).encode() for i in range(count)]

    def retained(batch: list[bytes]) -> int:
        gc.collect()
        before = tracemalloc.take_snapshot().filter_traces([tracemalloc.Filter(True, rpc_file)])
        handle(batch)
        gc.collect()
        after = tracemalloc.take_snapshot().filter_traces([tracemalloc.Filter(True, rpc_file)])
        return sum(stat.size_diff for stat in after.compare_to(before, "filename"))

    first, second = lines(2000), lines(2000)
    tracemalloc.start(1)
    try:
        retained(first)  # warm-up: one-off allocations
        growth = retained(second)
    finally:
        tracemalloc.stop()
    assert growth < 2000 * 2, f"parsing 2,000 lines kept {growth} bytes"
