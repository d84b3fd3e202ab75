"""A hostile or broken server never hangs the client, and a slow consumer keeps memory bounded.

The server is ``tests/support/fake_stdio_server.py`` replaying one real turn
(``tests/data/real_samples/simple_turn.jsonl``) with a fault: a
``turn/completed`` that does not fit the model, an unreadable answer to a
pending call, a stall in the middle of a turn, an exit mid-stream, a flood
of a million deltas to a slow consumer, a thousand calls that are never
answered. Every case runs with ``Codex`` and ``AsyncCodex``; each ends with
a clear error (or the data) well within the test's timeout.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

import pytest
from codex_app_server import ResponseValidationError, TransportClosedError
from codex_app_server.generated.v2_all import ItemAgentMessageDeltaEvent, TurnCompletedEvent

from tests.sdk.support import LoopThread, unwrap

from .support import fake_config, linux_only, recorded_turn

pytestmark = [linux_only, pytest.mark.timeout(60)]

TURN = recorded_turn()


def _until_first_delta() -> list[dict[str, Any]]:
    sends = TURN.sends()
    first = next(i for i, a in enumerate(sends) if a["send"]["method"] == "item/agentMessage/delta")
    return sends[: first + 1]


def _completed() -> dict[str, Any]:
    last = TURN.sends()[-1]
    assert last["send"]["method"] == "turn/completed"
    return last


def _rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise AssertionError("no VmRSS in /proc/self/status")


# ---------------------------------------------------------------- no hangs


@pytest.mark.parametrize("consumer", ["stream", "run"])
def test_a_turn_completed_that_does_not_fit_the_model_ends_the_stream_with_an_error(
    tmp_path: Path, open_client: Any, consumer: str
) -> None:
    broken = _completed()
    broken["send"]["params"]["turn"]["status"] = {"not": "a status"}
    broken["send"]["params"]["turn"]["items"] = "not a list"
    client = open_client(fake_config(tmp_path, TURN.script([*_until_first_delta(), broken])))
    thread = client.thread_start()
    started = time.monotonic()
    seen: list[Any] = []
    with pytest.raises(ResponseValidationError) as info:
        if consumer == "run":
            thread.run("hi")
        else:
            for event in thread.turn("hi").stream():
                seen.append(event)
    assert time.monotonic() - started < 10
    message = str(info.value)
    assert "turn/completed" in message and TURN.turn_id in message
    if consumer == "stream":  # the events before it came through
        assert any(isinstance(e, ItemAgentMessageDeltaEvent) for e in seen)
    # The client is still usable: the consumer slot was given back.
    assert client.thread_start().id == TURN.thread_id


@pytest.mark.parametrize(
    "line",
    [
        pytest.param('{"id": {id}, "result": {"thread": "\udcff\udcfe"}}', id="invalid-utf8"),
        pytest.param('{"id": {id}, "result": {"thread": {"id": "t", oops}}', id="bad-json"),
    ],
)
def test_an_unreadable_answer_fails_its_call_with_the_reason(tmp_path: Path, open_client: Any, line: str) -> None:
    answers = {"sequence": [[{"raw_answer": line}], [{"result": TURN.thread_start}]]}
    script = TURN.script(extra_methods={"thread/start": answers})
    client = open_client(fake_config(tmp_path, script, request_timeout=None))  # the answer, not a timeout, ends it
    started = time.monotonic()
    with pytest.raises(ResponseValidationError) as info:
        client.thread_start()
    assert time.monotonic() - started < 10
    assert "thread/start" in str(info.value) and "unreadable" in str(info.value)
    assert client.thread_start().id == TURN.thread_id  # the connection goes on


def test_a_server_that_stalls_mid_turn_ends_the_stream_after_the_idle_timeout(tmp_path: Path, open_client: Any) -> None:
    stall = [*_until_first_delta(), {"sleep": 40}, _completed()]
    client = open_client(fake_config(tmp_path, TURN.script(stall), turn_idle_timeout=0.5))
    thread = client.thread_start()
    seen: list[Any] = []
    started = time.monotonic()
    with pytest.raises(TimeoutError) as info:
        for event in thread.turn("hi").stream():
            seen.append(event)
    waited = time.monotonic() - started
    assert 0.5 <= waited < 15
    assert TURN.turn_id in str(info.value) and "turn_idle_timeout" in str(info.value)
    assert any(isinstance(e, ItemAgentMessageDeltaEvent) for e in seen)


@pytest.mark.parametrize("consumer", ["stream", "run"])
def test_a_server_exiting_mid_stream_ends_the_stream_with_the_transport_error(
    tmp_path: Path, open_client: Any, consumer: str
) -> None:
    client = open_client(fake_config(tmp_path, TURN.script([*_until_first_delta(), {"exit": 7}])))
    thread = client.thread_start()
    with pytest.raises(TransportClosedError) as info:
        if consumer == "run":
            thread.run("hi")
        else:
            for _ in thread.turn("hi").stream():
                pass
    assert info.value.returncode == 7


def test_calls_that_time_out_leave_nothing_pending(tmp_path: Path, open_client: Any, flavor: str) -> None:
    script = TURN.script(extra_methods={"model/list": []})  # never answered
    client = open_client(fake_config(tmp_path, script, request_timeout=0.002))
    rpc = unwrap(client)._session.rpc
    for _ in range(1000):
        with pytest.raises(TimeoutError):
            client.client.model_list()
    assert rpc.pending_count() == 0
    answer = rpc.call("thread/start", {}, timeout=10)  # the connection still answers (given time to)
    assert answer["thread"]["id"] == TURN.thread_id
    assert rpc.pending_count() == 0


def test_empty_lines_are_skipped_silently(tmp_path: Path, open_client: Any, caplog: pytest.LogCaptureFixture) -> None:
    blanks = [{"raw": ""}, {"raw": "   "}, {"raw": "\r"}] * 1000
    client = open_client(fake_config(tmp_path, TURN.script([*blanks, *TURN.sends()])))
    with caplog.at_level("WARNING", logger="codex_app_server"):
        result = client.thread_start().run("hi")
    assert result.final_response == TURN.agent_text()
    assert not [r for r in caplog.records if r.levelname == "WARNING"]


# ---------------------------------------------------------------- backpressure


def _flood(count: int) -> list[dict[str, Any]]:
    delta = next(a for a in TURN.sends() if a["send"]["method"] == "item/agentMessage/delta")["send"]
    return [
        *_until_first_delta(),
        {"notify": delta["method"], "params": {**delta["params"], "delta": "x"}, "count": count},
        _completed(),
    ]


class _SlowConsumer:
    """Counts a turn's deltas, sleeping 10 ms every 2,000 events, and samples this process's RSS."""

    def __init__(self) -> None:
        self.baseline = self.peak = _rss_mb()
        self.deltas = 0
        self.events = 0
        self.last: Any = None

    def see(self, event: Any) -> bool:
        """Returns True when the consumer should sleep now."""
        self.last = event
        self.deltas += isinstance(event, ItemAgentMessageDeltaEvent)
        self.events += 1
        if self.events % 2000:
            return False
        self.peak = max(self.peak, _rss_mb())
        return True


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_a_million_deltas_to_a_slow_consumer_keep_memory_bounded(
    tmp_path: Path, open_client: Any, flavor: str, loop: LoopThread
) -> None:
    count = 1_000_000
    client = open_client(fake_config(tmp_path, TURN.script(_flood(count)), turn_buffer_limit=4096))
    thread = client.thread_start()
    consumer = _SlowConsumer()
    if flavor == "sync":
        for event in thread.turn("hi").stream():
            if consumer.see(event):
                time.sleep(0.01)  # a slow consumer: the server is far ahead of it
    else:  # consumed on the loop itself (the blocking adapter would cost a loop hop per event)

        async def consume() -> None:
            handle = await unwrap(thread).turn("hi")
            async for event in handle.stream():
                if consumer.see(event):
                    await asyncio.sleep(0.01)

        loop.run(consume(), timeout=240)
    assert consumer.deltas == count + 1  # every delta, none lost (the recorded one + the flood)
    assert isinstance(consumer.last, TurnCompletedEvent)
    growth = consumer.peak - consumer.baseline
    assert growth < 50, f"RSS grew by {growth:.1f} MB"


def test_a_call_while_the_reader_is_paused_is_answered(tmp_path: Path, open_client: Any) -> None:
    """Backpressure never starves an answer the consumer waits for (steer() from inside the loop)."""
    client = open_client(fake_config(tmp_path, TURN.script(_flood(50_000)), turn_buffer_limit=100))
    thread = client.thread_start()
    stream = iter(thread.turn("hi").stream())
    next(stream)
    time.sleep(0.5)  # the reader fills the buffer and pauses; the server blocks writing
    started = time.monotonic()
    assert client.thread_start().id == TURN.thread_id  # answered after the flood: the reader kept reading
    assert time.monotonic() - started < 30
    rest = list(stream)
    assert isinstance(rest[-1], TurnCompletedEvent)
    assert sum(isinstance(e, ItemAgentMessageDeltaEvent) for e in rest) >= 50_000
