"""Turn consumers: one per client by default (seed), one per thread with ``concurrent_turns=True``."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from codex_app_server import AppServerConfig, TurnStatus
from codex_app_server.generated.v2_all import AgentMessageThreadItem, TurnCompletedEvent, TurnStartedEvent

from tests.support.fake_provider import DEFAULT_TEXT, Hang, Text

from .conftest import requires_codex
from .support import (
    STEP_TIMEOUT_S,
    LoopThread,
    RoutedProvider,
    agent_deltas,
    agent_messages,
    consume_until,
    unwrap,
    user_texts,
)

pytestmark = [pytest.mark.real, requires_codex, pytest.mark.timeout(60)]

OpenCodex = Callable[[AppServerConfig], Any]


def busy_turn(thread: Any, provider: RoutedProvider, prompt: str) -> tuple[Any, Any]:
    """Start a turn whose model never answers; returns (handle, its open stream) once it runs."""
    provider.route(prompt, Hang(timeout_s=STEP_TIMEOUT_S))
    seen = len(provider.requests)
    handle = thread.turn(prompt)
    stream = handle.stream()
    consume_until(stream, lambda e: isinstance(e, TurnStartedEvent))
    provider.wait_for_requests(seen + 1)
    return handle, stream


def finish(handle: Any, stream: Any) -> None:
    handle.interrupt()
    last = list(stream)[-1]
    assert isinstance(last, TurnCompletedEvent) and last.params.turn.status == TurnStatus.interrupted


def test_second_turn_consumer_on_one_client_raises(codex: Any, provider: RoutedProvider) -> None:
    first, second = codex.thread_start(), codex.thread_start()
    handle, stream = busy_turn(first, provider, "first: a long task")

    with pytest.raises(RuntimeError, match="turn consumer"):
        second.run("second: a quick one")

    with pytest.raises(RuntimeError, match="turn consumer"):
        next(iter(handle.stream()))  # a second stream() of the same turn, too

    pending = second.turn("second: queued meanwhile")  # starting a turn is not consuming it
    with pytest.raises(RuntimeError, match="turn consumer"):
        pending.run()

    finish(handle, stream)
    turn = pending.run()  # once the first consumer is done, the buffered turn is consumed whole
    assert turn.status == TurnStatus.completed
    assert [i.text for i in turn.items if isinstance(i, AgentMessageThreadItem)] == [DEFAULT_TEXT]
    # The refused run() sent nothing: the second thread has the one turn, the model never saw it.
    assert [t.id for t in second.read(include_turns=True).thread.turns] == [pending.id]
    assert not any("second: a quick one" in text for body in provider.requests for text in user_texts(body))


@pytest.mark.parametrize("consumer", ["stream", "run"])
def test_concurrent_turns_on_three_threads_each_see_only_their_own(
    open_codex: OpenCodex, config_factory: Callable[..., AppServerConfig], provider: RoutedProvider, consumer: str
) -> None:
    codex = open_codex(config_factory(concurrent_turns=True))
    replies = {
        "alpha": ["Alpha ", "one, ", "alpha ", "two."],
        "beta": ["Beta ", "one, ", "beta ", "two."],
        "gamma": ["Gamma ", "one, ", "gamma ", "two."],
    }
    for key, chunks in replies.items():  # slow deltas: the three turns stream at the same time
        provider.route(key, Text("".join(chunks), chunks=chunks, delay_s=0.03, phase="final_answer"))
    threads = {key: codex.thread_start() for key in replies}

    with ThreadPoolExecutor(len(replies)) as pool:
        if consumer == "stream":
            handles = {key: threads[key].turn(f"{key}: speak") for key in replies}  # all running at once
            results = dict(zip(replies, pool.map(lambda key: list(handles[key].stream()), replies), strict=True))
        else:
            results = dict(zip(replies, pool.map(lambda key: threads[key].run(f"{key}: speak"), replies), strict=True))

    for key, chunks in replies.items():
        if consumer == "stream":
            events = results[key]
            assert agent_deltas(events) == chunks  # exactly its own deltas, in order
            assert [m.text for m in agent_messages(events)] == ["".join(chunks)]
            assert {e.params.thread_id for e in events if hasattr(e.params, "thread_id")} == {threads[key].id}
            last = events[-1]
            assert isinstance(last, TurnCompletedEvent) and last.params.turn.id == handles[key].id
        else:
            assert results[key].final_response == "".join(chunks)


def test_concurrent_mode_still_allows_one_consumer_per_thread(
    open_codex: OpenCodex, config_factory: Callable[..., AppServerConfig], provider: RoutedProvider
) -> None:
    codex = open_codex(config_factory(concurrent_turns=True))
    busy, free = codex.thread_start(), codex.thread_start()
    handle, stream = busy_turn(busy, provider, "busy: a long task")

    with pytest.raises(RuntimeError, match=busy.id):
        busy.run("busy: another one")
    with pytest.raises(RuntimeError, match=busy.id):
        next(iter(handle.stream()))
    provider.route("free", Text("Free thread answers.", phase="final_answer"))
    assert free.run("free: meanwhile").final_response == "Free thread answers."  # other threads run

    finish(handle, stream)
    assert [t.status for t in busy.read(include_turns=True).thread.turns] == [TurnStatus.interrupted]


def test_refused_concurrent_runs_start_no_turn(
    codex: Any, flavor: str, loop: LoopThread, provider: RoutedProvider
) -> None:
    """Three run()s at once on a single-consumer client: one runs, two are refused, and only one turn reaches the model."""
    raced = Text("Raced.", delay_s=0.2, phase="final_answer")
    provider.route("race", raced, raced)
    threads = [codex.thread_start() for _ in range(3)]

    if flavor == "async":

        async def race() -> list[Any]:
            runs = [unwrap(t).run(f"race {n}") for n, t in enumerate(threads)]
            return list(await asyncio.gather(*runs, return_exceptions=True))

        outcomes = loop.run(race())
    else:
        start = threading.Barrier(len(threads))

        def run(thread: Any, n: int) -> Any:
            start.wait()
            try:
                return thread.run(f"race {n}")
            except RuntimeError as exc:
                return exc

        with ThreadPoolExecutor(len(threads)) as pool:
            outcomes = list(pool.map(run, threads, range(len(threads))))

    results = [o for o in outcomes if not isinstance(o, BaseException)]
    refused = [o for o in outcomes if isinstance(o, BaseException)]
    assert [r.final_response for r in results] == ["Raced."]
    assert len(refused) == 2 and all(isinstance(e, RuntimeError) and "turn consumer" in str(e) for e in refused)
    time.sleep(0.5)  # a turn/start that went out anyway would reach the provider by now
    assert len(provider.requests) == 1  # the refused runs never started a turn
    # The slot is free again: the next run() on a refused thread works.
    idle = threads[[isinstance(o, BaseException) for o in outcomes].index(True)]
    assert idle.run("race again").final_response == "Raced."
    assert len(provider.requests) == 2
