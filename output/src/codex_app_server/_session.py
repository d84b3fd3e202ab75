"""One running app-server: process, connection (and reconnection), handshake, server-request dispatch.

Turn routing is :mod:`._routing`; the turn itself, and the policy of
interrupting the turns of callers that left, is :mod:`._turns`.
"""

from __future__ import annotations

import functools
import inspect
import logging
import sys
import threading
import weakref
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING

from pydantic import BaseModel, ValidationError

from ._answers import PendingRequest, PendingRequests, current_request
from ._config import (
    AppServerConfig,
    build_argv,
    build_env,
    check_cwd,
    initialize_capabilities,
    initialize_params,
    resolve_codex_binary,
)
from ._errors import INTERNAL_ERROR, INVALID_PARAMS, METHOD_NOT_FOUND, AuthenticationError, TransportClosedError
from ._routing import Router
from ._rpc import RawNotification, RpcConnection, ServerRequestContext
from ._server_version import note_server_version, server_version_from_user_agent
from ._tools import Tool, ToolRegistry, call_async, call_sync, is_async
from ._transports import StdioTransport, Transport
from ._turns import Interrupts
from ._waiters import Waiters
from ._wire import model_to_wire, to_wire, validate
from .generated import methods, v2_all
from .generated.server_requests import (
    SERVER_REQUESTS,
    AsyncServerRequestHandler,
    NoHandlerError,
    ServerRequestHandler,
    ServerRequestSpec,
)

if TYPE_CHECKING:
    # asyncio is imported inside the functions that use it: a blocking
    # client then never loads it (nor the OpenSSL it brings, ~7 MB of RSS).
    import asyncio

    from ._reconnect import Reconnect
    from ._transports.endpoints import Endpoint
    from .generated.v2_all import InitializeParams, InitializeResponse

logger = logging.getLogger("codex_app_server")

AnyHandler = ServerRequestHandler | AsyncServerRequestHandler
# The typed ``initialize`` request (connection, params, timeout): the client layer above hands it down.
Initialize = Callable[[RpcConnection, "InitializeParams", float], "InitializeResponse"]


def handshake(rpc: RpcConnection, config: AppServerConfig, initialize: Initialize) -> InitializeResponse:
    """``initialize`` (the typed call given, within ``startup_timeout``), then ``initialized``."""
    response = initialize(rpc, initialize_params(config), config.startup_timeout)
    rpc.notify(methods.INITIALIZED)
    return response


