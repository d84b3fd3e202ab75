"""The JSON-RPC connection (_rpc) over the stdio transport (_transport), against tests/support/fake_stdio_server.py;
and requests abandoned by their caller (Ctrl-C, a cancelled task, a timeout)."""

from __future__ import annotations

import asyncio
import gc
import logging
import os
import signal
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from pathlib import Path

import pytest
from codex_app_server._config import (
    AppServerConfig,
)
from codex_app_server._errors import (
    InvalidParamsError,
    InvalidRequestError,
    ServerBusyError,
    TransportClosedError,
)
from codex_app_server._requester import AsyncRequester, initialize_call
from codex_app_server._retry import retry_on_overload
from codex_app_server._rpc import RpcConnection, ServerRequestContext
from codex_app_server._session import handshake
from codex_app_server._transports import StdioTransport

from .support import BUSY, POSIX, Inbox, fake_argv

# --------------------------------------------------------------------------
# _rpc + _transport against the fake server


def test_request_response_and_params_omission(connect: Callable[..., tuple[RpcConnection, StdioTransport]]) -> None:
    conn, _ = connect()
    assert conn.call("thread/list", {"limit": 3}) == {
        "method": "thread/list",
        "params": {"limit": 3},
        "hasParams": True,
    }
    assert conn.call("account/logout") == {"method": "account/logout", "params": None, "hasParams": False}
    futures = [conn.request("echo", {"n": i}) for i in range(20)]
    assert [f.result(5)["params"]["n"] for f in futures] == list(range(20))  # type: ignore[index]


def test_initialize_handshake(connect: Callable[..., tuple[RpcConnection, StdioTransport]]) -> None:
    inbox = Inbox()
    conn, _ = connect(on_notification=inbox)
    result = handshake(conn, AppServerConfig(client_name="t", client_version="1", startup_timeout=10), initialize_call)
    assert result.user_agent == "fake_stdio_server/0.0.0"
    assert inbox.wait_for("fake/clientNotification") == {"method": "initialized"}


def test_error_responses_raise_the_subclass(connect: Callable[..., tuple[RpcConnection, StdioTransport]]) -> None:
    conn, _ = connect(
        {
            "methods": {
                "busy": [{"error": BUSY}],
                "bad": [{"error": {"code": -32602, "message": "invalid params", "data": {"field": "x"}}}],
            }
        }
    )
    with pytest.raises(ServerBusyError) as busy:
        conn.call("busy")
    assert busy.value.method == "busy" and busy.value.data is None
    with pytest.raises(InvalidParamsError) as bad:
        conn.call("bad", {})
    assert bad.value.data == {"field": "x"} and "bad" in str(bad.value)


def test_retry_over_a_real_connection(connect: Callable[..., tuple[RpcConnection, StdioTransport]]) -> None:
    conn, _ = connect(
        {"methods": {"flaky": {"sequence": [[{"error": BUSY}], [{"error": BUSY}], [{"result": {"ok": True}}]]}}}
    )
    sleeps: list[float] = []
    assert retry_on_overload(lambda: conn.call("flaky"), sleep=sleeps.append) == {"ok": True}
    assert len(sleeps) == 2


def test_unknown_response_id_is_dropped_with_a_warning(
    connect: Callable[..., tuple[RpcConnection, StdioTransport]], caplog: pytest.LogCaptureFixture
) -> None:
    conn, _ = connect(
        {
            "methods": {
                "x": [{"send": {"id": 999, "result": {}}}, {"send": {"id": "abc", "result": {}}}, {"result": {"ok": 1}}]
            }
        }
    )
    with caplog.at_level(logging.WARNING, logger="codex_app_server"):
        assert conn.call("x") == {"ok": 1}
    messages = [r.getMessage() for r in caplog.records]
    assert any("unknown id 999" in m for m in messages) and any("unknown id 'abc'" in m for m in messages)
    assert conn.call("echo")["method"] == "echo"  # type: ignore[index]


