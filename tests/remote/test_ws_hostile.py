"""The websocket transport never hangs on a misbehaving server (raw RFC 6455, ``hostile_ws.py``).

The server answers the handshake and a turn's requests like codex, then
stops reading, floods pings it never reads the pongs of, sends a close
frame and keeps the TCP connection open, never answers the handshake, or
advertises a frame limit of one byte. Each case runs with ``Codex`` and
``AsyncCodex`` and ends with the data or a clear error, in bounded time,
leaving no SDK thread or socket behind once the client is closed.
"""

from __future__ import annotations

import asyncio
import math
import socket
import threading
import time
import tracemalloc
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from codex_app_server import AppServerConfig, Reconnect, TransportClosedError

from tests.faults.support import Resources, linux_only, recorded_turn, wait_until
from tests.sdk.support import LoopThread, unwrap

from .conftest import open_client
from .hostile_ws import IO_TIMEOUT_S, Connection, HostileWsServer, close_frame

pytest.importorskip("websockets", reason="the [remote] extra is not installed")

pytestmark = [linux_only, pytest.mark.timeout(60)]

TURN = recorded_turn()
ANSWERS = {"initialize": TURN.initialize, "thread/start": TURN.thread_start, "turn/start": TURN.turn_start}
# Small bounds keep the suite fast; every assertion on time leaves generous room for a loaded machine.
BOUND_S = 0.5
SLACK_S = 5.0
PINGS = 80_000  # ~10 MB of pongs: far more than the client's socket buffer and the server's window hold


def fast_config(**kwargs: Any) -> AppServerConfig:
    kwargs.setdefault("shutdown_timeout", BOUND_S)
    kwargs.setdefault("startup_timeout", 10.0)
    kwargs.setdefault("request_timeout", 20.0)
    return AppServerConfig(**kwargs)


def connect(flavor: str, loop: LoopThread, url: str, config: AppServerConfig) -> Any:
    return open_client(flavor, loop, lambda cls: cls.connect(url, config=config))


@contextmanager
def nothing_left() -> Iterator[None]:
    """No SDK thread (``codex-*``) and no file descriptor (the socket) outlives the block."""
    before = Resources.now()
    yield

    def leaks() -> dict[str, list[str]]:
        leaked = Resources.now().leaked_since(before)
        return {"fds": leaked["fds"], "threads": [t for t in leaked["threads"] if t.startswith("codex")]}

    try:
        wait_until(lambda: not any(leaks().values()), 5.0, "the client's threads and sockets to go")
    except AssertionError:
        raise AssertionError(f"left behind: {leaks()}") from None


def answer_turn_then(after: Callable[[Connection], None]) -> Callable[[Connection], None]:
    """A script: answer like codex up to ``turn/start``, answer it, then ``after``."""

    def script(connection: Connection) -> None:
        started = connection.serve_until("turn/start")
        if started is not None:
            connection.answer(started, TURN.turn_start)
            after(connection)

    return script


def test_pongs_a_server_does_not_read_never_stop_the_reader(flavor: str, loop: LoopThread) -> None:
    """The server stops reading and pings: the reader still reads the turn to its end."""

    def flood_then_finish(connection: Connection) -> None:
        connection.ping_flood(PINGS)
        for note in TURN.notifications:
            connection.send(note)
        connection.hold()

    with nothing_left(), HostileWsServer(answer_turn_then(flood_then_finish), ANSWERS, receive_buffer=4096) as server:
        client = connect(flavor, loop, server.url, fast_config())
        try:
            assert client.thread_start().run("hi").final_response == TURN.agent_text()
        finally:
            client.close()


def test_a_server_that_stops_reading_while_it_pings_cannot_stall_the_idle_timeout(
    flavor: str, loop: LoopThread
) -> None:
    def flood_then_stall(connection: Connection) -> None:
        connection.send(TURN.notifications[0])  # turn/started
        connection.ping_flood(PINGS)
        connection.hold()

    config = fast_config(turn_idle_timeout=1.0, write_timeout=1.0)
    with nothing_left(), HostileWsServer(answer_turn_then(flood_then_stall), ANSWERS, receive_buffer=4096) as server:
        client = connect(flavor, loop, server.url, config)
        try:
            thread = client.thread_start()
            started = time.monotonic()
            with pytest.raises((TimeoutError, TransportClosedError)):
                thread.run("hi")
            assert time.monotonic() - started < 2.0 + SLACK_S
        finally:
            client.close()


def test_a_close_frame_without_a_tcp_close_fails_the_pending_call_with_its_code(flavor: str, loop: LoopThread) -> None:
    def close_but_stay(connection: Connection) -> None:
        if connection.serve_until("thread/loaded/list") is not None:
            connection.sock.sendall(close_frame(1001, "going away"))
            connection.drain()  # the client's close frame: and still no TCP close
            connection.hold()

    with nothing_left(), HostileWsServer(close_but_stay, ANSWERS) as server:
        client = connect(flavor, loop, server.url, fast_config())
        try:
            started = time.monotonic()
            with pytest.raises(TransportClosedError, match=r"close code 1001: going away") as caught:
                client.client.thread_loaded_list()
            assert time.monotonic() - started < BOUND_S + SLACK_S
            assert server.url in str(caught.value) and "thread/loaded/list" in str(caught.value)
        finally:
            client.close()


