"""Python functions as tools against the real binary (experimental API): every call answered, never an error reply."""

from __future__ import annotations

import gc
import logging
import threading
from collections.abc import Iterator
from typing import Any

import pytest
from codex_app_server import CodexError, ImageInput, TransportClosedError, tool
from codex_app_server.generated.v2_all import DynamicToolCallStatus, DynamicToolCallThreadItem
from codex_app_server.testing import FunctionCall, final_text
from pydantic import BaseModel

from tests.support.clients import start_client

from .conftest import CODEX_BIN, requires_codex
from .support import STEP_TIMEOUT_S, LoopThread, RoutedProvider, make_config

pytestmark = requires_codex


@pytest.fixture(scope="module")
def tools_codex(
    flavor: str, module_provider: RoutedProvider, loop: LoopThread, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Any]:
    """One experimental-API app-server for the module and flavour (turns of several threads at once)."""
    root = tmp_path_factory.mktemp(f"tools-{flavor}")
    config = make_config(module_provider, root, codex_bin=CODEX_BIN, experimental_api=True, concurrent_turns=True)
    client = start_client(flavor, loop, config)
    yield client
    client.close()


class Forecast(BaseModel):
    city: str
    celsius: float


CALLS: list[tuple[str, object]] = []


@tool
def get_weather(city: str, unit: str = "c") -> Forecast:
    """Today's weather in a city.

    Args:
        city: The city's name.
        unit: ``c`` or ``f``.
    """
    CALLS.append(("get_weather", city))
    return Forecast(city=city, celsius=3.5)


@tool(namespace="files", description="Read one file.")
async def read_file(path: str) -> str:
    CALLS.append(("read_file", path))
    return f"contents of {path}"


@tool
def explode(reason: str) -> str:
    raise ValueError(f"cannot: {reason}")


@tool
def screenshot() -> ImageInput:
    return ImageInput("data:image/png;base64,iVBORw0KGgo=")


@pytest.fixture(autouse=True)
def _fresh_calls() -> None:
    CALLS.clear()


def tool_items(result: Any) -> list[DynamicToolCallThreadItem]:
    return [item for item in result.items if isinstance(item, DynamicToolCallThreadItem)]


def outputs(provider: RoutedProvider) -> list[str]:
    """The function outputs the model was sent, in order, once each (every request repeats the history)."""
    by_call: dict[str, str] = {}
    for request in provider.requests:
        for entry in request.get("input", []):
            if entry.get("type") == "function_call_output":
                by_call.setdefault(str(entry["call_id"]), str(entry["output"]))
    return list(by_call.values())


def test_a_sync_tool_is_declared_called_and_its_result_reaches_the_model(
    tools_codex: Any, provider: RoutedProvider
) -> None:
    thread = tools_codex.thread_start(tools=[get_weather])
    provider.enqueue(FunctionCall("get_weather", {"city": "Oslo"}), final_text("3.5 degrees in Oslo."))
    result = thread.run("Weather in Oslo?")
    assert result.final_response == "3.5 degrees in Oslo."
    assert CALLS == [("get_weather", "Oslo")]
    (declared,) = [t for t in provider.requests[0]["tools"] if t.get("name") == "get_weather"]
    assert declared["description"] == "Today's weather in a city."
    assert declared["parameters"]["properties"]["city"]["description"] == "The city's name."
    assert declared["parameters"]["required"] == ["city"]
    (item,) = tool_items(result)
    assert (item.tool, item.status, item.success, item.arguments) == (
        "get_weather",
        DynamicToolCallStatus.completed,
        True,
        {"city": "Oslo"},
    )
    assert outputs(provider)[-1] == '{"city":"Oslo","celsius":3.5}'


def test_an_async_tool_in_a_namespace(tools_codex: Any, provider: RoutedProvider) -> None:
    thread = tools_codex.thread_start(tools=[read_file, screenshot])
    provider.enqueue(
        FunctionCall("read_file", {"path": "a.txt"}, namespace="files"),
        FunctionCall("screenshot", {}),
        final_text("Read it."),
    )
    result = thread.run("Read a.txt")
    assert CALLS == [("read_file", "a.txt")]
    first, second = tool_items(result)
    assert (first.namespace, first.tool, first.success) == ("files", "read_file", True)
    assert outputs(provider)[0] == "contents of a.txt"
    assert second.success is True and second.content_items is not None
    assert second.content_items[0].model_dump(by_alias=True) == {
        "type": "inputImage",
        "imageUrl": "data:image/png;base64,iVBORw0KGgo=",
    }


