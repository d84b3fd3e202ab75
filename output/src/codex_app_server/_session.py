"""One running app-server: process, JSON-RPC, server-request dispatch; turn routing is :mod:`._routing`.

A turn whose caller left (Ctrl-C, a cancelled task or a timeout, while
``turn/start`` was in flight or while streaming) is interrupted by the
session (:meth:`Session.interrupt`), and the thread's next turn waits for it
to end (:meth:`Router.settle`).
"""

from __future__ import annotations

import functools
import inspect
import logging
import threading
from collections.abc import Callable, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from typing import TYPE_CHECKING, cast

from pydantic import BaseModel, ValidationError

from ._config import AppServerConfig, build_argv, build_env, check_cwd, initialize_params, resolve_codex_binary
from ._errors import INTERNAL_ERROR, INVALID_PARAMS, METHOD_NOT_FOUND, TransportClosedError
from ._requester import to_wire, validate
from ._routing import Router, TurnWatch
from ._rpc import JsonObject, RpcConnection, ServerRequestContext
from ._transport import StdioTransport
from .generated import notifications, v2_all
from .generated.notifications import NOTIFICATION_EVENTS
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

    # pydantic's JsonValue costs 1-4 MB to import (pydantic.types): here it
    # is an annotation only, so importing the SDK does not pay for it.
    from pydantic import JsonValue

    from .generated.notifications import Notification
    from .generated.v2_all import InitializeResponse

    RawParams = dict[str, JsonValue]

logger = logging.getLogger("codex_app_server")

AnyHandler = ServerRequestHandler | AsyncServerRequestHandler


def decode_notification(method: str, params: JsonObject) -> Notification:
    """The typed event for a raw notification; never raises."""
    validate = _validators.get(method)
    if validate is None:
        event_cls = NOTIFICATION_EVENTS.get(method)
        if event_cls is None:
            logger.debug("unknown notification method %s", method)
            return notifications.UnknownNotification(
                method=method, params=cast("RawParams", params), reason="unknown method"
            )
        # The validator itself rather than model_validate(): the same result
        # without its Python-level argument checks, ~0.5 µs of a delta's ~3.
        validate = _validators[method] = event_cls.__pydantic_validator__.validate_python
    try:
        event: Notification = validate({"method": method, "params": params})
        return event
    except ValidationError as exc:
        logger.debug("notification %s did not validate: %s", method, _where_invalid(exc))
        return notifications.UnknownNotification(method=method, params=cast("RawParams", params), reason=str(exc))


# method -> its event's bound validate_python: one dict lookup per notification
# on the consumer's hot path (instead of the lazy table and the class).
_validators: dict[str, Callable[[object], Notification]] = {}


def _where_invalid(exc: ValidationError) -> str:
    """Where and how validation failed, without the input values: params may carry secrets."""
    errors = exc.errors(include_url=False, include_context=False, include_input=False)
    return "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['type']}" for e in errors[:5])


