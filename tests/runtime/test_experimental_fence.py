"""The experimental fence and the escape hatch's params, without a server (the real binary: tests/sdk/test_experimental.py)."""

from __future__ import annotations

import time
from typing import Any

import pytest
from codex_app_server import AppServerClient, ExperimentalApiError, ParamsValidationError, ServerRequestHandler
from codex_app_server._param_checks import experimental_uses
from codex_app_server._requester import raw_params
from codex_app_server._server_request_spec import COMPUTED
from codex_app_server.generated import experimental as tables
from codex_app_server.generated.v2_all import CurrentTimeReadParams, ThreadStartParams, TurnStartParams

from generator.protocol import COMPUTED_SAMPLES


class NoWire:
    """An RpcConnection stand-in that fails the test if anything reaches it."""

    def call(self, *args: Any, **kwargs: Any) -> object:
        raise AssertionError(f"sent: {args}")

    def notify(self, *args: Any, **kwargs: Any) -> None:
        raise AssertionError(f"sent: {args}")


def client(experimental_api: bool = False) -> AppServerClient:
    return AppServerClient(NoWire(), experimental_api=experimental_api)  # type: ignore[arg-type]


def test_an_experimental_method_never_reaches_the_wire() -> None:
    with pytest.raises(ExperimentalApiError, match=r"thread/search is an experimental method.*experimental_api=True"):
        client().thread_search(search_term="x")
    with pytest.raises(ExperimentalApiError):
        client().request("thread/search", {"searchTerm": "x"})
    with pytest.raises(ExperimentalApiError):
        client().notify("thread/search")


def test_an_experimental_keyword_never_reaches_the_wire() -> None:
    with pytest.raises(ExperimentalApiError) as caught:
        client().thread_start(model="m", project_id="p", history_mode="paginated")
    assert caught.value.uses == ("history_mode (historyMode)", "project_id (projectId)")
    assert "are experimental" in str(caught.value) and "nothing was sent" in str(caught.value)


def test_an_experimental_key_of_raw_params_never_reaches_the_wire() -> None:
    with pytest.raises(ExperimentalApiError) as caught:
        client().request("thread/start", {"model": "m", "projectId": "p", "historyMode": "paginated"})
    assert caught.value.method == "thread/start" and caught.value.uses == ("/projectId", "/historyMode")
    assert "thread/start: /projectId, /historyMode are experimental" in str(caught.value)
    assert "experimental_api=True" in str(caught.value) and "nothing was sent" in str(caught.value)
    with pytest.raises(AssertionError, match="sent"):  # stable keys, and a method the tables do not know, go
        client().request("thread/start", {"model": "m", "project_id": "not the wire name"})
    with pytest.raises(AssertionError, match="sent"):
        client().request("some/futureMethod", {"projectId": "p"})


def test_every_method_of_the_raw_params_table_has_experimental_fields() -> None:
    assert tables.EXPERIMENTAL_PARAMS["thread/start"] == "ThreadStartParams"
    assert set(tables.EXPERIMENTAL_PARAMS.values()) <= set(tables.EXPERIMENTAL_FIELDS)
    assert not set(tables.EXPERIMENTAL_PARAMS) & tables.EXPERIMENTAL_METHODS


def test_with_the_opt_in_the_call_goes_to_the_wire() -> None:
    with pytest.raises(AssertionError, match="sent"):
        client(experimental_api=True).thread_start(project_id="p")
    with pytest.raises(AssertionError, match="sent"):
        client(experimental_api=True).request("thread/search", {"searchTerm": "x"})
    with pytest.raises(AssertionError, match="sent"):
        client(experimental_api=True).request("thread/start", {"projectId": "p"})


def test_stable_params_use_nothing_experimental() -> None:
    assert list(experimental_uses(ThreadStartParams(model="m", ephemeral=True))) == []
    assert list(experimental_uses(TurnStartParams(thread_id="t", input=[]))) == []


def test_a_nested_experimental_field_is_named_by_its_pointer(monkeypatch: pytest.MonkeyPatch) -> None:
    """Today every experimental field a stable method reaches is top-level; a nested one reads as a JSON pointer."""
    monkeypatch.setitem(tables.EXPERIMENTAL_FIELDS, "TextUserInput", {"text": "text"})
    params = TurnStartParams.model_validate({"threadId": "t", "input": [{"type": "text", "text": "hi"}]})
    assert list(experimental_uses(params)) == ["/input/0/text"]


def test_every_experimental_field_of_the_tables_is_a_field_of_its_model() -> None:
    from codex_app_server.generated import v2_all

    for model, fields in tables.EXPERIMENTAL_FIELDS.items():
        known = getattr(v2_all, model).model_fields
        assert {name: known[name].alias or name for name in fields} == fields


@pytest.mark.parametrize(
    ("params", "problem"),
    [
        (["a"], "params must be a mapping"),
        ({1: "a"}, "params keys must be str"),
        ({"a": float("nan")}, "params are not JSON"),
        ({"a": object()}, "params are not JSON"),
    ],
)
def test_escape_hatch_params_must_be_a_json_object(params: object, problem: str) -> None:
    with pytest.raises(ParamsValidationError, match=f"for some/method: {problem}"):
        raw_params("some/method", params, experimental_api=False)


def test_escape_hatch_params_are_copied() -> None:
    given: dict[str, object] = {"a": [1, {"b": None}]}
    sent = raw_params("some/method", given, experimental_api=False)
    assert sent == given and sent is not given
    assert raw_params("some/method", None, experimental_api=False) is None


def test_current_time_is_answered_with_this_machines_clock() -> None:
    before = int(time.time())
    answer = ServerRequestHandler().current_time_read(CurrentTimeReadParams(thread_id="t"))
    assert before <= answer.current_time_at <= int(time.time())


def test_the_runtime_computes_what_the_generator_checks() -> None:
    assert set(COMPUTED) == set(COMPUTED_SAMPLES)
