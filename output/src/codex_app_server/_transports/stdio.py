"""The child-process transport: one JSON message per line on stdin/stdout.

:class:`StdioTransport` runs ``codex app-server --listen stdio://`` as a child
process (never through a shell) and pumps its stdout and stderr on two daemon
threads.
"""

from __future__ import annotations

import collections
import functools
import io
import logging
import os
import re
import signal
import subprocess
import threading
import weakref
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import IO, cast

from .._errors import CodexRuntimeError, CodexValueError, TransportClosedError
from .base import CloseHandler, MessagesHandler

__all__ = ["StdioTransport"]

logger = logging.getLogger("codex_app_server")

# Size of each pipe buffer and of each read of stdout. Linux pipes hold 64 KiB,
# so a bigger one buys nothing; a line longer than a read spans several.
_PIPE_BUFFER = 1 << 16
# After stdout ends, how long the reader waits for the exit status and the
# last stderr lines before reporting the close.
_EXIT_GRACE_S = 0.25
# At interpreter exit, how long a forgotten child gets after stdin closes.
_ATEXIT_GRACE_S = 0.5
_MAX_STDERR_LINE = 4000
_ANSI_ESCAPE = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")
_POSIX = os.name == "posix"


class StdioTransport:
    """Run ``argv`` as a child process speaking JSON lines on stdin/stdout.

    * ``shell=False`` always; ``argv`` goes to the OS as given.
    * The child gets its own session (POSIX) or process group (Windows), so
      a Ctrl-C in the terminal reaches only this Python process, whose code
      decides what to do (e.g. interrupt the turn) instead of codex dying.
    * stderr is kept in a bounded buffer (``stderr_buffer_lines``) for error
      messages and logged line by line at DEBUG on logger ``codex_app_server``.
      The environment is never logged.
    * A child that is never closed is stopped when the transport is garbage
      collected or, at the latest, at interpreter exit.
    """

    def __init__(
        self,
        argv: Sequence[str],
        env: Mapping[str, str] | None = None,
        cwd: str | os.PathLike[str] | None = None,
        stderr_buffer_lines: int = 200,
    ) -> None:
        if isinstance(argv, str) or not argv:
            raise CodexValueError("argv must be a non-empty sequence of arguments")
        self._argv = [os.fspath(arg) for arg in argv]
        self._env = dict(env) if env is not None else None
        self._cwd = cwd
        self._tail: collections.deque[str] = collections.deque(maxlen=stderr_buffer_lines)
        self._tail_lock = threading.Lock()
        self._send_lock = threading.Lock()
        self._state_lock = threading.Lock()
        self._proc: subprocess.Popen[bytes] | None = None
        self._stdin: IO[bytes] | None = None
        self._closed = False
        self._stdout_thread: threading.Thread | None = None
        self._stderr_thread: threading.Thread | None = None
        self._finalizer: weakref.finalize[[subprocess.Popen[bytes]], StdioTransport] | None = None

    # -- Transport interface -------------------------------------------------

    def start(self, on_messages: MessagesHandler, on_close: CloseHandler) -> None:
        with self._state_lock:
            if self._proc is not None or self._closed:
                raise CodexRuntimeError("StdioTransport.start() may be called only once")
            try:
                proc = subprocess.Popen(
                    self._argv,
                    stdin=subprocess.PIPE,
                    stdout=subprocess.PIPE,
                    stderr=subprocess.PIPE,
                    bufsize=_PIPE_BUFFER,
                    env=self._env,
                    cwd=self._cwd,
                    shell=False,
                    close_fds=True,
                    start_new_session=_POSIX,
                    creationflags=0 if _POSIX else _windows_new_group_flag(),
                )
            except OSError as exc:
                raise TransportClosedError(f"could not start {self._argv[0]!r}: {exc}") from exc
            assert proc.stdin is not None and proc.stdout is not None
            assert proc.stderr is not None
            self._proc = proc
            self._stdin = proc.stdin
            self._finalizer = weakref.finalize(self, _stop_forgotten, proc)
            # The pump threads get only what they need, never ``self``, so a
            # dropped transport can still be collected and its child stopped.
            self._stderr_thread = threading.Thread(
                target=_pump_stderr,
                args=(proc.stderr, self._tail, self._tail_lock),
                name=f"codex-app-server-stderr-{proc.pid}",
                daemon=True,
            )
            self._stdout_thread = threading.Thread(
                target=_pump_stdout,
                args=(
                    proc,
                    self._stderr_thread,
                    functools.partial(_join_tail, self._tail, self._tail_lock),
                    on_messages,
                    on_close,
                ),
                name=f"codex-app-server-stdout-{proc.pid}",
                daemon=True,
            )
            self._stderr_thread.start()
            self._stdout_thread.start()

    def send(self, line: bytes, timeout: float | None = None) -> None:
        with self._send_lock:
            stdin = self._stdin
            if stdin is None:
                raise TransportClosedError("transport is closed")
            try:
                stdin.write(line)
                stdin.flush()
            except (OSError, ValueError) as exc:  # BrokenPipeError, closed file
                raise TransportClosedError(
                    "codex app-server is not accepting input",
                    returncode=self.returncode,
                    stderr_tail=self.stderr_tail(),
                ) from exc

    def close(self, timeout: float = 2.0) -> None:
        """Close stdin, wait up to ``timeout`` s, SIGTERM, wait, then SIGKILL.

        Reaps the child (no zombie) and joins the pump threads. Idempotent and
        safe to call from any thread, including a callback on the reader.
        """
        with self._state_lock:
            if self._closed:
                return
            self._closed = True
            proc = self._proc
        if proc is None:
            return
        # EOF on stdin asks the server to exit. A sender blocked on a full
        # pipe holds the lock; then go on to the signals, which unblock it,
        # and close stdin after.
        self._close_stdin(max(timeout, 0.05))
        _stop_process(proc, timeout)
        self._close_stdin(max(timeout, 0.05))
        current = threading.current_thread()
        for thread in (self._stdout_thread, self._stderr_thread):
            if thread is not None and thread is not current:
                thread.join(max(timeout, _EXIT_GRACE_S))
        for thread, stream in (
            (self._stdout_thread, proc.stdout),
            (self._stderr_thread, proc.stderr),
        ):
            # Closing a stream another thread is reading would block on its
            # lock; a still-running pump keeps its stream until it ends.
            if stream is not None and (thread is None or not thread.is_alive()):
                _close_quietly(stream)
        if self._finalizer is not None:
            self._finalizer.detach()

    def _close_stdin(self, timeout: float) -> None:
        if self._stdin is None or not self._send_lock.acquire(timeout=timeout):
            return
        try:
            stdin, self._stdin = self._stdin, None
            if stdin is not None:
                _close_quietly(stdin)
        finally:
            self._send_lock.release()

    def stderr_tail(self) -> str:
        return _join_tail(self._tail, self._tail_lock)

    @property
    def is_alive(self) -> bool:
        proc = self._proc
        return proc is not None and not self._closed and proc.poll() is None

    # -- extras ---------------------------------------------------------------

    @property
    def process(self) -> subprocess.Popen[bytes] | None:
        """The child process, once started."""
        return self._proc

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc is not None else None

    @property
    def returncode(self) -> int | None:
        """Exit status once the child has exited (negative: killed by signal)."""
        return self._proc.poll() if self._proc is not None else None


