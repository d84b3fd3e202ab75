"""A websocket flood server on 127.0.0.1 for ``flood_ws`` (standard library only).

``python -m tests.bench.fake_ws_flood --deltas N`` serves in its own process
(as codex does; a server thread in the client's process would compete for
its GIL) and prints its URL; :func:`flood_server` runs it so.

The websocket twin of ``fake_stdio_server.py``: it answers ``initialize``,
``thread/start`` and ``turn/start`` with the recorded real responses, then
floods the turn with the same recorded notifications, one text frame each.
Frames are rendered before the run and written in 1 MiB chunks, so the
server is never the bottleneck; the TCP window throttles it to the client.
Handshake and client frames are parsed by hand (masked text frames, close).
"""

from __future__ import annotations

import base64
import hashlib
import json
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from .fake_stdio_server import CHUNK, _recorded_results, render_flood

_GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"


def server_frame(payload: bytes, opcode: int = 0x1) -> bytes:
    """An unmasked (server-to-client) frame with FIN set."""
    size = len(payload)
    head = bytes([0x80 | opcode])
    if size < 126:
        head += bytes([size])
    elif size < 1 << 16:
        head += bytes([126]) + size.to_bytes(2, "big")
    else:
        head += bytes([127]) + size.to_bytes(8, "big")
    return head + payload


class FloodWsServer:
    """``with FloodWsServer(deltas) as server: Codex.connect(server.url)``; one connection at a time."""

    def __init__(self, deltas: int) -> None:
        results = _recorded_results()
        self._results = results
        thread_id = results["thread/start"]["thread"]["id"]
        turn_id = results["turn/start"]["turn"]["id"]
        self._flood = [server_frame(line.rstrip(b"\n")) for line in render_flood(deltas, thread_id, turn_id)]
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.url = f"ws://127.0.0.1:{self._listener.getsockname()[1]}"
        self._thread = threading.Thread(target=self._serve, name="flood-ws", daemon=True)

    def __enter__(self) -> FloodWsServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._listener.close()
        self._thread.join(5)

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self._listener.accept()
            except OSError:
                return
            with conn:
                try:
                    self._one(conn)
                except (OSError, ConnectionError):
                    pass

    def _one(self, conn: socket.socket) -> None:
        reader = conn.makefile("rb")
        key = b""
        while (line := reader.readline()) not in (b"\r\n", b""):
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"sec-websocket-key":
                key = value.strip()
        accept = base64.b64encode(hashlib.sha1(key + _GUID).digest())
        conn.sendall(
            b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            b"Sec-WebSocket-Accept: " + accept + b"\r\n\r\n"
        )
        while True:
            frame = _read_client_frame(reader)
            if frame is None:
                return
            opcode, payload = frame
            if opcode == 0x8:  # close: answer and end
                conn.sendall(server_frame(payload[:2], 0x8))
                return
            if opcode != 0x1:
                continue
            message: dict[str, Any] = json.loads(payload)
            if "id" not in message or "method" not in message:
                continue
            answer = {"id": message["id"], "result": self._results.get(message["method"], {})}
            conn.sendall(server_frame(json.dumps(answer, separators=(",", ":")).encode()))
            if message["method"] == "turn/start":
                _write_all(conn, self._flood)


def _read_client_frame(reader: Any) -> tuple[int, bytes] | None:
    head = reader.read(2)
    if len(head) < 2:
        return None
    opcode, size = head[0] & 0x0F, head[1] & 0x7F
    if size == 126:
        size = int.from_bytes(reader.read(2), "big")
    elif size == 127:
        size = int.from_bytes(reader.read(8), "big")
    mask = reader.read(4) if head[1] & 0x80 else b"\0\0\0\0"
    data = reader.read(size)
    unmasked = bytes(b ^ mask[i % 4] for i, b in enumerate(data))
    return opcode, unmasked


def _write_all(conn: socket.socket, frames: list[bytes]) -> None:
    chunk: list[bytes] = []
    size = 0
    for frame in frames:
        chunk.append(frame)
        size += len(frame)
        if size >= CHUNK:
            conn.sendall(b"".join(chunk))
            chunk, size = [], 0
    conn.sendall(b"".join(chunk))


@contextmanager
def flood_server(deltas: int) -> Iterator[str]:
    """The URL of a flood server in a child process, stopped (by pid) afterwards."""
    child = subprocess.Popen(
        [sys.executable, "-m", "tests.bench.fake_ws_flood", "--deltas", str(deltas)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert child.stdout is not None
        url = child.stdout.readline().strip()
        if not url.startswith("ws://"):
            raise RuntimeError(f"the flood server did not start: {url!r}")
        yield url
    finally:
        child.kill()
        child.wait(5)


def main(argv: list[str]) -> int:
    deltas = int(argv[argv.index("--deltas") + 1])
    with FloodWsServer(deltas) as server:
        print(server.url, flush=True)
        sys.stdin.read()  # until the parent closes our stdin (or kills us)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
