"""Soak: many real turns, one after another and side by side (``nox -s slow``).

* 200 turns in a row on one client (``Codex`` and ``AsyncCodex``);
* 20 clients in parallel threads, 10 turns each.

The real codex binary talks to local fake providers (127.0.0.1 only). Every
turn must complete with its own answer, every streamed delta must be
accounted for (the deltas of each agent message concatenate to its final
text), and nothing may leak: file descriptors, threads, child processes are
counted before and after. The figures (turns/s, leaks) are printed in the
terminal summary and written to ``$CODEX_SOAK_REPORT`` (default: the temp dir).
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import AsyncIterator, Iterable, Iterator
from pathlib import Path
from typing import Any

import pytest
from codex_app_server import AsyncCodex, Codex
from codex_app_server.generated.v2_all import (
    AgentMessageThreadItem,
    ItemAgentMessageDeltaEvent,
    ItemCompletedEvent,
    TurnCompletedEvent,
)

from tests.faults.support import Resources, linux_only, offline_config, settled_leaks
from tests.support.fake_provider import FakeProvider, final_text

from .conftest import record

pytestmark = [linux_only, pytest.mark.slow, pytest.mark.real, pytest.mark.timeout(600)]

SEQUENTIAL_TURNS = 200
PARALLEL_CLIENTS = 20
TURNS_PER_CLIENT = 10
NOTHING = {"fds": [], "threads": [], "children": []}


def answer(client: int, turn: int) -> tuple[str, list[str]]:
    """The scripted answer of one turn, and the chunks it streams in (several, of uneven size)."""
    chunks = [f"Client {client}", f" turn {turn}:", " the", f" answer {client * 1000 + turn}", "."]
    return "".join(chunks), chunks


class TurnCheck:
    """Accounts for one turn's events: deltas per item, final texts, completion."""

    def __init__(self) -> None:
        self.deltas: dict[str, list[str]] = {}
        self.finals: dict[str, str] = {}
        self.status: str | None = None
        self.delta_count = 0

    def add(self, event: Any) -> None:
        if isinstance(event, ItemAgentMessageDeltaEvent):
            self.deltas.setdefault(event.params.item_id, []).append(event.params.delta)
            self.delta_count += 1
        elif isinstance(event, ItemCompletedEvent) and isinstance(event.params.item, AgentMessageThreadItem):
            self.finals[event.params.item.id] = event.params.item.text
        elif isinstance(event, TurnCompletedEvent):
            self.status = event.params.turn.status.value

    def problems(self, expected: str) -> list[str]:
        out = []
        if self.status != "completed":
            out.append(f"status {self.status}")
        if list(self.finals.values()) != [expected]:
            out.append(f"final texts {list(self.finals.values())} != [{expected!r}]")
        for item_id, text in self.finals.items():
            streamed = "".join(self.deltas.get(item_id, []))
            if streamed != text:
                out.append(f"deltas of {item_id} {streamed!r} != final {text!r}")
        if set(self.deltas) - set(self.finals):
            out.append(f"deltas for items that never completed: {sorted(set(self.deltas) - set(self.finals))}")
        return out


def scripts(client: int, turns: int) -> Iterable[Any]:
    for turn in range(turns):
        text, chunks = answer(client, turn)
        yield final_text(text, chunks=chunks)


def run_sync_turns(config: Any, client: int, turns: int, failures: list[str]) -> int:
    deltas = 0
    with Codex(config) as codex:
        thread = codex.thread_start(model="mock-model")
        for turn in range(turns):
            check = TurnCheck()
            for event in thread.turn(f"Question {turn}").stream():
                check.add(event)
            failures.extend(f"client {client} turn {turn}: {p}" for p in check.problems(answer(client, turn)[0]))
            deltas += check.delta_count
    return deltas


