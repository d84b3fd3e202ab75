"""The generated routing table: where each notification names its thread and turn."""

from __future__ import annotations

import threading
import time

from codex_app_server._routing import Router, route_of
from codex_app_server.generated.notifications import NOTIFICATION_PARAMS, NOTIFICATION_ROUTES

from tests.runtime.support import notification


def _aliases(model: type) -> dict[str, object]:
    fields = model.model_fields  # type: ignore[attr-defined]
    return {(f.alias or name): f for name, f in fields.items()}


def test_every_route_names_fields_of_its_params_model() -> None:
    assert NOTIFICATION_ROUTES  # the schema has thread notifications
    for method, (thread_key, turn_key, _inner) in NOTIFICATION_ROUTES.items():
        params = NOTIFICATION_PARAMS[method]
        assert params is not None, method
        fields = _aliases(params)
        assert thread_key in fields, method
        if turn_key is not None:
            assert turn_key in fields, method


def test_turn_events_name_their_turn_by_id_or_by_the_turn_object() -> None:
    completed = {"threadId": "t", "turn": {"id": "u", "items": [], "status": "completed"}}
    delta = {"threadId": "t", "turnId": "u", "itemId": "i", "delta": "x"}
    router = Router(concurrent_turns=False)
    watch = router.watch("t")  # not bound: it keeps every turn's events, with the turn each names
    router.dispatch([notification("item/agentMessage/delta", delta), notification("turn/completed", completed)])
    assert [turn_id for _, _, turn_id in watch.take(timeout=1)] == ["u", "u"]
    assert route_of("account/updated") is None  # names no thread


def test_an_unknown_method_of_a_newer_server_still_reaches_the_turn() -> None:
    router = Router(concurrent_turns=False)
    watch = router.watch("t")
    watch.bind("u")
    router.dispatch([notification("item/newKind/delta", {"threadId": "t", "turnId": "u", "delta": "x"})])
    router.dispatch([notification("item/newKind/delta", {"threadId": "t", "turnId": "other", "delta": "y"})])
    router.dispatch([notification("item/newKind/delta", {"threadId": "elsewhere", "turnId": "u", "delta": "z"})])
    method, message, turn_id = watch.get(timeout=1)
    assert (method, message["params"], turn_id) == (
        "item/newKind/delta",
        {"threadId": "t", "turnId": "u", "delta": "x"},
        "u",
    )


def _deltas(turn: str, count: int) -> list[tuple[str, dict[str, object]]]:
    return [
        notification("item/agentMessage/delta", {"threadId": "t", "turnId": turn, "delta": f"d{n}"})
        for n in range(count)
    ]


def test_a_run_of_events_stops_at_the_backpressure_mark_and_goes_on_when_the_consumer_takes() -> None:
    """One read delivers many events at once: the reader still pauses exactly at turn_buffer_limit."""
    router = Router(concurrent_turns=False, buffer_limit=4)
    watch = router.watch("t", consumer=True)
    watch.bind("u")
    router.acquire(watch)
    reader = threading.Thread(target=router.dispatch, args=(_deltas("u", 10),), daemon=True)
    reader.start()
    seen: list[str] = []
    while len(seen) < 10:
        deadline = time.monotonic() + 5
        while not router.paused and reader.is_alive():
            assert time.monotonic() < deadline, "the reader neither paused nor finished"
            time.sleep(0.005)
        assert watch.buffered() <= 4
        batch = watch.take(timeout=5)
        seen += [str(message["params"]["delta"]) for _, message, _ in batch]
        batch.clear()
    reader.join(5)
    assert seen == [f"d{n}" for n in range(10)]  # every event, in order


def test_a_run_drops_other_turns_and_what_follows_this_turns_end() -> None:
    router = Router(concurrent_turns=False)
    watch = router.watch("t")
    watch.bind("u")
    completed = notification("turn/completed", {"threadId": "t", "turn": {"id": "u"}})
    after = notification("item/agentMessage/delta", {"threadId": "t", "turnId": None, "delta": "late"})
    router.dispatch([*_deltas("other", 2), _deltas("u", 1)[0], completed, after])
    assert watch.completed and not router._watches  # done: the watch is forgotten
    taken = [(method, message) for method, message, _ in watch.take(timeout=1)]
    assert taken == [_deltas("u", 1)[0], completed]
