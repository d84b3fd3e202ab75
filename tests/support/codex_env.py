"""Run the real ``codex app-server`` offline against a ``FakeProvider``.

Helpers to find the binary, build the ``-c`` overrides and an isolated
environment, and ``RawAppServer``: a deliberately minimal JSON-lines client
(one subprocess, no threads, no pydantic) used to record protocol samples and
as the "raw client" baseline in benchmarks.
"""

from __future__ import annotations

import json
import os
import select
import subprocess
import time
from collections.abc import Callable, Mapping
from typing import IO, Any

# One TOML renderer for the whole project: the SDK's (quoting is security relevant).
from codex_app_server._config import toml_value

# The offline setup is the SDK's public testing kit; these names stay for test helpers.
from codex_app_server.testing import MOCK_API_KEY_ENV, isolated_env
from codex_app_server.testing import provider_overrides as mock_config_overrides

__all__ = [
    "MOCK_API_KEY_ENV",
    "RawAppServer",
    "RawRpcError",
    "find_codex_binary",
    "isolated_env",
    "mock_config_overrides",
    "raw_argv",
    "toml_value",
]


def find_codex_binary() -> str | None:
    """``$CODEX_BIN`` (returned as is, so a wrong path fails loudly), else the
    binary of the ``openai-codex-cli-bin`` package, else None."""
    env = os.environ.get("CODEX_BIN")
    if env:
        return env
    try:
        import codex_cli_bin  # type: ignore[import-not-found]

        return str(codex_cli_bin.bundled_codex_path())
    except (ImportError, FileNotFoundError, OSError):
        return None


def raw_argv(binary: str, overrides: Mapping[str, object]) -> list[str]:
    """``[binary, -c k=v ..., app-server, --strict-config, --listen, stdio://]``."""
    argv = [binary]
    for key, value in overrides.items():
        argv += ["-c", f"{key}={toml_value(value)}"]
    argv += ["app-server", "--strict-config", "--listen", "stdio://"]
    return argv


class RawRpcError(Exception):
    """A JSON-RPC error response; ``error`` is the raw error object."""

    def __init__(self, method: str, error: Mapping[str, Any]) -> None:
        super().__init__(f"{method}: {error.get('code')} {error.get('message')}")
        self.method = method
        self.error = dict(error)
        self.code = error.get("code")


ServerRequestHandler = Callable[[str, Any], Any]


def _default_handler(method: str, params: Any) -> Any:
    if method.endswith("/requestApproval"):
        return {"decision": "accept"}
    raise RawRpcError(method, {"code": -32601, "message": f"unhandled {method}"})


