"""Faults during a real turn: the real ``codex`` binary, the local fake provider.

* the app-server SIGKILLed while a turn streams: the consumer of ``stream()``
  / ``run()`` gets :class:`TransportClosedError` (exit status, stderr tail)
  promptly;
* ``close()`` while another thread consumes a turn: the consumer gets a
  clear error promptly and the child is gone;
* a slow provider (a long first-byte delay, slow chunks): the turn completes
  although it takes longer than ``request_timeout``: no internal timeout
  applies to a streaming turn;
* Ctrl-C in ``stream()`` (a real SIGINT to a real process): the turn is
  interrupted, and the same client runs the next turn.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from codex_app_server import TransportClosedError
from codex_app_server.generated.v2_all import (
    AgentMessageThreadItem,
    ItemAgentMessageDeltaEvent,
    ItemCompletedEvent,
    TurnStartedEvent,
)

from tests.support.fake_provider import Delay, FakeProvider, Hang, Text, final_text

from .support import child_pids, linux_only, offline_config, reaped, wait_until

pytestmark = [linux_only, pytest.mark.real, pytest.mark.timeout(60)]

ROOT = Path(__file__).resolve().parents[2]
# A consumer must see the failure well within this; it is a hang guard, not a benchmark.
PROMPT_S = 5.0


class Consumer(threading.Thread):
    """Consumes a turn on its own thread with ``stream()`` or ``run()``, recording the error."""

    def __init__(self, turn: Any, how: str = "stream") -> None:
        super().__init__(daemon=True)
        self.turn = turn
        self.how = how
        self.events: list[Any] = []
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            if self.how == "run":
                self.turn.run()
                return
            for event in self.turn.stream():
                self.events.append(event)
        except BaseException as exc:  # noqa: BLE001 - recorded for the assertions
            self.error = exc


def _start_hung_turn(
    open_client: Any, provider: FakeProvider, tmp_path: Path, how: str = "stream"
) -> tuple[Any, int, Consumer]:
    provider.enqueue(Hang(timeout_s=30))
    before = child_pids()
    client = open_client(offline_config(provider.base_url, tmp_path))
    (pid,) = child_pids() - before
    thread = client.thread_start(model="mock-model")
    consumer = Consumer(thread.turn("Say hello."), how)
    consumer.start()
    provider.wait_for_requests(1, timeout=PROMPT_S)  # the turn runs; its model request is in flight, stalled
    return client, pid, consumer


@pytest.mark.parametrize("how", ["stream", "run"])
def test_server_killed_mid_turn_fails_the_consumer_promptly(
    codex_bin: str, provider: FakeProvider, open_client: Any, tmp_path: Path, how: str
) -> None:
    client, pid, consumer = _start_hung_turn(open_client, provider, tmp_path, how)
    os.kill(pid, signal.SIGKILL)
    consumer.join(PROMPT_S)
    assert not consumer.is_alive(), f"the {how}() consumer hung after the server died"
    error = consumer.error
    assert isinstance(error, TransportClosedError), repr(error)
    assert error.returncode == -signal.SIGKILL
    assert "exited" in str(error) and isinstance(error.stderr_tail, str)
    wait_until(lambda: reaped(pid), PROMPT_S, "the killed child to be reaped")
    with pytest.raises(TransportClosedError):
        client.thread_start(model="mock-model")


def test_close_while_a_turn_runs_fails_the_consumer_promptly(
    codex_bin: str, provider: FakeProvider, open_client: Any, tmp_path: Path
) -> None:
    client, pid, consumer = _start_hung_turn(open_client, provider, tmp_path)
    client.close()
    consumer.join(PROMPT_S)
    assert not consumer.is_alive(), "the stream consumer hung after close()"
    assert isinstance(consumer.error, TransportClosedError), repr(consumer.error)
    assert "closed by client" in str(consumer.error)
    assert reaped(pid) and pid not in child_pids()


def test_a_slow_provider_does_not_trip_any_internal_timeout(
    codex_bin: str, provider: FakeProvider, open_client: Any, tmp_path: Path
) -> None:
    chunks = ["Slow ", "and ", "steady ", "wins."]
    provider.enqueue(Delay(2.0, then=final_text("".join(chunks), chunks=chunks, delay_s=0.4)))
    client = open_client(offline_config(provider.base_url, tmp_path, request_timeout=1.0))
    thread = client.thread_start(model="mock-model")
    started = time.monotonic()
    events = list(thread.turn("Take your time.").stream())
    assert time.monotonic() - started > 1.0, "the scripted delays did not apply"
    deltas = "".join(e.params.delta for e in events if isinstance(e, ItemAgentMessageDeltaEvent))
    finals = [
        e.params.item.text
        for e in events
        if isinstance(e, ItemCompletedEvent) and isinstance(e.params.item, AgentMessageThreadItem)
    ]
    assert deltas == "".join(chunks) and finals == ["".join(chunks)]
    assert events[-1].params.turn.status.value == "completed"


def test_cancelling_an_async_stream_interrupts_the_turn_and_the_client_goes_on(
    codex_bin: str, provider: FakeProvider, tmp_path: Path
) -> None:
    """The asyncio twin of Ctrl-C: the consuming task is cancelled."""
    import asyncio

    from codex_app_server import AsyncCodex

    provider.enqueue(Hang(timeout_s=30), Text("After the cancel."))

    async def main() -> tuple[str | None, str]:
        async with AsyncCodex(offline_config(provider.base_url, tmp_path)) as codex:
            thread = await codex.thread_start(model="mock-model")
            turn = await thread.turn("Hang, please.")
            started = asyncio.Event()

            async def consume() -> None:
                async for event in turn.stream():
                    if isinstance(event, TurnStartedEvent):
                        started.set()

            task = asyncio.create_task(consume())
            await asyncio.wait_for(started.wait(), PROMPT_S)
            # Cancelled once the model request is in flight (stalled): cancelled before it, the turn would
            # end without taking the Hang, and "Again." would get it (a fixed 0.2 s sleep lost that race
            # under load: 30 s of Hang, then the test's timeout).
            await asyncio.to_thread(provider.wait_for_requests, 1, PROMPT_S)
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task
            result = await asyncio.wait_for(thread.run("Again."), 30)
            read = await codex.client.thread_read(thread_id=thread.id, include_turns=True)
            first = read.thread.turns[0].status.value if read.thread.turns else "?"
            return result.final_response, first

    final, first_status = asyncio.run(main())
    assert final == "After the cancel."
    assert first_status == "interrupted"


CTRL_C_SCRIPT = r"""
import json, os, sys, tempfile
from pathlib import Path
sys.path.insert(0, os.environ["REPO_ROOT"])
from codex_app_server import Codex
from codex_app_server.generated.v2_all import TurnStartedEvent
from tests.faults.support import offline_config
from tests.support.fake_provider import FakeProvider, Hang, Text

