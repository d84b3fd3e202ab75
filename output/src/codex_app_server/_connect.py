"""``connect`` / ``connect_daemon`` / ``connect_command``: written once, for every client that has them.

:class:`ConnectMethods` is the base of Codex, AsyncCodex, AppServerClient and
AsyncAppServerClient; each client only says, in ``_connected``, what it does
with the endpoint. One function per entry point turns the keywords into an
:class:`~._transports.endpoints.Endpoint` and a config, after refusing the
options that only shape a spawned child.
"""

from __future__ import annotations

import os
import threading
import weakref
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Generic, TypeVar

from typing_extensions import Self  # pydantic's own dependency; typing.Self needs 3.11

from ._config import AppServerConfig, resolve_codex_binary
from ._lazy import LazyModule
from ._reconnect import Reconnect, reconnect_policy
from ._rpc import RpcConnection
from ._session import AnyHandler, Initialize, Session
from ._threads import in_worker_thread
from ._transports.endpoints import (
    Auth,
    Endpoint,
    check_connection_config,
    command_endpoint,
    daemon_endpoint,
    load_auth,
    url_endpoint,
)
from .generated.server_requests import AsyncServerRequestHandler, ServerRequestHandler

if TYPE_CHECKING:
    import asyncio
    import ssl  # only annotations name it: OpenSSL costs ~7 MB of RSS

    from .generated.v2_all import InitializeResponse
else:
    ssl = LazyModule("ssl")  # the annotations still resolve (typing.get_type_hints)

__all__ = [
    "AsyncStarter",
    "AuthOptions",
    "ConnectMethods",
    "HandlerT",
    "command_target",
    "daemon_target",
    "open_session",
    "stop_when_collected",
    "url_target",
]

PathLike = str | os.PathLike[str]
HandlerT = TypeVar("HandlerT", bound=AsyncServerRequestHandler | ServerRequestHandler)


class ConnectMethods(Generic[HandlerT]):
    """The connect classmethods of a client whose server-request handler is a ``HandlerT``.

    Each turns its keywords into an endpoint and a config (the functions
    below) and hands them to the client's :meth:`_connected`.
    """

    @classmethod
    def connect(
        cls,
        url: str,
        *,
        token: str | None = None,
        token_file: PathLike | None = None,
        jwt_secret_file: PathLike | None = None,
        jwt_issuer: str | None = None,
        jwt_audience: str | None = None,
        jwt_ttl: float = 300.0,
        codex_home: PathLike | None = None,
        ssl_context: ssl.SSLContext | None = None,
        reconnect: Reconnect | bool = False,
        config: AppServerConfig | None = None,
        handler: HandlerT | None = None,
    ) -> Self:
        """Connect to a running app-server at ``ws://HOST:PORT``, ``wss://...``, ``unix://PATH`` or ``unix://``.

        ``unix://`` is the control socket of ``codex_home`` (default
        ``$CODEX_HOME``, else ``~/.codex``). Authenticate with ``token`` or
        ``token_file`` (capability token), or with ``jwt_secret_file`` (an HS256
        JWT minted per connection, valid ``jwt_ttl`` seconds, with optional
        ``jwt_issuer`` / ``jwt_audience``). ``config`` may set client options
        (timeouts, client info, concurrent turns), not those of a spawned child.
        ``ssl_context`` is the :class:`ssl.SSLContext` of a ``wss://`` connection
        (default: the system's trusted certificates), e.g.
        ``ssl.create_default_context(cafile=...)`` for a private CA or a
        self-signed certificate. ``reconnect=True`` (or a :class:`Reconnect`)
        reconnects after a lost connection and resumes this client's threads;
        off by default. Credentials never appear in logs, errors or ``repr``.
        An :class:`AsyncCodex` connects on first use or ``async with``.
        """
        auth = AuthOptions(token, token_file, jwt_secret_file, jwt_issuer, jwt_audience, jwt_ttl)
        return cls._connected(*url_target(url, auth, config, codex_home, ssl_context), handler, reconnect)

    @classmethod
    def connect_daemon(
        cls,
        *,
        codex_bin: PathLike | None = None,
        codex_home: PathLike | None = None,
        reconnect: Reconnect | bool = False,
        config: AppServerConfig | None = None,
        handler: HandlerT | None = None,
    ) -> Self:
        """Connect to the local app-server daemon, starting it first if it is not running.

        The daemon runs with the configuration and environment of whoever
        started it, and keeps running after this client closes: stop it with
        ``codex app-server daemon stop``, which may leave its updater process
        (``pid-update-loop``, pid in ``CODEX_HOME/app-server-daemon/daemon-updater.pid``)
        running. A cold start first copies codex (~360 MB) into
        ``CODEX_HOME/packages``; the daemon starts with analytics enabled by
        default. ``codex_bin`` is the codex that starts it (resolved as usual),
        ``codex_home`` its ``CODEX_HOME``. An asyncio client connects (and
        starts the daemon) on first use or ``async with``.
        """
        return cls._connected(*daemon_target(codex_bin, codex_home, config), handler, reconnect)

    @classmethod
    def connect_command(
        cls,
        argv: Sequence[str],
        *,
        token: str | None = None,
        token_file: PathLike | None = None,
        jwt_secret_file: PathLike | None = None,
        jwt_issuer: str | None = None,
        jwt_audience: str | None = None,
        jwt_ttl: float = 300.0,
        reconnect: Reconnect | bool = False,
        config: AppServerConfig | None = None,
        handler: HandlerT | None = None,
    ) -> Self:
        """Connect through a command whose stdin/stdout carry the server socket's bytes.

        E.g. ``["ssh", "host", "codex", "app-server", "proxy"]``; the command
        runs without a shell and is stopped when the client closes. An
        asyncio client runs it on first use or ``async with``.
        """
        auth = AuthOptions(token, token_file, jwt_secret_file, jwt_issuer, jwt_audience, jwt_ttl)
        return cls._connected(*command_target(argv, auth, config), handler, reconnect)

    @classmethod
    def _connected(
        cls,
        config: AppServerConfig,
        endpoint: Endpoint,
        handler: HandlerT | None,
        reconnect: Reconnect | bool,
    ) -> Self:
        raise NotImplementedError  # each client connects its own way


