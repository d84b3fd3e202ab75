"""Where a running app-server is and how to authenticate: URL, daemon or command -> transport.

* ``ws://HOST:PORT[/path]`` and ``wss://...``: websocket over TCP (TLS).
* ``unix://PATH``, or ``unix://`` for the default control socket of
  ``CODEX_HOME`` (``$CODEX_HOME/app-server-control/app-server-control.sock``).
* the daemon: ``codex app-server daemon start`` (idempotent) prints its
  socket; then as ``unix://``. Stopping it is the user's call, never ours.
* a command whose stdin/stdout carry the socket's bytes
  (``["ssh", "host", "codex", "app-server", "proxy"]``).

Credentials: a capability token (``Authorization: Bearer <token>``) or an
HS256 JWT minted with PyJWT from a shared-secret file, fresh for every
connection. They are kept out of every ``repr``, log line and error message.
"""

from __future__ import annotations

import json
import os
import subprocess
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from .._errors import CodexTypeError, CodexValueError, MissingExtraError, TransportClosedError
from .base import Transport
from .streams import ByteStream, CommandStream, open_tcp, open_unix

if TYPE_CHECKING:
    import ssl  # imported when a wss:// URL needs it: OpenSSL costs ~7 MB of RSS

__all__ = [
    "Auth",
    "DaemonInfo",
    "Endpoint",
    "JwtAuth",
    "TokenAuth",
    "check_connection_config",
    "command_endpoint",
    "daemon_endpoint",
    "default_control_socket",
    "load_auth",
    "start_daemon",
    "url_endpoint",
]

_DEFAULT_JWT_TTL_S = 300.0
_UNIX_HANDSHAKE_URI = "ws://localhost/"


@dataclass(frozen=True)
class TokenAuth:
    """A capability token, sent as ``Authorization: Bearer``; never shown."""

    token: str = field(repr=False)
    mode = "capability-token"

    def headers(self) -> list[tuple[str, str]]:
        return [("Authorization", f"Bearer {self.token}")]


@dataclass(frozen=True)
class JwtAuth:
    """An HS256 JWT minted per connection from a shared secret; never shown."""

    secret: bytes = field(repr=False)
    issuer: str | None = None
    audience: str | None = None
    ttl_s: float = _DEFAULT_JWT_TTL_S
    mode = "signed-bearer-token"

    def mint(self, now: float | None = None) -> str:
        jwt = _import("jwt", "PyJWT")
        issued = int(time.time() if now is None else now)
        claims: dict[str, object] = {"iat": issued, "exp": issued + int(self.ttl_s)}
        if self.issuer is not None:
            claims["iss"] = self.issuer
        if self.audience is not None:
            claims["aud"] = self.audience
        token: str = jwt.encode(claims, self.secret, algorithm="HS256")
        return token

    def headers(self) -> list[tuple[str, str]]:
        return [("Authorization", f"Bearer {self.mint()}")]


Auth = TokenAuth | JwtAuth


def load_auth(
    *,
    token: str | None,
    token_file: str | os.PathLike[str] | None,
    jwt_secret_file: str | os.PathLike[str] | None,
    jwt_issuer: str | None,
    jwt_audience: str | None,
    jwt_ttl: float,
) -> Auth | None:
    """The one auth mode the keywords ask for; a clear ValueError for a mix."""
    given = [name for name, value in (("token", token), ("token_file", token_file)) if value is not None]
    if jwt_secret_file is not None:
        given.append("jwt_secret_file")
    if len(given) > 1:
        raise CodexValueError(f"choose one way to authenticate, not {' and '.join(given)}")
    if (jwt_issuer is not None or jwt_audience is not None) and jwt_secret_file is None:
        raise CodexValueError("jwt_issuer and jwt_audience need jwt_secret_file")
    if token is not None:
        if not token.strip():
            raise CodexValueError("token is empty")
        return TokenAuth(token.strip())
    if token_file is not None:
        text = _read_secret(token_file, "token_file").decode("utf-8", "replace").strip()
        if not text:
            raise CodexValueError(f"token_file {os.fspath(token_file)!r} is empty")
        return TokenAuth(text)
    if jwt_secret_file is not None:
        if jwt_ttl <= 0:
            raise CodexValueError("jwt_ttl must be > 0 seconds")
        _import("jwt", "PyJWT")  # fail now, not at the first connection
        secret = _read_secret(jwt_secret_file, "jwt_secret_file").strip()  # codex trims the file too
        if not secret:
            raise CodexValueError(f"jwt_secret_file {os.fspath(jwt_secret_file)!r} is empty")
        return JwtAuth(secret, jwt_issuer, jwt_audience, jwt_ttl)
    return None


