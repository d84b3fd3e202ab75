"""Nothing kept per turn: many real turns, on one thread or each on a new one, retain no memory in the SDK.

tracemalloc follows the SDK's own allocations while one client runs real
turns. What the SDK holds after turn K is compared with what
it holds after turn 2K: constant buffers (schema builds) cancel, and what is
left is what each turn leaves behind.

The fake provider runs in a child process (``provider_child``): in this
process its growth would count as the SDK's.

Before each snapshot the client makes one round trip (``account()``): the
notifications codex sends after a turn's end are read before its answer,
so the reader is idle when the snapshot is taken.
"""

from __future__ import annotations

import gc
import os
import tracemalloc
from collections.abc import Callable
from pathlib import Path

import codex_app_server
import pytest
from codex_app_server import Codex
from codex_app_server.testing import DEFAULT_TEXT

from tests.faults.support import linux_only, offline_config

from .provider_child import provider_in_a_child

pytestmark = [linux_only, pytest.mark.slow, pytest.mark.real, pytest.mark.timeout(1800)]

HALF = 500  # turns K; the growth from turn K to turn 2K is measured
THREADS_HALF = 150  # the same with a new thread each turn (a thread/start costs more than a turn)
MAX_BYTES_PER_TURN = 16
PACKAGE = os.path.dirname(codex_app_server.__file__)
SDK_FRAMES = [
    tracemalloc.Filter(True, os.path.join(PACKAGE, "*")),
    tracemalloc.Filter(False, os.path.join(PACKAGE, "testing", "*")),
]


def sdk_snapshot(codex: Codex) -> tracemalloc.Snapshot:
    codex.account()  # the reader has read everything codex sent before the answer
    gc.collect()  # collects cycles and empties the interpreter's free lists
    return tracemalloc.take_snapshot().filter_traces(SDK_FRAMES)


def bytes_per_turn(codex: Codex, half: int, run_turn: Callable[[int], str]) -> tuple[float, list[str]]:
    """What the SDK keeps per turn from turn ``half`` to turn ``2 * half``, and where most of it was allocated."""
    tracemalloc.start(1)
    try:
        snapshots = []
        for turn in range(1, 2 * half + 1):
            assert run_turn(turn) == DEFAULT_TEXT
            if turn in (half, 2 * half):
                snapshots.append(sdk_snapshot(codex))
    finally:
        tracemalloc.stop()
    growth = snapshots[1].compare_to(snapshots[0], "lineno")
    where = [f"{stat.traceback}: {stat.size_diff:+} B in {stat.count_diff:+} blocks" for stat in growth[:5]]
    return sum(stat.size_diff for stat in growth) / half, where


def test_a_thousand_turns_on_one_thread_leave_nothing_behind(codex_bin: str, tmp_path: Path) -> None:
    with provider_in_a_child() as base_url, Codex(offline_config(base_url, tmp_path)) as codex:
        thread = codex.thread_start()
        per_turn, where = bytes_per_turn(codex, HALF, lambda turn: thread.run(f"Question {turn}").final_response)
    assert per_turn <= MAX_BYTES_PER_TURN, "\n".join([f"{per_turn:.1f} bytes/turn retained; most at:", *where])


def test_a_new_thread_per_turn_leaves_nothing_behind(codex_bin: str, tmp_path: Path) -> None:
    """A service answering each request on a thread of its own, dropped after: nothing per thread stays.

    The session kept the id of every thread it had started, to resume it after
    a reconnect (~110 bytes a thread; tests/remote/test_reconnect.py).
    """

    def one_turn_on_a_new_thread(turn: int) -> str:
        return codex.thread_start().run(f"Question {turn}").final_response

    with provider_in_a_child() as base_url, Codex(offline_config(base_url, tmp_path)) as codex:
        per_turn, where = bytes_per_turn(codex, THREADS_HALF, one_turn_on_a_new_thread)
    assert per_turn <= MAX_BYTES_PER_TURN, "\n".join([f"{per_turn:.1f} bytes/thread retained; most at:", *where])
