"""Helpers of the SDK end-to-end suite: a routing fake provider and the sync/async adapter.

``Blocking`` presents an ``AsyncCodex`` (and the ``AsyncThread`` /
``AsyncTurnHandle`` / ``AsyncAppServerClient`` objects it hands out) through
the blocking API, running every coroutine on one event loop that lives in a
background thread. A test body written against the blocking API therefore
drives either flavour unchanged: the ``codex`` fixture is parametrised over
``sync`` (a real ``Codex``) and ``async`` (``Blocking(AsyncCodex)``).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import dataclasses
import functools
import inspect
import json
import signal
import threading
import time
from collections import deque
from collections.abc import AsyncIterator, Callable, Coroutine, Iterable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import pytest
from codex_app_server import (
    AppServerConfig,
    AsyncAppServerClient,
    AsyncCodex,
    AsyncLoginHandle,
    AsyncThread,
    AsyncTurnHandle,
    Notification,
    _session,
)
from codex_app_server._transports import CloseHandler, MessagesHandler, StdioTransport
from codex_app_server.generated.v2_all import AgentMessageThreadItem, ItemAgentMessageDeltaEvent, ItemCompletedEvent
from codex_app_server.testing import FakeProvider, Raw, Script, Text, offline_config
from codex_app_server.testing._provider import sse_events

T = TypeVar("T")

# Upper bound for any single blocking step of a test; a hang fails, never blocks the suite.
STEP_TIMEOUT_S = 15.0

_WRAPPED = (AsyncCodex, AsyncThread, AsyncTurnHandle, AsyncAppServerClient, AsyncLoginHandle)


class RoutedProvider(FakeProvider):
    """A FakeProvider whose replies can also be keyed by a word of the prompt.

    ``route(key, *scripts)`` queues replies for requests whose latest user
    message containing a routed key contains ``key``; other requests take the
    FIFO queue (``enqueue``) or the default reply. Needed where several turns
    run at once and the order of their requests is not fixed.
    """

    def __init__(self, script: Iterable[Script] = (), **kwargs: Any) -> None:
        super().__init__(script, **kwargs)
        self._routes: dict[str, deque[Script]] = {}

    def route(self, key: str, *scripts: Script) -> None:
        with self._lock:
            self._routes.setdefault(key, deque()).extend(scripts)

    def reset(self) -> None:
        """Forget queued replies, routes and recorded requests; hung streams stop hanging."""
        with self._lock:
            self._queue.clear()
            self._routes.clear()
            self.requests.clear()
            self.log.clear()
        self.release()

    def _next_script(self, body: Any) -> tuple[Script, int]:
        with self._lock:
            for text in reversed(user_texts(body)):
                for key, queue in self._routes.items():
                    if key in text and queue:
                        return queue.popleft(), next(self._counter)
        return super()._next_script(body)


def user_texts(body: Any) -> list[str]:
    """The texts of the user messages of a Responses request, in order."""
    texts: list[str] = []
    if not isinstance(body, dict):
        return texts
    for item in body.get("input") or []:
        if isinstance(item, dict) and item.get("role") == "user":
            for part in item.get("content") or []:
                if isinstance(part, dict) and isinstance(part.get("text"), str):
                    texts.append(part["text"])
    return texts


def tool_outputs(body: Any) -> list[str]:
    """The outputs of tool calls a Responses request sends back to the model."""
    if not isinstance(body, dict):
        return []
    return [
        str(item.get("output"))
        for item in body.get("input") or []
        if isinstance(item, dict) and item.get("type") == "function_call_output"
    ]


def make_config(provider: FakeProvider, root: Path, **kwargs: Any) -> AppServerConfig:
    """The testing kit's offline config with bounded waits; ``kwargs`` replace its fields."""
    approval_policy = kwargs.pop("approval_policy", "never")
    kwargs.setdefault("request_timeout", STEP_TIMEOUT_S)
    kwargs.setdefault("startup_timeout", STEP_TIMEOUT_S)
    return dataclasses.replace(offline_config(provider, home=root, approval_policy=approval_policy), **kwargs)


# ---------------------------------------------------------------- async adapter


