"""Server requests end to end: command approvals answered through the handler API.

The thread runs with ``approval_policy="untrusted"``; the fake model asks to
run ``echo hi`` (``exec_command``), codex asks the client for approval
(``item/commandExecution/requestApproval``) and the installed handler
answers. The sync client gets a ``ServerRequestHandler`` subclass, the async
client an ``AsyncServerRequestHandler`` subclass with native coroutines.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import Callable
from typing import Any

import pytest
from codex_app_server import AsyncServerRequestHandler, DeferredAnswer, ServerRequestHandler, TurnStatus, defer_answer
from codex_app_server.generated.v2_all import (
    ActiveThreadStatus,
    CommandExecutionRequestApprovalParams,
    CommandExecutionRequestApprovalResponse,
    CommandExecutionStatus,
    CommandExecutionThreadItem,
    ItemCompletedEvent,
    ItemStartedEvent,
    ThreadActiveFlag,
    ThreadItem,
    TurnCompletedEvent,
)

from tests.support.fake_provider import FunctionCall, final_text

from .conftest import requires_codex
from .support import STEP_TIMEOUT_S, Blocking, RoutedProvider, tool_outputs

pytestmark = [pytest.mark.real, requires_codex, pytest.mark.timeout(60)]

ECHO_HI = FunctionCall(arguments={"cmd": "echo hi", "yield_time_ms": 1000})
Decide = Callable[[CommandExecutionRequestApprovalParams], str]


def approval_handler(codex: Any, decide: Decide) -> tuple[Any, list[CommandExecutionRequestApprovalParams]]:
    """A handler of the client's flavour that answers command approvals with ``decide(params)``."""
    asked: list[CommandExecutionRequestApprovalParams] = []

    def answer(params: CommandExecutionRequestApprovalParams) -> CommandExecutionRequestApprovalResponse:
        asked.append(params)
        return CommandExecutionRequestApprovalResponse(decision=decide(params))

    class Sync(ServerRequestHandler):
        def item_command_execution_request_approval(
            self, params: CommandExecutionRequestApprovalParams
        ) -> CommandExecutionRequestApprovalResponse:
            return answer(params)

    class Async(AsyncServerRequestHandler):
        async def item_command_execution_request_approval(
            self, params: CommandExecutionRequestApprovalParams
        ) -> CommandExecutionRequestApprovalResponse:
            await asyncio.sleep(0)  # a real coroutine, run on the client's event loop
            return answer(params)

    return (Async() if isinstance(codex, Blocking) else Sync()), asked


def command_items(items: list[ThreadItem]) -> list[CommandExecutionThreadItem]:
    return [item for item in items if isinstance(item, CommandExecutionThreadItem)]


def untrusted_thread(codex: Any) -> Any:
    return codex.thread_start(approval_policy="untrusted")


def test_accept_runs_the_command(codex: Any, provider: RoutedProvider) -> None:
    provider.enqueue(ECHO_HI, final_text("The command printed hi."))
    handler, asked = approval_handler(codex, lambda params: "accept")
    codex.set_handler(handler)
    thread = untrusted_thread(codex)

    result = thread.run("Run echo hi.")

    (params,) = asked
    assert params.thread_id == thread.id and "echo hi" in (params.command or "")
    (item,) = command_items(result.items)
    assert item.status == CommandExecutionStatus.completed
    assert (item.aggregated_output or "").strip() == "hi"
    assert item.exit_code == 0
    assert any("hi" in output for output in tool_outputs(provider.requests[-1]))  # the model saw the output
    assert result.final_response == "The command printed hi."