def _windows_new_group_flag() -> int:
    return int(getattr(subprocess, "CREATE_NEW_PROCESS_GROUP", 0))


def _join_tail(tail: collections.deque[str], lock: threading.Lock) -> str:
    with lock:
        return "\n".join(tail)


def _pump_stdout(
    proc: subprocess.Popen[bytes],
    stderr_thread: threading.Thread,
    stderr_tail: Callable[[], str],
    on_messages: MessagesHandler,
    on_close: CloseHandler,
) -> None:
    stdout = cast("io.BufferedReader", proc.stdout)  # buffered: Popen got bufsize > 0
    error: BaseException | None = None
    try:
        for lines in _complete_lines(_exact_reads(stdout.readinto1, _PIPE_BUFFER)):
            try:
                on_messages(lines)
            except Exception:
                logger.exception("codex_app_server: message handler failed; messages dropped")
    except (OSError, ValueError) as exc:  # ValueError: stream closed under us
        error = exc
    finally:
        # The pump is the stream's only reader: it closes the pipe itself, so
        # the descriptor goes when the stream ends even when close() gave up
        # joining this thread (a loaded machine, a slow close handler).
        _close_quietly(stdout)
    # Give the child a moment to exit and stderr to drain, so the error can
    # carry the exit status and the last words of the process.
    try:
        proc.wait(timeout=_EXIT_GRACE_S)
    except subprocess.TimeoutExpired:
        pass
    stderr_thread.join(_EXIT_GRACE_S)
    returncode = proc.poll()
    reason = "codex app-server exited" if returncode is not None else "codex app-server closed its stdout"
    closed = TransportClosedError(reason, returncode=returncode, stderr_tail=stderr_tail())
    closed.__cause__ = error
    try:
        on_close(closed)
    except Exception:
        logger.exception("codex_app_server: close handler failed")


