"""Connection loss: with ``reconnect=True`` a turn that was streaming goes on streaming.

The connection is cut mid-turn (the websocket's TCP socket shut down under
the client; the proxy command killed). The server keeps running the turn;
the client reconnects, initializes, resumes the thread, and the consumer's
stream continues through ``turn/completed``. Without ``reconnect`` the same
cut ends the stream with a ``TransportClosedError`` naming the endpoint.
"""

from __future__ import annotations

import gc
import os
import signal
import threading
from typing import Any

import pytest
from codex_app_server import Reconnect, TransportClosedError, TurnStatus
from codex_app_server._rpc import RpcConnection
from codex_app_server.generated import methods
from codex_app_server.generated.v2_all import ItemAgentMessageDeltaEvent, TurnCompletedEvent

from tests.sdk.support import RoutedProvider, agent_messages, unwrap
from tests.support.fake_provider import final_text

from .conftest import requires_remote
from .servers import Server

pytestmark = [*requires_remote, pytest.mark.timeout(90)]

CHUNKS = [f"part {i}; " for i in range(8)]


@pytest.fixture(scope="module", params=["ws", "proxy"])
def kind(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def cut(codex: Any) -> None:
    """What a network failure looks like to the client: its byte stream ends."""
    session = unwrap(codex)._session
    stream = session.rpc._transport._stream
    pid = getattr(stream, "pid", None)
    if pid is not None:
        os.kill(pid, signal.SIGKILL)  # the ssh/proxy command died
    else:
        stream.close(0.0)  # the TCP connection went away


def slow_reply() -> Any:
    return final_text("".join(CHUNKS), chunks=CHUNKS, delay_s=0.25)


def test_a_streaming_turn_survives_a_lost_connection(connect: Any, server: Server, provider: RoutedProvider) -> None:
    codex = connect(reconnect=Reconnect(attempts=5, initial_delay=0.1))
    provider.enqueue(final_text("First turn."))
    thread = codex.thread_start(cwd=str(server.cwd))
    thread.run("Hello.")  # codex resumes only threads with a turn
    provider.enqueue(slow_reply())

    events = []
    deltas = 0
    for event in thread.turn("Stream slowly.").stream():
        events.append(event)
        if isinstance(event, ItemAgentMessageDeltaEvent):
            deltas += 1
            if deltas == 2:
                cut(codex)

    last = events[-1]
    assert isinstance(last, TurnCompletedEvent) and last.params.turn.status == TurnStatus.completed
    (message,) = agent_messages(events)
    assert message.text == "".join(CHUNKS)  # the whole answer, though some deltas went by while away
    provider.enqueue(final_text("After the reconnect."))
    assert thread.run("Still there?").final_response == "After the reconnect."  # calls use the new connection


def test_without_reconnect_a_lost_connection_ends_the_stream_naming_the_endpoint(
    connect: Any, server: Server, provider: RoutedProvider
) -> None:
    codex = connect()
    provider.enqueue(slow_reply())
    thread = codex.thread_start(cwd=str(server.cwd))
    seen = threading.Event()
    with pytest.raises(TransportClosedError) as caught:
        for event in thread.turn("Stream slowly.").stream():
            if isinstance(event, ItemAgentMessageDeltaEvent) and not seen.is_set():
                seen.set()
                cut(codex)
    assert seen.is_set()
    endpoint = unwrap(codex)._session.endpoint.name
    assert endpoint in str(caught.value)


def test_a_failed_reconnect_says_the_connection_was_lost_mid_turn_and_how_often_it_tried(
    connect: Any, server: Server, provider: RoutedProvider
) -> None:
    codex = connect(reconnect=Reconnect(attempts=3, initial_delay=0.01, max_delay=0.02))

    def refused() -> Any:  # the server is gone: every attempt is refused
        raise ConnectionRefusedError(111, "Connection refused")

    unwrap(codex)._session._open = refused
    provider.enqueue(slow_reply())
    thread = codex.thread_start(cwd=str(server.cwd))
    seen = threading.Event()
    with pytest.raises(TransportClosedError) as caught:
        for event in thread.turn("Stream slowly.").stream():
            if isinstance(event, ItemAgentMessageDeltaEvent) and not seen.is_set():
                seen.set()
                cut(codex)
    message = str(caught.value)
    assert unwrap(codex)._session.endpoint.name in message
    assert "the connection was lost mid-turn and 3 reconnect attempt(s) failed" in message
    assert "ConnectionRefusedError" in message and "Connection refused" in message


def test_a_reconnect_resumes_the_threads_still_held_not_every_thread_ever_started(
    connect: Any, server: Server, provider: RoutedProvider, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A service starts threads without end: one it dropped is neither kept nor resumed after a reconnect."""
    resumed: list[str] = []
    call = RpcConnection.call

    def spy(self: RpcConnection, method: str, params: Any = None, **kwargs: Any) -> Any:
        if method == methods.THREAD_RESUME:
            resumed.append(params["threadId"])
        return call(self, method, params, **kwargs)

    monkeypatch.setattr(RpcConnection, "call", spy)
    codex = connect(reconnect=Reconnect(attempts=5, initial_delay=0.1))
    for _ in range(3):  # dropped once answered
        provider.enqueue(final_text("Dropped."))
        assert codex.thread_start(cwd=str(server.cwd)).run("Hello.").final_response == "Dropped."
    gc.collect()
    held = codex.thread_start(cwd=str(server.cwd))
    provider.enqueue(final_text("Held."))
    held.run("Hello.")  # codex resumes only threads with a turn
    provider.enqueue(slow_reply())
    deltas = 0
    for event in held.turn("Stream slowly.").stream():
        if isinstance(event, ItemAgentMessageDeltaEvent):
            deltas += 1
            if deltas == 2:
                cut(codex)
    assert isinstance(event, TurnCompletedEvent) and event.params.turn.status == TurnStatus.completed
    assert resumed == [held.id]