class Session:
    """Owns the process, the RPC connection, the router and the request handler.

    Without an ``endpoint`` it spawns ``codex app-server`` as its child;
    with one it connects to that running server.
    """

    def __init__(
        self,
        config: AppServerConfig,
        handler: AnyHandler | None = None,
        endpoint: Endpoint | None = None,
        reconnect: Reconnect | None = None,
        *,
        initialize: Initialize,
    ) -> None:
        self.config = config
        self._initialize = initialize
        self.endpoint = endpoint
        # A spawned child is not reconnected to.
        self.reconnect: Reconnect | None = reconnect if endpoint is not None else None
        # Whether the server sees this machine's filesystem, so that directory params can be checked here.
        self.local_filesystem: bool = endpoint is None or endpoint.local
        # What initialize declares: the clients of this session refuse experimental calls without it.
        self.experimental_api: bool = initialize_capabilities(config).experimental_api is True
        # Thread ids to resume after a reconnect (in order), each with how many Thread objects follow it:
        # a thread no object follows any more is forgotten (a service starts threads without end).
        self.followed: dict[str, int] = {}
        self._followed_lock = threading.RLock()  # reentrant: a follower's finalizer may run in a GC under it
        self._closing = False
        self._reconnecting = False
        self._generation = 0  # which connection is the current one
        self._connected = threading.Event()  # set while a connection is up (or for good after giving up)
        # The server said codex may run turns (signed in, or a provider that needs no OpenAI login):
        # checked once before the first turn (the turn wrappers' check_signed_in).
        self.signed_in = False
        self.router: Router = Router(
            config.concurrent_turns, config.turn_buffer_limit, keep_reading=self._must_read, answering=self._answering
        )
        # Turns of this client interrupted for callers that left (Ctrl-C, cancellation, timeouts).
        self.interrupts: Interrupts = Interrupts(self.router, lambda: self.rpc)
        # Notifications that finish what a request started outside any turn (a login's completion).
        self.waiters: Waiters = Waiters()
        self.handler: AnyHandler = handler if handler is not None else ServerRequestHandler()
        self.loop: asyncio.AbstractEventLoop | None = None  # for async handlers
        self._executor: ThreadPoolExecutor | None = None
        self._executor_lock = threading.Lock()
        self.rpc: RpcConnection | None = None  # the connection calls use: only ever an initialized one
        self._opening: RpcConnection | None = None  # a connection being initialized (close() must reach it)
        self._lost: TransportClosedError | None = None  # why reconnecting gave up
        self.metadata: InitializeResponse | None = None
        self.server_version: str | None = None  # the server's codex version, from initialize
        self.pending: PendingRequests = PendingRequests()  # server requests not answered yet
        self.tools: ToolRegistry = ToolRegistry()  # the Python functions each thread offers the model
        self.transport: Transport | None = None  # the current connection's

    @property
    def pid(self) -> int | None:
        """The app-server child's process id once launched; None for a connection to a running server."""
        return self.transport.pid if isinstance(self.transport, StdioTransport) else None

    def _must_read(self) -> bool:
        """The reader may not pause: a request awaits its answer, or the connection is closing."""
        rpc = self.rpc
        return rpc is None or rpc.closed or rpc.has_pending()

    def _answering(self) -> bool:
        """A server request awaits our answer (a handler, or a deferred answer): idle time does not count."""
        return bool(self.pending)

    def _transport(self) -> Transport:
        if self.endpoint is not None:
            config = self.config
            return self.endpoint.transport(
                config.startup_timeout, write_timeout=config.write_timeout, close_timeout=config.shutdown_timeout
            )
        check_cwd(self.config)  # it may have gone since the config was made
        binary = resolve_codex_binary(self.config)
        return StdioTransport(
            build_argv(self.config, binary),
            build_env(self.config, binary),
            self.config.cwd,
            self.config.stderr_buffer_lines,
        )

    def start(self) -> InitializeResponse:
        try:
            self.rpc, self.metadata = self._open()
        except BaseException:
            self.close()
            raise
        self._opening = None
        self._connected.set()
        return self.metadata

    def _open(self) -> tuple[RpcConnection, InitializeResponse]:
        """A new connection (a new child, or a new connection to the endpoint), initialized."""
        transport = self._transport()
        self.transport = transport
        self._generation += 1
        rpc = RpcConnection(
            transport,
            on_notifications=self._on_notifications,
            on_server_request=self._on_server_request,
            on_close=functools.partial(self._on_close, self._generation),
            on_abandoned=self.interrupts.on_abandoned,
            request_timeout=self.config.request_timeout,
        )
        # Not self.rpc yet: nothing but the handshake (and, after a reconnect, the resumes) may reach a
        # connection before it is initialized; the caller publishes it.
        self._opening = rpc
        if self._closing:
            rpc.close(0.0)
            raise TransportClosedError("closed by client")
        try:
            rpc.start()
            metadata = handshake(rpc, self.config, self._initialize)
            self.server_version = server_version_from_user_agent(metadata.user_agent)
            note_server_version(self.server_version)
            return rpc, metadata
        except BaseException:
            rpc.close(self.config.shutdown_timeout)
            self._opening = None
            raise

    def current_rpc(self) -> RpcConnection:
        """The live connection; while reconnecting, waits (bounded) for the new one to be initialized and resumed.

        Raises :class:`TransportClosedError` when reconnecting gave up (saying why).
        """
        rpc = self.rpc
        if rpc is not None and (rpc.closed_error is None or self.reconnect is None):
            return rpc
        if self.reconnect is not None:
            self._connected.wait(self.reconnect.budget + 2 * self.config.startup_timeout)
        lost = self._lost
        if lost is not None and not self._closing:
            raise TransportClosedError(lost.reason, stderr_tail=lost.stderr_tail)
        rpc = self.rpc
        assert rpc is not None
        return rpc

    def follow(self, thread_id: str, follower: object) -> None:
        """``follower`` (a Thread object) follows ``thread_id``: a reconnect resumes it, and its tools are
        answered, while a follower lives."""
        with self._followed_lock:
            self.followed[thread_id] = self.followed.get(thread_id, 0) + 1
        weakref.finalize(follower, self._unfollow, thread_id).atexit = False

    def _unfollow(self, thread_id: str) -> None:
        with self._followed_lock:
            left = self.followed.get(thread_id, 0) - 1
            if left > 0:
                self.followed[thread_id] = left
            else:
                self.followed.pop(thread_id, None)
                self.tools.forget(thread_id)

    # -- connection loss

    def _on_close(self, generation: int, error: TransportClosedError) -> None:
        if generation != self._generation or self._reconnecting:  # an old or a failed new connection
            return
        if self.reconnect is None or self._closing or self.metadata is None:
            self.router.close(error)
            self.waiters.close(error)
            return
        self._reconnecting = True
        self._connected.clear()
        self.pending.close()  # the requests of the lost connection cannot be answered any more
        logger.warning("%s; reconnecting", error.reason)
        threading.Thread(target=self._reconnect, args=(error,), name="codex-reconnect", daemon=True).start()

    def _reconnect(self, error: TransportClosedError) -> None:
        assert self.reconnect is not None
        import time

        lost_rpc = self.rpc
        if lost_rpc is not None:  # its reader closed the socket; this joins the reader
            lost_rpc.close(0.0)
        last: BaseException = error
        attempt = 0
        for attempt, delay in enumerate(self.reconnect.delays(), 1):
            time.sleep(delay)
            if self._closing:
                break
            try:
                rpc, metadata = self._open()
            except AuthenticationError as exc:  # retrying cannot fix credentials
                last = exc
                break
            except (TransportClosedError, OSError, TimeoutError) as exc:
                logger.info("reconnect attempt %d failed: %s", attempt, exc)
                last = exc
                continue
            try:
                self._resume_followed(rpc)
            except TransportClosedError as exc:  # lost again while resuming
                logger.info("reconnect attempt %d failed: %s", attempt, exc)
                rpc.close(0.0)
                last = exc
                continue
            if self._closing:
                rpc.close(0.0)
                break
            self.metadata = metadata
            self.rpc, self._opening = rpc, None  # initialized and resumed: now calls may use it
            logger.warning("reconnected after %d attempt(s)", attempt)
            self._reconnecting = False
            self._connected.set()
            return
        lost = last if isinstance(last, AuthenticationError) else _reconnect_failed(error, attempt, last, self.router)
        self._lost = lost
        self.router.close(lost)
        self.waiters.close(lost)
        self._reconnecting = False
        self._connected.set()

    def _resume_followed(self, rpc: RpcConnection) -> None:
        """Resume every followed thread on the new connection; raises TransportClosedError if it is lost."""
        with self._followed_lock:
            thread_ids = list(self.followed)
        for thread_id in thread_ids:
            try:
                params = model_to_wire(v2_all.ThreadResumeParams(thread_id=thread_id))
                rpc.call(methods.THREAD_RESUME, params, timeout=self.config.startup_timeout)
            except TransportClosedError:
                raise
            except Exception as exc:  # e.g. a thread without a turn yet has nothing to resume
                logger.debug("could not resume thread %s after reconnecting: %s", thread_id, exc)

    def _on_notifications(self, run: list[RawNotification]) -> None:
        pending = self.pending  # a server request of ours waits: another client may have answered it first
        expected = self.waiters.by_method  # empty but while a login (say) is awaited
        if pending or expected:
            for method, message in run:
                if method == methods.SERVER_REQUEST_RESOLVED and pending:
                    pending.resolved(message["params"])
                if method in expected:
                    self.waiters.dispatch(method, message["params"])
        self.router.dispatch(run)

    def close(self) -> None:
        self._closing = True
        self.pending.close()
        opening = self._opening
        if opening is not None and opening is not self.rpc:  # a (re)connection being initialized
            opening.close(self.config.shutdown_timeout)
        rpc = self.rpc
        closed = TransportClosedError("closed by client")
        if rpc is not None:
            rpc.close(self.config.shutdown_timeout)
            closed = rpc.closed_error or closed
            self.router.close(closed)
        self.waiters.close(closed)
        with self._executor_lock:
            executor, self._executor = self._executor, None
        if executor is not None:
            executor.shutdown(wait=False, cancel_futures=True)

    # -- server requests

    def _workers(self) -> ThreadPoolExecutor:
        with self._executor_lock:
            if self._executor is None:
                self._executor = ThreadPoolExecutor(max_workers=4, thread_name_prefix="codex-server-request")
            return self._executor

    def _on_server_request(self, ctx: ServerRequestContext) -> None:
        """Reader-thread callback: validate, then answer off the reader thread."""
        spec = SERVER_REQUESTS.get(ctx.method)
        if spec is None:
            ctx.respond_error_soon(METHOD_NOT_FOUND, f"this client does not handle {ctx.method!r}")
            return
        try:
            params = validate(spec.params, ctx.params or {})
        except ValidationError as exc:
            ctx.respond_error_soon(INVALID_PARAMS, f"params of {ctx.method!r} did not validate: {exc}")
            return
        if isinstance(params, v2_all.DynamicToolCallParams) and self._answers_tool_call(params, spec):
            self._call_tool(ctx, spec, params)
            return
        handler_fn = getattr(self.handler, spec.handler)
        if inspect.iscoroutinefunction(handler_fn):
            loop = self.loop
            if loop is None or loop.is_closed():
                ctx.respond_error_soon(INTERNAL_ERROR, "async handler installed but no event loop is running")
                return
            import asyncio

            pending = self.pending.add(ctx, functools.partial(_send_answer, ctx, spec))
            pending.task = asyncio.run_coroutine_threadsafe(_answer_async(pending, handler_fn, params), loop)
        else:
            pending = self.pending.add(ctx, functools.partial(_send_answer, ctx, spec))
            self._workers().submit(_answer_sync, pending, handler_fn, params)

    def _answers_tool_call(self, params: v2_all.DynamicToolCallParams, spec: ServerRequestSpec) -> bool:
        """The tools answer a call of theirs, and any call the handler does not answer itself (its default)."""
        if self.tools.lookup(params) is not None:
            return True
        overridden = getattr(type(self.handler), spec.handler, None)
        return overridden in (
            getattr(ServerRequestHandler, spec.handler),
            getattr(AsyncServerRequestHandler, spec.handler),
        )

    def _call_tool(
        self, ctx: ServerRequestContext, spec: ServerRequestSpec, params: v2_all.DynamicToolCallParams
    ) -> None:
        """Run the tool off the reader thread (an ``async def`` one on the client's loop, if it has one)."""
        pending = self.pending.add(ctx, functools.partial(_send_answer, ctx, spec))
        tool = self.tools.lookup(params)
        if tool is None:  # answered off the reader thread, which must never wait for the server
            self._workers().submit(pending.answer, self.tools.unknown(params))
            return
        loop = self.loop
        if is_async(tool) and loop is not None and not loop.is_closed():
            import asyncio

            pending.task = asyncio.run_coroutine_threadsafe(_answer_tool_async(pending, tool, params), loop)
        else:
            self._workers().submit(_answer_tool_sync, pending, tool, params)