def test_malformed_lines_are_skipped_and_traffic_continues(
    connect: Callable[..., tuple[RpcConnection, StdioTransport]], caplog: pytest.LogCaptureFixture
) -> None:
    inbox = Inbox()
    junk = [
        {"raw": "{not json"},
        {"raw": '{"id": 99, "resu'},  # an id nobody waits for (a pending one fails its call: tests/hostile)
        {"raw": "[1, 2, 3]"},
        {"raw": "\udcff\udcfe"},
        {"raw": '"just a string"'},
        {"raw": '{"method": 5}'},
        {"raw": '{"something": "else"}'},
        {"raw": ""},
        {"send": {"method": "after/junk"}},
        {"result": {"ok": True}},
    ]
    conn, _ = connect({"methods": {"junk": junk}}, on_notification=inbox)
    with caplog.at_level(logging.WARNING, logger="codex_app_server"):
        assert conn.call("junk") == {"ok": True}
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 7, warnings  # the blank line is skipped silently
    assert any("{not json" in w for w in warnings)
    assert inbox.wait_for("after/junk") == {}  # missing params -> {}
    assert conn.call("again", {"a": 1})["params"] == {"a": 1}  # type: ignore[index]


def test_server_request_answered_later_from_another_thread(
    connect: Callable[..., tuple[RpcConnection, StdioTransport]],
) -> None:
    inbox = Inbox()
    held: list[ServerRequestContext] = []
    reader_threads: list[str] = []

    def on_request(ctx: ServerRequestContext) -> None:
        reader_threads.append(threading.current_thread().name)
        held.append(ctx)  # answer later, from the test thread

    script = {
        "methods": {
            "trigger": [
                {"request": "item/commandExecution/requestApproval", "params": {"command": "ls"}, "id": 0},
                {"result": {}},
            ]
        }
    }
    conn, _ = connect(script, on_notification=inbox, on_server_request=on_request)
    conn.call("trigger")
    assert len(held) == 1
    ctx = held[0]
    assert (ctx.id, ctx.method, ctx.params) == (0, "item/commandExecution/requestApproval", {"command": "ls"})
    # The reader is not blocked while the answer is pending.
    assert conn.call("ping")["method"] == "ping"  # type: ignore[index]
    answer = threading.Thread(target=ctx.respond, args=({"decision": "accept"},))
    answer.start()
    answer.join()
    assert inbox.wait_for("fake/clientResponse") == {"id": 0, "result": {"decision": "accept"}}
    with pytest.raises(RuntimeError, match="already answered"):
        ctx.respond_error(-32603, "late")
    assert reader_threads[0].startswith("codex-app-server-stdout")


def test_server_request_handler_exception_becomes_an_error_reply(
    connect: Callable[..., tuple[RpcConnection, StdioTransport]],
) -> None:
    inbox = Inbox()

    def on_request(ctx: ServerRequestContext) -> None:
        raise ValueError("boom")

    script = {"on_start": [{"request": "item/fileChange/requestApproval", "params": {}, "id": 7}]}
    conn, _ = connect(script, on_notification=inbox, on_server_request=on_request)
    reply = inbox.wait_for("fake/clientResponse")
    assert reply["id"] == 7
    error = reply["error"]
    assert isinstance(error, dict) and error["code"] == -32603 and "boom" in error["message"]
    assert conn.call("still/works")["method"] == "still/works"  # type: ignore[index]


def test_server_request_without_handler_gets_method_not_found(
    connect: Callable[..., tuple[RpcConnection, StdioTransport]],
) -> None:
    inbox = Inbox()
    connect({"on_start": [{"request": "some/request", "id": "s-1"}]}, on_notification=inbox)
    reply = inbox.wait_for("fake/clientResponse")
    assert reply["id"] == "s-1" and reply["error"]["code"] == -32601  # type: ignore[index]


def test_callback_exceptions_do_not_kill_the_reader(
    connect: Callable[..., tuple[RpcConnection, StdioTransport]],
) -> None:
    seen: list[str] = []

    def on_notification(method: str, params: dict[str, object]) -> None:
        seen.append(method)
        raise RuntimeError("handler bug")

    script = {"on_start": [{"notify": "a"}], "methods": {"more": [{"notify": "b"}, {"result": {}}]}}
    conn, _ = connect(script, on_notification=on_notification)
    assert conn.call("x")["method"] == "x"  # type: ignore[index]
    assert conn.call("more") == {}  # the notification before it went through the failing handler too
    assert seen == ["a", "b"]


