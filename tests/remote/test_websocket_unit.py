"""The websocket transport against a scripted websocket server: what codex cannot be made to do.

Handshake headers (never an Origin, the bearer token), messages far above
the websockets library's 1 MiB default in both directions, fragmented
input, pings answered while the client is idle, a dropped connection
naming the endpoint, refused handshakes, and the clear errors of bad
connect options.
"""

from __future__ import annotations

import asyncio
import json
import socket
import sys
import time
from typing import Any

import pytest
from codex_app_server import AppServerConfig, AsyncCodex, Codex, MissingExtraError, TransportClosedError

pytest.importorskip("websockets", reason="the [remote] extra is not installed")

from tests.support.fake_ws_server import FakeWsServer, send_json  # noqa: E402

pytestmark = pytest.mark.timeout(30)


def echo_size(connection: Any, message: dict[str, Any]) -> None:
    """``size/echo`` answers with the size it got and a string of ``params.answerBytes`` bytes."""
    params = message.get("params") or {}
    payload = {"got": len(params.get("blob", "")), "blob": "y" * int(params.get("answerBytes", 0))}
    if params.get("fragmented"):
        text = json.dumps({"id": message["id"], "result": payload})
        connection.send(text[i : i + 65536] for i in range(0, len(text), 65536))
    else:
        send_json(connection, {"id": message["id"], "result": payload})


def test_the_handshake_sends_the_bearer_token_and_no_origin() -> None:
    with FakeWsServer() as server, Codex.connect(server.url, token="tok-123") as codex:
        assert codex.metadata.user_agent == "fake-ws/0.0.0"
    (headers,) = server.headers
    assert "origin" not in headers
    assert headers["authorization"] == "Bearer tok-123"
    assert [m["method"] for m in server.received[:2]] == ["initialize", "initialized"]
    assert "jsonrpc" not in server.received[0]


@pytest.mark.parametrize("fragmented", [False, True], ids=["one-frame", "fragments"])
def test_large_messages_go_out_and_come_in_whole(fragmented: bool) -> None:
    with FakeWsServer(echo_size) as server, Codex.connect(server.url) as codex:
        assert codex._session.rpc is not None
        answer = codex._session.rpc.call(
            "size/echo", {"blob": "x" * (20 << 20), "answerBytes": 20 << 20, "fragmented": fragmented}
        )
    assert isinstance(answer, dict)
    assert answer["got"] == 20 << 20 and len(answer["blob"]) == 20 << 20


def test_pings_are_answered_while_the_client_is_idle() -> None:
    with FakeWsServer(echo_size, ping_interval=0.05, ping_timeout=0.5) as server, Codex.connect(server.url) as codex:
        time.sleep(1.2)  # without pongs the server would have closed the connection by now
        assert codex._session.rpc is not None
        assert codex._session.rpc.call("size/echo", {"answerBytes": 3}, timeout=5) == {"got": 0, "blob": "yyy"}


def test_a_dropped_connection_fails_the_waiting_call_and_names_the_endpoint() -> None:
    def drop(connection: Any, message: dict[str, Any]) -> None:
        # No close frame: the network went away. shutdown() first, because a
        # bare close() does not end the connection while the server's own
        # reader thread is still blocked in recv() on that socket.
        connection.socket.shutdown(socket.SHUT_RDWR)
        connection.socket.close()

    with FakeWsServer(drop) as server, Codex.connect(server.url) as codex:
        with pytest.raises(TransportClosedError) as caught:
            codex.client.thread_loaded_list()
    assert server.url in str(caught.value) and "thread/loaded/list" in str(caught.value)


def test_a_refused_handshake_names_the_endpoint_and_the_status() -> None:
    from websockets.datastructures import Headers
    from websockets.http11 import Response

    def forbid(connection: Any, request: Any) -> Response:
        return Response(403, "Forbidden", Headers([("Content-Length", "9")]), b"forbidden")

    with FakeWsServer(process_request=forbid) as server:
        with pytest.raises(TransportClosedError, match=r"HTTP 403 forbidden") as caught:
            Codex.connect(server.url)
    assert server.url in str(caught.value)


