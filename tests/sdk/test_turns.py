"""Turns end to end on the real app-server: run, stream, steer, interrupt, failures, Ctrl-C.

Every test body runs twice, against ``Codex`` and against ``AsyncCodex``
(see ``conftest.codex``); one app-server per module and flavour.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator
from typing import Any

import codex_app_server
import pytest
from codex_app_server import Codex, RunResult, TurnFailedError, TurnHandle, TurnStatus, _session
from codex_app_server._transports import StdioTransport
from codex_app_server.generated.v2_all import (
    AgentMessageThreadItem,
    ItemAgentMessageDeltaEvent,
    ItemCompletedEvent,
    MessagePhase,
    ThreadTokenUsage,
    Turn,
    TurnCompletedEvent,
    TurnStartedEvent,
    TurnSteerResponse,
    UserMessageThreadItem,
)

from tests.support.fake_provider import Hang, HttpError, Text, Usage, final_text

from .conftest import requires_codex
from .support import (
    STEP_TIMEOUT_S,
    RoutedProvider,
    TurnStartAnswerGate,
    abort_when,
    abort_when_waiting,
    agent_deltas,
    agent_messages,
    consume_until,
    one_response,
    user_texts,
    wait_until_no_watch,
)

pytestmark = [pytest.mark.real, requires_codex, pytest.mark.timeout(60)]


def settled_turns(thread: Any) -> list[Turn]:
    """The thread's turns once none is in progress (an interrupt takes effect asynchronously)."""
    deadline = time.monotonic() + STEP_TIMEOUT_S
    while True:
        turns: list[Turn] = thread.read(include_turns=True).thread.turns
        if all(t.status != TurnStatus.in_progress for t in turns) or time.monotonic() > deadline:
            return turns
        time.sleep(0.05)


def test_run_returns_final_response_items_and_usage(codex: Any, provider: RoutedProvider) -> None:
    usage = Usage(input_tokens=21, output_tokens=8)
    provider.enqueue(final_text("The answer is 42.", usage=usage))
    thread = codex.thread_start()

    result = thread.run("What is six times seven?")

    assert isinstance(result, RunResult)
    assert result.final_response == "The answer is 42."
    user, agent = result.items
    assert isinstance(user, UserMessageThreadItem)
    assert [part.text for part in user.content] == ["What is six times seven?"]
    assert isinstance(agent, AgentMessageThreadItem) and agent.text == "The answer is 42."
    assert isinstance(result.usage, ThreadTokenUsage)
    assert (result.usage.last.input_tokens, result.usage.last.output_tokens) == (21, 8)
    assert result.usage.last.total_tokens == usage.total_tokens
    assert result.turn is not None and result.turn.status == TurnStatus.completed
    assert "What is six times seven?" in user_texts(provider.requests[-1])


@pytest.mark.parametrize(
    ("messages", "expected"),
    [
        pytest.param([Text("Let me look.", phase="commentary"), final_text("Found it.")], "Found it.", id="final"),
        pytest.param([Text("No phase at all.")], "No phase at all.", id="phase-less"),
        pytest.param([Text("Only thinking aloud.", phase="commentary")], None, id="commentary-only"),
        pytest.param(
            [final_text("First answer."), Text("Trailing note.", phase="commentary")], "First answer.", id="last-final"
        ),
    ],
)
def test_final_response_rule(codex: Any, provider: RoutedProvider, messages: list[Text], expected: str | None) -> None:
    provider.enqueue(one_response(*messages))
    thread = codex.thread_start()

    result = thread.run("Answer, please.")

    texts = [(item.text, item.phase) for item in result.items if isinstance(item, AgentMessageThreadItem)]
    assert texts == [(m.text, MessagePhase(m.phase) if m.phase else None) for m in messages]
    assert result.final_response == expected


