"""AsyncCodex never does blocking I/O on its event loop, over stdio too.

A child that stops reading its stdin (the scripted server sleeps right
after answering the login check, ``account/read``) while a request of 4 MiB waits to be
written: a ticker task beside the call keeps ticking, and the call ends
with ``TimeoutError`` after ``request_timeout``. (The websocket twin is in
tests/remote/test_ws_hostile.py.)
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest
from codex_app_server import AsyncCodex

from .support import fake_config, linux_only, recorded_turn

pytestmark = [linux_only, pytest.mark.timeout(60)]

TURN = recorded_turn()


def test_the_event_loop_keeps_ticking_while_a_stdio_child_does_not_read(tmp_path: Path) -> None:
    script = TURN.script()
    # the login check before the first turn is answered (no usable answer: the turn goes ahead), then nothing is read
    script["methods"]["account/read"] = [{"result": {}}, {"sleep": 30}]
    config = fake_config(tmp_path, script, request_timeout=1.0, shutdown_timeout=0.5)

    async def main() -> list[float]:
        ticks: list[float] = []
        stop = asyncio.Event()

        async def ticker() -> None:
            while not stop.is_set():
                ticks.append(time.monotonic())
                await asyncio.sleep(0.01)

        async with AsyncCodex(config) as codex:
            thread = await codex.thread_start()
            task = asyncio.create_task(ticker())
            with pytest.raises(TimeoutError, match="turn/start"):
                await thread.run("x" * (4 << 20))  # far more than the 64 KiB pipe holds
            stop.set()
            await task
        return ticks

    ticks = asyncio.run(main())
    gaps = [b - a for a, b in zip(ticks, ticks[1:], strict=False)]
    assert ticks[-1] - ticks[0] >= 0.5 and max(gaps) < 0.5, f"the loop stalled for {max(gaps):.2f} s"