def _answer_tool_sync(pending: PendingRequest, tool: Tool, params: v2_all.DynamicToolCallParams) -> None:
    pending.answer(call_sync(tool, params.arguments))


async def _answer_tool_async(pending: PendingRequest, tool: Tool, params: v2_all.DynamicToolCallParams) -> None:
    pending.answer(await call_async(tool, params.arguments))


def _reply(ctx: ServerRequestContext, spec: ServerRequestSpec, result: object) -> None:
    """Answer with the handler's result, validated against the response type."""
    value = result if isinstance(result, BaseModel) else validate(spec.response, result)
    if _on_event_loop():  # an async handler's (or a deferred) answer: the loop never waits for the server
        ctx.respond_soon(to_wire(spec.response, value))
    else:
        ctx.respond(to_wire(spec.response, value))


def _on_event_loop() -> bool:
    """Whether this thread runs an event loop (asyncio is not imported by a blocking client)."""
    asyncio = sys.modules.get("asyncio")
    if asyncio is None:
        return False
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return False
    return True


def _reconnect_failed(
    error: TransportClosedError, attempts: int, last: BaseException, router: Router
) -> TransportClosedError:
    """What the callers of a lost connection get once reconnecting gave up: when, how often, and why."""
    when = " mid-turn" if router.watching() else ""
    reason = f"{error.reason}: the connection was lost{when} and {attempts} reconnect attempt(s) failed"
    if last is not error:
        reason += f", the last with {type(last).__name__}: {last}"
    return TransportClosedError(reason, returncode=error.returncode, stderr_tail=error.stderr_tail)