def _read_secret(path: str | os.PathLike[str], what: str) -> bytes:
    try:
        return Path(path).read_bytes()
    except OSError as exc:
        raise CodexValueError(f"cannot read {what} {os.fspath(path)!r}: {exc.strerror or exc}") from None


@dataclass(frozen=True)
class Endpoint:
    """A running app-server to connect to: opens a fresh websocket transport per connection.

    ``name`` is what errors and ``repr`` show: the URL or command, never a
    credential.
    """

    name: str
    open_stream: Callable[[float], ByteStream] = field(repr=False)
    handshake_uri: str = field(repr=False)
    auth: Auth | None = field(default=None, repr=False)
    local: bool = False
    """The server runs on this machine (a unix socket): it sees the same files."""

    @property
    def auth_mode(self) -> str:
        return self.auth.mode if self.auth is not None else "none"

    def transport(
        self, connect_timeout: float, *, write_timeout: float = 30.0, close_timeout: float = 2.0
    ) -> Transport:
        """A new, unstarted :class:`~.websocket.WebSocketTransport` to this endpoint (see it for the timeouts)."""
        _import("websockets", "websockets")
        from .websocket import WebSocketTransport

        auth = self.auth
        return WebSocketTransport(
            lambda: self.open_stream(connect_timeout),
            self.handshake_uri,
            self.name,
            headers=auth.headers if auth is not None else tuple,
            auth_mode=self.auth_mode,
            connect_timeout=connect_timeout,
            write_timeout=write_timeout,
            close_timeout=close_timeout,
        )


def url_endpoint(
    url: str,
    auth: Auth | None = None,
    *,
    codex_home: str | os.PathLike[str] | None = None,
    tls: ssl.SSLContext | None = None,
) -> Endpoint:
    """The endpoint of a ``ws://``, ``wss://`` or ``unix://`` URL."""
    if not isinstance(url, str):
        raise CodexTypeError(f"url must be a str, got {type(url).__name__}")
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if tls is not None and scheme != "wss":
        raise CodexValueError(f"ssl_context is for wss:// URLs; {url.split('://', 1)[0]}:// does not use TLS")
    if scheme == "unix":
        path = parts.netloc + parts.path
        socket_path = path if path else os.fspath(default_control_socket(codex_home))
        name = f"unix://{socket_path}"
        return Endpoint(name, lambda timeout: open_unix(socket_path, timeout), _UNIX_HANDSHAKE_URI, auth, local=True)
    if scheme not in ("ws", "wss"):
        raise CodexValueError(f"unsupported URL {url!r}: use ws://HOST:PORT, wss://HOST:PORT, unix://PATH or unix://")
    if parts.username is not None or parts.password is not None:
        raise CodexValueError("put credentials in token=/token_file=/jwt_secret_file=, not in the URL")
    host = parts.hostname
    if not host:
        raise CodexValueError(f"URL {url!r} names no host")
    try:
        port = parts.port or (443 if scheme == "wss" else 80)
    except ValueError:
        raise CodexValueError(f"URL {url!r} has an invalid port") from None
    context = None
    if scheme == "wss":
        import ssl

        context = tls or ssl.create_default_context()
    path = parts.path or "/"
    if parts.query:
        path += "?" + parts.query
    netloc = f"[{host}]" if ":" in host else host
    base = f"{scheme}://{netloc}:{port}"
    return Endpoint(
        base + (parts.path or ""), lambda timeout: open_tcp(host, port, timeout, context), base + path, auth
    )


def command_endpoint(argv: Sequence[str], auth: Auth | None = None, stderr_lines: int = 200) -> Endpoint:
    """The endpoint behind a command whose stdin/stdout carry the socket's bytes."""
    if isinstance(argv, str) or not argv or not all(isinstance(arg, (str, os.PathLike)) for arg in argv):
        raise CodexValueError(
            "argv must be a non-empty sequence of arguments, e.g. ['ssh', 'host', 'codex', 'app-server', 'proxy']"
        )
    args = [os.fspath(arg) for arg in argv]

    def open_command(timeout: float) -> ByteStream:
        return CommandStream(args, stderr_lines)

    return Endpoint("command " + " ".join(args), open_command, _UNIX_HANDSHAKE_URI, auth)