def test_a_handshake_that_never_completes_says_it_timed_out(flavor: str, loop: LoopThread) -> None:
    with nothing_left(), HostileWsServer(lambda connection: None, ANSWERS, handshake=False) as server:
        started = time.monotonic()
        with pytest.raises(TransportClosedError) as caught:
            connect(flavor, loop, server.url, fast_config(startup_timeout=BOUND_S))
        assert time.monotonic() - started < BOUND_S + SLACK_S
    message = str(caught.value)
    assert f"did not complete within {BOUND_S} s" in message and "startup_timeout" in message
    assert "closed the connection" not in message


def test_a_server_that_stops_reading_is_a_lost_connection_after_write_timeout(flavor: str, loop: LoopThread) -> None:
    def stop_reading(connection: Connection) -> None:
        request = connection.serve_until("size/echo")
        if request is not None:
            connection.answer(request, {})
            connection.hold()

    with nothing_left(), HostileWsServer(stop_reading, ANSWERS, receive_buffer=4096) as server:
        client = connect(flavor, loop, server.url, fast_config(write_timeout=BOUND_S, request_timeout=None))
        try:
            rpc = unwrap(client)._session.rpc
            assert rpc.call("size/echo", {"blob": ""}) == {}  # the server stopped reading after answering it
            started = time.monotonic()
            with pytest.raises(TransportClosedError, match=rf"stopped reading: nothing was taken for {BOUND_S} s"):
                rpc.call("size/echo", {"blob": "x" * (16 << 20)})
            assert time.monotonic() - started < BOUND_S + SLACK_S
        finally:
            client.close()


def test_an_absurd_frame_limit_is_floored_and_fragments_are_streamed(flavor: str, loop: LoopThread) -> None:
    from codex_app_server._transports.websocket import MIN_FRAME_LIMIT

    def echo_size(connection: Connection) -> None:
        request = connection.serve_until("size/echo")
        if request is not None:
            connection.answer(request, {"got": len(request["params"]["blob"])})
            connection.drain()

    limit_header = [("x-codex-websocket-max-unfragmented-message-bytes", "1")]
    size = 4 << 20
    with nothing_left(), HostileWsServer(echo_size, ANSWERS, headers=limit_header) as server:
        client = connect(flavor, loop, server.url, fast_config())
        try:
            rpc = unwrap(client)._session.rpc
            blob = "x" * size
            tracemalloc.start()
            try:
                assert rpc.call("size/echo", {"blob": blob}) == {"got": size}
                _, peak = tracemalloc.get_traced_memory()
            finally:
                tracemalloc.stop()
        finally:
            client.close()
    (connection,) = server.connections
    request_frames = [f for f in connection.frames if f[0] in (0x0, 0x1)][2:]  # after initialize, initialized
    assert all(frame_size <= MIN_FRAME_LIMIT for _, _, frame_size in request_frames)
    assert len(request_frames) == math.ceil(sum(s for _, _, s in request_frames) / MIN_FRAME_LIMIT)
    # Encoding the request costs 3 sizes (the JSON str, its bytes, the line); the transport adds one
    # batch of frames (1 MiB), never a copy of the message. The server runs in this process: while the
    # client still holds its copies, the server's reassembled message (one more size) may be alive too
    # (Python 3.10 with websockets 15 measured 16 MiB). 1-byte frames cost ~40 bytes per byte (160 MiB).
    assert peak < 4 * size + (2 << 20), f"sending a {size >> 20} MiB message peaked at {peak >> 20} MiB"


# ---------------------------------------------------------------- sending counts against request_timeout


def stop_reading_after_thread_start(connection: Connection) -> None:
    """Answers up to the login check before the first turn (``account/read``), then reads nothing more."""
    request = connection.serve_until("account/read")
    if request is not None:
        connection.answer(request, {})  # no usable answer: the turn goes ahead
        connection.hold()  # the turn/start that follows never gets through


BIG_INPUT = "x" * (16 << 20)  # more than the client's socket buffer and the server's window hold


def test_request_timeout_covers_sending_to_a_server_that_stopped_reading(flavor: str, loop: LoopThread) -> None:
    config = fast_config(request_timeout=BOUND_S, write_timeout=60.0)
    with nothing_left(), HostileWsServer(stop_reading_after_thread_start, ANSWERS, receive_buffer=4096) as server:
        client = connect(flavor, loop, server.url, config)
        try:
            thread = client.thread_start()
            started = time.monotonic()
            with pytest.raises(TimeoutError, match="turn/start"):
                thread.run(BIG_INPUT)
            assert time.monotonic() - started < BOUND_S + SLACK_S
        finally:
            client.close()


