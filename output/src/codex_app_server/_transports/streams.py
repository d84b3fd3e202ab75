"""Byte streams a websocket runs over: a TCP (or TLS) socket, a unix socket, a command's pipes.

Each is a blocking, two-way byte pipe with one reader and serialized
writers; :class:`~.websocket.WebSocketTransport` speaks the websocket
protocol over any of them. ``describe`` names the far end in errors and
never includes a credential.
"""

from __future__ import annotations

import collections
import os
import socket
import subprocess
import threading
from collections.abc import Sequence
from typing import TYPE_CHECKING, Protocol

from .stdio import _join_tail, _pump_stderr, _stop_process

if TYPE_CHECKING:
    import ssl

__all__ = ["ByteStream", "CommandStream", "SocketStream", "TlsStream", "open_tcp", "open_unix"]

# Bytes per read. A flood of small messages goes up the stack one read at a
# time; 128 KiB (~600 deltas) keeps what the reader parsed in the CPU's cache
# until the consumer takes it (tests/bench flood_ws: 256 KiB costs ~3% more).
_READ_CHUNK = 1 << 17


class ByteStream(Protocol):
    """A connected two-way byte pipe."""

    def read(self) -> bytes:
        """The next bytes; ``b""`` at end of stream. Only the reader thread calls it."""
        ...

    def write(self, data: bytes) -> None:
        """Write all of ``data``; raises OSError when the peer is gone."""
        ...

    def shutdown_write(self) -> None:
        """Half-close: the peer reads end of stream."""
        ...

    def close(self, timeout: float) -> None:
        """Release everything; a blocked ``read`` returns. Idempotent."""
        ...

    def stderr_tail(self) -> str:
        """Diagnostics of the peer process, if there is one."""
        ...


class SocketStream:
    """A connected stream socket (TCP, TLS over TCP, or unix)."""

    def __init__(self, sock: socket.socket) -> None:
        self._sock = sock
        self._recv = sock.recv
        self._closed = False

    def read(self) -> bytes:
        return self._recv(_READ_CHUNK)

    def write(self, data: bytes) -> None:
        self._sock.sendall(data)

    def shutdown_write(self) -> None:
        try:
            self._sock.shutdown(socket.SHUT_WR)
        except OSError:
            pass

    def close(self, timeout: float) -> None:
        if self._closed:
            return
        self._closed = True
        try:  # wakes a reader blocked in recv(); close() alone would not
            self._sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self._sock.close()

    def stderr_tail(self) -> str:
        return ""


def open_tcp(host: str, port: int, timeout: float, tls: ssl.SSLContext | None) -> SocketStream | TlsStream:
    """Connect to ``host:port`` (TLS with ``tls``, handshake included); raises OSError."""
    sock = socket.create_connection((host, port), timeout=timeout)
    try:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        stream = SocketStream(sock) if tls is None else TlsStream(sock, tls, host)
        sock.settimeout(None)
    except BaseException:
        sock.close()
        raise
    return stream


class TlsStream(SocketStream):
    """TLS over a connected socket: the ``ssl`` module's TLS machine (``SSLObject``) over memory buffers.

    Not an ``SSLSocket``: the reader thread reads while other threads write,
    and OpenSSL forbids reading and writing one TLS connection at the same
    time (an ``SSLSocket`` would run both at once, outside the GIL). Here the
    socket I/O runs concurrently while the TLS object is used under a lock,
    never during I/O; every TLS record leaves through one sender at a time,
    in the order it was made. A record the reader's side makes (a key update,
    an alert) is sent without waiting for a blocked writer: that writer sends
    it when it is done.
    """

    def __init__(self, sock: socket.socket, context: ssl.SSLContext, server_hostname: str) -> None:
        """Run the handshake on ``sock`` (within its timeout); raises OSError, e.g. for an untrusted certificate."""
        import ssl

        super().__init__(sock)
        self._ssl = ssl
        self._incoming = ssl.MemoryBIO()
        self._outgoing = ssl.MemoryBIO()
        self._tls = context.wrap_bio(self._incoming, self._outgoing, server_hostname=server_hostname)
        self._tls_lock = threading.Lock()  # the TLS object and its buffers
        self._send_lock = threading.Lock()  # one sender on the socket: records go out in order
        try:
            self._handshake()
        except ssl.SSLCertVerificationError as exc:
            raise ConnectionError(
                f"the server's TLS certificate is not trusted ({exc.verify_message}): pass ssl_context, "
                "an ssl.SSLContext that trusts it (e.g. ssl.create_default_context(cafile=...))"
            ) from exc

    def _handshake(self) -> None:
        while True:
            try:
                self._tls.do_handshake()
                break
            except self._ssl.SSLWantReadError:
                self._sock.sendall(self._outgoing.read())
                data = self._sock.recv(_READ_CHUNK)
                if not data:
                    raise ConnectionError("the server closed the connection during the TLS handshake") from None
                self._incoming.write(data)
        self._sock.sendall(self._outgoing.read())

    def read(self) -> bytes:
        ssl = self._ssl
        while True:
            chunks = []
            end = False
            with self._tls_lock:
                while True:  # every record already here: one TLS read returns one record at most
                    try:
                        chunk = self._tls.read(_READ_CHUNK)
                    except ssl.SSLWantReadError:
                        break
                    except ssl.SSLZeroReturnError:  # the server's close_notify
                        end = True
                        break
                    if not chunk:
                        end = True
                        break
                    chunks.append(chunk)
            if self._outgoing.pending:  # reading made records to send (a key update)
                self._send_pending(blocking=False)
            if chunks:
                return b"".join(chunks)
            if end:
                return b""
            data = self._sock.recv(_READ_CHUNK)
            if not data:
                return b""
            with self._tls_lock:
                self._incoming.write(data)

    def write(self, data: bytes) -> None:
        with self._send_lock:
            with self._tls_lock:
                self._tls.write(data)
                records = self._outgoing.read()
            self._sock.sendall(records)
        self._send_pending(blocking=False)  # what the reader made while this was sending

    def _send_pending(self, *, blocking: bool) -> None:
        """Send the records waiting in the buffer, unless (not ``blocking``) a sender is busy: it sends them after."""
        while self._outgoing.pending:
            if not self._send_lock.acquire(blocking=blocking):
                return
            try:
                with self._tls_lock:
                    records = self._outgoing.read()
                if records:
                    self._sock.sendall(records)
            finally:
                self._send_lock.release()