def default_control_socket(codex_home: str | os.PathLike[str] | None = None) -> Path:
    """``$CODEX_HOME/app-server-control/app-server-control.sock`` (CODEX_HOME defaults to ~/.codex)."""
    home = Path(codex_home) if codex_home is not None else _codex_home()
    return home / "app-server-control" / "app-server-control.sock"


def _codex_home() -> Path:
    env = os.environ.get("CODEX_HOME")
    return Path(env) if env else Path.home() / ".codex"


@dataclass(frozen=True)
class DaemonInfo:
    """What ``codex app-server daemon start`` reported."""

    status: str
    pid: int | None
    socket_path: str
    raw: Mapping[str, object] = field(repr=False)


def start_daemon(
    codex_bin: str,
    *,
    codex_home: str | os.PathLike[str] | None = None,
    env: Mapping[str, str] | None = None,
    timeout: float = 60.0,
) -> DaemonInfo:
    """Run ``codex app-server daemon start`` (a no-op when one runs) and read its JSON line.

    The daemon uses the configuration and environment of this call (and
    keeps running after this process exits): stop it with
    ``codex app-server daemon stop``.
    """
    child_env = dict(os.environ if env is None else env)
    if codex_home is not None:
        child_env["CODEX_HOME"] = os.fspath(codex_home)
    argv = [codex_bin, "app-server", "daemon", "start"]
    try:
        done = subprocess.run(
            argv, capture_output=True, env=child_env, timeout=timeout, check=False, stdin=subprocess.DEVNULL
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise TransportClosedError(f"codex app-server daemon start: {exc}") from exc
    stderr = done.stderr.decode("utf-8", "replace")
    report = _last_json_line(done.stdout.decode("utf-8", "replace"))
    if done.returncode != 0 or report is None or not isinstance(report.get("socketPath"), str):
        raise TransportClosedError(
            "codex app-server daemon start did not report a socket",
            returncode=done.returncode,
            stderr_tail=stderr[-4000:],
        )
    pid = report.get("pid")
    return DaemonInfo(
        status=str(report.get("status")),
        pid=pid if isinstance(pid, int) else None,
        socket_path=str(report["socketPath"]),
        raw=report,
    )


def daemon_endpoint(
    codex_bin: str,
    *,
    codex_home: str | os.PathLike[str] | None = None,
    env: Mapping[str, str] | None = None,
) -> Endpoint:
    """The local daemon: started if needed (each connection asks), then its unix socket."""

    def open_daemon(timeout: float) -> ByteStream:
        info = start_daemon(codex_bin, codex_home=codex_home, env=env, timeout=max(timeout, 60.0))
        return _open_unix_when_ready(info.socket_path, timeout)

    home = codex_home if codex_home is not None else (env or {}).get("CODEX_HOME")
    return Endpoint(f"daemon unix://{default_control_socket(home)}", open_daemon, _UNIX_HANDSHAKE_URI, local=True)


def _open_unix_when_ready(path: str, timeout: float) -> ByteStream:
    """A freshly started daemon creates its socket a moment after ``daemon start`` returns."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            return open_unix(path, timeout)
        except (FileNotFoundError, ConnectionRefusedError):
            if time.monotonic() >= deadline:
                raise
            time.sleep(0.05)


_CHILD_ONLY_OPTIONS = ("codex_bin", "extra_args", "config_overrides", "env", "inherit_env", "cwd")


def check_connection_config(config: object, how: str) -> None:
    """Reject options that only shape a spawned child (they would be silently ignored otherwise)."""
    import dataclasses

    defaults = {f.name: f for f in dataclasses.fields(config)}  # type: ignore[arg-type]
    given = []
    for name in _CHILD_ONLY_OPTIONS:
        spec = defaults[name]
        default = spec.default_factory() if spec.default_factory is not dataclasses.MISSING else spec.default
        if getattr(config, name) != default:
            given.append(name)
    if given:
        raise CodexValueError(
            f"AppServerConfig.{', '.join(given)} only apply to an app-server this SDK spawns; "
            f"{how} connects to a running one, which uses its own binary, configuration and environment"
        )


def _last_json_line(text: str) -> dict[str, object] | None:
    for line in reversed(text.splitlines()):
        line = line.strip()
        if line.startswith("{"):
            try:
                value = json.loads(line)
            except ValueError:
                continue
            if isinstance(value, dict):
                return value
    return None


def _import(module: str, distribution: str) -> Any:
    """The optional module, or one clear error with the pip command."""
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError:
        raise MissingExtraError("connecting to a running app-server", "remote", distribution) from None
