"""A scripted websocket JSON-RPC server on 127.0.0.1 (the ``websockets`` library's threaded server).

For hostile and unit cases of the websocket transport and for the flood_ws
bench: it answers ``initialize`` like codex and hands every other request to
``on_request(connection, message)``. The real app-server is the proof that
the transport works; this server is for what codex cannot be made to do.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from typing import Any

from websockets.exceptions import ConnectionClosed
from websockets.sync.server import Server, ServerConnection, serve

Script = Callable[[ServerConnection, dict[str, Any]], None]

INITIALIZE_RESULT = {
    "userAgent": "fake-ws/0.0.0",
    "codexHome": "/nonexistent",
    "platformFamily": "unix",
    "platformOs": "linux",
}


def send_json(connection: ServerConnection, message: dict[str, Any]) -> None:
    connection.send(json.dumps(message, separators=(",", ":")))


class FakeWsServer:
    """``with FakeWsServer(script) as server: Codex.connect(server.url)``."""

    def __init__(self, on_request: Script | None = None, **serve_kwargs: Any) -> None:
        self.on_request = on_request
        self.headers: list[dict[str, str]] = []
        self.received: list[dict[str, Any]] = []
        self.connections: list[ServerConnection] = []
        self._serve_kwargs = {"max_size": None, "compression": None, **serve_kwargs}
        self.url = ""
        self._server: Server | None = None
        self._thread: threading.Thread | None = None
        self._handling = 0  # connections whose handler runs (each on a thread of its own)
        self._handled = threading.Condition()

    def __enter__(self) -> FakeWsServer:
        self._server = serve(self._handle, "127.0.0.1", 0, **self._serve_kwargs)
        host, port = self._server.socket.getsockname()[:2]
        self.url = f"ws://{host}:{port}"
        self._thread = threading.Thread(target=self._server.serve_forever, name="fake-ws-server", daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        assert self._server is not None and self._thread is not None
        self._server.shutdown()
        self._thread.join(5)
        with self._handled:  # what the clients sent is all in ``received`` once their handlers ended
            self._handled.wait_for(lambda: self._handling == 0, 5)

    def _handle(self, connection: ServerConnection) -> None:
        with self._handled:
            self._handling += 1
        try:
            self.connections.append(connection)
            assert connection.request is not None
            self.headers.append({k.lower(): v for k, v in connection.request.headers.raw_items()})
            self._serve_one(connection)
        except (ConnectionClosed, OSError):  # the client (or a script) dropped the connection
            pass
        finally:
            with self._handled:
                self._handling -= 1
                self._handled.notify_all()

    def _serve_one(self, connection: ServerConnection) -> None:
        for raw in connection:
            message = json.loads(raw)
            self.received.append(message)
            if message.get("method") == "initialize":
                send_json(connection, {"id": message["id"], "result": INITIALIZE_RESULT})
            elif "id" in message and "method" in message and self.on_request is not None:
                self.on_request(connection, message)