def test_a_tool_that_raises_fails_the_call_and_the_model_gets_why(tools_codex: Any, provider: RoutedProvider) -> None:
    thread = tools_codex.thread_start(tools=[explode])
    provider.enqueue(FunctionCall("explode", {"reason": "no disk"}), final_text("It failed."))
    result = thread.run("Go")
    (item,) = tool_items(result)
    assert (item.status, item.success) == (DynamicToolCallStatus.failed, False)
    assert outputs(provider) == ["ValueError: cannot: no disk"]
    assert result.final_response == "It failed."


def test_invalid_arguments_do_not_call_the_tool_and_name_the_argument(
    tools_codex: Any, provider: RoutedProvider
) -> None:
    thread = tools_codex.thread_start(tools=[get_weather])
    provider.enqueue(
        FunctionCall("get_weather", {"town": "Oslo"}),
        FunctionCall("get_weather", "{not json"),
        FunctionCall("get_weather", {"city": "Oslo"}),
        final_text("Got it on the third try."),
    )
    result = thread.run("Weather?")
    assert CALLS == [("get_weather", "Oslo")]  # only the valid call ran
    first, second, third = outputs(provider)
    assert first.startswith("invalid arguments for tool get_weather: ")
    assert "city: Field required" in first and "town: Extra inputs are not permitted" in first
    assert second.startswith(
        "failed to parse function arguments"
    )  # codex's own answer: malformed JSON never reaches us
    assert third == '{"city":"Oslo","celsius":3.5}'
    assert [item.success for item in tool_items(result)][-1] is True


def test_two_threads_with_different_tools_each_get_their_own_calls(tools_codex: Any, provider: RoutedProvider) -> None:
    @tool(name="lookup")
    def lookup_a(key: str) -> str:
        return f"A has {key}"

    @tool(name="lookup")
    def lookup_b(key: str) -> str:
        return f"B has {key}"

    first = tools_codex.thread_start(tools=[lookup_a])
    second = tools_codex.thread_start(tools=[lookup_b, get_weather])
    provider.route("alpha", FunctionCall("lookup", {"key": "x"}), final_text("alpha done"))
    provider.route("beta", FunctionCall("lookup", {"key": "y"}), final_text("beta done"))
    assert first.run("alpha").final_response == "alpha done"
    assert second.run("beta").final_response == "beta done"
    assert outputs(provider) == ["A has x", "B has y"]


def test_a_dropped_thread_leaves_no_tools_behind(tools_codex: Any, provider: RoutedProvider) -> None:
    """A service starting a thread per request keeps nothing of the threads it dropped (their tools went with them)."""

    def lookup(key: str) -> str:  # a plain function: made a tool once, shared by every thread given it
        return f"found {key}"

    kept = tools_codex.thread_start(tools=[lookup])
    dropped = tools_codex.thread_start(tools=[lookup])
    dropped_id = dropped.id
    registry = tools_codex._session.tools
    assert registry.tools_of(dropped_id) == registry.tools_of(kept.id)  # the same Tool, not one per thread
    del dropped
    gc.collect()
    assert registry.tools_of(dropped_id) == []
    provider.route("kept", FunctionCall("lookup", {"key": "x"}), final_text("kept done"))
    assert kept.run("kept").final_response == "kept done"  # the thread still held answers its calls
    assert outputs(provider) == ["found x"]


