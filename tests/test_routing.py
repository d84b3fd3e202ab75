"""The generated routing table: where each notification names its thread and turn."""

from __future__ import annotations

from codex_app_server._routing import Router, route_of, turn_id_of
from codex_app_server.generated.notifications import NOTIFICATION_PARAMS, NOTIFICATION_ROUTES


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
    assert turn_id_of("turn/completed", completed) == "u"
    assert turn_id_of("item/agentMessage/delta", delta) == "u"
    assert route_of("account/updated") is None  # names no thread


def test_an_unknown_method_of_a_newer_server_still_reaches_the_turn() -> None:
    router = Router(concurrent_turns=False)
    watch = router.watch("t")
    watch.bind("u")
    router.dispatch([("item/newKind/delta", {"threadId": "t", "turnId": "u", "delta": "x"})])
    router.dispatch([("item/newKind/delta", {"threadId": "t", "turnId": "other", "delta": "y"})])
    router.dispatch([("item/newKind/delta", {"threadId": "elsewhere", "turnId": "u", "delta": "z"})])
    assert watch.get(timeout=1) == ("item/newKind/delta", {"threadId": "t", "turnId": "u", "delta": "x"})