class LoopThread:
    """An event loop running in a daemon thread; the home of every AsyncCodex of a test module."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self._lock = threading.Lock()
        self._pending: set[concurrent.futures.Future[Any]] = set()
        self._thread = threading.Thread(target=self.loop.run_forever, name="sdk-test-loop", daemon=True)
        self._thread.start()

    def run(self, coro: Coroutine[Any, Any, T], timeout: float = STEP_TIMEOUT_S) -> T:
        future = asyncio.run_coroutine_threadsafe(coro, self.loop)
        with self._lock:
            self._pending.add(future)
        try:
            return future.result(timeout)
        finally:
            with self._lock:
                self._pending.discard(future)

    def cancel_pending(self) -> None:
        """Cancel the tasks the blocking callers are waiting for (what ``task.cancel()`` does in user code)."""
        with self._lock:
            pending = list(self._pending)
        for future in pending:
            future.cancel()

    def close(self) -> None:
        async def _shutdown() -> None:
            await self.loop.shutdown_asyncgens()

        self.run(_shutdown())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(5)
        self.loop.close()


class Blocking:
    """The blocking face of an async SDK object (see the module docstring)."""

    def __init__(self, target: object, loop: LoopThread) -> None:
        self.target = target
        self.loop = loop

    def __getattr__(self, name: str) -> Any:
        value = getattr(self.target, name)
        if not callable(value):
            return self._wrap(value)

        @functools.wraps(value)
        def call(*args: Any, **kwargs: Any) -> Any:
            result = value(*args, **kwargs)
            if inspect.isawaitable(result):
                result = self.loop.run(_awaited(result))
            return self._wrap(result)

        return call

    def _wrap(self, value: Any) -> Any:
        if isinstance(value, _WRAPPED):
            return Blocking(value, self.loop)
        if isinstance(value, AsyncIterator):
            return self._iterate(value)
        return value

    def _iterate(self, agen: AsyncIterator[Any]) -> Iterator[Any]:
        try:
            while True:
                try:
                    yield self.loop.run(_anext(agen))
                except StopAsyncIteration:
                    return
        finally:
            aclose = getattr(agen, "aclose", None)
            if aclose is not None and not self.loop.loop.is_closed():
                self.loop.run(aclose())

    def __enter__(self) -> Blocking:
        """``with`` on the adapter is ``async with`` on the target (e.g. an AsyncLoginHandle)."""
        self.loop.run(_awaited(self.target.__aenter__()))  # type: ignore[attr-defined]
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.loop.run(_awaited(self.target.__aexit__(*exc_info)))  # type: ignore[attr-defined]

    def __repr__(self) -> str:
        return f"Blocking({self.target!r})"


async def _awaited(awaitable: Any) -> Any:
    return await awaitable


async def _anext(agen: AsyncIterator[T]) -> T:
    return await agen.__anext__()


def unwrap(obj: Any) -> Any:
    """The SDK object behind an adapter (or the object itself)."""
    return obj.target if isinstance(obj, Blocking) else obj


# ---------------------------------------------------------------- reading turns


def agent_deltas(events: Iterable[Notification]) -> list[str]:
    return [e.params.delta for e in events if isinstance(e, ItemAgentMessageDeltaEvent)]


def agent_messages(events: Iterable[Notification]) -> list[AgentMessageThreadItem]:
    return [
        e.params.item
        for e in events
        if isinstance(e, ItemCompletedEvent) and isinstance(e.params.item, AgentMessageThreadItem)
    ]


def consume_until(stream: Iterator[Notification], stop: Callable[[Notification], bool]) -> list[Notification]:
    """Pull events until ``stop(event)`` is true (that event included); the stream stays open."""
    seen: list[Notification] = []
    for event in stream:
        seen.append(event)
        if stop(event):
            return seen
    raise AssertionError(f"the turn ended before the awaited event; saw {[e.method for e in seen]}")


def one_response(*messages: Text) -> Raw:
    """A single model response carrying several assistant messages (e.g. commentary, then a final answer)."""
    events: list[dict[str, Any]] = []
    items: list[Any] = []
    for index, message in enumerate(messages):
        body = sse_events(message, resp_id="resp_multi", item_id=f"msg_multi_{index}")
        for event, _delay in body[1:-1]:  # without response.created / response.completed
            if "output_index" in event:
                event["output_index"] = index
            if event["type"] == "response.output_item.done":
                items.append(event["item"])
            events.append(event)
    first = sse_events(messages[0], resp_id="resp_multi", item_id="msg_multi_0")
    created, completed = first[0][0], first[-1][0]
    completed["response"]["output"] = items
    return Raw([created, *events, completed])


# ---------------------------------------------------------------- Ctrl-C / cancellation


def consumer_is_waiting(codex: Any, thread_id: str) -> bool:
    """True while the active turn consumer of ``thread_id`` is blocked waiting for its next event.

    Test-only peek at the session's router, so that an abort lands exactly where a user's Ctrl-C
    usually does (the consumer idle between events) instead of at a random point.
    """
    router = unwrap(codex)._session.router
    with router._lock:
        watch = router._consumers.get(thread_id)
    if watch is None:
        return False
    with watch._cond:
        return not watch._queue and (watch._waiter is not None or bool(watch._cond._waiters))


def abort_when_waiting(codex: Any, provider: FakeProvider, thread_id: str) -> type[BaseException]:
    """Abort the consumer of ``thread_id`` once the model is busy with the turn and the consumer
    waits. Returns the exception the caller will see (see :func:`abort_when`)."""
    seen = len(provider.requests)
    return abort_when(codex, lambda: len(provider.requests) > seen and consumer_is_waiting(codex, thread_id))


def abort_when(codex: Any, ready: Callable[[], bool]) -> type[BaseException]:
    """Once ``ready()``, abort the call the main thread waits in: SIGINT to the main thread (sync),
    or cancellation of the awaiting task (async). Returns the exception the caller will see."""
    deadline = time.monotonic() + STEP_TIMEOUT_S

    def fire() -> None:
        while not ready():
            if time.monotonic() > deadline:
                return
            time.sleep(0.01)
        if isinstance(codex, Blocking):
            codex.loop.cancel_pending()
        else:
            main = threading.main_thread().ident
            assert main is not None
            signal.pthread_kill(main, signal.SIGINT)

    threading.Thread(target=fire, name="sdk-test-abort", daemon=True).start()
    return concurrent.futures.CancelledError if isinstance(codex, Blocking) else KeyboardInterrupt


def wait_until_no_watch(codex: Any, thread_id: str) -> None:
    """Wait until nothing of the client follows ``thread_id`` any more: an aborted ``turn()``/``run()``
    has left (for ``AsyncCodex`` the cancelled task finishes after its blocking caller got the error)."""
    router = unwrap(codex)._session.router
    deadline = time.monotonic() + STEP_TIMEOUT_S
    while router._watches.get(thread_id):
        assert time.monotonic() < deadline, "the aborted call still follows the thread"
        time.sleep(0.01)


class TurnStartAnswerGate:
    """Holds the client's reader at the answer to the next ``turn/start`` until :meth:`release`.

    For the client the request is in flight (sent, not answered) for as long as the test needs,
    so an abort lands exactly there. Nothing after the answer is read meanwhile either: the
    turn's notifications reach the client in their order once released. :meth:`install` it
    before starting the client (it wraps the transport the session creates).
    """

    def __init__(self) -> None:
        self.holding = threading.Event()
        self._released = threading.Event()
        self._armed = True

    def install(self, monkeypatch: pytest.MonkeyPatch) -> None:
        gate = self

        class GatedTransport(StdioTransport):
            def start(self, on_messages: MessagesHandler, on_close: CloseHandler) -> None:
                super().start(gate._gated(on_messages), on_close)

        monkeypatch.setattr(_session, "StdioTransport", GatedTransport)

    def release(self) -> None:
        self._released.set()

    def _gated(self, on_messages: MessagesHandler) -> MessagesHandler:
        def on_gated_messages(lines: list[bytes]) -> None:
            for index, line in enumerate(lines):
                if self._armed and _answers_turn_start(line):
                    self._armed = False
                    if index:
                        on_messages(lines[:index])  # what came before the answer is read as usual
                    self.holding.set()
                    self._released.wait(STEP_TIMEOUT_S)
                    on_messages(lines[index:])
                    return
            on_messages(lines)

        return on_gated_messages


def _answers_turn_start(line: bytes) -> bool:
    if not line.strip():
        return False
    message = json.loads(line)
    result = message.get("result") if isinstance(message, dict) and "method" not in message else None
    return isinstance(result, dict) and isinstance(result.get("turn"), dict)
