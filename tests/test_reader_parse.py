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
