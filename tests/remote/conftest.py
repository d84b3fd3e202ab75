"""Fixtures of the remote-transport suite: real app-servers reached over websocket, unix socket and a command pipe.

* ``server``: per module and transport kind, ONE real app-server (``ws``:
  ``--listen ws://127.0.0.1:0``; ``unix`` and ``proxy``: ``--listen
  unix://PATH``, the latter reached through ``codex app-server proxy``).
* ``connect(**kwargs)``: a client of the test's flavour (``Codex`` or
  ``Blocking(AsyncCodex)``) connected to it, closed after the test.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from codex_app_server import AsyncCodex, Codex

from tests.sdk.support import Blocking, LoopThread, RoutedProvider
from tests.support import fixtures
from tests.support.codex_env import find_codex_binary

from .servers import Server, proxy_argv, short_tmp, unix_server, ws_server

CODEX_BIN = find_codex_binary()

# The fixtures shared with the other real-binary suite (pytest takes a fixture where its name is bound).
flavor, loop, module_provider, provider = fixtures.flavor, fixtures.loop, fixtures.module_provider, fixtures.provider

KINDS = ["ws", "unix", "proxy"]

requires_remote = [
    pytest.mark.real,
    pytest.mark.skipif(CODEX_BIN is None, reason="no codex binary"),
]
pytest.importorskip("websockets", reason="the [remote] extra is not installed")


@pytest.fixture(scope="module", params=KINDS)
def kind(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture(scope="module")
def server(kind: str, module_provider: RoutedProvider, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    assert CODEX_BIN is not None
    root = tmp_path_factory.mktemp(f"server-{kind}")
    if kind == "ws":
        with ws_server(CODEX_BIN, module_provider, root) as server:
            yield server
        return
    with short_tmp() as short, unix_server(CODEX_BIN, module_provider, root, short / "s.sock") as server:
        yield server


def open_client(flavor: str, loop: LoopThread, factory: Callable[[type[Any]], Any]) -> Any:
    """``factory(Codex or AsyncCodex)`` -> the client; an async one is started and wrapped in ``Blocking``."""
    if flavor == "sync":
        return factory(Codex)
    client = factory(AsyncCodex)
    loop.run(client.start())
    return Blocking(client, loop)


@pytest.fixture
def connect(kind: str, flavor: str, server: Server, loop: LoopThread) -> Iterator[Callable[..., Any]]:
    """``connect(**connect_kwargs)`` -> a client of the test's flavour and transport kind."""
    opened: list[Any] = []
    assert CODEX_BIN is not None and server.url is not None
    url = server.url

    def factory(cls: type[Any], **kwargs: Any) -> Any:
        if kind == "proxy":
            return cls.connect_command(proxy_argv(CODEX_BIN, Path(url.removeprefix("unix://"))), **kwargs)
        return cls.connect(url, **kwargs)

    def open_one(**kwargs: Any) -> Any:
        client = open_client(flavor, loop, lambda cls: factory(cls, **kwargs))
        opened.append(client)
        return client

    yield open_one
    for client in opened:
        client.close()
