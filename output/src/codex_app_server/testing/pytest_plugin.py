"""pytest fixtures of the testing kit; pytest loads them when ``codex-app-server`` is installed.

The package declares this module as a ``pytest11`` entry point, so the
fixtures are there in every test without an import (disable with ``-p
no:codex_app_server``). Each runs the real codex against a fake model
provider on 127.0.0.1, in the test's own ``tmp_path``:

- ``fake_provider``: a started :class:`FakeProvider`; script it in the test
  (``fake_provider.enqueue(Text("Hi"))``, ``fake_provider.respond = f``).
  What a ``respond`` function raised fails the test at teardown.
- ``offline_codex_config``: :func:`offline_config` for that provider.
- ``offline_codex``: a started :class:`Codex` on that config, closed after the test.
- ``offline_async_codex``: an :class:`AsyncCodex` on that config, not started
  (it starts on first use in the test's event loop), closed after the test.
- ``offline_websocket_server``: a :class:`WebSocketServer` (``url``,
  ``token``) for code that connects with ``Codex.connect``.

Mark a test ``@pytest.mark.offline_config(experimental_api=True, ...)`` to
pass those keywords to :func:`offline_config` (any ``AppServerConfig`` field;
on a class or module, for all its tests). Override any fixture with one of
the same name; the others build on it.
Nothing here is imported before a fixture is used: a test session that uses
none of them does not load the SDK.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from .. import AppServerConfig, AsyncCodex, Codex
    from ._provider import FakeProvider
    from ._server import WebSocketServer

__all__ = [
    "fake_provider",
    "offline_async_codex",
    "offline_codex",
    "offline_codex_config",
    "offline_websocket_server",
]


MARKER = "offline_config"


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        f"{MARKER}(**keywords): keywords of codex_app_server.testing.offline_config() for the"
        " offline_codex_config fixture, e.g. experimental_api=True",
    )


@pytest.fixture
def fake_provider() -> Iterator[FakeProvider]:
    """A started fake model provider on 127.0.0.1; fails the test if its ``respond`` raised."""
    from ._provider import FakeProvider

    with FakeProvider() as provider:
        yield provider
    if provider.errors:
        pytest.fail(f"FakeProvider respond() raised: {provider.errors!r}", pytrace=False)


@pytest.fixture
def offline_codex_config(
    fake_provider: FakeProvider, tmp_path: Path, request: pytest.FixtureRequest
) -> AppServerConfig:
    """The offline config of a real codex answering from ``fake_provider``, its home in ``tmp_path``.

    With the keywords of the test's closest ``@pytest.mark.offline_config(...)``.
    """
    from . import offline_config

    marker = request.node.get_closest_marker(MARKER)
    return offline_config(fake_provider, home=tmp_path / "codex", **(marker.kwargs if marker else {}))


@pytest.fixture
def offline_codex(offline_codex_config: AppServerConfig) -> Iterator[Codex]:
    """A started :class:`Codex` on ``offline_codex_config``, closed after the test."""
    from .. import Codex

    with Codex(offline_codex_config) as codex:
        yield codex


@pytest.fixture
def offline_async_codex(offline_codex_config: AppServerConfig) -> Iterator[AsyncCodex]:
    """An :class:`AsyncCodex` on ``offline_codex_config``; it starts on first use, in the test's loop.

    Closed after the test (closing waits on a worker thread, so the test's
    loop may be gone by then).
    """
    from .. import AsyncCodex

    codex = AsyncCodex(offline_codex_config)
    try:
        yield codex
    finally:
        asyncio.run(codex.close())


@pytest.fixture
def offline_websocket_server(offline_codex_config: AppServerConfig) -> Iterator[WebSocketServer]:
    """A codex app-server on ``ws://127.0.0.1:PORT`` with a capability token, stopped after the test."""
    from ._server import websocket_server

    with websocket_server(offline_codex_config) as server:
        yield server
