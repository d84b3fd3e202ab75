"""The turn (_turns): the one batch -> event loop, and the interrupt policy naming only this client's turns."""

from __future__ import annotations

from collections import deque
from concurrent.futures import Future
from typing import cast

from codex_app_server._routing import Event, Router
from codex_app_server._rpc import JsonObject, RpcConnection
from codex_app_server._turns import Interrupts, TurnState
from codex_app_server.generated import v2_all

from .support import notification


class _Requests:
    """Stands in for the connection: records what is sent, answers nothing."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, object]] = []

    def request_soon(self, method: str, params: object, timeout: float | None = None) -> Future[object]:
        self.sent.append((method, params))
        return Future()


def _event(method: str, params: JsonObject) -> Event:
    """The event as the router buffers it, with the turn it names."""
    router = Router(concurrent_turns=False)
    watch = router.watch(str(params["threadId"]))
    router.dispatch([notification(method, params)])
    return watch.get(timeout=1)


def _turn(turn_id: str, status: str) -> JsonObject:
    return {"threadId": "thread-1", "turn": {"id": turn_id, "items": [], "status": status}}


def _started(interrupts: Interrupts, router: Router) -> TurnState:
    turn = v2_all.Turn.model_validate({"id": "turn-1", "items": [], "status": "inProgress"})
    return TurnState(interrupts, "thread-1", turn, router.watch("thread-1"))


def test_events_fold_a_batch_and_stop_after_the_turns_completion_leaving_the_rest() -> None:
    router = Router(concurrent_turns=False)
    state = _started(Interrupts(router, lambda: None), router)
    after = _event("turn/started", _turn("turn-2", "inProgress"))
    batch = deque(
        [
            _event("turn/started", _turn("turn-1", "inProgress")),
            _event("turn/completed", _turn("turn-1", "completed")),
            after,
        ]
    )

    events = list(state.events(batch))

    assert [type(e) for e in events] == [v2_all.TurnStartedEvent, v2_all.TurnCompletedEvent]
    assert state.ended and state.turn.status == v2_all.TurnStatus.completed
    assert list(batch) == [after]  # not consumed: it stays the watch's


def test_an_interrupt_names_this_clients_turn_and_another_turn_starting_does_not_resend_it() -> None:
    # A compaction runs as a turn of the thread that nobody started through the SDK: an
    # interrupt of this client's turn must never reach it, not even as the resend on turn/started.
    router = Router(concurrent_turns=False)
    requests = _Requests()
    interrupts = Interrupts(router, lambda: cast(RpcConnection, requests))
    state = _started(interrupts, router)

    assert state.request_interrupt()
    router.dispatch([notification("turn/started", _turn("compaction", "inProgress"))])
    router.dispatch([notification("turn/started", _turn("turn-1", "inProgress"))])  # its own start: resent once

    assert [method for method, _ in requests.sent] == ["turn/interrupt", "turn/interrupt"]
    assert {cast(JsonObject, params)["turnId"] for _, params in requests.sent} == {"turn-1"}


def test_a_completed_turn_is_not_interrupted() -> None:
    router = Router(concurrent_turns=False)
    requests = _Requests()
    state = _started(Interrupts(router, lambda: cast(RpcConnection, requests)), router)
    router.dispatch([notification("turn/completed", _turn("turn-1", "completed"))])

    assert not state.request_interrupt()
    assert requests.sent == []


def test_the_next_turn_waits_for_the_answers_to_the_interrupts_sent_for_the_last_one() -> None:
    # The sender thread sends interrupts later: the resend on turn/started can still be queued when the
    # turn/completed is read. A next turn/start overtaking it would be the turn codex then interrupts.
    router = Router(concurrent_turns=False)
    answers: list[Future[object]] = []

    class _Deferred(_Requests):
        def request_soon(self, method: str, params: object, timeout: float | None = None) -> Future[object]:
            answers.append(super().request_soon(method, params, timeout))
            return answers[-1]

    state = _started(Interrupts(router, lambda: cast(RpcConnection, _Deferred())), router)
    assert state.request_interrupt()
    router.dispatch([notification("turn/started", _turn("turn-1", "inProgress"))])  # the resend
    router.dispatch([notification("turn/completed", _turn("turn-1", "interrupted"))])

    assert len(answers) == 2 and router.held("thread-1")  # the turn ended, its interrupts are unanswered
    answers[0].set_result({})
    assert router.held("thread-1")
    answers[1].set_result({})
    assert not router.held("thread-1")
