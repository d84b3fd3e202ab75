"""Byte streams a websocket runs over: a TCP (or TLS) socket, a unix socket, a command's pipes.

Each is a two-way byte pipe with one reader and serialized writers;
:class:`~.websocket.WebSocketTransport` speaks the websocket protocol over
any of them. ``describe`` names the far end in errors and never includes a
credential.

Writing never blocks without a bound: bytes are first queued (in order, no
I/O), then sent by :meth:`ByteStream.flush`, which waits for the peer to take
them until a deadline, or by :meth:`ByteStream.try_flush`, which sends what
goes at once and never waits (the reader thread's way: it must never stop
reading because the peer stopped reading). Sockets and the command's stdin
are non-blocking; waiting is a ``poll`` with a timeout.
"""

from __future__ import annotations

import collections
import io
import os
import select
import socket
import subprocess
import threading
import time
from collections.abc import Sequence
from typing import TYPE_CHECKING, Protocol, cast

from .stdio import _exact_reads, _join_tail, _pump_stderr, _stop_process

if TYPE_CHECKING:
    import ssl

__all__ = ["ByteStream", "CommandStream", "SocketStream", "TlsStream", "WriteTimeout", "open_tcp", "open_unix"]

# Bytes per read. A flood of small messages goes up the stack one read at a
# time; 128 KiB (~600 deltas) keeps what the reader parsed in the CPU's cache
# until the consumer takes it (tests/bench flood_ws: 256 KiB costs ~3% more).
_READ_CHUNK = 1 << 17


class WriteTimeout(TimeoutError):
    """:meth:`ByteStream.flush` ran out of time; ``unsent`` bytes stay queued (in order)."""

    def __init__(self, message: str, *, stalled: bool, unsent: int) -> None:
        super().__init__(message)
        self.stalled = stalled  # no byte went out for ``stall`` seconds (else: the deadline passed)
        self.unsent = unsent


class ByteStream(Protocol):
    """A connected two-way byte pipe."""

    def read(self) -> bytes:
        """The next bytes; ``b""`` at end of stream. Only the reader thread calls it."""
        ...

    def queue(self, data: bytes) -> None:
        """Append ``data`` to what is to be sent, after everything queued before. No I/O; thread-safe."""
        ...

    def flush(self, deadline: float | None, stall: float | None) -> None:
        """Send everything queued.

        Raises :class:`WriteTimeout` when ``deadline`` (``time.monotonic()``)
        passes or when no byte goes out for ``stall`` seconds (what is not
        sent stays queued), OSError when the peer is gone.
        """
        ...

    def try_flush(self) -> bool:
        """Send what the peer takes at once, never waiting; True when nothing is left queued.

        Raises OSError when the peer is gone.
        """
        ...

    def unsent(self) -> int:
        """Bytes queued and not sent yet."""
        ...

    def shutdown_write(self) -> None:
        """Half-close: the peer reads end of stream."""
        ...

    def close(self, timeout: float) -> None:
        """Release everything; a blocked ``read`` or ``flush`` returns. Idempotent."""
        ...

    def stderr_tail(self) -> str:
        """Diagnostics of the peer process, if there is one."""
        ...


_POLL = getattr(select, "poll", None)  # not on Windows: select() there (no fd-number limit)


def _wait_ready(fd: int, *, write: bool, timeout: float | None) -> None:
    """Wait until ``fd`` is readable (or writable), closed or failed, or ``timeout`` seconds passed."""
    if _POLL is not None:
        poller = _POLL()
        poller.register(fd, select.POLLOUT if write else select.POLLIN)
        poller.poll(None if timeout is None else max(timeout, 0.0) * 1000)
    elif write:
        select.select([], [fd], [fd], timeout)
    else:
        select.select([fd], [], [fd], timeout)


