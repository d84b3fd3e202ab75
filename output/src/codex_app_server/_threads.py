"""Crossing between threads and an event loop: the two ways the SDK does it.

The reader thread wakes a coroutine waiting on a loop
(:func:`wake_threadsafe`); a coroutine runs a blocking call without stopping
its loop (:func:`in_worker_thread`). asyncio is imported inside them: a
blocking client never loads it (nor the OpenSSL it brings, ~7 MB of RSS).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, TypeVar

if TYPE_CHECKING:
    import asyncio

__all__ = ["in_worker_thread", "wake_threadsafe"]

R = TypeVar("R")


def wake_threadsafe(loop: asyncio.AbstractEventLoop, future: asyncio.Future[None]) -> None:
    """Resolve ``future`` from another thread (the reader), unless it is done or its loop closed."""

    def set_done() -> None:
        if not future.done():
            future.set_result(None)

    try:
        loop.call_soon_threadsafe(set_done)
    except RuntimeError:  # loop closed: nobody is waiting any more
        pass


async def in_worker_thread(blocking: Callable[..., R], *args: object) -> R:
    """Run a blocking call on the loop's default executor, so the event loop keeps running."""
    import asyncio

    return await asyncio.get_running_loop().run_in_executor(None, blocking, *args)