@pytest.mark.parametrize("install", [True, False], ids=["decline", "no-handler"])
def test_decline_skips_the_command_and_the_turn_goes_on(codex: Any, provider: RoutedProvider, install: bool) -> None:
    """Explicitly declined, or no handler installed: the safe default also declines."""
    provider.enqueue(ECHO_HI, final_text("Understood, not running it."))
    if install:
        handler, asked = approval_handler(codex, lambda params: "decline")
        codex.set_handler(handler)
    thread = untrusted_thread(codex)

    result = thread.run("Run echo hi.")

    if install:
        assert len(asked) == 1
    (item,) = command_items(result.items)
    assert item.status == CommandExecutionStatus.declined
    assert not (item.aggregated_output or "").strip()
    assert result.turn is not None and result.turn.status == TurnStatus.completed
    assert len(provider.requests) == 2  # the model was told and answered
    assert result.final_response == "Understood, not running it."


def test_cancel_interrupts_the_turn(codex: Any, provider: RoutedProvider) -> None:
    provider.enqueue(ECHO_HI, final_text("never sent"))
    handler, asked = approval_handler(codex, lambda params: "cancel")
    codex.set_handler(handler)
    thread = untrusted_thread(codex)

    result = thread.run("Run echo hi.")

    assert len(asked) == 1
    assert result.turn is not None and result.turn.status == TurnStatus.interrupted
    assert result.final_response is None
    assert len(provider.requests) == 1  # the model was not asked again
    assert all(item.status != CommandExecutionStatus.completed for item in command_items(result.items))


def test_handler_that_raises_gets_an_error_reply_and_the_turn_goes_on(
    codex: Any, provider: RoutedProvider, caplog: pytest.LogCaptureFixture
) -> None:
    provider.enqueue(ECHO_HI, final_text("The approval failed, moving on."))

    def broken(params: CommandExecutionRequestApprovalParams) -> str:
        raise RuntimeError("approval UI crashed")

    handler, asked = approval_handler(codex, broken)
    codex.set_handler(handler)
    thread = untrusted_thread(codex)

    with caplog.at_level(logging.WARNING, logger="codex_app_server"):
        result = thread.run("Run echo hi.")

    assert len(asked) == 1
    (item,) = command_items(result.items)
    assert item.status == CommandExecutionStatus.failed
    assert not (item.aggregated_output or "").strip()  # nothing ran
    assert result.turn is not None and result.turn.status == TurnStatus.completed
    assert result.final_response == "The approval failed, moving on."
    assert "approval UI crashed" in caplog.text
    (record,) = [r for r in caplog.records if "approval UI crashed" in r.getMessage()]
    assert record.exc_info is not None and record.exc_info[1] is not None  # the traceback is logged
    assert "in broken" in caplog.text  # the handler's own frame


def test_deferred_answer_does_not_block_other_traffic(codex: Any, provider: RoutedProvider) -> None:
    """The handler decides later (a human clicking); meanwhile other requests go through.

    Async client: a native coroutine awaiting an ``asyncio.Event``; sync client: a
    handler blocking on a ``threading.Event`` (it runs off the reader thread).
    """
    provider.enqueue(ECHO_HI, final_text("Approved later."))
    asked = threading.Event()
    if isinstance(codex, Blocking):
        decided = asyncio.Event()  # created on the client's loop below
        loop = codex.loop.loop

        class LaterAsync(AsyncServerRequestHandler):
            async def item_command_execution_request_approval(
                self, params: CommandExecutionRequestApprovalParams
            ) -> CommandExecutionRequestApprovalResponse:
                asked.set()
                await decided.wait()
                return CommandExecutionRequestApprovalResponse(decision="accept")

        codex.set_handler(LaterAsync())

        def decide() -> None:
            loop.call_soon_threadsafe(decided.set)

    else:
        decided_sync = threading.Event()

        class LaterSync(ServerRequestHandler):
            def item_command_execution_request_approval(
                self, params: CommandExecutionRequestApprovalParams
            ) -> CommandExecutionRequestApprovalResponse:
                asked.set()
                assert decided_sync.wait(STEP_TIMEOUT_S)
                return CommandExecutionRequestApprovalResponse(decision="accept")

        codex.set_handler(LaterSync())
        decide = decided_sync.set

    thread = untrusted_thread(codex)
    other = codex.thread_start()
    handle = thread.turn("Run echo hi.")
    events = []
    for event in handle.stream():
        events.append(event)
        if isinstance(event, ItemStartedEvent) and isinstance(event.params.item, CommandExecutionThreadItem):
            assert asked.wait(STEP_TIMEOUT_S)
            # The answer is pending: the connection still serves other requests meanwhile.
            status = thread.read().thread.status
            assert isinstance(status, ActiveThreadStatus)
            assert status.active_flags == [ThreadActiveFlag.waiting_on_approval]
            other.set_name("named while an approval waits")
            assert other.read().thread.name == "named while an approval waits"
            assert codex.models().data
            decide()

    last = events[-1]
    assert isinstance(last, TurnCompletedEvent) and last.params.turn.status == TurnStatus.completed
    (item,) = [
        e.params.item
        for e in events
        if isinstance(e, ItemCompletedEvent) and isinstance(e.params.item, CommandExecutionThreadItem)
    ]
    assert (item.aggregated_output or "").strip() == "hi"


