"""Fixtures shared by the suites that run real app-servers against the routed fake provider (tests/sdk, tests/remote).

Per test module: ONE :class:`RoutedProvider` (emptied around each test, as
``provider``), ONE event loop thread for the asyncio client, and the client
flavour (``sync``: ``Codex``; ``async``: ``AsyncCodex`` through the blocking
adapter). A suite's conftest imports the ones it uses: pytest registers a
fixture where its name is bound.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.sdk.support import LoopThread, RoutedProvider

FLAVORS = ["sync", "async"]


@pytest.fixture(scope="module")
def module_provider() -> Iterator[RoutedProvider]:
    with RoutedProvider() as provider:
        yield provider


@pytest.fixture
def provider(module_provider: RoutedProvider) -> Iterator[RoutedProvider]:
    module_provider.reset()
    module_provider.reset_release()
    yield module_provider
    module_provider.reset()  # a hung stream of this test must not outlive it


@pytest.fixture(scope="module")
def loop() -> Iterator[LoopThread]:
    thread = LoopThread()
    yield thread
    thread.close()


@pytest.fixture(scope="module", params=FLAVORS)
def flavor(request: pytest.FixtureRequest) -> str:
    return str(request.param)
