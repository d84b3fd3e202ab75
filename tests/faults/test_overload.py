"""The server's overload error (-32001) through the typed clients, with ``retry_on_overload``.

codex answers "Server overloaded; retry later." with JSON-RPC -32001, with
or without ``data``. ``retry_on_overload`` must retry exactly those with
exponential backoff and then give up with the *last* error; anything else
propagates at once. Sync (``Codex``) and async (``AsyncCodex``) alike.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
from codex_app_server import (
    AsyncCodex,
    Codex,
    InvalidParamsError,
    ServerBusyError,
    async_retry_on_overload,
    retry_on_overload,
)

from .support import fake_config, linux_only, recorded_turn

pytestmark = [linux_only, pytest.mark.timeout(60)]

TURN = recorded_turn()
BUSY = {"code": -32001, "message": "Server overloaded; retry later."}
BUSY_WITH_DATA = {**BUSY, "data": {"reason": "queue full", "attempt": 2}}
INVALID = {"code": -32602, "message": "invalid params: model"}


def _script(*answers: dict[str, Any]) -> dict[str, Any]:
    """thread/start answers ``answers`` in turn (the last one repeats)."""
    sequence = [[{"error": a}] if "code" in a else [{"result": a}] for a in answers]
    return TURN.script(extra_methods={"thread/start": {"sequence": sequence}})


def _run(flavor: str, config: Any, op: str, **retry: Any) -> tuple[Any, list[float]]:
    """``op`` (a Codex method name) under retry_on_overload; returns (result or error, delays slept)."""
    delays: list[float] = []
    retry.setdefault("rand", lambda: 0.5)  # no jitter: the delays are the backoff itself
    retry.setdefault("initial_delay_s", 0.01)
    if flavor == "sync":
        with Codex(config) as codex:
            try:
                return retry_on_overload(lambda: getattr(codex, op)(), sleep=delays.append, **retry), delays
            except Exception as exc:  # noqa: BLE001 - the test inspects it
                return exc, delays

    async def main() -> Any:
        async def sleep(seconds: float) -> None:
            delays.append(seconds)
            await asyncio.sleep(0)

        async with AsyncCodex(config) as codex:
            try:
                if flavor == "async":
                    return await retry_on_overload(lambda: getattr(codex, op)(), sleep=sleep, **retry)
                return await async_retry_on_overload(lambda: getattr(codex, op)(), sleep=sleep, **retry)
            except Exception as exc:  # noqa: BLE001
                return exc

    return asyncio.run(main()), delays


FLAVORS = ["sync", "async", "async-explicit"]


@pytest.mark.parametrize("flavor", FLAVORS)
def test_overload_is_retried_with_backoff_then_succeeds(tmp_path: Path, flavor: str) -> None:
    config = fake_config(tmp_path, _script(BUSY, BUSY_WITH_DATA, TURN.thread_start))
    thread, delays = _run(flavor, config, "thread_start", max_attempts=5)
    assert not isinstance(thread, Exception), thread
    assert thread.id == TURN.thread_id
    assert delays == [0.01, 0.02]  # exponential, one per overload answer


@pytest.mark.parametrize("flavor", FLAVORS)
def test_overload_gives_up_with_the_last_error(tmp_path: Path, flavor: str) -> None:
    last = {**BUSY, "data": {"attempt": 3}}
    config = fake_config(tmp_path, _script(BUSY, BUSY_WITH_DATA, last))
    error, delays = _run(flavor, config, "thread_start", max_attempts=3, max_delay_s=0.015)
    assert isinstance(error, ServerBusyError), error
    assert error.code == -32001 and error.data == {"attempt": 3}
    assert error.method == "thread/start"
    assert delays == [0.01, 0.015]  # capped at max_delay_s


@pytest.mark.parametrize("flavor", FLAVORS)
def test_other_errors_are_not_retried(tmp_path: Path, flavor: str) -> None:
    config = fake_config(tmp_path, _script(INVALID, TURN.thread_start))
    error, delays = _run(flavor, config, "thread_start", max_attempts=5)
    assert isinstance(error, InvalidParamsError) and "model" in str(error)
    assert delays == []
