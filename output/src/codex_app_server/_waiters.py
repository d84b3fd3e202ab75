"""Waiting for a notification that belongs to no turn (a login's ``account/login/completed``).

Turn events go to turn watches (:mod:`._routing`); this is the same idea for
the rare notifications that finish something a request started elsewhere.
An :class:`Expectation` is registered *before* the request is sent, so an
answer that comes at once is never missed; it keeps every notification of
its method until the caller takes the one it waits for. The reader thread
only appends raw params; the waiting code decodes and matches them.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from ._errors import CodexRuntimeError, CodexTimeoutError
from ._rpc import JsonObject
from ._threads import wake_threadsafe

if TYPE_CHECKING:
    import asyncio

__all__ = ["Expectation", "Waiters"]

Match = Callable[[JsonObject], bool]


class Expectation:
    """The notifications of one method from registration on, until :meth:`close`."""

    def __init__(self, waiters: Waiters, method: str) -> None:
        self.method: str = method
        self._waiters = waiters
        self._cond = threading.Condition(threading.Lock())
        self._received: list[JsonObject] = []
        self._error: BaseException | None = None
        self._wakers: list[tuple[asyncio.AbstractEventLoop, asyncio.Future[None]]] = []

    # -- reader side

    def push(self, params: JsonObject) -> None:
        with self._cond:
            self._received.append(params)
            self._cond.notify_all()
            wakers, self._wakers = self._wakers, []
        for waker in wakers:
            wake_threadsafe(*waker)

    def fail(self, error: BaseException) -> None:
        """The connection ended: waiting raises ``error`` once nothing received matches."""
        with self._cond:
            self._error = error
            self._cond.notify_all()
            wakers, self._wakers = self._wakers, []
        for waker in wakers:
            wake_threadsafe(*waker)

    # -- waiting side

    def _take(self, match: Match) -> JsonObject | None:
        """The first received notification ``match`` accepts (lock held)."""
        for params in self._received:
            if match(params):
                return params
        if self._error is not None:
            raise self._error
        return None

    def wait(self, match: Match, timeout: float | None) -> JsonObject:
        """Block until a notification ``match`` accepts arrives; TimeoutError after ``timeout`` seconds."""
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._cond:
            while True:
                found = self._take(match)
                if found is not None:
                    return found
                left = None if deadline is None else deadline - time.monotonic()
                if left is not None and left <= 0:
                    raise CodexTimeoutError(f"no matching {self.method} within {timeout} s")
                self._cond.wait(left)

    async def wait_async(self, match: Match, timeout: float | None) -> JsonObject:
        """:meth:`wait` for a coroutine: the event loop keeps running."""
        import asyncio

        loop = asyncio.get_running_loop()
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            with self._cond:
                found = self._take(match)
                if found is not None:
                    return found
                future: asyncio.Future[None] = loop.create_future()
                self._wakers.append((loop, future))
            left = None if deadline is None else deadline - time.monotonic()
            try:
                if left is not None and left <= 0:
                    raise asyncio.TimeoutError
                await asyncio.wait_for(future, left)
            except asyncio.TimeoutError:
                raise CodexTimeoutError(f"no matching {self.method} within {timeout} s") from None
            finally:
                with self._cond:
                    if (loop, future) in self._wakers:
                        self._wakers.remove((loop, future))

    def close(self) -> None:
        """Stop collecting (idempotent); a later wait for something not received yet raises RuntimeError."""
        self._waiters.remove(self)
        with self._cond:
            if self._error is None:
                self._error = CodexRuntimeError(f"no longer waiting for {self.method}: closed")


class Waiters:
    """Every :class:`Expectation` of one session, by method."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        # Read without the lock on the reader's hot path (empty almost always): see Session._on_notification.
        self.by_method: dict[str, list[Expectation]] = {}
        self._error: BaseException | None = None

    def expect(self, method: str) -> Expectation:
        """Collect ``method``'s notifications from now on (before sending the request they answer)."""
        expectation = Expectation(self, method)
        with self._lock:
            if self._error is not None:
                raise self._error
            self.by_method.setdefault(method, []).append(expectation)
        return expectation

    def dispatch(self, method: str, params: JsonObject) -> None:
        """Reader thread: hand ``params`` to every expectation of ``method``."""
        with self._lock:
            expectations = tuple(self.by_method.get(method, ()))
        for expectation in expectations:
            expectation.push(params)

    def remove(self, expectation: Expectation) -> None:
        with self._lock:
            registered = self.by_method.get(expectation.method)
            if registered and expectation in registered:
                registered.remove(expectation)
                if not registered:
                    del self.by_method[expectation.method]

    def close(self, error: BaseException) -> None:
        """The connection ended for good: every expectation fails with ``error``."""
        with self._lock:
            self._error = error
            expectations = [e for registered in self.by_method.values() for e in registered]
            self.by_method.clear()
        for expectation in expectations:
            expectation.fail(error)
