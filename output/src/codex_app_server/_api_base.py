"""Hand-written behaviour behind the generated Codex / Thread / TurnHandle classes.

Lifecycle (eager sync start, lazy async start), turn streaming and the
``run`` helpers. The generated subclasses (``generated/api.py``) add one
typed method per manifest wrapper.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Generic, TypeVar, cast

from pydantic import BaseModel
from typing_extensions import Self  # pydantic's own dependency; typing.Self needs 3.11

from ._config import AppServerConfig
from ._connect import AsyncStarter, ConnectMethods, HandlerT, stop_when_collected
from ._conversation import Message, conversation
from ._errors import CodexRuntimeError, ResponseValidationError
from ._lazy import LazyModule
from ._login import AsyncLoginHandle, LoginHandle, account_or_none, async_account_or_none, check_signed_in
from ._output import output_schema as output_schema_from
from ._reconnect import Reconnect, reconnect_policy
from ._requester import checked_model, initialize_call
from ._routing import TurnWatch
from ._session import Session
from ._threads import in_worker_thread
from ._tools import Tool, tool_specs
from ._turns import INTERRUPT_GRACE_S, START_WAIT_S, ParsedT, RunResult, StartingTurn, TurnStartAnswer, TurnState
from ._wire import OMIT, Omit, model_to_wire

# Models are named through v2_all (and the notification union through its
# module), which import them on first use; annotations spelt so still
# resolve at run time (typing.get_type_hints).
from .generated import notifications, v2_all
from .generated.client import AppServerClient, AsyncAppServerClient
from .generated.server_requests import AsyncServerRequestHandler, ServerRequestHandler

if TYPE_CHECKING:
    # asyncio is imported inside the coroutines that use it: a blocking
    # client then never loads it (nor the OpenSSL it brings, ~7 MB of RSS);
    # nor ssl, which only annotations name here.
    import ssl

    from ._transports.endpoints import Endpoint
else:
    ssl = LazyModule("ssl")  # the annotations still resolve (typing.get_type_hints)


T = TypeVar("T")
R = TypeVar("R")
H = TypeVar("H")
M = TypeVar("M", bound=BaseModel)
TH = TypeVar("TH", bound="_TurnCommon[Any]")
PathLike = str | os.PathLike[str]


def output_schema_for(output_type: object | None, output_schema: object | None) -> dict[str, v2_all.JsonValue] | None:
    """The ``outputSchema`` a turn sends: ``output_type``'s strict schema, or the checked raw one (or None)."""
    schema = output_schema_from(output_type, output_schema)
    return None if schema is None else cast("dict[str, v2_all.JsonValue]", schema)


def declared_tools(tools: Sequence[Callable[..., object] | Tool] | None) -> list[Any] | None:
    """The ``dynamicTools`` declaring ``tools`` to codex (None: no tools given)."""
    return None if tools is None else tool_specs(tools)[1]


def given(value: T | None) -> T | Omit:
    """Wrapper keywords default to None, which means "not given": not sent."""
    return OMIT if value is None else value


def variant_params(method: str, model: type[M], fields: Mapping[str, object]) -> M:
    """The params of a wrapper that sends one variant of a union of params (its tag among ``fields``).

    Validated as every request's params are: a bad argument raises
    :class:`ParamsValidationError` naming it, before anything is sent.
    """
    return checked_model(method, model, fields)


def response_variant(method: str, expected: type[M], response: object) -> M:
    """The answer of a params variant is the response variant of the same tag; anything else is an error."""
    if isinstance(response, expected):
        return response
    raw = model_to_wire(response) if isinstance(response, BaseModel) else response
    raise ResponseValidationError(method, raw, f"expected the {expected.__name__} answer to what was sent")


class _ThreadCommon:
    """What Thread and AsyncThread share: identity and turn watching."""

    def __init__(self, session: Session, thread: v2_all.Thread) -> None:
        self._session = session
        self._router = session.router
        session.follow(thread.id, self)
        self.id: str = thread.id
        self.thread: v2_all.Thread = thread
        """The thread as the server described it when this object was made."""
        if thread.forked_from_id is not None:  # codex gives a fork its source's tools: they answer there too
            session.tools.copy(thread.forked_from_id, thread.id)

    def use_tools(self, tools: Iterable[Callable[..., object] | Tool]) -> None:
        """Answer this thread's calls of ``tools`` from this client.

        ``thread_start(tools=...)`` does this for the thread it starts, and
        a fork answers with its source's tools. codex keeps a thread's tools
        (they are declared once, at ``thread/start``), but after
        ``thread_resume`` in another client or process their calls come to
        that client, which answers them once given the functions here. A
        client answers them while a Thread object of it holds the thread:
        resumed after the last one was dropped, it needs them here again.
        """
        self._session.tools.register(self.id, tool_specs(tools)[0])

    def _register_watch(self, consumer: bool) -> TurnWatch:
        """Buffer this thread's turn events from now on; ``consumer``: reserve the consumer slot (or refuse) first."""
        return self._router.watch(self.id, consumer=consumer)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(id={self.id!r})"


