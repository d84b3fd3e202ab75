"""A misbehaving websocket app-server on 127.0.0.1: raw RFC 6455 framing, standard library only.

It behaves like codex where a script says so (the handshake, ``initialize``,
``thread/start`` and ``turn/start`` answered with a real turn's recorded
answers) and then does what codex cannot be made to do: stop reading, flood
pings, send a close frame and keep the TCP connection open, never answer the
handshake, advertise an absurd frame limit. The websockets library's own
server (``tests/support/fake_ws_server.py``) is too well behaved for that.

``script(connection)`` runs on the connection's own thread once the
handshake is done; what the client sent is in ``connection.received``
(whole messages) and ``connection.frames`` (opcode, fin, size of each frame).
"""

from __future__ import annotations

import base64
import hashlib
import json
import socket
import threading
from collections.abc import Callable, Mapping, Sequence
from typing import Any

_GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
IO_TIMEOUT_S = 15.0  # a server-side wait that never ends would hang the test instead of failing it
TEXT, CLOSE, PING, PONG = 0x1, 0x8, 0x9, 0xA


def frame(payload: bytes, opcode: int = TEXT, fin: bool = True) -> bytes:
    """An unmasked (server-to-client) frame."""
    size = len(payload)
    head = bytes([(0x80 if fin else 0) | opcode])
    if size < 126:
        head += bytes([size])
    elif size < 1 << 16:
        head += bytes([126]) + size.to_bytes(2, "big")
    else:
        head += bytes([127]) + size.to_bytes(8, "big")
    return head + payload


def close_frame(code: int, reason: str) -> bytes:
    return frame(code.to_bytes(2, "big") + reason.encode(), CLOSE)