with FakeProvider([Hang(timeout_s=30), Text("Still here.")]) as provider, tempfile.TemporaryDirectory() as home:
    with Codex(offline_config(provider.base_url, Path(home))) as codex:
        thread = codex.thread_start(model="mock-model")
        turn = thread.turn("Hang, please.")
        outcome = "completed without Ctrl-C"
        try:
            for event in turn.stream():
                if isinstance(event, TurnStartedEvent):
                    provider.wait_for_requests(1, timeout=30)  # the model request is in flight: it took the Hang
                    print("STREAMING", flush=True)
        except KeyboardInterrupt:
            outcome = "KeyboardInterrupt"
        result = thread.run("Again.")
        turns = codex.client.thread_read(thread_id=thread.id, include_turns=True).thread.turns
        print(json.dumps({
            "outcome": outcome,
            "next_turn": result.final_response,
            "first_turn": turns[0].status.value,
        }), flush=True)
"""


def test_ctrl_c_in_stream_interrupts_the_turn_and_the_client_goes_on(codex_bin: str, tmp_path: Path) -> None:
    env = {**os.environ, "REPO_ROOT": str(ROOT), "CODEX_BIN": codex_bin}
    proc = subprocess.Popen(
        [sys.executable, "-c", CTRL_C_SCRIPT],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        cwd=tmp_path,
        start_new_session=True,  # its own process group, like a terminal job
    )
    try:
        assert proc.stdout is not None
        assert proc.stdout.readline().strip() == "STREAMING"
        time.sleep(0.2)
        os.killpg(proc.pid, signal.SIGINT)  # what Ctrl-C in the terminal does: the whole foreground group
        out, err = proc.communicate(timeout=40)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 0, err[-3000:]
    report = json.loads(out.strip().splitlines()[-1])
    assert report == {"outcome": "KeyboardInterrupt", "next_turn": "Still here.", "first_turn": "interrupted"}
