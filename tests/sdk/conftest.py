"""Fixtures of the SDK end-to-end suite (real codex binary + local fake provider).

* ``provider``: the module's :class:`RoutedProvider` on 127.0.0.1, emptied before each test.
* ``codex``: ONE app-server per test module and flavour, parametrised over
  ``sync`` (``Codex``) and ``async`` (``AsyncCodex`` driven through
  :class:`Blocking`), so every test body runs against both clients.
* ``config_factory``: an isolated offline :class:`AppServerConfig` for tests
  that need their own process (lifecycle, concurrent turns).
* ``loop``: the module's event loop thread, for async-only code paths.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from codex_app_server import AppServerConfig, AsyncCodex, Codex, ServerRequestHandler

from tests.support import fixtures
from tests.support.clients import client_opener
from tests.support.codex_env import find_codex_binary

from .support import Blocking, LoopThread, RoutedProvider, make_config

CODEX_BIN = find_codex_binary()

# The fixtures shared with the other real-binary suite (pytest takes a fixture where its name is bound).
flavor, loop, module_provider, provider = fixtures.flavor, fixtures.loop, fixtures.module_provider, fixtures.provider

requires_codex = pytest.mark.skipif(
    CODEX_BIN is None, reason="no codex binary: set CODEX_BIN or `pip install openai-codex-cli-bin==0.163.0`"
)


@pytest.fixture(scope="module")
def module_codex(
    flavor: str,
    module_provider: RoutedProvider,
    loop: LoopThread,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Any]:
    """One app-server for the module and flavour (tests create their own threads)."""
    if CODEX_BIN is None:
        pytest.skip("no codex binary: set CODEX_BIN or `pip install openai-codex-cli-bin==0.163.0`")
    config = make_config(module_provider, tmp_path_factory.mktemp(f"codex-{flavor}"), codex_bin=CODEX_BIN)
    if flavor == "sync":
        with Codex(config) as codex:
            yield codex
        return

    async def start() -> AsyncCodex:
        codex = AsyncCodex(config)
        await codex.__aenter__()
        return codex

    async_codex = loop.run(start())
    try:
        yield Blocking(async_codex, loop)
    finally:
        loop.run(async_codex.close())


@pytest.fixture
def codex(module_codex: Any, provider: RoutedProvider) -> Iterator[Any]:
    """The module's client (either flavour) with the default (declining) request handler."""
    yield module_codex
    module_codex.set_handler(ServerRequestHandler())


@pytest.fixture
def config_factory(tmp_path: Path, provider: RoutedProvider) -> Callable[..., AppServerConfig]:
    """``config_factory(**AppServerConfig kwargs)`` -> a fresh isolated offline config."""
    if CODEX_BIN is None:
        pytest.skip("no codex binary: set CODEX_BIN or `pip install openai-codex-cli-bin==0.163.0`")
    counter = iter(range(1_000))

    def factory(**kwargs: Any) -> AppServerConfig:
        kwargs.setdefault("codex_bin", CODEX_BIN)
        return make_config(provider, tmp_path / f"server-{next(counter)}", **kwargs)

    return factory


@pytest.fixture
def open_codex(flavor: str, loop: LoopThread) -> Iterator[Callable[[AppServerConfig], Any]]:
    """``open_codex(config)`` -> a client of the test's flavour with its own app-server (closed after the test)."""
    with client_opener(flavor, loop) as open_one:
        yield open_one