def test_nothing_listening_is_a_connection_error_naming_the_endpoint() -> None:
    with FakeWsServer() as server:
        url = server.url
    with pytest.raises(TransportClosedError, match="cannot connect") as caught:
        Codex.connect(url)
    assert url in str(caught.value)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"config": AppServerConfig(codex_bin="codex")}, "codex_bin only apply to an app-server this SDK spawns"),
        ({"config": AppServerConfig(config_overrides={"model": "x"})}, "config_overrides"),
        ({"config": AppServerConfig(env={"A": "b"})}, r"AppServerConfig\.env"),
        ({"token": "a", "jwt_secret_file": "/nonexistent"}, "choose one way to authenticate"),
        ({"jwt_audience": "a"}, "jwt_issuer and jwt_audience need jwt_secret_file"),
        ({"token_file": "/nonexistent/token"}, "cannot read token_file '/nonexistent/token'"),
    ],
)
def test_bad_connect_options_are_one_clear_error(kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        Codex.connect("ws://127.0.0.1:9", **kwargs)


CONNECT_ENTRIES = [
    ("connect", ("ws://127.0.0.1:9",), "connect('ws://127.0.0.1:9')"),
    ("connect_daemon", (), "connect_daemon()"),
    ("connect_command", (["codex", "app-server", "proxy"],), "connect_command()"),
]


@pytest.mark.parametrize("cls", [Codex, AsyncCodex], ids=["sync", "async"])
@pytest.mark.parametrize(("entry", "args", "named"), CONNECT_ENTRIES, ids=[e[0] for e in CONNECT_ENTRIES])
def test_every_connect_classmethod_refuses_spawn_only_options(
    cls: type[Codex | AsyncCodex], entry: str, args: tuple[object, ...], named: str
) -> None:
    """Blocking and asyncio alike, at the call (before anything is started or connected)."""
    config = AppServerConfig(env={"A": "b"}, extra_args=("--x",))
    with pytest.raises(ValueError, match=r"AppServerConfig\.extra_args, env only apply") as caught:
        getattr(cls, entry)(*args, config=config)
    assert f"{named} connects to a running one" in str(caught.value)


def test_connect_returns_the_class_it_is_called_on_blocking_at_once_asyncio_on_start() -> None:
    class MyCodex(Codex):
        pass

    class MyAsyncCodex(AsyncCodex):
        pass

    with FakeWsServer() as server:
        with MyCodex.connect(server.url) as codex:
            assert type(codex) is MyCodex
            assert len(server.headers) == 1  # connected (and initialized) by connect() itself
            assert codex.metadata.user_agent == "fake-ws/0.0.0"

        async def lazily() -> None:
            codex = MyAsyncCodex.connect(server.url, token="tok-async")
            assert type(codex) is MyAsyncCodex
            assert len(server.headers) == 1  # nothing more until first use
            async with codex:
                assert codex.metadata.user_agent == "fake-ws/0.0.0"
            assert server.headers[1]["authorization"] == "Bearer tok-async"

        asyncio.run(lazily())


@pytest.mark.parametrize("url", ["http://127.0.0.1:1", "ws://", "ws://user:pw@127.0.0.1:1", "tcp://x"])
def test_unsupported_urls_are_refused(url: str) -> None:
    with pytest.raises(ValueError) as caught:
        Codex.connect(url)
    assert "pw" not in str(caught.value)


def test_without_the_remote_extra_the_error_says_what_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "websockets", None)  # what an environment without it looks like
    with pytest.raises(MissingExtraError, match=r"pip install 'codex-app-server\[remote\]'"):
        Codex.connect("ws://127.0.0.1:9")


def test_a_unix_socket_path_too_long_for_sun_path_still_connects(tmp_path: Any) -> None:
    """A deep CODEX_HOME gives the control socket a path over the 108 bytes connect() takes."""
    import socket

    from codex_app_server._transports.streams import open_unix

    deep = tmp_path / ("d" * 60) / ("e" * 60)
    deep.mkdir(parents=True)
    path = str(deep / "app-server-control.sock")
    assert len(path) > 108
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    import os

    cwd = os.getcwd()
    os.chdir(deep)  # bind() has the same limit: bind by a relative name
    try:
        listener.bind("app-server-control.sock")
    finally:
        os.chdir(cwd)
    listener.listen(1)
    try:
        stream = open_unix(path, 5.0)
        peer, _ = listener.accept()
        stream.queue(b"ping")
        stream.flush(None, 5.0)
        assert peer.recv(4) == b"ping"
        peer.close()
        stream.close(0.0)
    finally:
        listener.close()