def test_process_killed_mid_request_fails_fast_with_stderr_tail(
    connect: Callable[..., tuple[RpcConnection, StdioTransport]],
) -> None:
    closes: list[TransportClosedError] = []
    conn, transport = connect(
        {"methods": {"slow": [{"stderr": "thread 'main' panicked: out of cheese"}, {"kill": True}]}}
    )
    conn._on_close = closes.append  # observe the close callback
    pending = conn.request("other", None)  # answered before the kill
    pending.result(5)
    start = time.monotonic()
    with pytest.raises(TransportClosedError) as info:
        conn.call("slow", timeout=None)
    elapsed = time.monotonic() - start
    assert elapsed < 1.0
    err = info.value
    assert "out of cheese" in str(err) and "out of cheese" in err.stderr_tail
    assert "slow" in str(err)
    if POSIX:
        assert err.returncode == -9
    assert transport.process is not None and transport.process.poll() is not None
    assert len(closes) == 1
    # Later requests fail at once too.
    with pytest.raises(TransportClosedError):
        conn.call("after", timeout=0.5)
    with pytest.raises(TransportClosedError):
        conn.notify("after")


def test_process_exit_fails_all_pending_requests(connect: Callable[..., tuple[RpcConnection, StdioTransport]]) -> None:
    conn, _ = connect({"methods": {"hang": [], "die": [{"stderr": "bye"}, {"exit": 3}]}})
    hanging = [conn.request("hang") for _ in range(5)]
    with pytest.raises(TransportClosedError) as info:
        conn.call("die")
    assert info.value.returncode == 3
    for future in hanging:
        exc = future.exception(1.0)
        assert isinstance(exc, TransportClosedError) and "bye" in str(exc)


def test_close_fails_pending_and_leaves_no_child(connect: Callable[..., tuple[RpcConnection, StdioTransport]]) -> None:
    conn, transport = connect({"methods": {"hang": []}})
    future = conn.request("hang")
    proc = transport.process
    assert proc is not None and transport.is_alive
    conn.close(timeout=2.0)
    exc = future.exception(1.0)
    assert isinstance(exc, TransportClosedError) and "closed by client" in str(exc)
    assert proc.poll() == 0  # exited by itself on stdin EOF, and reaped
    assert not transport.is_alive
    conn.close()  # idempotent
    with pytest.raises(TransportClosedError):
        conn.call("x")
    with pytest.raises(TransportClosedError):
        transport.send(b"{}\n")


def test_close_from_a_callback_on_the_reader_thread(
    connect: Callable[..., tuple[RpcConnection, StdioTransport]],
) -> None:
    done = threading.Event()
    holder: list[RpcConnection] = []

    def on_notification(method: str, params: dict[str, object]) -> None:
        holder[0].close(timeout=1.0)
        done.set()

    conn, transport = connect(
        {"methods": {"bye": [{"notify": "closing"}, {"result": {}}]}}, on_notification=on_notification
    )
    holder.append(conn)
    with pytest.raises(TransportClosedError, match="closed by client"):
        conn.call("bye")
    assert done.wait(5)
    assert transport.process is not None and transport.process.poll() is not None


def test_close_escalates_to_kill_for_a_stubborn_child(
    connect: Callable[..., tuple[RpcConnection, StdioTransport]],
) -> None:
    conn, transport = connect({"exit_on_eof": False, "ignore_sigterm": True})
    conn.call("ready")
    proc = transport.process
    assert proc is not None
    start = time.monotonic()
    conn.close(timeout=0.2)
    assert time.monotonic() - start < 3.0
    assert proc.poll() is not None
    if POSIX:
        assert proc.returncode == -9


@pytest.mark.skipif(not POSIX, reason="process groups are POSIX")
def test_child_runs_in_its_own_session(connect: Callable[..., tuple[RpcConnection, StdioTransport]]) -> None:
    _, transport = connect()
    assert transport.pid is not None
    assert os.getsid(transport.pid) == transport.pid != os.getsid(0)


def test_forgotten_transport_is_stopped_when_collected() -> None:
    transport = StdioTransport(fake_argv({}))
    transport.start(lambda line: None, lambda exc: None)
    proc = transport.process
    assert proc is not None and proc.poll() is None
    del transport
    gc.collect()
    assert proc.poll() is not None


