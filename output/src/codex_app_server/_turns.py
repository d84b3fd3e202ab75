"""One home for the turn: what it produces, how its events are read, when the SDK interrupts it.

- :class:`RunResult` and :class:`TurnAccumulator`: a turn's events folded
  into what ``run()`` returns and ``TurnHandle.result`` shows.
- :class:`TurnState`: one started turn as its handle consumes it; its
  :meth:`~TurnState.events` is the one loop that turns buffered batches into
  typed events, for the blocking and the asyncio stream alike.
- :class:`StartingTurn`: the guard between watching a thread and a consumer
  taking over the started turn.
- :class:`Interrupts`: the interrupt policy. A turn whose caller left
  (Ctrl-C, a cancelled task or a timeout, while ``turn/start`` was in flight
  or while streaming) is interrupted, as nobody would consume it: it would
  run on and absorb the thread's next input; the thread's next turn waits for
  it to end (:meth:`Router.settle`). Only turns this client started are ever
  interrupted: every interrupt names the turn id bound to its watch.
"""

from __future__ import annotations

import dataclasses
import functools
import logging
import time
from collections import deque
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Generic, Protocol

from pydantic import ValidationError
from typing_extensions import TypeVar  # PEP 696 defaults: typing's needs 3.13

from ._errors import CodexTimeoutError, ResponseValidationError, TurnFailedError
from ._output import StructuredOutputError
from ._output import parse as parse_output
from ._routing import Event, Router, TurnWatch, decode_notification
from ._rpc import RpcConnection
from ._wire import model_to_wire

# Models are named through v2_all (and the notification union through its
# module), which import them on first use; annotations spelt so still
# resolve at run time (typing.get_type_hints).
from .generated import methods, notifications, v2_all

if TYPE_CHECKING:
    from types import TracebackType

__all__ = ["Interrupts", "ParsedT", "RunResult", "StartingTurn", "TurnAccumulator", "TurnState", "TurnStartAnswer"]

logger = logging.getLogger("codex_app_server")

# How long an interrupted consumer waits for the turn to wind down.
INTERRUPT_GRACE_S = 5.0
# How long interrupt() / steer() wait for turn/started (codex answers turn/start
# before the turn runs, and refuses both until then); after it they go anyway.
START_WAIT_S = 10.0


# What a turn's final answer is parsed as (``output_type``); None when it is not parsed.
ParsedT = TypeVar("ParsedT", default=None)


@dataclass(frozen=True)
class RunResult(Generic[ParsedT]):
    """What ``Thread.run()`` returns, and what ``TurnHandle.result`` shows.

    ``final_response`` is the text of the last assistant message whose phase
    is ``final_answer`` or unknown (phase-less); None when there is none.
    ``items`` are every item the turn completed, in order (commands, file
    changes, messages ...), not just the summary the server keeps on the turn.
    """

    final_response: str | None
    items: list[v2_all.ThreadItem] = field(default_factory=list)
    usage: v2_all.ThreadTokenUsage | None = None
    """The thread's token usage as last reported: ``total`` is the running
    total of the whole thread (every turn so far), ``last`` the last model
    request alone. None when codex reported none. For this turn's tokens see
    ``turn_usage``."""
    turn: v2_all.Turn | None = None
    """The turn as last reported: the completed turn (status, error, timing)
    once it ended; while it runs, the started turn."""
    turn_usage: v2_all.TokenUsageBreakdown | None = None
    """The tokens of this turn alone: the thread's total after the turn minus
    its total before it (every model request of the turn, tool calls
    included). None when codex reported no usage."""
    parsed: ParsedT = None  # type: ignore[assignment]  # None is the default's own value
    """The final answer parsed as the turn's ``output_type`` (``run(..., output_type=Model)``):
    a ``Model``. None without an ``output_type`` (and on a turn handle's result
    until the turn completed)."""