class _Outgoing:
    """The queue of bytes to send and its flushing, over a non-blocking ``_send_some``.

    One flusher at a time (``_flush_lock``); what the others queue meanwhile
    is sent by it: after releasing the lock a flusher looks again, so bytes
    queued by a thread that found the lock taken are never left behind.
    """

    def __init__(self) -> None:
        self._queued: collections.deque[bytes | memoryview] = collections.deque()
        self._queued_bytes = 0
        self._queue_lock = threading.Lock()
        self._flush_lock = threading.Lock()

    # what a concrete stream provides

    def _send_some(self, data: bytes | memoryview) -> int:
        """Send a prefix of ``data`` without waiting; the bytes sent (0: the peer takes nothing now)."""
        raise NotImplementedError

    def _fileno(self) -> int:
        raise NotImplementedError

    # the queue

    def queue(self, data: bytes) -> None:
        if data:
            with self._queue_lock:
                self._queued.append(data)
                self._queued_bytes += len(data)

    def unsent(self) -> int:
        return self._queued_bytes

    def _send_queued(self) -> bool:
        """Send until the queue is empty (True) or the peer takes nothing more now (False). Holds the flush lock."""
        queued = self._queued
        while queued:
            head = queued[0]
            sent = self._send_some(head)
            if not sent:
                return False
            with self._queue_lock:
                self._queued_bytes -= sent
                if sent == len(head):
                    queued.popleft()
                else:
                    queued[0] = memoryview(head)[sent:]
        return True

    def try_flush(self) -> bool:
        while self._queued:
            if not self._flush_lock.acquire(blocking=False):
                return False  # the flusher holding it sends what is queued
            try:
                if not self._send_queued():
                    return False
            finally:
                self._flush_lock.release()
        return True

    def flush(self, deadline: float | None, stall: float | None) -> None:
        monotonic = time.monotonic
        while self._queued:
            wait = None if deadline is None else deadline - monotonic()
            if not self._flush_lock.acquire(timeout=-1 if wait is None else max(wait, 0.0)):
                raise WriteTimeout("the deadline passed", stalled=False, unsent=self._queued_bytes)
            try:
                progress_by = None if stall is None else monotonic() + stall
                while True:
                    before = self._queued_bytes
                    if self._send_queued():
                        break
                    now = monotonic()
                    if self._queued_bytes != before and stall is not None:
                        progress_by = now + stall
                    limits = [t for t in (deadline, progress_by) if t is not None]
                    until = min(limits) if limits else None
                    if until is not None and now >= until:
                        stalled = progress_by is not None and until == progress_by
                        what = f"nothing was taken for {stall} s" if stalled else "the deadline passed"
                        raise WriteTimeout(what, stalled=stalled, unsent=self._queued_bytes)
                    _wait_ready(self._fileno(), write=True, timeout=None if until is None else until - now)
            finally:
                self._flush_lock.release()


