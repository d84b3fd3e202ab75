"""The low-level clients with a connection of their own: ``AppServerClient.connect*`` / ``AsyncAppServerClient.connect*``.

Against the real app-server over each transport (``ws``, ``unix``, ``proxy``)
and in both flavours: the client initialises, calls methods, answers a
server request through the ``handler`` it was given, and ``close()`` (or
leaving ``with``) ends its connection. The option handling is that of
``Codex.connect``: spawn-only options are refused the same way.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from codex_app_server import (
    AppServerClient,
    AppServerConfig,
    AsyncAppServerClient,
    Codex,
    JsonRpcError,
    TransportClosedError,
    TurnStatus,
)
from codex_app_server.generated import SCHEMA_VERSION
from codex_app_server.generated.v2_all import CommandExecutionThreadItem, Turn

from tests.sdk.support import Blocking, LoopThread, RoutedProvider, tool_outputs
from tests.sdk.test_approvals import ECHO_HI, approval_handler
from tests.support.fake_provider import final_text

from .conftest import CODEX_BIN, requires_remote
from .servers import Server, proxy_argv

pytestmark = [*requires_remote, pytest.mark.timeout(60)]

TURN_TIMEOUT_S = 30.0


def connect_lowlevel(kind: str, flavor: str, server: Server, loop: LoopThread, **kwargs: Any) -> Any:
    """A low-level client of the flavour with its own connection to ``server`` (an async one behind ``Blocking``)."""
    assert CODEX_BIN is not None and server.url is not None
    cls: Any = AppServerClient if flavor == "sync" else AsyncAppServerClient
    if kind == "proxy":
        client = cls.connect_command(proxy_argv(CODEX_BIN, Path(server.url.removeprefix("unix://"))), **kwargs)
    else:
        client = cls.connect(server.url, **kwargs)
    return client if flavor == "sync" else Blocking(client, loop)


@pytest.fixture
def lowlevel(kind: str, flavor: str, server: Server, loop: LoopThread) -> Iterator[Any]:
    client = connect_lowlevel(kind, flavor, server, loop)
    yield client
    client.close()


def finished_turn(client: Any, thread_id: str, turn_id: str) -> Turn:
    """The turn once it ended, read back with ``thread/read`` (the low-level client has no event stream).

    Read from the thread's history, a turn still running shows as ``interrupted``
    (no end recorded yet): it has ended once completed or failed.
    """
    deadline = time.monotonic() + TURN_TIMEOUT_S
    while True:
        try:
            turns = client.thread_read(thread_id=thread_id, include_turns=True).thread.turns
        except JsonRpcError:  # codex refuses to list turns until the first turn has written its history
            turns = []
        turn = next((t for t in turns if t.id == turn_id), None)
        if turn is not None and turn.status in (TurnStatus.completed, TurnStatus.failed):
            return turn
        assert time.monotonic() < deadline, f"turn {turn_id} did not end"
        time.sleep(0.05)


def test_a_client_of_its_own_initializes_and_calls(lowlevel: Any, server: Server) -> None:
    started = lowlevel.thread_start(cwd=str(server.cwd))  # an async client connects on this first call
    assert started.thread.id in lowlevel.thread_loaded_list().data
    assert lowlevel.server_version == SCHEMA_VERSION  # from the initialize answer: the real binary is the pinned one


def test_the_handler_it_was_given_answers_an_approval(
    kind: str, flavor: str, server: Server, loop: LoopThread, provider: RoutedProvider
) -> None:
    provider.enqueue(ECHO_HI, final_text("The command printed hi."))
    # approval_handler picks the handler flavour from its first argument: a Blocking stands for an async client
    handler, asked = approval_handler(Blocking(None, loop) if flavor == "async" else None, lambda params: "accept")
    client = connect_lowlevel(kind, flavor, server, loop, handler=handler)
    try:
        thread = client.thread_start(cwd=str(server.cwd), approval_policy="untrusted").thread
        started = client.turn_start(thread_id=thread.id, input=[{"type": "text", "text": "Run echo hi."}]).turn

        turn = finished_turn(client, thread.id, started.id)
    finally:
        client.close()

    (params,) = asked
    assert params.thread_id == thread.id and "echo hi" in (params.command or "")
    assert turn.status == TurnStatus.completed
    (item,) = [item for item in turn.items if isinstance(item, CommandExecutionThreadItem)]
    assert (item.aggregated_output or "").strip() == "hi"
    assert any("hi" in output for output in tool_outputs(provider.requests[-1]))


def test_close_ends_the_connection(kind: str, flavor: str, server: Server, loop: LoopThread) -> None:
    client = connect_lowlevel(kind, flavor, server, loop)
    client.thread_loaded_list()
    client.close()
    with pytest.raises(TransportClosedError, match="closed by client"):
        client.thread_loaded_list()
    client.close()  # idempotent


def test_leaving_with_ends_the_connection(kind: str, server: Server) -> None:
    assert CODEX_BIN is not None and server.url is not None
    if kind == "proxy":
        opened = AppServerClient.connect_command(proxy_argv(CODEX_BIN, Path(server.url.removeprefix("unix://"))))
    else:
        opened = AppServerClient.connect(server.url)
    with opened as client:
        assert client is opened
        client.thread_loaded_list()
    with pytest.raises(TransportClosedError):
        client.thread_loaded_list()


def test_an_async_client_connects_on_async_with(server: Server, loop: LoopThread) -> None:
    assert server.url is not None
    url = server.url

    async def scenario() -> tuple[str | None, str | None, list[str]]:
        client = AsyncAppServerClient.connect(url)
        before = client.server_version  # nothing has connected yet
        async with client:
            after = client.server_version
            listed = (await client.thread_loaded_list()).data
        return before, after, listed

    before, after, listed = loop.run(scenario())
    assert before is None and after == SCHEMA_VERSION and isinstance(listed, list)


def test_spawn_only_options_are_refused_as_for_codex() -> None:
    refused = AppServerConfig(codex_bin="codex", env={"A": "b"})
    for connect in (AppServerClient.connect, AsyncAppServerClient.connect, Codex.connect):
        with pytest.raises(ValueError, match=r"AppServerConfig\.codex_bin, env only apply to an app-server"):
            connect("ws://127.0.0.1:9", config=refused)
    for connect_command in (AppServerClient.connect_command, AsyncAppServerClient.connect_command):
        with pytest.raises(ValueError, match=r"codex_bin, env only apply .* connect_command\(\) connects"):
            connect_command(["true"], config=refused)
    for connect_daemon in (AppServerClient.connect_daemon, AsyncAppServerClient.connect_daemon):
        with pytest.raises(ValueError, match=r"connect_daemon\(\) connects to a running one"):
            connect_daemon(config=refused)


def test_a_refused_connection_raises_at_connect_naming_the_endpoint() -> None:
    with pytest.raises(TransportClosedError, match=r"ws://127\.0\.0\.1:9: cannot connect"):
        AppServerClient.connect("ws://127.0.0.1:9")


def test_the_client_of_a_codex_is_closed_with_its_codex(server: Server) -> None:
    assert server.url is not None
    with Codex.connect(server.url) as codex:
        with pytest.raises(RuntimeError, match="belongs to its Codex"):
            codex.client.close()
        assert codex.client.thread_loaded_list() is not None  # still connected