class _TurnCommon(Generic[ParsedT]):
    """What TurnHandle and AsyncTurnHandle share: identity, the turn's state (:class:`~._turns.TurnState`), its result."""

    def __init__(self, thread: _ThreadCommon, turn: v2_all.Turn, watch: TurnWatch) -> None:
        self._session = session = thread._session
        self._state = TurnState(session.interrupts, thread.id, turn, watch, session.config.turn_retry_timeout)
        self.thread_id: str = thread.id
        self.id: str = turn.id

    @property
    def turn(self) -> v2_all.Turn:
        """The turn as last reported, kept current while and after it is consumed.

        Status from ``turn/started`` / ``turn/completed``; while the turn runs,
        ``items`` are the items completed so far. Once completed it is the
        server's final ``Turn``.
        """
        return self._state.turn

    @property
    def result(self) -> RunResult[ParsedT | None]:
        """What the turn produced so far: final response, every completed item, usage.

        Available while streaming (partial) and after the turn ended; unlike
        ``Thread.run()`` a failed turn does not raise here: check
        ``result.turn.status``. With an ``output_type``, ``parsed`` is the
        parsed final answer once the turn completed with one that validates,
        else None (``Thread.run()`` raises instead).
        """
        snapshot: RunResult[ParsedT | None] = self._state.snapshot()
        return snapshot

    def __repr__(self) -> str:
        return f"{type(self).__name__}(thread_id={self.thread_id!r}, id={self.id!r})"


class _CodexCommon(ConnectMethods[HandlerT], Generic[HandlerT]):
    """What Codex and AsyncCodex share: connecting to a running app-server, the session's facts, the handler.

    ``HandlerT`` is the server-request handler the client takes. Each
    connect classmethod (:class:`~._connect.ConnectMethods`) turns its keywords
    into an endpoint and hands it to :meth:`_connected`, then the client's
    ``_open``: a :class:`Codex` connects there, an :class:`AsyncCodex` on
    first use or ``async with``.
    """

    _config: AppServerConfig
    _session: Session

    @property
    def config(self) -> AppServerConfig:
        """The configuration this client was started with.

        After the app-server died (calls raise :class:`TransportClosedError`),
        a client made from it (``Codex(codex.config)``, ``AsyncCodex(codex.config)``)
        starts a fresh one; threads that had a turn continue there with
        ``thread_resume(thread_id)``.
        """
        return self._config

    @property
    def server_version(self) -> str | None:
        """The codex version of the app-server (from its ``userAgent``) once started; None before or if it names none.

        When it differs from the version this SDK was generated from
        (``codex_app_server.__version__``), one warning is logged.
        """
        return self._session.server_version

    @property
    def pid(self) -> int | None:
        """The process id of this client's ``codex app-server`` child; None before it started or for a connection."""
        return self._session.pid

    def _serve_tools(self, thread_id: str, tools: Sequence[Callable[..., object] | Tool] | None) -> None:
        """Answer thread ``thread_id``'s calls of ``tools`` (just declared to codex by ``thread_start``)."""
        if tools is not None:
            self._session.tools.register(thread_id, tool_specs(tools)[0])

    def set_handler(self, handler: HandlerT) -> None:
        """Install the handler that answers server requests (approvals ...).

        An :class:`AsyncCodex` runs a handler's coroutine methods on its loop.
        """
        self._session.handler = handler

    def _open(
        self,
        config: AppServerConfig,
        handler: HandlerT | None,
        endpoint: Endpoint | None,
        reconnect: Reconnect | None = None,
    ) -> None:
        raise NotImplementedError  # each client starts its own way

    @classmethod
    def _connected(
        cls,
        config: AppServerConfig,
        endpoint: Endpoint,
        handler: HandlerT | None,
        reconnect: Reconnect | bool,
    ) -> Self:
        client = cls.__new__(cls)
        client._open(config, handler, endpoint, reconnect_policy(reconnect))
        return client


# ---------------------------------------------------------------- sync


