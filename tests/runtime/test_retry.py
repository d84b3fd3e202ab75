"""Retry on overload (_retry): backoff, jitter, attempts, sync and async."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import pytest
from codex_app_server._errors import (
    InvalidParamsError,
    ServerBusyError,
)
from codex_app_server._retry import async_retry_on_overload, backoff_delay, retry_on_overload

# --------------------------------------------------------------------------
# _retry


def _flaky(
    failures: int, error: Callable[[], BaseException] = lambda: ServerBusyError(-32001, "busy")
) -> tuple[Callable[[], str], list[BaseException]]:
    raised: list[BaseException] = []

    def op() -> str:
        if len(raised) < failures:
            raised.append(error())
            raise raised[-1]
        return "ok"

    return op, raised


def test_retry_backs_off_exponentially_then_succeeds() -> None:
    op, raised = _flaky(2)
    sleeps: list[float] = []
    assert retry_on_overload(op, sleep=sleeps.append, rand=lambda: 0.5) == "ok"
    assert len(raised) == 2 and sleeps == [0.25, 0.5]


def test_retry_gives_up_with_the_last_error_and_caps_the_delay() -> None:
    op, raised = _flaky(100)
    sleeps: list[float] = []
    with pytest.raises(ServerBusyError) as info:
        retry_on_overload(
            op, max_attempts=4, initial_delay_s=1.0, max_delay_s=2.0, sleep=sleeps.append, rand=lambda: 0.5
        )
    assert len(raised) == 4 and info.value is raised[-1]
    assert sleeps == [1.0, 2.0, 2.0]


def test_retry_jitter_stays_in_bounds() -> None:
    for retry_index, base in [(0, 0.25), (1, 0.5), (2, 1.0), (5, 2.0)]:
        low = backoff_delay(retry_index, rand=lambda: 0.0)
        high = backoff_delay(retry_index, rand=lambda: 1.0)
        assert low == pytest.approx(base * 0.8) and high == pytest.approx(base * 1.2)


def test_retry_does_not_retry_other_errors_and_validates_arguments() -> None:
    op, raised = _flaky(5, lambda: InvalidParamsError(-32602, "bad"))
    sleeps: list[float] = []
    with pytest.raises(InvalidParamsError):
        retry_on_overload(op, sleep=sleeps.append)
    assert len(raised) == 1 and sleeps == []
    with pytest.raises(ValueError):
        retry_on_overload(lambda: 1, max_attempts=0)
    with pytest.raises(ValueError):
        asyncio.run(async_retry_on_overload(_async_ok, max_attempts=0))
    assert retry_on_overload(lambda: 1, max_attempts=1) == 1


async def _async_ok() -> str:
    return "ok"


def test_async_retry() -> None:
    raised: list[BaseException] = []
    slept: list[float] = []

    async def op() -> str:
        await asyncio.sleep(0)
        if len(raised) < 2:
            raised.append(ServerBusyError(-32001, "busy"))
            raise raised[-1]
        return "done"

    async def fake_sleep(delay: float) -> None:
        slept.append(delay)

    async def main() -> tuple[str, str]:
        a = await retry_on_overload(op, sleep=fake_sleep, rand=lambda: 0.5)
        raised.clear()
        b = await async_retry_on_overload(lambda: op(), sleep=fake_sleep, rand=lambda: 0.5)
        return a, b

    assert asyncio.run(main()) == ("done", "done")
    assert slept == [0.25, 0.5, 0.25, 0.5]

    async def always_busy() -> str:
        raise ServerBusyError(-32001, "busy")

    with pytest.raises(ServerBusyError):
        asyncio.run(async_retry_on_overload(always_busy, max_attempts=2, sleep=fake_sleep))


def test_both_take_the_same_options_with_the_documented_defaults() -> None:
    """3 attempts, waits from 0.25 s doubling, +-20 % jitter: sync and async alike."""
    op, raised = _flaky(100)
    sleeps: list[float] = []
    with pytest.raises(ServerBusyError):
        retry_on_overload(op, sleep=sleeps.append, rand=lambda: 1.0)
    assert len(raised) == 3 and sleeps == [pytest.approx(0.3), pytest.approx(0.6)]

    calls: list[int] = []
    slept: list[float] = []

    async def busy() -> str:
        calls.append(1)
        raise ServerBusyError(-32001, "busy")

    async def fake_sleep(delay: float) -> None:
        slept.append(delay)

    with pytest.raises(ServerBusyError):
        asyncio.run(async_retry_on_overload(busy, sleep=fake_sleep, rand=lambda: 1.0))
    assert len(calls) == 3 and slept == [pytest.approx(0.3), pytest.approx(0.6)]


def test_a_misspelt_option_is_a_type_error_naming_the_function() -> None:
    """As a signature would refuse it: at the call, or for the coroutine function when awaited; nothing runs."""
    calls: list[int] = []

    async def op() -> str:
        calls.append(1)
        return "ok"

    with pytest.raises(TypeError, match=r"^retry_on_overload\(\) got an unexpected keyword argument 'max_attempt'$"):
        retry_on_overload(op, max_attempt=5)  # type: ignore[call-overload]
    with pytest.raises(TypeError, match=r"^async_retry_on_overload\(\) got an unexpected keyword argument 'delay'$"):
        asyncio.run(async_retry_on_overload(op, delay=1.0))  # type: ignore[call-arg]
    assert calls == []
