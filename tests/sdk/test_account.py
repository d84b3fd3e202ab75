"""Logging in (``Codex.login_api_key`` / ``login_chatgpt``) and out, against the real app-server.

An API key login completes at once. A ChatGPT login answers with an auth URL
whose callback server codex runs on 127.0.0.1; nothing here signs in, so
every such login ends cancelled. The device code login is not run: codex
asks OpenAI for the code, and tests contact nothing but loopback.

codex 0.163 serves the ChatGPT callback on port 1455 and first sends
``GET /cancel`` to whatever listens there (an earlier login of its own). So
these tests skip when something already listens on 1455: they must not
cancel a login in progress on this machine. Several test runs of ours on one
machine (CI runs each Python's suite at once) would cancel each other's
logins the same way, so the ChatGPT login tests take a machine-wide file
lock first.
"""

from __future__ import annotations

import dataclasses
import socket
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

import pytest
from codex_app_server import AppServerConfig, LoginError, ParamsValidationError, TransportClosedError
from codex_app_server.generated.v2_all import ApiKeyAccount, CancelLoginAccountStatus

from .conftest import requires_codex
from .support import STEP_TIMEOUT_S

pytestmark = requires_codex

CODEX_LOGIN_PORT = 1455  # where codex 0.163 serves the ChatGPT sign-in callback
DEAD_PROXY = "http://127.0.0.1:9"  # nothing listens: a request that would leave the machine fails here


def openai_config(config_factory: Callable[..., AppServerConfig]) -> AppServerConfig:
    """An offline config whose provider is OpenAI's, so codex reports the account a login leaves.

    No turn runs (that would contact the provider); should codex try any other
    request, the proxies send it to a dead port on loopback.
    """
    config = config_factory()
    overrides = {**config.config_overrides, "model_provider": "openai"}
    env = {**(config.env or {}), "HTTPS_PROXY": DEAD_PROXY, "HTTP_PROXY": DEAD_PROXY, "ALL_PROXY": DEAD_PROXY}
    return dataclasses.replace(config, config_overrides=overrides, env=env)


def listening(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1.0):
            return True
    except OSError:
        return False


def wait_until_closed(port: int) -> bool:
    deadline = time.monotonic() + STEP_TIMEOUT_S
    while time.monotonic() < deadline:
        if not listening(port):
            return True
        time.sleep(0.05)
    return False


@pytest.fixture
def login_port_free() -> Iterator[None]:
    """Port 1455 is ours for the test: no other test run of ours logs in meanwhile, and no one else listens."""
    fcntl = pytest.importorskip("fcntl")  # a POSIX lock: where there is none, these tests skip
    lock_path = Path(tempfile.gettempdir()) / f"codex-app-server-sdk-tests-login-{CODEX_LOGIN_PORT}.lock"
    with lock_path.open("a") as lock:
        deadline = time.monotonic() + 60
        while True:
            try:
                fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    pytest.skip("another test run kept the ChatGPT login port for 60 s")
                time.sleep(0.05)
        try:
            if listening(CODEX_LOGIN_PORT):
                pytest.skip(f"127.0.0.1:{CODEX_LOGIN_PORT} is in use (a codex login in progress?): not interfering")
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def callback_port(auth_url: str) -> int:
    """The port of the sign-in callback the auth URL redirects to; it must be on loopback."""
    (redirect,) = parse_qs(urlparse(auth_url).query)["redirect_uri"]
    callback = urlparse(redirect)
    assert callback.hostname in ("127.0.0.1", "localhost") and callback.port is not None, redirect
    return callback.port


def test_an_api_key_login_completes_at_once_and_logout_forgets_it(
    open_codex: Any, config_factory: Callable[..., AppServerConfig]
) -> None:
    codex = open_codex(openai_config(config_factory))
    assert codex.account().account is None

    login = codex.login_api_key("sk-test-not-a-real-key")
    assert login.response.type == "apiKey" and login.login_id is None
    completion = login.wait(timeout=STEP_TIMEOUT_S)
    assert completion.success and completion.error is None
    assert login.done
    assert isinstance(codex.account().account, ApiKeyAccount)
    assert login.cancel() == CancelLoginAccountStatus.not_found  # nothing left to cancel

    codex.logout()
    assert codex.account().account is None


def test_a_chatgpt_login_serves_its_callback_on_loopback_until_cancelled(
    login_port_free: None, open_codex: Any, config_factory: Callable[..., AppServerConfig]
) -> None:
    codex = open_codex(openai_config(config_factory))
    login = codex.login_chatgpt()
    assert login.login_id == login.response.login_id
    port = callback_port(login.response.auth_url)
    assert listening(port)

    with pytest.raises(TimeoutError, match=f"login {login.login_id} did not complete within 0.2 s; it is still"):
        login.wait(timeout=0.2)
    assert not login.done and listening(port)  # a timed-out wait leaves the login running

    assert login.cancel() == CancelLoginAccountStatus.canceled
    with pytest.raises(LoginError) as failed:
        login.wait(timeout=STEP_TIMEOUT_S)
    assert failed.value.cancelled and failed.value.login_id == login.login_id
    assert "was cancelled" in str(failed.value) and failed.value.error  # codex's reason is kept
    assert login.done
    assert wait_until_closed(port)
    assert codex.client.account_login_cancel(login_id=login.login_id).status == CancelLoginAccountStatus.not_found


def test_leaving_the_with_block_cancels_the_login(
    login_port_free: None, open_codex: Any, config_factory: Callable[..., AppServerConfig]
) -> None:
    codex = open_codex(openai_config(config_factory))
    with codex.login_chatgpt() as login:
        port = callback_port(login.response.auth_url)
        assert listening(port)
    assert wait_until_closed(port)
    assert codex.client.account_login_cancel(login_id=login.login_id).status == CancelLoginAccountStatus.not_found
    assert codex.account().account is None  # the client goes on


def test_waiting_for_a_login_of_a_closed_client_raises(
    login_port_free: None, open_codex: Any, config_factory: Callable[..., AppServerConfig]
) -> None:
    codex = open_codex(openai_config(config_factory))
    login = codex.login_chatgpt()
    codex.close()
    with pytest.raises(TransportClosedError):
        login.wait(timeout=STEP_TIMEOUT_S)
    assert wait_until_closed(callback_port(login.response.auth_url))


def test_bad_login_arguments_are_refused_before_anything_is_sent(
    open_codex: Any, config_factory: Callable[..., AppServerConfig]
) -> None:
    codex = open_codex(openai_config(config_factory))
    with pytest.raises(ParamsValidationError, match="account/login/start: api_key=123: Input should be a valid"):
        codex.login_api_key(123)
    with pytest.raises(ParamsValidationError, match="app_brand='nope': expected one of 'codex', 'chatgpt'"):
        codex.login_chatgpt(app_brand="nope")
    assert codex.account().account is None