def test_huge_lines_in_both_directions(connect: Callable[..., tuple[RpcConnection, StdioTransport]]) -> None:
    conn, _ = connect({"methods": {"big": [{"big_result": 12_000_000}]}})
    result = conn.call("big")
    assert isinstance(result, dict) and result["len"] == 12_000_000
    data = result["data"]
    assert isinstance(data, str) and len(data) == 12_000_000 and data == "x" * 12_000_000
    payload = "é" * 6_000_000  # 12 MB of UTF-8 up
    echoed = conn.call("echo", {"payload": payload})
    assert echoed["params"]["payload"] == payload  # type: ignore[index]


def test_notification_flood(connect: Callable[..., tuple[RpcConnection, StdioTransport]]) -> None:
    count = 100_000
    seqs: list[object] = []

    def on_notification(method: str, params: dict[str, object]) -> None:
        seqs.append(params["seq"])

    script = {
        "methods": {
            "flood": [
                {
                    "notify": "item/agentMessage/delta",
                    "params": {"threadId": "t", "turnId": "u", "itemId": "i", "delta": "x"},
                    "count": count,
                },
                {"result": {}},
            ]
        }
    }
    conn, _ = connect(script, on_notification=on_notification)
    start = time.monotonic()
    conn.call("flood", timeout=60)
    elapsed = time.monotonic() - start
    # Everything before the response on the stream was dispatched before it.
    assert seqs == list(range(count))
    print(f"\n{count} notifications in {elapsed:.2f}s ({count / elapsed:,.0f}/s incl. server)")


def test_concurrent_callers_get_their_own_answers(connect: Callable[..., tuple[RpcConnection, StdioTransport]]) -> None:
    conn, _ = connect()
    failures: list[str] = []

    def worker(n: int) -> None:
        for i in range(50):
            result = conn.call("echo", {"n": n, "i": i})
            if result["params"] != {"n": n, "i": i}:  # type: ignore[index]
                failures.append(f"{n}/{i}: {result}")

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert failures == []


def test_timeout_then_late_answer_is_dropped_quietly(
    connect: Callable[..., tuple[RpcConnection, StdioTransport]], caplog: pytest.LogCaptureFixture
) -> None:
    conn, _ = connect({"methods": {"slow": [{"sleep": 0.5}, {"result": "late"}], "never": []}})
    with pytest.raises(TimeoutError, match="never"):
        conn.call("never", timeout=0.1)
    with caplog.at_level(logging.WARNING, logger="codex_app_server"):
        with pytest.raises(TimeoutError):
            conn.call("slow", timeout=0.1)
        assert conn.call("ping")["method"] == "ping"  # type: ignore[index]  # after the late answer
    assert not [r for r in caplog.records if "unknown id" in r.getMessage()]
    conn2, _ = connect({"methods": {"never": []}}, request_timeout=0.1)
    with pytest.raises(TimeoutError):
        conn2.call("never")


def test_stderr_tail_is_bounded(connect: Callable[..., tuple[RpcConnection, StdioTransport]]) -> None:
    conn, transport = connect(
        {"on_start": [{"stderr": f"\x1b[2mline {i}\x1b[0m"} for i in range(10)]}, stderr_buffer_lines=3
    )
    conn.call("sync")
    deadline = time.monotonic() + 5
    while "line 9" not in transport.stderr_tail() and time.monotonic() < deadline:
        time.sleep(0.01)
    assert transport.stderr_tail() == "line 7\nline 8\nline 9"  # ANSI colours stripped


def test_unserializable_params_raise_locally(connect: Callable[..., tuple[RpcConnection, StdioTransport]]) -> None:
    conn, _ = connect()
    with pytest.raises(TypeError):
        conn.request("x", {"bad": object()})
    with pytest.raises(ValueError):
        conn.request("x", {"nan": float("nan")})
    assert conn.call("ok")["method"] == "ok"  # type: ignore[index]


def test_start_failure_is_a_codex_error(tmp_path: Path) -> None:
    transport = StdioTransport([str(tmp_path / "missing-binary")])
    with pytest.raises(TransportClosedError, match="could not start"):
        transport.start(lambda line: None, lambda exc: None)


def test_request_future_type(connect: Callable[..., tuple[RpcConnection, StdioTransport]]) -> None:
    conn, _ = connect()
    future = conn.request("x")
    assert isinstance(future, Future) and future.result(5)["method"] == "x"  # type: ignore[index]


# --------------------------------------------------------------------------
# abandoned requests: the caller stopped waiting (Ctrl-C, cancelled task, timeout)