class Session:
    """Owns the process, the RPC connection, the router and the request handler."""

    def __init__(self, config: AppServerConfig, handler: AnyHandler | None = None) -> None:
        self.config: AppServerConfig = config
        self.router: Router = Router(
            config.concurrent_turns, config.turn_buffer_limit, keep_reading=self._must_read, answering=self._answering
        )
        self._answering_count = 0  # server requests our handlers are answering
        self._answering_lock = threading.Lock()
        self.handler: AnyHandler = handler if handler is not None else ServerRequestHandler()
        self.loop: asyncio.AbstractEventLoop | None = None  # for async handlers
        self._executor: ThreadPoolExecutor | None = None
        self._executor_lock = threading.Lock()
        self.rpc: RpcConnection | None = None
        self.metadata: InitializeResponse | None = None
        self.transport: StdioTransport | None = None

    @property
    def pid(self) -> int | None:
        """The app-server child's process id once launched, else None."""
        return self.transport.pid if self.transport is not None else None

    def _must_read(self) -> bool:
        """The reader may not pause: a request awaits its answer, or the connection is closing."""
        rpc = self.rpc
        return rpc is None or rpc.closed or rpc.has_pending()

    def _answering(self) -> bool:
        return self._answering_count > 0

    def _answer_started(self, delta: int) -> None:
        with self._answering_lock:
            self._answering_count += delta

    def start(self) -> InitializeResponse:
        check_cwd(self.config)  # it may have gone since the config was made
        binary = resolve_codex_binary(self.config)
        transport = StdioTransport(
            build_argv(self.config, binary),
            build_env(self.config, binary),
            self.config.cwd,
            self.config.stderr_buffer_lines,
        )
        self.transport = transport
        rpc = RpcConnection(
            transport,
            on_notification=self.router.dispatch,
            on_server_request=self._on_server_request,
            on_close=self.router.close,
            on_abandoned=self._on_abandoned,
            request_timeout=self.config.request_timeout,
        )
        self.rpc = rpc
        rpc.start()
        params = initialize_params(self.config)
        try:
            raw = rpc.call("initialize", params, timeout=self.config.startup_timeout)
            rpc.notify("initialized")
            self.metadata = v2_all.InitializeResponse.model_validate(raw)
        except BaseException:
            self.close()
            raise
        return self.metadata

    def close(self) -> None:
        rpc = self.rpc
        if rpc is not None:
            rpc.close(self.config.shutdown_timeout)
            self.router.close(rpc.closed_error or TransportClosedError("closed by client"))
        with self._executor_lock:
            executor, self._executor = self._executor, None
        if executor is not None:
            executor.shutdown(wait=False, cancel_futures=True)

    # -- interrupting turns nobody follows

    def interrupt(self, watch: TurnWatch) -> None:
        """Interrupt the bound ``watch``'s turn without waiting for anything; never raises.

        codex refuses ``turn/interrupt`` ("no active turn") from its
        ``turn/start`` answer until the turn has started, so the request goes
        now and, if ``turn/started`` is still to come, once more then (a
        second interrupt of a running turn is harmless). ``watch`` must have
        been registered before the turn/start answer was read, so that no
        ``turn/started`` slips past it.
        """
        turn_id = watch.turn_id
        if turn_id is None:
            return
        send = functools.partial(self._send_interrupt, watch.thread_id, turn_id)
        watch.mark_interrupting(send)
        send()

    def _send_interrupt(self, thread_id: str, turn_id: str) -> None:
        rpc = self.rpc
        if rpc is None:
            return
        try:
            answer = rpc.request("turn/interrupt", {"threadId": thread_id, "turnId": turn_id})
        except Exception as exc:  # may run on the reader thread: nothing may escape
            logger.debug("could not interrupt turn %s: %s", turn_id, exc)
            return
        answer.add_done_callback(functools.partial(_log_refused_interrupt, turn_id))

    def _on_abandoned(self, method: str, params: Mapping[str, object] | None, request: Future[object]) -> bool:
        """The caller stopped waiting for a request (Ctrl-C, cancelled task, timeout).

        A ``turn/start`` it gave up on still starts a turn, and nobody would
        consume or interrupt it: it would run on, streaming, and absorb the
        thread's next input. Interrupt it once its id is known.
        """
        if method != "turn/start" or params is None:
            return False
        try:
            thread_id = v2_all.TurnStartParams.model_validate(params).thread_id
        except ValidationError:  # not sent by us, then: nothing to interrupt
            return False
        self.router.hold(thread_id, request)
        request.add_done_callback(functools.partial(self._interrupt_started_turn, thread_id))
        return True  # keep the request pending: its answer names the turn to interrupt

    def _interrupt_started_turn(self, thread_id: str, request: Future[object]) -> None:
        """Runs on the reader thread as it reads the turn/start answer, so before that turn's turn/started
        (codex sends the answer first); on the abandoning caller's thread if the answer had come already."""
        try:
            turn_id = _started_turn_id(request)
            if turn_id is not None:
                watch = self.router.watch(thread_id)
                watch.bind(turn_id)
                self.interrupt(watch)
        except Exception as exc:  # the connection ended (router.watch): the turn ended with it
            logger.debug("not interrupting the turn of an abandoned turn/start: %s", exc)
        finally:  # after the watch above took over holding the thread
            self.router.release_hold(thread_id, request)

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
            ctx.respond_error(METHOD_NOT_FOUND, f"this client does not handle {ctx.method!r}")
            return
        try:
            params = validate(spec.params, ctx.params or {})
        except ValidationError as exc:
            ctx.respond_error(INVALID_PARAMS, f"params of {ctx.method!r} did not validate: {exc}")
            return
        handler_fn = getattr(self.handler, spec.handler)
        if inspect.iscoroutinefunction(handler_fn):
            loop = self.loop
            if loop is None or loop.is_closed():
                ctx.respond_error(INTERNAL_ERROR, "async handler installed but no event loop is running")
                return
            import asyncio

            answer: Callable[[], object] = functools.partial(
                asyncio.run_coroutine_threadsafe,
                _answer_async(ctx, spec, handler_fn, params, self._answer_started),
                loop,
            )
        else:
            answer = functools.partial(
                self._workers().submit, _answer_sync, ctx, spec, handler_fn, params, self._answer_started
            )
        self._answer_started(1)  # until the handler's answer went out: turns wait for us meanwhile
        try:
            answer()
        except BaseException:
            self._answer_started(-1)
            raise


