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
from typing import TypeVar, cast, overload

from typing_extensions import TypedDict, Unpack  # pydantic's own dependency; Unpack needs 3.11

from ._errors import CodexTypeError, CodexValueError, is_retryable_error

__all__ = ["RetryOptions", "async_retry_on_overload", "backoff_delay", "retry_on_overload"]

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


class RetryOptions(TypedDict, total=False):
    """The keywords of :func:`retry_on_overload` and :func:`async_retry_on_overload`; each may be left out.

    ``max_attempts`` (default 3): at most that many calls, the error of the
    last one is re-raised. ``initial_delay_s`` (0.25), ``max_delay_s`` (2.0)
    and ``jitter_ratio`` (0.2) shape the waits (:func:`backoff_delay`).
    ``sleep`` replaces ``time.sleep`` or ``asyncio.sleep`` (it may return an
    awaitable) and ``rand`` (``random.random``) the jitter source, for tests.
    """

    max_attempts: int
    initial_delay_s: float
    max_delay_s: float
    jitter_ratio: float
    sleep: Callable[[float], object] | None
    rand: Callable[[], float]


@dataclass(frozen=True)
class _Policy:
    """The options of one retrying call (the keys of :class:`RetryOptions`), with their defaults."""

    max_attempts: int = 3
    initial_delay_s: float = 0.25
    max_delay_s: float = 2.0
    jitter_ratio: float = 0.2
    sleep: Callable[[float], object] | None = None
    rand: Callable[[], float] = random.random

    @classmethod
    def of(cls, function: str, options: RetryOptions) -> _Policy:
        # ``**options`` takes any keyword at run time: refuse a misspelt one as a signature would.
        unknown = next((name for name in options if name not in RetryOptions.__optional_keys__), None)
        if unknown is not None:
            raise CodexTypeError(f"{function}() got an unexpected keyword argument {unknown!r}")
        return cls(**options)

    def __post_init__(self) -> None:
        if isinstance(self.max_attempts, bool) or not isinstance(self.max_attempts, int):
            raise CodexTypeError("max_attempts must be an int")
        if self.max_attempts < 1:
            raise CodexValueError("max_attempts must be >= 1")
        if self.initial_delay_s < 0 or self.max_delay_s < 0:
            raise CodexValueError("delays must be >= 0")
        if not 0.0 <= self.jitter_ratio <= 1.0:
            raise CodexValueError("jitter_ratio must be between 0 and 1")

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
    op: Callable[[], Awaitable[T]], **options: Unpack[RetryOptions]
) -> Coroutine[object, object, T]: ...


@overload
def retry_on_overload(op: Callable[[], T], **options: Unpack[RetryOptions]) -> T: ...


def retry_on_overload(op: Callable[[], object], **options: Unpack[RetryOptions]) -> object:
    """Call ``op()``; on a retryable error wait and try again.

    At most ``max_attempts`` calls (default 3); the error of the last one is
    re-raised. The waits double from ``initial_delay_s`` (0.25) up to
    ``max_delay_s`` (2.0), with ``jitter_ratio`` (0.2) of jitter; see
    :class:`RetryOptions`. If ``op()`` returns an awaitable (``op`` is an
    async function or a lambda returning a coroutine), a coroutine is
    returned instead that awaits it and retries with ``asyncio.sleep`` —
    ``await retry_on_overload(...)``.
    """
    policy = _Policy.of("retry_on_overload", options)
    attempt = 0
    while True:
        attempt += 1
        try:
            result = op()
        except Exception as exc:
            delay = policy.delay_after(exc, attempt)
            if delay is None:
                raise
            (policy.sleep or time.sleep)(delay)
            continue
        if inspect.isawaitable(result):
            return _retry_async(op, result, attempt, policy)
        return result


async def async_retry_on_overload(op: Callable[[], Awaitable[T]], **options: Unpack[RetryOptions]) -> T:
    """The async twin of :func:`retry_on_overload` (sleeps with asyncio); the same :class:`RetryOptions`."""
    policy = _Policy.of("async_retry_on_overload", options)
    return cast(T, await _retry_async(op, None, 0, policy))


async def _retry_async(op: Callable[[], object], first: object, attempts_made: int, policy: _Policy) -> object:
    """Await ``first`` (the result of attempt ``attempts_made``) if given,
    then keep calling ``op`` until success, a non-retryable error or the
    attempt limit."""
    # Imported here: a blocking client then never loads asyncio (nor the OpenSSL it brings, ~7 MB of RSS).
    import asyncio

    attempt = attempts_made
    awaitable = first
    while True:
        try:
            if awaitable is None:
                attempt += 1
                awaitable = op()
            if not inspect.isawaitable(awaitable):
                raise CodexTypeError(f"op() must return an awaitable, got {awaitable!r}")
            return await awaitable
        except Exception as exc:
            delay = policy.delay_after(exc, attempt)
            if delay is None:
                raise
            slept = (policy.sleep or asyncio.sleep)(delay)
            if inspect.isawaitable(slept):
                await slept
            awaitable = None