async def run_async_turns(config: Any, client: int, turns: int, failures: list[str]) -> int:
    deltas = 0
    async with AsyncCodex(config) as codex:
        thread = await codex.thread_start(model="mock-model")
        for turn in range(turns):
            check = TurnCheck()
            handle = await thread.turn(f"Question {turn}")
            stream: AsyncIterator[Any] = handle.stream()
            async for event in stream:
                check.add(event)
            failures.extend(f"client {client} turn {turn}: {p}" for p in check.problems(answer(client, turn)[0]))
            deltas += check.delta_count
    return deltas


@pytest.fixture
def providers() -> Iterator[list[FakeProvider]]:
    started: list[FakeProvider] = []
    yield started
    for provider in started:
        provider.close()


@pytest.mark.parametrize("flavor", ["sync", "async"])
def test_sequential_turns_on_one_client(flavor: str, codex_bin: str, tmp_path: Path, providers: list[Any]) -> None:
    provider = FakeProvider(scripts(0, SEQUENTIAL_TURNS)).start()
    providers.append(provider)
    config = offline_config(provider.base_url, tmp_path)
    before = Resources.now()
    failures: list[str] = []
    started = time.perf_counter()
    if flavor == "sync":
        deltas = run_sync_turns(config, 0, SEQUENTIAL_TURNS, failures)
    else:
        deltas = asyncio.run(run_async_turns(config, 0, SEQUENTIAL_TURNS, failures))
    seconds = time.perf_counter() - started
    provider.close()
    leaks = settled_leaks(before)
    record(
        f"{SEQUENTIAL_TURNS} sequential turns, one {flavor} client",
        turns=SEQUENTIAL_TURNS,
        deltas=deltas,
        seconds=round(seconds, 2),
        turns_per_s=round(SEQUENTIAL_TURNS / seconds, 1),
        failures=len(failures),
        leaks=leaks,
    )
    assert failures == []
    assert deltas == SEQUENTIAL_TURNS * 5
    assert len(provider.requests) == SEQUENTIAL_TURNS
    assert leaks == NOTHING


def test_parallel_clients_in_threads(codex_bin: str, tmp_path: Path, providers: list[Any]) -> None:
    for client in range(PARALLEL_CLIENTS):
        providers.append(FakeProvider(scripts(client, TURNS_PER_CLIENT)).start())
    before = Resources.now()
    failures: list[str] = []
    errors: list[BaseException] = []
    deltas = [0] * PARALLEL_CLIENTS
    lock = threading.Lock()

    def worker(client: int) -> None:
        local: list[str] = []
        try:
            config = offline_config(providers[client].base_url, tmp_path / f"client-{client}")
            deltas[client] = run_sync_turns(config, client, TURNS_PER_CLIENT, local)
        except BaseException as exc:  # noqa: BLE001 - reported below
            with lock:
                errors.append(exc)
        with lock:
            failures.extend(local)

    workers = [threading.Thread(target=worker, args=(c,), name=f"soak-client-{c}") for c in range(PARALLEL_CLIENTS)]
    started = time.perf_counter()
    for thread in workers:
        thread.start()
    for thread in workers:
        thread.join(300)
    seconds = time.perf_counter() - started
    hung = [t.name for t in workers if t.is_alive()]
    for provider in providers:
        provider.close()
    total = PARALLEL_CLIENTS * TURNS_PER_CLIENT
    leaks = settled_leaks(before)
    record(
        f"{PARALLEL_CLIENTS} clients x {TURNS_PER_CLIENT} turns in parallel threads",
        turns=total,
        deltas=sum(deltas),
        seconds=round(seconds, 2),
        turns_per_s=round(total / seconds, 1),
        failures=len(failures) + len(errors),
        leaks=leaks,
    )
    assert hung == [] and errors == [] and failures == []
    assert sum(deltas) == total * 5
    assert [len(p.requests) for p in providers] == [TURNS_PER_CLIENT] * PARALLEL_CLIENTS
    assert leaks == NOTHING