def _started_turn_id(request: Future[object]) -> str | None:
    """The turn id a turn/start answer names; None for a failed request or an odd answer."""
    if request.cancelled() or request.exception() is not None:
        return None
    try:
        return v2_all.TurnStartResponse.model_validate(request.result()).turn.id
    except ValidationError:
        return None


def _log_refused_interrupt(turn_id: str, answer: Future[object]) -> None:
    error = None if answer.cancelled() else answer.exception()
    if error is not None:  # expected for the early try of Session.interrupt
        logger.debug("turn/interrupt of turn %s: %s", turn_id, error)


def _reply(ctx: ServerRequestContext, spec: ServerRequestSpec, result: object) -> None:
    """Answer with the handler's result, validated against the response type."""
    value = result if isinstance(result, BaseModel) else validate(spec.response, result)
    ctx.respond(to_wire(spec.response, value))


def _reply_error(ctx: ServerRequestContext, exc: BaseException) -> None:
    if isinstance(exc, NoHandlerError):
        code, message = METHOD_NOT_FOUND, str(exc)
    else:
        logger.warning("handler for %s raised %s: %s", ctx.method, type(exc).__name__, exc)
        code, message = INTERNAL_ERROR, f"client handler failed: {type(exc).__name__}: {exc}"
    try:
        ctx.respond_error(code, message)
    except (TransportClosedError, RuntimeError) as err:
        logger.debug("could not answer %s: %s", ctx.method, err)


def _answer_sync(
    ctx: ServerRequestContext,
    spec: ServerRequestSpec,
    fn: Callable[[object], object],
    params: object,
    answered: Callable[[int], None],
) -> None:
    try:
        _reply(ctx, spec, fn(params))
    except Exception as exc:
        _reply_error(ctx, exc)
    finally:
        answered(-1)


async def _answer_async(
    ctx: ServerRequestContext,
    spec: ServerRequestSpec,
    fn: Callable[[object], object],
    params: object,
    answered: Callable[[int], None],
) -> None:
    try:
        result = fn(params)
        if inspect.isawaitable(result):
            result = await result
        _reply(ctx, spec, result)
    except Exception as exc:
        _reply_error(ctx, exc)
    finally:
        answered(-1)