class Connection:
    """One client connection, seen from the server."""

    def __init__(self, sock: socket.socket, answers: Mapping[str, Any], released: threading.Event) -> None:
        self.sock = sock
        self.answers = answers
        self._released = released
        self.received: list[dict[str, Any]] = []
        self.frames: list[tuple[int, bool, int]] = []
        self.client_closed = threading.Event()  # the client's close frame or end of stream came
        self._buffer = b""

    def _exactly(self, size: int) -> bytes | None:
        while len(self._buffer) < size:
            data = self.sock.recv(1 << 16)
            if not data:
                return None
            self._buffer += data
        out, self._buffer = self._buffer[:size], self._buffer[size:]
        return out

    def read_frame(self) -> tuple[int, bool, bytes] | None:
        head = self._exactly(2)
        if head is None:
            return None
        opcode, fin, size = head[0] & 0x0F, bool(head[0] & 0x80), head[1] & 0x7F
        if size >= 126:
            extended = self._exactly(2 if size == 126 else 8)
            if extended is None:
                return None
            size = int.from_bytes(extended, "big")
        mask = self._exactly(4) if head[1] & 0x80 else b"\0\0\0\0"
        data = self._exactly(size)
        if mask is None or data is None:
            return None
        key = (mask * (size // 4 + 1))[:size]
        unmasked = (int.from_bytes(data, "big") ^ int.from_bytes(key, "big")).to_bytes(size, "big")
        self.frames.append((opcode, fin, size))
        return opcode, fin, unmasked

    def read_message(self) -> dict[str, Any] | None:
        """The next whole message (fragments joined; pongs skipped); None at the client's close or end of stream."""
        parts: list[bytes] = []
        while True:
            got = self.read_frame()
            if got is None or got[0] == CLOSE:
                self.client_closed.set()
                return None
            opcode, fin, payload = got
            if opcode in (PING, PONG):
                continue
            parts.append(payload)
            if fin:
                message: dict[str, Any] = json.loads(b"".join(parts))
                self.received.append(message)
                return message

    def send(self, message: Mapping[str, Any]) -> None:
        self.sock.sendall(frame(json.dumps(message, separators=(",", ":")).encode()))

    def answer(self, message: Mapping[str, Any], result: Any) -> None:
        self.send({"id": message["id"], "result": result})

    def serve_until(self, method: str | None = None) -> dict[str, Any] | None:
        """Answer like codex (the recorded answers; ``{}`` for other requests) until a request for ``method`` comes."""
        while True:
            message = self.read_message()
            if message is None:
                return None
            if "id" not in message or "method" not in message:
                continue
            if message["method"] == method:
                return message
            self.answer(message, self.answers.get(message["method"], {}))

    def ping_flood(self, count: int, payload: bytes = b"p" * 125) -> None:
        """``count`` pings in a row: their pongs fill the client's send buffer when nobody reads them."""
        batch = frame(payload, PING) * 1000
        for _ in range(count // 1000):
            self.sock.sendall(batch)

    def hold(self) -> None:
        """Keep the TCP connection open, reading nothing, until the server exits."""
        self._released.wait(IO_TIMEOUT_S)

    def drain(self) -> None:
        """Read (and drop) everything until the client's close frame or end of stream."""
        while self.read_message() is not None:
            pass


Script = Callable[[Connection], None]


class HostileWsServer:
    """``with HostileWsServer(script, answers) as server: Codex.connect(server.url)``."""

    def __init__(
        self,
        script: Script,
        answers: Mapping[str, Any],
        *,
        handshake: bool = True,
        headers: Sequence[tuple[str, str]] = (),
        receive_buffer: int | None = None,
    ) -> None:
        self.script = script
        self.answers = answers
        self.handshake = handshake
        self.headers = headers
        self.connections: list[Connection] = []
        self.errors: list[BaseException] = []
        self.release = threading.Event()  # set on exit: a script waiting on it ends
        self.connected = threading.Condition()
        self._listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        if receive_buffer is not None:  # inherited by accepted sockets: a small TCP window
            self._listener.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, receive_buffer)
        self._listener.bind(("127.0.0.1", 0))
        self._listener.listen(8)
        self.url = f"ws://127.0.0.1:{self._listener.getsockname()[1]}"
        self._threads: list[threading.Thread] = []
        self._accepter = threading.Thread(target=self._accept, name="hostile-ws-accept", daemon=True)

    def __enter__(self) -> HostileWsServer:
        self._accepter.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.release.set()
        try:  # wakes the accepting thread; close() alone would not
            self._listener.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self._listener.close()
        self._accepter.join(IO_TIMEOUT_S)
        for connection in list(self.connections):
            try:
                connection.sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        for thread in self._threads:
            thread.join(IO_TIMEOUT_S)
        if self.errors and exc[0] is None:
            raise AssertionError(f"the hostile server's script failed: {self.errors[0]!r}") from self.errors[0]

    def wait_connections(self, count: int, timeout: float = IO_TIMEOUT_S) -> None:
        with self.connected:
            if not self.connected.wait_for(lambda: len(self.connections) >= count, timeout):
                raise AssertionError(f"{len(self.connections)} connections, expected {count}")

    def _accept(self) -> None:
        while True:
            try:
                sock, _ = self._listener.accept()
            except OSError:
                return
            thread = threading.Thread(target=self._serve, args=(sock,), name="hostile-ws-connection", daemon=True)
            self._threads.append(thread)
            thread.start()

    def _serve(self, sock: socket.socket) -> None:
        with sock:
            sock.settimeout(IO_TIMEOUT_S)
            connection = Connection(sock, self.answers, self.release)
            try:
                request = self._read_request(connection)
                if not self.handshake:
                    self._register(connection)
                    self.release.wait(IO_TIMEOUT_S)
                    return
                sock.sendall(self._accept_response(request))
                self._register(connection)
                self.script(connection)
            except OSError:
                pass  # the client went away (what the tests assert on is the client's side)
            except Exception as exc:  # a broken script: the test fails on exit
                self.errors.append(exc)
            finally:
                connection.client_closed.set()

    def _register(self, connection: Connection) -> None:
        with self.connected:
            self.connections.append(connection)
            self.connected.notify_all()

    @staticmethod
    def _read_request(connection: Connection) -> bytes:
        while b"\r\n\r\n" not in connection._buffer:
            data = connection.sock.recv(4096)
            if not data:
                raise ConnectionError("the client left during the handshake")
            connection._buffer += data
        request, connection._buffer = connection._buffer.split(b"\r\n\r\n", 1)
        return request

    def _accept_response(self, request: bytes) -> bytes:
        key = b""
        for line in request.split(b"\r\n")[1:]:
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"sec-websocket-key":
                key = value.strip()
        accept = base64.b64encode(hashlib.sha1(key + _GUID).digest())
        extra = b"".join(f"{name}: {value}\r\n".encode() for name, value in self.headers)
        return (
            b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            b"Sec-WebSocket-Accept: " + accept + b"\r\n" + extra + b"\r\n"
        )