class SocketStream(_Outgoing):
    """A connected stream socket (TCP, TLS over TCP, or unix), made non-blocking."""

    def __init__(self, sock: socket.socket) -> None:
        super().__init__()
        self._sock = sock
        self._recv = _exact_reads(sock.recv_into, _READ_CHUNK)
        self._fd = sock.fileno()
        self._closed = False
        sock.setblocking(False)

    def _fileno(self) -> int:
        return self._fd

    def _recv_some(self) -> bytes:
        """The next bytes the socket has, waiting for them."""
        while True:
            try:
                return self._recv()
            except BlockingIOError:
                _wait_ready(self._fd, write=False, timeout=None)
            except OSError:
                if self._closed:  # closed under the reader (close(), a close timeout): the end of the stream
                    return b""
                raise

    def read(self) -> bytes:
        return self._recv_some()

    def _send_some(self, data: bytes | memoryview) -> int:
        try:
            return self._sock.send(data)
        except BlockingIOError:
            return 0

    def shutdown_write(self) -> None:
        try:
            self._sock.shutdown(socket.SHUT_WR)
        except OSError:
            pass

    def close(self, timeout: float) -> None:
        if self._closed:
            return
        self._closed = True
        try:  # wakes a reader waiting for data and a writer waiting for room; close() alone would not
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
    never during I/O. Every record is queued as it is made, under that lock,
    so records leave in the order they were made; a record the reader's side
    makes (a key update, an alert) is sent without waiting for the peer.
    """

    def __init__(self, sock: socket.socket, context: ssl.SSLContext, server_hostname: str) -> None:
        """Run the handshake on ``sock`` (within its timeout); raises OSError, e.g. for an untrusted certificate."""
        import ssl

        self._ssl = ssl
        self._incoming = ssl.MemoryBIO()
        self._outgoing = ssl.MemoryBIO()
        self._tls = tls = context.wrap_bio(self._incoming, self._outgoing, server_hostname=server_hostname)
        self._tls_lock = threading.Lock()  # the TLS object and its buffers
        # Given a buffer, SSLObject.read returns the count (typeshed says bytes).
        self._tls_read = _exact_reads(lambda buffer: cast(int, tls.read(len(buffer), buffer)), _READ_CHUNK)
        try:
            self._handshake(sock)
        except ssl.SSLCertVerificationError as exc:
            raise ConnectionError(
                f"the server's TLS certificate is not trusted ({exc.verify_message}): pass ssl_context, "
                "an ssl.SSLContext that trusts it (e.g. ssl.create_default_context(cafile=...))"
            ) from exc
        super().__init__(sock)

    def _handshake(self, sock: socket.socket) -> None:
        """The TLS handshake on the still blocking socket (its timeout is the connect timeout)."""
        while True:
            try:
                self._tls.do_handshake()
                break
            except self._ssl.SSLWantReadError:
                sock.sendall(self._outgoing.read())
                data = sock.recv(_READ_CHUNK)
                if not data:
                    raise ConnectionError("the server closed the connection during the TLS handshake") from None
                self._incoming.write(data)
        sock.sendall(self._outgoing.read())

    def _queue_records(self) -> None:
        """Queue the records the TLS object made; the caller holds the TLS lock (records keep their order)."""
        if self._outgoing.pending:
            super().queue(self._outgoing.read())

    def queue(self, data: bytes) -> None:
        with self._tls_lock:
            self._tls.write(data)
            self._queue_records()

    def read(self) -> bytes:
        ssl = self._ssl
        while True:
            chunks = []
            end = False
            with self._tls_lock:
                while True:  # every record already here: one TLS read returns one record at most
                    try:
                        chunk = self._tls_read()
                    except ssl.SSLWantReadError:
                        break
                    except ssl.SSLZeroReturnError:  # the server's close_notify
                        end = True
                        break
                    if not chunk:
                        end = True
                        break
                    chunks.append(chunk)
                made_records = bool(self._outgoing.pending)  # reading made records to send (a key update)
                if made_records:
                    self._queue_records()
            if made_records:
                self.try_flush()
            if chunks:
                return b"".join(chunks)
            if end:
                return b""
            data = self._recv_some()
            if not data:
                return b""
            with self._tls_lock:
                self._incoming.write(data)


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


class CommandStream(_Outgoing):
    """A command whose stdin/stdout carry the bytes (``ssh host codex app-server proxy``).

    The command runs without a shell, in its own session; its stderr is kept
    (bounded) for error messages. Closing it closes stdin, then terminates
    and, if need be, kills it.
    """

    def __init__(self, argv: Sequence[str], stderr_lines: int = 200) -> None:
        super().__init__()
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
        # A reader of its own, never closed: after close() a read fails like os.read (OSError), not ValueError.
        self._read = _exact_reads(io.FileIO(self._proc.stdout.fileno(), closefd=False).readinto, _READ_CHUNK)
        self._stderr_thread = threading.Thread(
            target=_pump_stderr,
            args=(self._proc.stderr, self._tail, self._tail_lock),
            name=f"codex-command-stderr-{self._proc.pid}",
            daemon=True,
        )
        self._stderr_thread.start()
        self._closed = False
        self._stdin_fd = self._stdin.fileno()
        if _POLL is not None:  # POSIX: a pipe can be non-blocking (on Windows a write waits for the reader)
            os.set_blocking(self._stdin_fd, False)

    @property
    def pid(self) -> int:
        return self._proc.pid

    def read(self) -> bytes:
        return self._read()

    def _fileno(self) -> int:
        return self._stdin_fd

    def _send_some(self, data: bytes | memoryview) -> int:
        try:
            return os.write(self._stdin_fd, data)
        except BlockingIOError:
            return 0

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
