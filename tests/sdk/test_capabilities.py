"""``AppServerConfig.capabilities`` reach the real app-server through ``initialize``."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from codex_app_server import AppServerConfig
from codex_app_server.generated.v2_all import InitializeCapabilities, ItemAgentMessageDeltaEvent
from codex_app_server.testing import Text

from .conftest import requires_codex
from .support import RoutedProvider

pytestmark = requires_codex

DELTA = "item/agentMessage/delta"


def streamed(codex: Any, provider: RoutedProvider) -> tuple[list[str], str | None]:
    """The methods a turn streams, and its final response (the reply comes in three deltas)."""
    provider.enqueue(Text("One, two, three.", chunks=["One, ", "two, ", "three."]))
    handle = codex.thread_start().turn("Count.")
    methods = [event.method for event in handle.stream()]
    return methods, handle.result.final_response


def test_an_opted_out_notification_is_never_delivered(
    open_codex: Any, config_factory: Callable[..., AppServerConfig], provider: RoutedProvider
) -> None:
    opted_out = open_codex(config_factory(capabilities={"opt_out_notification_methods": [DELTA]}))
    plain = open_codex(config_factory())

    methods, final = streamed(opted_out, provider)
    assert DELTA not in methods and "turn/completed" in methods
    assert final == "One, two, three."  # the completed item still carries the whole text

    control, control_final = streamed(plain, provider)
    assert control.count(DELTA) == 3 and control_final == final


def test_capabilities_may_be_the_generated_model(
    open_codex: Any, config_factory: Callable[..., AppServerConfig], provider: RoutedProvider
) -> None:
    capabilities = InitializeCapabilities(opt_out_notification_methods=[DELTA, "thread/started"])
    codex = open_codex(config_factory(capabilities=capabilities))
    provider.enqueue(Text("Hi there.", chunks=["Hi ", "there."]))
    handle = codex.thread_start().turn("Hi.")
    events = list(handle.stream())
    assert not any(isinstance(event, ItemAgentMessageDeltaEvent) for event in events)
    assert handle.result.final_response == "Hi there."