class CodexBase(_CodexCommon[ServerRequestHandler]):
    """Blocking client for one ``codex app-server`` process; starts eagerly."""

    def __init__(self, config: AppServerConfig | None = None, *, handler: ServerRequestHandler | None = None) -> None:
        self._open(config or AppServerConfig(), handler, None)

    def _open(
        self,
        config: AppServerConfig,
        handler: ServerRequestHandler | None,
        endpoint: Endpoint | None,
        reconnect: Reconnect | None = None,
    ) -> None:
        self._config = config
        self._session = Session(self._config, handler, endpoint, reconnect, initialize=initialize_call)
        self._metadata = self._session.start()
        self._finalizer = stop_when_collected(self, self._session)
        self._client = AppServerClient(
            self._session.current_rpc,
            self._config.request_timeout,
            local_filesystem=self._session.local_filesystem,
            experimental_api=self._session.experimental_api,
        )
        self._client.server_version = self._session.server_version

    @property
    def metadata(self) -> v2_all.InitializeResponse:
        """The server's answer to ``initialize``."""
        return self._metadata

    @property
    def client(self) -> AppServerClient:
        """The typed low-level client: every app-server method."""
        return self._client

    def _login(
        self,
        method: str,
        completion: str,
        expected: type[M],
        start: Callable[[], object],
        login_id: Callable[[M], str | None],
    ) -> LoginHandle[M]:
        """Watch for ``completion``, send the login (``start``), and hand its answer to a :class:`LoginHandle`."""
        expectation = self._session.waiters.expect(completion)
        try:
            response = response_variant(method, expected, start())
        except BaseException:
            expectation.close()
            raise
        return LoginHandle(self._client, response, login_id(response), expectation)

    def close(self) -> None:
        """Stop the app-server (stdin closed, then terminate, then kill)."""
        self._finalizer.detach()
        self._session.close()

    def __enter__(self: T) -> T:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


class ThreadBase(_ThreadCommon):
    """A thread of a :class:`Codex` client."""

    def __init__(self, codex: CodexBase, thread: v2_all.Thread) -> None:
        super().__init__(codex._session, thread)
        self._codex = codex
        self._client = codex._client

    def conversation(self) -> list[Message]:
        """What was said on this thread so far: ``(role, text)`` messages, oldest first.

        One ``thread/read`` with its turns; see :func:`codex_app_server.conversation`.
        """
        return conversation(self._client.thread_read(thread_id=self.id, include_turns=True))

    def _watch_turns(self, *, consumer: bool = False) -> TurnWatch:
        """Before a turn/start: signed in? let turns interrupted for callers that left end first, then watch."""
        if not self._session.signed_in:  # once per connection, not a round trip per turn
            check_signed_in(account_or_none(self._client.account_read))
            self._session.signed_in = True
        self._router.settle(self.id, INTERRUPT_GRACE_S)
        return self._register_watch(consumer)

    def _turn(
        self,
        handle: Callable[[ThreadBase, v2_all.Turn, TurnWatch], TH],
        start: Callable[[], TurnStartAnswer],
        output_type: object | None = None,
        *,
        consumer: bool = False,
    ) -> TH:
        """Watch this thread, send ``turn/start`` (``start``), and hand the started turn to ``handle``."""
        watch = self._watch_turns(consumer=consumer)
        with StartingTurn(self._session.interrupts, watch) as starting:
            turn_handle = handle(self, starting.started(start().turn), watch)
            turn_handle._state.output_type = output_type
            return turn_handle

    def _run(
        self,
        handle: Callable[[ThreadBase, v2_all.Turn, TurnWatch], TurnHandleBase[ParsedT]],
        start: Callable[[], TurnStartAnswer],
        output_type: type[ParsedT] | None = None,
    ) -> RunResult[ParsedT]:
        """A turn, consumed to the end (the consumer slot is taken before ``turn/start``)."""
        watch = self._watch_turns(consumer=True)
        with StartingTurn(self._session.interrupts, watch) as starting:  # until the consumer takes over, too
            turn_handle = handle(self, starting.started(start().turn), watch)
            turn_handle._state.output_type = output_type
            return turn_handle._collect()


