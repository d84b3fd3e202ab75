"""Broken traffic through the typed clients (``Codex`` and ``AsyncCodex``).

The server is ``tests/support/fake_stdio_server.py`` replaying the real
traffic of one turn (``tests/data/real_samples/simple_turn.jsonl``) with a
fault injected: malformed and truncated lines, a 10 MB item, notifications
of unknown methods or with unknown enum values, a response to an id nobody
asked for, a response that does not fit its model, the process killed with
calls pending, stdout closed early. In every case the consumer gets the
events that were sent, or a clear error, promptly; never a hang or a dead
reader.
"""

from __future__ import annotations

import logging
import os
import signal
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from codex_app_server import ResponseValidationError, TransportClosedError, UnknownNotification
from codex_app_server.generated.v2_all import (
    AgentMessageThreadItem,
    ItemAgentMessageDeltaEvent,
    ItemCompletedEvent,
    ItemStartedEvent,
    ThreadStatusChangedEvent,
    TurnCompletedEvent,
    TurnStatus,
    UnknownThreadItem,
    UnknownThreadStatus,
)

from .support import child_pids, fake_config, linux_only, reaped, recorded_turn, wait_until

pytestmark = [linux_only, pytest.mark.timeout(60)]

TURN = recorded_turn()
CAPTURE = "codex_app_server"


def _note(method: str, **params: Any) -> dict[str, Any]:
    return {"send": {"method": method, "params": {"threadId": TURN.thread_id, "turnId": TURN.turn_id, **params}}}


def _with_injected(*actions: dict[str, Any], before: str = "item/completed") -> list[dict[str, Any]]:
    """The recorded turn with ``actions`` inserted before the first ``before`` of the agent message."""
    sends = TURN.sends()
    index = next(
        i
        for i, a in enumerate(sends)
        if a["send"]["method"] == before
        and a["send"]["params"].get("item", {}).get("type", "agentMessage") == "agentMessage"
    )
    return [*sends[:index], *actions, *sends[index:]]


def _stream(client: Any, text: str = "hi") -> list[Any]:
    thread = client.thread_start()
    return list(thread.turn(text).stream())


def _deltas(events: list[Any]) -> str:
    return "".join(e.params.delta for e in events if isinstance(e, ItemAgentMessageDeltaEvent))


def _agent_text(events: list[Any]) -> str:
    texts = [
        e.params.item.text
        for e in events
        if isinstance(e, ItemCompletedEvent) and isinstance(e.params.item, AgentMessageThreadItem)
    ]
    assert len(texts) == 1, texts
    return texts[0]


def test_the_replayed_turn_streams_as_recorded(tmp_path: Path, open_client: Any) -> None:
    client = open_client(fake_config(tmp_path, TURN.script()))
    events = _stream(client)
    assert [e.method for e in events] == [n["method"] for n in TURN.notifications if "threadId" in n["params"]]
    assert _deltas(events) == _agent_text(events) == TURN.agent_text()


def test_malformed_and_truncated_lines_are_skipped_and_logged(
    tmp_path: Path, open_client: Any, caplog: pytest.LogCaptureFixture
) -> None:
    junk = [
        {"raw": "{not json"},
        {"raw": '{"method": "item/agentMessage/delta", "params": {"threadId": "'},  # truncated mid-line
        {"raw": "\udcff\udcfe garbage bytes"},
        {"raw": "[1, 2, 3]"},
        {"raw": '{"id": null, "result": 1}'},
    ]
    client = open_client(fake_config(tmp_path, TURN.script(_with_injected(*junk))))
    with caplog.at_level(logging.WARNING, logger=CAPTURE):
        events = _stream(client)
        assert _deltas(events) == _agent_text(events) == TURN.agent_text()
        assert isinstance(events[-1], TurnCompletedEvent)
        # The connection still works after the junk.
        assert client.thread_start().id == TURN.thread_id
    skipped = [r.getMessage() for r in caplog.records if "malformed line" in r.getMessage()]
    assert len(skipped) == len(junk), skipped


def test_a_line_cut_off_by_the_server_exiting_fails_the_stream_clearly(
    tmp_path: Path, open_client: Any, caplog: pytest.LogCaptureFixture
) -> None:
    sends = TURN.sends()[:6]  # up to the first delta
    cut = [*sends, {"raw": '{"method": "item/agentMessage/delta", "par', "newline": False}, {"exit": 3}]
    client = open_client(fake_config(tmp_path, TURN.script(cut)))
    thread = client.thread_start()
    seen: list[Any] = []
    with caplog.at_level(logging.WARNING, logger=CAPTURE):
        with pytest.raises(TransportClosedError) as info:
            for event in thread.turn("hi").stream():
                seen.append(event)
    assert info.value.returncode == 3
    assert [e.method for e in seen][-1] == "item/agentMessage/delta"
    assert any("malformed line" in r.getMessage() for r in caplog.records)


