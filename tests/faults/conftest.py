"""Fixtures of the fault-injection suite.

* ``flavor`` / ``open_client``: every client-level fault runs against both
  ``Codex`` and ``AsyncCodex`` (the latter through the blocking adapter of
  the SDK suite, its coroutines on one event loop thread).
* ``provider``: a fresh fake Responses provider on 127.0.0.1.
* ``codex_bin``: the real binary, or a skip saying how to get it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from codex_app_server import AppServerConfig

from tests.sdk.support import LoopThread
from tests.support.clients import client_opener
from tests.support.fake_provider import FakeProvider

from .support import CODEX_BIN, NO_CODEX


@pytest.fixture(params=["sync", "async"])
def flavor(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def loop() -> Iterator[LoopThread]:
    thread = LoopThread()
    yield thread
    thread.close()


@pytest.fixture
def open_client(flavor: str, loop: LoopThread) -> Iterator[Callable[[AppServerConfig], Any]]:
    """``open_client(config)`` -> a started client of the test's flavour, closed after the test."""
    with client_opener(flavor, loop) as open_one:
        yield open_one


@pytest.fixture
def provider() -> Iterator[FakeProvider]:
    with FakeProvider() as fake:
        yield fake


@pytest.fixture
def codex_bin() -> str:
    if CODEX_BIN is None:
        pytest.skip(NO_CODEX)
    return CODEX_BIN