class TurnHandleBase(_TurnCommon[ParsedT]):
    """A started turn: consume it with stream() or run(); steer() or interrupt() it."""

    def __init__(self, thread: ThreadBase, turn: v2_all.Turn, watch: TurnWatch) -> None:
        super().__init__(thread, turn, watch)
        self._thread = thread
        self._client = thread._client

    def _until_started(self) -> None:
        """Wait for the server to report this turn started (or ended): interrupt() right after turn() works."""
        self._state.watch.live.wait(START_WAIT_S)

    def stream(self) -> Iterator[notifications.Notification]:
        """Yield this turn's typed notifications, ending with ``turn/completed``.

        Leaving the loop before the turn completed (Ctrl-C while waiting or in
        the loop body, another exception, ``break``) interrupts the turn and
        waits briefly for it to end, so the client and the thread stay usable:
        a turn nobody consumes would keep running and absorb the next turn's
        input. Call ``steer()`` from inside the loop, not after leaving it.

        Never hangs: the stream raises :class:`TransportClosedError` when the
        connection dies, :class:`ResponseValidationError` when this turn's
        ``turn/completed`` does not decode, and :class:`TimeoutError` (after
        interrupting the turn) when no event comes within
        ``AppServerConfig.turn_idle_timeout``. A slow loop body makes the SDK
        stop reading from codex (backpressure, ``turn_buffer_limit``).
        """
        state, watch = self._state, self._state.watch
        idle = self._session.config.turn_idle_timeout
        watch.router.acquire(watch)
        try:
            while not state.ended:
                try:
                    batch = watch.take(state.next_wait(idle))
                except TimeoutError:
                    raise state.timed_out(idle) from None
                yield from state.events(batch)
        except (KeyboardInterrupt, GeneratorExit):  # GeneratorExit: the consumer left the loop early
            state.interrupt_and_drain()
            raise
        finally:
            watch.router.release(watch)

    def run(self) -> v2_all.Turn:
        """Consume the turn to the end and return the completed ``v2_all.Turn``.

        A failed turn is returned with ``status == failed`` and ``error`` set.
        """
        for _ in self.stream():
            pass
        return self.turn

    def _collect(self) -> RunResult[ParsedT]:
        for _ in self.stream():
            pass
        result: RunResult[ParsedT] = self._state.result()
        return result


# ---------------------------------------------------------------- async


class AsyncCodexBase(_CodexCommon[AsyncServerRequestHandler | ServerRequestHandler]):
    """asyncio client; starts lazily (first call) or on ``async with``."""

    def __init__(
        self,
        config: AppServerConfig | None = None,
        *,
        handler: AsyncServerRequestHandler | ServerRequestHandler | None = None,
    ) -> None:
        self._open(config or AppServerConfig(), handler, None)

    def _open(
        self,
        config: AppServerConfig,
        handler: AsyncServerRequestHandler | ServerRequestHandler | None,
        endpoint: Endpoint | None,
        reconnect: Reconnect | None = None,
    ) -> None:
        self._config = config
        self._session = Session(self._config, handler, endpoint, reconnect, initialize=initialize_call)
        self._finalizer = stop_when_collected(self, self._session)
        self._starter = AsyncStarter(self._session, self._started)
        self._client = AsyncAppServerClient(
            self._starter.rpc,
            self._config.request_timeout,
            local_filesystem=self._session.local_filesystem,
            experimental_api=self._session.experimental_api,
        )

    def _started(self) -> None:
        self._client.server_version = self._session.server_version

    async def start(self) -> v2_all.InitializeResponse:
        """Launch and initialise the app-server (idempotent)."""
        return await self._starter.start()

    @property
    def metadata(self) -> v2_all.InitializeResponse:
        """The server's answer to ``initialize`` (after start / ``async with``)."""
        metadata = self._starter.metadata
        if metadata is None:
            raise CodexRuntimeError(
                "AsyncCodex is not started yet: use `async with AsyncCodex()` or `await codex.start()`"
            )
        return metadata

    @property
    def client(self) -> AsyncAppServerClient:
        """The typed low-level asyncio client: every app-server method."""
        return self._client

    async def _login(
        self,
        method: str,
        completion: str,
        expected: type[M],
        start: Callable[[], Awaitable[object]],
        login_id: Callable[[M], str | None],
    ) -> AsyncLoginHandle[M]:
        """Watch for ``completion``, send the login (``start``), and hand its answer to an :class:`AsyncLoginHandle`."""
        expectation = self._session.waiters.expect(completion)
        try:
            response = response_variant(method, expected, await start())
        except BaseException:
            expectation.close()
            raise
        return AsyncLoginHandle(self._client, response, login_id(response), expectation)

    async def close(self) -> None:
        """Stop the app-server (stdin closed, then terminate, then kill)."""
        self._finalizer.detach()
        await in_worker_thread(self._session.close)

    async def __aenter__(self: T) -> T:
        await self.start()  # type: ignore[attr-defined]
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()


