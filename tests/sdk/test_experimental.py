"""The experimental API against the real app-server: fenced without ``experimental_api``, typed with it.

codex answers an experimental method or field from a client whose
``initialize`` did not declare ``experimentalApi`` with -32600 after the
round trip; the SDK refuses it before anything is sent
(:class:`ExperimentalApiError`, naming ``experimental_api``), from the
generated tables. With the opt-in the same calls reach codex, typed. The
escape hatch ``client.request``/``notify`` is tested here too, on a stable
and on an experimental method, and with raw params setting an experimental field.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from codex_app_server import (
    AppServerConfig,
    ExperimentalApiError,
    InvalidRequestError,
    JsonRpcError,
    MethodNotFoundError,
    ParamsValidationError,
)
from codex_app_server._rpc import RpcConnection
from codex_app_server.generated.experimental import EXPERIMENTAL_FIELDS, EXPERIMENTAL_METHODS
from codex_app_server.generated.v2_all import CollaborationModeListResponse, ThreadStartResponse

from .conftest import requires_codex

pytestmark = requires_codex

EXPERIMENTAL_METHOD = "collaborationMode/list"
TOOL = {"type": "function", "name": "get_weather", "description": "The weather.", "inputSchema": {"type": "object"}}


def get_weather(city: str) -> str:
    """The weather in a city."""
    return f"sunny in {city}"


@pytest.fixture
def sent(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """The methods of every request and notification any connection sends during the test."""
    methods: list[str] = []
    register, notify = RpcConnection._register, RpcConnection.notify

    def recording_request(self: RpcConnection, future: Any, method: str, *args: Any, **kwargs: Any) -> Any:
        methods.append(method)  # every request is registered (under its id) before it is sent
        return register(self, future, method, *args, **kwargs)

    def recording_notify(self: RpcConnection, method: str, *args: Any, **kwargs: Any) -> None:
        methods.append(method)
        notify(self, method, *args, **kwargs)

    monkeypatch.setattr(RpcConnection, "_register", recording_request)
    monkeypatch.setattr(RpcConnection, "notify", recording_notify)
    yield methods


@pytest.fixture
def experimental(open_codex: Any, config_factory: Callable[..., AppServerConfig]) -> Any:
    """A client of the test's flavour whose config opts into the experimental API."""
    return open_codex(config_factory(experimental_api=True))


def test_the_tables_know_the_experimental_surface() -> None:
    assert EXPERIMENTAL_METHOD in EXPERIMENTAL_METHODS and "thread/start" not in EXPERIMENTAL_METHODS
    assert EXPERIMENTAL_FIELDS["ThreadStartParams"]["dynamic_tools"] == "dynamicTools"


# ---------------------------------------------------------------- without experimental_api: refused, unsent


def test_an_experimental_method_is_refused_before_it_is_sent(codex: Any, sent: list[str]) -> None:
    with pytest.raises(ExperimentalApiError, match="experimental_api=True") as caught:
        codex.client.collaboration_mode_list()
    assert caught.value.method == EXPERIMENTAL_METHOD and caught.value.uses == ()
    with pytest.raises(ExperimentalApiError, match="experimental_api=True"):
        codex.client.request(EXPERIMENTAL_METHOD)
    with pytest.raises(ExperimentalApiError, match="experimental_api=True"):
        codex.client.notify(EXPERIMENTAL_METHOD, {})
    assert EXPERIMENTAL_METHOD not in sent
    codex.client.model_list()  # the connection is fine
    assert sent == ["model/list"]


def test_an_experimental_field_is_refused_before_it_is_sent(codex: Any, sent: list[str]) -> None:
    with pytest.raises(ExperimentalApiError, match=r"dynamic_tools \(dynamicTools\) is experimental") as caught:
        codex.thread_start(tools=[get_weather])  # the wrapper sends them as dynamicTools
    assert "experimental_api=True" in str(caught.value) and caught.value.method == "thread/start"
    with pytest.raises(ExperimentalApiError, match="dynamic_tools"):
        codex.client.thread_start(dynamic_tools=[TOOL])
    with pytest.raises(ExperimentalApiError, match="thread/start: /dynamicTools is experimental") as raw:
        codex.client.request("thread/start", {"dynamicTools": [TOOL], "ephemeral": True})
    assert raw.value.uses == ("/dynamicTools",)
    assert sent == []
    assert isinstance(codex.client.thread_start(ephemeral=True), ThreadStartResponse)  # stable fields still go


def test_codex_itself_refuses_what_the_fence_refuses(codex: Any) -> None:
    """The fence is not stricter than codex: sent anyway (raw, past the SDK), codex answers -32600."""
    rpc = codex._session.current_rpc()
    with pytest.raises(InvalidRequestError, match="experimentalApi"):
        rpc.call(EXPERIMENTAL_METHOD, {}, timeout=30)
    with pytest.raises(InvalidRequestError, match="dynamicTools requires experimentalApi"):
        rpc.call("thread/start", {"dynamicTools": [TOOL]}, timeout=30)


# ---------------------------------------------------------------- with experimental_api: typed calls reach codex


def test_with_the_opt_in_an_experimental_method_is_answered(experimental: Any) -> None:
    answer = experimental.client.collaboration_mode_list()
    assert isinstance(answer, CollaborationModeListResponse) and answer.data
    raw = experimental.client.request(EXPERIMENTAL_METHOD, {})
    assert isinstance(raw, dict) and CollaborationModeListResponse.model_validate(raw) == answer


def test_with_the_opt_in_an_experimental_field_is_sent(experimental: Any) -> None:
    thread = experimental.thread_start(tools=[get_weather], ephemeral=True)
    assert thread.id
    answer = experimental.client.thread_start(dynamic_tools=[TOOL], ephemeral=True)
    assert answer.thread.id and answer.thread.id != thread.id
    raw = experimental.client.request("thread/start", {"dynamicTools": [TOOL], "ephemeral": True})
    assert isinstance(raw, dict) and raw["thread"]["id"] not in (thread.id, answer.thread.id)


# ---------------------------------------------------------------- the escape hatch on a stable method


def test_request_sends_any_method_and_returns_the_raw_answer(codex: Any) -> None:
    answer = codex.client.request("thread/start", {"ephemeral": True})
    assert isinstance(answer, dict) and isinstance(answer["thread"]["id"], str)
    typed = codex.client.thread_read(thread_id=answer["thread"]["id"])
    assert typed.thread.id == answer["thread"]["id"]
    listed = codex.client.request("model/list", {})
    assert isinstance(listed, dict) and "data" in listed


def test_request_errors_are_those_of_the_typed_methods(codex: Any) -> None:
    with pytest.raises(JsonRpcError) as typed:
        codex.client.thread_read(thread_id="not-a-thread")
    with pytest.raises(JsonRpcError) as raw:
        codex.client.request("thread/read", {"threadId": "not-a-thread"})
    assert type(raw.value) is type(typed.value) and raw.value.message == typed.value.message
    with pytest.raises(MethodNotFoundError, match="no/suchMethod"):
        codex.client.request("no/suchMethod", {})
    with pytest.raises(ParamsValidationError, match="thread/start: params must be a mapping"):
        codex.client.request("thread/start", ["not", "a", "mapping"])
    with pytest.raises(ParamsValidationError, match="not JSON"):
        codex.client.request("thread/start", {"ephemeral": object()})


def test_notify_sends_any_notification(codex: Any, sent: list[str]) -> None:
    codex.client.notify("some/futureNotification", {"x": 1})
    assert sent == ["some/futureNotification"]
    assert codex.client.request("model/list", {})  # the connection goes on
