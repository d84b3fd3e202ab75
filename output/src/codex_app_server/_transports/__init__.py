"""Transports: how JSON-RPC messages reach a codex app-server.

``base`` holds the interface, ``stdio`` the spawned child; ``websocket``,
``streams`` and ``endpoints`` (imported on demand: they need the
``[remote]`` extra) reach a server that is already running.
"""

from .base import CloseHandler, MessagesHandler, Transport
from .stdio import StdioTransport

__all__ = ["CloseHandler", "MessagesHandler", "StdioTransport", "Transport"]
