"""The interface between a transport and :class:`~.._rpc.RpcConnection`.

A transport carries whole JSON-RPC messages. Whatever the wire (JSON lines on
a child's stdio, websocket frames over TCP, a unix socket or a command's
pipes), it delivers complete messages, in order, on its own reader thread:
each ``on_messages`` call gets every message that one read of the wire
completed (a flood of small deltas arrives hundreds at a time, so the
per-message cost of the layers above is a loop step, not a chain of calls).
``on_messages`` may block: that is how backpressure reaches the server (the
pipe or the TCP window fills while the reader waits).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

__all__ = ["CloseHandler", "MessagesHandler", "Transport"]

MessagesHandler = Callable[[list[bytes]], None]
CloseHandler = Callable[[BaseException | None], None]


class Transport(Protocol):
    """A bidirectional stream of JSON-RPC messages."""

    def start(self, on_messages: MessagesHandler, on_close: CloseHandler) -> None:
        """Open the transport; raises (a :class:`TransportClosedError`) when it cannot.

        ``on_messages`` is called (on a reader thread) with the received
        messages, in order, as a non-empty list of bytes (one message each; a
        trailing newline may or may not be there, an empty one is skipped). ``on_close`` is called once when no more messages will come,
        with the reason (preferably a :class:`TransportClosedError`).
        """
        ...

    def send(self, line: bytes, timeout: float | None = None) -> None:
        """Send one message (JSON, optionally ending in ``\\n``). Thread-safe.

        Raises :class:`TransportClosedError` when the peer is gone, and
        TimeoutError when the peer did not take the message within
        ``timeout`` seconds (then the connection may have been dropped: part
        of the message may be on the wire).
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