# "slow" is answered only when the client sends the notification fake/answer;
# fake/received tells the test the request reached the server.
ANSWER_ON_CUE = {
    "methods": {"slow": [{"notify": "fake/received"}]},
    "on_notification": {"fake/answer": [{"send": {"id": 1, "result": {"turn": {"id": "turn-1"}}}}]},
}


class Abandoned:
    """An ``on_abandoned`` handler that records what it is handed, and wants the answers (returns True)."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, object, Future[object]]] = []

    def __call__(self, method: str, params: object, future: Future[object]) -> bool:
        self.calls.append((method, params, future))
        return True


def connect_on_cue(
    connect: Callable[..., tuple[RpcConnection, StdioTransport]], abandoned: Abandoned
) -> tuple[RpcConnection, threading.Event]:
    received = threading.Event()

    def on_notification(method: str, params: dict[str, object]) -> None:
        if method == "fake/received":
            received.set()

    conn, _ = connect(ANSWER_ON_CUE, on_notification=on_notification, on_abandoned=abandoned)
    return conn, received


@pytest.mark.skipif(not POSIX, reason="delivers SIGINT with pthread_kill")
def test_ctrl_c_while_waiting_hands_the_request_over_and_its_late_answer_still_comes(
    connect: Callable[..., tuple[RpcConnection, StdioTransport]],
) -> None:
    abandoned = Abandoned()
    conn, received = connect_on_cue(connect, abandoned)
    main = threading.main_thread().ident
    assert main is not None

    def ctrl_c_once_received() -> None:
        if received.wait(5):
            signal.pthread_kill(main, signal.SIGINT)

    threading.Thread(target=ctrl_c_once_received, daemon=True).start()
    with pytest.raises(KeyboardInterrupt):
        conn.call("slow", {"threadId": "thread-1"})

    ((method, params, future),) = abandoned.calls
    assert (method, params) == ("slow", {"threadId": "thread-1"})
    assert not future.done()
    conn.notify("fake/answer")
    assert future.result(5) == {"turn": {"id": "turn-1"}}


@pytest.mark.parametrize("abort", ["cancel", "timeout"])
def test_an_abandoned_awaited_request_is_handed_over_uncancelled(
    connect: Callable[..., tuple[RpcConnection, StdioTransport]], abort: str
) -> None:
    abandoned = Abandoned()
    conn, received = connect_on_cue(connect, abandoned)

    async def rpc() -> RpcConnection:
        return conn

    async def main() -> None:
        requester = AsyncRequester(rpc, request_timeout=0.05 if abort == "timeout" else None)
        task = asyncio.create_task(requester._request("slow", None, dict, {}))
        await asyncio.get_running_loop().run_in_executor(None, received.wait, 5)
        if abort == "timeout":
            with pytest.raises(TimeoutError, match="slow"):
                await task
        else:
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task

    asyncio.run(main())
    ((method, _, future),) = abandoned.calls
    assert method == "slow" and not future.cancelled()  # asyncio.wrap_future would have cancelled it
    conn.notify("fake/answer")
    assert future.result(5) == {"turn": {"id": "turn-1"}}


def test_a_timed_out_call_hands_the_request_over(connect: Callable[..., tuple[RpcConnection, StdioTransport]]) -> None:
    abandoned = Abandoned()
    conn, _ = connect({"methods": {"slow": [{"sleep": 0.3}, {"result": "late"}]}}, on_abandoned=abandoned)
    with pytest.raises(TimeoutError):
        conn.call("slow", timeout=0.05)
    ((_, _, future),) = abandoned.calls
    assert future.result(5) == "late"


def test_abandoning_an_answered_request_hands_it_over_a_failed_one_not(
    connect: Callable[..., tuple[RpcConnection, StdioTransport]],
) -> None:
    abandoned = Abandoned()
    conn, _ = connect({"methods": {"bad": [{"error": {"code": -32600, "message": "no"}}]}}, on_abandoned=abandoned)
    answered = conn.request("x")
    answered.result(5)
    conn.abandon("x", None, answered)  # e.g. Ctrl-C right after the answer came
    assert [future for _, _, future in abandoned.calls] == [answered]
    with pytest.raises(InvalidRequestError):
        conn.call("bad")  # the error answer reaches its caller: nothing was missed
    failed = conn.request("bad")
    with pytest.raises(InvalidRequestError):
        failed.result(5)
    conn.abandon("bad", None, failed)
    assert len(abandoned.calls) == 1