# sun_path holds 108 bytes on Linux (104 on macOS), the terminating NUL included.
_MAX_UNIX_PATH = 103


def open_unix(path: str, timeout: float) -> SocketStream:
    """Connect to the unix socket at ``path`` (of any length); raises OSError."""
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    directory_fd = None
    try:
        address, directory_fd = _short_unix_address(path)
        sock.settimeout(timeout)
        sock.connect(address)
        sock.settimeout(None)
    except BaseException:
        sock.close()
        raise
    finally:
        if directory_fd is not None:
            os.close(directory_fd)
    return SocketStream(sock)


def _short_unix_address(path: str) -> tuple[str, int | None]:
    """An address for ``path`` that fits in sun_path.

    A deep CODEX_HOME makes the control socket's path too long for
    ``connect`` ("AF_UNIX path too long"). The daemon's socket is a symlink
    to a short path, so the real path usually fits; else, on Linux, the
    socket is reached through ``/proc/self/fd`` of its directory.
    """
    if len(os.fsencode(path)) <= _MAX_UNIX_PATH:
        return path, None
    real = os.path.realpath(path)
    if len(os.fsencode(real)) <= _MAX_UNIX_PATH:
        return real, None
    directory, name = os.path.split(real)
    if not hasattr(os, "O_PATH") or not os.path.isdir("/proc/self/fd"):
        return real, None  # connect() will say the path is too long
    directory_fd = os.open(directory, os.O_PATH | os.O_DIRECTORY)
    return f"/proc/self/fd/{directory_fd}/{name}", directory_fd


class CommandStream:
    """A command whose stdin/stdout carry the bytes (``ssh host codex app-server proxy``).

    The command runs without a shell, in its own session; its stderr is kept
    (bounded) for error messages. Closing it closes stdin, then terminates
    and, if need be, kills it.
    """

    def __init__(self, argv: Sequence[str], stderr_lines: int = 200) -> None:
        self._tail: collections.deque[str] = collections.deque(maxlen=stderr_lines)
        self._tail_lock = threading.Lock()
        self._proc = subprocess.Popen(
            list(argv),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            bufsize=0,
            shell=False,
            close_fds=True,
            start_new_session=os.name == "posix",
        )
        assert self._proc.stdin is not None and self._proc.stdout is not None and self._proc.stderr is not None
        self._stdin = self._proc.stdin
        self._stdout_fd = self._proc.stdout.fileno()
        self._stderr_thread = threading.Thread(
            target=_pump_stderr,
            args=(self._proc.stderr, self._tail, self._tail_lock),
            name=f"codex-command-stderr-{self._proc.pid}",
            daemon=True,
        )
        self._stderr_thread.start()
        self._closed = False

    @property
    def pid(self) -> int:
        return self._proc.pid

    def read(self) -> bytes:
        return os.read(self._stdout_fd, _READ_CHUNK)

    def write(self, data: bytes) -> None:
        view = memoryview(data)
        while view:
            written = self._stdin.write(view)
            if written is None:  # pragma: no cover - only for non-blocking pipes
                continue
            view = view[written:]

    def shutdown_write(self) -> None:
        try:
            self._stdin.close()
        except OSError:
            pass

    def close(self, timeout: float) -> None:
        if self._closed:
            return
        self._closed = True
        self.shutdown_write()
        _stop_process(self._proc, timeout)
        self._stderr_thread.join(timeout)
        for stream in (self._proc.stdout, self._proc.stderr):
            if stream is not None:
                try:
                    stream.close()
                except OSError:
                    pass

    def stderr_tail(self) -> str:
        return _join_tail(self._tail, self._tail_lock)

    @property
    def returncode(self) -> int | None:
        return self._proc.poll()
