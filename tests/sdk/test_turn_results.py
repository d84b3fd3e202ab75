"""Turn results: ``TurnHandle.turn`` stays current, ``TurnHandle.result`` has everything, usage per turn."""

from __future__ import annotations

import os
import signal
from typing import Any

import pytest
from codex_app_server import TransportClosedError, TurnStatus
from codex_app_server.generated.v2_all import (
    AgentMessageThreadItem,
    CommandExecutionThreadItem,
    ItemCompletedEvent,
    TurnCompletedEvent,
)
from codex_app_server.testing import FunctionCall, HttpError, Usage, final_text

from .conftest import requires_codex
from .support import RoutedProvider

pytestmark = requires_codex


def test_turn_stays_current_while_and_after_streaming(codex: Any, provider: RoutedProvider) -> None:
    provider.enqueue(
        FunctionCall(arguments={"cmd": "echo results", "yield_time_ms": 1000}), final_text("The shell said results.")
    )
    thread = codex.thread_start()
    handle = thread.turn("Run echo.")
    assert handle.turn.status == TurnStatus.in_progress

    seen_command_midway = False
    for event in handle.stream():
        if isinstance(event, ItemCompletedEvent) and isinstance(event.params.item, CommandExecutionThreadItem):
            # While the turn runs: the items completed so far, and a partial result.
            assert handle.turn.status == TurnStatus.in_progress
            assert any(isinstance(item, CommandExecutionThreadItem) for item in handle.turn.items)
            assert handle.result.final_response is None
            seen_command_midway = True
        if isinstance(event, TurnCompletedEvent):
            assert handle.turn.status == TurnStatus.completed  # already current inside the last iteration
    assert seen_command_midway

    assert handle.turn.status == TurnStatus.completed
    result = handle.result
    assert result.final_response == "The shell said results."
    kinds = [type(item) for item in result.items]
    assert CommandExecutionThreadItem in kinds and kinds[-1] is AgentMessageThreadItem  # every item, not a summary
    assert result.turn is not None and result.turn.id == handle.id and result.turn.status == TurnStatus.completed


def test_run_keeps_its_turn_and_the_handle_keeps_the_result(codex: Any, provider: RoutedProvider) -> None:
    provider.enqueue(final_text("Done."))
    handle = codex.thread_start().turn("hi")
    turn = handle.run()
    assert turn.status == TurnStatus.completed and handle.turn == turn
    assert handle.result.final_response == "Done."


def test_a_failed_turn_shows_in_the_result_without_raising(codex: Any, provider: RoutedProvider) -> None:
    provider.enqueue(HttpError(500))
    handle = codex.thread_start().turn("fail")
    handle.run()
    assert handle.turn.status == TurnStatus.failed
    assert handle.result.turn is not None and handle.result.turn.status == TurnStatus.failed


def test_turn_usage_is_this_turns_tokens_and_usage_the_threads_total(codex: Any, provider: RoutedProvider) -> None:
    thread = codex.thread_start()
    provider.enqueue(final_text("One.", usage=Usage(input_tokens=100, output_tokens=10)))
    first = thread.run("first")
    provider.enqueue(
        FunctionCall(usage=Usage(input_tokens=30, output_tokens=3)),
        final_text("Two.", usage=Usage(input_tokens=40, output_tokens=4)),
    )
    second = thread.run("second, with a tool call")

    assert first.turn_usage is not None and second.turn_usage is not None and second.usage is not None
    assert (first.turn_usage.input_tokens, first.turn_usage.output_tokens) == (100, 10)
    # Two model requests in the second turn: both count, the first turn's do not.
    assert (second.turn_usage.input_tokens, second.turn_usage.output_tokens) == (70, 7)
    assert second.turn_usage.total_tokens == 77
    # usage stays the thread's running total, as the seed defines it.
    assert (second.usage.total.input_tokens, second.usage.total.output_tokens) == (170, 17)


@pytest.mark.skipif(os.name != "posix", reason="kills the child with SIGKILL")
def test_after_the_child_dies_a_fresh_client_from_the_same_config_resumes_the_thread(
    open_codex: Any, config_factory: Any, provider: RoutedProvider
) -> None:
    config = config_factory()
    codex = open_codex(config)
    pid = codex.pid
    assert isinstance(pid, int) and pid > 0
    provider.enqueue(final_text("Before."))
    thread = codex.thread_start()
    thread.run("remember me")

    os.kill(pid, signal.SIGKILL)
    with pytest.raises(TransportClosedError):
        codex.thread_start()

    fresh = open_codex(codex.config)
    assert fresh.pid != pid
    provider.enqueue(final_text("After."))
    resumed = fresh.thread_resume(thread.id)
    assert resumed.run("still there?").final_response == "After."
    assert len(resumed.read(include_turns=True).thread.turns) == 2