class RawAppServer:
    """Minimal blocking JSON-lines client for ``codex app-server``.

    * ``messages``: every message the server sent, in order (raw dicts).
    * ``notifications``: the notifications among them.
    * server requests are answered inline by ``on_server_request(method,
      params) -> result`` (raise ``RawRpcError`` to send an error). The
      default accepts approvals and rejects anything else.
    """

    def __init__(
        self,
        argv: list[str],
        env: Mapping[str, str] | None = None,
        *,
        cwd: str | os.PathLike[str] | None = None,
        on_server_request: ServerRequestHandler | None = None,
        stderr: int | IO[Any] | None = subprocess.DEVNULL,
    ) -> None:
        self.argv = list(argv)
        self.on_server_request = on_server_request or _default_handler
        self.messages: list[dict[str, Any]] = []
        self.notifications: list[dict[str, Any]] = []
        self.server_requests: list[dict[str, Any]] = []
        self._consumed: set[int] = set()
        self._responses: dict[int, dict[str, Any]] = {}
        self._next_id = 1
        self._buf = bytearray()
        self.proc = subprocess.Popen(
            self.argv,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=stderr,
            env=dict(env) if env is not None else None,
            cwd=cwd,
            bufsize=0,
        )
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self._stdin = self.proc.stdin
        self._fd = self.proc.stdout.fileno()

    # -- context manager ---------------------------------------------------

    def __enter__(self) -> RawAppServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self, timeout: float = 5.0) -> int | None:
        """Close stdin (the server exits on EOF); kill if it lingers."""
        if self.proc.poll() is None:
            try:
                self._stdin.close()
            except OSError:
                pass
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self.proc.stdout is not None:
            self.proc.stdout.close()
        return self.proc.returncode

    # -- wire --------------------------------------------------------------

    def send(self, message: Mapping[str, Any]) -> None:
        self._stdin.write(json.dumps(message, separators=(",", ":")).encode() + b"\n")
        self._stdin.flush()

    def _read_line(self, deadline: float | None) -> bytes:
        while True:
            nl = self._buf.find(b"\n")
            if nl >= 0:
                line = bytes(self._buf[:nl])
                del self._buf[: nl + 1]
                return line
            if deadline is not None:
                left = deadline - time.monotonic()
                if left <= 0 or not select.select([self._fd], [], [], left)[0]:
                    raise TimeoutError("no message from app-server in time")
            chunk = os.read(self._fd, 1 << 16)
            if not chunk:
                raise EOFError(f"app-server exited (rc={self.proc.poll()})")
            self._buf += chunk

    def read_message(self, timeout: float | None = 10.0) -> dict[str, Any]:
        """Read and dispatch one server message (answers server requests)."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            line = self._read_line(deadline)
            if line.strip():
                break
        msg: dict[str, Any] = json.loads(line)
        self.messages.append(msg)
        if "method" in msg:
            if "id" in msg:
                self.server_requests.append(msg)
                self._answer(msg)
            else:
                self.notifications.append(msg)
        elif "id" in msg:
            self._responses[msg["id"]] = msg
        return msg

    def _answer(self, msg: Mapping[str, Any]) -> None:
        try:
            result = self.on_server_request(msg["method"], msg.get("params"))
        except RawRpcError as err:
            self.send({"id": msg["id"], "error": err.error})
        else:
            self.send({"id": msg["id"], "result": result})

    # -- requests ----------------------------------------------------------

    def start_request(self, method: str, params: Any = None) -> int:
        """Send a request without waiting; returns its id."""
        rid = self._next_id
        self._next_id += 1
        msg: dict[str, Any] = {"id": rid, "method": method}
        if params is not None:
            msg["params"] = params
        self.send(msg)
        return rid

    def wait_response(self, rid: int, timeout: float | None = 10.0, method: str = "?") -> Any:
        deadline = None if timeout is None else time.monotonic() + timeout
        while rid not in self._responses:
            left = None if deadline is None else max(0.0, deadline - time.monotonic())
            self.read_message(left)
        msg = self._responses.pop(rid)
        if "error" in msg:
            raise RawRpcError(method, msg["error"])
        return msg.get("result")

    def request(self, method: str, params: Any = None, timeout: float | None = 10.0) -> Any:
        """Send a request and block for its result (raises ``RawRpcError``)."""
        return self.wait_response(self.start_request(method, params), timeout, method)

    def notify(self, method: str, params: Any = None) -> None:
        msg: dict[str, Any] = {"method": method}
        if params is not None:
            msg["params"] = params
        self.send(msg)

    def initialize(self, name: str = "raw_client", version: str = "0.0.0") -> Any:
        result = self.request("initialize", {"clientInfo": {"name": name, "title": None, "version": version}})
        self.notify("initialized")
        return result

    # -- notifications -----------------------------------------------------

    def wait_for(
        self,
        method: str,
        predicate: Callable[[dict[str, Any]], bool] | None = None,
        timeout: float | None = 10.0,
        *,
        since: int = 0,
    ) -> dict[str, Any]:
        """The earliest notification ``method`` (matching ``predicate``) at
        index >= ``since`` in ``notifications`` and not returned by an earlier
        ``wait_for``; reads more messages as needed. Old notifications match
        too, so pass a predicate (e.g. on ``turnId``) or ``since=mark()``."""
        deadline = None if timeout is None else time.monotonic() + timeout
        i = since
        while True:
            while i < len(self.notifications):
                note = self.notifications[i]
                if i not in self._consumed and note.get("method") == method and (predicate is None or predicate(note)):
                    self._consumed.add(i)
                    return note
                i += 1
            left = None if deadline is None else max(0.0, deadline - time.monotonic())
            self.read_message(left)

    def mark(self) -> int:
        """Current length of ``notifications`` (for ``wait_for(since=...)``)."""
        return len(self.notifications)

    def drain(self, quiet: float = 0.2) -> None:
        """Read messages until none arrives for ``quiet`` seconds."""
        try:
            while True:
                self.read_message(quiet)
        except TimeoutError:
            pass

    def run_turn(self, thread_id: str, text: str, timeout: float | None = 10.0, **params: Any) -> dict[str, Any]:
        """``turn/start`` then block until its ``turn/completed``; returns the
        completed turn object (``params.turn``)."""
        started = self.request(
            "turn/start",
            {"threadId": thread_id, "input": [{"type": "text", "text": text}], **params},
            timeout,
        )
        turn_id = started["turn"]["id"]
        done = self.wait_for("turn/completed", lambda n: n["params"]["turn"]["id"] == turn_id, timeout)
        turn: dict[str, Any] = done["params"]["turn"]
        return turn