def test_a_10_mb_item_comes_through_the_typed_stream(tmp_path: Path, open_client: Any) -> None:
    big = "0123456789abcdef" * (10 * 1024 * 1024 // 16)
    sends = TURN.sends()
    for action in sends:
        item = action["send"]["params"].get("item")
        if action["send"]["method"] == "item/completed" and item and item["type"] == "agentMessage":
            item["text"] = big
    client = open_client(fake_config(tmp_path, TURN.script(sends)))
    thread = client.thread_start()
    result = thread.run("hi")
    assert result.final_response is not None and len(result.final_response) == len(big)
    assert result.final_response == big


def test_unknown_methods_and_values_never_break_the_stream(tmp_path: Path, open_client: Any) -> None:
    injected = [
        _note("item/somethingNew", payload={"x": 1}),
        _note("item/started", item={"type": "holographicMessage", "id": "h1"}),
        _note("item/started", startedAtMs=1, item={"type": "holographicMessage", "id": "h2", "hue": [1, None]}),
        _note("thread/status/changed", status={"type": "hibernating"}),
        {"send": {"method": "account/somethingNew", "params": {}}},  # no thread: not this turn's
    ]
    sends = _with_injected(*injected)
    completed = sends[-1]["send"]
    assert completed["method"] == "turn/completed"
    completed["params"]["turn"]["status"] = "pausedForReview"  # a TurnStatus from the future
    client = open_client(fake_config(tmp_path, TURN.script(sends)))
    events = _stream(client)
    unknown = [e for e in events if isinstance(e, UnknownNotification)]
    # An unknown item type or status is a typed event holding the fallback variant, not an unknown
    # notification (the item/started here also lacks the required startedAtMs: that one stays unknown).
    assert [e.method for e in unknown] == ["item/somethingNew", "item/started"]
    assert unknown[0].reason == "unknown method" and unknown[0].params is not None
    assert unknown[0].params["payload"] == {"x": 1}
    assert "startedAtMs" in unknown[1].reason
    started = next(e for e in events if isinstance(e, ItemStartedEvent) and e.params.item.id == "h2")
    assert isinstance(started.params.item, UnknownThreadItem)
    assert started.params.item.raw == {"type": "holographicMessage", "id": "h2", "hue": [1, None]}
    status = next(e for e in events if isinstance(e, ThreadStatusChangedEvent)).params.status
    assert isinstance(status, UnknownThreadStatus) and status.raw == {"type": "hibernating"}
    assert _deltas(events) == _agent_text(events) == TURN.agent_text()
    last = events[-1]
    assert isinstance(last, TurnCompletedEvent)
    turn_status = last.params.turn.status
    assert isinstance(turn_status, TurnStatus) and turn_status.value == "pausedForReview"


def test_a_response_with_an_unknown_id_is_dropped(
    tmp_path: Path, open_client: Any, caplog: pytest.LogCaptureFixture
) -> None:
    stray = [{"send": {"id": 4242, "result": {"thread": None}}}, {"send": {"id": "x-1", "error": {"code": 1}}}]
    client = open_client(fake_config(tmp_path, TURN.script(_with_injected(*stray))))
    with caplog.at_level(logging.WARNING, logger=CAPTURE):
        events = _stream(client)
    assert _deltas(events) == _agent_text(events) == TURN.agent_text()
    messages = [r.getMessage() for r in caplog.records]
    assert any("unknown id 4242" in m for m in messages) and any("unknown id 'x-1'" in m for m in messages)


def test_a_response_that_does_not_fit_its_model_names_the_method(tmp_path: Path, open_client: Any) -> None:
    script = TURN.script(extra_methods={"thread/read": [{"result": {"thread": {"id": 7}}}]})
    client = open_client(fake_config(tmp_path, script))
    with pytest.raises(ResponseValidationError) as info:
        client.client.thread_read(thread_id=TURN.thread_id)
    assert "thread/read" in str(info.value)
    assert info.value.method == "thread/read"
    assert client.thread_start().id == TURN.thread_id  # still usable


def test_killed_with_calls_pending_every_call_fails_within_a_second(tmp_path: Path, open_client: Any) -> None:
    script = TURN.script(extra_methods={"thread/read": [{"stderr": "fatal: out of cheese"}]})  # never answered
    before = child_pids()
    client = open_client(fake_config(tmp_path, script))
    (pid,) = child_pids() - before
    errors: list[BaseException] = []

    def call() -> None:
        try:
            client.client.thread_read(thread_id=TURN.thread_id)
        except BaseException as exc:  # noqa: BLE001 - recorded for the assertions
            errors.append(exc)

    callers = [threading.Thread(target=call) for _ in range(4)]
    for caller in callers:
        caller.start()
    wait_until(lambda: "out of cheese" in _stderr_seen(client), 5, "the server to receive the calls")
    os.kill(pid, signal.SIGKILL)
    deadline = time.monotonic() + 1.0
    for caller in callers:
        caller.join(max(0.0, deadline - time.monotonic()))
    assert not any(c.is_alive() for c in callers), "a pending call was still waiting 1 s after the kill"
    assert len(errors) == 4 and all(isinstance(e, TransportClosedError) for e in errors), errors
    first = errors[0]
    assert isinstance(first, TransportClosedError) and first.returncode == -signal.SIGKILL
    assert "thread/read" in str(first) and "out of cheese" in first.stderr_tail
    with pytest.raises(TransportClosedError):
        client.thread_start()
    wait_until(lambda: reaped(pid), 5, "the killed child to be reaped")


def test_stdout_closed_early_fails_pending_calls_and_close_still_reaps(tmp_path: Path, open_client: Any) -> None:
    script = TURN.script(extra_methods={"thread/read": [{"close_stdout": True}]})
    before = child_pids()
    client = open_client(fake_config(tmp_path, script))
    (pid,) = child_pids() - before
    with pytest.raises(TransportClosedError) as info:
        client.client.thread_read(thread_id=TURN.thread_id)
    assert "thread/read" in str(info.value)
    assert not reaped(pid), "the fake server keeps running with its stdout closed"
    with pytest.raises(TransportClosedError):
        client.thread_start()
    client.close()
    assert reaped(pid) and pid not in child_pids()


def _stderr_seen(client: Any) -> str:
    """What the child wrote to stderr so far (the SDK keeps it for error messages)."""
    codex = getattr(client, "target", client)  # the AsyncCodex behind the blocking adapter
    rpc = codex._session.rpc
    return rpc.stderr_tail() if rpc is not None else ""