def test_stream_yields_deltas_in_order_and_the_final_item_matches(codex: Any, provider: RoutedProvider) -> None:
    chunks = ["Streaming ", "arrives ", "piece ", "by piece."]
    provider.enqueue(final_text("".join(chunks), chunks=chunks))
    thread = codex.thread_start()

    handle = thread.turn("Stream something.")
    events = list(handle.stream())

    assert agent_deltas(events) == chunks
    assert all(isinstance(e, ItemAgentMessageDeltaEvent) for e in events if e.method == "item/agentMessage/delta")
    (message,) = agent_messages(events)
    assert message.text == "".join(agent_deltas(events))
    methods = [e.method for e in events]
    assert methods.index("turn/started") < methods.index("item/agentMessage/delta")
    assert methods.index("item/completed", methods.index("item/agentMessage/delta")) < len(methods) - 1
    last = events[-1]
    assert isinstance(last, TurnCompletedEvent) and last.params.turn.id == handle.id
    assert last.params.turn.status == TurnStatus.completed
    for event in events:  # only this turn's notifications
        params = event.params
        assert getattr(params, "thread_id", thread.id) == thread.id
        assert getattr(params, "turn_id", handle.id) == handle.id
    # The codex this SDK was generated from stamps its notifications (0.133 and 0.144 do not), and its models
    # have the field (an SDK generated from an older schema keeps the stamp as an extra).
    if codex.server_version == codex_app_server.__version__ and "emitted_at_ms" in TurnStartedEvent.model_fields:
        stamps = [getattr(e, "emitted_at_ms", None) for e in events]
        assert all(isinstance(stamp, int) for stamp in stamps), stamps  # kept from the wire, not dropped


def test_turn_handle_run_returns_the_generated_turn(codex: Any, provider: RoutedProvider) -> None:
    provider.enqueue(final_text("Done via run()."))
    thread = codex.thread_start()
    handle = thread.turn("Go.")

    turn = handle.run()

    assert isinstance(turn, Turn)
    assert turn.id == handle.id and turn.status == TurnStatus.completed
    assert [i.text for i in turn.items if isinstance(i, AgentMessageThreadItem)] == ["Done via run()."]


def test_steer_adds_input_to_the_running_turn(codex: Any, provider: RoutedProvider) -> None:
    provider.enqueue(Hang(timeout_s=STEP_TIMEOUT_S), final_text("Steered answer."))
    thread = codex.thread_start()
    handle = thread.turn("Start slowly.")
    stream = handle.stream()
    started = consume_until(stream, lambda e: isinstance(e, TurnStartedEvent))
    provider.wait_for_requests(1)  # the model is busy with the first input

    steered = handle.steer("Also mention the weather.")

    assert isinstance(steered, TurnSteerResponse) and steered.turn_id == handle.id
    rest = list(stream)
    assert isinstance(rest[-1], TurnCompletedEvent) and rest[-1].params.turn.status == TurnStatus.completed
    assert [m.text for m in agent_messages(rest)] == ["Steered answer."]
    assert "Also mention the weather." in user_texts(provider.requests[-1])
    users = [e.params.item for e in (*started, *rest) if isinstance(e, ItemCompletedEvent)]
    texts = [p.text for u in users if isinstance(u, UserMessageThreadItem) for p in u.content]
    assert texts == ["Start slowly.", "Also mention the weather."]


def test_interrupt_ends_the_turn_as_interrupted(codex: Any, provider: RoutedProvider) -> None:
    provider.enqueue(Hang(timeout_s=STEP_TIMEOUT_S))
    thread = codex.thread_start()
    handle = thread.turn("Take your time.")
    stream = handle.stream()
    consume_until(stream, lambda e: isinstance(e, TurnStartedEvent))
    provider.wait_for_requests(1)  # the model is busy

    handle.interrupt()

    rest = list(stream)
    assert isinstance(rest[-1], TurnCompletedEvent)
    assert rest[-1].params.turn.id == handle.id
    assert rest[-1].params.turn.status == TurnStatus.interrupted
    provider.enqueue(final_text("Fresh turn."))
    assert thread.run("Next.").final_response == "Fresh turn."


@pytest.mark.parametrize("attempt", range(4))
def test_interrupt_at_once_after_turn_is_not_refused(codex: Any, provider: RoutedProvider, attempt: int) -> None:
    """codex answers turn/start before the turn runs and refuses turn/interrupt until it does.

    interrupt() waits for turn/started, so "start, then cancel" works every
    time (without the wait, about half of these attempts raised "no active
    turn to interrupt" and the turn ran on).
    """
    provider.enqueue(Hang(timeout_s=STEP_TIMEOUT_S))
    thread = codex.thread_start()
    handle = thread.turn("Take your time.")

    handle.interrupt()

    rest = list(handle.stream())
    assert isinstance(rest[-1], TurnCompletedEvent)
    assert rest[-1].params.turn.status == TurnStatus.interrupted
    provider.reset()  # the interrupt may have come before the model was asked: drop the unused Hang
    # Routed by the prompt, not queued: the interrupted turn's model request can
    # still reach the provider after reset() and would take a queued reply.
    provider.route("Next.", final_text("Fresh turn."))
    assert thread.run("Next.").final_response == "Fresh turn."


