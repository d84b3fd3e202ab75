"""Retry transient overload errors with exponential backoff and jitter.

Only errors for which :func:`~._errors.is_retryable_error` is true are
retried (JSON-RPC -32001 "Server overloaded; retry later." and the like);
anything else propagates at once. Retrying re-sends the request, so wrap
only operations that are safe to repeat.
"""

from __future__ import annotations

import inspect
import logging
import random
import time
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass
from typing import TYPE_CHECKING, TypeVar, cast, overload

from ._errors import is_retryable_error

if TYPE_CHECKING:
    # asyncio is imported inside the coroutines that use it: a blocking
    # client then never loads it (nor the OpenSSL it brings, ~7 MB of RSS).
    pass

__all__ = ["async_retry_on_overload", "backoff_delay", "retry_on_overload"]

logger = logging.getLogger("codex_app_server")

T = TypeVar("T")


def backoff_delay(
    retry_index: int,
    *,
    initial_delay_s: float = 0.25,
    max_delay_s: float = 2.0,
    jitter_ratio: float = 0.2,
    rand: Callable[[], float] = random.random,
) -> float:
    """Delay before retry number ``retry_index`` (0-based).

    ``min(max_delay_s, initial_delay_s * 2**retry_index)``, scaled by a
    uniform factor in ``[1 - jitter_ratio, 1 + jitter_ratio]``.
    """
    base = min(max_delay_s, initial_delay_s * (2.0**retry_index))
    return max(0.0, base * (1.0 + jitter_ratio * (2.0 * rand() - 1.0)))


@dataclass(frozen=True)
class _Policy:
    max_attempts: int
    initial_delay_s: float
    max_delay_s: float
    jitter_ratio: float
    rand: Callable[[], float]

    def __post_init__(self) -> None:
        if isinstance(self.max_attempts, bool) or not isinstance(self.max_attempts, int):
            raise TypeError("max_attempts must be an int")
        if self.max_attempts < 1:
            raise ValueError("max_attempts must be >= 1")
        if self.initial_delay_s < 0 or self.max_delay_s < 0:
            raise ValueError("delays must be >= 0")
        if not 0.0 <= self.jitter_ratio <= 1.0:
            raise ValueError("jitter_ratio must be between 0 and 1")

    def delay_after(self, exc: Exception, attempt: int) -> float | None:
        """Seconds to wait after failed attempt ``attempt`` (1-based), or
        ``None`` to give up and re-raise ``exc``."""
        if attempt >= self.max_attempts or not is_retryable_error(exc):
            return None
        delay = backoff_delay(
            attempt - 1,
            initial_delay_s=self.initial_delay_s,
            max_delay_s=self.max_delay_s,
            jitter_ratio=self.jitter_ratio,
            rand=self.rand,
        )
        logger.info(
            "server overloaded (attempt %d of %d): %s; retrying in %.2fs",
            attempt,
            self.max_attempts,
            exc,
            delay,
        )
        return delay


@overload
def retry_on_overload(
    op: Callable[[], Awaitable[T]],
    *,
    max_attempts: int = ...,
    initial_delay_s: float = ...,
    max_delay_s: float = ...,
    jitter_ratio: float = ...,
    sleep: Callable[[float], object] | None = ...,
    rand: Callable[[], float] = ...,
) -> Coroutine[object, object, T]: ...


@overload
def retry_on_overload(
    op: Callable[[], T],
    *,
    max_attempts: int = ...,
    initial_delay_s: float = ...,
    max_delay_s: float = ...,
    jitter_ratio: float = ...,
    sleep: Callable[[float], object] | None = ...,
    rand: Callable[[], float] = ...,
) -> T: ...


def retry_on_overload(
    op: Callable[[], object],
    *,
    max_attempts: int = 3,
    initial_delay_s: float = 0.25,
    max_delay_s: float = 2.0,
    jitter_ratio: float = 0.2,
    sleep: Callable[[float], object] | None = None,
    rand: Callable[[], float] = random.random,
) -> object:
    """Call ``op()``; on a retryable error wait and try again.

    At most ``max_attempts`` calls; the error of the last one is re-raised.
    If ``op()`` returns an awaitable (``op`` is an async function or a lambda
    returning a coroutine), a coroutine is returned instead that awaits it
    and retries with ``asyncio.sleep`` — ``await retry_on_overload(...)``.
    ``sleep`` replaces ``time.sleep`` (or ``asyncio.sleep``; it may return
    an awaitable) and ``rand`` the jitter source, for tests.
    """
    policy = _Policy(max_attempts, initial_delay_s, max_delay_s, jitter_ratio, rand)
    attempt = 0
    while True:
        attempt += 1
        try:
            result = op()
        except Exception as exc:
            delay = policy.delay_after(exc, attempt)
            if delay is None:
                raise
            (sleep or time.sleep)(delay)
            continue
        if inspect.isawaitable(result):
            return _retry_async(op, result, attempt, policy, sleep)
        return result


async def async_retry_on_overload(
    op: Callable[[], Awaitable[T]],
    *,
    max_attempts: int = 3,
    initial_delay_s: float = 0.25,
    max_delay_s: float = 2.0,
    jitter_ratio: float = 0.2,
    sleep: Callable[[float], object] | None = None,
    rand: Callable[[], float] = random.random,
) -> T:
    """The async twin of :func:`retry_on_overload` (sleeps with asyncio)."""
    policy = _Policy(max_attempts, initial_delay_s, max_delay_s, jitter_ratio, rand)
    return cast(T, await _retry_async(op, None, 0, policy, sleep))


async def _retry_async(
    op: Callable[[], object],
    first: object,
    attempts_made: int,
    policy: _Policy,
    sleep: Callable[[float], object] | None,
) -> object:
    """Await ``first`` (the result of attempt ``attempts_made``) if given,
    then keep calling ``op`` until success, a non-retryable error or the
    attempt limit."""
    import asyncio

    attempt = attempts_made
    awaitable = first
    while True:
        try:
            if awaitable is None:
                attempt += 1
                awaitable = op()
            if not inspect.isawaitable(awaitable):
                raise TypeError(f"op() must return an awaitable, got {awaitable!r}")
            return await awaitable
        except Exception as exc:
            delay = policy.delay_after(exc, attempt)
            if delay is None:
                raise
            slept = (sleep or asyncio.sleep)(delay)
            if inspect.isawaitable(slept):
                await slept
            awaitable = None
