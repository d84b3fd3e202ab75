"""Each read of what codex sends allocates what came, not the size of a read.

``BufferedReader.read1(64 KiB)``, ``socket.recv(128 KiB)``, ``os.read`` and
``SSLObject.read`` allocate the size asked and shrink the block to what came
(a few hundred bytes per message of a turn). The shrunk blocks and the holes
they leave fragmented malloc's arena of the reader thread: over real turns
on one thread the client's RSS grew while its live heap stayed flat, over
stdio ~5 KiB a turn over the first hundred turns and still ~0.45 KiB a turn
at turn 1,000, over a websocket ~2.8 KiB a turn up to turn 600 (tests/bench
memory_turns). Each test bounds what reading a small message allocates at
its peak, the read the reader waits in included.
"""

from __future__ import annotations

import socket
import ssl
import sys
import threading
import tracemalloc
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from codex_app_server._rpc import RpcConnection
from codex_app_server._transports import StdioTransport
from codex_app_server._transports.streams import CommandStream, SocketStream, TlsStream

from tests.remote.tls import self_signed_certificate

pytestmark = pytest.mark.timeout(30)

MESSAGE = b'{"method":"t/small","params":{"n":1}}\n'
# What one small message may cost at its peak: its chunk, its lines, its parse.
# A read that allocates a whole 64 or 128 KiB buffer is far above.
MAX_PEAK_BYTES = 16 * 1024


@contextmanager
def peak_bytes() -> Iterator[list[int]]:
    """The peak of what was allocated inside (traced from the start of the block), in a list of one."""
    peak: list[int] = []
    tracemalloc.start()
    try:
        yield peak
        peak.append(tracemalloc.get_traced_memory()[1])
    finally:
        tracemalloc.stop()


def test_stdio_small_round_trips_cost_small_reads(connect: Callable[..., tuple[RpcConnection, StdioTransport]]) -> None:
    conn, _ = connect()
    conn.call("warm/up")  # the reader is running and has read once
    with peak_bytes() as peak:
        for n in range(20):
            assert conn.call("echo", {"n": n}) == {"method": "echo", "params": {"n": n}, "hasParams": True}
    # The reader is blocked in its next read: what that read holds counts too.
    assert peak[0] <= MAX_PEAK_BYTES, f"small round trips peaked at {peak[0]:,} bytes"


def test_a_socket_read_of_a_small_message_is_small() -> None:
    ours, theirs = socket.socketpair()
    stream = SocketStream(ours)
    try:
        theirs.sendall(MESSAGE)
        with peak_bytes() as peak:
            assert stream.read() == MESSAGE
        assert peak[0] <= MAX_PEAK_BYTES, f"reading {len(MESSAGE)} bytes peaked at {peak[0]:,} bytes"
    finally:
        stream.close(1.0)
        theirs.close()


def test_a_command_read_of_a_small_message_is_small() -> None:
    say = f"import sys; sys.stdout.buffer.write({MESSAGE!r}); sys.stdout.flush(); sys.stdin.read()"
    stream = CommandStream([sys.executable, "-c", say])
    try:
        with peak_bytes() as peak:
            assert stream.read() == MESSAGE
        assert peak[0] <= MAX_PEAK_BYTES, f"reading {len(MESSAGE)} bytes peaked at {peak[0]:,} bytes"
    finally:
        stream.close(5.0)


def test_a_tls_read_of_a_small_message_is_small(tmp_path: Path) -> None:
    certificate = self_signed_certificate(tmp_path)
    if certificate is None:
        pytest.skip("no openssl command to make a certificate")
    server_context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server_context.load_cert_chain(certificate.cert, certificate.key)
    ours, theirs = socket.socketpair()
    ours.settimeout(10)

    def serve() -> None:
        with server_context.wrap_socket(theirs, server_side=True) as tls:
            tls.sendall(MESSAGE)
            tls.recv(1)  # until the client closes

    server = threading.Thread(target=serve, daemon=True)
    server.start()
    stream = TlsStream(ours, ssl.create_default_context(cafile=str(certificate.cert)), "127.0.0.1")
    try:
        with peak_bytes() as peak:
            got = b""
            while len(got) < len(MESSAGE):
                got += stream.read()
        assert got == MESSAGE
        assert peak[0] <= MAX_PEAK_BYTES, f"reading {len(MESSAGE)} bytes peaked at {peak[0]:,} bytes"
    finally:
        stream.close(1.0)
        server.join(10)