def test_failed_turn_raises_from_run_and_is_returned_by_turn_handle_run(codex: Any, provider: RoutedProvider) -> None:
    provider.enqueue(HttpError(500))
    thread = codex.thread_start()

    with pytest.raises(TurnFailedError) as failed:
        thread.run("This will fail.")

    error = failed.value.error
    assert error is not None and error.message  # the provider's failure reaches the user
    assert error.codex_error_info == "internalServerError"
    assert failed.value.turn.status == TurnStatus.failed
    assert error.message in str(failed.value)

    provider.enqueue(HttpError(500))
    turn = thread.turn("Fail again.").run()
    assert turn.status == TurnStatus.failed
    assert turn.error is not None and turn.error.codex_error_info == "internalServerError"

    provider.enqueue(final_text("Recovered."))
    assert thread.run("Try once more.").final_response == "Recovered."  # the thread stays usable


@pytest.mark.skipif(os.name != "posix", reason="delivers SIGINT with pthread_kill")
@pytest.mark.parametrize("consumer", ["stream", "run"])
def test_ctrl_c_or_cancellation_while_waiting_interrupts_the_turn(
    codex: Any, provider: RoutedProvider, consumer: str
) -> None:
    """Sync: a real SIGINT (Ctrl-C) while the consumer waits; async: the awaiting task is cancelled."""
    provider.enqueue(Hang(timeout_s=STEP_TIMEOUT_S))
    thread = codex.thread_start()

    expected = abort_when_waiting(codex, provider, thread.id)
    with pytest.raises(expected):
        if consumer == "stream":
            for _event in thread.turn("Wait for me.").stream():
                pass
        else:
            thread.run("Wait for me.")

    provider.enqueue(final_text("Still here."))
    result = thread.run("Are you there?")  # right away: the client is usable
    assert result.final_response == "Still here."
    aborted, after = settled_turns(thread)
    assert aborted.status == TurnStatus.interrupted
    assert result.turn is not None and after.id == result.turn.id and after.status == TurnStatus.completed


class UserBug(Exception):
    pass


@pytest.mark.parametrize("leave", ["ctrl-c", "exception", "break"])
def test_leaving_the_loop_early_interrupts_the_turn(codex: Any, provider: RoutedProvider, leave: str) -> None:
    """Ctrl-C or an exception in the loop body, or ``break``: the abandoned turn is interrupted."""
    provider.enqueue(Hang(timeout_s=STEP_TIMEOUT_S))
    thread = codex.thread_start()
    handle = thread.turn("Start, then get abandoned.")
    raised = {"ctrl-c": KeyboardInterrupt, "exception": UserBug, "break": None}[leave]

    try:
        for event in handle.stream():
            if isinstance(event, TurnStartedEvent):
                provider.wait_for_requests(1)  # the model is busy
                if raised is None:
                    break
                raise raised  # e.g. Ctrl-C while the user's code prints an event
    except BaseException as exc:
        assert raised is not None and isinstance(exc, raised)

    provider.enqueue(final_text("Next answer."))
    result = thread.run("Next question.")
    assert result.final_response == "Next answer."
    aborted, after = settled_turns(thread)
    assert aborted.id == handle.id and aborted.status == TurnStatus.interrupted
    assert after.status == TurnStatus.completed


@pytest.mark.parametrize("leave", ["ctrl-c", "break"])
def test_leaving_the_loop_at_the_first_event_interrupts_the_turn(
    codex: Any, provider: RoutedProvider, leave: str
) -> None:
    """Left at once, typically before ``turn/started``: codex refuses an interrupt until then
    ("no active turn"), so the SDK interrupts the turn again when it starts."""
    provider.route("first", Hang(timeout_s=STEP_TIMEOUT_S))  # unused if interrupted before asking the model
    thread = codex.thread_start()
    handle = thread.turn("Leave at the first event.")

    try:
        for _event in handle.stream():
            if leave == "break":
                break
            raise KeyboardInterrupt  # e.g. Ctrl-C while the user's code prints the first event
    except KeyboardInterrupt:
        assert leave == "ctrl-c"

    provider.route("next", final_text("Next answer."))
    result = thread.run("The next question.")
    assert result.final_response == "Next answer."
    aborted, after = settled_turns(thread)
    assert aborted.id == handle.id and aborted.status == TurnStatus.interrupted
    assert after.status == TurnStatus.completed