def test_a_deferred_answer_is_sent_later_from_another_thread(codex: Any, provider: RoutedProvider) -> None:
    """The handler returns at once; the approval is answered later through the handle (stdio)."""
    provider.enqueue(ECHO_HI, final_text("Ran it after a while."))
    handles: list[DeferredAnswer[CommandExecutionRequestApprovalResponse]] = []
    codex.set_handler(deferring_handler(codex, handles, timeout=STEP_TIMEOUT_S))
    thread = untrusted_thread(codex)
    answered = threading.Event()

    def answer_later() -> None:
        while not handles:
            time.sleep(0.01)
        time.sleep(0.2)  # the handler has long returned
        answered.set()
        assert handles[0].resolve(CommandExecutionRequestApprovalResponse(decision="accept"))

    threading.Thread(target=answer_later, daemon=True).start()
    result = thread.run("Run echo hi.")

    assert answered.is_set() and handles[0].done and not handles[0].resolved_elsewhere
    (item,) = command_items(result.items)
    assert item.status == CommandExecutionStatus.completed
    assert not handles[0].resolve(CommandExecutionRequestApprovalResponse(decision="decline"))  # once only


def test_a_deferred_answer_nobody_gives_sends_the_safe_default_after_its_timeout(
    codex: Any, provider: RoutedProvider
) -> None:
    provider.enqueue(ECHO_HI, final_text("Not running it, then."))
    handles: list[DeferredAnswer[CommandExecutionRequestApprovalResponse]] = []
    codex.set_handler(deferring_handler(codex, handles, timeout=0.3))
    thread = untrusted_thread(codex)

    result = thread.run("Run echo hi.")

    (item,) = command_items(result.items)
    assert item.status == CommandExecutionStatus.declined  # the default
    assert handles[0].done and result.final_response == "Not running it, then."


def deferring_handler(
    codex: Any, handles: list[DeferredAnswer[CommandExecutionRequestApprovalResponse]], timeout: float
) -> Any:
    """A handler of the client's flavour that defers every command approval (default: decline)."""

    def defer() -> CommandExecutionRequestApprovalResponse:
        answer = defer_answer(CommandExecutionRequestApprovalResponse(decision="decline"), timeout=timeout)
        handles.append(answer)
        return answer.default  # ignored: the handle answers

    class Sync(ServerRequestHandler):
        def item_command_execution_request_approval(
            self, params: CommandExecutionRequestApprovalParams
        ) -> CommandExecutionRequestApprovalResponse:
            return defer()

    class Async(AsyncServerRequestHandler):
        async def item_command_execution_request_approval(
            self, params: CommandExecutionRequestApprovalParams
        ) -> CommandExecutionRequestApprovalResponse:
            return defer()

    return Async() if isinstance(codex, Blocking) else Sync()