class TurnAccumulator:
    """Folds a turn's notifications into a RunResult."""

    def __init__(self) -> None:
        self.items: list[v2_all.ThreadItem] = []
        self.usage: v2_all.ThreadTokenUsage | None = None
        self.turn: v2_all.Turn | None = None
        self.total_before: v2_all.TokenUsageBreakdown | None = None

    @staticmethod
    @functools.cache
    def folds() -> Mapping[type, Callable[[TurnAccumulator, Any], bool]]:
        """What each event class that counts does to the result; a stream looks its events up here.

        Exact classes (decode_notification makes no others): one lookup per
        event, and none of the rest (every delta) costs a call.
        """
        return {
            v2_all.ItemCompletedEvent: TurnAccumulator._item_completed,
            v2_all.ThreadTokenUsageUpdatedEvent: TurnAccumulator._usage_updated,
            v2_all.TurnStartedEvent: TurnAccumulator._turn_reported,
            v2_all.TurnCompletedEvent: TurnAccumulator._turn_reported,
        }

    def add(self, event: notifications.Notification) -> bool:
        """Fold ``event`` in; True when it changed the turn's status or items."""
        fold = self.folds().get(type(event))
        return fold is not None and fold(self, event)

    def _item_completed(self, event: v2_all.ItemCompletedEvent) -> bool:
        self.items.append(event.params.item)
        return True

    def _usage_updated(self, event: v2_all.ThreadTokenUsageUpdatedEvent) -> bool:
        usage = event.params.token_usage
        if self.total_before is None:  # the first report of the turn: its total includes one request
            self.total_before = _difference(usage.total, usage.last)
        self.usage = usage
        return False

    def _turn_reported(self, event: v2_all.TurnStartedEvent | v2_all.TurnCompletedEvent) -> bool:
        self.turn = event.params.turn
        return True

    def snapshot(self) -> RunResult[Any]:
        """The result so far (never raises)."""
        turn_usage = None
        if self.usage is not None and self.total_before is not None:
            turn_usage = _difference(self.usage.total, self.total_before)
        return RunResult(final_response(self.items), list(self.items), self.usage, self.turn, turn_usage)

    def result(self) -> RunResult[Any]:
        turn = self.turn
        if turn is not None and turn.status == v2_all.TurnStatus.failed:
            raise TurnFailedError(turn, turn.error)
        return self.snapshot()


def with_parsed(result: RunResult[Any], output_type: object) -> RunResult[Any]:
    """``result`` with its final answer parsed as ``output_type``; raises :class:`StructuredOutputError`."""
    return dataclasses.replace(result, parsed=parse_output(output_type, result.final_response))


def _difference(after: v2_all.TokenUsageBreakdown, before: v2_all.TokenUsageBreakdown) -> v2_all.TokenUsageBreakdown:
    """Field-wise ``after - before`` of two usage breakdowns."""
    counts = {name: getattr(after, name) - getattr(before, name) for name in type(after).model_fields}
    return type(after).model_validate(counts)


def final_response(items: list[v2_all.ThreadItem]) -> str | None:
    for item in reversed(items):
        if isinstance(item, v2_all.AgentMessageThreadItem) and item.phase in (None, v2_all.MessagePhase.final_answer):
            return item.text
    return None


def _ends_turn(event: notifications.Notification, turn_id: str) -> bool:
    """True for the turn/completed of ``turn_id`` (the turn ``event`` names); raises when that one does not decode
    (nothing else will end the turn)."""
    if isinstance(event, v2_all.TurnCompletedEvent):
        return True
    reason = getattr(event, "reason", None) or "it did not decode"
    detail = f"{event.method} of turn {turn_id} does not fit the model: {reason}"
    raise ResponseValidationError(None, event.params, detail)


