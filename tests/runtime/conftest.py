"""The ``connect`` fixture: an RpcConnection to the fake stdio server, closed after the test."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping

import pytest
from codex_app_server._rpc import AbandonHandler, RpcConnection, ServerRequestContext
from codex_app_server._transports import StdioTransport

from .support import fake_argv, one_by_one


@pytest.fixture
def connect() -> Iterator[Callable[..., tuple[RpcConnection, StdioTransport]]]:
    opened: list[RpcConnection] = []

    def _connect(
        script: Mapping[str, object] | None = None,
        *,
        on_notification: Callable[[str, dict[str, object]], None] | None = None,
        on_server_request: Callable[[ServerRequestContext], None] | None = None,
        on_abandoned: AbandonHandler | None = None,
        request_timeout: float | None = 10.0,
        stderr_buffer_lines: int = 50,
    ) -> tuple[RpcConnection, StdioTransport]:
        transport = StdioTransport(fake_argv(script or {}), stderr_buffer_lines=stderr_buffer_lines)
        conn = RpcConnection(
            transport,
            on_notifications=one_by_one(on_notification),
            on_server_request=on_server_request,
            on_abandoned=on_abandoned,
            request_timeout=request_timeout,
        )
        conn.start()
        opened.append(conn)
        return conn, transport

    yield _connect
    for conn in opened:
        conn.close(timeout=1.0)