@dataclass(frozen=True)
class AuthOptions:
    """The auth keywords of every connect method; secrets never shown."""

    token: str | None = None
    token_file: PathLike | None = None
    jwt_secret_file: PathLike | None = None
    jwt_issuer: str | None = None
    jwt_audience: str | None = None
    jwt_ttl: float = 300.0

    def __repr__(self) -> str:
        return "AuthOptions(...)"


def url_target(
    url: str,
    auth: AuthOptions,
    config: AppServerConfig | None,
    codex_home: PathLike | None,
    ssl_context: ssl.SSLContext | None = None,
) -> tuple[AppServerConfig, Endpoint]:
    config = config or AppServerConfig()
    check_connection_config(config, f"connect({url!r})")
    return config, url_endpoint(url, _auth(auth), codex_home=codex_home, tls=ssl_context)


def command_target(
    argv: Sequence[str], auth: AuthOptions, config: AppServerConfig | None
) -> tuple[AppServerConfig, Endpoint]:
    config = config or AppServerConfig()
    check_connection_config(config, "connect_command()")
    return config, command_endpoint(argv, _auth(auth), config.stderr_buffer_lines)


def daemon_target(
    codex_bin: PathLike | None, codex_home: PathLike | None, config: AppServerConfig | None
) -> tuple[AppServerConfig, Endpoint]:
    config = config or AppServerConfig()
    check_connection_config(config, "connect_daemon()")
    binary = resolve_codex_binary(AppServerConfig(codex_bin=codex_bin))
    home = os.fspath(codex_home) if codex_home is not None else None
    return config, daemon_endpoint(binary, codex_home=home)


def _auth(options: AuthOptions) -> Auth | None:
    return load_auth(
        token=options.token,
        token_file=options.token_file,
        jwt_secret_file=options.jwt_secret_file,
        jwt_issuer=options.jwt_issuer,
        jwt_audience=options.jwt_audience,
        jwt_ttl=options.jwt_ttl,
    )


def open_session(
    config: AppServerConfig,
    endpoint: Endpoint,
    handler: AnyHandler | None,
    reconnect: Reconnect | bool,
    initialize: Initialize,
) -> Session:
    """The (unstarted) session of a client connecting to ``endpoint``, with its reconnect policy."""
    return Session(config, handler, endpoint, reconnect_policy(reconnect), initialize=initialize)


# -- the lifecycle a client of a session shares (Codex, AsyncCodex, and the low-level clients)


def stop_when_collected(client: object, session: Session) -> weakref.finalize[[Session], object]:
    """Stop the app-server (or drop the connection) of a client garbage-collected without close().

    The reader threads keep the session alive, so the client object is the
    one to watch. The stop runs on its own thread: a finalizer may fire on
    any thread (an event loop's included) and must not block it. At
    interpreter exit the transport's own finalizer stops the child instead,
    synchronously.
    """
    finalizer = weakref.finalize(client, _stop_in_background, session)
    finalizer.atexit = False
    return finalizer


def _stop_in_background(session: Session) -> None:
    threading.Thread(target=session.close, name="codex-app-server-finalizer", daemon=True).start()


class AsyncStarter:
    """Starts a session once from an event loop (on first use, or on ``async with``) and hands out its connection.

    ``on_started`` runs once the server answered ``initialize``.
    """

    def __init__(self, session: Session, on_started: Callable[[], None]) -> None:
        self._session = session
        self._on_started = on_started
        self._lock: asyncio.Lock | None = None
        self.metadata: InitializeResponse | None = None

    async def rpc(self) -> RpcConnection:
        """The live connection, starting the session first if need be."""
        session = self._session
        rpc = session.rpc
        if rpc is not None and self.metadata is not None:
            if rpc.closed_error is not None and session.reconnect is not None:  # rare: wait off the loop
                return await in_worker_thread(session.current_rpc)
            return rpc
        await self.start()
        return session.current_rpc()

    async def start(self) -> InitializeResponse:
        """Launch (or connect) and initialise, once; later calls return the first answer."""
        import asyncio

        if self._lock is None:
            self._lock = asyncio.Lock()
        async with self._lock:
            if self.metadata is None:
                self._session.loop = asyncio.get_running_loop()
                self.metadata = await in_worker_thread(self._session.start)
                self._on_started()
        return self.metadata
