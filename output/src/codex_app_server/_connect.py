"""The endpoints behind ``Codex.connect`` / ``connect_daemon`` / ``connect_command`` (sync and async alike).

One function per entry point turns its keywords into an
:class:`~._transports.endpoints.Endpoint` and a config, after refusing the
options that only shape a spawned child.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from ._config import AppServerConfig, resolve_codex_binary
from ._transports.endpoints import (
    Auth,
    Endpoint,
    check_connection_config,
    command_endpoint,
    daemon_endpoint,
    load_auth,
    url_endpoint,
)

if TYPE_CHECKING:
    import ssl

    from ._reconnect import Reconnect
    from ._session import AnyHandler, Session

__all__ = ["AuthOptions", "command_target", "daemon_target", "open_session", "url_target"]

PathLike = str | os.PathLike[str]


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
    config: AppServerConfig, endpoint: Endpoint, handler: AnyHandler | None, reconnect: Reconnect | bool
) -> Session:
    """The (unstarted) session of a client connecting to ``endpoint``, with its reconnect policy."""
    from ._reconnect import reconnect_policy
    from ._session import Session

    return Session(config, handler, endpoint, reconnect_policy(reconnect))
