"""Backpressure against the real binary: a slow consumer pauses the reader, and steer() still gets its answer."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import pytest
from codex_app_server import AppServerConfig, TurnStatus
from codex_app_server.generated.v2_all import ItemAgentMessageDeltaEvent, TurnCompletedEvent, TurnSteerResponse

from tests.support.fake_provider import Text, final_text

from .conftest import requires_codex
from .support import RoutedProvider, agent_deltas, consume_until, unwrap, user_texts

pytestmark = [pytest.mark.real, requires_codex, pytest.mark.timeout(90)]


def test_steer_while_the_reader_is_paused_by_a_slow_consumer(
    open_codex: Callable[[AppServerConfig], Any],
    config_factory: Callable[..., AppServerConfig],
    provider: RoutedProvider,
) -> None:
    chunks = [f"c{n} " for n in range(400)]
    provider.enqueue(Text("".join(chunks), chunks=chunks, delay_s=0.005), final_text("Steered."))
    codex = open_codex(config_factory(turn_buffer_limit=20))
    router = unwrap(codex)._session.router
    thread = codex.thread_start()
    handle = thread.turn("Stream a lot.")
    stream = handle.stream()
    first = consume_until(stream, lambda e: isinstance(e, ItemAgentMessageDeltaEvent))

    deadline = time.monotonic() + 20
    while not router.paused and time.monotonic() < deadline:  # the consumer is slow: codex runs ahead
        time.sleep(0.01)
    assert router.paused, "the reader never paused for the slow consumer"

    steered = handle.steer("Also say something short.")  # its answer is read although the consumer lags

    assert isinstance(steered, TurnSteerResponse) and steered.turn_id == handle.id
    rest = list(stream)
    last = rest[-1]
    assert isinstance(last, TurnCompletedEvent) and last.params.turn.status == TurnStatus.completed
    # codex cuts the first answer short for the steered input; what it streamed came whole and in order
    deltas = agent_deltas([*first, *rest])
    before = [d for d in deltas if d in chunks]
    assert before == chunks[: len(before)] and len(before) >= 20
    assert "".join(deltas[len(before) :]) == "Steered."
    assert "Also say something short." in user_texts(provider.requests[-1])