def test_the_event_loop_keeps_ticking_beside_a_server_that_stopped_reading() -> None:
    """AsyncCodex never sends on its event loop: a ticker task runs on while a request cannot be sent."""
    from codex_app_server import AsyncCodex

    async def main(url: str) -> list[float]:
        ticks: list[float] = []
        stop = asyncio.Event()

        async def ticker() -> None:
            while not stop.is_set():
                ticks.append(time.monotonic())
                await asyncio.sleep(0.01)

        async with AsyncCodex.connect(url, config=fast_config(request_timeout=1.0, write_timeout=60.0)) as codex:
            thread = await codex.thread_start()
            task = asyncio.create_task(ticker())
            with pytest.raises(TimeoutError):
                await thread.run(BIG_INPUT)
            stop.set()
            await task
        return ticks

    with nothing_left(), HostileWsServer(stop_reading_after_thread_start, ANSWERS, receive_buffer=4096) as server:
        ticks = asyncio.run(main(server.url))
    gaps = [b - a for a, b in zip(ticks, ticks[1:], strict=False)]
    assert ticks[-1] - ticks[0] >= 0.5 and max(gaps) < 0.5, f"the loop stalled for {max(gaps):.2f} s"


# ---------------------------------------------------------------- reconnect


def drop_on_loaded_list(connection: Connection) -> None:
    """The first connection: answers like codex, and drops the TCP connection on thread/loaded/list."""
    if connection.serve_until("thread/loaded/list") is not None:
        connection.sock.shutdown(socket.SHUT_RDWR)


def test_a_reconnect_lets_nothing_but_the_handshake_and_the_resumes_reach_the_new_connection(
    flavor: str, loop: LoopThread
) -> None:
    second_initialize = threading.Event()
    go = threading.Event()

    def script(connection: Connection) -> None:
        if len(server.connections) == 1:
            drop_on_loaded_list(connection)
            return
        request = connection.read_message()
        assert request is not None and request["method"] == "initialize"
        second_initialize.set()
        go.wait(IO_TIMEOUT_S)  # the client waits for the answer; nothing else may arrive meanwhile
        connection.answer(request, TURN.initialize)
        connection.serve_until(None)

    answers = {**ANSWERS, "thread/loaded/list": {"data": []}}
    config = fast_config()
    with nothing_left(), HostileWsServer(script, answers) as server:
        client = open_client(
            flavor, loop, lambda cls: cls.connect(server.url, config=config, reconnect=Reconnect(initial_delay=0.01))
        )
        try:
            thread = client.thread_start()
            lost = unwrap(client)._session.rpc._transport
            with pytest.raises(TransportClosedError):
                client.client.thread_loaded_list()  # in flight when the connection drops
            assert second_initialize.wait(IO_TIMEOUT_S)
            answered: list[Any] = []
            caller = threading.Thread(target=lambda: answered.append(client.client.thread_loaded_list()))
            caller.start()
            second = server.connections[1]
            # Bounded wait for what must NOT happen: the call reaching the connection before its initialize.
            reached = wait_for_message(second, lambda m: m.get("method") == "thread/loaded/list", 0.5)
            go.set()
            caller.join(IO_TIMEOUT_S)
            assert not reached, f"a call reached the new connection before it was ready: {second.received}"
            assert [m["method"] for m in second.received] == [
                "initialize",
                "initialized",
                "thread/resume",
                "thread/loaded/list",
            ]
            assert second.received[2]["params"]["threadId"] == thread.id
            assert answered and answered[0].data == []
            # The lost connection's socket was closed at once, and its reader is gone.
            assert lost._stream._sock.fileno() == -1 and not lost._reader.is_alive()
        finally:
            client.close()


def test_a_failed_reconnect_says_how_many_attempts_failed_and_why(flavor: str, loop: LoopThread) -> None:
    def script(connection: Connection) -> None:
        if len(server.connections) == 1:
            drop_on_loaded_list(connection)
        # later connections end at once, after the websocket handshake: initialize never gets an answer

    with nothing_left(), HostileWsServer(script, ANSWERS) as server:
        policy = Reconnect(attempts=2, initial_delay=0.01, max_delay=0.01)
        client = open_client(flavor, loop, lambda cls: cls.connect(server.url, config=fast_config(), reconnect=policy))
        try:
            client.thread_start()
            with pytest.raises(TransportClosedError):
                client.client.thread_loaded_list()
            with pytest.raises(
                TransportClosedError, match=r"2 reconnect attempt\(s\) failed, the last with "
            ) as caught:
                client.client.thread_loaded_list()
            assert server.url in str(caught.value)
        finally:
            client.close()


def wait_for_message(connection: Connection, predicate: Callable[[dict[str, Any]], bool], timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if any(predicate(m) for m in list(connection.received)):
            return True
        time.sleep(0.01)
    return False