@pytest.fixture
def gate(monkeypatch: pytest.MonkeyPatch) -> Iterator[TurnStartAnswerGate]:
    """A :class:`TurnStartAnswerGate` for the clients the test starts; released at the end in any case."""
    gate = TurnStartAnswerGate()
    gate.install(monkeypatch)
    yield gate
    gate.release()


@pytest.mark.skipif(os.name != "posix", reason="delivers SIGINT with pthread_kill")
@pytest.mark.parametrize("call", ["turn", "run"])
def test_ctrl_c_or_cancellation_during_turn_start_interrupts_the_turn_it_starts(
    open_codex: Any,
    config_factory: Any,
    provider: RoutedProvider,
    call: str,
    gate: TurnStartAnswerGate,
) -> None:
    """The abort lands while ``turn/start`` is in flight: it propagates without waiting for the
    answer, and the turn the server starts anyway is interrupted once the answer comes."""
    codex = open_codex(config_factory())
    provider.route("abandoned", Hang(timeout_s=STEP_TIMEOUT_S))  # unused if interrupted before asking the model
    thread = codex.thread_start()

    expected = abort_when(codex, gate.holding.is_set)
    with pytest.raises(expected):  # while the client has not read the answer: nothing waited for it
        getattr(thread, call)("Start, then get abandoned.")
    wait_until_no_watch(codex, thread.id)
    gate.release()  # only now does the client read the answer

    provider.route("there", final_text("Still here."))  # the history holds "abandoned" too
    result = thread.run("Are you there?")  # right away: the client and the thread are usable
    assert result.final_response == "Still here."
    aborted, after = settled_turns(thread)
    assert aborted.status == TurnStatus.interrupted
    assert result.turn is not None and after.id == result.turn.id and after.status == TurnStatus.completed


def _ctrl_c_after_sending_turn_start(monkeypatch: pytest.MonkeyPatch) -> None:
    """Ctrl-C lands just after the ``turn/start`` line went out, before the caller waits for the answer."""
    armed = [True]

    class CtrlCAfterTurnStart(StdioTransport):
        def send(self, line: bytes, timeout: float | None = None) -> None:
            super().send(line, timeout)
            if armed[0] and b'"method":"turn/start"' in line.replace(b" ", b""):
                armed[0] = False
                raise KeyboardInterrupt

    monkeypatch.setattr(_session, "StdioTransport", CtrlCAfterTurnStart)


def _ctrl_c_before_consuming(monkeypatch: pytest.MonkeyPatch) -> None:
    """Ctrl-C lands once ``turn/start`` is answered, before ``run()`` starts consuming the turn."""
    armed = [True]
    collect = TurnHandle._collect

    def interrupted_collect(self: TurnHandle) -> RunResult:
        if armed[0]:
            armed[0] = False
            raise KeyboardInterrupt
        return collect(self)

    monkeypatch.setattr(TurnHandle, "_collect", interrupted_collect)


@pytest.mark.parametrize(
    "moment", [_ctrl_c_after_sending_turn_start, _ctrl_c_before_consuming], ids=["after-sending", "before-consuming"]
)
def test_ctrl_c_at_any_moment_of_run_leaves_no_turn_running(
    monkeypatch: pytest.MonkeyPatch,
    config_factory: Any,
    provider: RoutedProvider,
    moment: Callable[[pytest.MonkeyPatch], None],
) -> None:
    """Wherever Ctrl-C lands in ``run()`` (a regression: just after ``turn/start`` was sent, it used to
    skip the abandonment, and the orphaned turn absorbed the next input), the started turn is
    interrupted and the thread's next turn is a turn of its own."""
    moment(monkeypatch)
    provider.route("abandoned", Hang(timeout_s=STEP_TIMEOUT_S))  # unused if interrupted before asking the model
    with Codex(config_factory()) as codex:
        thread = codex.thread_start()
        with pytest.raises(KeyboardInterrupt):
            thread.run("Start, then get abandoned.")

        provider.route("there", final_text("Still here."))
        result = thread.run("Are you there?")
        assert result.final_response == "Still here."
        aborted, after = settled_turns(thread)
        assert aborted.status == TurnStatus.interrupted
        assert result.turn is not None and after.id == result.turn.id and after.status == TurnStatus.completed