class RetryWatch:
    """How long codex has been retrying a turn (``error`` notifications with ``willRetry``), and its last word.

    Retrying starts with the first such notification and ends with any other
    event of the turn (codex got through). Each retry is logged: ``run()``
    shows nothing else while codex waits for a provider it cannot reach.
    """

    def __init__(self, limit: float | None) -> None:
        self.limit = limit
        self.since: float | None = None
        self.last_message = ""

    def note(self, event: notifications.Notification, turn_id: str) -> bool:
        """Fold ``event`` in; True when codex has now been retrying for longer than the limit."""
        if not isinstance(event, v2_all.ErrorEvent):
            self.since = None
            return False
        params = event.params
        if not params.will_retry or params.turn_id != turn_id:
            return False
        self.last_message = params.error.message
        logger.warning("turn %s: codex retries: %s", turn_id, self.last_message)
        if self.since is None:
            self.since = time.monotonic()
        return self.exhausted()

    def left(self) -> float | None:
        """Seconds of retrying left (None: not retrying, or no limit)."""
        if self.since is None or self.limit is None:
            return None
        return max(0.0, self.since + self.limit - time.monotonic())

    def exhausted(self) -> bool:
        left = self.left()
        return left is not None and left <= 0.0


class TurnState:
    """One started turn as its handle consumes it: the watch, what it produced, its interrupts.

    The handle's ``stream()`` (blocking or asyncio) only waits for the next
    batch its own way; :meth:`events` folds each batch into typed events.
    """

    def __init__(
        self,
        interrupts: Interrupts,
        thread_id: str,
        turn: v2_all.Turn,
        watch: TurnWatch,
        retry_limit: float | None = None,
    ) -> None:
        self.interrupts = interrupts
        self.retries = RetryWatch(retry_limit)
        self.watch = watch
        self.thread_id = thread_id
        self.turn_id = turn.id
        self.acc = TurnAccumulator()
        self.started = turn
        self.ended = False  # this turn's turn/completed was handed out by events()
        self.output_type: object | None = None  # what the final answer is parsed as (output_type=)
        watch.bind(turn.id)

    def snapshot(self) -> RunResult[Any]:
        """The result so far (a handle's ``result``): parsed once completed with an answer that validates."""
        snapshot = self.acc.snapshot()
        turn = self.acc.turn
        if self.output_type is None or turn is None or turn.status != v2_all.TurnStatus.completed:
            return snapshot
        try:
            return with_parsed(snapshot, self.output_type)
        except StructuredOutputError:
            return snapshot

    def result(self) -> RunResult[Any]:
        """The ended turn's result (raises for a failed turn), its final answer parsed when there is an ``output_type``."""
        result = self.acc.result()
        return result if self.output_type is None else with_parsed(result, self.output_type)

    @property
    def turn(self) -> v2_all.Turn:
        """The turn as last reported; while it runs, with the items completed so far."""
        reported = self.acc.turn or self.started
        if reported.status == v2_all.TurnStatus.in_progress and self.acc.items:
            return reported.model_copy(update={"items": list(self.acc.items)})
        return reported

    def events(self, batch: deque[Event]) -> Iterator[notifications.Notification]:
        """The typed events of ``batch``, folded into the result; stops after this turn's ``turn/completed``.

        Popped one at a time: what the consumer does not take stays the watch's.
        """
        acc, folds, turn_id, completed = self.acc, self.acc.folds(), self.turn_id, methods.TURN_COMPLETED
        retries, error_event = self.retries, v2_all.ErrorEvent
        while batch:
            method, message, other = batch.popleft()
            event = decode_notification(method, message)
            fold = folds.get(type(event))
            if fold is not None:
                fold(acc, event)
            if method == completed and other == turn_id and _ends_turn(event, turn_id):
                self.ended = True
                yield event
                return
            # RetryWatch.note only for what can change it: an error, or any event while codex retries.
            if (retries.since is not None or type(event) is error_event) and retries.note(event, turn_id):
                yield event
                raise self.retry_error()
            yield event

    def next_wait(self, idle: float | None) -> float | None:
        """How long to wait for the next batch: the idle timeout, or less while codex retries."""
        left = self.retries.left()
        return idle if left is None else left if idle is None else min(idle, left)

    def timed_out(self, idle: float | None) -> CodexTimeoutError:
        """No batch within :meth:`next_wait`: interrupt the turn, and the error to raise."""
        return self.retry_error() if self.retries.exhausted() else self.idle_error(idle)

    def retry_error(self) -> CodexTimeoutError:
        """codex kept retrying beyond ``turn_retry_timeout``: interrupt the turn, and the error to raise."""
        self.send_interrupt()
        return CodexTimeoutError(
            f"turn {self.turn_id} of thread {self.thread_id}: codex kept retrying for {self.retries.limit} s "
            f"(AppServerConfig.turn_retry_timeout) and the turn was interrupted; codex's last message: "
            f"{self.retries.last_message}"
        )

    def idle_error(self, idle: float | None) -> CodexTimeoutError:
        """After ``idle`` seconds without an event: interrupt the turn, and the error to raise."""
        self.send_interrupt()
        return CodexTimeoutError(
            f"turn {self.turn_id} of thread {self.thread_id}: no event for {idle} s "
            "(AppServerConfig.turn_idle_timeout); the turn was interrupted"
        )

    def request_interrupt(self) -> bool:
        """Send turn/interrupt without waiting for its answer; False when there is nothing to interrupt.

        The answer is never awaited: an interrupt racing the turn's natural
        end is only answered when the thread's next turn ends. A turn left
        before its ``turn/started`` is interrupted once it starts (see
        :meth:`Interrupts.interrupt`).
        """
        return self.interrupts.request(self.watch)

    def send_interrupt(self) -> None:
        """Interrupt, fire and forget (a cancelled task must not wait); never raises."""
        try:
            self.request_interrupt()
        except Exception as exc:
            logger.debug("interrupting turn %s: %s", self.turn_id, exc)

    def interrupt_and_drain(self) -> None:
        """Interrupt, then wait (blocking, at most the grace) for the turn's end: the caller left with Ctrl-C."""
        try:
            if not self.request_interrupt():
                return
            while True:  # wait for turn/completed, not for the interrupt's answer
                method, message, other = self.watch.get(INTERRUPT_GRACE_S)
                self.acc.add(decode_notification(method, message))
                if method == methods.TURN_COMPLETED and other == self.turn_id:
                    return
        except Exception as exc:  # best effort: the user asked to stop
            logger.debug("interrupting turn %s after Ctrl-C: %s", self.turn_id, exc)