def _reply_error(ctx: ServerRequestContext, exc: BaseException) -> None:
    if isinstance(exc, NoHandlerError):
        code, message = METHOD_NOT_FOUND, str(exc)
    else:
        logger.warning("handler for %s raised %s: %s", ctx.method, type(exc).__name__, exc, exc_info=exc)
        code, message = INTERNAL_ERROR, f"client handler failed: {type(exc).__name__}: {exc}"
    try:
        if _on_event_loop():
            ctx.respond_error_soon(code, message)
        else:
            ctx.respond_error(code, message)
    except (TransportClosedError, RuntimeError) as err:
        logger.debug("could not answer %s: %s", ctx.method, err)


def _send_answer(ctx: ServerRequestContext, spec: ServerRequestSpec, result: object) -> None:
    """Send a handler's result, or an error answer for an exception (or a result that does not validate)."""
    if isinstance(result, Exception):
        _reply_error(ctx, result)
        return
    try:
        _reply(ctx, spec, result)
    except Exception as exc:
        _reply_error(ctx, exc)


def _answer_sync(pending: PendingRequest, fn: Callable[[object], object], params: object) -> None:
    token = current_request().set(pending)
    try:
        result = fn(params)
    except Exception as exc:
        result = exc
    finally:
        current_request().reset(token)
    if pending.deferred is None or isinstance(result, Exception):  # else: the deferred answer answers
        pending.answer(result)


async def _answer_async(pending: PendingRequest, fn: Callable[[object], object], params: object) -> None:
    token = current_request().set(pending)
    try:
        result = fn(params)
        if inspect.isawaitable(result):
            result = await result
    except Exception as exc:
        result = exc
    finally:
        current_request().reset(token)
    if pending.deferred is None or isinstance(result, Exception):
        pending.answer(result)