def _exact_reads(readinto: Callable[[memoryview], int], size: int) -> Callable[[], bytes]:
    """Reads of up to ``size`` bytes into one buffer, each returning a copy of exactly what came.

    ``read1(n)``, ``recv(n)`` and ``os.read(fd, n)`` allocate n bytes and
    shrink them to what came: with 64 or 128 KiB asked and a few hundred
    bytes a message, the shrunk blocks and their holes fragmented malloc's
    arena of the reader thread, and the client's RSS grew over real turns
    while its live heap stayed flat (stdio: ~5 KiB a turn over the first
    hundred, still ~0.45 KiB a turn at turn 1,000; websocket: ~2.4 KiB a turn
    at turn 600; tests/bench memory_turns). A copy of what came costs far
    less than its parse.
    """
    buffer = memoryview(bytearray(size))

    def read() -> bytes:
        return buffer[: readinto(buffer)].tobytes()

    return read


def _complete_lines(read: Callable[[], bytes]) -> Iterator[list[bytes]]:
    """The complete lines of each read (without their newline), until end of stream.

    One read of a busy pipe holds hundreds of lines: they are split in one
    step and handed on together. A line longer than a read is gathered in
    parts and joined once, so its cost stays linear in its length.
    """
    parts: list[bytes] = []  # the unfinished line
    while True:
        chunk = read()
        if not chunk:
            break
        lines = chunk.split(b"\n")
        tail = lines.pop()  # after the last newline: the start of the next line
        if lines:
            if parts:
                parts.append(lines[0])
                lines[0] = b"".join(parts)
                parts = []
            yield lines
        if tail:
            parts.append(tail)
    if parts:  # a last line without its newline
        yield [b"".join(parts)]


def _pump_stderr(stderr: IO[bytes], tail: collections.deque[str], tail_lock: threading.Lock) -> None:
    try:
        for raw in iter(stderr.readline, b""):
            text = _ANSI_ESCAPE.sub("", raw.decode("utf-8", "replace").rstrip("\r\n"))
            if len(text) > _MAX_STDERR_LINE:
                text = text[:_MAX_STDERR_LINE] + " [...]"
            with tail_lock:
                tail.append(text)
            if logger.isEnabledFor(logging.DEBUG):
                logger.debug("codex stderr: %s", text)
    except (OSError, ValueError):
        pass
    finally:
        _close_quietly(stderr)


def _close_quietly(stream: IO[bytes]) -> None:
    try:
        stream.close()
    except (OSError, ValueError):
        pass


def _signal(proc: subprocess.Popen[bytes], *, kill: bool) -> None:
    """SIGTERM the child, or SIGKILL its whole process group."""
    try:
        if kill and _POSIX and proc.poll() is None:
            # The child leads its own session (start_new_session), so this
            # also takes down anything it spawned and left running.
            os.killpg(proc.pid, signal.SIGKILL)
        elif kill:
            proc.kill()
        else:
            proc.terminate()
    except (ProcessLookupError, PermissionError):
        pass


def _stop_process(proc: subprocess.Popen[bytes], timeout: float) -> None:
    """Wait, then SIGTERM and wait, then SIGKILL and reap. stdin is closed."""
    for next_step in ("terminate", "kill"):
        try:
            proc.wait(timeout=timeout)
            return
        except subprocess.TimeoutExpired:
            pass
        logger.debug("codex app-server did not exit in %.1fs; %s", timeout, next_step)
        _signal(proc, kill=next_step == "kill")
    try:
        proc.wait(timeout=max(timeout, 5.0))
    except subprocess.TimeoutExpired:  # pragma: no cover - unkillable process
        logger.warning("codex app-server (pid %d) survived SIGKILL", proc.pid)


def _stop_forgotten(proc: subprocess.Popen[bytes]) -> None:
    """Finalizer: stop a child whose transport was dropped without close()."""
    if proc.poll() is not None:
        return
    if proc.stdin is not None:
        try:
            proc.stdin.close()
        except (OSError, ValueError):
            pass
    try:
        proc.wait(timeout=_ATEXIT_GRACE_S)
        return
    except subprocess.TimeoutExpired:
        pass
    _signal(proc, kill=True)
    try:
        proc.wait(timeout=1.0)
    except subprocess.TimeoutExpired:  # pragma: no cover
        pass
