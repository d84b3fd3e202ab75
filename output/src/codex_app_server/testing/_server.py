"""An offline ``codex app-server --listen ws://`` for tests of code that connects to a running server.

The server is the real codex, launched from an :class:`AppServerConfig` (the
testing kit's :func:`offline_config`: the fake provider, a private home),
bound to 127.0.0.1 on a free port and guarded by a capability token, so the
client under test authenticates exactly as it would in production::

    with FakeProvider() as provider:
        with websocket_server(offline_config(provider, home=tmp_path)) as server:
            with Codex.connect(server.url, token=server.token) as codex:
                ...

On exit the server is stopped (SIGTERM, then SIGKILL) by its pid.
"""

from __future__ import annotations

import collections
import os
import re
import secrets
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from .._config import AppServerConfig, build_env, check_cwd, codex_binary
from .._errors import TransportClosedError
from .._transports.stdio import _signal as signal_process

__all__ = ["WebSocketServer", "websocket_server"]

# codex prints the bound address on stderr once it accepts connections.
_LISTENING = re.compile(r"listening on: (ws://\S+)")
_ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")
# What the server is told to bind: loopback only, the port chosen by the OS.
_LISTEN = "ws://127.0.0.1:0"
_STDERR_LINES = 50
# How often the wait for the address checks whether codex exited.
_EXIT_POLL_S = 0.05


@dataclass(frozen=True)
class WebSocketServer:
    """A running offline server: connect with ``Codex.connect(url, token=token)``.

    ``token_file`` holds the same token (``Codex.connect(url,
    token_file=...)``); ``pid`` is the server's process id.
    """

    url: str
    token: str
    token_file: Path
    pid: int

    def __repr__(self) -> str:  # the token stays out of logs and assertion messages
        return f"WebSocketServer(url={self.url!r}, pid={self.pid})"


@contextmanager
def websocket_server(config: AppServerConfig, *, token: str | None = None) -> Iterator[WebSocketServer]:
    """Run ``codex app-server --listen ws://127.0.0.1:0`` with capability-token auth while the block runs.

    Args:
        config: How to launch codex (binary, ``-c`` overrides, environment,
            working directory), typically :func:`offline_config`. Its
            ``startup_timeout`` bounds the wait for the server to listen and
            its ``shutdown_timeout`` each stage of the stop.
        token: The capability token clients must send; a random one by default.

    Raises:
        TransportClosedError: the server exited or did not listen within
            ``startup_timeout`` (with its last stderr lines).
    """
    check_cwd(config)
    binary = codex_binary(config)
    with tempfile.TemporaryDirectory(prefix="codex-ws-") as secret_dir:
        token_file = Path(secret_dir) / "token"
        token_file.touch(mode=0o600)
        token_file.write_text(token or secrets.token_urlsafe(32), encoding="utf-8")
        auth = ("--ws-auth", "capability-token", "--ws-token-file", os.fspath(token_file))
        process = subprocess.Popen(
            [*config.server_command(listen=_LISTEN), *auth],
            env=build_env(config, binary),
            cwd=None if config.cwd is None else os.fspath(config.cwd),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            start_new_session=os.name == "posix",  # the kill takes what codex spawned, too
        )
        try:
            url = _StderrWatch(process).wait_for_url(config.startup_timeout)
            yield WebSocketServer(url, token_file.read_text(encoding="utf-8"), token_file, process.pid)
        finally:
            _stop(process, config.shutdown_timeout)


class _StderrWatch:
    """Reads the server's stderr in a thread: the listening address, and the last lines for errors."""

    def __init__(self, process: subprocess.Popen[bytes]) -> None:
        self._process = process
        self._lines: collections.deque[str] = collections.deque(maxlen=_STDERR_LINES)
        self._url: str | None = None
        self._found = threading.Event()
        self._pump_thread = threading.Thread(target=self._pump, name="codex-ws-server-stderr", daemon=True)
        self._pump_thread.start()

    def _pump(self) -> None:
        assert self._process.stderr is not None
        for raw in self._process.stderr:  # until the process closes it: also drains it, so codex never blocks
            line = _ANSI.sub("", raw.decode("utf-8", "replace")).rstrip()
            self._lines.append(line)
            found = _LISTENING.search(line)
            if found and self._url is None:
                self._url = found.group(1)
                self._found.set()
        self._found.set()  # exited: wake the waiter

    def wait_for_url(self, timeout: float) -> str:
        deadline = time.monotonic() + timeout
        # Until the address shows, the process exits (a child of codex may keep stderr open) or time runs out.
        while not self._found.wait(_EXIT_POLL_S) and self._process.poll() is None and time.monotonic() < deadline:
            pass
        if self._url is not None:
            return self._url
        self._pump_thread.join(_EXIT_POLL_S * 10)  # the last lines, when stderr closed with the exit
        returncode = self._process.poll()
        reason = (
            "codex app-server exited before listening"
            if returncode is not None
            else (f"codex app-server did not listen within {timeout} s (AppServerConfig.startup_timeout)")
        )
        raise TransportClosedError(reason, returncode=returncode, stderr_tail="\n".join(self._lines))


def _stop(process: subprocess.Popen[bytes], timeout: float) -> None:
    """SIGTERM, then SIGKILL (its process group) after ``timeout``: by the process handle, never by name."""
    signal_process(process, kill=False)
    try:
        process.wait(timeout)
    except subprocess.TimeoutExpired:
        signal_process(process, kill=True)
        process.wait()
    if process.stderr is not None:
        process.stderr.close()