def test_a_slow_tool_holds_up_no_other_thread(tools_codex: Any, provider: RoutedProvider) -> None:
    entered, release = threading.Event(), threading.Event()

    @tool
    def slow() -> str:
        entered.set()
        release.wait(STEP_TIMEOUT_S)
        return "slow done"

    busy = tools_codex.thread_start(tools=[slow])
    other = tools_codex.thread_start(tools=[get_weather])
    provider.route("busy", FunctionCall("slow", {}), final_text("busy finished"))
    provider.route("other", FunctionCall("get_weather", {"city": "Oslo"}), final_text("other finished"))
    results: list[str | None] = []
    consumer = threading.Thread(target=lambda: results.append(busy.run("busy").final_response))
    consumer.start()
    try:
        assert entered.wait(STEP_TIMEOUT_S)
        # While the slow tool runs, the other thread's turn runs to its end, its own tool included.
        assert other.run("other").final_response == "other finished"
        assert consumer.is_alive() and results == []
    finally:
        release.set()
        consumer.join(STEP_TIMEOUT_S)
    assert results == ["busy finished"]


def test_after_a_resume_elsewhere_calls_come_to_the_resuming_client(
    config_factory: Any, open_codex: Any, provider: RoutedProvider
) -> None:
    """codex keeps a thread's tools; the calls go to whoever resumed it, which answers unknown ones, then use_tools."""
    config = config_factory(experimental_api=True)
    first = open_codex(config)
    started = first.thread_start(tools=[get_weather])
    thread_id = started.id
    provider.enqueue(final_text("Hello."))
    started.run("Hi")  # a thread is resumable once it has a turn
    first.close()
    second = open_codex(config)
    thread = second.thread_resume(thread_id)
    provider.enqueue(FunctionCall("get_weather", {"city": "Oslo"}), final_text("Unknown here."))
    result = thread.run("Weather?")
    assert CALLS == [] and [item.success for item in tool_items(result)] == [False]
    assert outputs(provider)[-1] == "unknown tool get_weather: this client's tools on this thread: none"
    (declared,) = [t for t in provider.requests[-1]["tools"] if t.get("name") == "get_weather"]
    assert declared["parameters"]["required"] == ["city"]  # still declared: codex kept it
    thread.use_tools([get_weather])
    provider.enqueue(FunctionCall("get_weather", {"city": "Oslo"}), final_text("Answered."))
    assert thread.run("Again?").final_response == "Answered."
    assert CALLS == [("get_weather", "Oslo")]


def test_a_fork_answers_with_its_sources_tools(tools_codex: Any, provider: RoutedProvider) -> None:
    source = tools_codex.thread_start(tools=[get_weather])
    provider.enqueue(final_text("Hello."))
    source.run("Hi")  # a thread forks once it has a turn
    fork = tools_codex.thread_fork(source.id)
    provider.enqueue(FunctionCall("get_weather", {"city": "Rome"}), final_text("Rome."))
    assert fork.run("Weather in Rome?").final_response == "Rome."
    assert CALLS == [("get_weather", "Rome")]


def test_tools_need_the_experimental_api(codex: Any, provider: RoutedProvider) -> None:
    with pytest.raises(CodexError, match="experimental_api"):
        codex.thread_start(tools=[get_weather])
    assert provider.requests == []


def test_a_tool_call_of_a_client_closed_mid_call_ends_cleanly(
    open_codex: Any, config_factory: Any, provider: RoutedProvider, caplog: pytest.LogCaptureFixture
) -> None:
    entered, release = threading.Event(), threading.Event()

    @tool
    def slow(x: int) -> str:
        entered.set()
        release.wait(STEP_TIMEOUT_S)
        return "too late"

    before = set(threading.enumerate())
    codex = open_codex(config_factory(experimental_api=True))
    thread = codex.thread_start(tools=[slow])
    provider.enqueue(FunctionCall("slow", {"x": 1}), final_text("never"))
    errors: list[BaseException] = []

    def consume() -> None:
        try:
            thread.run("go")
        except BaseException as exc:
            errors.append(exc)

    consumer = threading.Thread(target=consume)
    consumer.start()
    assert entered.wait(STEP_TIMEOUT_S)
    with caplog.at_level(logging.DEBUG, logger="codex_app_server"):
        codex.close()
        consumer.join(STEP_TIMEOUT_S)
        assert not consumer.is_alive()
        assert len(errors) == 1 and isinstance(errors[0], TransportClosedError)
        release.set()  # the tool returns after its client closed: its answer is dropped
        for worker in set(threading.enumerate()) - before:
            if worker.name.startswith("codex-server-request"):
                worker.join(STEP_TIMEOUT_S)
                assert not worker.is_alive()
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING and "item/tool/call" in r.getMessage()]