class TurnStartAnswer(Protocol):
    """The answer to ``turn/start``: the turn it started."""

    @property
    def turn(self) -> v2_all.Turn: ...


class StartingTurn:
    """Gives up a turn that its caller leaves before consuming it (Ctrl-C, cancellation, an error).

    Before ``turn/start`` is answered, the watch and consumer slot are given
    back (an abandoned ``turn/start`` is interrupted by :class:`Interrupts`
    once answered); after, the started turn is interrupted, as nobody would
    consume it: it would run on and absorb the thread's next input.
    """

    def __init__(self, interrupts: Interrupts, watch: TurnWatch) -> None:
        self._interrupts = interrupts
        self._watch = watch
        self._turn_id: str | None = None

    def started(self, turn: v2_all.Turn) -> v2_all.Turn:
        self._turn_id = turn.id
        return turn

    def __enter__(self) -> StartingTurn:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if exc_type is None:
            return
        if self._turn_id is None:
            self._watch.cancel()
        else:
            self._interrupts.leave(self._watch, self._turn_id)


class Interrupts:
    """When and how the SDK interrupts a turn: only ever one this client started, named by its turn id.

    ``rpc`` gives the connection of the moment (None before the first one,
    a new one after a reconnect).
    """

    def __init__(self, router: Router, rpc: Callable[[], RpcConnection | None]) -> None:
        self._router = router
        self._rpc = rpc

    def request(self, watch: TurnWatch) -> bool:
        """Interrupt ``watch``'s turn unless it completed or there is no connection; False then."""
        if watch.completed or self._rpc() is None:
            return False
        self.interrupt(watch)
        return True

    def interrupt(self, watch: TurnWatch) -> None:
        """Interrupt the bound ``watch``'s turn without waiting for anything; never raises.

        codex refuses ``turn/interrupt`` ("no active turn") from its
        ``turn/start`` answer until the turn has started, so the request goes
        now and, if ``turn/started`` is still to come, once more then (a
        second interrupt of a running turn is harmless). ``watch`` must have
        been registered before the turn/start answer was read, so that no
        ``turn/started`` slips past it.
        """
        turn_id = watch.turn_id
        if turn_id is None:
            return
        send = functools.partial(self._send, watch.thread_id, turn_id)
        watch.mark_interrupting(send)
        send()

    def leave(self, watch: TurnWatch, turn_id: str) -> None:
        """The caller left turn ``turn_id`` (of ``watch``) before or while consuming it: interrupt it unless it ended.

        Never raises. A consumer that interrupted the turn itself (Ctrl-C
        while streaming, an idle timeout) or saw it end leaves nothing to do
        but give back its consumer slot.
        """
        if watch.turn_id is None:
            watch.bind(turn_id)
        self._router.release(watch)
        if not (watch.completed or watch.interrupting):
            self.interrupt(watch)

    def _send(self, thread_id: str, turn_id: str) -> None:
        rpc = self._rpc()
        if rpc is None:
            return
        # The sender thread sends it later: until codex answered it, the thread's next turn/start must
        # wait, or it could overtake this interrupt, which would then stop that new turn instead.
        in_flight = object()
        self._router.hold(thread_id, in_flight)
        try:
            params = v2_all.TurnInterruptParams(thread_id=thread_id, turn_id=turn_id)
            # The sender thread sends it: this may run on the reader thread or an event loop, which must
            # never wait for the server to read (it may have stopped: the idle timeout is why we interrupt).
            answer = rpc.request_soon(methods.TURN_INTERRUPT, model_to_wire(params))
        except Exception as exc:  # may run on the reader thread: nothing may escape
            logger.debug("could not interrupt turn %s: %s", turn_id, exc)
            self._router.release_hold(thread_id, in_flight)
            return
        answer.add_done_callback(functools.partial(self._interrupt_answered, thread_id, turn_id, in_flight))

    def _interrupt_answered(self, thread_id: str, turn_id: str, in_flight: object, answer: Future[object]) -> None:
        self._router.release_hold(thread_id, in_flight)
        _log_refused_interrupt(turn_id, answer)

    def on_abandoned(self, method: str, params: Mapping[str, object] | None, request: Future[object]) -> bool:
        """The caller stopped waiting for a request (Ctrl-C, cancelled task, timeout).

        A ``turn/start`` it gave up on still starts a turn, and nobody would
        consume or interrupt it: it would run on, streaming, and absorb the
        thread's next input. Interrupt it once its id is known.
        """
        if method != methods.TURN_START or params is None:
            return False
        try:
            thread_id = v2_all.TurnStartParams.model_validate(params).thread_id
        except ValidationError:  # not sent by us, then: nothing to interrupt
            return False
        self._router.hold(thread_id, request)
        request.add_done_callback(functools.partial(self._interrupt_started_turn, thread_id))
        return True  # keep the request pending: its answer names the turn to interrupt

    def _interrupt_started_turn(self, thread_id: str, request: Future[object]) -> None:
        """Runs on the reader thread as it reads the turn/start answer, so before that turn's turn/started
        (codex sends the answer first); on the abandoning caller's thread if the answer had come already."""
        try:
            turn_id = _started_turn_id(request)
            if turn_id is not None:
                self.leave(self._router.watch(thread_id), turn_id)
        except Exception as exc:  # the connection ended (router.watch): the turn ended with it
            logger.debug("not interrupting the turn of an abandoned turn/start: %s", exc)
        finally:  # after the watch above took over holding the thread
            self._router.release_hold(thread_id, request)


def _started_turn_id(request: Future[object]) -> str | None:
    """The turn id a turn/start answer names; None for a failed request or an odd answer."""
    if request.cancelled() or request.exception() is not None:
        return None
    try:
        return v2_all.TurnStartResponse.model_validate(request.result()).turn.id
    except ValidationError:
        return None


def _log_refused_interrupt(turn_id: str, answer: Future[object]) -> None:
    error = None if answer.cancelled() else answer.exception()
    if error is not None:  # expected for the early try of Interrupts.interrupt
        logger.debug("turn/interrupt of turn %s: %s", turn_id, error)
