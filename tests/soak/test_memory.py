"""Nothing kept per turn: many real turns on one thread retain no memory in the SDK.

tracemalloc follows the SDK's own allocations while one client runs real
turns on one thread. What the SDK holds after turn K is compared with what
it holds after turn 2K: constant buffers (schema builds) cancel, and what is
left is what each turn leaves behind.

The fake provider runs in a child process: it keeps every request it gets,
and in this process its dicts would reuse blocks the SDK freed (a free list
hands a block out again without telling tracemalloc, which keeps naming the
SDK line that first allocated it), so its growth would count as the SDK's.

Before each snapshot the client makes one round trip (``account()``): the
notifications codex sends after a turn's end are read before its answer,
so the reader is idle when the snapshot is taken.
"""

from __future__ import annotations

import gc
import os
import subprocess
import sys
import tracemalloc
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import codex_app_server
import pytest
from codex_app_server import Codex
from codex_app_server.testing import DEFAULT_TEXT

from tests.faults.support import linux_only, offline_config

pytestmark = [linux_only, pytest.mark.slow, pytest.mark.real, pytest.mark.timeout(1800)]

HALF = 500  # turns K; the growth from turn K to turn 2K is measured
MAX_BYTES_PER_TURN = 16
PACKAGE = os.path.dirname(codex_app_server.__file__)
SDK_FRAMES = [
    tracemalloc.Filter(True, os.path.join(PACKAGE, "*")),
    tracemalloc.Filter(False, os.path.join(PACKAGE, "testing", "*")),
]


# Serves until killed; prints its base URL.
PROVIDER_CHILD = """
import threading
from codex_app_server.testing import FakeProvider
provider = FakeProvider().start()
print(provider.base_url, flush=True)
threading.Event().wait()
"""


@contextmanager
def provider_in_a_child() -> Iterator[str]:
    """The base URL of a fake provider in its own process, stopped (by pid) afterwards."""
    child = subprocess.Popen([sys.executable, "-c", PROVIDER_CHILD], stdout=subprocess.PIPE, text=True)
    try:
        assert child.stdout is not None
        base_url = child.stdout.readline().strip()
        assert base_url.startswith("http://127.0.0.1:"), f"the provider did not start: {base_url!r}"
        yield base_url
    finally:
        child.kill()
        child.wait(10)
        if child.stdout is not None:
            child.stdout.close()


def sdk_snapshot(codex: Codex) -> tracemalloc.Snapshot:
    codex.account()  # the reader has read everything codex sent before the answer
    gc.collect()  # collects cycles and empties the interpreter's free lists
    return tracemalloc.take_snapshot().filter_traces(SDK_FRAMES)


def test_a_thousand_turns_on_one_thread_leave_nothing_behind(codex_bin: str, tmp_path: Path) -> None:
    with provider_in_a_child() as base_url, Codex(offline_config(base_url, tmp_path)) as codex:
        thread = codex.thread_start()
        tracemalloc.start(1)
        try:
            snapshots = []
            for turn in range(1, 2 * HALF + 1):
                assert thread.run(f"Question {turn}").final_response == DEFAULT_TEXT
                if turn in (HALF, 2 * HALF):
                    snapshots.append(sdk_snapshot(codex))
        finally:
            tracemalloc.stop()
    growth = snapshots[1].compare_to(snapshots[0], "lineno")
    per_turn = sum(stat.size_diff for stat in growth) / HALF
    where = [f"{stat.traceback}: {stat.size_diff:+} B in {stat.count_diff:+} blocks" for stat in growth[:5]]
    assert per_turn <= MAX_BYTES_PER_TURN, "\n".join([f"{per_turn:.1f} bytes/turn retained; most at:", *where])
