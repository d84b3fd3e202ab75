"""No login, no network: a turn fails fast and loudly instead of waiting in silence (issue 22, defect 3).

codex does not fail such a turn: it retries, sending ``error`` notifications
with ``willRetry`` ("Reconnecting... 2/5"), which kept the idle timeout from
ever firing. The SDK checks the login once before a client's first turn,
logs and streams codex's retries, and bounds them (``turn_retry_timeout``).
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable
from typing import Any

import pytest
from codex_app_server import AppServerConfig, CodexError, LoginRequiredError
from codex_app_server.generated.v2_all import ErrorEvent, TurnCompletedEvent

from tests.support.fake_provider import Failed, final_text

from .conftest import requires_codex
from .support import RoutedProvider, unwrap

pytestmark = [pytest.mark.real, requires_codex, pytest.mark.timeout(60)]

OpenCodex = Callable[[AppServerConfig], Any]


def with_overrides(config: AppServerConfig, **overrides: object) -> AppServerConfig:
    return dataclasses.replace(config, config_overrides={**config.config_overrides, **overrides})


def test_a_provider_that_needs_an_openai_login_fails_before_the_first_turn(
    open_codex: OpenCodex, config_factory: Callable[..., AppServerConfig], provider: RoutedProvider
) -> None:
    # The default provider (OpenAI) and no login: codex would retry for minutes.
    codex = open_codex(with_overrides(config_factory(), model_provider="openai"))
    account = codex.account()
    assert account.account is None and account.requires_openai_auth
    thread = codex.thread_start()
    with pytest.raises(LoginRequiredError) as caught:
        thread.run("hello")
    message = str(caught.value)
    assert "login_api_key" in message and "`codex login`" in message
    with pytest.raises(LoginRequiredError):
        thread.turn("hello")  # not remembered as checked: still refused
    assert provider.requests == []  # nothing was started


def test_the_login_is_checked_once_per_client_not_per_turn(codex: Any, provider: RoutedProvider) -> None:
    client = unwrap(codex)._client
    calls = []
    read = client.account_read

    def counted(*args: Any, **kwargs: Any) -> Any:
        calls.append(1)
        return read(*args, **kwargs)

    client.account_read = counted
    unwrap(codex)._session.signed_in = False  # as a fresh client
    try:
        provider.enqueue(final_text("one"), final_text("two"))
        thread = codex.thread_start()
        assert thread.run("first").final_response == "one"
        assert thread.run("second").final_response == "two"
    finally:
        del client.account_read
    assert len(calls) == 1


def test_codex_retrying_is_streamed_logged_and_bounded(
    open_codex: OpenCodex,
    config_factory: Callable[..., AppServerConfig],
    provider: RoutedProvider,
    caplog: pytest.LogCaptureFixture,
) -> None:
    retries = {"model_providers.mock.stream_max_retries": 100}
    codex = open_codex(with_overrides(config_factory(turn_retry_timeout=1.0), **retries))
    original = provider.default
    provider.default = Failed("the provider is unreachable")  # every model request fails: codex retries
    try:
        retried(codex, provider, caplog)
    finally:
        provider.default = original
    provider.enqueue(final_text("Back."))  # codex gets through again: the client goes on
    assert codex.thread_start().run("once more").final_response == "Back."


def retried(codex: Any, provider: RoutedProvider, caplog: pytest.LogCaptureFixture) -> None:
    thread = codex.thread_start()
    with caplog.at_level(logging.WARNING, logger="codex_app_server"):
        with pytest.raises(TimeoutError) as caught:
            thread.run("hello")
    error = caught.value
    assert isinstance(error, CodexError)
    message = str(error)
    assert "kept retrying for 1.0 s (AppServerConfig.turn_retry_timeout)" in message
    assert "the turn was interrupted" in message and "Reconnecting..." in message
    assert "codex retries: Reconnecting..." in caplog.text

    # The retries are events of the stream too.
    seen: list[Any] = []
    with pytest.raises(TimeoutError):
        for event in thread.turn("again").stream():
            seen.append(event)
    assert any(isinstance(e, ErrorEvent) and e.params.will_retry for e in seen)
    assert not any(isinstance(e, TurnCompletedEvent) for e in seen)
