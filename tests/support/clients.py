"""Started clients of either flavour for tests that need their own app-server.

``Codex`` as it is; ``AsyncCodex`` through the SDK suite's blocking adapter
(:class:`~tests.sdk.support.Blocking`), its coroutines on one event loop
thread. Used by the ``open_codex`` (tests/sdk) and ``open_client``
(tests/faults) fixtures.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from codex_app_server import AppServerConfig, AsyncCodex, Codex

from tests.sdk.support import Blocking, LoopThread


def start_client(flavor: str, loop: LoopThread, config: AppServerConfig) -> Any:
    """A started ``Codex`` ("sync") or blocking-adapted ``AsyncCodex`` ("async")."""
    if flavor == "sync":
        return Codex(config)

    async def start() -> AsyncCodex:
        codex = AsyncCodex(config)
        await codex.start()
        return codex

    return Blocking(loop.run(start()), loop)


@contextmanager
def client_opener(flavor: str, loop: LoopThread) -> Iterator[Callable[[AppServerConfig], Any]]:
    """``open_one(config)`` -> a started client of ``flavor``; every one is closed on exit."""
    opened: list[Any] = []

    def open_one(config: AppServerConfig) -> Any:
        client = start_client(flavor, loop, config)
        opened.append(client)
        return client

    try:
        yield open_one
    finally:
        for client in opened:
            client.close()