class AsyncThreadBase(_ThreadCommon):
    """A thread of an :class:`AsyncCodex` client."""

    def __init__(self, codex: AsyncCodexBase, thread: v2_all.Thread) -> None:
        super().__init__(codex._session, thread)
        self._codex = codex
        self._client = codex._client

    async def conversation(self) -> list[Message]:
        """What was said on this thread so far: ``(role, text)`` messages, oldest first.

        One ``thread/read`` with its turns; see :func:`codex_app_server.conversation`.
        """
        return conversation(await self._client.thread_read(thread_id=self.id, include_turns=True))

    async def _watch_turns(self, *, consumer: bool = False) -> TurnWatch:
        """Before a turn/start: signed in? let turns interrupted for callers that left end first, then watch."""
        if not self._session.signed_in:  # once per connection, not a round trip per turn
            check_signed_in(await async_account_or_none(self._client.account_read))
            self._session.signed_in = True
        if self._router.held(self.id):  # rare: the wait blocks, so it runs off the loop
            await in_worker_thread(self._router.settle, self.id, INTERRUPT_GRACE_S)
        return self._register_watch(consumer)

    async def _turn(
        self,
        handle: Callable[[AsyncThreadBase, v2_all.Turn, TurnWatch], TH],
        start: Callable[[], Awaitable[TurnStartAnswer]],
        output_type: object | None = None,
        *,
        consumer: bool = False,
    ) -> TH:
        """Watch this thread, send ``turn/start`` (``start``), and hand the started turn to ``handle``."""
        watch = await self._watch_turns(consumer=consumer)
        with StartingTurn(self._session.interrupts, watch) as starting:
            turn_handle = handle(self, starting.started((await start()).turn), watch)
            turn_handle._state.output_type = output_type
            return turn_handle

    async def _run(
        self,
        handle: Callable[[AsyncThreadBase, v2_all.Turn, TurnWatch], AsyncTurnHandleBase[ParsedT]],
        start: Callable[[], Awaitable[TurnStartAnswer]],
        output_type: type[ParsedT] | None = None,
    ) -> RunResult[ParsedT]:
        """A turn, consumed to the end (the consumer slot is taken before ``turn/start``)."""
        watch = await self._watch_turns(consumer=True)
        with StartingTurn(self._session.interrupts, watch) as starting:  # until the consumer takes over, too
            turn_handle = handle(self, starting.started((await start()).turn), watch)
            turn_handle._state.output_type = output_type
            return await turn_handle._collect()


class AsyncTurnHandleBase(_TurnCommon[ParsedT]):
    """A started turn of an :class:`AsyncCodex` client."""

    def __init__(self, thread: AsyncThreadBase, turn: v2_all.Turn, watch: TurnWatch) -> None:
        super().__init__(thread, turn, watch)
        self._thread = thread
        self._client = thread._client

    async def _until_started(self) -> None:
        """Wait for the server to report this turn started (or ended), off the event loop."""
        live = self._state.watch.live
        if not live.is_set():  # usual case: it has, and nothing blocks
            await in_worker_thread(live.wait, START_WAIT_S)

    async def stream(self) -> AsyncIterator[notifications.Notification]:
        """Yield this turn's typed notifications, ending with ``turn/completed``.

        Cancelling the consuming task, or closing the stream before the turn
        completed (an exception in the loop body, ``aclose()``), interrupts the
        turn; the client stays usable. Ends with an error rather than hanging,
        as the blocking ``stream()`` does (connection lost, undecodable
        ``turn/completed``, ``turn_idle_timeout``).
        """
        import asyncio

        state, watch = self._state, self._state.watch
        idle = self._session.config.turn_idle_timeout
        watch.router.acquire(watch)
        try:
            while not state.ended:
                try:
                    batch = await watch.atake(state.next_wait(idle))
                except TimeoutError:
                    raise state.timed_out(idle) from None
                for event in state.events(batch):
                    yield event
        except (asyncio.CancelledError, KeyboardInterrupt, GeneratorExit):
            state.send_interrupt()  # fire and forget: a cancelled task must not wait
            raise
        finally:
            watch.router.release(watch)

    async def run(self) -> v2_all.Turn:
        """Consume the turn to the end and return the completed ``v2_all.Turn``."""
        async for _ in self.stream():
            pass
        return self.turn

    async def _collect(self) -> RunResult[ParsedT]:
        async for _ in self.stream():
            pass
        result: RunResult[ParsedT] = self._state.result()
        return result


__all__ = [
    "AsyncCodexBase",
    "AsyncLoginHandle",
    "AsyncThreadBase",
    "AsyncTurnHandleBase",
    "CodexBase",
    "LoginHandle",
    "ParsedT",
    "RunResult",
    "ThreadBase",
    "Tool",
    "TurnHandleBase",
    "declared_tools",
    "given",
    "output_schema_for",
    "response_variant",
    "variant_params",
]
