"""The interface between a transport and :class:`~.._rpc.RpcConnection`.

A transport carries whole JSON-RPC messages. Whatever the wire (JSON lines on
a child's stdio, websocket frames over TCP, a unix socket or a command's
pipes), it delivers ONE complete message per ``on_line`` call, in order, on
its own reader thread. ``on_line`` may block: that is how backpressure
reaches the server (the pipe or the TCP window fills while the reader waits).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

__all__ = ["CloseHandler", "LineHandler", "Transport"]

LineHandler = Callable[[bytes], None]
CloseHandler = Callable[[BaseException | None], None]


class Transport(Protocol):
    """A bidirectional stream of JSON-RPC messages."""

    def start(self, on_line: LineHandler, on_close: CloseHandler) -> None:
        """Open the transport; raises (a :class:`TransportClosedError`) when it cannot.

        ``on_line`` is called (on a reader thread) with every received
        message, in order, as bytes; a trailing newline may or may not be
        there. ``on_close`` is called once when no more messages will come,
        with the reason (preferably a :class:`TransportClosedError`).
        """
        ...

    def send(self, line: bytes) -> None:
        """Send one message (JSON, optionally ending in ``\\n``). Thread-safe.

        Raises :class:`TransportClosedError` when the peer is gone.
        """
        ...

    def close(self, timeout: float) -> None:
        """Shut down, waiting up to ``timeout`` seconds per stage. Idempotent."""
        ...

    def stderr_tail(self) -> str:
        """Recent diagnostic output of the peer, for error messages."""
        ...

    @property
    def is_alive(self) -> bool:
        """Whether the peer is still running / connected."""
        ...
