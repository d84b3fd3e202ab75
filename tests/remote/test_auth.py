"""Websocket auth against the real app-server: capability tokens and HS256 JWTs.

A refused connection is an ``AuthenticationError`` naming the endpoint, the
auth mode and the server's reason; the credential itself appears nowhere
(error text, repr, logs).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from codex_app_server import AuthenticationError

from tests.sdk.support import LoopThread, RoutedProvider

from .conftest import CODEX_BIN, open_client, requires_remote
from .servers import Server, ws_server

pytestmark = [*requires_remote, pytest.mark.timeout(60)]

TOKEN = "capability-token-" + "x" * 24
SECRET = b"a-shared-secret-of-at-least-32-bytes!"


@pytest.fixture(scope="module")
def secrets(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("secrets")
    (root / "token").write_text(TOKEN + "\n")  # codex trims whitespace; so does the SDK
    (root / "secret").write_bytes(SECRET + b"\n")
    return root


@pytest.fixture(scope="module")
def token_server(
    module_provider: RoutedProvider, secrets: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Server]:
    assert CODEX_BIN is not None
    auth = ("--ws-auth", "capability-token", "--ws-token-file", str(secrets / "token"))
    with ws_server(CODEX_BIN, module_provider, tmp_path_factory.mktemp("token"), *auth) as server:
        yield server


@pytest.fixture(scope="module")
def jwt_server(
    module_provider: RoutedProvider, secrets: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Server]:
    assert CODEX_BIN is not None
    auth = ("--ws-auth", "signed-bearer-token", "--ws-shared-secret-file", str(secrets / "secret"))
    claims = ("--ws-issuer", "sdk-tests", "--ws-audience", "codex")
    with ws_server(CODEX_BIN, module_provider, tmp_path_factory.mktemp("jwt"), *auth, *claims) as server:
        yield server


@pytest.fixture(scope="module", params=["sync", "async"])
def flavor(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def refused(flavor: str, loop: LoopThread, url: str, **kwargs: Any) -> AuthenticationError:
    with pytest.raises(AuthenticationError) as caught:
        open_client(flavor, loop, lambda cls: cls.connect(url, **kwargs))
    return caught.value


def test_a_good_token_connects(token_server: Server, secrets: Path, flavor: str, loop: LoopThread) -> None:
    for kwargs in ({"token": TOKEN}, {"token_file": secrets / "token"}):
        codex = open_client(flavor, loop, lambda cls, kwargs=kwargs: cls.connect(token_server.url, **kwargs))
        try:
            assert codex.thread_start(cwd=str(token_server.cwd)).id
        finally:
            codex.close()


def test_a_wrong_or_missing_token_is_an_authentication_error(
    token_server: Server, flavor: str, loop: LoopThread, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="codex_app_server")
    wrong = refused(flavor, loop, str(token_server.url), token="not-the-token")
    assert wrong.server_reason == "invalid websocket bearer token"
    assert wrong.auth_mode == "capability-token" and wrong.endpoint == token_server.url
    assert str(token_server.url) in str(wrong) and "not-the-token" not in str(wrong)
    missing = refused(flavor, loop, str(token_server.url))
    assert missing.server_reason == "missing websocket bearer token" and missing.auth_mode == "none"
    assert "not-the-token" not in caplog.text


def test_a_jwt_with_issuer_and_audience_connects(
    jwt_server: Server, secrets: Path, flavor: str, loop: LoopThread
) -> None:
    codex = open_client(
        flavor,
        loop,
        lambda cls: cls.connect(
            jwt_server.url, jwt_secret_file=secrets / "secret", jwt_issuer="sdk-tests", jwt_audience="codex"
        ),
    )
    try:
        assert codex.thread_start(cwd=str(jwt_server.cwd)).id
    finally:
        codex.close()


def test_an_expired_jwt_is_refused(
    jwt_server: Server, secrets: Path, flavor: str, loop: LoopThread, monkeypatch: pytest.MonkeyPatch
) -> None:
    import codex_app_server._transports.endpoints as endpoints

    real_time = endpoints.time.time
    monkeypatch.setattr(endpoints.time, "time", lambda: real_time() - 3600)  # minted an hour ago, 5 min ttl
    error = refused(
        flavor,
        loop,
        str(jwt_server.url),
        jwt_secret_file=secrets / "secret",
        jwt_issuer="sdk-tests",
        jwt_audience="codex",
    )
    assert error.server_reason == "expired websocket jwt" and error.auth_mode == "signed-bearer-token"


def test_a_jwt_for_another_audience_or_issuer_is_refused(
    jwt_server: Server, secrets: Path, flavor: str, loop: LoopThread
) -> None:
    cases = [
        ({"jwt_issuer": "sdk-tests", "jwt_audience": "someone-else"}, "websocket jwt audience mismatch"),
        ({"jwt_issuer": "mallory", "jwt_audience": "codex"}, "websocket jwt issuer mismatch"),
    ]
    for claims, reason in cases:
        error = refused(flavor, loop, str(jwt_server.url), jwt_secret_file=secrets / "secret", **claims)
        assert error.server_reason == reason and error.auth_mode == "signed-bearer-token"


def test_a_jwt_signed_with_another_secret_is_refused(
    jwt_server: Server, tmp_path: Path, flavor: str, loop: LoopThread
) -> None:
    other = tmp_path / "other-secret"
    other.write_bytes(b"not-the-shared-secret-but-32-bytes-long")
    error = refused(
        flavor, loop, str(jwt_server.url), jwt_secret_file=other, jwt_issuer="sdk-tests", jwt_audience="codex"
    )
    assert error.server_reason == "invalid websocket jwt"


def test_credentials_never_show_in_a_repr(jwt_server: Server, secrets: Path) -> None:
    from codex_app_server._connect import AuthOptions, url_target

    _, endpoint = url_target(str(jwt_server.url), AuthOptions(token=TOKEN), None, None)
    assert TOKEN not in repr(endpoint) and TOKEN not in repr(endpoint.auth)
    _, endpoint = url_target(str(jwt_server.url), AuthOptions(jwt_secret_file=secrets / "secret"), None, None)
    assert SECRET.decode() not in repr(endpoint) and "secret" not in repr(endpoint.auth).lower().replace("jwtauth", "")
